// Licensed under the Apache License, Version 2.0.

namespace Scst.Core.Cdb;

/// <summary>What the length field of a CDB counts.</summary>
public enum TransferLengthUnit : byte
{
    /// <summary>The command transfers no data.</summary>
    None = 0,

    /// <summary>The length field counts logical blocks.</summary>
    Blocks = 1,

    /// <summary>The length field counts bytes (allocation or parameter list length).</summary>
    Bytes = 2,

    /// <summary>The length field counts blocks, and the command transfers twice that (COMPARE AND WRITE).</summary>
    DoubleBlocks = 3,

    /// <summary>The command always transfers a fixed number of bytes, given by <see cref="CdbDescriptor.FixedLength"/>.</summary>
    Fixed = 4,

    /// <summary>
    /// VERIFY: the length field counts blocks to verify; the data transferred depends on BYTCHK (byte 1, bits 2-1):
    /// none for 0, the blocks for 1, one block for 3.
    /// </summary>
    ByteCheck = 5,

    /// <summary>WRITE SAME: the length field counts blocks to write; one block is transferred, none with NDOB.</summary>
    SingleBlock = 6,

    /// <summary>PRE-FETCH, SYNCHRONIZE CACHE: the length field counts blocks, and no data is transferred.</summary>
    NoDataBlocks = 7,
}

/// <summary>Properties of an operation code that the core acts on.</summary>
[Flags]
public enum CdbFlags : ushort
{
    /// <summary>No special property.</summary>
    None = 0,

    /// <summary>The command writes the medium: refused on read-only logical units.</summary>
    WritesMedium = 0x0001,

    /// <summary>The command is executed by the core for every device (INQUIRY, REPORT LUNS...).</summary>
    CoreOwned = 0x0002,

    /// <summary>The command is answered even when a unit attention is pending (INQUIRY, REPORT LUNS, REQUEST SENSE).</summary>
    SkipsUnitAttention = 0x0004,

    /// <summary>The command is answered for a LUN that does not exist (INQUIRY, REPORT LUNS, REQUEST SENSE).</summary>
    AllowedWithoutLun = 0x0008,

    /// <summary>A zero transfer length in a 6-byte CDB means 256 blocks (READ(6), WRITE(6)).</summary>
    ZeroMeans256 = 0x0010,

    /// <summary>The CDB has a FUA bit in byte 1, bit 3.</summary>
    HasFua = 0x0020,

    /// <summary>The command needs a block device.</summary>
    BlockCommand = 0x0040,

    /// <summary>The command is accepted when the medium is absent (START STOP UNIT, PREVENT ALLOW MEDIUM REMOVAL).</summary>
    WorksWithoutMedium = 0x0080,
}

/// <summary>
/// One entry of the CDB table: how to find the LBA and the transfer length of a command, which way data flows, and
/// how the core must treat it. One table serves decoding and, later, REPORT SUPPORTED OPERATION CODES.
/// </summary>
public sealed class CdbDescriptor
{
    private readonly byte[] _usageData;

    internal CdbDescriptor(
        byte opcode, int serviceAction, string name, int cdbLength, DataDirection direction, int lbaOffset, int lbaLength,
        int lengthOffset, int lengthLength, TransferLengthUnit unit, CdbFlags flags, int fixedLength, uint deviceTypes = AllDeviceTypes)
    {
        Opcode = opcode;
        ServiceAction = serviceAction;
        Name = name;
        CdbLength = cdbLength;
        Direction = direction;
        LbaOffset = lbaOffset;
        LbaLength = lbaLength;
        LengthOffset = lengthOffset;
        LengthLength = lengthLength;
        Unit = unit;
        Flags = flags;
        FixedLength = fixedLength;
        DeviceTypes = deviceTypes;
        _usageData = CdbUsage.Build(this);
    }

    /// <summary>Every peripheral device type (<see cref="DeviceTypes"/> of a command every command set shares).</summary>
    internal const uint AllDeviceTypes = uint.MaxValue;

    /// <summary>The operation code (CDB byte 0).</summary>
    public byte Opcode { get; }

    /// <summary>The service action (CDB byte 1, bits 4-0), or -1 when the opcode has none.</summary>
    public int ServiceAction { get; }

    /// <summary>The command's name as the standards spell it, e.g. "READ(10)".</summary>
    public string Name { get; }

    /// <summary>The CDB length in bytes.</summary>
    public int CdbLength { get; }

    /// <summary>The data direction when the transfer length is not zero.</summary>
    public DataDirection Direction { get; }

    /// <summary>Offset of the LBA field, or 0 when the command has none.</summary>
    public int LbaOffset { get; }

    /// <summary>Size of the LBA field in bytes (3 for READ(6), where only 21 bits count).</summary>
    public int LbaLength { get; }

    /// <summary>Offset of the transfer, allocation or parameter list length field, or 0.</summary>
    public int LengthOffset { get; }

    /// <summary>Size of the length field in bytes.</summary>
    public int LengthLength { get; }

    /// <summary>What the length field counts.</summary>
    public TransferLengthUnit Unit { get; }

    /// <summary>How the core treats the command.</summary>
    public CdbFlags Flags { get; }

    /// <summary>The fixed transfer size for <see cref="TransferLengthUnit.Fixed"/> commands.</summary>
    public int FixedLength { get; }

    /// <summary>
    /// The peripheral device types whose command sets the command belongs to, one bit per type (bit 0 for direct
    /// access, bit 5 for CD/DVD...): every type for the SPC commands, direct access for the SBC ones, and the types that
    /// share a row (READ(10) is SBC's and MMC's). A logical unit of another type refuses the command as an unsupported
    /// operation code.
    /// </summary>
    public uint DeviceTypes { get; }

    /// <summary>Whether the command belongs to the command set of <paramref name="type"/> (see <see cref="DeviceTypes"/>).</summary>
    /// <param name="type">A peripheral device type.</param>
    /// <returns>True when a logical unit of that type may support the command.</returns>
    public bool AppliesTo(PeripheralDeviceType type) => (int)type < 32 && (DeviceTypes & (1u << (int)type)) != 0;

    /// <summary>
    /// The CDB USAGE DATA of REPORT SUPPORTED OPERATION CODES (SPC-4 section 6.35.3): <see cref="CdbLength"/> bytes,
    /// the operation code (and service action) in place and a bit set for every CDB bit that is evaluated.
    /// </summary>
    public ReadOnlySpan<byte> UsageData => _usageData;

    /// <summary>Whether the command is identified by a service action as well as its operation code.</summary>
    public bool HasServiceAction => ServiceAction >= 0;

    /// <inheritdoc />
    public override string ToString() => Name;
}
