// Licensed under the Apache License, Version 2.0.

namespace Scst.Events;

/// <summary>
/// Factories for the core's events: each returns a ready <see cref="ScstEvent"/> with SCST's code, the issuer
/// <see cref="CoreIssuerName"/>, id 0 (no completion, except for <see cref="StpgUserInvoke"/>) and the payload laid out as SCST lays it out.
/// </summary>
public static class ScstEvents
{
    /// <summary>The issuer name of every event the core raises, as in SCST.</summary>
    public const string CoreIssuerName = "SCST core";

    /// <summary>Creates a <see cref="ScstEventCode.LunNotFound"/> event (payload: <see cref="LunNotFoundEvent"/>).</summary>
    /// <param name="lun">The LUN as the initiator addressed it.</param>
    /// <param name="initiatorName">The initiator's name; truncated to 255 bytes.</param>
    /// <param name="targetName">The target's name; truncated to 255 bytes.</param>
    /// <returns>The event.</returns>
    public static ScstEvent LunNotFound(ulong lun, string initiatorName, string targetName)
    {
        ArgumentNullException.ThrowIfNull(initiatorName);
        ArgumentNullException.ThrowIfNull(targetName);
        var payload = new LunNotFoundEvent(lun, initiatorName, targetName).ToPayload();
        return new ScstEvent(ScstEventCode.LunNotFound, CoreIssuerName, payload);
    }

    /// <summary>
    /// Creates a <see cref="ScstEventCode.NegativeLunsInquiry"/> event (payload: <see cref="NegativeLunsInquiryEvent"/>).
    /// </summary>
    /// <param name="initiatorName">The initiator's name; truncated to 255 bytes.</param>
    /// <param name="targetName">The target's name; truncated to 255 bytes.</param>
    /// <returns>The event.</returns>
    public static ScstEvent NegativeLunsInquiry(string initiatorName, string targetName)
    {
        ArgumentNullException.ThrowIfNull(initiatorName);
        ArgumentNullException.ThrowIfNull(targetName);
        var payload = new NegativeLunsInquiryEvent(initiatorName, targetName).ToPayload();
        return new ScstEvent(ScstEventCode.NegativeLunsInquiry, CoreIssuerName, payload);
    }

    /// <summary>
    /// Creates a <see cref="ScstEventCode.ExternalBlockingDone"/> event (payload: <see cref="ExternalBlockingDoneEvent"/>).
    /// </summary>
    /// <param name="deviceName">The blocked device's name; truncated to 255 bytes.</param>
    /// <param name="data">The data the administrator attached to the blocking request; copied.</param>
    /// <returns>The event.</returns>
    public static ScstEvent ExternalBlockingDone(string deviceName, ReadOnlyMemory<byte> data)
    {
        ArgumentNullException.ThrowIfNull(deviceName);
        var payload = new ExternalBlockingDoneEvent(deviceName, data).ToPayload();
        return new ScstEvent(ScstEventCode.ExternalBlockingDone, CoreIssuerName, payload);
    }

    /// <summary>
    /// Creates a <see cref="ScstEventCode.TaskManagementFunctionReceived"/> event (payload:
    /// <see cref="TaskManagementFunctionReceivedEvent"/>).
    /// </summary>
    /// <param name="function">The task management function and its context.</param>
    /// <returns>The event.</returns>
    public static ScstEvent TaskManagementFunctionReceived(in TaskManagementFunctionReceivedEvent function)
    {
        var payload = function.ToPayload();
        return new ScstEvent(ScstEventCode.TaskManagementFunctionReceived, CoreIssuerName, payload);
    }

    /// <summary>
    /// Creates a <see cref="ScstEventCode.StpgUserInvoke"/> event (payload: <see cref="StpgUserInvokeEvent"/>). Unlike the
    /// other core events it expects a completion, so the caller supplies the completion id.
    /// </summary>
    /// <param name="stpg">The STPG command and the groups whose state it changes.</param>
    /// <param name="id">The completion id; must not be 0.</param>
    /// <returns>The event.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="id"/> is 0.</exception>
    public static ScstEvent StpgUserInvoke(in StpgUserInvokeEvent stpg, uint id)
    {
        ArgumentOutOfRangeException.ThrowIfZero(id);
        var payload = stpg.ToPayload();
        return new ScstEvent(ScstEventCode.StpgUserInvoke, CoreIssuerName, payload, id);
    }

    /// <summary>
    /// Creates a <see cref="ScstEventCode.VirtualDeviceRegistered"/> event (payload:
    /// <see cref="VirtualDeviceRegisteredEvent"/>).
    /// </summary>
    /// <param name="deviceName">The device's name; truncated to 59 bytes, as SCST does.</param>
    /// <returns>The event.</returns>
    public static ScstEvent VirtualDeviceRegistered(string deviceName)
    {
        ArgumentNullException.ThrowIfNull(deviceName);
        var payload = new VirtualDeviceRegisteredEvent(deviceName).ToPayload();
        return new ScstEvent(ScstEventCode.VirtualDeviceRegistered, CoreIssuerName, payload);
    }
}
