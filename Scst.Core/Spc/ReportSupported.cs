// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using System.Diagnostics;
using Scst.Core.Cdb;

namespace Scst.Core.Spc;

/// <summary>
/// REPORT SUPPORTED OPERATION CODES (SPC-4 section 6.35) and REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS (section
/// 6.38), both generated from the tables that drive execution: <see cref="CdbTable"/> with
/// <see cref="CdbTable.IsSupported"/>, and <see cref="ScsiSession.SupportedTaskManagementFunctions"/>.
/// </summary>
internal static class ReportSupported
{
    private const int ResponseCapacity = 4096;
    private const int CommandDescriptorLength = 8;
    private const int TimeoutsDescriptorLength = 12;

    // SUPPORT field of the one-command format (SPC-4 table 227).
    private const byte NotSupported = 0x01;
    private const byte SupportedByStandard = 0x03;

    // Command timeouts descriptor: no nominal time is promised; 30 s is a safe timeout for any command here.
    private const uint NominalTimeoutSeconds = 0;
    private const uint RecommendedTimeoutSeconds = 30;

    /// <summary>
    /// All commands (reporting options 000b):
    /// <code>
    ///  bytes 0-3  COMMAND DATA LENGTH (n - 3)
    ///  then per command: OPERATION CODE, reserved, SERVICE ACTION (2), reserved, CTDP(1) SERVACTV(0), CDB LENGTH (2),
    ///  followed by a 12-byte command timeouts descriptor when RCTD is set.
    /// </code>
    /// One command (001b by operation code, 010b by operation code and service action):
    /// <code>
    ///  byte 0     reserved
    ///  byte 1     CTDP(7) SUPPORT(2-0)
    ///  bytes 2-3  CDB SIZE
    ///  bytes 4-   CDB USAGE DATA, then the timeouts descriptor when RCTD is set
    /// </code>
    /// </summary>
    public static CommandOutcome OperationCodes(ScsiCommand command)
    {
        ReadOnlySpan<byte> cdb = command.Cdb;
        bool timeouts = (cdb[2] & 0x80) != 0;
        int options = cdb[2] & 0x07;
        byte opcode = cdb[3];
        int serviceAction = BinaryPrimitives.ReadUInt16BigEndian(cdb[4..]);
        ScsiDevice device = command.Device!;

        Span<byte> d = stackalloc byte[ResponseCapacity];
        int n;
        switch (options)
        {
            case 0:
                n = AllCommands(d, device, timeouts);
                break;
            case 1:
                if (CdbTable.HasServiceActions(opcode))
                {
                    return CommandOutcome.InvalidFieldInCdb(3);
                }

                n = OneCommand(d, CdbTable.Find(opcode, -1), device, timeouts);
                break;
            case 2:
                if (!CdbTable.HasServiceActions(opcode))
                {
                    return CommandOutcome.InvalidFieldInCdb(3);
                }

                n = OneCommand(d, serviceAction < 32 ? CdbTable.Find(opcode, serviceAction) : null, device, timeouts);
                break;
            default:
                return CommandOutcome.InvalidFieldInCdb(2, 2);
        }

        command.WriteResponse(d[..n]);
        return CommandOutcome.Good;
    }

    private static int AllCommands(Span<byte> d, ScsiDevice device, bool timeouts)
    {
        int n = 4;
        int size = CommandDescriptorLength + (timeouts ? TimeoutsDescriptorLength : 0);
        foreach (CdbDescriptor c in CdbTable.All)
        {
            if (!CdbTable.IsSupported(c, device))
            {
                continue;
            }

            Debug.Assert(n + size <= d.Length, "the response buffer holds every command of the table");
            Span<byte> e = d.Slice(n, size);
            e.Clear();
            e[0] = c.Opcode;
            if (c.HasServiceAction)
            {
                BinaryPrimitives.WriteUInt16BigEndian(e[2..], (ushort)c.ServiceAction);
                e[5] |= 0x01; // SERVACTV
            }

            if (timeouts)
            {
                e[5] |= 0x02; // CTDP
                WriteTimeouts(e[CommandDescriptorLength..]);
            }

            BinaryPrimitives.WriteUInt16BigEndian(e[6..], (ushort)c.CdbLength);
            n += size;
        }

        BinaryPrimitives.WriteUInt32BigEndian(d, (uint)(n - 4));
        return n;
    }

    private static int OneCommand(Span<byte> d, CdbDescriptor? c, ScsiDevice device, bool timeouts)
    {
        d[..4].Clear();
        if (c is null || !CdbTable.IsSupported(c, device))
        {
            d[1] = NotSupported;
            return 4;
        }

        d[1] = (byte)(SupportedByStandard | (timeouts ? 0x80 : 0));
        BinaryPrimitives.WriteUInt16BigEndian(d[2..], (ushort)c.CdbLength);
        c.UsageData.CopyTo(d[4..]);
        int n = 4 + c.CdbLength;
        if (timeouts)
        {
            WriteTimeouts(d.Slice(n, TimeoutsDescriptorLength));
            n += TimeoutsDescriptorLength;
        }

        return n;
    }

    // Command timeouts descriptor (SPC-4 section 6.35.4): DESCRIPTOR LENGTH 0Ah, reserved, COMMAND SPECIFIC, NOMINAL
    // COMMAND PROCESSING TIMEOUT, RECOMMENDED COMMAND TIMEOUT (seconds).
    private static void WriteTimeouts(Span<byte> t)
    {
        t[..TimeoutsDescriptorLength].Clear();
        BinaryPrimitives.WriteUInt16BigEndian(t, 0x0A);
        BinaryPrimitives.WriteUInt32BigEndian(t[4..], NominalTimeoutSeconds);
        BinaryPrimitives.WriteUInt32BigEndian(t[8..], RecommendedTimeoutSeconds);
    }

    /// <summary>
    /// REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS: 4 bytes of support bits, or with REPD the 16-byte extended format
    /// (byte 3 ADDITIONAL DATA LENGTH 0Ch; no timeouts are reported, TMFTMOV=0).
    /// <code>
    ///  byte 0  ATS(7) ATSS(6) CACAS(5) CTSS(4) LURS(3) QTS(2) TRS(1) WAKES(0)
    ///  byte 1  QAES(2) QTSS(1) ITNRS(0)
    /// </code>
    /// </summary>
    public static CommandOutcome TaskManagementFunctions(ScsiCommand command)
    {
        bool extended = (command.Cdb[2] & 0x80) != 0;
        Span<byte> d = stackalloc byte[16];
        d.Clear();
        foreach (TaskManagementFunction f in ScsiSession.SupportedTaskManagementFunctions)
        {
            switch (f)
            {
                case TaskManagementFunction.AbortTask: d[0] |= 0x80; break;
                case TaskManagementFunction.AbortTaskSet: d[0] |= 0x40; break;
                case TaskManagementFunction.ClearAca: d[0] |= 0x20; break;
                case TaskManagementFunction.ClearTaskSet: d[0] |= 0x10; break;
                case TaskManagementFunction.LogicalUnitReset: d[0] |= 0x08; break;
                case TaskManagementFunction.TargetReset: d[0] |= 0x02; break;
                case TaskManagementFunction.QueryTask: d[0] |= 0x04; break;
                case TaskManagementFunction.QueryAsynchronousEvent: d[1] |= 0x04; break;
                case TaskManagementFunction.QueryTaskSet: d[1] |= 0x02; break;
                case TaskManagementFunction.ItNexusReset: d[1] |= 0x01; break;
            }
        }

        int n = 4;
        if (extended)
        {
            d[3] = 0x0C;
            n = 16;
        }

        command.WriteResponse(d[..n]);
        return CommandOutcome.Good;
    }
}
