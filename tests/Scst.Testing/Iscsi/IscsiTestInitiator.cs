// Licensed under the Apache License, Version 2.0.

using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Scst.Transport.Iscsi.Protocol;

namespace Scst.Testing.Iscsi;

/// <summary>One PDU received from the target: its header and its data segment (padding and AHS removed).</summary>
internal sealed record ReceivedPdu(IscsiPduHeader Header, byte[] Data)
{
    public IscsiOpcode Opcode => Header.Opcode;
}

/// <summary>The outcome of a login exchange.</summary>
internal sealed record LoginResult(LoginStatus Status, ushort Tsih, IReadOnlyList<KeyValuePair<string, string>> Keys)
{
    public string? Key(string name) => Keys.LastOrDefault(k => k.Key == name).Value;
}

/// <summary>A SCSI command's result as the initiator saw it.</summary>
internal sealed record ScsiResult(
    byte Status,
    byte Response,
    byte[] Sense,
    byte[] Data,
    IReadOnlyList<DataInHeader> DataIn,
    IReadOnlyList<ReadyToTransferHeader> R2Ts,
    ScsiResponseHeader? ResponseHeader)
{
    /// <summary>Protocol violations seen while running the command (e.g. Data-In for a write); empty when none.</summary>
    public IReadOnlyList<string> Violations { get; init; } = [];

    public const byte Good = 0x00;
    public const byte CheckCondition = 0x02;

    /// <summary>Sense key, ASC and ASCQ, from fixed (0x70/0x71) or descriptor (0x72/0x73) sense data.</summary>
    public (byte Key, byte Asc, byte Ascq) SenseCodes =>
        Sense.Length < 4 ? default
        : (Sense[0] & 0x7f) is 0x72 or 0x73 ? ((byte)(Sense[1] & 0x0f), Sense[2], Sense[3])
        : Sense.Length >= 14 ? ((byte)(Sense[2] & 0x0f), Sense[12], Sense[13]) : default;
}

/// <summary>
/// A deliberately small iSCSI initiator for integration tests: one connection, no error recovery, every step visible.
/// It builds PDUs with the driver's own header structs (Scst.Transport.Iscsi.Protocol) and reads replies with a plain
/// "48 bytes, AHS, header digest, padded data segment, data digest" loop so that malformed target output is seen, not
/// hidden. Digests are off until a login that negotiated them completes; from then on every PDU it sends carries them
/// and every PDU it receives must carry correct ones (a wrong one throws <see cref="IOException"/>).
/// </summary>
internal sealed class IscsiTestInitiator : IAsyncDisposable
{
    public const string DefaultInitiatorName = "iqn.2026-11.org.scst-dotnet:test-initiator";

    private static long s_nextIsid = 0x80_0000_0000 + Environment.ProcessId * 0x1000L;
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private uint _nextItt = 0x1000;

    private IscsiTestInitiator(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
    }

    /// <summary>Per-receive timeout: a test that waits longer has found a hang.</summary>
    public TimeSpan ReceiveTimeout { get; set; } = TimeSpan.FromSeconds(10);

    public ulong Isid { get; set; } = (ulong)Interlocked.Increment(ref s_nextIsid);

    public uint CmdSn { get; set; } = 1;

    /// <summary>TSIH sent in the login: 0 for a new session, the session's to add or reinstate a connection. Set by a successful login.</summary>
    public ushort Tsih { get; set; }

    /// <summary>CID sent in the login (and named by a logout of this connection).</summary>
    public ushort Cid { get; set; }

    public uint ExpStatSn { get; set; }

    /// <summary>The MaxCmdSN of the last PDU that carried one.</summary>
    public uint MaxCmdSn { get; private set; }

    /// <summary>MaxRecvDataSegmentLength declared by the target (what we may send in one PDU).</summary>
    public int TargetMaxRecvDataSegmentLength { get; private set; } = 8192;

    /// <summary>Negotiated MaxBurstLength, FirstBurstLength, ImmediateData, InitialR2T (after a Normal login).</summary>
    public int MaxBurstLength { get; private set; } = 262_144;

    public int FirstBurstLength { get; private set; } = 65_536;

    public bool ImmediateData { get; private set; } = true;

    public bool InitialR2T { get; private set; } = true;

    /// <summary>The HeaderDigest in force (None until a login that negotiated CRC32C completed).</summary>
    public DigestKind HeaderDigest { get; private set; }

    /// <summary>The DataDigest in force.</summary>
    public DigestKind DataDigest { get; private set; }

    /// <summary>PDUs received whose header digest was checked and matched.</summary>
    public int HeaderDigestsVerified { get; private set; }

    /// <summary>PDUs received whose data digest was checked and matched.</summary>
    public int DataDigestsVerified { get; private set; }

    /// <summary>When set, the next PDU sent with a data segment carries a wrong data digest (the flag then clears).</summary>
    public bool CorruptNextDataDigest { get; set; }

    /// <summary>When set, the next PDU sent carries a wrong header digest (the flag then clears).</summary>
    public bool CorruptNextHeaderDigest { get; set; }

    public static async Task<IscsiTestInitiator> ConnectAsync(IPEndPoint target, CancellationToken cancellationToken = default)
    {
        var socket = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            await socket.ConnectAsync(target, timeout.Token);
            return new IscsiTestInitiator(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Login keys for a Normal session with the given operational values.</summary>
    public static List<KeyValuePair<string, string>> NormalKeys(
        string targetName,
        string? initiatorName = DefaultInitiatorName,
        int maxRecvDataSegmentLength = 8192,
        bool immediateData = true,
        bool initialR2T = true,
        int maxBurstLength = 262_144,
        int firstBurstLength = 65_536,
        string headerDigest = "None",
        string dataDigest = "None")
    {
        var keys = new List<KeyValuePair<string, string>>();
        if (initiatorName is not null)
        {
            keys.Add(new("InitiatorName", initiatorName));
        }

        keys.Add(new("SessionType", "Normal"));
        keys.Add(new("TargetName", targetName));
        keys.Add(new("HeaderDigest", headerDigest));
        keys.Add(new("DataDigest", dataDigest));
        keys.Add(new("MaxRecvDataSegmentLength", maxRecvDataSegmentLength.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        keys.Add(new("ImmediateData", immediateData ? "Yes" : "No"));
        keys.Add(new("InitialR2T", initialR2T ? "Yes" : "No"));
        keys.Add(new("MaxBurstLength", maxBurstLength.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        keys.Add(new("FirstBurstLength", firstBurstLength.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        keys.Add(new("MaxOutstandingR2T", "1"));
        keys.Add(new("ErrorRecoveryLevel", "0"));
        return keys;
    }

    /// <summary>Login keys for a Discovery session.</summary>
    public static List<KeyValuePair<string, string>> DiscoveryKeys(string initiatorName = DefaultInitiatorName) =>
    [
        new("InitiatorName", initiatorName),
        new("SessionType", "Discovery"),
        new("HeaderDigest", "None"),
        new("DataDigest", "None"),
        new("MaxRecvDataSegmentLength", "8192"),
    ];

    /// <summary>
    /// Sends one Login Request of the security stage with <paramref name="keys"/> (CHAP steps, one at a time) and
    /// returns the target's Login Response and its keys; <paramref name="transit"/> asks to go on to the operational
    /// stage.
    /// </summary>
    public async Task<(LoginResponseHeader Header, Dictionary<string, string> Keys)> SecurityStepAsync(
        List<KeyValuePair<string, string>> keys, bool transit, CancellationToken cancellationToken = default)
    {
        byte[] text = EncodeKeys(keys);
        var header = new LoginRequestHeader
        {
            Transit = transit,
            CurrentStage = LoginStage.SecurityNegotiation,
            NextStage = transit ? LoginStage.OperationalNegotiation : LoginStage.SecurityNegotiation,
            DataSegmentLength = text.Length,
            Isid = Isid,
            InitiatorTaskTag = 0x4000,
            CmdSn = CmdSn,
            ExpStatSn = ExpStatSn,
        };
        byte[] bhs = new byte[Bhs.Length];
        header.WriteTo(bhs);
        await SendAsync(bhs, text, cancellationToken);
        ReceivedPdu pdu = await ReceiveAsync(cancellationToken) ?? throw new IOException("The target closed the connection during the security stage.");
        if (pdu.Opcode != IscsiOpcode.LoginResponse)
        {
            throw new InvalidDataException($"Expected a Login Response, got {pdu.Opcode}.");
        }

        LoginResponseHeader response = pdu.Header.AsLoginResponse();
        ExpStatSn = response.StatSn + 1;
        return (response, DecodeKeys(pdu.Data).ToDictionary(k => k.Key, k => k.Value));
    }

    /// <summary>
    /// Logs in starting in the operational stage (no security stage, allowed by RFC 7143 section 6.3) and asks for the
    /// full feature phase. Returns at the first non-success status.
    /// </summary>
    public async Task<LoginResult> LoginAsync(IReadOnlyList<KeyValuePair<string, string>> keys, CancellationToken cancellationToken = default)
    {
        var text = EncodeKeys(keys);
        var answered = new List<KeyValuePair<string, string>>();
        var itt = _nextItt++;
        for (var round = 0; round < 4; round++)
        {
            var header = new LoginRequestHeader
            {
                Transit = true,
                CurrentStage = LoginStage.OperationalNegotiation,
                NextStage = LoginStage.FullFeaturePhase,
                DataSegmentLength = text.Length,
                Isid = Isid,
                Tsih = Tsih,
                Cid = Cid,
                InitiatorTaskTag = itt,
                CmdSn = CmdSn,
                ExpStatSn = ExpStatSn,
            };
            var bhs = new byte[Bhs.Length];
            header.WriteTo(bhs);
            await SendAsync(bhs, text, cancellationToken);

            var pdu = await ReceiveAsync(cancellationToken)
                ?? throw new IOException("The target closed the connection during login.");
            if (pdu.Opcode != IscsiOpcode.LoginResponse)
            {
                throw new IOException($"Expected a Login Response, got {pdu.Opcode}.");
            }

            var response = pdu.Header.AsLoginResponse();
            answered.AddRange(DecodeKeys(pdu.Data));
            if (response.Status != LoginStatus.Success)
            {
                return new LoginResult(response.Status, response.Tsih, answered);
            }

            ExpStatSn = response.StatSn + 1;
            CmdSn = response.ExpCmdSn;
            MaxCmdSn = response.MaxCmdSn;
            if (response.Transit && response.NextStage == LoginStage.FullFeaturePhase)
            {
                var result = new LoginResult(response.Status, response.Tsih, answered);
                Tsih = response.Tsih;
                ApplyNegotiated(result);
                return result;
            }

            text = []; // the target wants another round: offer nothing new
        }

        throw new IOException("Login did not reach the full feature phase in 4 rounds.");
    }

    /// <summary>Sends a Text Request with SendTargets=<paramref name="value"/> and returns the answered keys.</summary>
    public async Task<IReadOnlyList<KeyValuePair<string, string>>> SendTargetsAsync(string value = "All", CancellationToken cancellationToken = default)
    {
        var data = EncodeKeys([new("SendTargets", value)]);
        var header = new TextRequestHeader
        {
            Immediate = false,
            Final = true,
            DataSegmentLength = data.Length,
            InitiatorTaskTag = _nextItt++,
            TargetTransferTag = Bhs.ReservedTag,
            CmdSn = CmdSn++,
            ExpStatSn = ExpStatSn,
        };
        var bhs = new byte[Bhs.Length];
        header.WriteTo(bhs);
        await SendAsync(bhs, data, cancellationToken);
        var pdu = await ExpectAsync(IscsiOpcode.TextResponse, cancellationToken);
        return DecodeKeys(pdu.Data);
    }

    /// <summary>Sends a NOP-Out ping (ITT set, TTT reserved) with <paramref name="payload"/> and returns the NOP-In.</summary>
    public async Task<ReceivedPdu> PingAsync(byte[] payload, CancellationToken cancellationToken = default)
    {
        var header = new NopOutHeader
        {
            Immediate = true,
            DataSegmentLength = payload.Length,
            InitiatorTaskTag = _nextItt++,
            TargetTransferTag = Bhs.ReservedTag,
            CmdSn = CmdSn,
            ExpStatSn = ExpStatSn,
        };
        var bhs = new byte[Bhs.Length];
        header.WriteTo(bhs);
        await SendAsync(bhs, payload, cancellationToken);
        return await ExpectAsync(IscsiOpcode.NopIn, cancellationToken);
    }

    /// <summary>Sends a Logout Request (close the session) and returns the Logout Response.</summary>
    public Task<LogoutResponseHeader> LogoutAsync(CancellationToken cancellationToken = default) =>
        LogoutAsync(LogoutReason.CloseSession, Cid, cancellationToken);

    /// <summary>Sends a Logout Request (immediate) with a reason and the CID it names, and returns the response.</summary>
    public async Task<LogoutResponseHeader> LogoutAsync(LogoutReason reason, ushort cid, CancellationToken cancellationToken = default)
    {
        var header = new LogoutRequestHeader
        {
            Immediate = true,
            Reason = reason,
            Cid = cid,
            InitiatorTaskTag = _nextItt++,
            CmdSn = CmdSn,
            ExpStatSn = ExpStatSn,
        };
        var bhs = new byte[Bhs.Length];
        header.WriteTo(bhs);
        await SendAsync(bhs, ReadOnlyMemory<byte>.Empty, cancellationToken);
        var pdu = await ExpectAsync(IscsiOpcode.LogoutResponse, cancellationToken);
        return pdu.Header.AsLogoutResponse();
    }

    /// <summary>Sends a task management function (immediate) and returns its response. RefCmdSN is the next CmdSN.</summary>
    public Task<TaskManagementResponseHeader> TaskManagementAsync(
        TaskManagementFunction function, ulong lun, uint referencedTaskTag = Bhs.ReservedTag, CancellationToken cancellationToken = default) =>
        TaskManagementAsync(function, lun, referencedTaskTag, CmdSn, cancellationToken);

    /// <summary>Sends a task management function (immediate) with a given RefCmdSN and returns its response.</summary>
    public async Task<TaskManagementResponseHeader> TaskManagementAsync(
        TaskManagementFunction function, ulong lun, uint referencedTaskTag, uint refCmdSn, CancellationToken cancellationToken = default)
    {
        var header = new TaskManagementRequestHeader
        {
            Immediate = true,
            Function = function,
            Lun = lun,
            InitiatorTaskTag = _nextItt++,
            ReferencedTaskTag = referencedTaskTag,
            CmdSn = CmdSn,
            ExpStatSn = ExpStatSn,
            RefCmdSn = refCmdSn,
        };
        var bhs = new byte[Bhs.Length];
        header.WriteTo(bhs);
        await SendAsync(bhs, ReadOnlyMemory<byte>.Empty, cancellationToken);
        var pdu = await ExpectAsync(IscsiOpcode.TaskManagementResponse, cancellationToken);
        return pdu.Header.AsTaskManagementResponse();
    }

    /// <summary>
    /// Runs one SCSI command to completion: immediate data (when negotiated) up to FirstBurstLength, then Data-Out for
    /// every R2T; Data-In gathered by BufferOffset. Never sends unsolicited Data-Out PDUs (offer InitialR2T=Yes).
    /// </summary>
    public async Task<ScsiResult> ExecuteAsync(ulong lun, byte[] cdb, int readLength = 0, byte[]? writeData = null, CancellationToken cancellationToken = default)
    {
        var itt = _nextItt++;
        var immediateLength = writeData is not null && ImmediateData
            ? Math.Min(writeData.Length, Math.Min(FirstBurstLength, TargetMaxRecvDataSegmentLength))
            : 0;
        var header = new ScsiCommandHeader
        {
            Final = true,
            IsRead = readLength > 0,
            IsWrite = writeData is not null,
            Attribute = TaskAttribute.Simple,
            DataSegmentLength = immediateLength,
            Lun = lun,
            InitiatorTaskTag = itt,
            ExpectedDataTransferLength = (uint)(writeData?.Length ?? readLength),
            CmdSn = CmdSn++,
            ExpStatSn = ExpStatSn,
            Cdb = Cdb16.From(cdb),
        };
        var bhs = new byte[Bhs.Length];
        header.WriteTo(bhs);
        await SendAsync(bhs, writeData.AsMemory(0, immediateLength), cancellationToken);

        var data = new byte[readLength];
        var violations = new List<string>();
        var dataIn = new List<DataInHeader>();
        var r2ts = new List<ReadyToTransferHeader>();
        while (true)
        {
            var pdu = await ReceiveAsync(cancellationToken)
                ?? throw new IOException($"The target closed the connection during command ITT 0x{itt:x}.");
            switch (pdu.Opcode)
            {
                case IscsiOpcode.ReadyToTransfer:
                {
                    var r2t = pdu.Header.AsReadyToTransfer();
                    r2ts.Add(r2t);
                    await SendDataOutAsync(r2t, writeData ?? throw new IOException(
                        $"R2T for a command without write data: command ITT 0x{itt:x} CDB {Convert.ToHexString(cdb)}; R2T ITT 0x{r2t.InitiatorTaskTag:x}, TTT 0x{r2t.TargetTransferTag:x}, R2TSN {r2t.R2TSn}, offset {r2t.BufferOffset}, length {r2t.DesiredDataTransferLength}."), cancellationToken);
                    break;
                }

                case IscsiOpcode.DataIn:
                {
                    var din = pdu.Header.AsDataIn();
                    dataIn.Add(din);
                    if (readLength == 0)
                    {
                        // RFC 7143 section 11.7: Data-In only carries data of a READ (or bidirectional) command.
                        violations.Add($"Data-In for a command without read data (CDB {Convert.ToHexString(cdb)}): DataSN {din.DataSn}, offset {din.BufferOffset}, {pdu.Data.Length} bytes, S={din.HasStatus}, header {Convert.ToHexString(pdu.Header.Bytes)}");
                    }
                    else if (din.BufferOffset + (uint)pdu.Data.Length > (uint)data.Length)
                    {
                        throw new IOException($"Data-In beyond the expected length {data.Length} of ITT 0x{itt:x}: offset {din.BufferOffset}, {pdu.Data.Length} bytes.");
                    }
                    else
                    {
                        pdu.Data.CopyTo(data, (int)din.BufferOffset);
                    }

                    if (din.HasStatus)
                    {
                        return new ScsiResult(din.Status, 0, [], data, dataIn, r2ts, null) { Violations = violations };
                    }

                    break;
                }

                case IscsiOpcode.ScsiResponse:
                {
                    var response = pdu.Header.AsScsiResponse();
                    var sense = Array.Empty<byte>();
                    if (pdu.Data.Length >= 2)
                    {
                        int senseLength = BinaryPrimitives.ReadUInt16BigEndian(pdu.Data);
                        sense = pdu.Data.AsSpan(2, Math.Min(senseLength, pdu.Data.Length - 2)).ToArray();
                    }

                    return new ScsiResult(response.Status, response.Response, sense, data, dataIn, r2ts, response) { Violations = violations };
                }

                case IscsiOpcode.NopIn or IscsiOpcode.AsyncMessage:
                    break; // not for this command

                default:
                    throw new IOException($"Unexpected {pdu.Opcode} during command ITT 0x{itt:x}.");
            }
        }
    }

    /// <summary>TEST UNIT READY until GOOD (at most 3 times): consumes the unit attention a new I_T nexus may report.</summary>
    public async Task ClearUnitAttentionAsync(ulong lun = 0, CancellationToken cancellationToken = default)
    {
        for (var i = 0; i < 3; i++)
        {
            if ((await ExecuteAsync(lun, new byte[6], cancellationToken: cancellationToken)).Status == ScsiResult.Good)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Sends a hand-made PDU: <paramref name="bhs"/> (with any AHS), the header digest when in force, the data segment
    /// padded to 4 bytes, and the data digest when in force and the segment is not empty.
    /// </summary>
    public async Task SendAsync(ReadOnlyMemory<byte> bhs, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        var padded = Bhs.Padded(data.Length);
        var headerDigest = HeaderDigest == DigestKind.Crc32C ? Bhs.DigestLength : 0;
        var dataDigest = DataDigest == DigestKind.Crc32C && data.Length > 0 ? Bhs.DigestLength : 0;
        var buffer = new byte[bhs.Length + headerDigest + padded + dataDigest];
        bhs.CopyTo(buffer);
        data.CopyTo(buffer.AsMemory(bhs.Length + headerDigest));
        if (headerDigest != 0)
        {
            var digest = Crc32C.Compute(buffer.AsSpan(0, bhs.Length)) ^ (CorruptNextHeaderDigest ? 1u : 0u);
            CorruptNextHeaderDigest = false;
            BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(bhs.Length), digest);
        }

        if (dataDigest != 0)
        {
            var digest = Crc32C.Compute(buffer.AsSpan(bhs.Length + headerDigest, padded)) ^ (CorruptNextDataDigest ? 1u : 0u);
            CorruptNextDataDigest = false;
            BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(bhs.Length + headerDigest + padded), digest);
        }

        await _stream.WriteAsync(buffer, cancellationToken);
    }

    /// <summary>Sends bytes as they are: no digest, no padding (a fuzzer's PDU).</summary>
    public async Task SendRawAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken = default) =>
        await _stream.WriteAsync(bytes, cancellationToken);

    /// <summary>Closes the sending direction (TCP FIN): the target sees the end of the stream.</summary>
    public void ShutdownSend() => _socket.Shutdown(SocketShutdown.Send);

    /// <summary>Next PDU of the given opcode (NOP-In pings and async messages in between are skipped).</summary>
    public async Task<ReceivedPdu> ExpectAsync(IscsiOpcode opcode, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var pdu = await ReceiveAsync(cancellationToken)
                ?? throw new IOException($"The target closed the connection while {opcode} was expected.");
            if (pdu.Opcode == opcode)
            {
                return pdu;
            }

            if (pdu.Opcode is not (IscsiOpcode.NopIn or IscsiOpcode.AsyncMessage))
            {
                throw new IOException($"Expected {opcode}, got {pdu.Opcode}.");
            }
        }
    }

    /// <summary>
    /// Receives one PDU; <see langword="null"/> when the target closed the connection (cleanly or by reset).
    /// Throws <see cref="TimeoutException"/> after <see cref="ReceiveTimeout"/>.
    /// </summary>
    public async Task<ReceivedPdu?> ReceiveAsync(CancellationToken cancellationToken = default) =>
        await ReceiveAsync(ReceiveTimeout, cancellationToken);

    public async Task<ReceivedPdu?> ReceiveAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            var bhs = new byte[Bhs.Length];
            if (!await ReadExactlyOrEofAsync(bhs, deadline.Token))
            {
                return null;
            }

            var header = new IscsiPduHeader(bhs);
            var ahs = header.TotalAhsLengthWords * 4;
            var headerDigest = HeaderDigest == DigestKind.Crc32C ? Bhs.DigestLength : 0;
            var padded = Bhs.Padded(header.DataSegmentLengthBytes);
            var dataDigest = DataDigest == DigestKind.Crc32C && header.DataSegmentLengthBytes > 0 ? Bhs.DigestLength : 0;
            var data = new byte[ahs + headerDigest + padded + dataDigest];
            if (data.Length > 0 && !await ReadExactlyOrEofAsync(data, deadline.Token))
            {
                return null;
            }

            if (headerDigest != 0)
            {
                var expected = Crc32C.Finish(Crc32C.Append(Crc32C.Append(Crc32C.InitialState, bhs), data.AsSpan(0, ahs)));
                var actual = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(ahs));
                if (actual != expected)
                {
                    throw new IOException($"Header digest mismatch on {header.Opcode}: got 0x{actual:x8}, computed 0x{expected:x8}.");
                }

                HeaderDigestsVerified++;
            }

            if (dataDigest != 0)
            {
                var expected = Crc32C.Compute(data.AsSpan(ahs + headerDigest, padded));
                var actual = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(ahs + headerDigest + padded));
                if (actual != expected)
                {
                    throw new IOException($"Data digest mismatch on {header.Opcode}: got 0x{actual:x8}, computed 0x{expected:x8}.");
                }

                DataDigestsVerified++;
            }

            var segment = data.AsSpan(ahs + headerDigest, header.DataSegmentLengthBytes).ToArray();
            Track(header);
            return new ReceivedPdu(header, segment);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"No PDU from the target within {timeout} (next CmdSN {CmdSn}, last MaxCmdSN {MaxCmdSn}, ExpStatSN {ExpStatSn}).");
        }
    }

    /// <summary>True when the target closes the connection within <paramref name="timeout"/> (PDUs before are dropped).</summary>
    public async Task<bool> WaitForCloseAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var end = DateTime.UtcNow + timeout;
        try
        {
            while (DateTime.UtcNow < end)
            {
                if (await ReceiveAsync(end - DateTime.UtcNow, cancellationToken) is null)
                {
                    return true;
                }
            }
        }
        catch (TimeoutException)
        {
        }

        return false;
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _socket.Dispose();
    }

    public static byte[] EncodeKeys(IEnumerable<KeyValuePair<string, string>> keys)
    {
        var text = new StringBuilder();
        foreach (var (key, value) in keys)
        {
            text.Append(key).Append('=').Append(value).Append('\0');
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }

    public static List<KeyValuePair<string, string>> DecodeKeys(ReadOnlySpan<byte> data)
    {
        var keys = new List<KeyValuePair<string, string>>();
        foreach (var pair in Encoding.UTF8.GetString(data).Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            keys.Add(eq < 0 ? new(pair, string.Empty) : new(pair[..eq], pair[(eq + 1)..]));
        }

        return keys;
    }

    private async Task SendDataOutAsync(ReadyToTransferHeader r2t, byte[] writeData, CancellationToken cancellationToken)
    {
        var offset = (int)r2t.BufferOffset;
        var end = offset + (int)r2t.DesiredDataTransferLength;
        if (end > writeData.Length)
        {
            throw new IOException($"R2T asks for bytes {offset}..{end} of a {writeData.Length}-byte write.");
        }

        uint dataSn = 0;
        while (offset < end)
        {
            var length = Math.Min(end - offset, TargetMaxRecvDataSegmentLength);
            var header = new DataOutHeader
            {
                Final = offset + length == end,
                DataSegmentLength = length,
                Lun = r2t.Lun,
                InitiatorTaskTag = r2t.InitiatorTaskTag,
                TargetTransferTag = r2t.TargetTransferTag,
                ExpStatSn = ExpStatSn,
                DataSn = dataSn++,
                BufferOffset = (uint)offset,
            };
            var bhs = new byte[Bhs.Length];
            header.WriteTo(bhs);
            await SendAsync(bhs, writeData.AsMemory(offset, length), cancellationToken);
            offset += length;
        }
    }

    private void ApplyNegotiated(LoginResult result)
    {
        static int? Int(string? v) => int.TryParse(v, System.Globalization.CultureInfo.InvariantCulture, out var i) ? i : null;
        TargetMaxRecvDataSegmentLength = Int(result.Key("MaxRecvDataSegmentLength")) ?? 8192;
        MaxBurstLength = Int(result.Key("MaxBurstLength")) ?? MaxBurstLength;
        FirstBurstLength = Int(result.Key("FirstBurstLength")) ?? FirstBurstLength;
        ImmediateData = result.Key("ImmediateData") is { } immediate ? immediate == "Yes" : ImmediateData;
        InitialR2T = result.Key("InitialR2T") is { } initial ? initial == "Yes" : InitialR2T;

        // The digests apply from the first PDU after the Login Response that ended the login phase.
        HeaderDigest = result.Key("HeaderDigest") == "CRC32C" ? DigestKind.Crc32C : DigestKind.None;
        DataDigest = result.Key("DataDigest") == "CRC32C" ? DigestKind.Crc32C : DigestKind.None;
    }

    private void Track(IscsiPduHeader header)
    {
        // StatSN (bytes 24-27) advances on responses that carry status; MaxCmdSN (bytes 32-35) on every target PDU.
        var bytes = header.Bytes;
        var statSn = BinaryPrimitives.ReadUInt32BigEndian(bytes[24..]);
        var maxCmdSn = BinaryPrimitives.ReadUInt32BigEndian(bytes[32..]);
        switch (header.Opcode)
        {
            case IscsiOpcode.ScsiResponse or IscsiOpcode.TaskManagementResponse or IscsiOpcode.LogoutResponse
                or IscsiOpcode.TextResponse or IscsiOpcode.Reject:
                ExpStatSn = statSn + 1;
                MaxCmdSn = maxCmdSn;
                break;
            case IscsiOpcode.NopIn when header.InitiatorTaskTag != Bhs.ReservedTag:
                ExpStatSn = statSn + 1;
                MaxCmdSn = maxCmdSn;
                break;
            case IscsiOpcode.DataIn when (header.Flags & 0x01) != 0:
                ExpStatSn = statSn + 1;
                MaxCmdSn = maxCmdSn;
                break;
            case IscsiOpcode.DataIn or IscsiOpcode.ReadyToTransfer or IscsiOpcode.NopIn:
                MaxCmdSn = maxCmdSn;
                break;
        }
    }

    private async Task<bool> ReadExactlyOrEofAsync(byte[] buffer, CancellationToken cancellationToken)
    {
        try
        {
            var read = await _stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
            return read == buffer.Length;
        }
        catch (IOException ex) when (ex.InnerException is SocketException)
        {
            return false; // reset by the target
        }
    }
}
