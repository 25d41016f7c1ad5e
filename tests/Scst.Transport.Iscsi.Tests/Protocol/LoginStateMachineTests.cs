// Licensed under the Apache License, Version 2.0.

using System.Buffers;
using System.Text;
using Scst.Transport.Iscsi.Protocol;

namespace Scst.Transport.Iscsi.Tests.Protocol;

public class LoginStateMachineTests
{
    private const string Target = "iqn.2026-01.org.example:disk1";
    private const string Initiator = "iqn.1993-08.org.debian:01:host";
    private const ulong Isid = 0x0002_3d00_0001;

    private readonly List<SessionBindingRequest> _bindings = [];

    private LoginStateMachine Create(Func<SessionBindingRequest, ushort?>? bind = null) => new(
        new TargetNegotiationOptions { MaxRecvDataSegmentLength = 262_144, TargetPortalGroupTag = 7 },
        new LoginCallbacks
        {
            TargetExists = name => name == Target,
            BindSession = request =>
            {
                _bindings.Add(request);
                return bind is null ? (ushort)0x1234 : bind(request);
            },
        });

    private static LoginRequestHeader Request(LoginStage current, LoginStage? next = null, bool @continue = false, ushort tsih = 0, byte versionMin = 0) => new()
    {
        Transit = next is not null,
        Continue = @continue,
        CurrentStage = current,
        NextStage = next ?? LoginStage.SecurityNegotiation,
        VersionMin = versionMin,
        Isid = Isid,
        Tsih = tsih,
        InitiatorTaskTag = 0x77,
        Cid = 1,
        CmdSn = 5,
        ExpStatSn = 100,
    };

    private static ReadOnlySequence<byte> Text(string keys) => new(Encoding.UTF8.GetBytes(keys.Replace(';', '\0')));

    private static Dictionary<string, string> Answers(LoginStep step)
    {
        var pairs = new List<TextKeyValue>();
        TextKeys.TryParse(step.Data.Span, pairs).Should().Be(TextParseError.None);
        return pairs.ToDictionary(p => p.Key, p => p.Value);
    }

    [Fact]
    public void SinglePdu_OperationalToFullFeature_CompletesWithTsihAndParameters()
    {
        var login = Create();

        var step = login.Process(
            Request(LoginStage.OperationalNegotiation, LoginStage.FullFeaturePhase),
            Text($"InitiatorName={Initiator};TargetName={Target};SessionType=Normal;MaxRecvDataSegmentLength=65536;ImmediateData=No;"));

        step.Progress.Should().Be(LoginProgress.Completed);
        step.Header.Status.Should().Be(LoginStatus.Success);
        step.Header.Transit.Should().BeTrue();
        step.Header.CurrentStage.Should().Be(LoginStage.OperationalNegotiation);
        step.Header.NextStage.Should().Be(LoginStage.FullFeaturePhase);
        step.Header.Tsih.Should().Be(0x1234);
        step.Header.Isid.Should().Be(Isid);
        step.Header.InitiatorTaskTag.Should().Be(0x77u);
        step.Header.StatSn.Should().Be(100u);
        step.Header.ExpCmdSn.Should().Be(5u);
        step.Header.MaxCmdSn.Should().Be(5u + 31);
        step.Header.DataSegmentLength.Should().Be(step.Data.Length);
        var answers = Answers(step);
        answers["TargetPortalGroupTag"].Should().Be("7");
        answers["MaxRecvDataSegmentLength"].Should().Be("262144");
        answers["ImmediateData"].Should().Be("No");
        var result = login.Result!;
        result.Identity.Should().Be(new LoginIdentity(Initiator, null, Isid, 0x1234, 1, Target, SessionType.Normal));
        result.Parameters.InitiatorMaxRecvDataSegmentLength.Should().Be(65_536);
        result.Parameters.ImmediateData.Should().BeFalse();
        result.NextStatSn.Should().Be(101u);
        result.ExpCmdSn.Should().Be(5u);
        _bindings.Should().ContainSingle().Which.Tsih.Should().Be(0);
    }

    [Fact]
    public void TwoSteps_SecurityThenOperationalThenFullFeature_Completes()
    {
        var login = Create();

        var security = login.Process(
            Request(LoginStage.SecurityNegotiation, LoginStage.OperationalNegotiation),
            Text($"InitiatorName={Initiator};TargetName={Target};AuthMethod=CHAP,None;"));
        var operational = login.Process(
            Request(LoginStage.OperationalNegotiation) with { ExpStatSn = 101 },
            Text("HeaderDigest=None;MaxBurstLength=131072;"));
        var final = login.Process(
            Request(LoginStage.OperationalNegotiation, LoginStage.FullFeaturePhase) with { ExpStatSn = 102 },
            Text("FirstBurstLength=262144;"));

        security.Progress.Should().Be(LoginProgress.InProgress);
        security.Header.Transit.Should().BeTrue();
        security.Header.CurrentStage.Should().Be(LoginStage.SecurityNegotiation);
        security.Header.NextStage.Should().Be(LoginStage.OperationalNegotiation);
        security.Header.Tsih.Should().Be(0);
        Answers(security)["AuthMethod"].Should().Be("None");
        operational.Header.Transit.Should().BeFalse();
        operational.Header.StatSn.Should().Be(101u);
        Answers(operational)["MaxBurstLength"].Should().Be("131072");
        final.Progress.Should().Be(LoginProgress.Completed);
        final.Header.StatSn.Should().Be(102u);
        Answers(final)["FirstBurstLength"].Should().Be("65536");
        login.Result!.Parameters.MaxBurstLength.Should().Be(131_072);
        login.Result.Parameters.TargetMaxRecvDataSegmentLength.Should().Be(262_144);
    }

    [Fact]
    public void SecurityStraightToFullFeature_SkippingOperational_Completes()
    {
        var login = Create();

        var step = login.Process(
            Request(LoginStage.SecurityNegotiation, LoginStage.FullFeaturePhase),
            Text($"InitiatorName={Initiator};TargetName={Target};AuthMethod=None;"));

        step.Progress.Should().Be(LoginProgress.Completed);
        login.Result!.Parameters.TargetMaxRecvDataSegmentLength.Should().Be(8192);
    }

    [Fact]
    public void ContinuedRequest_AnsweredEmptyUntilComplete()
    {
        var login = Create();
        var text = Encoding.UTF8.GetBytes($"InitiatorName={Initiator}\0TargetName={Target}\0");

        var first = login.Process(Request(LoginStage.OperationalNegotiation, @continue: true), new ReadOnlySequence<byte>(text, 0, 25));
        var second = login.Process(Request(LoginStage.OperationalNegotiation, LoginStage.FullFeaturePhase), new ReadOnlySequence<byte>(text, 25, text.Length - 25));

        first.Progress.Should().Be(LoginProgress.InProgress);
        first.Data.Length.Should().Be(0);
        first.Header.Transit.Should().BeFalse();
        first.Header.Continue.Should().BeFalse();
        first.Header.Status.Should().Be(LoginStatus.Success);
        second.Progress.Should().Be(LoginProgress.Completed);
        login.Result!.Identity.InitiatorName.Should().Be(Initiator);
    }

    [Fact]
    public void UnknownTarget_FailsWithNotFound()
    {
        var step = Create().Process(
            Request(LoginStage.OperationalNegotiation, LoginStage.FullFeaturePhase),
            Text($"InitiatorName={Initiator};TargetName=iqn.2026-01.org.example:nope;"));

        step.Progress.Should().Be(LoginProgress.Failed);
        step.Header.Status.Should().Be(LoginStatus.NotFound);
        step.Header.Transit.Should().BeFalse();
        step.Data.Length.Should().Be(0);
    }

    [Fact]
    public void MissingInitiatorName_FailsWithMissingParameter()
    {
        var step = Create().Process(Request(LoginStage.OperationalNegotiation, LoginStage.FullFeaturePhase), Text($"TargetName={Target};"));

        step.Header.Status.Should().Be(LoginStatus.MissingParameter);
    }

    [Fact]
    public void MissingTargetNameInNormalSession_FailsWithMissingParameter()
    {
        var step = Create().Process(Request(LoginStage.OperationalNegotiation, LoginStage.FullFeaturePhase), Text($"InitiatorName={Initiator};"));

        step.Header.Status.Should().Be(LoginStatus.MissingParameter);
    }

    [Fact]
    public void VersionMinAboveZero_FailsWithUnsupportedVersion()
    {
        var step = Create().Process(Request(LoginStage.OperationalNegotiation, LoginStage.FullFeaturePhase, versionMin: 1), Text($"InitiatorName={Initiator};TargetName={Target};"));

        step.Header.Status.Should().Be(LoginStatus.UnsupportedVersion);
        step.Header.StatusClassIsInitiatorError().Should().BeTrue();
    }

    [Fact]
    public void DiscoverySession_NeedsNoTargetName_AndReportsNone()
    {
        var login = Create();

        var step = login.Process(
            Request(LoginStage.OperationalNegotiation, LoginStage.FullFeaturePhase),
            Text($"InitiatorName={Initiator};SessionType=Discovery;MaxBurstLength=512;"));

        step.Progress.Should().Be(LoginProgress.Completed);
        var answers = Answers(step);
        answers["MaxBurstLength"].Should().Be("Irrelevant");
        answers.Should().NotContainKey("TargetPortalGroupTag");
        login.Result!.Identity.SessionType.Should().Be(SessionType.Discovery);
        login.Result.Identity.TargetName.Should().BeNull();
    }

    [Fact]
    public void OnlyChapOffered_FailsWithAuthenticationFailure()
    {
        var step = Create().Process(
            Request(LoginStage.SecurityNegotiation, LoginStage.OperationalNegotiation),
            Text($"InitiatorName={Initiator};TargetName={Target};AuthMethod=CHAP;"));

        step.Header.Status.Should().Be(LoginStatus.AuthenticationFailure);
    }

    [Fact]
    public void ExistingTsihUnknownToSessionLayer_FailsWithSessionDoesNotExist()
    {
        var login = Create(bind: _ => null);

        var step = login.Process(
            Request(LoginStage.OperationalNegotiation, LoginStage.FullFeaturePhase, tsih: 9),
            Text($"InitiatorName={Initiator};TargetName={Target};"));

        step.Header.Status.Should().Be(LoginStatus.SessionDoesNotExist);
        _bindings.Should().ContainSingle().Which.Tsih.Should().Be(9);
    }

    [Fact]
    public void ExistingTsihKnown_CompletesKeepingIt()
    {
        var login = Create(bind: r => r.Tsih);

        var step = login.Process(
            Request(LoginStage.OperationalNegotiation, LoginStage.FullFeaturePhase, tsih: 9),
            Text($"InitiatorName={Initiator};TargetName={Target};"));

        step.Progress.Should().Be(LoginProgress.Completed);
        step.Header.Tsih.Should().Be(9);
    }

    [Fact]
    public void TransitBackwards_FailsWithInitiatorError()
    {
        var step = Create().Process(
            Request(LoginStage.OperationalNegotiation, LoginStage.SecurityNegotiation),
            Text($"InitiatorName={Initiator};TargetName={Target};"));

        step.Header.Status.Should().Be(LoginStatus.InitiatorError);
    }

    [Fact]
    public void ContinueAndTransitTogether_FailsWithInitiatorError()
    {
        var step = Create().Process(
            Request(LoginStage.OperationalNegotiation, LoginStage.FullFeaturePhase, @continue: true),
            Text($"InitiatorName={Initiator};"));

        step.Header.Status.Should().Be(LoginStatus.InitiatorError);
    }

    [Fact]
    public void StageMismatchInLaterRequest_FailsWithInitiatorError()
    {
        var login = Create();
        login.Process(Request(LoginStage.OperationalNegotiation), Text($"InitiatorName={Initiator};TargetName={Target};"));

        var step = login.Process(Request(LoginStage.SecurityNegotiation, LoginStage.FullFeaturePhase), Text(string.Empty));

        step.Header.Status.Should().Be(LoginStatus.InitiatorError);
    }

    [Fact]
    public void ProcessAfterEnd_Throws()
    {
        var login = Create();
        login.Process(Request(LoginStage.OperationalNegotiation, LoginStage.FullFeaturePhase), Text($"TargetName={Target};"));

        var act = () => login.Process(Request(LoginStage.OperationalNegotiation), Text(string.Empty));

        act.Should().Throw<InvalidOperationException>();
    }

    [Fact]
    public void Response_WrittenToWire_DecodesBack()
    {
        var step = Create().Process(
            Request(LoginStage.OperationalNegotiation, LoginStage.FullFeaturePhase),
            Text($"InitiatorName={Initiator};TargetName={Target};"));
        var buffer = Bytes.Dirty(48);

        step.Header.WriteTo(buffer);

        LoginResponseHeader.Read(buffer).Should().Be(step.Header);
    }
}

internal static class LoginResponseHeaderTestExtensions
{
    public static bool StatusClassIsInitiatorError(this LoginResponseHeader header) => ((ushort)header.Status >> 8) == 0x02;
}
