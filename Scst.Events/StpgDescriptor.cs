// Licensed under the Apache License, Version 2.0.

namespace Scst.Events;

/// <summary>
/// One target port group whose ALUA state an explicit SET TARGET PORT GROUPS changes; an element of
/// <see cref="StpgUserInvokeEvent.Descriptors"/>.
/// </summary>
/// <remarks>
/// Layout (194 bytes, no padding):
/// <code>
/// offset size  field
///      0    2  u16  group_id              little-endian
///      2   32  char prev_state[32]        state name as the management tree shows it, e.g. "active", "standby"
///     34   32  char new_state[32]
///     66   64  char dg_name[64]           device group
///    130   64  char tg_name[64]           target group
///    194       (end)
/// </code>
/// Names are NUL-terminated and truncated to the field size minus one.
/// </remarks>
/// <param name="GroupId">The target port group id.</param>
/// <param name="PreviousState">The group's ALUA state before the STPG.</param>
/// <param name="NewState">The state the STPG asks for.</param>
/// <param name="DeviceGroupName">The device group the target group belongs to.</param>
/// <param name="TargetGroupName">The target group's name.</param>
public readonly record struct StpgDescriptor(
    ushort GroupId,
    string PreviousState,
    string NewState,
    string DeviceGroupName,
    string TargetGroupName)
{
    /// <summary>The size of one descriptor in bytes (194).</summary>
    public const int Size = 194;

    internal const int GroupIdOffset = 0;
    internal const int PreviousStateOffset = 2;
    internal const int NewStateOffset = 34;
    internal const int DeviceGroupNameOffset = 66;
    internal const int TargetGroupNameOffset = 130;
    internal const int StateSize = 32;
    internal const int GroupNameSize = 64;
}
