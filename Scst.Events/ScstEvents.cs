// Licensed under the Apache License, Version 2.0.

namespace Scst.Events;

/// <summary>
/// Factories for the core's events: each returns a ready <see cref="ScstEvent"/> with SCST's code, the issuer
/// <see cref="CoreIssuerName"/>, id 0 (no completion, except for <see cref="StpgUserInvoke"/>) and the payload laid out as SCST lays it out
/// (for SCST's codes) or as the payload struct documents (for this suite's codes from 100).
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

    /// <summary>
    /// Creates a <see cref="ScstEventCode.VirtualDeviceUnregistered"/> event (payload:
    /// <see cref="VirtualDeviceUnregisteredEvent"/>).
    /// </summary>
    /// <param name="deviceName">The device's name; truncated to 63 bytes.</param>
    /// <param name="handlerName">The handler that served it; truncated to 31 bytes.</param>
    /// <returns>The event.</returns>
    public static ScstEvent VirtualDeviceUnregistered(string deviceName, string handlerName)
    {
        ArgumentNullException.ThrowIfNull(deviceName);
        ArgumentNullException.ThrowIfNull(handlerName);
        var payload = new VirtualDeviceUnregisteredEvent(deviceName, handlerName).ToPayload();
        return new ScstEvent(ScstEventCode.VirtualDeviceUnregistered, CoreIssuerName, payload);
    }

    /// <summary>Creates a <see cref="ScstEventCode.LunAdded"/> event (payload: <see cref="LunEvent"/>).</summary>
    /// <param name="lun">The LUN, its target, LUN map and device.</param>
    /// <returns>The event.</returns>
    public static ScstEvent LunAdded(in LunEvent lun) =>
        new(ScstEventCode.LunAdded, CoreIssuerName, lun.ToPayload());

    /// <summary>Creates a <see cref="ScstEventCode.LunRemoved"/> event (payload: <see cref="LunEvent"/>).</summary>
    /// <param name="lun">The LUN, its target, LUN map and device; <see cref="LunEvent.ReadOnly"/> may be
    /// <see langword="false"/>.</param>
    /// <returns>The event.</returns>
    public static ScstEvent LunRemoved(in LunEvent lun) =>
        new(ScstEventCode.LunRemoved, CoreIssuerName, lun.ToPayload());

    /// <summary>Creates a <see cref="ScstEventCode.SessionAdded"/> event (payload: <see cref="SessionEvent"/>).</summary>
    /// <param name="session">The session and its target.</param>
    /// <returns>The event.</returns>
    public static ScstEvent SessionAdded(in SessionEvent session) =>
        new(ScstEventCode.SessionAdded, CoreIssuerName, session.ToPayload());

    /// <summary>Creates a <see cref="ScstEventCode.SessionRemoved"/> event (payload: <see cref="SessionEvent"/>).</summary>
    /// <param name="session">The session and its target.</param>
    /// <returns>The event.</returns>
    public static ScstEvent SessionRemoved(in SessionEvent session) =>
        new(ScstEventCode.SessionRemoved, CoreIssuerName, session.ToPayload());

    /// <summary>
    /// Creates a <see cref="ScstEventCode.CapacityChanged"/> event (payload: <see cref="CapacityChangedEvent"/>).
    /// </summary>
    /// <param name="deviceName">The device's name; truncated to 63 bytes.</param>
    /// <param name="blockCount">The new number of logical blocks.</param>
    /// <param name="blockSize">The logical block size in bytes.</param>
    /// <returns>The event.</returns>
    public static ScstEvent CapacityChanged(string deviceName, ulong blockCount, uint blockSize)
    {
        ArgumentNullException.ThrowIfNull(deviceName);
        var payload = new CapacityChangedEvent(deviceName, blockCount, blockSize).ToPayload();
        return new ScstEvent(ScstEventCode.CapacityChanged, CoreIssuerName, payload);
    }
}
