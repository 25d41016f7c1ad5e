// Licensed under the Apache License, Version 2.0.

using System.Threading.Tasks.Sources;
using Scst.Core;

namespace Scst.Transport.Local;

/// <summary>
/// An in-process initiator's session: submit a CDB with a data buffer to a LUN and get status, sense, data and
/// residual back. A command that completes synchronously in the core (nullio, a page-cache hit) completes here
/// without allocating and without leaving the calling thread.
/// </summary>
/// <remarks>
/// Buffer ownership: the caller's <c>data</c> buffer must stay valid until the returned task completes. Write data is
/// copied into the command's buffer before execution; read data is copied out of it before completion.
/// </remarks>
public sealed class LocalSession : ISessionTransport, IDisposable
{
    private readonly Lock _lock = new();
    private readonly Stack<Request> _requests = new();
    private long _nextTag;

    internal LocalSession(ScsiTarget target, string initiatorName)
    {
        Session = target.OpenSession(initiatorName, BuildTransportId(initiatorName), this);
    }

    /// <summary>The core's session.</summary>
    public ScsiSession Session { get; }

    /// <summary>
    /// Submits a command and waits for its response.
    /// </summary>
    /// <param name="lun">The LUN number.</param>
    /// <param name="cdb">The CDB.</param>
    /// <param name="direction">The data direction: Read fills <paramref name="data"/>, Write sends it.</param>
    /// <param name="data">The data buffer; its length is the expected transfer length.</param>
    /// <param name="attribute">The task attribute.</param>
    /// <returns>The result.</returns>
    public ValueTask<LocalResult> ExecuteAsync(int lun, ReadOnlySpan<byte> cdb, DataDirection direction, Memory<byte> data, TaskAttribute attribute = TaskAttribute.Simple)
    {
        Request request = RentRequest();
        request.Data = data;
        ulong tag = (ulong)Interlocked.Increment(ref _nextTag);
        ScsiCommand command = Session.CreateCommand(LunAddress.Encode(lun), cdb, tag, attribute, direction, direction == DataDirection.None ? 0 : data.Length);
        command.TransportState = request;
        Session.Submit(command);

        if (request.TryTakeSynchronousResult(out LocalResult result))
        {
            ReturnRequest(request);
            return new(result);
        }

        return new(request, request.Version);
    }

    /// <summary>ABORT TASK for a command submitted with <paramref name="tag"/>.</summary>
    /// <param name="tag">The tag.</param>
    /// <returns>The TMF response.</returns>
    public ValueTask<TaskManagementResponse> AbortTaskAsync(ulong tag) => Session.AbortTaskAsync(tag);

    /// <summary>LOGICAL UNIT RESET.</summary>
    /// <param name="lun">The LUN number.</param>
    /// <returns>The TMF response.</returns>
    public ValueTask<TaskManagementResponse> ResetLogicalUnitAsync(int lun) => Session.AbortLunTasksAsync(LunAddress.Encode(lun));

    /// <summary>Closes the session.</summary>
    public void Dispose() => Session.Close();

    void ISessionTransport.RequestWriteData(ScsiCommand command)
    {
        var request = (Request)command.TransportState!;
        Memory<byte> destination = command.WriteBuffer;
        request.Data.Span[..destination.Length].CopyTo(destination.Span);
        command.OnWriteDataReceived(true);
    }

    void ISessionTransport.SendResponse(ScsiCommand command)
    {
        var request = (Request)command.TransportState!;
        int transferred;
        if (command.Direction == DataDirection.Write || command.ExpectedDirection == DataDirection.Write)
        {
            transferred = command.WriteBuffer.Length;
        }
        else
        {
            ReadOnlySpan<byte> response = command.ResponseData.Span;
            response.CopyTo(request.Data.Span);
            transferred = response.Length;
        }

        var result = new LocalResult(command.Outcome, transferred, command.ResidualCount, command.ResidualOverflow, command.ResidualUnderflow, Aborted: false);
        command.Release();
        request.Complete(result);
    }

    void ISessionTransport.OnCommandAborted(ScsiCommand command)
    {
        var request = (Request)command.TransportState!;
        command.Release();
        request.Complete(new LocalResult(CommandOutcome.FromStatus(ScsiStatus.TaskAborted), 0, 0, false, false, Aborted: true));
    }

    private Request RentRequest()
    {
        lock (_lock)
        {
            if (_requests.TryPop(out Request? r))
            {
                return r;
            }
        }

        return new Request(this);
    }

    private void ReturnRequest(Request request)
    {
        request.Reset();
        lock (_lock)
        {
            _requests.Push(request);
        }
    }

    private static byte[] BuildTransportId(string initiatorName)
    {
        // SPC-4 section 7.6.4.6 style TransportID with format code 00b: protocol identifier, then a NUL-terminated
        // name padded to a multiple of 4 bytes.
        int nameLength = System.Text.Encoding.UTF8.GetByteCount(initiatorName) + 1;
        int padded = (nameLength + 3) & ~3;
        byte[] id = new byte[4 + padded];
        id[0] = 0x0F;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(id.AsSpan(2), (ushort)padded);
        System.Text.Encoding.UTF8.GetBytes(initiatorName, id.AsSpan(4));
        return id;
    }

    /// <summary>One outstanding command: the caller's buffer and the completion it awaits. Pooled per session.</summary>
    private sealed class Request(LocalSession owner) : IValueTaskSource<LocalResult>
    {
        private const int Pending = 0;
        private const int Completed = 1;
        private const int Awaited = 2;

        private ManualResetValueTaskSourceCore<LocalResult> _completion;
        private LocalResult _result;
        private int _state;

        public Memory<byte> Data { get; set; }

        public short Version => _completion.Version;

        /// <summary>
        /// Called by the core's completion, on any thread. Whichever of the completer and the submitter comes second
        /// finishes the request: the submitter takes the result synchronously, or the completer signals the awaiter.
        /// </summary>
        public void Complete(LocalResult result)
        {
            _result = result;
            if (Interlocked.Exchange(ref _state, Completed) == Awaited)
            {
                _completion.SetResult(result);
            }
        }

        /// <summary>Called once by the submitter after Submit returned.</summary>
        public bool TryTakeSynchronousResult(out LocalResult result)
        {
            bool completed = Interlocked.CompareExchange(ref _state, Awaited, Pending) == Completed;
            result = completed ? _result : default;
            return completed;
        }

        public void Reset()
        {
            _state = Pending;
            _result = default;
            Data = default;
            _completion.Reset();
        }

        public LocalResult GetResult(short token)
        {
            LocalResult result = _completion.GetResult(token);
            owner.ReturnRequest(this);
            return result;
        }

        public ValueTaskSourceStatus GetStatus(short token) => _completion.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _completion.OnCompleted(continuation, state, token, flags);
    }
}
