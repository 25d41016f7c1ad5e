// Licensed under the Apache License, Version 2.0.

namespace Scst.Core.Alua;

/// <summary>
/// Which commands a logical unit accepts through a target port group in each asymmetric access state (SPC-4 section
/// 5.15.2.4), and the sense data that refuses the others.
/// </summary>
internal static class AccessStateGate
{
    /// <summary>
    /// Whether a command is refused through a target port group in <paramref name="state"/>, and with which sense.
    /// Active/optimized and active/non-optimized refuse nothing, nor does the logical block dependent state, which the
    /// core does not implement.
    /// </summary>
    /// <param name="state">The target port group's state.</param>
    /// <param name="cdb">The command's CDB.</param>
    /// <param name="sense">NOT READY with the state's additional sense code, when refused.</param>
    /// <returns>True when the command must be refused.</returns>
    public static bool Refuses(AluaState state, ReadOnlySpan<byte> cdb, out SenseCode sense)
    {
        switch (state)
        {
            case AluaState.Standby when !AllowedInStandby(cdb):
                sense = SenseCode.TargetPortInStandbyState;
                return true;
            case AluaState.Unavailable when !AllowedInUnavailable(cdb):
                sense = SenseCode.TargetPortInUnavailableState;
                return true;
            case AluaState.Offline when !AllowedInUnavailable(cdb):
                sense = SenseCode.LogicalUnitOffline;
                return true;
            case AluaState.Transitioning when !AllowedInTransitioning(cdb):
                sense = SenseCode.AsymmetricAccessStateTransition;
                return true;
            default:
                sense = default;
                return false;
        }
    }

    // Standby (SPC-4 5.15.2.4.4): what describes the LU and its paths, mode and log pages, diagnostics and persistent
    // reservations; REPORT SUPPORTED OPERATION CODES and REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS describe the device
    // server too. TEST UNIT READY is not among them: a multipath initiator learns the standby state from its refusal.
    private static bool AllowedInStandby(ReadOnlySpan<byte> cdb) => cdb[0] switch
    {
        0x12 or 0xA0 or 0x03 => true,             // INQUIRY, REPORT LUNS, REQUEST SENSE
        0x15 or 0x55 or 0x1A or 0x5A => true,     // MODE SELECT(6/10), MODE SENSE(6/10)
        0x4C or 0x4D => true,                     // LOG SELECT, LOG SENSE
        0x1C or 0x1D => true,                     // RECEIVE DIAGNOSTIC RESULTS, SEND DIAGNOSTIC
        0x5E or 0x5F => true,                     // PERSISTENT RESERVE IN, PERSISTENT RESERVE OUT
        0xA3 => ServiceAction(cdb) is 0x0A or 0x0C or 0x0D, // REPORT TARGET PORT GROUPS, REPORT SUPPORTED ...
        0xA4 => ServiceAction(cdb) == 0x0A,       // SET TARGET PORT GROUPS
        0x3B or 0x3C => EchoBufferMode(cdb),
        _ => false,
    };

    // Unavailable (SPC-4 5.15.2.4.5), and offline: the LU can only be asked about itself and its paths.
    private static bool AllowedInUnavailable(ReadOnlySpan<byte> cdb) => cdb[0] switch
    {
        0x12 or 0xA0 or 0x03 => true,
        0xA3 => ServiceAction(cdb) == 0x0A,
        0xA4 => ServiceAction(cdb) == 0x0A,
        0x3B or 0x3C => EchoBufferMode(cdb),
        _ => false,
    };

    // Transitioning (SPC-4 5.15.2.4.6): as unavailable, without SET TARGET PORT GROUPS.
    private static bool AllowedInTransitioning(ReadOnlySpan<byte> cdb) => cdb[0] switch
    {
        0x12 or 0xA0 or 0x03 => true,
        0xA3 => ServiceAction(cdb) == 0x0A,
        0x3B or 0x3C => EchoBufferMode(cdb),
        _ => false,
    };

    private static int ServiceAction(ReadOnlySpan<byte> cdb) => cdb.Length > 1 ? cdb[1] & 0x1F : -1;

    // READ BUFFER and WRITE BUFFER in the echo buffer modes (0Ah; READ BUFFER also 0Bh, the echo buffer descriptor).
    private static bool EchoBufferMode(ReadOnlySpan<byte> cdb) =>
        cdb.Length > 1 && ((cdb[1] & 0x1F) == 0x0A || (cdb[0] == 0x3C && (cdb[1] & 0x1F) == 0x0B));
}
