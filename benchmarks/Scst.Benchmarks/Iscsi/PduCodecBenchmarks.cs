// Licensed under the Apache License, Version 2.0.

using System.Buffers;
using BenchmarkDotNet.Attributes;
using Scst.Transport.Iscsi.Protocol;

namespace Scst.Benchmarks.Iscsi;

/// <summary>
/// The iSCSI PDU codec on the data path: framing a SCSI Command and a Data-Out PDU out of received bytes
/// (<see cref="IscsiPduReader.TryReadPdu(ref ReadOnlySequence{byte}, int, out IscsiPdu, out PduReadError)"/> plus the
/// opcode-specific view), and writing the Data-In and SCSI Response headers the target sends back.
/// </summary>
public class PduCodecBenchmarks
{
    private const int MaxRecvDataSegmentLength = 262_144;
    private const int DataOutBytes = 4096;

    private readonly byte[] _headerBuffer = new byte[Bhs.Length];
    private ReadOnlySequence<byte> _scsiCommand;
    private ReadOnlySequence<byte> _dataOut;
    private ReadOnlySequence<byte> _dataOutSegmented;
    private uint _statSn;

    [GlobalSetup]
    public void Setup()
    {
        // READ(10) of 8 blocks, no immediate data.
        byte[] command = new byte[Bhs.Length];
        new ScsiCommandHeader
        {
            Final = true,
            IsRead = true,
            Attribute = TaskAttribute.Simple,
            Lun = 0,
            InitiatorTaskTag = 0x1234,
            ExpectedDataTransferLength = 4096,
            CmdSn = 42,
            ExpStatSn = 17,
            Cdb = Cdb16.From([0x28, 0, 0, 0x12, 0x34, 0x56, 0, 0, 8, 0]),
        }.WriteTo(command);
        _scsiCommand = new ReadOnlySequence<byte>(command);

        // Data-Out with a 4 KiB data segment: one buffer, and header and data in two pipe segments.
        byte[] dataOut = new byte[Bhs.Length + DataOutBytes];
        new DataOutHeader
        {
            Final = true,
            DataSegmentLength = DataOutBytes,
            InitiatorTaskTag = 0x1235,
            TargetTransferTag = 7,
            ExpStatSn = 17,
            DataSn = 0,
            BufferOffset = 0,
        }.WriteTo(dataOut);
        _dataOut = new ReadOnlySequence<byte>(dataOut);
        var first = new Segment(dataOut.AsMemory(0, Bhs.Length), 0);
        var last = first.Append(dataOut.AsMemory(Bhs.Length));
        _dataOutSegmented = new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    [Benchmark]
    public uint DecodeScsiCommand()
    {
        ReadOnlySequence<byte> buffer = _scsiCommand;
        IscsiPduReader.TryReadPdu(ref buffer, MaxRecvDataSegmentLength, out IscsiPdu pdu, out _);
        ScsiCommandHeader header = pdu.Header.AsScsiCommand();
        return header.CmdSn + header.ExpectedDataTransferLength;
    }

    [Benchmark]
    public long DecodeDataOut()
    {
        ReadOnlySequence<byte> buffer = _dataOut;
        IscsiPduReader.TryReadPdu(ref buffer, MaxRecvDataSegmentLength, out IscsiPdu pdu, out _);
        DataOutHeader header = pdu.Header.AsDataOut();
        return header.BufferOffset + pdu.DataSegment.Length;
    }

    [Benchmark]
    public long DecodeDataOutSegmented()
    {
        ReadOnlySequence<byte> buffer = _dataOutSegmented;
        IscsiPduReader.TryReadPdu(ref buffer, MaxRecvDataSegmentLength, out IscsiPdu pdu, out _);
        DataOutHeader header = pdu.Header.AsDataOut();
        return header.BufferOffset + pdu.DataSegment.Length;
    }

    [Benchmark]
    public byte EncodeDataIn()
    {
        new DataInHeader
        {
            Final = true,
            HasStatus = true,
            Status = 0,
            DataSegmentLength = 4096,
            Lun = 0,
            InitiatorTaskTag = 0x1234,
            TargetTransferTag = Bhs.ReservedTag,
            StatSn = ++_statSn,
            ExpCmdSn = 43,
            MaxCmdSn = 74,
            DataSn = 0,
            BufferOffset = 0,
        }.WriteTo(_headerBuffer);
        return _headerBuffer[1];
    }

    [Benchmark]
    public byte EncodeScsiResponse()
    {
        new ScsiResponseHeader
        {
            Response = 0,
            Status = 0,
            InitiatorTaskTag = 0x1235,
            StatSn = ++_statSn,
            ExpCmdSn = 43,
            MaxCmdSn = 74,
            ExpDataSn = 0,
        }.WriteTo(_headerBuffer);
        return _headerBuffer[1];
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
