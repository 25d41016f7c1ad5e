// Licensed under the Apache License, Version 2.0.

namespace Scst.Events;

/// <summary>
/// Event codes. Codes 1 to 6 have SCST's numbers and meanings (<c>SCST_EVENT_*</c>); codes of this suite start at
/// <see cref="FirstCustomCode"/> (100 to 105 are the core's own). Code 0 is never an event: in a filter it means "any code".
/// </summary>
public static class ScstEventCode
{
    /// <summary>
    /// A command arrived for a LUN that the session has no device for (SCST_EVENT_LUN_NOT_FOUND). Payload:
    /// <see cref="LunNotFoundEvent"/>. No completion.
    /// </summary>
    public const int LunNotFound = 1;

    /// <summary>
    /// An initiator has no LUN at all in a target (SCST_EVENT_NEGATIVE_LUNS_INQUIRY), checked at login or session add.
    /// Payload: <see cref="NegativeLunsInquiryEvent"/>. No completion.
    /// </summary>
    public const int NegativeLunsInquiry = 2;

    /// <summary>
    /// An asynchronous device blocking requested by an administrator has completed (SCST_EVENT_EXT_BLOCKING_DONE).
    /// Payload: <see cref="ExternalBlockingDoneEvent"/>. No completion.
    /// </summary>
    public const int ExternalBlockingDone = 3;

    /// <summary>
    /// A task management function was received and initially processed (SCST_EVENT_TM_FN_RECEIVED). Payload:
    /// <see cref="TaskManagementFunctionReceivedEvent"/>. No completion.
    /// </summary>
    public const int TaskManagementFunctionReceived = 4;

    /// <summary>
    /// An explicit ALUA SET TARGET PORT GROUPS needs a user-space agent to carry out the state change
    /// (SCST_EVENT_STPG_USER_INVOKE). Payload: <see cref="StpgUserInvokeEvent"/>. Expects a completion: status 0 lets
    /// the STPG succeed, anything else fails it.
    /// </summary>
    public const int StpgUserInvoke = 5;

    /// <summary>
    /// A virtual device was registered (SCST_EVENT_REG_VIRT_DEV). Payload: <see cref="VirtualDeviceRegisteredEvent"/>.
    /// No completion; there is no unregistration counterpart.
    /// </summary>
    public const int VirtualDeviceRegistered = 6;

    /// <summary>The first code available to this suite's own events; SCST's codes stay below it.</summary>
    public const int FirstCustomCode = 100;

    /// <summary>
    /// A virtual device was unregistered (this suite's code; SCST has no unregistration event). Payload:
    /// <see cref="VirtualDeviceUnregisteredEvent"/>. No completion.
    /// </summary>
    public const int VirtualDeviceUnregistered = FirstCustomCode;

    /// <summary>
    /// A LUN was added to a target's LUN map (this suite's code). Payload: <see cref="LunEvent"/>. No completion.
    /// </summary>
    public const int LunAdded = FirstCustomCode + 1;

    /// <summary>
    /// A LUN was removed from a target's LUN map (this suite's code). Payload: <see cref="LunEvent"/>. No completion.
    /// </summary>
    public const int LunRemoved = FirstCustomCode + 2;

    /// <summary>
    /// A session (I_T nexus) was added to a target (this suite's code). Payload: <see cref="SessionEvent"/>. No
    /// completion.
    /// </summary>
    public const int SessionAdded = FirstCustomCode + 3;

    /// <summary>
    /// A session (I_T nexus) was removed from a target (this suite's code). Payload: <see cref="SessionEvent"/>. No
    /// completion.
    /// </summary>
    public const int SessionRemoved = FirstCustomCode + 4;

    /// <summary>
    /// A device's capacity changed (this suite's code). Payload: <see cref="CapacityChangedEvent"/>. No completion.
    /// </summary>
    public const int CapacityChanged = FirstCustomCode + 5;

    /// <summary>Gets the name of a known event code (SCST's or this suite's), for diagnostics.</summary>
    /// <param name="code">The event code.</param>
    /// <returns>The name of the constant of this class (for example <c>"LunNotFound"</c>), or <see langword="null"/>
    /// for a code this class does not define.</returns>
    public static string? GetName(int code) => code switch
    {
        LunNotFound => nameof(LunNotFound),
        NegativeLunsInquiry => nameof(NegativeLunsInquiry),
        ExternalBlockingDone => nameof(ExternalBlockingDone),
        TaskManagementFunctionReceived => nameof(TaskManagementFunctionReceived),
        StpgUserInvoke => nameof(StpgUserInvoke),
        VirtualDeviceRegistered => nameof(VirtualDeviceRegistered),
        VirtualDeviceUnregistered => nameof(VirtualDeviceUnregistered),
        LunAdded => nameof(LunAdded),
        LunRemoved => nameof(LunRemoved),
        SessionAdded => nameof(SessionAdded),
        SessionRemoved => nameof(SessionRemoved),
        CapacityChanged => nameof(CapacityChanged),
        _ => null,
    };
}
