// Licensed under the Apache License, Version 2.0.

using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Scst.Core.Cdb;

namespace Scst.Core;

/// <summary>
/// One SCSI command on its way through the core. Instances are pooled per session: a target driver gets one from
/// <see cref="ScsiSession.CreateCommand"/>, hands it to <see cref="ScsiSession.Submit"/>, and gives it back with
/// <see cref="Release"/> once the response has left (or after <see cref="ISessionTransport.OnCommandAborted"/>). The
/// command must not be touched after release: the next command of the session reuses it.
/// </summary>
/// <remarks>
/// Buffer ownership: the data buffer is rented by the core when the command is submitted, from the device's
/// <see cref="ScsiDevice.BufferSource"/> when it has one and from the core's pool otherwise, and returned to where it
/// came from by <see cref="Release"/>. <see cref="Data"/>, <see cref="WriteBuffer"/> and <see cref="ResponseData"/> are
/// views of it and are valid only until then.
/// </remarks>
public sealed class ScsiCommand
{
    /// <summary>The longest CDB accepted (a variable-length CDB with additional CDB bytes).</summary>
    public const int MaxCdbLength = 260;

    private readonly byte[] _cdb = new byte[MaxCdbLength];
    private readonly byte[] _sense = new byte[Core.SenseData.MaxLength];
    private readonly Action _onExecuted;
    private ConfiguredValueTaskAwaitable<CommandOutcome>.ConfiguredValueTaskAwaiter _pending;
    private MemoryManager<byte>? _buffer;
    private IDeviceBufferSource? _bufferSource;
    private int _cdbLength;
    private int _senseLength;
    private int _responseLength;
    private DecodedCdb _decoded;
    private int _aborted;
    private int _executionLength = int.MaxValue;

    internal ScsiCommand(ScsiSession session, bool pooled)
    {
        Session = session;
        IsPooled = pooled;
        _onExecuted = OnExecuted;
    }

    /// <summary>The session (I_T nexus) the command arrived on.</summary>
    public ScsiSession Session { get; }

    /// <summary>The 8-byte LUN field as the initiator sent it (SAM-5 format).</summary>
    public ulong Lun { get; private set; }

    /// <summary>The task tag (iSCSI Initiator Task Tag, FCP OX_ID, SRP tag).</summary>
    public ulong Tag { get; private set; }

    /// <summary>The task attribute.</summary>
    public TaskAttribute Attribute { get; private set; }

    /// <summary>The direction the initiator expects.</summary>
    public DataDirection ExpectedDirection { get; private set; }

    /// <summary>The number of bytes the initiator expects to transfer (iSCSI EDTL, FCP_DL).</summary>
    public int ExpectedTransferLength { get; private set; }

    /// <summary>The CDB.</summary>
    public ReadOnlySpan<byte> Cdb => _cdb.AsSpan(0, _cdbLength);

    /// <summary>Driver-private state for the command (for example its iSCSI task). Cleared on release.</summary>
    public object? TransportState { get; set; }

    /// <summary>The device the LUN maps to, or null when the LUN does not exist for this session.</summary>
    public ScsiDevice? Device { get; private set; }

    /// <summary>The table entry of the command, once decoded.</summary>
    public CdbDescriptor? Descriptor => _decoded.Descriptor;

    /// <summary>
    /// Whether the device decoded the command (<see cref="ScsiDevice.ParseType"/>): its device executes it from the
    /// CDB. <see cref="Descriptor"/> is then the core's table entry when it has one, or a placeholder named
    /// "device-defined" that carries only the CDB length of the operation code's group.
    /// </summary>
    public bool IsDeviceParsed { get; private set; }

    /// <summary>The logical block address of the CDB.</summary>
    public ulong Lba => _decoded.Lba;

    /// <summary>The transfer length field of the CDB, in its own unit.</summary>
    public uint TransferLength => _decoded.TransferLength;

    /// <summary>The FUA bit of the CDB.</summary>
    public bool ForceUnitAccess => _decoded.ForceUnitAccess;

    /// <summary>The direction of the data transfer according to the CDB.</summary>
    public DataDirection Direction => _decoded.Direction;

    /// <summary>The number of bytes the CDB asks to transfer.</summary>
    public int DataLength => _decoded.DataLength;

    /// <summary>
    /// The command's data buffer: <see cref="DataLength"/> bytes, or fewer for a write the initiator cut short (only the
    /// whole blocks it sent are written). Handlers read write data from it and put read data in it.
    /// </summary>
    public Memory<byte> Data => _buffer is null ? Memory<byte>.Empty : _buffer.Memory[..Math.Min(DataLength, _executionLength)];

    /// <summary>For a write, the bytes the driver must fill from the initiator: the smaller of the CDB length and the expected length.</summary>
    public Memory<byte> WriteBuffer => _buffer is null ? Memory<byte>.Empty : _buffer.Memory[..Math.Min(DataLength, ExpectedTransferLength)];

    /// <summary>For a read, the data to send: the response, cut to the expected transfer length. Empty for a write.</summary>
    public ReadOnlyMemory<byte> ResponseData =>
        _buffer is null || Direction == DataDirection.Write
            ? ReadOnlyMemory<byte>.Empty
            : _buffer.Memory[..Math.Min(_responseLength, ExpectedTransferLength)];

    /// <summary>The status of the finished command.</summary>
    public ScsiStatus Status { get; private set; }

    /// <summary>The outcome of the finished command.</summary>
    public CommandOutcome Outcome { get; private set; }

    /// <summary>Sense data of a CHECK CONDITION; empty otherwise.</summary>
    public ReadOnlySpan<byte> SenseData => _sense.AsSpan(0, _senseLength);

    /// <summary>
    /// The residual count: for an underflow, the expected bytes that were not transferred; for an overflow, the bytes
    /// the command would have moved beyond the expected transfer length.
    /// </summary>
    public int ResidualCount => Math.Abs(ExpectedTransferLength - WantedLength);

    /// <summary>Whether the command would have moved more data than the initiator expected.</summary>
    public bool ResidualOverflow => WantedLength > ExpectedTransferLength;

    /// <summary>Whether the command moved less data than the initiator expected.</summary>
    public bool ResidualUnderflow => WantedLength < ExpectedTransferLength;

    // Writes want what the CDB names; reads want the response they produced (shorter than the allocation length for
    // most SPC commands, zero after a CHECK CONDITION).
    private int WantedLength => Direction == DataDirection.Write ? DataLength : _responseLength;

    /// <summary>Whether a task management function aborted the command.</summary>
    public bool IsAborted => Volatile.Read(ref _aborted) != 0;

    internal bool IsPooled { get; }

    internal CommandState State { get; set; }

    internal LunMapping? Mapping { get; private set; }

    /// <summary>When the command was submitted (Stopwatch ticks), while the core's duration histogram listens; else 0.</summary>
    internal long SubmittedAt { get; set; }

    internal TaskCompletionSource? AbortWaiter { get; set; }

    /// <summary>Whether the function that aborted the command came from another I_T nexus (TAS applies).</summary>
    internal bool AbortedByAnotherNexus { get; set; }

    /// <summary>The task set the command entered, or null (not entered yet, or left).</summary>
    internal TaskSet? TaskSet { get; set; }

    /// <summary>Where the command stands in <see cref="TaskSet"/>; guarded by the task set's lock.</summary>
    internal TaskSetState TaskSetState { get; set; }

    /// <summary>Whether the task set tracks the command's block range (restricted reordering).</summary>
    internal bool TrackedForOverlap { get; set; }

    internal void Initialize(ulong lun, ReadOnlySpan<byte> cdb, ulong tag, TaskAttribute attribute, DataDirection expectedDirection, int expectedTransferLength)
    {
        Debug.Assert(State == CommandState.Free, "a command is initialized once per use");
        Lun = lun;
        cdb = cdb.Length > MaxCdbLength ? cdb[..MaxCdbLength] : cdb;
        cdb.CopyTo(_cdb);
        _cdbLength = cdb.Length;
        Tag = tag;
        Attribute = attribute;
        ExpectedDirection = expectedDirection;
        ExpectedTransferLength = Math.Max(expectedTransferLength, 0);
        State = CommandState.New;
    }

    internal void SetTarget(LunMapping? mapping)
    {
        Mapping = mapping;
        Device = mapping?.Device;
    }

    internal DecodedCdb Decoded => _decoded;

    internal void SetDecoded(in DecodedCdb decoded) => _decoded = decoded;

    /// <summary>Marks the command decoded by its device; <paramref name="waits"/> says how many of the device's parse and the write data it waits for.</summary>
    internal void StartDeviceParse(int waits)
    {
        IsDeviceParsed = true;
        ParseWaits = waits;
    }

    /// <summary>While the device decodes the command: how many of the parse and the write data are still awaited.</summary>
    internal int ParseWaits;

    /// <summary>The device's decoding, once it arrived.</summary>
    internal CdbParseResult ParseResult { get; set; }

    /// <summary>Whether the write data received during the device's parse failed to arrive.</summary>
    internal bool ParseDataFailed { get; set; }

    internal void AttachBuffer(MemoryManager<byte> buffer, IDeviceBufferSource? source)
    {
        Debug.Assert(_buffer is null, "one buffer per command");
        _buffer = buffer;
        _bufferSource = source;
        _responseLength = _decoded.DataLength;
    }

    /// <summary>Limits what the device sees of a write to <paramref name="length"/> bytes (FCP-4 overflow handling).</summary>
    internal void TruncateExecution(int length) => _executionLength = length;

    internal bool MarkAborted() => Interlocked.Exchange(ref _aborted, 1) == 0;

    /// <summary>Sets how many bytes of <see cref="Data"/> hold the response, when it is shorter than the buffer.</summary>
    /// <param name="length">The response length; clamped to <see cref="DataLength"/>.</param>
    public void SetResponseLength(int length) => _responseLength = Math.Clamp(length, 0, DataLength);

    /// <summary>Copies <paramref name="response"/> into <see cref="Data"/>, cut to the allocation length, and sets the response length.</summary>
    /// <param name="response">The full response as the command would return it with an unlimited allocation length.</param>
    public void WriteResponse(ReadOnlySpan<byte> response)
    {
        int n = Math.Min(response.Length, DataLength);
        response[..n].CopyTo(Data.Span);
        _responseLength = n;
    }

    /// <summary>
    /// Called by the driver when the write data requested by <see cref="ISessionTransport.RequestWriteData"/> is in
    /// <see cref="WriteBuffer"/> (<paramref name="success"/> true), or could not be received (false: the command ends
    /// with ABORTED COMMAND, or with no response if it was aborted). Exactly once per request, from any thread.
    /// </summary>
    /// <param name="success">Whether all the data arrived.</param>
    public void OnWriteDataReceived(bool success) => Session.Engine.Processor.OnWriteDataReceived(this, success);

    /// <summary>
    /// Called by the driver, instead of <see cref="OnWriteDataReceived"/>, when the write data requested by
    /// <see cref="ISessionTransport.RequestWriteData"/> could not be received for a reason the initiator must see (an
    /// iSCSI data digest error: <see cref="SenseCode.ProtocolServiceCrcError"/>): the command is not executed and ends
    /// with CHECK CONDITION and <paramref name="sense"/>, or with no response if it was aborted. Exactly once per
    /// request, from any thread.
    /// </summary>
    /// <param name="sense">The sense key and additional sense code of the CHECK CONDITION.</param>
    public void OnWriteDataFailed(SenseCode sense) => Session.Engine.Processor.OnWriteDataFailed(this, sense);

    /// <summary>
    /// Gives the command back to its session's pool, with its data buffer. Called by the driver exactly once, after
    /// <see cref="ISessionTransport.SendResponse"/> when the response has left, or after
    /// <see cref="ISessionTransport.OnCommandAborted"/>. A command that was created and never submitted may be released too.
    /// </summary>
    public void Release() => Session.ReleaseCommand(this);

    internal void Finish(in CommandOutcome outcome, bool descriptorSense)
    {
        Outcome = outcome;
        Status = outcome.Status;
        if (outcome.Status == ScsiStatus.CheckCondition)
        {
            _senseLength = Core.SenseData.Write(_sense, outcome, descriptorSense);
            _responseLength = 0;
            Session.Engine.Metrics.CheckCondition(this, outcome.Sense.Key);
        }
        else
        {
            _senseLength = 0;
            if (outcome.Status is not (ScsiStatus.Good or ScsiStatus.ConditionMet))
            {
                _responseLength = 0; // TASK ABORTED, BUSY, RESERVATION CONFLICT... carry no data
            }
        }

        Session.Statistics.Record(Direction, Direction == DataDirection.Write ? Math.Min(DataLength, ExpectedTransferLength) : Math.Min(_responseLength, ExpectedTransferLength));
        if (SubmittedAt != 0)
        {
            Session.Engine.Metrics.CommandCompleted(this, SubmittedAt);
            SubmittedAt = 0;
        }
    }

    internal void AwaitExecution(ValueTask<CommandOutcome> pending)
    {
        _pending = pending.ConfigureAwait(false).GetAwaiter();
        _pending.UnsafeOnCompleted(_onExecuted);
    }

    private void OnExecuted()
    {
        ConfiguredValueTaskAwaitable<CommandOutcome>.ConfiguredValueTaskAwaiter awaiter = _pending;
        _pending = default;
        Session.Engine.Processor.CompleteExecution(this, awaiter);
    }

    /// <summary>Takes the data buffer away from the command, with the device source it came from (null: the core's pool).</summary>
    internal MemoryManager<byte>? DetachBuffer(out IDeviceBufferSource? source)
    {
        MemoryManager<byte>? b = _buffer;
        source = _bufferSource;
        _buffer = null;
        _bufferSource = null;
        return b;
    }

    internal void Reset()
    {
        SubmittedAt = 0;
        Lun = 0;
        Tag = 0;
        _cdbLength = 0;
        _senseLength = 0;
        _responseLength = 0;
        _decoded = default;
        Status = ScsiStatus.Good;
        Outcome = default;
        TransportState = null;
        Mapping = null;
        Device = null;
        AbortWaiter = null;
        AbortedByAnotherNexus = false;
        TaskSet = null;
        TaskSetState = TaskSetState.None;
        TrackedForOverlap = false;
        IsDeviceParsed = false;
        ParseWaits = 0;
        ParseResult = default;
        ParseDataFailed = false;
        _aborted = 0;
        _executionLength = int.MaxValue;
        State = CommandState.Free;
    }
}

/// <summary>Where a command is in its life.</summary>
internal enum CommandState : byte
{
    Free = 0,
    New,
    WaitingForData,
    Executing,
    Responding,
    Aborting,
}
