// Licensed under the Apache License, Version 2.0.

using System.Buffers;
using Scst.Core;

namespace Scst.Transport.Iscsi;

/// <summary>
/// The response of a command as it went on the wire, kept at ErrorRecoveryLevel 1 and up until the initiator
/// acknowledges it: status, residual, sense, the Data-In bytes (in a pooled buffer) and how they were cut into PDUs.
/// The command itself is released when the response is first sent, so that the core (task management waiting for
/// commands to finish, say) never waits for an initiator's acknowledgement.
/// </summary>
internal sealed class KeptResponse
{
    private byte[]? _data;
    private int _dataLength;
    private byte[]? _sense;
    private int _senseLength;

    public byte Status { get; private set; }

    public bool Overflow { get; private set; }

    public bool Underflow { get; private set; }

    public int ResidualCount { get; private set; }

    /// <summary>The Data-In segment and burst sizes of the connection that first sent it (a resend cuts the same PDUs).</summary>
    public int DataInLimit { get; set; }

    public int BurstLength { get; set; }

    public ReadOnlySpan<byte> Data => _data.AsSpan(0, _dataLength);

    public ReadOnlySpan<byte> Sense => _sense.AsSpan(0, _senseLength);

    /// <summary>Copies what the command answered.</summary>
    public static KeptResponse Of(ScsiCommand command)
    {
        var kept = new KeptResponse
        {
            Status = (byte)command.Status,
            Overflow = command.ResidualOverflow,
            Underflow = command.ResidualUnderflow,
            ResidualCount = command.ResidualCount,
        };
        ReadOnlySpan<byte> data = command.Status == ScsiStatus.Good ? command.ResponseData.Span : default;
        if (!data.IsEmpty)
        {
            kept._data = ArrayPool<byte>.Shared.Rent(data.Length);
            kept._dataLength = data.Length;
            data.CopyTo(kept._data);
        }

        ReadOnlySpan<byte> sense = command.SenseData;
        if (!sense.IsEmpty)
        {
            kept._sense = sense.ToArray();
            kept._senseLength = sense.Length;
        }

        return kept;
    }

    /// <summary>Returns the pooled buffer; the response is not read after this.</summary>
    public void Free()
    {
        if (Interlocked.Exchange(ref _data, null) is { } data)
        {
            ArrayPool<byte>.Shared.Return(data);
        }

        _dataLength = 0;
    }
}
