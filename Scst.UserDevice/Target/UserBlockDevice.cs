// Licensed under the Apache License, Version 2.0.

using Scst.Core;
using Scst.UserDevice.Protocol;

namespace Scst.UserDevice.Target;

/// <summary>
/// The target-side face of a disk served by a device process (SCST's <c>dev_user</c> handler). The core emulates SCSI as
/// for any <see cref="BlockDevice"/>; the data primitives (read, write, flush, unmap) travel to the device process as
/// EXEC messages that name buffers in the shared region. A READ or WRITE command's own buffer is a region slot, so its
/// data is never copied; data the core produces itself (WRITE SAME's pattern, VERIFY's compare buffer, COMPARE AND
/// WRITE, the copy manager) goes through a slot rented for the primitive, one copy.
/// </summary>
internal sealed class UserBlockDevice : BlockDevice
{
    /// <summary>The handler name devices of this kind report.</summary>
    public const string Handler = "dev_user";

    // The command whose ExecuteAsync is on this thread's stack: the primitive it calls synchronously carries its CDB,
    // session and task attribute in the EXEC. Null elsewhere (a primitive that runs after an await).
    [ThreadStatic]
    private static ScsiCommand? t_current;

    private readonly RegisterRequest _description;
    private readonly DeviceChannel _channel;
    private long _blockCount;

    public UserBlockDevice(RegisterRequest description, DeviceIdentity identity, SharedRegion region, DeviceChannel channel)
        : base(description.Name, Handler, identity)
    {
        _description = description;
        _blockCount = (long)description.BlockCount;
        Region = region;
        _channel = channel;
        DescriptorSense = description.DSense != 0;
        ParseType = (DeviceParseType)description.ParseType;
    }

    /// <summary>The shared memory with the device process.</summary>
    public SharedRegion Region { get; }

    /// <summary>The connection to the device process.</summary>
    public DeviceChannel Channel => _channel;

    /// <inheritdoc />
    public override int BlockSize => (int)_description.BlockSize;

    /// <inheritdoc />
    public override long BlockCount => Volatile.Read(ref _blockCount);

    /// <inheritdoc />
    public override bool ReadOnly => Has(RegisterFlags.ReadOnly);

    /// <inheritdoc />
    public override bool Removable => Has(RegisterFlags.Removable);

    /// <inheritdoc />
    public override bool Rotational => Has(RegisterFlags.Rotational);

    /// <inheritdoc />
    public override bool ThinProvisioned => Has(RegisterFlags.ThinProvisioned);

    /// <inheritdoc />
    public override bool SingleTaskSet => _description.Tst == 0;

    /// <inheritdoc />
    public override bool WriteCacheChangeable => !Has(RegisterFlags.NvCache);

    /// <inheritdoc />
    public override IDeviceBufferSource? BufferSource => Region;

    /// <inheritdoc />
    protected override bool WriteCacheEnabledByDefault => !Has(RegisterFlags.WriteThrough) && !Has(RegisterFlags.NvCache);

    /// <inheritdoc />
    protected override int DefaultQueueErrorManagement => _description.Qerr;

    /// <inheritdoc />
    protected override bool DefaultTaskAbortedStatus => _description.Tas != 0;

    /// <inheritdoc />
    protected override int DefaultQueueAlgorithmModifier => _description.QueueAlgorithm;

    /// <inheritdoc />
    protected override bool DefaultSoftwareWriteProtect => _description.Swp != 0;

    /// <summary>Whether ON_FREE_CMD is sent.</summary>
    public bool OnFreeCall => Has(RegisterFlags.OnFreeCommandCall);

    /// <summary>Sets a new capacity (CAPACITY_CHANGED).</summary>
    public void SetBlockCount(long blocks) => Volatile.Write(ref _blockCount, blocks);

    /// <summary>The command whose ExecuteAsync runs on this thread, if any.</summary>
    internal static ScsiCommand? CurrentCommand => t_current;

    /// <inheritdoc />
    public override ValueTask<CommandOutcome> ExecuteAsync(ScsiCommand command)
    {
        if (command.IsDeviceParsed)
        {
            return _channel.ExecuteCdbAsync(command);
        }

        ScsiCommand? previous = t_current;
        t_current = command;
        try
        {
            return base.ExecuteAsync(command);
        }
        finally
        {
            t_current = previous;
        }
    }

    /// <inheritdoc />
    protected override ValueTask<CommandOutcome> ReadAsync(long offset, Memory<byte> destination) =>
        Region.TryLocate(destination, out long bufferOffset, out RegionSlot? slot)
            ? _channel.ExecAsync(ExecOperation.Read, offset, destination.Length, bufferOffset, fua: false, slot)
            : StagedReadAsync(offset, destination);

    /// <inheritdoc />
    protected override ValueTask<CommandOutcome> WriteAsync(long offset, ReadOnlyMemory<byte> source, bool forceUnitAccess)
    {
        // Without a write cache (write_through, or WCE cleared by MODE SELECT) every write must be stable: FUA.
        bool fua = forceUnitAccess || (!WriteCacheEnabled && !Has(RegisterFlags.NvCache));
        return Region.TryLocate(source, out long bufferOffset, out RegionSlot? slot)
            ? _channel.ExecAsync(ExecOperation.Write, offset, source.Length, bufferOffset, fua, slot)
            : StagedWriteAsync(offset, source, fua);
    }

    /// <inheritdoc />
    protected override ValueTask<CommandOutcome> FlushAsync() =>
        Has(RegisterFlags.NvCache) ? new(CommandOutcome.Good) : _channel.ExecAsync(ExecOperation.Flush, 0, 0, 0, fua: false, null);

    /// <inheritdoc />
    protected override ValueTask<CommandOutcome> UnmapAsync(long offset, long length) =>
        _channel.ExecAsync(ExecOperation.Unmap, offset, length, 0, fua: false, null);

    /// <inheritdoc />
    /// <remarks>
    /// A thin device answers with GET_PROVISIONING, one EXEC per extent; a fully provisioned one is mapped everywhere
    /// without asking. The range asked is cut to what one reply can report (2^32 - 1 blocks).
    /// </remarks>
    protected override ValueTask<(CommandOutcome Outcome, long Length, bool Mapped)> GetProvisioningExtentAsync(long offset, long maxLength) =>
        ThinProvisioned
            ? QueryProvisioningAsync(offset, Math.Min(maxLength / BlockSize, uint.MaxValue))
            : new((CommandOutcome.Good, maxLength, true));

    /// <inheritdoc />
    protected override ValueTask<CdbParseResult> ParseAsync(ScsiCommand command, CdbParseResult proposal) => _channel.ParseAsync(command, proposal);

    /// <inheritdoc />
    /// <remarks>Offered to a device registered with ext_copy_remap as one COPY_WITHIN EXEC per segment.</remarks>
    protected override async ValueTask<CommandOutcome?> CopyWithinAsync(long sourceOffset, long destinationOffset, long length)
    {
        if (!Has(RegisterFlags.ExtCopyRemap))
        {
            return null;
        }

        var answer = new CopyWithinAnswer();
        CommandOutcome outcome = await _channel.ExecAsync(ExecOperation.CopyWithin, destinationOffset, length, sourceOffset, fua: false, null, answer)
            .ConfigureAwait(false);
        return outcome.IsGood && answer.Declined ? null : outcome;
    }

    /// <inheritdoc />
    protected override void OnNexusAttached(ScsiSession session, LunMapping mapping) => _channel.AttachSession(session, mapping);

    /// <inheritdoc />
    protected override void OnNexusDetached(ScsiSession session, LunMapping mapping) => _channel.DetachSession(session, mapping);

    /// <inheritdoc />
    protected override void OnTaskManagementReceived(TaskManagementFunction function, ScsiSession session, ScsiCommand? command) =>
        _channel.TaskManagementReceived(function, session, command);

    /// <inheritdoc />
    protected override ValueTask OnTaskManagementDoneAsync(TaskManagementFunction function, ScsiSession session) =>
        _channel.TaskManagementDoneAsync(function, session);

    /// <inheritdoc />
    public override ValueTask DisposeAsync()
    {
        Region.Close();
        return base.DisposeAsync();
    }

    private bool Has(RegisterFlags flag) => (_description.Flags & flag) != 0;

    private async ValueTask<(CommandOutcome Outcome, long Length, bool Mapped)> QueryProvisioningAsync(long offset, long maxBlocks)
    {
        var answer = new ProvisioningAnswer(maxBlocks);
        CommandOutcome outcome = await _channel.ExecAsync(ExecOperation.GetProvisioning, offset, maxBlocks * BlockSize, 0, fua: false, null, answer)
            .ConfigureAwait(false);
        return outcome.IsGood ? (outcome, answer.Blocks * BlockSize, !answer.Deallocated) : (outcome, 0, true);
    }

    // Data the core made itself: copied into a slot rented for the primitive, in pieces of at most the largest slot.
    private async ValueTask<CommandOutcome> StagedWriteAsync(long offset, ReadOnlyMemory<byte> source, bool fua)
    {
        for (int done = 0; done < source.Length;)
        {
            int n = Math.Min(source.Length - done, Region.MaxSlotSize);
            RegionSlot? slot = Region.RentSlot(n);
            if (slot is null)
            {
                return CommandOutcome.FromStatus(ScsiStatus.Busy);
            }

            try
            {
                source.Slice(done, n).CopyTo(slot.Memory);
                CommandOutcome outcome = await _channel.ExecAsync(ExecOperation.Write, offset + done, n, slot.Offset, fua, null).ConfigureAwait(false);
                if (!outcome.IsGood)
                {
                    return outcome;
                }
            }
            finally
            {
                Region.Return(slot);
            }

            done += n;
        }

        return CommandOutcome.Good;
    }

    private async ValueTask<CommandOutcome> StagedReadAsync(long offset, Memory<byte> destination)
    {
        for (int done = 0; done < destination.Length;)
        {
            int n = Math.Min(destination.Length - done, Region.MaxSlotSize);
            RegionSlot? slot = Region.RentSlot(n);
            if (slot is null)
            {
                return CommandOutcome.FromStatus(ScsiStatus.Busy);
            }

            try
            {
                CommandOutcome outcome = await _channel.ExecAsync(ExecOperation.Read, offset + done, n, slot.Offset, fua: false, null).ConfigureAwait(false);
                if (!outcome.IsGood)
                {
                    return outcome;
                }

                slot.Memory[..n].CopyTo(destination[done..]);
            }
            finally
            {
                Region.Return(slot);
            }

            done += n;
        }

        return CommandOutcome.Good;
    }
}
