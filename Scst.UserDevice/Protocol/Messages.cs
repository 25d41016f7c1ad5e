// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;

namespace Scst.UserDevice.Protocol;

/// <summary>REGISTER flag bits.</summary>
[Flags]
internal enum RegisterFlags : ushort
{
    None = 0,
    ReadOnly = 0x0001,
    WriteThrough = 0x0002,
    NvCache = 0x0004,
    Removable = 0x0008,
    Rotational = 0x0010,
    ThinProvisioned = 0x0020,
    OnFreeCommandCall = 0x0040,
    ExtCopyRemap = 0x0080,
}

/// <summary>
/// REGISTER body: <c>u32 version | u8 device type | u8 parse type (0 STANDARD, 1 CALL, 2 EXCEPTION) | u16 flags | u32 block size | u64 block count |
/// u64 region size | u8 tst, queue_alg, qerr, tas, swp, d_sense | u16 reserved | strings name, vendor, product,
/// revision, serial</c> (each u16 length + UTF-8).
/// </summary>
internal sealed record RegisterRequest
{
    public uint Version { get; init; } = Frame.ProtocolVersion;

    public byte DeviceType { get; init; }

    public byte ParseType { get; init; }

    public RegisterFlags Flags { get; init; }

    public uint BlockSize { get; init; } = 512;

    public ulong BlockCount { get; init; }

    public ulong RegionSize { get; init; }

    public byte Tst { get; init; } = 1;

    public byte QueueAlgorithm { get; init; } = 1;

    public byte Qerr { get; init; }

    public byte Tas { get; init; }

    public byte Swp { get; init; }

    public byte DSense { get; init; }

    public string Name { get; init; } = string.Empty;

    public string Vendor { get; init; } = string.Empty;

    public string Product { get; init; } = string.Empty;

    public string Revision { get; init; } = string.Empty;

    public string Serial { get; init; } = string.Empty;

    private const int FixedLength = 36;

    public int Encode(Span<byte> destination)
    {
        Span<byte> b = destination[Frame.HeaderLength..];
        BinaryPrimitives.WriteUInt32LittleEndian(b, Version);
        b[4] = DeviceType;
        b[5] = ParseType;
        BinaryPrimitives.WriteUInt16LittleEndian(b[6..], (ushort)Flags);
        BinaryPrimitives.WriteUInt32LittleEndian(b[8..], BlockSize);
        BinaryPrimitives.WriteUInt64LittleEndian(b[12..], BlockCount);
        BinaryPrimitives.WriteUInt64LittleEndian(b[20..], RegionSize);
        b[28] = Tst;
        b[29] = QueueAlgorithm;
        b[30] = Qerr;
        b[31] = Tas;
        b[32] = Swp;
        b[33] = DSense;
        b[34] = 0;
        b[35] = 0;
        int n = FixedLength;
        n += Frame.WriteString(b[n..], Name);
        n += Frame.WriteString(b[n..], Vendor);
        n += Frame.WriteString(b[n..], Product);
        n += Frame.WriteString(b[n..], Revision);
        n += Frame.WriteString(b[n..], Serial);
        int length = Frame.HeaderLength + n;
        Frame.WriteHeader(destination, length, MessageType.Register, MessageFlags.None, 0);
        return length;
    }

    public static RegisterRequest? Decode(ReadOnlySpan<byte> body)
    {
        if (body.Length < FixedLength)
        {
            return null;
        }

        int offset = FixedLength;
        if (!Frame.TryReadString(body, ref offset, out string name) || !Frame.TryReadString(body, ref offset, out string vendor) ||
            !Frame.TryReadString(body, ref offset, out string product) || !Frame.TryReadString(body, ref offset, out string revision) ||
            !Frame.TryReadString(body, ref offset, out string serial) || offset != body.Length)
        {
            return null;
        }

        return new RegisterRequest
        {
            Version = BinaryPrimitives.ReadUInt32LittleEndian(body),
            DeviceType = body[4],
            ParseType = body[5],
            Flags = (RegisterFlags)BinaryPrimitives.ReadUInt16LittleEndian(body[6..]),
            BlockSize = BinaryPrimitives.ReadUInt32LittleEndian(body[8..]),
            BlockCount = BinaryPrimitives.ReadUInt64LittleEndian(body[12..]),
            RegionSize = BinaryPrimitives.ReadUInt64LittleEndian(body[20..]),
            Tst = body[28],
            QueueAlgorithm = body[29],
            Qerr = body[30],
            Tas = body[31],
            Swp = body[32],
            DSense = body[33],
            Name = name,
            Vendor = vendor,
            Product = product,
            Revision = revision,
            Serial = serial,
        };
    }
}

/// <summary>REGISTER_REPLY body: <c>i32 result | u32 reserved | u64 region size | string reason</c>; the memfd rides along on success.</summary>
internal readonly record struct RegisterReply(int Result, ulong RegionSize, string Reason)
{
    public int Encode(Span<byte> destination)
    {
        Span<byte> b = destination[Frame.HeaderLength..];
        BinaryPrimitives.WriteInt32LittleEndian(b, Result);
        BinaryPrimitives.WriteUInt32LittleEndian(b[4..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(b[8..], RegionSize);
        int length = Frame.HeaderLength + 16 + Frame.WriteString(b[16..], Reason.Length > 1000 ? Reason[..1000] : Reason);
        Frame.WriteHeader(destination, length, MessageType.RegisterReply, Result == 0 ? MessageFlags.HasDescriptor : MessageFlags.None, 0);
        return length;
    }

    public static RegisterReply? Decode(ReadOnlySpan<byte> body)
    {
        int offset = 16;
        if (body.Length < 18 || !Frame.TryReadString(body, ref offset, out string reason))
        {
            return null;
        }

        return new RegisterReply(BinaryPrimitives.ReadInt32LittleEndian(body), BinaryPrimitives.ReadUInt64LittleEndian(body[8..]), reason);
    }
}

/// <summary>
/// EXEC body (56 bytes): <c>u64 session handle | u8 operation | u8 flags (bit 0 FUA) | u8 CDB length | u8 task attribute |
/// u8 CDB[16] | u32 reserved | u64 byte offset | u64 length | u64 buffer offset in the region</c>.
/// </summary>
internal struct ExecRequest
{
    public const int BodyLength = 56;
    public const int Length = Frame.HeaderLength + BodyLength;
    public const byte FuaFlag = 0x01;

    /// <summary>Flags bits 1-2 of an EXECUTE_CDB: the direction of its data (<see cref="Scst.Core.DataDirection"/>).</summary>
    public const int DirectionShift = 1;

    public ulong Handle;
    public ulong SessionHandle;
    public ExecOperation Operation;
    public byte Flags;
    public byte CdbLength;
    public byte TaskAttribute;
    public Cdb16 Cdb;
    public long Offset;
    public long DataLength;
    public long BufferOffset;

    public readonly bool ForceUnitAccess => (Flags & FuaFlag) != 0;

    public static void Encode(Span<byte> destination, ulong handle, ulong session, ExecOperation operation, byte flags, ReadOnlySpan<byte> cdb, byte attribute, long offset, long length, long bufferOffset) =>
        Encode(destination, MessageType.Exec, handle, session, operation, flags, cdb, attribute, offset, length, bufferOffset);

    public static void Encode(Span<byte> destination, MessageType type, ulong handle, ulong session, ExecOperation operation, byte flags, ReadOnlySpan<byte> cdb, byte attribute, long offset, long length, long bufferOffset)
    {
        Frame.WriteHeader(destination, Length, type, MessageFlags.None, handle);
        Span<byte> b = destination.Slice(Frame.HeaderLength, BodyLength);
        BinaryPrimitives.WriteUInt64LittleEndian(b, session);
        b[8] = (byte)operation;
        b[9] = flags;
        int cdbLength = Math.Min(cdb.Length, 16);
        b[10] = (byte)cdbLength;
        b[11] = attribute;
        b.Slice(12, 16).Clear();
        cdb[..cdbLength].CopyTo(b[12..]);
        BinaryPrimitives.WriteUInt32LittleEndian(b[28..], 0);
        BinaryPrimitives.WriteInt64LittleEndian(b[32..], offset);
        BinaryPrimitives.WriteInt64LittleEndian(b[40..], length);
        BinaryPrimitives.WriteInt64LittleEndian(b[48..], bufferOffset);
    }

    public static bool TryDecode(ulong handle, ReadOnlySpan<byte> body, out ExecRequest request)
    {
        request = default;
        if (body.Length != BodyLength || body[10] > 16)
        {
            return false;
        }

        request.Handle = handle;
        request.SessionHandle = BinaryPrimitives.ReadUInt64LittleEndian(body);
        request.Operation = (ExecOperation)body[8];
        request.Flags = body[9];
        request.CdbLength = body[10];
        request.TaskAttribute = body[11];
        body.Slice(12, 16).CopyTo(request.Cdb);
        request.Offset = BinaryPrimitives.ReadInt64LittleEndian(body[32..]);
        request.DataLength = BinaryPrimitives.ReadInt64LittleEndian(body[40..]);
        request.BufferOffset = BinaryPrimitives.ReadInt64LittleEndian(body[48..]);
        return true;
    }
}

/// <summary>
/// PARSE body: the EXEC layout (56 bytes), with <c>operation</c> 0, <c>flags</c> the core's proposal (bits 0-1 its data
/// direction, bit 2 writes the medium, bit 3 the core knows the command: without it the core would refuse it), byte
/// offset = the transfer length the initiator announced, length = the proposal's data length, buffer offset = the
/// direction the initiator announced (0 none, 1 read, 2 write).
/// </summary>
internal static class ParseRequest
{
    public const byte WritesMediumFlag = 0x04;
    public const byte KnownFlag = 0x08;

    public static void Encode(Span<byte> destination, ulong handle, ulong session, ReadOnlySpan<byte> cdb, byte attribute, byte proposal, int proposedLength, byte expectedDirection, int expectedLength) =>
        ExecRequest.Encode(destination, MessageType.Parse, handle, session, 0, proposal, cdb, attribute, expectedLength, proposedLength, expectedDirection);

    /// <summary>Decodes PARSE into the EXEC shape the client dispatches (<see cref="ExecOperation.Parse"/>).</summary>
    public static bool TryDecode(ulong handle, ReadOnlySpan<byte> body, out ExecRequest request)
    {
        if (!ExecRequest.TryDecode(handle, body, out request) || request.Operation != 0 || (request.Flags & 0x03) == 3 ||
            request.Offset is < 0 or > int.MaxValue || request.DataLength is < 0 or > int.MaxValue || request.BufferOffset is < 0 or > 2)
        {
            return false;
        }

        request.Operation = ExecOperation.Parse;
        return true;
    }
}

/// <summary>Sixteen CDB bytes, inline.</summary>
[System.Runtime.CompilerServices.InlineArray(16)]
internal struct Cdb16
{
    private byte _element;
}

/// <summary>
/// EXEC_REPLY and PARSE_REPLY body: <c>u8 status | u8 sense length | u8 flags | u8 reserved | u32 response length |
/// sense</c>. For GET_PROVISIONING the response length is the extent in blocks and flags bit 0 says deallocated; for
/// EXECUTE_CDB it is the length of a read's response; other primitives send flags 0. A PARSE_REPLY with GOOD accepts
/// the command: response length = its data length, flags bits 0-1 its direction, bit 2 writes the medium; any other
/// status refuses it with that status and sense.
/// </summary>
internal static class ExecReply
{
    public const int FixedLength = 8;

    /// <summary>Flags bit 0 of a GET_PROVISIONING reply: the extent is deallocated.</summary>
    public const byte DeallocatedFlag = 0x01;

    /// <summary>Flags bit 1 of a COPY_WITHIN reply with GOOD: the device declined; the target copies through READ and WRITE.</summary>
    public const byte DeclinedFlag = 0x02;

    /// <summary>Flags bit 2 of a PARSE_REPLY: the command writes the medium. Bits 0-1 are its data direction.</summary>
    public const byte WritesMediumFlag = 0x04;

    public static int Encode(Span<byte> destination, ulong handle, byte status, ReadOnlySpan<byte> sense, int responseLength, byte flags = 0, MessageType type = MessageType.ExecReply)
    {
        int senseLength = Math.Min(sense.Length, Frame.MaxSenseLength);
        int length = Frame.HeaderLength + FixedLength + senseLength;
        Frame.WriteHeader(destination, length, type, MessageFlags.None, handle);
        Span<byte> b = destination[Frame.HeaderLength..];
        b[0] = status;
        b[1] = (byte)senseLength;
        b[2] = flags;
        b[3] = 0;
        BinaryPrimitives.WriteInt32LittleEndian(b[4..], responseLength);
        sense[..senseLength].CopyTo(b[FixedLength..]);
        return length;
    }

    public static bool TryDecode(ReadOnlySpan<byte> body, out byte status, out ReadOnlySpan<byte> sense, out int responseLength, out byte flags)
    {
        status = 0;
        sense = default;
        responseLength = 0;
        flags = 0;
        if (body.Length < FixedLength || body[1] > Frame.MaxSenseLength || body.Length != FixedLength + body[1])
        {
            return false;
        }

        status = body[0];
        sense = body.Slice(FixedLength, body[1]);
        responseLength = BinaryPrimitives.ReadInt32LittleEndian(body[4..]);
        flags = body[2];
        return true;
    }
}

/// <summary>ATTACH_SESS body: <c>u32 LUN | u8 read-only | 3 reserved | string initiator | string target</c>.</summary>
internal readonly record struct AttachSession(ulong SessionHandle, int Lun, bool ReadOnly, string InitiatorName, string TargetName)
{
    public int Encode(Span<byte> destination)
    {
        Span<byte> b = destination[Frame.HeaderLength..];
        BinaryPrimitives.WriteInt32LittleEndian(b, Lun);
        b[4] = ReadOnly ? (byte)1 : (byte)0;
        b[5] = b[6] = b[7] = 0;
        int n = 8;
        n += Frame.WriteString(b[n..], InitiatorName);
        n += Frame.WriteString(b[n..], TargetName);
        int length = Frame.HeaderLength + n;
        Frame.WriteHeader(destination, length, MessageType.AttachSession, MessageFlags.None, SessionHandle);
        return length;
    }

    public static AttachSession? Decode(ulong handle, ReadOnlySpan<byte> body)
    {
        int offset = 8;
        if (body.Length < 8 || !Frame.TryReadString(body, ref offset, out string initiator) || !Frame.TryReadString(body, ref offset, out string target))
        {
            return null;
        }

        return new AttachSession(handle, BinaryPrimitives.ReadInt32LittleEndian(body), body[4] != 0, initiator, target);
    }
}

/// <summary>
/// TASK_MGMT_RECEIVED and TASK_MGMT_DONE body (32 bytes): <c>u32 function (SCST numbering) | u32 LUN | u64 session handle |
/// u64 handle of the EXEC to abort or 0 | u64 reserved</c>.
/// </summary>
internal readonly record struct TaskManagementMessage(ulong Handle, uint Function, int Lun, ulong SessionHandle, ulong CommandHandle)
{
    public const int BodyLength = 32;

    public int Encode(Span<byte> destination, MessageType type)
    {
        Frame.WriteHeader(destination, Frame.HeaderLength + BodyLength, type, MessageFlags.None, Handle);
        Span<byte> b = destination.Slice(Frame.HeaderLength, BodyLength);
        BinaryPrimitives.WriteUInt32LittleEndian(b, Function);
        BinaryPrimitives.WriteInt32LittleEndian(b[4..], Lun);
        BinaryPrimitives.WriteUInt64LittleEndian(b[8..], SessionHandle);
        BinaryPrimitives.WriteUInt64LittleEndian(b[16..], CommandHandle);
        BinaryPrimitives.WriteUInt64LittleEndian(b[24..], 0);
        return Frame.HeaderLength + BodyLength;
    }

    public static TaskManagementMessage? Decode(ulong handle, ReadOnlySpan<byte> body) =>
        body.Length != BodyLength
            ? null
            : new TaskManagementMessage(handle, BinaryPrimitives.ReadUInt32LittleEndian(body), BinaryPrimitives.ReadInt32LittleEndian(body[4..]),
                BinaryPrimitives.ReadUInt64LittleEndian(body[8..]), BinaryPrimitives.ReadUInt64LittleEndian(body[16..]));
}

/// <summary>Messages whose body is one number: ATTACH_REPLY and TM_DONE_REPLY (i32), CAPACITY_CHANGED (u64), ON_FREE_CMD (u8 status, u8 aborted).</summary>
internal static class SmallMessages
{
    public static int EncodeInt32(Span<byte> destination, MessageType type, ulong handle, int value)
    {
        Frame.WriteHeader(destination, Frame.HeaderLength + 4, type, MessageFlags.None, handle);
        BinaryPrimitives.WriteInt32LittleEndian(destination[Frame.HeaderLength..], value);
        return Frame.HeaderLength + 4;
    }

    public static int EncodeUInt64(Span<byte> destination, MessageType type, ulong handle, ulong value)
    {
        Frame.WriteHeader(destination, Frame.HeaderLength + 8, type, MessageFlags.None, handle);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[Frame.HeaderLength..], value);
        return Frame.HeaderLength + 8;
    }

    public static int EncodeEmpty(Span<byte> destination, MessageType type, ulong handle)
    {
        Frame.WriteHeader(destination, Frame.HeaderLength, type, MessageFlags.None, handle);
        return Frame.HeaderLength;
    }

    public static int EncodeOnFree(Span<byte> destination, ulong handle, byte status, bool aborted)
    {
        Frame.WriteHeader(destination, Frame.HeaderLength + 4, MessageType.OnFreeCommand, MessageFlags.None, handle);
        destination[Frame.HeaderLength] = status;
        destination[Frame.HeaderLength + 1] = aborted ? (byte)1 : (byte)0;
        destination[Frame.HeaderLength + 2] = 0;
        destination[Frame.HeaderLength + 3] = 0;
        return Frame.HeaderLength + 4;
    }
}
