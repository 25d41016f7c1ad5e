// Licensed under the Apache License, Version 2.0.

using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Scst.Transport.Iscsi.Protocol;
using Scst.Transport.Iscsi.Security;

namespace Scst.Transport.Iscsi.Tests.Security;

/// <summary>
/// CHAP through the login state machine, as an initiator drives it: AuthMethod, CHAP_A, then CHAP_N/CHAP_R (and for
/// mutual CHAP the initiator's CHAP_I/CHAP_C). Expected responses are computed here with the framework's hash primitives,
/// never with the code under test.
/// </summary>
public class ChapLoginTests
{
    private const string Target = "iqn.2026-01.org.example:disk1";
    private const string Initiator = "iqn.1993-08.org.debian:01:host";
    private const string User = "host1";
    private const string Secret = "host1-secret-0123";
    private const string TargetUser = "disk1";
    private const string TargetSecret = "disk1-secret-4567";

    private readonly ChapOptions _chap = new();

    public ChapLoginTests() => _chap.ForTarget(Target).SetIncomingUser(User, Secret);

    public static TheoryData<ChapAlgorithm> Algorithms => new(Enum.GetValues<ChapAlgorithm>());

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void OneWay_EachAlgorithm_ResponseFromTheSecretAuthenticates_AndTheLoginCompletes(ChapAlgorithm algorithm)
    {
        SkipUnlessSupported(algorithm);
        var login = Create();

        var offer = Offer(login);
        var (challengeStep, identifier, challenge) = SelectAlgorithm(login, N(algorithm));
        var final = Send(login, transit: true, $"CHAP_N={User}", $"CHAP_R={Hex(Expected(algorithm, identifier, Secret, challenge))}");
        var operational = Operational(login);

        offer.Header.Transit.Should().BeFalse("CHAP needs more rounds than the initiator's T=1 assumes");
        offer.Header.CurrentStage.Should().Be(LoginStage.SecurityNegotiation);
        Answers(offer)["AuthMethod"].Should().Be("CHAP");
        challengeStep.Header.Transit.Should().BeFalse();
        Answers(challengeStep)["CHAP_A"].Should().Be(N(algorithm));
        challenge.Length.Should().BeGreaterThanOrEqualTo(DigestLength(algorithm), "the challenge is at least as long as the digest");
        final.Progress.Should().Be(LoginProgress.InProgress);
        final.Header.Status.Should().Be(LoginStatus.Success);
        final.Header.Transit.Should().BeTrue();
        final.Header.NextStage.Should().Be(LoginStage.OperationalNegotiation);
        Answers(final).Should().NotContainKeys("CHAP_N", "CHAP_R");
        operational.Progress.Should().Be(LoginProgress.Completed);
        login.Authentication.Authenticated.Should().BeTrue();
        login.Authentication.UserName.Should().Be(User);
        login.Authentication.Algorithm.Should().Be(algorithm);
        login.Authentication.Mutual.Should().BeFalse();
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void Mutual_EachAlgorithm_TargetAnswersAsItsOutgoingUser_WithTheResponseToTheInitiatorsChallenge(ChapAlgorithm algorithm)
    {
        SkipUnlessSupported(algorithm);
        _chap.ForTarget(Target).SetOutgoingUser(TargetUser, TargetSecret);
        var login = Create();
        Offer(login);
        var (_, identifier, challenge) = SelectAlgorithm(login, N(algorithm));
        byte[] ours = RandomNumberGenerator.GetBytes(24);

        var final = Send(login, transit: true, $"CHAP_N={User}", $"CHAP_R={Hex(Expected(algorithm, identifier, Secret, challenge))}",
            "CHAP_I=77", $"CHAP_C={Hex(ours)}");

        final.Header.Status.Should().Be(LoginStatus.Success);
        final.Header.Transit.Should().BeTrue();
        var answers = Answers(final);
        answers["CHAP_N"].Should().Be(TargetUser);
        answers["CHAP_R"].Should().Be(Hex(Expected(algorithm, 77, TargetSecret, ours)));
        login.Authentication.Mutual.Should().BeTrue();
        Operational(login).Progress.Should().Be(LoginProgress.Completed);
    }

    [Fact]
    public void Mutual_InitiatorChallengeInBase64AndIdentifierInHex_IsAnswered()
    {
        _chap.ForTarget(Target).SetOutgoingUser(TargetUser, TargetSecret);
        var login = Create();
        Offer(login);
        var (_, identifier, challenge) = SelectAlgorithm(login, "5");
        byte[] ours = RandomNumberGenerator.GetBytes(16);

        var final = Send(login, transit: true, $"CHAP_N={User}", $"CHAP_R={Hex(Expected(ChapAlgorithm.Md5, identifier, Secret, challenge))}",
            "CHAP_I=0x2a", $"CHAP_C=0b{Convert.ToBase64String(ours)}");

        Answers(final)["CHAP_R"].Should().Be(Hex(Expected(ChapAlgorithm.Md5, 42, TargetSecret, ours)));
    }

    [Fact]
    public void Mutual_InitiatorReflectsTheTargetsChallenge_FailsAuthentication()
    {
        _chap.ForTarget(Target).SetOutgoingUser(TargetUser, TargetSecret);
        var login = Create();
        Offer(login);
        var (_, identifier, challenge) = SelectAlgorithm(login, "5");

        var final = Send(login, transit: true, $"CHAP_N={User}", $"CHAP_R={Hex(Expected(ChapAlgorithm.Md5, identifier, Secret, challenge))}",
            $"CHAP_I={identifier}", $"CHAP_C=0X{Convert.ToHexString(challenge)}");

        ExpectAuthenticationFailure(final, login, ChapFailure.ReflectedChallenge);
        Answers(final).Should().BeEmpty("no response to the reflected challenge may leave the target");
    }

    [Fact]
    public void Mutual_WithoutOutgoingUser_FailsAuthentication()
    {
        var login = Create();
        Offer(login);
        var (_, identifier, challenge) = SelectAlgorithm(login, "5");

        var final = Send(login, transit: true, $"CHAP_N={User}", $"CHAP_R={Hex(Expected(ChapAlgorithm.Md5, identifier, Secret, challenge))}",
            "CHAP_I=1", $"CHAP_C={Hex(RandomNumberGenerator.GetBytes(16))}");

        ExpectAuthenticationFailure(final, login, ChapFailure.MutualNotConfigured);
    }

    [Theory]
    [InlineData("CHAP_I=1")]
    [InlineData("CHAP_C=0x00112233445566778899aabbccddeeff")]
    [InlineData("CHAP_I=256;CHAP_C=0x00112233445566778899aabbccddeeff")]
    [InlineData("CHAP_I=1;CHAP_C=0xnothex")]
    public void Mutual_ChallengeIncompleteOrMalformed_FailsAuthentication(string keys)
    {
        _chap.ForTarget(Target).SetOutgoingUser(TargetUser, TargetSecret);
        var login = Create();
        Offer(login);
        var (_, identifier, challenge) = SelectAlgorithm(login, "5");

        var final = Send(login, transit: true, [$"CHAP_N={User}", $"CHAP_R={Hex(Expected(ChapAlgorithm.Md5, identifier, Secret, challenge))}", .. keys.Split(';')]);

        ExpectAuthenticationFailure(final, login, ChapFailure.MalformedChallenge);
    }

    [Fact]
    public void Mutual_OutgoingSecretChangedToTheIncomingOne_IsRefusedAtLogin()
    {
        // The validator refuses this configuration at start; a change made while running is refused by the login.
        _chap.ForTarget(Target).SetOutgoingUser(TargetUser, Secret);
        var login = Create();
        Offer(login);
        var (_, identifier, challenge) = SelectAlgorithm(login, "5");

        var final = Send(login, transit: true, $"CHAP_N={User}", $"CHAP_R={Hex(Expected(ChapAlgorithm.Md5, identifier, Secret, challenge))}",
            "CHAP_I=9", $"CHAP_C={Hex(RandomNumberGenerator.GetBytes(16))}");

        ExpectAuthenticationFailure(final, login, ChapFailure.SameSecretBothWays);
    }

    [Fact]
    public void WrongSecret_FailsAuthentication()
    {
        var login = Create();
        Offer(login);
        var (_, identifier, challenge) = SelectAlgorithm(login, "5");

        var final = Send(login, transit: true, $"CHAP_N={User}", $"CHAP_R={Hex(Expected(ChapAlgorithm.Md5, identifier, "not-the-secret-0123", challenge))}");

        ExpectAuthenticationFailure(final, login, ChapFailure.WrongResponse);
        login.Authentication.UserName.Should().Be(User);
        login.Authentication.Authenticated.Should().BeFalse();
    }

    [Fact]
    public void ResponseToAnotherIdentifier_FailsAuthentication()
    {
        var login = Create();
        Offer(login);
        var (_, identifier, challenge) = SelectAlgorithm(login, "5");

        var final = Send(login, transit: true, $"CHAP_N={User}", $"CHAP_R={Hex(Expected(ChapAlgorithm.Md5, (byte)(identifier + 1), Secret, challenge))}");

        ExpectAuthenticationFailure(final, login, ChapFailure.WrongResponse);
    }

    [Fact]
    public void UnknownUser_FailsAuthentication()
    {
        var login = Create();
        Offer(login);
        var (_, identifier, challenge) = SelectAlgorithm(login, "5");

        var final = Send(login, transit: true, "CHAP_N=mallory", $"CHAP_R={Hex(Expected(ChapAlgorithm.Md5, identifier, Secret, challenge))}");

        ExpectAuthenticationFailure(final, login, ChapFailure.UnknownUser);
        login.Authentication.UserName.Should().Be("mallory");
    }

    [Fact]
    public void SeveralIncomingUsers_EachAuthenticatesWithItsOwnSecret()
    {
        _chap.ForTarget(Target).SetIncomingUser("host2", "host2-secret-89ab");
        var login = Create();
        Offer(login);
        var (_, identifier, challenge) = SelectAlgorithm(login, "5");

        var final = Send(login, transit: true, "CHAP_N=host2", $"CHAP_R={Hex(Expected(ChapAlgorithm.Md5, identifier, "host2-secret-89ab", challenge))}");

        final.Header.Status.Should().Be(LoginStatus.Success);
        login.Authentication.UserName.Should().Be("host2");
    }

    [Theory]
    [InlineData("CHAP_N=host1")]
    [InlineData("CHAP_R=0x00112233445566778899aabbccddeeff")]
    public void ResponseKeyMissing_FailsAuthentication(string keys)
    {
        var login = Create();
        Offer(login);
        SelectAlgorithm(login, "5");

        var final = Send(login, transit: true, keys);

        ExpectAuthenticationFailure(final, login, ChapFailure.MissingResponse);
    }

    [Fact]
    public void RequestAfterTheChallengeWithoutAnyResponseKey_FailsAuthentication()
    {
        var login = Create();
        Offer(login);
        SelectAlgorithm(login, "5");

        var final = Send(login, transit: true, "HeaderDigest=None");

        ExpectAuthenticationFailure(final, login, ChapFailure.MissingResponse);
    }

    [Fact]
    public void RequestAfterAuthMethodWithoutChapA_FailsAuthentication()
    {
        var login = Create();
        Offer(login);

        var step = Send(login, transit: true);

        ExpectAuthenticationFailure(step, login, ChapFailure.IncompleteExchange);
    }

    [Theory]
    [InlineData("0xZZ112233445566778899aabbccddeeff")]
    [InlineData("0x")]
    [InlineData("00112233445566778899aabbccddeeff")]
    [InlineData("0y00112233445566778899aabbccddeeff")]
    [InlineData("0x00112233445566778899aabbccddee")]
    [InlineData("0x00112233445566778899aabbccddeeff00")]
    [InlineData("0b!!!!")]
    [InlineData("0bAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("0bAAAA AAAAAAAAAAAAAAAAAA==")]
    [InlineData("0bAA=AAAAAAAAAAAAAAAAAAA==")]
    public void MalformedResponse_FailsAuthentication(string response)
    {
        var login = Create();
        Offer(login);
        SelectAlgorithm(login, "5");

        var final = Send(login, transit: true, $"CHAP_N={User}", $"CHAP_R={response}");

        ExpectAuthenticationFailure(final, login, ChapFailure.MalformedResponse);
    }

    [Fact]
    public void ResponseInBase64_Authenticates()
    {
        var login = Create();
        Offer(login);
        var (_, identifier, challenge) = SelectAlgorithm(login, "5");

        var final = Send(login, transit: true, $"CHAP_N={User}", $"CHAP_R=0b{Convert.ToBase64String(Expected(ChapAlgorithm.Md5, identifier, Secret, challenge))}");

        final.Header.Status.Should().Be(LoginStatus.Success);
        login.Authentication.Authenticated.Should().BeTrue();
    }

    [Fact]
    public void ResponseInUppercaseHex_Authenticates()
    {
        var login = Create();
        Offer(login);
        var (_, identifier, challenge) = SelectAlgorithm(login, "5");

        var final = Send(login, transit: true, $"CHAP_N={User}", $"CHAP_R=0X{Convert.ToHexString(Expected(ChapAlgorithm.Md5, identifier, Secret, challenge))}");

        final.Header.Status.Should().Be(LoginStatus.Success);
    }

    [Theory]
    [InlineData("7,5", ChapAlgorithm.Sha256)]
    [InlineData("5,7", ChapAlgorithm.Md5)]
    [InlineData("99,6,5", ChapAlgorithm.Sha1)]
    [InlineData("junk,0x7", ChapAlgorithm.Sha256)]
    public void AlgorithmNegotiation_FirstOfTheInitiatorsListThatIsAccepted(string offer, ChapAlgorithm selected)
    {
        var login = Create();
        Offer(login);

        var (step, _, challenge) = SelectAlgorithm(login, offer);

        Answers(step)["CHAP_A"].Should().Be(N(selected));
        challenge.Length.Should().BeGreaterThanOrEqualTo(DigestLength(selected));
        login.Authentication.Algorithm.Should().Be(selected);
    }

    [Fact]
    public void AlgorithmNegotiation_OnlyTheConfiguredAlgorithmsAreAccepted()
    {
        var login = Create([ChapAlgorithm.Md5]);
        Offer(login);

        var (step, _, _) = SelectAlgorithm(login, "7,6,5");

        Answers(step)["CHAP_A"].Should().Be("5");
    }

    [Theory]
    [InlineData("7")]
    [InlineData("1,2,128")]
    public void AlgorithmNegotiation_NothingAcceptable_FailsAuthentication(string offer)
    {
        var login = Create([ChapAlgorithm.Md5]);
        Offer(login);

        var step = Send(login, transit: false, $"CHAP_A={offer}");

        ExpectAuthenticationFailure(step, login, ChapFailure.NoCommonAlgorithm);
    }

    [Fact]
    public void Challenges_DifferBetweenLogins()
    {
        var first = Create();
        var second = Create();
        Offer(first);
        Offer(second);

        var (_, _, a) = SelectAlgorithm(first, "5");
        var (_, _, b) = SelectAlgorithm(second, "5");

        a.Should().NotEqual(b);
    }

    [Fact]
    public void AuthMethodNone_WhenChapIsRequired_FailsAuthentication()
    {
        var login = Create();

        var step = Offer(login, "None");

        ExpectAuthenticationFailure(step, login, ChapFailure.ChapNotOffered);
    }

    [Fact]
    public void NoneListedBeforeChap_WhenChapIsRequired_SelectsChap()
    {
        var login = Create();

        var step = Offer(login, "None,CHAP");

        Answers(step)["AuthMethod"].Should().Be("CHAP");
    }

    [Fact]
    public void ChapListedBeforeNone_WhenNothingIsRequired_SelectsNone()
    {
        var login = Create();

        var step = login.Process(Request(LoginStage.SecurityNegotiation, LoginStage.OperationalNegotiation),
            Text($"InitiatorName={Initiator}", "TargetName=iqn.2026-01.org.example:open", "AuthMethod=CHAP,None"));

        step.Header.Status.Should().Be(LoginStatus.Success);
        step.Header.Transit.Should().BeTrue();
        Answers(step)["AuthMethod"].Should().Be("None");
    }

    [Fact]
    public void OnlyChap_WhenNoIncomingUserIsConfigured_FailsAuthentication()
    {
        var login = Create();

        var step = login.Process(Request(LoginStage.SecurityNegotiation, LoginStage.OperationalNegotiation),
            Text($"InitiatorName={Initiator}", "TargetName=iqn.2026-01.org.example:open", "AuthMethod=CHAP"));

        ExpectAuthenticationFailure(step, login, ChapFailure.NoCredentials);
    }

    [Fact]
    public void LoginSkippingTheSecurityStage_WhenChapIsRequired_FailsAuthentication()
    {
        var login = Create();

        var step = login.Process(Request(LoginStage.OperationalNegotiation, LoginStage.FullFeaturePhase),
            Text($"InitiatorName={Initiator}", $"TargetName={Target}"));

        ExpectAuthenticationFailure(step, login, ChapFailure.ChapNotOffered);
    }

    [Fact]
    public void SecurityStageLeftWithoutAuthMethod_WhenChapIsRequired_FailsAuthentication()
    {
        var login = Create();

        var step = login.Process(Request(LoginStage.SecurityNegotiation, LoginStage.OperationalNegotiation),
            Text($"InitiatorName={Initiator}", $"TargetName={Target}"));

        ExpectAuthenticationFailure(step, login, ChapFailure.ChapNotOffered);
    }

    [Fact]
    public void DiscoveryCredentials_ApplyToDiscoverySessionsOnly()
    {
        _chap.Discovery.SetIncomingUser("finder", "finder-secret-0123");
        var discovery = Create();
        var normalToOpenTarget = Create();

        var refused = discovery.Process(Request(LoginStage.SecurityNegotiation, LoginStage.OperationalNegotiation),
            Text($"InitiatorName={Initiator}", "SessionType=Discovery", "AuthMethod=None"));
        var open = normalToOpenTarget.Process(Request(LoginStage.SecurityNegotiation, LoginStage.OperationalNegotiation),
            Text($"InitiatorName={Initiator}", "TargetName=iqn.2026-01.org.example:open", "AuthMethod=None"));

        ExpectAuthenticationFailure(refused, discovery, ChapFailure.ChapNotOffered);
        open.Header.Status.Should().Be(LoginStatus.Success);
    }

    [Fact]
    public void CredentialsOfferedWhereNoneAreNeeded_TheLoginGoesOnWithoutThem_AsLibiscsiSendsIt()
    {
        // libiscsi with a user in its URL offers CHAP,None; a discovery session with no users answers None. Its
        // operational request then declares InitiatorName and SessionType again, with the same values.
        var login = Create();
        var security = login.Process(Request(LoginStage.SecurityNegotiation, LoginStage.OperationalNegotiation),
            Text($"InitiatorName={Initiator}", "SessionType=Discovery", "AuthMethod=CHAP,None"));
        var operational = login.Process(Request(LoginStage.OperationalNegotiation, LoginStage.FullFeaturePhase),
            Text($"InitiatorName={Initiator}", "SessionType=Discovery", "HeaderDigest=None", "MaxRecvDataSegmentLength=262144"));
        var changed = Create();
        changed.Process(Request(LoginStage.SecurityNegotiation, LoginStage.OperationalNegotiation),
            Text($"InitiatorName={Initiator}", "SessionType=Discovery", "AuthMethod=CHAP,None"));
        var other = changed.Process(Request(LoginStage.OperationalNegotiation, LoginStage.FullFeaturePhase),
            Text("InitiatorName=iqn.2026-01.org.example:someone-else", "SessionType=Discovery"));

        security.Header.Status.Should().Be(LoginStatus.Success);
        operational.Header.Status.Should().Be(LoginStatus.Success, "the same value declared again changes nothing");
        other.Header.Status.Should().Be(LoginStatus.InitiatorError, "a different InitiatorName is a redeclaration");
    }

    [Fact]
    public void DiscoverySession_AuthenticatesWithTheDiscoveryUser()
    {
        _chap.Discovery.SetIncomingUser("finder", "finder-secret-0123");
        var login = Create();
        login.Process(Request(LoginStage.SecurityNegotiation, LoginStage.OperationalNegotiation),
            Text($"InitiatorName={Initiator}", "SessionType=Discovery", "AuthMethod=CHAP,None"));
        var (_, identifier, challenge) = SelectAlgorithm(login, "5");

        var final = Send(login, transit: true, "CHAP_N=finder", $"CHAP_R={Hex(Expected(ChapAlgorithm.Md5, identifier, "finder-secret-0123", challenge))}");

        final.Header.Status.Should().Be(LoginStatus.Success);
        login.Authentication.UserName.Should().Be("finder");
    }

    [Fact]
    public void CredentialsChangedDuringALogin_ApplyToTheNextLogin()
    {
        var inProgress = Create();
        Offer(inProgress);
        _chap.ForTarget(Target).SetIncomingUser(User, "changed-secret-0123");
        var (_, identifier, challenge) = SelectAlgorithm(inProgress, "5");
        var next = Create();
        Offer(next);
        var (_, nextIdentifier, nextChallenge) = SelectAlgorithm(next, "5");

        var old = Send(inProgress, transit: true, $"CHAP_N={User}", $"CHAP_R={Hex(Expected(ChapAlgorithm.Md5, identifier, Secret, challenge))}");
        var stale = Send(next, transit: true, $"CHAP_N={User}", $"CHAP_R={Hex(Expected(ChapAlgorithm.Md5, nextIdentifier, Secret, nextChallenge))}");

        old.Header.Status.Should().Be(LoginStatus.Success, "the login read the credentials when it started");
        ExpectAuthenticationFailure(stale, next, ChapFailure.WrongResponse);
    }

    [Fact]
    public void SecretShorterThan12Bytes_SetWhileRunning_IsRefusedAtLogin()
    {
        _chap.ForTarget(Target).SetIncomingUser(User, "short");
        var login = Create();
        Offer(login);
        var (_, identifier, challenge) = SelectAlgorithm(login, "5");

        var final = Send(login, transit: true, $"CHAP_N={User}", $"CHAP_R={Hex(Expected(ChapAlgorithm.Md5, identifier, "short", challenge))}");

        ExpectAuthenticationFailure(final, login, ChapFailure.WeakSecret);
    }

    [Fact]
    public void ChapKeyInTheOperationalStage_FailsWithInitiatorError()
    {
        var login = Create();

        var step = login.Process(Request(LoginStage.OperationalNegotiation, LoginStage.FullFeaturePhase),
            Text($"InitiatorName={Initiator}", "TargetName=iqn.2026-01.org.example:open", "CHAP_A=5"));

        step.Header.Status.Should().Be(LoginStatus.InitiatorError);
    }

    [Fact]
    public void AuthMethodInTheOperationalStage_FailsWithInitiatorError()
    {
        var login = Create();

        var step = login.Process(Request(LoginStage.OperationalNegotiation, LoginStage.FullFeaturePhase),
            Text($"InitiatorName={Initiator}", "TargetName=iqn.2026-01.org.example:open", "AuthMethod=None"));

        step.Header.Status.Should().Be(LoginStatus.InitiatorError);
    }

    [Fact]
    public void ResponseBeforeTheChallengeWasSent_FailsWithInitiatorError()
    {
        var login = Create();
        Offer(login);

        var step = Send(login, transit: false, "CHAP_A=5", $"CHAP_N={User}", "CHAP_R=0x00112233445566778899aabbccddeeff");

        step.Header.Status.Should().Be(LoginStatus.InitiatorError);
    }

    [Fact]
    public void ChapAOfferedTwice_FailsWithInitiatorError()
    {
        var login = Create();
        Offer(login);
        SelectAlgorithm(login, "5");

        var step = Send(login, transit: false, "CHAP_A=5");

        step.Header.Status.Should().Be(LoginStatus.InitiatorError);
    }

    [Fact]
    public void ChapAWithoutAuthMethodChap_FailsWithInitiatorError()
    {
        var login = Create();

        var step = login.Process(Request(LoginStage.SecurityNegotiation),
            Text($"InitiatorName={Initiator}", $"TargetName={Target}", "CHAP_A=5"));

        step.Header.Status.Should().Be(LoginStatus.InitiatorError);
    }

    [Fact]
    public void ChapUser_FormatsAsItsNameOnly()
    {
        var user = new ChapUser(User, Secret);

        $"{user}".Should().Be(User);
        _chap.ForTarget(Target).Current.ToString().Should().NotContain(Secret);
    }

    private LoginStateMachine Create(IReadOnlyList<ChapAlgorithm>? algorithms = null) => new(
        new TargetNegotiationOptions { MaxRecvDataSegmentLength = 262_144, TargetPortalGroupTag = 7 },
        new LoginCallbacks
        {
            TargetExists = name => name is Target or "iqn.2026-01.org.example:open",
            BindSession = _ => 0x1234,
        })
    {
        Security = new LoginSecurity
        {
            FindCredentials = (type, target) => _chap.Find(type == SessionType.Discovery, target),
            Algorithms = algorithms ?? Enum.GetValues<ChapAlgorithm>(),
        },
    };

    /// <summary>The first request, as libiscsi and open-iscsi send it: names, and AuthMethod, asking to transit.</summary>
    private static LoginStep Offer(LoginStateMachine login, string methods = "CHAP,None") =>
        login.Process(Request(LoginStage.SecurityNegotiation, LoginStage.OperationalNegotiation),
            Text($"InitiatorName={Initiator}", $"TargetName={Target}", "SessionType=Normal", $"AuthMethod={methods}"));

    private static (LoginStep Step, byte Identifier, byte[] Challenge) SelectAlgorithm(LoginStateMachine login, string algorithms)
    {
        var step = Send(login, transit: false, $"CHAP_A={algorithms}");
        step.Header.Status.Should().Be(LoginStatus.Success);
        var answers = Answers(step);
        byte identifier = byte.Parse(answers["CHAP_I"], System.Globalization.CultureInfo.InvariantCulture);
        answers["CHAP_C"].Should().StartWith("0x");
        return (step, identifier, Convert.FromHexString(answers["CHAP_C"].AsSpan(2)));
    }

    private static LoginStep Send(LoginStateMachine login, bool transit, params string[] keys) =>
        login.Process(Request(LoginStage.SecurityNegotiation, transit ? LoginStage.OperationalNegotiation : null), Text(keys));

    private static LoginStep Operational(LoginStateMachine login) =>
        login.Process(Request(LoginStage.OperationalNegotiation, LoginStage.FullFeaturePhase), Text("HeaderDigest=None"));

    private static LoginRequestHeader Request(LoginStage current, LoginStage? next = null) => new()
    {
        Transit = next is not null,
        CurrentStage = current,
        NextStage = next ?? LoginStage.SecurityNegotiation,
        Isid = 0x0002_3d00_0001,
        InitiatorTaskTag = 0x77,
        Cid = 1,
        CmdSn = 5,
        ExpStatSn = 100,
    };

    private static ReadOnlySequence<byte> Text(params string[] keys) =>
        new(Encoding.UTF8.GetBytes(string.Concat(keys.Where(k => k.Length > 0).Select(k => k + "\0"))));

    private static Dictionary<string, string> Answers(LoginStep step)
    {
        var pairs = new List<TextKeyValue>();
        TextKeys.TryParse(step.Data.Span, pairs).Should().Be(TextParseError.None);
        return pairs.ToDictionary(p => p.Key, p => p.Value);
    }

    private static void ExpectAuthenticationFailure(LoginStep step, LoginStateMachine login, ChapFailure failure)
    {
        step.Progress.Should().Be(LoginProgress.Failed);
        step.Header.Status.Should().Be(LoginStatus.AuthenticationFailure);
        login.Authentication.Failure.Should().Be(failure);
        login.Authentication.Authenticated.Should().BeFalse();
    }

    private static string N(ChapAlgorithm algorithm) => ((int)algorithm).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static string Hex(byte[] value) => "0x" + Convert.ToHexStringLower(value);

    private static void SkipUnlessSupported(ChapAlgorithm algorithm)
    {
        if (algorithm == ChapAlgorithm.Sha3_256 && !SHA3_256.IsSupported)
        {
            Assert.Skip("SHA3-256 is not provided by this platform's cryptography library.");
        }
    }

    private static int DigestLength(ChapAlgorithm algorithm) => algorithm switch
    {
        ChapAlgorithm.Md5 => 16,
        ChapAlgorithm.Sha1 => 20,
        _ => 32,
    };

    /// <summary>RFC 1994: the digest of the identifier, the secret and the challenge, computed independently of the target.</summary>
    private static byte[] Expected(ChapAlgorithm algorithm, byte identifier, string secret, byte[] challenge)
    {
        byte[] input = [identifier, .. Encoding.UTF8.GetBytes(secret), .. challenge];
#pragma warning disable CA5351, CA5350 // the algorithms CHAP_A names
        return algorithm switch
        {
            ChapAlgorithm.Md5 => MD5.HashData(input),
            ChapAlgorithm.Sha1 => SHA1.HashData(input),
            ChapAlgorithm.Sha256 => SHA256.HashData(input),
            ChapAlgorithm.Sha3_256 => SHA3_256.HashData(input),
            _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
        };
#pragma warning restore CA5351, CA5350
    }
}
