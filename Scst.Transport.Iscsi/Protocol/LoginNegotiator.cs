// Licensed under the Apache License, Version 2.0.

using System.Globalization;

namespace Scst.Transport.Iscsi.Protocol;

/// <summary>
/// The target side of login key negotiation (RFC 7143 sections 6.2 and 13) for one connection: answers
/// the keys the initiator offers and accumulates the outcome in <see cref="Parameters"/>.
/// </summary>
/// <remarks>
/// Answers follow the key's kind: numerical keys answer min (or max) of the offer and our limit; Boolean keys
/// answer AND or OR of the offer and our value; list keys answer the first offered value we support, or
/// <c>Reject</c>; declarative keys need no answer (MaxRecvDataSegmentLength is answered with our own
/// declaration). Keys irrelevant to the session (Discovery, or FirstBurstLength with InitialR2T=Yes and
/// ImmediateData=No) are answered <c>Irrelevant</c>; unknown keys, including X- and X# extension keys,
/// <c>NotUnderstood</c>; malformed or out-of-range values <c>Reject</c>, keeping the default. The obsolete
/// marker keys of RFC 3720 are answered <c>Reject</c> (RFC 7143 section 13.25). A key offered twice in one
/// login, or a key only a target may send, fails the login (section 6.2: renegotiation is an initiator error).
/// Operational keys are accepted in the security stage too (lenient). The authentication keys (AuthMethod, CHAP_*)
/// never come here: the login state machine hands them to <see cref="Security.LoginAuthentication"/>.
/// </remarks>
internal sealed class LoginNegotiator
{
    /// <summary>The RFC's range of the data segment length keys.</summary>
    public const int MinDataSegmentLength = 512;

    /// <summary>The RFC's range of the data segment length keys (2^24 - 1).</summary>
    public const int MaxDataSegmentLength = 16_777_215;

    /// <summary>MaxRecvDataSegmentLength that applies when a side never declares one.</summary>
    public const int DefaultMaxRecvDataSegmentLength = 8192;

    private const string Reject = "Reject";
    private const string Irrelevant = "Irrelevant";
    private const string NotUnderstood = "NotUnderstood";

    private TargetNegotiationOptions _options;
    private readonly HashSet<string> _seenKeys = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _identity = new(StringComparer.Ordinal);
    private bool _targetLimitDeclared;

    /// <summary>Creates a negotiator over the target's configured values.</summary>
    public LoginNegotiator(TargetNegotiationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        Parameters = new NegotiatedParameters { ProtocolLevel = 0 };
    }

    /// <summary>Answers with other values from now on: the target's own, once the login has named it.</summary>
    public void UseOptions(TargetNegotiationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
    }

    /// <summary>The values negotiated so far (RFC defaults for the rest).</summary>
    public NegotiatedParameters Parameters { get; private set; }

    /// <summary>True once the initiator has declared SessionType.</summary>
    public bool SessionTypeDeclared => _seenKeys.Contains("SessionType");

    /// <summary>
    /// Processes the keys of one complete request and appends our answers to <paramref name="answers"/>.
    /// </summary>
    /// <returns><see cref="LoginStatus.Success"/>, or the status that fails the login.</returns>
    public LoginStatus Negotiate(IReadOnlyList<TextKeyValue> offered, LoginStage stage, List<TextKeyValue> answers)
    {
        ArgumentNullException.ThrowIfNull(offered);
        ArgumentNullException.ThrowIfNull(answers);
        // A key may be declared once (RFC 7143 section 6.2). libiscsi declares the login's identity keys again, with
        // the same values, in its first operational request after a security stage: those repeats are dropped; any
        // other repeat, or one with another value, fails the login.
        List<TextKeyValue>? kept = null;
        for (int i = 0; i < offered.Count; i++)
        {
            TextKeyValue pair = offered[i];
            if (_seenKeys.Add(pair.Key))
            {
                if (pair.Key is "InitiatorName" or "SessionType" or "TargetName" or "InitiatorAlias")
                {
                    _identity[pair.Key] = pair.Value;
                }
            }
            else if (_identity.TryGetValue(pair.Key, out string? first) && first == pair.Value)
            {
                kept ??= [.. offered.Take(i)];
                continue;
            }
            else
            {
                return LoginStatus.InitiatorError;
            }

            kept?.Add(pair);
        }

        if (kept is not null)
        {
            offered = kept;
        }

        // SessionType decides which keys are irrelevant, wherever it sits in the request.
        foreach (var pair in offered)
        {
            if (pair.Key == "SessionType")
            {
                SessionType? type = pair.Value switch { "Normal" => SessionType.Normal, "Discovery" => SessionType.Discovery, _ => null };
                if (type is null)
                {
                    return LoginStatus.SessionTypeNotSupported;
                }

                Parameters = Parameters with { SessionType = type.Value };
            }
        }

        TextKeyValue? firstBurst = null;
        foreach (var pair in offered)
        {
            if (pair.Key == "FirstBurstLength")
            {
                // Answered last: its relevance and ceiling depend on InitialR2T, ImmediateData and MaxBurstLength.
                firstBurst = pair;
                continue;
            }

            var status = NegotiateOne(pair, stage, answers);
            if (status != LoginStatus.Success)
            {
                return status;
            }
        }

        if (firstBurst is { } fbl)
        {
            NegotiateFirstBurstLength(fbl.Value, answers);
        }

        return LoginStatus.Success;
    }

    /// <summary>
    /// Appends our MaxRecvDataSegmentLength declaration if we have not made it yet. Called by the login state
    /// machine in the operational stage, so the initiator learns our limit even if it never declared its own.
    /// </summary>
    public void DeclareTargetKeys(List<TextKeyValue> answers)
    {
        ArgumentNullException.ThrowIfNull(answers);
        if (!_targetLimitDeclared)
        {
            _targetLimitDeclared = true;
            answers.Add(new("MaxRecvDataSegmentLength", Format(_options.MaxRecvDataSegmentLength)));
        }
    }

    /// <summary>The final parameters: FirstBurstLength capped by MaxBurstLength, our declared limit applied.</summary>
    public NegotiatedParameters Complete() => Parameters with
    {
        FirstBurstLength = Math.Min(Parameters.FirstBurstLength, Parameters.MaxBurstLength),
        TargetMaxRecvDataSegmentLength = _targetLimitDeclared ? _options.MaxRecvDataSegmentLength : DefaultMaxRecvDataSegmentLength,
    };

    private LoginStatus NegotiateOne(TextKeyValue pair, LoginStage stage, List<TextKeyValue> answers)
    {
        var (key, value) = pair;
        var discovery = Parameters.SessionType == SessionType.Discovery;
        switch (key)
        {
            case "SessionType":
                return LoginStatus.Success;
            case "InitiatorName":
                Parameters = Parameters with { InitiatorName = value };
                return LoginStatus.Success;
            case "InitiatorAlias":
                Parameters = Parameters with { InitiatorAlias = value };
                return LoginStatus.Success;
            case "TargetName":
                Parameters = Parameters with { TargetName = value };
                return LoginStatus.Success;
            case "TargetAddress" or "TargetAlias" or "TargetPortalGroupTag":
                // Only a target sends these (RFC 7143 sections 13.7-13.9).
                return LoginStatus.InitiatorError;
            case "MaxRecvDataSegmentLength":
                if (TryParseNumber(value, MinDataSegmentLength, MaxDataSegmentLength, out var mrdsl))
                {
                    Parameters = Parameters with { InitiatorMaxRecvDataSegmentLength = mrdsl };
                    _targetLimitDeclared = true;
                    answers.Add(new(key, Format(_options.MaxRecvDataSegmentLength)));
                }
                else
                {
                    answers.Add(new(key, Reject));
                }

                return LoginStatus.Success;
            case "HeaderDigest" or "DataDigest":
                return NegotiateDigest(key, value, answers);
            case "TaskReporting":
                answers.Add(new(key, discovery ? Irrelevant : SelectFromList(value, "RFC3720") ?? Reject));
                return LoginStatus.Success;
            case "IFMarker" or "OFMarker" or "IFMarkInt" or "OFMarkInt":
                answers.Add(new(key, Reject));
                return LoginStatus.Success;
            case "SendTargets":
                // Full Feature Phase only (RFC 7143 section 13.3).
                answers.Add(new(key, Irrelevant));
                return LoginStatus.Success;
        }

        if (discovery && IsIrrelevantInDiscovery(key))
        {
            answers.Add(new(key, Irrelevant));
            return LoginStatus.Success;
        }

        var answer = key switch
        {
            "MaxConnections" => Minimum(value, 1, 65_535, _options.MaxConnections, v => Parameters = Parameters with { MaxConnections = v }),
            "MaxBurstLength" => Minimum(value, MinDataSegmentLength, MaxDataSegmentLength, _options.MaxBurstLength, v => Parameters = Parameters with { MaxBurstLength = v }),
            "MaxOutstandingR2T" => Minimum(value, 1, 65_535, _options.MaxOutstandingR2T, v => Parameters = Parameters with { MaxOutstandingR2T = v }),
            "DefaultTime2Retain" => Minimum(value, 0, 3600, _options.DefaultTime2Retain, v => Parameters = Parameters with { DefaultTime2Retain = v }),
            "ErrorRecoveryLevel" => Minimum(value, 0, 2, _options.ErrorRecoveryLevel, v => Parameters = Parameters with { ErrorRecoveryLevel = v }),
            "iSCSIProtocolLevel" => Minimum(value, 0, 31, _options.ProtocolLevel, v => Parameters = Parameters with { ProtocolLevel = v }),
            "DefaultTime2Wait" => Maximum(value, 0, 3600, _options.DefaultTime2Wait, v => Parameters = Parameters with { DefaultTime2Wait = v }),
            "InitialR2T" => Boolean(value, _options.InitialR2T, or: true, v => Parameters = Parameters with { InitialR2T = v }),
            "ImmediateData" => Boolean(value, _options.ImmediateData, or: false, v => Parameters = Parameters with { ImmediateData = v }),
            "DataPDUInOrder" => Boolean(value, _options.DataPduInOrder, or: true, v => Parameters = Parameters with { DataPduInOrder = v }),
            "DataSequenceInOrder" => Boolean(value, _options.DataSequenceInOrder, or: true, v => Parameters = Parameters with { DataSequenceInOrder = v }),
            _ => NotUnderstood,
        };
        answers.Add(new(key, answer));
        return LoginStatus.Success;
    }

    /// <summary>
    /// HeaderDigest and DataDigest (RFC 7143 sections 13.1, 13.2): the first value of the initiator's list that we
    /// accept. When none is, a Normal session whose policy excludes None cannot go on (section 6.2.1 lets the acceptor
    /// end the negotiation), while any other answers <c>Reject</c> and keeps None.
    /// </summary>
    private LoginStatus NegotiateDigest(string key, string value, List<TextKeyValue> answers)
    {
        var header = key == "HeaderDigest";
        var accepted = AcceptedDigests(header);
        if (Digests.Select(value, accepted) is not { } digest)
        {
            if (!accepted.Contains(DigestKind.None))
            {
                return LoginStatus.InitiatorError;
            }

            answers.Add(new(key, Reject));
            return LoginStatus.Success;
        }

        Parameters = header ? Parameters with { HeaderDigest = digest } : Parameters with { DataDigest = digest };
        answers.Add(new(key, Digests.Name(digest)));
        return LoginStatus.Success;
    }

    /// <summary>
    /// Checks, before the login completes, that the digests in force (None for a key the initiator never offered) are
    /// ones we accept: a target configured for CRC32C only refuses a Normal session without it.
    /// </summary>
    public LoginStatus CheckDigests() =>
        AcceptedDigests(header: true).Contains(Parameters.HeaderDigest) && AcceptedDigests(header: false).Contains(Parameters.DataDigest)
            ? LoginStatus.Success
            : LoginStatus.InitiatorError;

    // A Discovery session may always go without digests (SCST applies the target's digest policy to Normal sessions only).
    private DigestSet AcceptedDigests(bool header) =>
        (header ? _options.HeaderDigests : _options.DataDigests) | (Parameters.SessionType == SessionType.Discovery ? DigestSet.None : DigestSet.Empty);

    private void NegotiateFirstBurstLength(string value, List<TextKeyValue> answers)
    {
        const string key = "FirstBurstLength";
        if (Parameters.SessionType == SessionType.Discovery || (Parameters.InitialR2T && !Parameters.ImmediateData))
        {
            answers.Add(new(key, Irrelevant));
            return;
        }

        // FirstBurstLength must not exceed MaxBurstLength (RFC 7143 section 13.14).
        var ceiling = Math.Min(_options.FirstBurstLength, Parameters.MaxBurstLength);
        answers.Add(new(key, Minimum(value, MinDataSegmentLength, MaxDataSegmentLength, ceiling, v => Parameters = Parameters with { FirstBurstLength = v })));
    }

    private static bool IsIrrelevantInDiscovery(string key) =>
        key is "MaxConnections" or "InitialR2T" or "ImmediateData" or "MaxBurstLength" or "MaxOutstandingR2T"
            or "DataPDUInOrder" or "DataSequenceInOrder" or "iSCSIProtocolLevel";

    private static string Minimum(string value, int min, int max, int ours, Action<int> apply)
    {
        if (!TryParseNumber(value, min, max, out var offered))
        {
            return Reject;
        }

        var result = Math.Min(offered, ours);
        apply(result);
        return Format(result);
    }

    private static string Maximum(string value, int min, int max, int ours, Action<int> apply)
    {
        if (!TryParseNumber(value, min, max, out var offered))
        {
            return Reject;
        }

        var result = Math.Max(offered, ours);
        apply(result);
        return Format(result);
    }

    private static string Boolean(string value, bool ours, bool or, Action<bool> apply)
    {
        bool offered;
        switch (value)
        {
            case "Yes":
                offered = true;
                break;
            case "No":
                offered = false;
                break;
            default:
                return Reject;
        }

        var result = or ? offered || ours : offered && ours;
        apply(result);
        return result ? "Yes" : "No";
    }

    /// <summary>First value of the comma-separated offer that we support (only <paramref name="supported"/>).</summary>
    private static string? SelectFromList(string offer, string supported)
    {
        foreach (var item in offer.Split(','))
        {
            if (item == supported)
            {
                return supported;
            }
        }

        return null;
    }

    /// <summary>Parses a decimal or 0x-prefixed hexadecimal constant (RFC 7143 section 6.1) within [min, max].</summary>
    internal static bool TryParseNumber(string text, int min, int max, out int value)
    {
        value = 0;
        long parsed;
        if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            var digits = text.AsSpan(2);
            if (digits.IsEmpty || digits.Length > 16 || !long.TryParse(digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out parsed))
            {
                return false;
            }
        }
        else
        {
            if (text.Length == 0 || text.Length > 19 || !text.All(char.IsAsciiDigit)
                || !long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out parsed))
            {
                return false;
            }
        }

        if (parsed < min || parsed > max)
        {
            return false;
        }

        value = (int)parsed;
        return true;
    }

    private static string Format(int value) => value.ToString(CultureInfo.InvariantCulture);
}
