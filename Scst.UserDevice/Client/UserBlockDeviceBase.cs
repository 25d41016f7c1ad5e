// Licensed under the Apache License, Version 2.0.

using Scst.Core;

namespace Scst.UserDevice.Client;

/// <summary>
/// A disk served by this process: derive from it, override the primitives, and run it with
/// <see cref="UserDeviceConnection.RunAsync"/>. The target emulates SCSI (INQUIRY, MODE SENSE, READ CAPACITY, VERIFY,
/// WRITE SAME, COMPARE AND WRITE...) and calls only these primitives.
/// </summary>
/// <remarks>
/// Buffers are views of the memory shared with the target; they are valid until the returned task completes. A
/// primitive that completes synchronously is answered without a thread hop; one that returns an incomplete task frees
/// the receive loop for other requests (up to <see cref="UserDeviceConnection.MaxConcurrency"/> at a time). Results
/// are values: return a CHECK CONDITION status rather than throw (an exception becomes HARDWARE ERROR).
/// </remarks>
public abstract class UserBlockDeviceBase : UserDeviceBase
{
    /// <summary>Required. Reads <c>buffer.Length</c> bytes at byte offset <paramref name="offset"/>.</summary>
    /// <param name="offset">Byte offset, block aligned and in range.</param>
    /// <param name="buffer">Where to put the data.</param>
    /// <returns>GOOD or an error status (e.g. <see cref="UserDeviceStatus.ReadError"/>).</returns>
    public abstract ValueTask<UserDeviceStatus> ReadAsync(long offset, Memory<byte> buffer);

    /// <summary>Required. Writes <paramref name="data"/> at byte offset <paramref name="offset"/>.</summary>
    /// <param name="offset">Byte offset, block aligned and in range.</param>
    /// <param name="data">The data.</param>
    /// <param name="forceUnitAccess">The data must be stable before the status is returned (FUA, or no write cache).</param>
    /// <returns>GOOD or an error status (e.g. <see cref="UserDeviceStatus.WriteError"/>).</returns>
    public abstract ValueTask<UserDeviceStatus> WriteAsync(long offset, ReadOnlyMemory<byte> data, bool forceUnitAccess);

    /// <summary>Optional. Makes every acknowledged write stable (SYNCHRONIZE CACHE). Defaults to GOOD.</summary>
    /// <returns>GOOD or an error status.</returns>
    public virtual ValueTask<UserDeviceStatus> FlushAsync() => new(UserDeviceStatus.Good);

    /// <summary>
    /// Optional, required when the descriptor says <see cref="UserDeviceDescriptor.ThinProvisioned"/>. Deallocates a
    /// range, which then reads as zeros. Defaults to INVALID COMMAND OPERATION CODE.
    /// </summary>
    /// <param name="offset">Byte offset, block aligned.</param>
    /// <param name="length">Byte count, block aligned.</param>
    /// <returns>GOOD or an error status.</returns>
    public virtual ValueTask<UserDeviceStatus> UnmapAsync(long offset, long length) =>
        new(UserDeviceStatus.CheckCondition(SenseKey.IllegalRequest, 0x20, 0x00));

    /// <summary>
    /// Optional, for a device that says <see cref="UserDeviceDescriptor.ThinProvisioned"/>. Reports the provisioning
    /// state of the bytes from <paramref name="offset"/> for GET LBA STATUS: how many (a multiple of the block size, at
    /// least one block, at most <paramref name="maxLength"/>) share the state of the first, and whether they are
    /// mapped. Called once per reported extent. Defaults to "mapped, the whole range".
    /// </summary>
    /// <param name="offset">Byte offset, block aligned and in range.</param>
    /// <param name="maxLength">The most bytes the answer may cover (to the end of the device, or less).</param>
    /// <returns>The extent, or <see cref="UserProvisioningExtent.Failed"/> with an error status.</returns>
    public virtual ValueTask<UserProvisioningExtent> GetProvisioningAsync(long offset, long maxLength) =>
        new(new UserProvisioningExtent(maxLength, Mapped: true));

    /// <summary>
    /// Optional, called when the descriptor says <see cref="UserDeviceDescriptor.ExtCopyRemap"/>. Copies a range within
    /// the device by its own means (a reflink, copy_file_range, a remap of its metadata) for a segment of EXTENDED COPY
    /// whose source and destination are both this device. The ranges may overlap: the result must be that of reading
    /// all of the source first. Defaults to null: declined, the target copies through <see cref="ReadAsync"/> and
    /// <see cref="WriteAsync"/>.
    /// </summary>
    /// <param name="sourceOffset">Byte offset of the source, block aligned and in range.</param>
    /// <param name="destinationOffset">Byte offset of the destination, block aligned and in range.</param>
    /// <param name="length">Byte count, block aligned.</param>
    /// <returns>GOOD or an error status when the device made (or failed) the copy; null to decline.</returns>
    public virtual ValueTask<UserDeviceStatus?> CopyWithinAsync(long sourceOffset, long destinationOffset, long length) => new((UserDeviceStatus?)null);
}
