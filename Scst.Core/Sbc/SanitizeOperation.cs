// Licensed under the Apache License, Version 2.0.

using Scst.Core.Cdb;

namespace Scst.Core.Sbc;

/// <summary>
/// One sanitize operation of a block device (SBC-4 section 4.11): its progress while it runs in the background, and
/// the sanitize failure mode it leaves behind when it fails.
/// </summary>
/// <remarks>
/// <para>
/// The device holds the operation in one field, null when no sanitize runs and none failed. The core reads that field
/// once per command (a volatile read) and asks <see cref="Refuses"/> only when it is set, so a device that is not being
/// sanitized pays nothing more.
/// </para>
/// <para>
/// While the operation runs, every command but INQUIRY, REPORT LUNS, REQUEST SENSE and the two REPORT SUPPORTED
/// commands (which describe the unit without touching it) ends with NOT READY, LOGICAL UNIT NOT READY, SANITIZE IN
/// PROGRESS, with the progress in the sense-key-specific bytes. The operation belongs to the logical unit, not to the
/// command that started it: aborting that command, a task set abort, a logical unit or target reset and the loss of
/// the I_T nexus leave it running.
/// </para>
/// <para>
/// When it fails, the unit stays in the sanitize failure mode: TEST UNIT READY and the block commands other than
/// SANITIZE end with MEDIUM ERROR, SANITIZE COMMAND FAILED until a later sanitize completes without error, or until
/// SANITIZE EXIT FAILURE MODE when the failed operation was started with AUSE=1 (the unrestricted completion mode).
/// </para>
/// </remarks>
internal sealed class SanitizeOperation
{
    private const int Running = 0;
    private const int Succeeded = 1;
    private const int Failed = 2;

    private readonly TaskCompletionSource<CommandOutcome> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly long _totalBytes;
    private long _doneBytes;
    private int _state;

    /// <param name="totalBytes">The bytes the operation covers (the whole medium).</param>
    /// <param name="unrestrictedExit">AUSE: whether EXIT FAILURE MODE may end the failure mode after a failure.</param>
    public SanitizeOperation(long totalBytes, bool unrestrictedExit)
    {
        _totalBytes = Math.Max(1, totalBytes);
        UnrestrictedExit = unrestrictedExit;
    }

    /// <summary>AUSE of the SANITIZE command that started the operation.</summary>
    public bool UnrestrictedExit { get; }

    /// <summary>Whether the operation still runs.</summary>
    public bool IsRunning => Volatile.Read(ref _state) == Running;

    /// <summary>Whether the operation failed: the unit is in the sanitize failure mode.</summary>
    public bool HasFailed => Volatile.Read(ref _state) == Failed;

    /// <summary>Completes with GOOD, or with CHECK CONDITION, MEDIUM ERROR, SANITIZE COMMAND FAILED.</summary>
    public Task<CommandOutcome> Completion => _completion.Task;

    /// <summary>
    /// The PROGRESS INDICATION (SPC-4 section 4.5.2.4.4): the fraction done, in units of 1/65536.
    /// </summary>
    public ushort Progress
    {
        get
        {
            long done = Math.Min(Interlocked.Read(ref _doneBytes), _totalBytes);
            return (ushort)Math.Min(ushort.MaxValue, (long)(done * 65536.0 / _totalBytes));
        }
    }

    /// <summary>Records that <paramref name="bytes"/> more bytes of the medium were sanitized.</summary>
    public void Advance(long bytes) => Interlocked.Add(ref _doneBytes, bytes);

    /// <summary>Ends the operation. A failure leaves the unit in the sanitize failure mode.</summary>
    public void Complete(bool success)
    {
        Volatile.Write(ref _state, success ? Succeeded : Failed);
        _completion.TrySetResult(success ? CommandOutcome.Good : CommandOutcome.CheckCondition(SenseCode.SanitizeCommandFailed));
    }

    /// <summary>
    /// Whether <paramref name="descriptor"/>'s command must be refused in the state the operation leaves the unit in,
    /// and with what.
    /// </summary>
    public bool Refuses(CdbDescriptor descriptor, out CommandOutcome refusal)
    {
        if (IsDescribingCommand(descriptor))
        {
            refusal = default;
            return false;
        }

        if (IsRunning)
        {
            refusal = InProgress(Progress);
            return true;
        }

        if (HasFailed && IsRefusedInFailureMode(descriptor))
        {
            refusal = CommandOutcome.CheckCondition(SenseCode.SanitizeCommandFailed);
            return true;
        }

        refusal = default;
        return false;
    }

    /// <summary>What REQUEST SENSE reports when no unit attention is pending: the progress, or the failure mode.</summary>
    public CommandOutcome CurrentSense() => IsRunning
        ? InProgress(Progress)
        : HasFailed ? CommandOutcome.CheckCondition(SenseCode.SanitizeCommandFailed) : CommandOutcome.CheckCondition(SenseCode.NoAdditionalInformation);

    /// <summary>
    /// NOT READY, SANITIZE IN PROGRESS with the progress indication. The sense-key-specific bytes of a NOT READY sense
    /// are SKSV and a 16-bit PROGRESS INDICATION; written as a field pointer with C/D and BPV clear, they are the same
    /// three bytes, in fixed and in descriptor format.
    /// </summary>
    public static CommandOutcome InProgress(ushort progress) =>
        CommandOutcome.WithFieldPointer(SenseCode.SanitizeInProgress, inCdb: false, progress);

    // INQUIRY, REPORT LUNS, REQUEST SENSE, REPORT SUPPORTED OPERATION CODES and REPORT SUPPORTED TASK MANAGEMENT
    // FUNCTIONS run whatever the sanitize state.
    private static bool IsDescribingCommand(CdbDescriptor d) =>
        d.Opcode is 0x12 or 0xA0 or 0x03 || (d.Opcode == 0xA3 && d.ServiceAction is 0x0C or 0x0D);

    // In the failure mode the medium is not usable: TEST UNIT READY says so, and block commands (reads, writes, READ
    // CAPACITY...) are refused; SANITIZE stays allowed, since a sanitize that completes is one way out. Commands that do
    // not touch the medium (MODE SENSE, persistent reservations...) run.
    private static bool IsRefusedInFailureMode(CdbDescriptor d) =>
        d.Opcode == 0x00 || ((d.Flags & CdbFlags.BlockCommand) != 0 && d.Opcode != 0x48);
}
