// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using System.Security.Cryptography;
using Scst.Transport.Iscsi.Protocol;

namespace Scst.Transport.Iscsi.Security;

/// <summary>What the driver tells each login about authentication.</summary>
internal sealed class LoginSecurity
{
    /// <summary>
    /// Required. The credentials a login must satisfy, given its session type and (Normal sessions) target name; null
    /// when there are none. Called once per login, when the first request has been read.
    /// </summary>
    public required Func<SessionType, string?, ChapCredentials?> FindCredentials { get; init; }

    /// <summary>The algorithms the target accepts in CHAP_A (those the platform lacks are ignored). Defaults to all four.</summary>
    public IReadOnlyList<ChapAlgorithm> Algorithms { get; init; } = [ChapAlgorithm.Md5, ChapAlgorithm.Sha1, ChapAlgorithm.Sha256, ChapAlgorithm.Sha3_256];
}

/// <summary>Why an authentication failed. For the log only: the initiator just sees status 0201.</summary>
internal enum ChapFailure
{
    /// <summary>No failure.</summary>
    None,

    /// <summary>The target requires CHAP and the initiator did not offer it (or skipped the security stage).</summary>
    ChapNotOffered,

    /// <summary>The initiator offered only CHAP, and no IncomingUser is configured to check it against.</summary>
    NoCredentials,

    /// <summary>No algorithm of the initiator's CHAP_A list is accepted here.</summary>
    NoCommonAlgorithm,

    /// <summary>The exchange stopped half-way: a request after our challenge without CHAP_N and CHAP_R, or after
    /// AuthMethod=CHAP without CHAP_A.</summary>
    IncompleteExchange,

    /// <summary>CHAP_N or CHAP_R is missing.</summary>
    MissingResponse,

    /// <summary>CHAP_N names no IncomingUser.</summary>
    UnknownUser,

    /// <summary>CHAP_R is not a binary value, or not the digest's length.</summary>
    MalformedResponse,

    /// <summary>CHAP_R is not the response the user's secret gives: a wrong secret.</summary>
    WrongResponse,

    /// <summary>The user's secret (or the OutgoingUser's) is shorter than 12 bytes: the configuration is refused.</summary>
    WeakSecret,

    /// <summary>The initiator asked the target to authenticate (CHAP_I, CHAP_C) and no OutgoingUser is configured.</summary>
    MutualNotConfigured,

    /// <summary>CHAP_I or CHAP_C is malformed, or one came without the other.</summary>
    MalformedChallenge,

    /// <summary>The initiator's CHAP_C is the challenge we sent it: a reflection attempt.</summary>
    ReflectedChallenge,

    /// <summary>The OutgoingUser has the user's secret, which RFC 7143 section 12.1.3 forbids.</summary>
    SameSecretBothWays,
}

/// <summary>
/// The target side of AuthMethod negotiation and CHAP (RFC 7143 sections 6.3 and 12.1.3, RFC 1994) for one login.
/// The login state machine hands it the authentication keys of each request (AuthMethod, CHAP_A, CHAP_I, CHAP_C,
/// CHAP_N, CHAP_R) and lets the login leave the security stage only once <see cref="Complete"/>.
/// </summary>
/// <remarks>
/// <para>Exchange: the initiator offers <c>AuthMethod=CHAP,None</c>; we pick the first it lists that we may use
/// (CHAP when the credentials have an IncomingUser, else None) and, for CHAP, stay in the security stage (T=0). It sends
/// <c>CHAP_A=&lt;list&gt;</c>; we pick the first algorithm we accept and answer <c>CHAP_A</c>, a random <c>CHAP_I</c>
/// and a random <c>CHAP_C</c> as long as the digest. It sends <c>CHAP_N</c> and <c>CHAP_R</c>, and for mutual CHAP its
/// own <c>CHAP_I</c> and <c>CHAP_C</c>; we check the response (in constant time) and, for mutual CHAP, answer with the
/// OutgoingUser's <c>CHAP_N</c> and <c>CHAP_R</c>. Any failure is 0201 (Authentication failure) with the reason kept
/// in <see cref="Failure"/>; keys out of their stage or order are 0200 (Initiator error).</para>
/// <para>The credentials are read once, when the first request names the session type and target, so a change
/// made meanwhile applies to the next login. Not thread-safe: one instance per login.</para>
/// </remarks>
internal sealed class LoginAuthentication
{
    private const string Chap = "CHAP";
    private const string None = "None";

    private readonly LoginSecurity? _security;
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private ChapCredentials.Snapshot? _credentials;
    private State _state;
    private byte _identifier;
    private byte[] _challenge = [];

    /// <summary>Creates the authentication of one login.</summary>
    /// <param name="security">What the driver configured; null when nothing is (no login ever needs CHAP).</param>
    public LoginAuthentication(LoginSecurity? security) => _security = security;

    private enum State
    {
        Start,
        AwaitAlgorithm,
        AwaitResponse,
        Done,
    }

    /// <summary>Whether the login may leave the security stage: CHAP succeeded, or None was agreed or needs nothing.</summary>
    public bool Complete => _state == State.Done;

    /// <summary>The CHAP name the initiator sent, once it has (kept on failure too, for the log).</summary>
    public string? UserName { get; private set; }

    /// <summary>The algorithm selected, once CHAP_A has been answered.</summary>
    public ChapAlgorithm? Algorithm { get; private set; }

    /// <summary>Whether the target authenticated itself too (mutual CHAP).</summary>
    public bool Mutual { get; private set; }

    /// <summary>Whether the login authenticated with CHAP (rather than None).</summary>
    public bool Authenticated { get; private set; }

    /// <summary>Why the authentication failed, when <see cref="Process"/> returned <see cref="LoginStatus.AuthenticationFailure"/>.</summary>
    public ChapFailure Failure { get; private set; }

    /// <summary>Whether <paramref name="key"/> belongs to authentication (this class) rather than to operational negotiation.</summary>
    public static bool IsAuthenticationKey(string key) => key is "AuthMethod" or "CHAP_A" or "CHAP_I" or "CHAP_C" or "CHAP_N" or "CHAP_R";

    /// <summary>
    /// Processes the authentication keys of one complete request and appends our answers.
    /// </summary>
    /// <param name="keys">The request's authentication keys (see <see cref="IsAuthenticationKey"/>), possibly none.</param>
    /// <param name="stage">The stage the request is in.</param>
    /// <param name="transit">Whether the request asks to leave its stage.</param>
    /// <param name="sessionType">The session type the login declared.</param>
    /// <param name="targetName">The target of a Normal session.</param>
    /// <param name="answers">Where our answers go.</param>
    /// <returns><see cref="LoginStatus.Success"/>, or the status that fails the login.</returns>
    public LoginStatus Process(IReadOnlyList<TextKeyValue> keys, LoginStage stage, bool transit, SessionType sessionType, string? targetName, List<TextKeyValue> answers)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(answers);
        _credentials ??= _security?.FindCredentials(sessionType, targetName)?.Current ?? ChapCredentials.Snapshot.Empty;
        bool required = _credentials.Incoming.Count > 0;
        if (stage != LoginStage.SecurityNegotiation)
        {
            // Security keys belong to the security stage only; a login that skipped it (or left it) is done with them.
            if (keys.Count > 0)
            {
                return LoginStatus.InitiatorError;
            }

            return Complete ? LoginStatus.Success : Settle(required);
        }

        string? authMethod = null, algorithms = null, name = null, response = null, identifier = null, challenge = null;
        foreach ((string key, string value) in keys)
        {
            if (!_seen.Add(key))
            {
                return LoginStatus.InitiatorError; // a key offered twice in one login (RFC 7143 section 6.2)
            }

            switch (key)
            {
                case "AuthMethod": authMethod = value; break;
                case "CHAP_A": algorithms = value; break;
                case "CHAP_N": name = value; break;
                case "CHAP_R": response = value; break;
                case "CHAP_I": identifier = value; break;
                case "CHAP_C": challenge = value; break;
            }
        }

        State before = _state;
        if (authMethod is not null)
        {
            LoginStatus status = SelectMethod(authMethod, required, answers);
            if (status != LoginStatus.Success)
            {
                return status;
            }
        }

        if (algorithms is not null)
        {
            if (_state != State.AwaitAlgorithm)
            {
                return LoginStatus.InitiatorError;
            }

            LoginStatus status = SelectAlgorithm(algorithms, answers);
            if (status != LoginStatus.Success)
            {
                return status;
            }
        }
        else if (before == State.AwaitAlgorithm)
        {
            return Fail(ChapFailure.IncompleteExchange);
        }

        if (name is not null || response is not null || identifier is not null || challenge is not null)
        {
            // Only after the request that got our challenge: CHAP_R cannot answer a challenge not yet sent.
            if (before != State.AwaitResponse)
            {
                return LoginStatus.InitiatorError;
            }

            return Verify(name, response, identifier, challenge, answers);
        }

        if (before == State.AwaitResponse)
        {
            return Fail(ChapFailure.MissingResponse);
        }

        // A request that leaves the security stage without ever offering AuthMethod agreed to nothing.
        return transit && _state == State.Start ? Settle(required) : LoginStatus.Success;
    }

    /// <summary>The login leaves the security stage without CHAP: fine unless CHAP is required.</summary>
    private LoginStatus Settle(bool required)
    {
        if (required)
        {
            return Fail(ChapFailure.ChapNotOffered);
        }

        _state = State.Done;
        return LoginStatus.Success;
    }

    private LoginStatus SelectMethod(string offer, bool required, List<TextKeyValue> answers)
    {
        if (_state != State.Start)
        {
            return LoginStatus.InitiatorError;
        }

        // The first value of the initiator's list that we may use (RFC 7143 section 6.2.1): CHAP only when there is an
        // IncomingUser to check it against, None only when none is required.
        bool offersChap = false;
        foreach (string method in offer.Split(','))
        {
            if (method == Chap && required)
            {
                answers.Add(new("AuthMethod", Chap));
                _state = State.AwaitAlgorithm;
                return LoginStatus.Success;
            }

            if (method == None && !required)
            {
                answers.Add(new("AuthMethod", None));
                _state = State.Done;
                return LoginStatus.Success;
            }

            offersChap |= method == Chap;
        }

        return Fail(required || !offersChap ? ChapFailure.ChapNotOffered : ChapFailure.NoCredentials);
    }

    private LoginStatus SelectAlgorithm(string offer, List<TextKeyValue> answers)
    {
        IReadOnlyList<ChapAlgorithm> accepted = _security?.Algorithms ?? [];
        foreach (string item in offer.Split(','))
        {
            if (!LoginNegotiator.TryParseNumber(item, 0, 255, out int number))
            {
                continue;
            }

            var algorithm = (ChapAlgorithm)number;
            if (accepted.Contains(algorithm) && ChapSecret.IsSupported(algorithm))
            {
                Algorithm = algorithm;
                _identifier = (byte)RandomNumberGenerator.GetInt32(256);
                _challenge = RandomNumberGenerator.GetBytes(ChapSecret.DigestLength(algorithm));
                answers.Add(new("CHAP_A", number.ToString(CultureInfo.InvariantCulture)));
                answers.Add(new("CHAP_I", _identifier.ToString(CultureInfo.InvariantCulture)));
                answers.Add(new("CHAP_C", ChapValue.EncodeHex(_challenge)));
                _state = State.AwaitResponse;
                return LoginStatus.Success;
            }
        }

        return Fail(ChapFailure.NoCommonAlgorithm);
    }

    private LoginStatus Verify(string? name, string? response, string? identifierText, string? challengeText, List<TextKeyValue> answers)
    {
        UserName = name;
        if (name is null || response is null)
        {
            return Fail(ChapFailure.MissingResponse);
        }

        ChapUser? user = _credentials!.FindIncoming(name);
        if (user is null)
        {
            return Fail(ChapFailure.UnknownUser);
        }

        if (!ChapSecret.IsLongEnough(user.Secret))
        {
            return Fail(ChapFailure.WeakSecret);
        }

        ChapAlgorithm algorithm = Algorithm!.Value;
        int length = ChapSecret.DigestLength(algorithm);
        if (!ChapValue.TryDecode(response, out byte[] received) || received.Length != length)
        {
            return Fail(ChapFailure.MalformedResponse);
        }

        Span<byte> expected = stackalloc byte[ChapSecret.MaxDigestLengthBytes];
        expected = expected[..length];
        ChapSecret.ComputeResponse(algorithm, _identifier, user.Secret, _challenge, expected);
        if (!CryptographicOperations.FixedTimeEquals(expected, received))
        {
            return Fail(ChapFailure.WrongResponse);
        }

        if (identifierText is not null || challengeText is not null)
        {
            LoginStatus status = AnswerChallenge(user, identifierText, challengeText, answers);
            if (status != LoginStatus.Success)
            {
                return status;
            }
        }

        Authenticated = true;
        _state = State.Done;
        return LoginStatus.Success;
    }

    /// <summary>Mutual CHAP: the target proves it knows the OutgoingUser's secret.</summary>
    private LoginStatus AnswerChallenge(ChapUser user, string? identifierText, string? challengeText, List<TextKeyValue> answers)
    {
        if (identifierText is null || challengeText is null
            || !LoginNegotiator.TryParseNumber(identifierText, 0, 255, out int identifier)
            || !ChapValue.TryDecode(challengeText, out byte[] challenge))
        {
            return Fail(ChapFailure.MalformedChallenge);
        }

        // Answering our own challenge would hand the initiator the response it owes us (RFC 7143 section 12.1.3).
        if (challenge.AsSpan().SequenceEqual(_challenge))
        {
            return Fail(ChapFailure.ReflectedChallenge);
        }

        ChapUser? outgoing = _credentials!.Outgoing;
        if (outgoing is null)
        {
            return Fail(ChapFailure.MutualNotConfigured);
        }

        if (!ChapSecret.IsLongEnough(outgoing.Secret))
        {
            return Fail(ChapFailure.WeakSecret);
        }

        if (string.Equals(outgoing.Secret, user.Secret, StringComparison.Ordinal))
        {
            return Fail(ChapFailure.SameSecretBothWays);
        }

        Span<byte> ours = stackalloc byte[ChapSecret.MaxDigestLengthBytes];
        ours = ours[..ChapSecret.DigestLength(Algorithm!.Value)];
        ChapSecret.ComputeResponse(Algorithm.Value, (byte)identifier, outgoing.Secret, challenge, ours);
        answers.Add(new("CHAP_N", outgoing.Name));
        answers.Add(new("CHAP_R", ChapValue.EncodeHex(ours)));
        Mutual = true;
        return LoginStatus.Success;
    }

    private LoginStatus Fail(ChapFailure failure)
    {
        Failure = failure;
        return LoginStatus.AuthenticationFailure;
    }
}

/// <summary>Words for <see cref="ChapFailure"/> in log messages.</summary>
internal static class ChapFailureText
{
    /// <summary>A short sentence for the log; never holds a secret or a CHAP value.</summary>
    public static string Describe(this ChapFailure failure) => failure switch
    {
        ChapFailure.ChapNotOffered => "the target requires CHAP and the initiator did not offer it",
        ChapFailure.NoCredentials => "the initiator offered only CHAP and no IncomingUser is configured",
        ChapFailure.NoCommonAlgorithm => "no CHAP algorithm offered by the initiator is accepted",
        ChapFailure.IncompleteExchange => "the initiator stopped the CHAP exchange half-way",
        ChapFailure.MissingResponse => "CHAP_N or CHAP_R is missing",
        ChapFailure.UnknownUser => "unknown CHAP user",
        ChapFailure.MalformedResponse => "CHAP_R is malformed or has the wrong length",
        ChapFailure.WrongResponse => "wrong CHAP response (wrong secret)",
        ChapFailure.WeakSecret => "the configured secret is shorter than 12 bytes and is refused",
        ChapFailure.MutualNotConfigured => "the initiator asked for mutual CHAP and no OutgoingUser is configured",
        ChapFailure.MalformedChallenge => "the initiator's CHAP_I or CHAP_C is malformed or incomplete",
        ChapFailure.ReflectedChallenge => "the initiator reflected the target's challenge",
        ChapFailure.SameSecretBothWays => "the OutgoingUser has the IncomingUser's secret, which is refused",
        _ => "authentication failed",
    };
}
