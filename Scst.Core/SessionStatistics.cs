// Licensed under the Apache License, Version 2.0.

namespace Scst.Core;

/// <summary>
/// What one session's commands did, as SCST's session attributes count it: commands by data direction and the data
/// they moved. Counted when a command completes; read at any time (each counter on its own).
/// </summary>
public sealed class SessionStatistics
{
    private long _readCommands;
    private long _writeCommands;
    private long _otherCommands;
    private long _readBytes;
    private long _writeBytes;

    /// <summary>Commands completed (SCST's <c>commands</c>).</summary>
    public long Commands => ReadCommands + WriteCommands + OtherCommands;

    /// <summary>Commands that moved data to the initiator (SCST's <c>read_cmd_count</c>).</summary>
    public long ReadCommands => Volatile.Read(ref _readCommands);

    /// <summary>Commands that moved data from the initiator (SCST's <c>write_cmd_count</c>).</summary>
    public long WriteCommands => Volatile.Read(ref _writeCommands);

    /// <summary>Commands without data (SCST's <c>none_cmd_count</c>).</summary>
    public long OtherCommands => Volatile.Read(ref _otherCommands);

    /// <summary>Bytes sent to the initiator (SCST's <c>read_io_count_kb</c>, in bytes).</summary>
    public long ReadBytes => Volatile.Read(ref _readBytes);

    /// <summary>Bytes received from the initiator (SCST's <c>write_io_count_kb</c>, in bytes).</summary>
    public long WriteBytes => Volatile.Read(ref _writeBytes);

    internal void Record(DataDirection direction, int bytes)
    {
        switch (direction)
        {
            case DataDirection.Read:
                Interlocked.Increment(ref _readCommands);
                Interlocked.Add(ref _readBytes, bytes);
                break;
            case DataDirection.Write:
                Interlocked.Increment(ref _writeCommands);
                Interlocked.Add(ref _writeBytes, bytes);
                break;
            default:
                Interlocked.Increment(ref _otherCommands);
                break;
        }
    }
}
