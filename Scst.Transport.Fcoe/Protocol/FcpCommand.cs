// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using Scst.Core;

namespace Scst.Transport.Fcoe.Protocol;

/// <summary>The task attribute field of FCP_CMND (FCP-4 table 23); note the order differs from SAM's.</summary>
internal enum FcpTaskAttribute : byte
{
    /// <summary>SIMPLE.</summary>
    Simple = 0,

    /// <summary>HEAD OF QUEUE.</summary>
    HeadOfQueue = 1,

    /// <summary>ORDERED.</summary>
    Ordered = 2,

    /// <summary>ACA.</summary>
    Aca = 4,
}

/// <summary>Task management flags of FCP_CMND byte 10 (FCP-4 table 24); at most one is set in a valid command.</summary>
internal static class FcpTaskManagement
{
    /// <summary>ABORT TASK SET.</summary>
    public const byte AbortTaskSet = 0x02;

    /// <summary>CLEAR TASK SET.</summary>
    public const byte ClearTaskSet = 0x04;

    /// <summary>LOGICAL UNIT RESET.</summary>
    public const byte LogicalUnitReset = 0x10;

    /// <summary>TARGET RESET (obsolete in FCP-4, still sent).</summary>
    public const byte TargetReset = 0x20;

    /// <summary>CLEAR ACA.</summary>
    public const byte ClearAca = 0x40;
}

/// <summary>
/// The FCP_CMND IU (FCP-4 section 9.2), a view over the received payload:
/// <code>
///  0-7  FCP_LUN
///  8    command reference number
///  9    priority (bits 6-3), task attribute (bits 2-0)
/// 10    task management flags
/// 11    additional FCP_CDB length in words (bits 7-2), RDDATA (bit 1), WRDATA (bit 0)
/// 12-27 FCP_CDB (16 bytes), then the additional CDB bytes
///  ..   FCP_DL (4), then FCP_BIDIRECTIONAL_READ_DL (4) when both RDDATA and WRDATA are set
/// </code>
/// </summary>
internal readonly ref struct FcpCommand
{
    /// <summary>Bytes of an FCP_CMND without additional CDB.</summary>
    public const int MinLength = 32;

    /// <summary>Bytes of the CDB field without additional CDB.</summary>
    public const int CdbFieldLength = 16;

    /// <summary>Longest additional CDB in words (6 bits).</summary>
    public const int MaxAdditionalCdbWords = 63;

    private const int CdbOffset = 12;
    private const byte ReadDataBit = 0x02;
    private const byte WriteDataBit = 0x01;
    private const byte TaskAttributeMask = 0x07;
    private const int PriorityShift = 3;
    private const byte PriorityMask = 0x0F;

    private FcpCommand(ReadOnlySpan<byte> cdb)
    {
        Cdb = cdb;
    }

    /// <summary>The 8-byte LUN field as a big-endian number, as the core takes it.</summary>
    public ulong Lun { get; private init; }

    /// <summary>Command reference number (CRN), 0 when precise delivery is not used.</summary>
    public byte CommandReferenceNumber { get; private init; }

    /// <summary>Priority (4 bits).</summary>
    public byte Priority { get; private init; }

    /// <summary>The raw task attribute (3 bits); values other than those of <see cref="FcpTaskAttribute"/> are reserved.</summary>
    public FcpTaskAttribute TaskAttribute { get; private init; }

    /// <summary>Task management flags (<see cref="FcpTaskManagement"/>); 0 for a SCSI command.</summary>
    public byte TaskManagementFlags { get; private init; }

    /// <summary>Additional CDB length in 4-byte words.</summary>
    public int AdditionalCdbWords { get; private init; }

    /// <summary>RDDATA: data flows to the initiator.</summary>
    public bool ReadData { get; private init; }

    /// <summary>WRDATA: data flows to the target.</summary>
    public bool WriteData { get; private init; }

    /// <summary>The CDB field: 16 bytes plus the additional CDB (a shorter CDB is padded with zeros in it).</summary>
    public ReadOnlySpan<byte> Cdb { get; }

    /// <summary>FCP_DL: the expected data length (of the write, for a bidirectional command).</summary>
    public uint DataLength { get; private init; }

    /// <summary>FCP_BIDIRECTIONAL_READ_DL, 0 unless both <see cref="ReadData"/> and <see cref="WriteData"/> are set.</summary>
    public uint BidirectionalReadDataLength { get; private init; }

    /// <summary>Whether this is a task management request rather than a SCSI command.</summary>
    public bool IsTaskManagement => TaskManagementFlags != 0;

    /// <summary>The IU's length.</summary>
    public int Length => GetLength(AdditionalCdbWords, ReadData && WriteData);

    /// <summary>The length of an FCP_CMND with <paramref name="additionalCdbWords"/> extra CDB words.</summary>
    public static int GetLength(int additionalCdbWords, bool bidirectional) => MinLength + (4 * additionalCdbWords) + (bidirectional ? 4 : 0);

    /// <summary>
    /// Decodes an FCP_CMND payload (fill removed). False when its length is not exactly what the additional CDB length
    /// and the RDDATA/WRDATA bits call for. Never throws.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> payload, out FcpCommand command)
    {
        command = default;
        if (payload.Length < MinLength)
        {
            return false;
        }

        byte control = payload[11];
        int additional = control >> 2;
        bool read = (control & ReadDataBit) != 0;
        bool write = (control & WriteDataBit) != 0;
        if (payload.Length != GetLength(additional, read && write))
        {
            return false;
        }

        int cdbLength = CdbFieldLength + (4 * additional);
        int dataLengthOffset = CdbOffset + cdbLength;
        command = new FcpCommand(payload.Slice(CdbOffset, cdbLength))
        {
            Lun = BinaryPrimitives.ReadUInt64BigEndian(payload),
            CommandReferenceNumber = payload[8],
            Priority = (byte)((payload[9] >> PriorityShift) & PriorityMask),
            TaskAttribute = (FcpTaskAttribute)(payload[9] & TaskAttributeMask),
            TaskManagementFlags = payload[10],
            AdditionalCdbWords = additional,
            ReadData = read,
            WriteData = write,
            DataLength = BinaryPrimitives.ReadUInt32BigEndian(payload[dataLengthOffset..]),
            BidirectionalReadDataLength = read && write ? BinaryPrimitives.ReadUInt32BigEndian(payload[(dataLengthOffset + 4)..]) : 0,
        };
        return true;
    }

    /// <summary>The core's task attribute; false for a reserved value.</summary>
    public bool TryGetTaskAttribute(out TaskAttribute attribute)
    {
        (attribute, bool known) = TaskAttribute switch
        {
            FcpTaskAttribute.Simple => (Scst.Core.TaskAttribute.Simple, true),
            FcpTaskAttribute.HeadOfQueue => (Scst.Core.TaskAttribute.HeadOfQueue, true),
            FcpTaskAttribute.Ordered => (Scst.Core.TaskAttribute.Ordered, true),
            FcpTaskAttribute.Aca => (Scst.Core.TaskAttribute.Aca, true),
            _ => (Scst.Core.TaskAttribute.Simple, false),
        };
        return known;
    }

    /// <summary>
    /// Writes an FCP_CMND (for test initiators and round trips). A CDB shorter than 16 bytes is padded with zeros; a
    /// longer one is carried as additional CDB padded to a word.
    /// </summary>
    /// <returns>The IU length.</returns>
    public static int Write(Span<byte> destination, ulong lun, ReadOnlySpan<byte> cdb, uint dataLength, bool readData, bool writeData,
        FcpTaskAttribute taskAttribute = FcpTaskAttribute.Simple, byte commandReferenceNumber = 0, byte priority = 0,
        byte taskManagementFlags = 0, uint bidirectionalReadDataLength = 0)
    {
        int additional = cdb.Length <= CdbFieldLength ? 0 : (cdb.Length - CdbFieldLength + 3) / 4;
        if (additional > MaxAdditionalCdbWords)
        {
            WireFormat.ThrowOutOfRange(nameof(cdb), "An FCP_CMND carries at most 16 + 252 CDB bytes.");
        }

        bool bidirectional = readData && writeData;
        int length = GetLength(additional, bidirectional);
        WireFormat.EnsureLength(destination, length);
        var iu = destination[..length];
        iu.Clear();
        BinaryPrimitives.WriteUInt64BigEndian(iu, lun);
        iu[8] = commandReferenceNumber;
        iu[9] = (byte)(((priority & PriorityMask) << PriorityShift) | ((byte)taskAttribute & TaskAttributeMask));
        iu[10] = taskManagementFlags;
        iu[11] = (byte)((additional << 2) | (readData ? ReadDataBit : 0) | (writeData ? WriteDataBit : 0));
        cdb.CopyTo(iu[CdbOffset..]);
        int dataLengthOffset = CdbOffset + CdbFieldLength + (4 * additional);
        BinaryPrimitives.WriteUInt32BigEndian(iu[dataLengthOffset..], dataLength);
        if (bidirectional)
        {
            BinaryPrimitives.WriteUInt32BigEndian(iu[(dataLengthOffset + 4)..], bidirectionalReadDataLength);
        }

        return length;
    }
}

/// <summary>The 12-byte FCP_XFER_RDY IU (FCP-4 section 9.3): 0-3 FCP_DATA_RO, 4-7 FCP_BURST_LEN, 8-11 reserved.</summary>
internal static class FcpTransferReady
{
    /// <summary>Bytes of the IU.</summary>
    public const int Length = 12;

    /// <summary>Writes the IU; returns <see cref="Length"/>.</summary>
    public static int Write(Span<byte> destination, uint relativeOffset, uint burstLength)
    {
        WireFormat.EnsureLength(destination, Length);
        BinaryPrimitives.WriteUInt32BigEndian(destination, relativeOffset);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], burstLength);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], 0);
        return Length;
    }

    /// <summary>Decodes the IU; false unless exactly <see cref="Length"/> bytes.</summary>
    public static bool TryRead(ReadOnlySpan<byte> payload, out uint relativeOffset, out uint burstLength)
    {
        relativeOffset = 0;
        burstLength = 0;
        if (payload.Length != Length)
        {
            return false;
        }

        relativeOffset = BinaryPrimitives.ReadUInt32BigEndian(payload);
        burstLength = BinaryPrimitives.ReadUInt32BigEndian(payload[4..]);
        return true;
    }
}
