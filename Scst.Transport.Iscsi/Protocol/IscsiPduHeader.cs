// Licensed under the Apache License, Version 2.0.

using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace Scst.Transport.Iscsi.Protocol;

/// <summary>Inline storage for the 48 bytes of a Basic Header Segment.</summary>
[InlineArray(Bhs.Length)]
internal struct BhsBuffer
{
    private byte _element0;
}

/// <summary>
/// The Basic Header Segment of one received PDU: the fields common to every opcode decoded, and the 48 raw
/// bytes kept inline (no heap) so that the opcode-specific view (<see cref="AsScsiCommand"/>, …) can be
/// decoded when the opcode is known, and so that a Reject can quote the offending header verbatim.
/// </summary>
/// <remarks>
/// The reader copies the 48 bytes once into this value whether or not they straddle buffer segments; that
/// copy replaces the stackalloc'd staging copy a span-only reader would need for straddling headers.
/// </remarks>
internal readonly struct IscsiPduHeader
{
    private const int TargetTransferTagOffset = 20;
    private const int CmdSnOffset = 24;
    private const int ExpStatSnOffset = 28;

    private readonly BhsBuffer _bytes;

    /// <summary>Copies a header out of <paramref name="bhs"/> (at least 48 bytes).</summary>
    public IscsiPduHeader(ReadOnlySpan<byte> bhs)
    {
        if (bhs.Length < Bhs.Length)
        {
            ThrowHelper.ThrowArgumentTooShort(nameof(bhs));
        }

        bhs[..Bhs.Length].CopyTo(_bytes);
    }

    /// <summary>The 48 raw bytes (valid while this value is alive).</summary>
    [UnscopedRef]
    public ReadOnlySpan<byte> Bytes => _bytes;

    /// <summary>The opcode (byte 0, low six bits).</summary>
    public IscsiOpcode Opcode => (IscsiOpcode)(_bytes[Bhs.OpcodeOffset] & Bhs.OpcodeMask);

    /// <summary>The Immediate delivery bit (initiator PDUs).</summary>
    public bool Immediate => (_bytes[Bhs.OpcodeOffset] & Bhs.ImmediateBit) != 0;

    /// <summary>The Final bit (top bit of byte 1).</summary>
    public bool Final => (_bytes[Bhs.FlagsOffset] & Bhs.FinalBit) != 0;

    /// <summary>Byte 1 whole: the Final bit and the opcode-specific flags.</summary>
    public byte Flags => _bytes[Bhs.FlagsOffset];

    /// <summary>Length of the Additional Header Segments in 4-byte words.</summary>
    public int TotalAhsLengthWords => _bytes[Bhs.TotalAhsLengthWordsOffset];

    /// <summary>Length of the data segment in bytes, padding excluded.</summary>
    public int DataSegmentLengthBytes => Bhs.ReadDataSegmentLength(_bytes);

    /// <summary>Bytes 8-15 as one big-endian integer: the LUN, or ISID and TSIH on login PDUs.</summary>
    public ulong Lun => Bhs.ReadUInt64(_bytes, Bhs.LunOffset);

    /// <summary>The Initiator Task Tag (bytes 16-19).</summary>
    public uint InitiatorTaskTag => Bhs.ReadUInt32(_bytes, Bhs.InitiatorTaskTagOffset);

    /// <summary>Bytes 20-23: the Target Transfer Tag of Data-Out, NOP-Out, Text Request and SNACK.</summary>
    public uint TargetTransferTag => Bhs.ReadUInt32(_bytes, TargetTransferTagOffset);

    /// <summary>Bytes 24-27: the CmdSN of every initiator PDU that carries one (all but Data-Out and SNACK).</summary>
    public uint CmdSn => Bhs.ReadUInt32(_bytes, CmdSnOffset);

    /// <summary>Bytes 28-31: the ExpStatSN of every initiator PDU.</summary>
    public uint ExpStatSn => Bhs.ReadUInt32(_bytes, ExpStatSnOffset);

    /// <summary>Decodes the SCSI Command fields. Meaningful only when <see cref="Opcode"/> says so.</summary>
    public ScsiCommandHeader AsScsiCommand() => ScsiCommandHeader.Read(Bytes);

    /// <summary>Decodes the Data-Out fields.</summary>
    public DataOutHeader AsDataOut() => DataOutHeader.Read(Bytes);

    /// <summary>Decodes the NOP-Out fields.</summary>
    public NopOutHeader AsNopOut() => NopOutHeader.Read(Bytes);

    /// <summary>Decodes the Login Request fields.</summary>
    public LoginRequestHeader AsLoginRequest() => LoginRequestHeader.Read(Bytes);

    /// <summary>Decodes the Text Request fields.</summary>
    public TextRequestHeader AsTextRequest() => TextRequestHeader.Read(Bytes);

    /// <summary>Decodes the Logout Request fields.</summary>
    public LogoutRequestHeader AsLogoutRequest() => LogoutRequestHeader.Read(Bytes);

    /// <summary>Decodes the Task Management Function Request fields.</summary>
    public TaskManagementRequestHeader AsTaskManagementRequest() => TaskManagementRequestHeader.Read(Bytes);

    /// <summary>Decodes the SNACK Request fields.</summary>
    public SnackRequestHeader AsSnackRequest() => SnackRequestHeader.Read(Bytes);

    /// <summary>Decodes the SCSI Response fields (initiator side).</summary>
    public ScsiResponseHeader AsScsiResponse() => ScsiResponseHeader.Read(Bytes);

    /// <summary>Decodes the Data-In fields (initiator side).</summary>
    public DataInHeader AsDataIn() => DataInHeader.Read(Bytes);

    /// <summary>Decodes the R2T fields (initiator side).</summary>
    public ReadyToTransferHeader AsReadyToTransfer() => ReadyToTransferHeader.Read(Bytes);

    /// <summary>Decodes the NOP-In fields (initiator side).</summary>
    public NopInHeader AsNopIn() => NopInHeader.Read(Bytes);

    /// <summary>Decodes the Login Response fields (initiator side).</summary>
    public LoginResponseHeader AsLoginResponse() => LoginResponseHeader.Read(Bytes);

    /// <summary>Decodes the Text Response fields (initiator side).</summary>
    public TextResponseHeader AsTextResponse() => TextResponseHeader.Read(Bytes);

    /// <summary>Decodes the Logout Response fields (initiator side).</summary>
    public LogoutResponseHeader AsLogoutResponse() => LogoutResponseHeader.Read(Bytes);

    /// <summary>Decodes the Task Management Function Response fields (initiator side).</summary>
    public TaskManagementResponseHeader AsTaskManagementResponse() => TaskManagementResponseHeader.Read(Bytes);

    /// <summary>Decodes the Reject fields (initiator side).</summary>
    public RejectHeader AsReject() => RejectHeader.Read(Bytes);

    /// <summary>Decodes the Asynchronous Message fields (initiator side).</summary>
    public AsyncMessageHeader AsAsyncMessage() => AsyncMessageHeader.Read(Bytes);
}
