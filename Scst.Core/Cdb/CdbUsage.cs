// Licensed under the Apache License, Version 2.0.

namespace Scst.Core.Cdb;

/// <summary>
/// The CDB USAGE DATA of every command in <see cref="CdbTable"/> (SPC-4 section 6.35.3): one mask byte per CDB byte,
/// a bit set where the core or the device evaluates the CDB bit. Byte 0 holds the operation code, and for commands
/// with a service action, the service action field holds the service action. The last byte (CONTROL) shows NACA,
/// which is evaluated (a CDB with NACA=1 is refused).
/// </summary>
/// <remarks>
/// Written from the CDB layouts of SPC-4, SBC-3 and MMC-6. The core also checks the SPC commands it owns against these
/// masks: a bit set in the CDB where the mask is clear is a reserved bit, answered INVALID FIELD IN CDB.
/// </remarks>
internal static class CdbUsage
{
    /// <summary>The usage mask of a command, without byte 0 (the operation code) and in hex.</summary>
    public static string? Lookup(byte opcode, int serviceAction) => (opcode, serviceAction) switch
    {
        // SPC-4
        (0x00, -1) => "00 00 00 00 04",                                   // TEST UNIT READY
        (0x03, -1) => "01 00 00 FF 04",                                   // REQUEST SENSE: DESC
        (0x12, -1) => "01 FF FF FF 04",                                   // INQUIRY: EVPD, PAGE CODE, ALLOCATION LENGTH
        (0x15, -1) => "11 00 00 FF 04",                                   // MODE SELECT(6): PF, SP
        (0x16, -1) => "00 00 00 00 04",                                   // RESERVE(6)
        (0x17, -1) => "00 00 00 00 04",                                   // RELEASE(6)
        (0x1A, -1) => "08 FF FF FF 04",                                   // MODE SENSE(6): DBD, PC, PAGE, SUBPAGE
        (0x1D, -1) => "F7 00 FF FF 04",                                   // SEND DIAGNOSTIC
        (0x3B, -1) => "FF FF FF FF FF FF FF FF 04",                       // WRITE BUFFER
        (0x3C, -1) => "FF FF FF FF FF FF FF FF 04",                       // READ BUFFER
        (0x4C, -1) => "03 FF FF 00 00 00 FF FF 04",                       // LOG SELECT
        (0x4D, -1) => "01 FF FF 00 FF FF FF FF 04",                       // LOG SENSE
        (0x55, -1) => "11 00 00 00 00 00 FF FF 04",                       // MODE SELECT(10)
        (0x56, -1) => "00 00 00 00 00 00 00 00 04",                       // RESERVE(10)
        (0x57, -1) => "00 00 00 00 00 00 00 00 04",                       // RELEASE(10)
        (0x5A, -1) => "18 FF FF 00 00 00 FF FF 04",                       // MODE SENSE(10): LLBAA, DBD
        (0x5E, 0x00) => "00 00 00 00 00 00 FF FF 04",                     // PERSISTENT RESERVE IN READ KEYS
        (0x5E, 0x01) => "01 00 00 00 00 00 FF FF 04",                     // PERSISTENT RESERVE IN READ RESERVATION
        (0x5E, 0x02) => "02 00 00 00 00 00 FF FF 04",                     // PERSISTENT RESERVE IN REPORT CAPABILITIES
        (0x5E, 0x03) => "03 00 00 00 00 00 FF FF 04",                     // PERSISTENT RESERVE IN READ FULL STATUS
        (0x5F, 0x00) => "00 FF 00 00 FF FF FF FF 04",                     // PERSISTENT RESERVE OUT REGISTER: SCOPE, TYPE (ignored, not reserved)
        (0x5F, 0x01) => "01 FF 00 00 FF FF FF FF 04",                     // PERSISTENT RESERVE OUT RESERVE: SCOPE, TYPE
        (0x5F, 0x02) => "02 FF 00 00 FF FF FF FF 04",                     // PERSISTENT RESERVE OUT RELEASE: SCOPE, TYPE
        (0x5F, 0x03) => "03 FF 00 00 FF FF FF FF 04",                     // PERSISTENT RESERVE OUT CLEAR: SCOPE, TYPE (ignored, not reserved)
        (0x5F, 0x04) => "04 FF 00 00 FF FF FF FF 04",                     // PERSISTENT RESERVE OUT PREEMPT: SCOPE, TYPE
        (0x5F, 0x05) => "05 FF 00 00 FF FF FF FF 04",                     // PERSISTENT RESERVE OUT PREEMPT AND ABORT: SCOPE, TYPE
        (0x5F, 0x06) => "06 FF 00 00 FF FF FF FF 04",                     // PERSISTENT RESERVE OUT REGISTER AND IGNORE: SCOPE, TYPE (ignored, not reserved)
        (0x5F, 0x07) => "07 FF 00 00 FF FF FF FF 04",                     // PERSISTENT RESERVE OUT REGISTER AND MOVE: SCOPE, TYPE
        (0x83, 0x00) => "00 00 00 00 00 00 00 00 00 FF FF FF FF 00 04",   // EXTENDED COPY(LID1): PARAMETER LIST LENGTH
        (0x84, 0x00) => "00 FF 00 00 00 00 00 00 00 FF FF FF FF 00 04",   // RECEIVE COPY STATUS(LID1): LIST IDENTIFIER
        (0x84, 0x03) => "03 00 00 00 00 00 00 00 00 FF FF FF FF 00 04",   // RECEIVE COPY OPERATING PARAMETERS
        (0x84, 0x04) => "04 FF 00 00 00 00 00 00 00 FF FF FF FF 00 04",   // RECEIVE COPY FAILURE DETAILS(LID1): LIST IDENTIFIER
        (0xA0, -1) => "00 FF 00 00 00 FF FF FF FF 00 04",                 // REPORT LUNS: SELECT REPORT
        (0xA3, 0x0A) => "EA 00 00 00 00 FF FF FF FF 00 04",               // REPORT TARGET PORT GROUPS
        (0xA3, 0x0C) => "0C 87 FF FF FF FF FF FF FF 00 04",               // REPORT SUPPORTED OPERATION CODES: RCTD, OPTIONS
        (0xA3, 0x0D) => "0D 80 00 00 00 FF FF FF FF 00 04",               // REPORT SUPPORTED TMFS: REPD
        (0xA4, 0x0A) => "0A 00 00 00 00 FF FF FF FF 00 04",               // SET TARGET PORT GROUPS

        // SBC-3
        (0x04, -1) => "FF 00 00 00 04",                                   // FORMAT UNIT
        (0x08, -1) => "1F FF FF FF 04",                                   // READ(6)
        (0x0A, -1) => "1F FF FF FF 04",                                   // WRITE(6)
        (0x1B, -1) => "01 00 0F F7 04",                                   // START STOP UNIT
        (0x1E, -1) => "00 00 00 03 04",                                   // PREVENT ALLOW MEDIUM REMOVAL
        (0x25, -1) => "00 FF FF FF FF 00 00 01 04",                       // READ CAPACITY(10): LBA, PMI
        (0x28, -1) => "F8 FF FF FF FF 00 FF FF 04",                       // READ(10): RDPROTECT, DPO, FUA
        (0x2A, -1) => "F8 FF FF FF FF 00 FF FF 04",                       // WRITE(10)
        (0x2E, -1) => "F6 FF FF FF FF 00 FF FF 04",                       // WRITE AND VERIFY(10): BYTCHK
        (0x2F, -1) => "F6 FF FF FF FF 00 FF FF 04",                       // VERIFY(10)
        (0x34, -1) => "02 FF FF FF FF 00 FF FF 04",                       // PRE-FETCH(10): IMMED
        (0x35, -1) => "02 FF FF FF FF 00 FF FF 04",                       // SYNCHRONIZE CACHE(10): IMMED
        (0x37, -1) => "00 1F 00 00 00 00 FF FF 04",                       // READ DEFECT DATA(10)
        (0x41, -1) => "F8 FF FF FF FF 00 FF FF 04",                       // WRITE SAME(10): ANCHOR, UNMAP
        (0x42, -1) => "01 00 00 00 00 00 FF FF 04",                       // UNMAP: ANCHOR
        (0x48, 0x01) => "A1 00 00 00 00 00 FF FF 04",                      // SANITIZE OVERWRITE: IMMED, AUSE
        (0x48, 0x02) => "A2 00 00 00 00 00 FF FF 04",                      // SANITIZE BLOCK ERASE: IMMED, AUSE
        (0x48, 0x1F) => "BF 00 00 00 00 00 FF FF 04",                      // SANITIZE EXIT FAILURE MODE: IMMED, AUSE
        (0x88, -1) => "F8 FF FF FF FF FF FF FF FF FF FF FF FF 00 04",     // READ(16)
        (0x89, -1) => "F8 FF FF FF FF FF FF FF FF 00 00 00 FF 00 04",     // COMPARE AND WRITE
        (0x8A, -1) => "F8 FF FF FF FF FF FF FF FF FF FF FF FF 00 04",     // WRITE(16)
        (0x8B, -1) => "F8 FF FF FF FF FF FF FF FF FF FF FF FF 00 04",     // ORWRITE(16)
        (0x8E, -1) => "F6 FF FF FF FF FF FF FF FF FF FF FF FF 00 04",     // WRITE AND VERIFY(16)
        (0x8F, -1) => "F6 FF FF FF FF FF FF FF FF FF FF FF FF 00 04",     // VERIFY(16)
        (0x90, -1) => "02 FF FF FF FF FF FF FF FF FF FF FF FF 00 04",     // PRE-FETCH(16)
        (0x91, -1) => "02 FF FF FF FF FF FF FF FF FF FF FF FF 00 04",     // SYNCHRONIZE CACHE(16)
        (0x93, -1) => "F9 FF FF FF FF FF FF FF FF FF FF FF FF 00 04",     // WRITE SAME(16): ANCHOR, UNMAP, NDOB
        (0x9C, -1) => "F8 FF FF FF FF FF FF FF FF FF FF FF FF 00 04",     // WRITE ATOMIC(16): BOUNDARY, TRANSFER LENGTH
        (0x9E, 0x10) => "10 FF FF FF FF FF FF FF FF FF FF FF FF 01 04",   // READ CAPACITY(16): PMI
        (0x9E, 0x12) => "12 FF FF FF FF FF FF FF FF FF FF FF FF 00 04",   // GET LBA STATUS
        (0xA8, -1) => "F8 FF FF FF FF FF FF FF FF 00 04",                 // READ(12)
        (0xAA, -1) => "F8 FF FF FF FF FF FF FF FF 00 04",                 // WRITE(12)
        (0xAE, -1) => "F6 FF FF FF FF FF FF FF FF 00 04",                 // WRITE AND VERIFY(12)
        (0xAF, -1) => "F6 FF FF FF FF FF FF FF FF 00 04",                 // VERIFY(12)
        (0xB7, -1) => "1F 00 00 00 00 FF FF FF FF 00 04",                 // READ DEFECT DATA(12)

        // MMC-6
        (0x43, -1) => "02 0F 00 00 00 FF FF FF 04",                       // READ TOC/PMA/ATIP: MSF, FORMAT, TRACK/SESSION NUMBER
        (0x46, -1) => "03 FF FF 00 00 00 FF FF 04",                       // GET CONFIGURATION: RT, STARTING FEATURE NUMBER
        (0x4A, -1) => "01 00 00 FF 00 00 FF FF 04",                       // GET EVENT STATUS NOTIFICATION: POLLED, CLASS REQUEST
        (0x51, -1) => "07 00 00 00 00 00 FF FF 04",                       // READ DISC INFORMATION: DATA TYPE
        (0xBD, -1) => "00 00 00 00 00 00 00 FF FF 00 04",                 // MECHANISM STATUS
        _ => null,
    };

    /// <summary>
    /// Builds the usage data of a descriptor: the mask from <see cref="Lookup"/> when the table has one, otherwise one
    /// derived from the descriptor's layout (LBA and length fields, NACA).
    /// </summary>
    public static byte[] Build(CdbDescriptor d)
    {
        var mask = new byte[d.CdbLength];
        mask[0] = d.Opcode;
        string? hex = Lookup(d.Opcode, d.ServiceAction);
        if (hex is not null)
        {
            byte[] rest = Convert.FromHexString(hex.Replace(" ", string.Empty, StringComparison.Ordinal));
            rest.AsSpan(0, Math.Min(rest.Length, mask.Length - 1)).CopyTo(mask.AsSpan(1));
            return mask;
        }

        if (d.ServiceAction >= 0)
        {
            mask[1] = (byte)d.ServiceAction;
        }

        int lbaLength = d.LbaLength == 3 ? 3 : d.LbaLength;
        mask.AsSpan(d.LbaOffset, d.LbaOffset == 0 ? 0 : lbaLength).Fill(0xFF);
        mask.AsSpan(d.LengthOffset, d.LengthOffset == 0 ? 0 : d.LengthLength).Fill(0xFF);
        if (d.LbaLength == 3)
        {
            mask[1] = 0x1F;
        }

        mask[^1] = 0x04;
        return mask;
    }
}
