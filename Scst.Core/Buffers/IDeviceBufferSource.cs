// Licensed under the Apache License, Version 2.0.

using System.Buffers;

namespace Scst.Core;

/// <summary>
/// Data buffers that a device supplies for its own commands (a device served by another process hands out slots of
/// memory shared with that process, so that data is never copied between the command's buffer and the device). The core
/// rents a command's buffer here instead of from its own pool when <see cref="ScsiDevice.BufferSource"/> is not null.
/// </summary>
/// <remarks>
/// Ownership: the core rents one buffer per command that moves data, when the command is prepared, and gives it back
/// with <see cref="Return"/> exactly once, when the driver releases the command. Both may be called from any thread and
/// must not allocate in steady state.
/// </remarks>
public interface IDeviceBufferSource
{
    /// <summary>Rents a buffer of at least <paramref name="size"/> bytes.</summary>
    /// <param name="size">The number of bytes the command moves, at most the core's maximum transfer length.</param>
    /// <returns>The buffer, or null when none is free (the command then ends with BUSY and the initiator retries).</returns>
    MemoryManager<byte>? Rent(int size);

    /// <summary>Takes back a buffer that <see cref="Rent"/> returned. The core does not touch it afterwards.</summary>
    /// <param name="buffer">The buffer.</param>
    void Return(MemoryManager<byte> buffer);
}
