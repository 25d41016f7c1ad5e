// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using System.Collections.Concurrent;
using Scst.Testing.Iscsi;
using Scst.Transport.Iscsi.Protocol;

namespace Scst.Integration.Tests.Iscsi;

/// <summary>One command sent through <see cref="PipelinedCommands"/>: when it left, when its answer came, and the answer.</summary>
internal sealed class PipelinedCommand
{
    private readonly TaskCompletionSource<ScsiResult> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<ReadyToTransferHeader> _dataRequested = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<DataInHeader> _dataIn = [];
    private readonly List<ReadyToTransferHeader> _r2ts = [];

    public PipelinedCommand(uint itt, byte[] cdb, byte[]? writeData, int readLength, bool holdData)
    {
        InitiatorTaskTag = itt;
        Cdb = cdb;
        WriteData = writeData;
        ReadBuffer = new byte[readLength];
        HoldsData = holdData;
    }

    public uint InitiatorTaskTag { get; }

    public byte[] Cdb { get; }

    public byte[]? WriteData { get; }

    public byte[] ReadBuffer { get; }

    /// <summary>Whether the Data-Out this command's R2T asks for waits for <see cref="PipelinedCommands.SendHeldDataAsync"/>.</summary>
    public bool HoldsData { get; }

    /// <summary>The logical time taken just before the command's PDU was written to the socket.</summary>
    public long SentAt { get; set; }

    /// <summary>The logical time taken just after its status arrived (0 while it has none).</summary>
    public long AnsweredAt { get; private set; }

    public Task<ScsiResult> Result => _result.Task;

    /// <summary>Completes with the first R2T of a command that holds its data.</summary>
    public Task<ReadyToTransferHeader> DataRequested => _dataRequested.Task;

    internal List<ReadyToTransferHeader> HeldR2Ts { get; } = [];

    internal bool DataReleased { get; set; }

    internal void OnR2T(ReadyToTransferHeader r2t)
    {
        _r2ts.Add(r2t);
        _dataRequested.TrySetResult(r2t);
    }

    internal void OnDataIn(DataInHeader header, byte[] data)
    {
        _dataIn.Add(header);
        if (header.BufferOffset + (uint)data.Length > (uint)ReadBuffer.Length)
        {
            throw new IOException($"Data-In beyond the expected length {ReadBuffer.Length} of ITT 0x{InitiatorTaskTag:x}: offset {header.BufferOffset}, {data.Length} bytes.");
        }

        data.CopyTo(ReadBuffer, (int)header.BufferOffset);
    }

    internal void Complete(long answeredAt, byte status, byte response, byte[] sense, ScsiResponseHeader? header)
    {
        AnsweredAt = answeredAt;
        _result.TrySetResult(new ScsiResult(status, response, sense, ReadBuffer, _dataIn, _r2ts, header));
    }

    internal void Fail(Exception error)
    {
        _result.TrySetException(error);
        _dataRequested.TrySetException(error);
    }
}

/// <summary>
/// Several SCSI commands in flight on one <see cref="IscsiTestInitiator"/> connection: one receive loop matches the
/// target's PDUs to their commands by initiator task tag, and senders share the socket under a lock. Write data goes
/// as immediate data where the negotiation allows and as Data-Out for every R2T, except for a command that holds its
/// data until the test releases it (so that it waits in the target for its data). Every send and every answer takes a
/// number from a logical clock shared by the test, so that events on two connections can be ordered: a number taken
/// after an event was seen is greater than one taken before it was caused.
/// </summary>
/// <remarks>
/// While the pipeline runs, the initiator's own command methods must not be used; <see cref="StopAsync"/> ends the
/// receive loop at a clean PDU boundary (a NOP-Out ping and its NOP-In) and hands the connection back.
/// </remarks>
internal sealed class PipelinedCommands : IDisposable
{
    private const uint StopTag = 0x7FFF_FFFF;

    private readonly IscsiTestInitiator _initiator;
    private readonly Func<long> _clock;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly ConcurrentDictionary<uint, PipelinedCommand> _outstanding = new();
    private readonly Task _receiveLoop;
    private readonly TaskCompletionSource<AsyncMessageHeader> _logoutRequested = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Exception? _ended;
    private uint _nextItt = 0x4000_0000;

    public PipelinedCommands(IscsiTestInitiator initiator, Func<long> clock)
    {
        _initiator = initiator;
        _clock = clock;
        _receiveLoop = Task.Run(ReceiveLoopAsync);
    }

    /// <summary>The receive loop: ends when <see cref="StopAsync"/> stops it, fails when the target closes the connection.</summary>
    public Task Receiving => _receiveLoop;

    /// <summary>Completes with the target's first Asynchronous Message that asks the initiator to log out (AsyncEvent 1).</summary>
    public Task<AsyncMessageHeader> LogoutRequested => _logoutRequested.Task;

    /// <summary>
    /// Sends one command and returns once its PDU is on the socket; its answer comes through <see cref="PipelinedCommand.Result"/>.
    /// A command sent after the receive loop ended (the target closed the connection) fails with the loop's error.
    /// </summary>
    public async Task<PipelinedCommand> SendAsync(byte[] cdb, byte[]? writeData = null, int readLength = 0, bool holdData = false, CancellationToken cancellationToken = default)
    {
        await _sendLock.WaitAsync(cancellationToken);
        try
        {
            var command = new PipelinedCommand(_nextItt++, cdb, writeData, readLength, holdData);
            _outstanding[command.InitiatorTaskTag] = command;
            int immediate = writeData is not null && _initiator.ImmediateData && !holdData
                ? Math.Min(writeData.Length, Math.Min(_initiator.FirstBurstLength, _initiator.TargetMaxRecvDataSegmentLength))
                : 0;
            var header = new ScsiCommandHeader
            {
                Final = true,
                IsRead = readLength > 0,
                IsWrite = writeData is not null,
                Attribute = TaskAttribute.Simple,
                DataSegmentLength = immediate,
                Lun = 0,
                InitiatorTaskTag = command.InitiatorTaskTag,
                ExpectedDataTransferLength = (uint)(writeData?.Length ?? readLength),
                CmdSn = _initiator.CmdSn++,
                ExpStatSn = _initiator.ExpStatSn,
                Cdb = Cdb16.From(cdb),
            };
            var bhs = new byte[Bhs.Length];
            header.WriteTo(bhs);
            command.SentAt = _clock();
            await _initiator.SendAsync(bhs, writeData.AsMemory(0, immediate), cancellationToken);
            if (Volatile.Read(ref _ended) is { } ended && _outstanding.TryRemove(command.InitiatorTaskTag, out _))
            {
                command.Fail(ended); // no receive loop is left to answer it
            }

            return command;
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>Sends the Data-Out that a command holding its data was asked for (it must have had its R2T).</summary>
    public async Task SendHeldDataAsync(PipelinedCommand command, CancellationToken cancellationToken = default)
    {
        ReadyToTransferHeader[] r2ts;
        lock (command.HeldR2Ts)
        {
            command.DataReleased = true;
            r2ts = [.. command.HeldR2Ts];
            command.HeldR2Ts.Clear();
        }

        foreach (ReadyToTransferHeader r2t in r2ts)
        {
            await SendDataOutAsync(command, r2t, cancellationToken);
        }
    }

    /// <summary>Ends the receive loop once every outstanding command has its answer (or after <paramref name="timeout"/>).</summary>
    public async Task StopAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        Task<ScsiResult>[] pending = [.. _outstanding.Values.Select(c => c.Result)];
        await Task.WhenAll(pending).WaitAsync(timeout, cancellationToken);

        await _sendLock.WaitAsync(cancellationToken);
        try
        {
            var header = new NopOutHeader
            {
                Immediate = true,
                InitiatorTaskTag = StopTag,
                TargetTransferTag = Bhs.ReservedTag,
                CmdSn = _initiator.CmdSn,
                ExpStatSn = _initiator.ExpStatSn,
            };
            var bhs = new byte[Bhs.Length];
            header.WriteTo(bhs);
            await _initiator.SendAsync(bhs, ReadOnlyMemory<byte>.Empty, cancellationToken);
        }
        finally
        {
            _sendLock.Release();
        }

        await _receiveLoop.WaitAsync(timeout, cancellationToken);
    }

    /// <summary>Releases the send lock; the connection stays the initiator's.</summary>
    public void Dispose() => _sendLock.Dispose();

    private async Task ReceiveLoopAsync()
    {
        try
        {
            while (true)
            {
                ReceivedPdu pdu = await _initiator.ReceiveAsync()
                    ?? throw new IOException("The target closed the connection while commands were in flight.");
                switch (pdu.Opcode)
                {
                    case IscsiOpcode.ScsiResponse:
                    {
                        ScsiResponseHeader response = pdu.Header.AsScsiResponse();
                        byte[] sense = [];
                        if (pdu.Data.Length >= 2)
                        {
                            int senseLength = BinaryPrimitives.ReadUInt16BigEndian(pdu.Data);
                            sense = pdu.Data.AsSpan(2, Math.Min(senseLength, pdu.Data.Length - 2)).ToArray();
                        }

                        Take(response.InitiatorTaskTag).Complete(_clock(), response.Status, response.Response, sense, response);
                        break;
                    }

                    case IscsiOpcode.DataIn:
                    {
                        DataInHeader din = pdu.Header.AsDataIn();
                        PipelinedCommand command = Find(din.InitiatorTaskTag);
                        command.OnDataIn(din, pdu.Data);
                        if (din.HasStatus)
                        {
                            Take(din.InitiatorTaskTag).Complete(_clock(), din.Status, 0, [], null);
                        }

                        break;
                    }

                    case IscsiOpcode.ReadyToTransfer:
                    {
                        ReadyToTransferHeader r2t = pdu.Header.AsReadyToTransfer();
                        PipelinedCommand command = Find(r2t.InitiatorTaskTag);
                        command.OnR2T(r2t);
                        bool send;
                        lock (command.HeldR2Ts)
                        {
                            send = !command.HoldsData || command.DataReleased;
                            if (!send)
                            {
                                command.HeldR2Ts.Add(r2t);
                            }
                        }

                        if (send)
                        {
                            await SendDataOutAsync(command, r2t, CancellationToken.None);
                        }

                        break;
                    }

                    case IscsiOpcode.NopIn when pdu.Header.InitiatorTaskTag == StopTag:
                        return;

                    case IscsiOpcode.AsyncMessage:
                        AsyncMessageHeader message = pdu.Header.AsAsyncMessage();
                        if (message.Event == AsyncEvent.LogoutRequested)
                        {
                            _logoutRequested.TrySetResult(message);
                        }

                        break;

                    case IscsiOpcode.NopIn:
                        break;

                    default:
                        throw new IOException($"Unexpected {pdu.Opcode} (ITT 0x{pdu.Header.InitiatorTaskTag:x}) while commands were in flight.");
                }
            }
        }
        catch (Exception ex)
        {
            Interlocked.Exchange(ref _ended, ex);
            foreach (PipelinedCommand command in _outstanding.Values)
            {
                command.Fail(ex);
            }

            throw;
        }
    }

    private PipelinedCommand Find(uint itt) =>
        _outstanding.TryGetValue(itt, out PipelinedCommand? command) ? command : throw new IOException($"A PDU for ITT 0x{itt:x}, which has no command in flight.");

    private PipelinedCommand Take(uint itt) =>
        _outstanding.TryRemove(itt, out PipelinedCommand? command) ? command : throw new IOException($"A status for ITT 0x{itt:x}, which has no command in flight.");

    private async Task SendDataOutAsync(PipelinedCommand command, ReadyToTransferHeader r2t, CancellationToken cancellationToken)
    {
        byte[] data = command.WriteData ?? throw new IOException($"R2T for ITT 0x{command.InitiatorTaskTag:x}, a command without write data.");
        int offset = (int)r2t.BufferOffset;
        int end = offset + (int)r2t.DesiredDataTransferLength;
        if (end > data.Length)
        {
            throw new IOException($"R2T asks for bytes {offset}..{end} of a {data.Length}-byte write.");
        }

        await _sendLock.WaitAsync(cancellationToken);
        try
        {
            uint dataSn = 0;
            while (offset < end)
            {
                int length = Math.Min(end - offset, _initiator.TargetMaxRecvDataSegmentLength);
                var header = new DataOutHeader
                {
                    Final = offset + length == end,
                    DataSegmentLength = length,
                    Lun = r2t.Lun,
                    InitiatorTaskTag = r2t.InitiatorTaskTag,
                    TargetTransferTag = r2t.TargetTransferTag,
                    ExpStatSn = _initiator.ExpStatSn,
                    DataSn = dataSn++,
                    BufferOffset = (uint)offset,
                };
                var bhs = new byte[Bhs.Length];
                header.WriteTo(bhs);
                await _initiator.SendAsync(bhs, data.AsMemory(offset, length), cancellationToken);
                offset += length;
            }
        }
        finally
        {
            _sendLock.Release();
        }
    }
}
