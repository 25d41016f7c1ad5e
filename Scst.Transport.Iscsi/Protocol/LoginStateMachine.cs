// Licensed under the Apache License, Version 2.0.

using System.Buffers;
using Scst.Transport.Iscsi.Security;

namespace Scst.Transport.Iscsi.Protocol;

/// <summary>What the login state machine asks of the session layer.</summary>
/// <param name="InitiatorName">InitiatorName of the login.</param>
/// <param name="Isid">ISID of the login.</param>
/// <param name="Tsih">TSIH the initiator sent: 0 for a new session.</param>
/// <param name="TargetName">TargetName (null in a Discovery session).</param>
/// <param name="SessionType">Normal or Discovery.</param>
/// <param name="Cid">CID of the connection.</param>
internal readonly record struct SessionBindingRequest(string InitiatorName, ulong Isid, ushort Tsih, string? TargetName, SessionType SessionType, ushort Cid = 0);

/// <summary>Callbacks from the login state machine to the target. Both are called synchronously and must not block.</summary>
internal sealed record LoginCallbacks
{
    /// <summary>Required. True when the target named in a Normal session's TargetName exists and serves this portal.</summary>
    public required Func<string, bool> TargetExists { get; init; }

    /// <summary>
    /// Optional. Whether the initiator (first argument) may log in to the target (second argument), which exists:
    /// access control. False fails the login with 0x0202 (authorization failure).
    /// </summary>
    public Func<string, string, bool>? InitiatorAllowed { get; init; }

    /// <summary>
    /// Required. Binds the login to a session. For TSIH 0 (new session), called when the login reaches Full Feature
    /// Phase; returns the non-zero TSIH assigned. For a non-zero TSIH (a connection joining or reinstating an
    /// existing session), called on the first request; returns the same TSIH if that session exists for this
    /// initiator and ISID, or null (the login then fails with 0x020a, session does not exist).
    /// </summary>
    public required Func<SessionBindingRequest, ushort?> BindSession { get; init; }

    /// <summary>
    /// Optional. Why a login with a non-zero TSIH could not be bound: 0x020a (session does not exist, the default) or
    /// 0x0206 (too many connections).
    /// </summary>
    public Func<SessionBindingRequest, LoginStatus>? BindRefusal { get; init; }

    /// <summary>
    /// Optional. The target's own negotiation values, once a Normal login has named it (null keeps the connection's).
    /// Called once, before the keys of the first request are answered.
    /// </summary>
    public Func<string, TargetNegotiationOptions?>? OptionsForTarget { get; init; }

    /// <summary>
    /// Optional. A redirection for a Normal login (initiator name, target name): the TargetAddress to send and whether
    /// the move is permanent (0x0102) or temporary (0x0101); null serves the login here.
    /// </summary>
    public Func<string, string, (string Address, bool Permanent)?>? Redirect { get; init; }

    /// <summary>
    /// Optional. For a login that names a session by TSIH: the session's ExpCmdSN and MaxCmdSN, which its responses carry
    /// (the login's CmdSN and window are the session's, not the connection's); null when not known yet.
    /// </summary>
    public Func<(uint ExpCmdSn, uint MaxCmdSn)?>? SessionWindow { get; init; }
}

/// <summary>Who logged in, once the login has completed.</summary>
/// <param name="InitiatorName">InitiatorName.</param>
/// <param name="InitiatorAlias">InitiatorAlias, if declared.</param>
/// <param name="Isid">ISID.</param>
/// <param name="Tsih">TSIH of the session (assigned or validated).</param>
/// <param name="Cid">Connection id.</param>
/// <param name="TargetName">TargetName (null in a Discovery session).</param>
/// <param name="SessionType">Normal or Discovery.</param>
internal sealed record LoginIdentity(string InitiatorName, string? InitiatorAlias, ulong Isid, ushort Tsih, ushort Cid, string? TargetName, SessionType SessionType);

/// <summary>The outcome of a completed login.</summary>
/// <param name="Identity">Who logged in.</param>
/// <param name="Parameters">Negotiated session and connection parameters.</param>
/// <param name="NextStatSn">StatSN of the first response in Full Feature Phase.</param>
/// <param name="ExpCmdSn">CmdSN expected next (the login's CmdSN: login requests are immediate).</param>
internal sealed record LoginResult(LoginIdentity Identity, NegotiatedParameters Parameters, uint NextStatSn, uint ExpCmdSn);

/// <summary>What became of the login after one request.</summary>
internal enum LoginProgress
{
    /// <summary>More requests are expected.</summary>
    InProgress,

    /// <summary>The response moves the connection to Full Feature Phase; see <see cref="LoginStateMachine.Result"/>.</summary>
    Completed,

    /// <summary>The response carries a failure status; the connection must be closed after sending it.</summary>
    Failed,
}

/// <summary>One Login Response to send: header, text data segment (unpadded) and the resulting progress.</summary>
/// <param name="Header">The response header (DataSegmentLength already set).</param>
/// <param name="Data">The text of the response; the connection pads it to 4 bytes when sending.</param>
/// <param name="Progress">Where the login stands.</param>
internal sealed record LoginStep(LoginResponseHeader Header, ReadOnlyMemory<byte> Data, LoginProgress Progress);

/// <summary>
/// Target side of the login phase of one connection (RFC 7143 sections 6.1-6.3, 11.12 and 11.13): consumes
/// Login Requests, produces Login Responses, and ends with a <see cref="LoginResult"/> or a failure status.
/// </summary>
/// <remarks>
/// Stages: SecurityNegotiation (0), LoginOperationalNegotiation (1), FullFeaturePhase (3); an initiator may skip
/// a stage. We answer T=1 only when the request asked to transit and we agree (always, once its keys are
/// settled: we never need another round, since we only answer and declare). A request with the C bit is
/// answered with an empty response until its final part arrives. StatSN starts at the first request's
/// ExpStatSN and advances with every response; ExpCmdSN echoes the request's CmdSN (login is immediate) and
/// MaxCmdSN opens a window of <c>commandWindow</c>. Not thread-safe: one instance per connection, driven by
/// its receive loop. Authentication (AuthMethod and CHAP) is <see cref="LoginAuthentication"/>'s: the login stays in
/// the security stage (answering T=0) until it is complete. Not implemented: target-side text continuation (our
/// answers fit in one PDU).
/// </remarks>
internal sealed class LoginStateMachine
{
    private const byte SupportedVersion = 0;

    private readonly LoginCallbacks _callbacks;
    private TargetNegotiationOptions _options;
    private readonly LoginNegotiator _negotiator;
    private readonly TextSegmentAccumulator _text;
    private readonly uint _commandWindow;
    private LoginStage _stage;
    private bool _started;
    private bool _firstTextProcessed;
    private uint _statSn;
    private ulong _isid;
    private ushort _tsih;
    private ushort _cid;
    private LoginAuthentication? _authentication;
    private (string Address, bool Permanent)? _redirect;

    /// <summary>Creates the login of one connection.</summary>
    /// <param name="options">The target's negotiation values.</param>
    /// <param name="callbacks">Target lookup and session binding.</param>
    /// <param name="commandWindow">Commands the initiator may have outstanding after login (MaxCmdSN - ExpCmdSN + 1). Defaults to 32.</param>
    /// <param name="maxTextLengthBytes">Cap on a request's text joined over continuation PDUs. Defaults to 64 KiB.</param>
    public LoginStateMachine(TargetNegotiationOptions options, LoginCallbacks callbacks, uint commandWindow = 32,
        int maxTextLengthBytes = TextSegmentAccumulator.DefaultMaxLengthBytes)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(callbacks);
        ArgumentOutOfRangeException.ThrowIfZero(commandWindow);
        _options = options;
        _callbacks = callbacks;
        _commandWindow = commandWindow;
        _negotiator = new LoginNegotiator(options);
        _text = new TextSegmentAccumulator(maxTextLengthBytes);
    }

    /// <summary>Where the login stands.</summary>
    public LoginProgress Progress { get; private set; }

    /// <summary>The outcome, once <see cref="Progress"/> is <see cref="LoginProgress.Completed"/>.</summary>
    public LoginResult? Result { get; private set; }

    /// <summary>Where the credentials come from. Defaults to none: no login needs CHAP, and one that insists on it fails.</summary>
    public LoginSecurity? Security { get; init; }

    /// <summary>The InitiatorName the login declared, once it has.</summary>
    public string? InitiatorName => _negotiator.Parameters.InitiatorName is { Length: > 0 } name ? name : null;

    /// <summary>The login's authentication: who authenticated, or why it failed.</summary>
    public LoginAuthentication Authentication => _authentication ??= new LoginAuthentication(Security);

    /// <summary>Processes one Login Request and returns the response to send.</summary>
    /// <param name="request">The decoded request header.</param>
    /// <param name="data">The request's data segment; copied if needed, not kept.</param>
    /// <exception cref="InvalidOperationException">The login has already completed or failed.</exception>
    public LoginStep Process(in LoginRequestHeader request, ReadOnlySequence<byte> data)
    {
        if (Progress != LoginProgress.InProgress)
        {
            ThrowHelper.ThrowInvalidOperation("The login has already ended.");
        }

        if (!_started)
        {
            _started = true;
            _statSn = request.ExpStatSn;
            _isid = request.Isid;
            _tsih = request.Tsih;
            _cid = request.Cid;
            if (request.VersionMin > SupportedVersion)
            {
                return Fail(request, LoginStatus.UnsupportedVersion);
            }

            if (request.CurrentStage is not (LoginStage.SecurityNegotiation or LoginStage.OperationalNegotiation))
            {
                return Fail(request, LoginStatus.InitiatorError);
            }

            _stage = request.CurrentStage;
        }
        else if (request.Isid != _isid || request.Tsih != _tsih || request.Cid != _cid || request.CurrentStage != _stage)
        {
            return Fail(request, LoginStatus.InitiatorError);
        }

        // C with T is a protocol error (RFC 7143 section 11.12.2), as is a transit that does not move forward.
        if ((request.Continue && request.Transit)
            || (request.Transit && (request.NextStage <= request.CurrentStage || request.NextStage == LoginStage.Reserved)))
        {
            return Fail(request, LoginStatus.InitiatorError);
        }

        if (!_text.TryAppend(data))
        {
            return Fail(request, LoginStatus.InitiatorError);
        }

        if (request.Continue)
        {
            // The text continues: acknowledge with an empty response and wait for the rest.
            return Respond(request, transit: false, ReadOnlyMemory<byte>.Empty, LoginProgress.InProgress);
        }

        var offered = new List<TextKeyValue>();
        var parseError = TextKeys.TryParse(_text.Text, offered);
        _text.Reset();
        if (parseError != TextParseError.None)
        {
            return Fail(request, LoginStatus.InitiatorError);
        }

        // Authentication keys go to the authentication, the rest to operational negotiation.
        var security = offered.FindAll(static p => LoginAuthentication.IsAuthenticationKey(p.Key));
        offered.RemoveAll(static p => LoginAuthentication.IsAuthenticationKey(p.Key));
        if (!_firstTextProcessed && _callbacks.OptionsForTarget is { } optionsFor
            && offered.Find(static p => p.Key == "TargetName") is { Value: { Length: > 0 } targetName }
            && !offered.Exists(static p => p.Key == "SessionType" && p.Value == "Discovery")
            && optionsFor(targetName) is { } targetOptions)
        {
            _options = targetOptions;
            _negotiator.UseOptions(targetOptions);
        }

        var answers = new List<TextKeyValue>();
        var status = _negotiator.Negotiate(offered, _stage, answers);
        if (status != LoginStatus.Success)
        {
            return Fail(request, status);
        }

        if (!_firstTextProcessed)
        {
            _firstTextProcessed = true;
            status = CheckFirstRequest(answers);
            if (status != LoginStatus.Success)
            {
                return Fail(request, status);
            }
        }

        var negotiated = _negotiator.Parameters;
        status = Authentication.Process(security, _stage, request.Transit, negotiated.SessionType, negotiated.TargetName, answers);
        if (status != LoginStatus.Success)
        {
            return Fail(request, status);
        }

        if (_stage == LoginStage.OperationalNegotiation)
        {
            _negotiator.DeclareTargetKeys(answers);
        }

        var writer = new ArrayBufferWriter<byte>();
        TextKeys.Write(writer, answers);

        // CHAP takes more rounds than the initiator's T=1 assumes: stay in the security stage until it is done.
        if (!request.Transit || (_stage == LoginStage.SecurityNegotiation && !Authentication.Complete))
        {
            return Respond(request, transit: false, writer.WrittenMemory, LoginProgress.InProgress);
        }

        var next = request.NextStage;
        if (next != LoginStage.FullFeaturePhase)
        {
            var step = Respond(request, transit: true, writer.WrittenMemory, LoginProgress.InProgress);
            _stage = next;
            return step;
        }

        status = _negotiator.CheckDigests();
        if (status != LoginStatus.Success)
        {
            return Fail(request, status);
        }

        var parameters = _negotiator.Complete();
        if (_tsih == 0)
        {
            var assigned = _callbacks.BindSession(BindingRequest(parameters));
            if (assigned is null or 0)
            {
                return Fail(request, LoginStatus.OutOfResources);
            }

            _tsih = assigned.Value;
        }

        var final = Respond(request, transit: true, writer.WrittenMemory, LoginProgress.Completed);
        var identity = new LoginIdentity(parameters.InitiatorName, parameters.InitiatorAlias, _isid, _tsih, _cid,
            parameters.SessionType == SessionType.Normal ? parameters.TargetName : null, parameters.SessionType);
        Result = new LoginResult(identity, parameters, _statSn, request.CmdSn);
        _stage = LoginStage.FullFeaturePhase;
        return final;
    }

    /// <summary>Checks what the first complete request must carry, and adds the target's first-response keys.</summary>
    private LoginStatus CheckFirstRequest(List<TextKeyValue> answers)
    {
        var parameters = _negotiator.Parameters;
        if (string.IsNullOrEmpty(parameters.InitiatorName))
        {
            return LoginStatus.MissingParameter;
        }

        if (parameters.SessionType == SessionType.Normal)
        {
            if (string.IsNullOrEmpty(parameters.TargetName))
            {
                return LoginStatus.MissingParameter;
            }

            if (!_callbacks.TargetExists(parameters.TargetName))
            {
                return LoginStatus.NotFound;
            }

            if (_callbacks.Redirect?.Invoke(parameters.InitiatorName, parameters.TargetName) is { } redirect)
            {
                _redirect = redirect;
                return redirect.Permanent ? LoginStatus.TargetMovedPermanently : LoginStatus.TargetMovedTemporarily;
            }

            if (_callbacks.InitiatorAllowed is { } allowed && !allowed(parameters.InitiatorName, parameters.TargetName))
            {
                return LoginStatus.AuthorizationFailure;
            }

            // The portal group tag goes in the first response of a Normal session (RFC 7143 section 13.9).
            answers.Add(new("TargetPortalGroupTag", _options.TargetPortalGroupTag.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        if (_options.TargetAlias is { } alias)
        {
            answers.Add(new("TargetAlias", alias));
        }

        if (_tsih != 0 && _callbacks.BindSession(BindingRequest(parameters)) != _tsih)
        {
            return _callbacks.BindRefusal?.Invoke(BindingRequest(parameters)) ?? LoginStatus.SessionDoesNotExist;
        }

        return LoginStatus.Success;
    }

    private SessionBindingRequest BindingRequest(NegotiatedParameters parameters) =>
        new(parameters.InitiatorName, _isid, _tsih, parameters.SessionType == SessionType.Normal ? parameters.TargetName : null, parameters.SessionType, _cid);

    private LoginStep Respond(in LoginRequestHeader request, bool transit, ReadOnlyMemory<byte> data, LoginProgress progress)
    {
        (uint ExpCmdSn, uint MaxCmdSn)? window = request.Tsih != 0 ? _callbacks.SessionWindow?.Invoke() : null;
        var header = new LoginResponseHeader
        {
            Transit = transit,
            CurrentStage = _stage,
            NextStage = transit ? request.NextStage : LoginStage.SecurityNegotiation,
            VersionMax = SupportedVersion,
            VersionActive = SupportedVersion,
            DataSegmentLength = data.Length,
            Isid = _isid,
            Tsih = progress == LoginProgress.Completed ? _tsih : request.Tsih,
            InitiatorTaskTag = request.InitiatorTaskTag,
            StatSn = _statSn++,
            ExpCmdSn = window?.ExpCmdSn ?? request.CmdSn,
            MaxCmdSn = window?.MaxCmdSn ?? request.CmdSn + (_options.CommandWindow > 0 ? (uint)_options.CommandWindow : _commandWindow) - 1,
            Status = LoginStatus.Success,
        };
        Progress = progress;
        return new LoginStep(header, data, progress);
    }

    private LoginStep Fail(in LoginRequestHeader request, LoginStatus status)
    {
        // A redirection answers with the new address (RFC 7143 section 11.13.5): TargetAddress=address,tag.
        ReadOnlyMemory<byte> data = ReadOnlyMemory<byte>.Empty;
        if (_redirect is { } redirect && status is LoginStatus.TargetMovedTemporarily or LoginStatus.TargetMovedPermanently)
        {
            var writer = new ArrayBufferWriter<byte>();
            string address = redirect.Address.Contains(',', StringComparison.Ordinal)
                ? redirect.Address
                : redirect.Address + "," + _options.TargetPortalGroupTag.ToString(System.Globalization.CultureInfo.InvariantCulture);
            TextKeys.Write(writer, "TargetAddress", address);
            data = writer.WrittenMemory;
        }

        var header = new LoginResponseHeader
        {
            CurrentStage = request.CurrentStage == LoginStage.Reserved ? LoginStage.SecurityNegotiation : request.CurrentStage,
            VersionMax = SupportedVersion,
            VersionActive = SupportedVersion,
            Isid = request.Isid,
            Tsih = request.Tsih,
            InitiatorTaskTag = request.InitiatorTaskTag,
            StatSn = _statSn++,
            ExpCmdSn = request.CmdSn,
            MaxCmdSn = request.CmdSn,
            Status = status,
            DataSegmentLength = data.Length,
        };
        Progress = LoginProgress.Failed;
        return new LoginStep(header, data, LoginProgress.Failed);
    }
}
