// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using System.Text;
using Scst.Transport.Iscsi.Protocol;

namespace Scst.Testing.Iscsi;

/// <summary>The valid PDUs a fuzz case starts from: one of each kind an initiator sends.</summary>
internal enum FuzzSeedKind
{
    Login,
    Text,
    ScsiRead,
    ScsiWriteImmediate,
    ScsiExtendedCdb,
    DataOut,
    NopOut,
    TaskManagement,
    Logout,
    Snack,
}

/// <summary>
/// The corpus and the mutator of the iSCSI fuzz tests: valid PDUs (BHS, AHS, data padded to 4 bytes, no digests), and a
/// seeded random mutator over them (bit flips, boundary values in the length and tag fields, opcode changes, text
/// damage, truncation, extension), so that a failing case is reproduced by its seed and case number alone.
/// </summary>
internal sealed class PduFuzzer(int seed)
{
    /// <summary>Every seed kind, in a fixed order.</summary>
    public static readonly FuzzSeedKind[] Kinds = Enum.GetValues<FuzzSeedKind>();

    /// <summary>The CDBs a SCSI Command seed carries, on LBA <see cref="FuzzLba"/>: nothing that reaches another session.</summary>
    public const uint FuzzLba = 60_000;

    private static readonly uint[] s_boundaries = [0, 1, 2, 3, 4, 47, 48, 49, 255, 256, 511, 512, 4095, 4096, 8191, 8192, 65535, 65536, 0x00ff_ffff, 0x7fff_ffff, 0x8000_0000, 0xffff_fffe, 0xffff_ffff];
    private readonly Random _random = new(seed);

    /// <summary>The random source, for choices the caller makes in the same reproducible sequence.</summary>
    public Random Random => _random;

    /// <summary>Builds a valid PDU of <paramref name="kind"/> with the given sequence numbers.</summary>
    public static byte[] Build(FuzzSeedKind kind, uint cmdSn, uint expStatSn, uint itt, ulong isid = 0x8000_1234_5678)
    {
        var bhs = new byte[Bhs.Length];
        byte[] data = [];
        byte[] ahs = [];
        switch (kind)
        {
            case FuzzSeedKind.Login:
                data = Keys("InitiatorName=iqn.2026-11.org.scst-dotnet:fuzz", "SessionType=Normal", "TargetName=iqn.2026-11.org.scst-dotnet:itest",
                    "HeaderDigest=None", "DataDigest=None", "MaxRecvDataSegmentLength=8192", "ImmediateData=Yes", "InitialR2T=Yes", "MaxBurstLength=262144",
                    "FirstBurstLength=65536", "ErrorRecoveryLevel=0");
                new LoginRequestHeader
                {
                    Transit = true,
                    CurrentStage = LoginStage.OperationalNegotiation,
                    NextStage = LoginStage.FullFeaturePhase,
                    DataSegmentLength = data.Length,
                    Isid = isid,
                    InitiatorTaskTag = itt,
                    CmdSn = cmdSn,
                    ExpStatSn = expStatSn,
                }.WriteTo(bhs);
                break;
            case FuzzSeedKind.Text:
                data = Keys("SendTargets=All");
                new TextRequestHeader { Final = true, DataSegmentLength = data.Length, InitiatorTaskTag = itt, TargetTransferTag = Bhs.ReservedTag, CmdSn = cmdSn, ExpStatSn = expStatSn }.WriteTo(bhs);
                break;
            case FuzzSeedKind.ScsiRead:
                new ScsiCommandHeader { Final = true, IsRead = true, Attribute = TaskAttribute.Simple, InitiatorTaskTag = itt, ExpectedDataTransferLength = 512, CmdSn = cmdSn, ExpStatSn = expStatSn, Cdb = Cdb16.From(Read10(FuzzLba)) }.WriteTo(bhs);
                break;
            case FuzzSeedKind.ScsiWriteImmediate:
                data = new byte[512];
                data.AsSpan().Fill(0x5a);
                new ScsiCommandHeader { Final = true, IsWrite = true, Attribute = TaskAttribute.Simple, DataSegmentLength = data.Length, InitiatorTaskTag = itt, ExpectedDataTransferLength = 512, CmdSn = cmdSn, ExpStatSn = expStatSn, Cdb = Cdb16.From(Write10(FuzzLba)) }.WriteTo(bhs);
                break;
            case FuzzSeedKind.ScsiExtendedCdb:
            {
                // A 32-byte variable-length CDB (opcode 7Fh): 16 bytes in the BHS, the rest in an Extended CDB AHS.
                var cdb = new byte[32];
                cdb[0] = 0x7f;
                cdb[7] = 24;
                ahs = new byte[AdditionalHeaderSegment.HeaderLength + 16];
                int ahsLength = AdditionalHeaderSegment.WriteExtendedCdb(ahs, cdb);
                ahs = ahs[..ahsLength];
                new ScsiCommandHeader { Final = true, Attribute = TaskAttribute.Simple, TotalAhsLengthWords = ahsLength / 4, InitiatorTaskTag = itt, CmdSn = cmdSn, ExpStatSn = expStatSn, Cdb = Cdb16.From(cdb.AsSpan(0, 16)) }.WriteTo(bhs);
                break;
            }

            case FuzzSeedKind.DataOut:
                data = new byte[1024];
                data.AsSpan().Fill(0xa5);
                new DataOutHeader { Final = true, DataSegmentLength = data.Length, InitiatorTaskTag = itt, TargetTransferTag = 1, ExpStatSn = expStatSn, DataSn = 0, BufferOffset = 0 }.WriteTo(bhs);
                break;
            case FuzzSeedKind.NopOut:
                data = Encoding.ASCII.GetBytes("ping-with-data");
                new NopOutHeader { Immediate = true, DataSegmentLength = data.Length, InitiatorTaskTag = itt, TargetTransferTag = Bhs.ReservedTag, CmdSn = cmdSn, ExpStatSn = expStatSn }.WriteTo(bhs);
                break;
            case FuzzSeedKind.TaskManagement:
                new TaskManagementRequestHeader { Immediate = true, Function = TaskManagementFunction.AbortTask, InitiatorTaskTag = itt, ReferencedTaskTag = itt - 1, CmdSn = cmdSn, ExpStatSn = expStatSn, RefCmdSn = cmdSn }.WriteTo(bhs);
                break;
            case FuzzSeedKind.Logout:
                new LogoutRequestHeader { Immediate = true, Reason = LogoutReason.CloseSession, InitiatorTaskTag = itt, CmdSn = cmdSn, ExpStatSn = expStatSn }.WriteTo(bhs);
                break;
            case FuzzSeedKind.Snack:
                new SnackRequestHeader { Type = SnackType.Status, InitiatorTaskTag = Bhs.ReservedTag, TargetTransferTagOrSnackTag = 0, ExpStatSn = expStatSn, BegRun = 0, RunLength = 0 }.WriteTo(bhs);
                break;
        }

        var pdu = new byte[Bhs.Length + ahs.Length + Bhs.Padded(data.Length)];
        bhs.CopyTo(pdu, 0);
        ahs.CopyTo(pdu, Bhs.Length);
        data.CopyTo(pdu, Bhs.Length + ahs.Length);
        return pdu;
    }

    /// <summary>Applies one to four random mutations to a copy of <paramref name="pdu"/>.</summary>
    public byte[] Mutate(byte[] pdu)
    {
        var bytes = new List<byte>(pdu);
        int count = 1 + _random.Next(4);
        for (int i = 0; i < count && bytes.Count > 0; i++)
        {
            switch (_random.Next(11))
            {
                case 0: // flip one bit anywhere
                {
                    int at = _random.Next(bytes.Count);
                    bytes[at] ^= (byte)(1 << _random.Next(8));
                    break;
                }

                case 1: // a random byte anywhere
                    bytes[_random.Next(bytes.Count)] = (byte)_random.Next(256);
                    break;
                case 2: // a boundary value in a 32-bit field of the BHS (tags, sequence numbers, lengths, offsets)
                    if (bytes.Count >= Bhs.Length)
                    {
                        int field = 4 * _random.Next(Bhs.Length / 4);
                        uint value = s_boundaries[_random.Next(s_boundaries.Length)];
                        for (int b = 0; b < 4; b++)
                        {
                            bytes[field + b] = (byte)(value >> (24 - (8 * b)));
                        }
                    }

                    break;
                case 3: // another opcode, immediate bit or flags
                    bytes[0] = (byte)_random.Next(256);
                    break;
                case 4:
                    if (bytes.Count > 1)
                    {
                        bytes[1] = (byte)_random.Next(256);
                    }

                    break;
                case 5: // TotalAHSLength
                    if (bytes.Count > 4)
                    {
                        bytes[4] = (byte)(_random.Next(3) == 0 ? _random.Next(256) : _random.Next(8));
                    }

                    break;
                case 6: // DataSegmentLength: near the real length, or anywhere
                    if (bytes.Count > 7)
                    {
                        int length = _random.Next(3) == 0 ? _random.Next(1 << 24) : Math.Max(0, pdu.Length - Bhs.Length + _random.Next(-8, 9));
                        bytes[5] = (byte)(length >> 16);
                        bytes[6] = (byte)(length >> 8);
                        bytes[7] = (byte)length;
                    }

                    break;
                case 7: // cut the PDU short
                {
                    int keep = _random.Next(bytes.Count);
                    bytes.RemoveRange(keep, bytes.Count - keep);
                    break;
                }

                case 8: // append garbage
                {
                    var extra = new byte[_random.Next(1, 64)];
                    _random.NextBytes(extra);
                    bytes.AddRange(extra);
                    break;
                }

                case 9: // text damage in the data segment: separators, high bytes, a long run
                    if (bytes.Count > Bhs.Length)
                    {
                        int at = Bhs.Length + _random.Next(bytes.Count - Bhs.Length);
                        byte[] damage = [0, (byte)'=', (byte)',', 0xff, 0xc3, 0x28, (byte)'X'];
                        bytes[at] = damage[_random.Next(damage.Length)];
                        if (_random.Next(4) == 0)
                        {
                            bytes.InsertRange(at, Enumerable.Repeat((byte)'A', _random.Next(200, 400)));
                        }
                    }

                    break;
                default: // duplicate a slice
                {
                    int from = _random.Next(bytes.Count);
                    int length = Math.Min(bytes.Count - from, _random.Next(1, 96));
                    bytes.InsertRange(_random.Next(bytes.Count), bytes.GetRange(from, length));
                    break;
                }
            }
        }

        return [.. bytes];
    }

    /// <summary>
    /// Adds digests where the (possibly mutated) header says they go, so that a target with digests negotiated parses
    /// the header instead of dropping the connection at once: a header digest after the BHS and AHS, and a data digest
    /// after the padded data segment when the bytes hold all of it. Bytes the header does not account for follow as they are.
    /// </summary>
    public static byte[] AddDigests(byte[] pdu, bool headerDigest, bool dataDigest)
    {
        if (pdu.Length < Bhs.Length)
        {
            return pdu;
        }

        int headerLength = Bhs.Length + (4 * pdu[Bhs.TotalAhsLengthWordsOffset]);
        if (pdu.Length < headerLength)
        {
            return pdu;
        }

        var output = new List<byte>(pdu.Length + 8);
        output.AddRange(pdu.AsSpan(0, headerLength));
        if (headerDigest)
        {
            output.AddRange(Digest(pdu.AsSpan(0, headerLength)));
        }

        int dataLength = Bhs.ReadDataSegmentLength(pdu);
        int padded = Bhs.Padded(dataLength);
        var rest = pdu.AsSpan(headerLength);
        if (dataDigest && dataLength > 0 && rest.Length >= padded)
        {
            output.AddRange(rest[..padded]);
            output.AddRange(Digest(rest[..padded]));
            output.AddRange(rest[padded..]);
        }
        else
        {
            output.AddRange(rest);
        }

        return [.. output];
    }

    /// <summary>
    /// Keeps a mutated PDU within what may reach another session through legitimate SCSI behaviour, so that the
    /// fuzz tests can require a concurrent session to be undisturbed: a SCSI Command keeps its seed's CDB (the fuzz LBA),
    /// and a task management function that acts beyond its own I_T nexus (CLEAR TASK SET, resets) becomes ABORT TASK.
    /// The iSCSI fields (flags, lengths, tags, sequence numbers, AHS, data) stay mutated.
    /// </summary>
    public static void ConfineToOwnNexus(byte[] mutated, byte[] seed)
    {
        if (mutated.Length < Bhs.Length || seed.Length < Bhs.Length)
        {
            return;
        }

        var opcode = (IscsiOpcode)(mutated[0] & Bhs.OpcodeMask);
        if (opcode == IscsiOpcode.ScsiCommand)
        {
            const int CdbOffset = 32;
            byte[] cdb = (IscsiOpcode)(seed[0] & Bhs.OpcodeMask) == IscsiOpcode.ScsiCommand ? seed[CdbOffset..Bhs.Length] : Read10Cdb16();
            cdb.CopyTo(mutated, CdbOffset);
        }
        else if (opcode == IscsiOpcode.TaskManagementRequest)
        {
            int function = mutated[1] & 0x7f;
            if (function is 4 or 5 or 6 or 7)
            {
                mutated[1] = (byte)((mutated[1] & 0x80) | 1);
            }
        }
    }

    private static byte[] Read10Cdb16()
    {
        var cdb = new byte[16];
        Read10(FuzzLba).CopyTo(cdb, 0);
        return cdb;
    }

    private static byte[] Digest(ReadOnlySpan<byte> bytes)
    {
        var digest = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(digest, Crc32C.Compute(bytes));
        return digest;
    }

    private static byte[] Keys(params string[] pairs) => Encoding.UTF8.GetBytes(string.Concat(pairs.Select(p => p + "\0")));

    private static byte[] Read10(uint lba)
    {
        var cdb = new byte[10];
        cdb[0] = 0x28;
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(2), lba);
        cdb[8] = 1;
        return cdb;
    }

    private static byte[] Write10(uint lba)
    {
        var cdb = Read10(lba);
        cdb[0] = 0x2a;
        return cdb;
    }
}
