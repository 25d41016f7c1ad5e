// Licensed under the Apache License, Version 2.0.

using System.Runtime.InteropServices;

namespace Scst.Handlers.Io;

/// <summary>
/// The io_uring a handler's devices share: made when the first device asks for it, disposed when the last one lets it
/// go (and made again for a later device). One ring and one completion thread serve every device of the handler.
/// </summary>
internal sealed class SharedUring(uint entries = UringIoEngine.DefaultEntries)
{
    private readonly Lock _lock = new();
    private UringIoEngine? _engine;
    private int _users;

    /// <summary>Takes a reference on the ring, setting it up if needed.</summary>
    /// <returns>The engine, or null with a message that says why io_uring cannot be used here.</returns>
    public UringIoEngine? TryAcquire(out string? failure)
    {
        lock (_lock)
        {
            if (_engine is null)
            {
                _engine = UringIoEngine.TryCreate(entries, out int error);
                if (_engine is null)
                {
                    failure = $"io_uring_setup failed: {Marshal.GetPInvokeErrorMessage(error)} (errno {error}; ENOSYS: the kernel has no io_uring, " +
                        "EPERM: disabled by the sysctl kernel.io_uring_disabled or a seccomp filter, ENOMEM: RLIMIT_MEMLOCK too low)";
                    return null;
                }
            }

            _users++;
            failure = null;
            return _engine;
        }
    }

    /// <summary>Drops a reference; the last one disposes the ring (after the operations in flight complete).</summary>
    public void Release(UringIoEngine engine)
    {
        UringIoEngine? dispose = null;
        lock (_lock)
        {
            if (!ReferenceEquals(engine, _engine) || _users == 0)
            {
                return;
            }

            if (--_users == 0)
            {
                dispose = _engine;
                _engine = null;
            }
        }

        dispose?.Dispose();
    }
}
