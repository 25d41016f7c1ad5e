// Licensed under the Apache License, Version 2.0.

using Scst.Transport.Iscsi.Protocol;

namespace Scst.Transport.Iscsi.Tests.Protocol;

public class LoginNegotiatorTests
{
    private static readonly TargetNegotiationOptions s_options = new()
    {
        MaxRecvDataSegmentLength = 262_144,
        MaxBurstLength = 262_144,
        FirstBurstLength = 65_536,
        MaxConnections = 4,
        MaxOutstandingR2T = 8,
        DefaultTime2Wait = 2,
        DefaultTime2Retain = 20,
        ErrorRecoveryLevel = 0,
        InitialR2T = false,
        ImmediateData = true,
    };

    private static (LoginStatus Status, Dictionary<string, string> Answers, LoginNegotiator Negotiator) Negotiate(
        string keys, LoginStage stage = LoginStage.OperationalNegotiation, TargetNegotiationOptions? options = null)
    {
        var negotiator = new LoginNegotiator(options ?? s_options);
        var offered = keys.Split(';', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2))
            .Select(p => new TextKeyValue(p[0], p[1]))
            .ToList();
        var answers = new List<TextKeyValue>();
        var status = negotiator.Negotiate(offered, stage, answers);
        return (status, answers.ToDictionary(a => a.Key, a => a.Value), negotiator);
    }

    [Fact]
    public void NumericalMinimum_OfferAboveOurLimit_AnswersOurLimit()
    {
        var (status, answers, negotiator) = Negotiate("MaxBurstLength=1048576;MaxConnections=2;MaxOutstandingR2T=16;DefaultTime2Retain=0;ErrorRecoveryLevel=2");

        status.Should().Be(LoginStatus.Success);
        answers["MaxBurstLength"].Should().Be("262144");
        answers["MaxConnections"].Should().Be("2");
        answers["MaxOutstandingR2T"].Should().Be("8");
        answers["DefaultTime2Retain"].Should().Be("0");
        answers["ErrorRecoveryLevel"].Should().Be("0");
        negotiator.Parameters.MaxBurstLength.Should().Be(262_144);
        negotiator.Parameters.MaxOutstandingR2T.Should().Be(8);
    }

    [Fact]
    public void NumericalMaximum_DefaultTime2Wait_AnswersTheLarger()
    {
        Negotiate("DefaultTime2Wait=0").Answers["DefaultTime2Wait"].Should().Be("2");
        Negotiate("DefaultTime2Wait=10").Answers["DefaultTime2Wait"].Should().Be("10");
    }

    [Fact]
    public void BooleanOr_InitialR2T_YesWinsFromEitherSide()
    {
        Negotiate("InitialR2T=No").Answers["InitialR2T"].Should().Be("No");
        Negotiate("InitialR2T=Yes").Answers["InitialR2T"].Should().Be("Yes");
        Negotiate("InitialR2T=No", options: s_options with { InitialR2T = true }).Answers["InitialR2T"].Should().Be("Yes");
        Negotiate("DataPDUInOrder=No").Answers["DataPDUInOrder"].Should().Be("Yes");
        Negotiate("DataSequenceInOrder=No").Answers["DataSequenceInOrder"].Should().Be("Yes");
    }

    [Fact]
    public void BooleanAnd_ImmediateData_NoWinsFromEitherSide()
    {
        Negotiate("ImmediateData=Yes").Answers["ImmediateData"].Should().Be("Yes");
        Negotiate("ImmediateData=No").Answers["ImmediateData"].Should().Be("No");
        Negotiate("ImmediateData=Yes", options: s_options with { ImmediateData = false }).Answers["ImmediateData"].Should().Be("No");
    }

    [Fact]
    public void ListKey_Digests_PicksFirstSupportedOrRejects()
    {
        var (_, answers, negotiator) = Negotiate("HeaderDigest=CRC32C,None;DataDigest=CRC32C");

        answers["HeaderDigest"].Should().Be("None");
        answers["DataDigest"].Should().Be("Reject");
        negotiator.Parameters.DataDigest.Should().Be(DigestKind.None);
    }

    [Fact]
    public void Declarative_MaxRecvDataSegmentLength_RecordsInitiatorLimitAndDeclaresOurs()
    {
        var (_, answers, negotiator) = Negotiate("MaxRecvDataSegmentLength=65536;InitiatorName=iqn.x;InitiatorAlias=host;TargetName=iqn.t");

        answers.Should().ContainKey("MaxRecvDataSegmentLength").WhoseValue.Should().Be("262144");
        answers.Should().NotContainKeys("InitiatorName", "InitiatorAlias", "TargetName");
        var final = negotiator.Complete();
        final.InitiatorMaxRecvDataSegmentLength.Should().Be(65_536);
        final.TargetMaxRecvDataSegmentLength.Should().Be(262_144);
        final.InitiatorName.Should().Be("iqn.x");
        final.InitiatorAlias.Should().Be("host");
        final.TargetName.Should().Be("iqn.t");
    }

    [Fact]
    public void Complete_TargetNeverDeclared_OurLimitIsTheDefault()
    {
        Negotiate("InitiatorName=iqn.x").Negotiator.Complete().TargetMaxRecvDataSegmentLength.Should().Be(8192);
    }

    [Fact]
    public void FirstBurstLength_InitialR2TYesAndImmediateDataNo_Irrelevant()
    {
        var (_, answers, _) = Negotiate("FirstBurstLength=4096;InitialR2T=Yes;ImmediateData=No");

        answers["FirstBurstLength"].Should().Be("Irrelevant");
    }

    [Fact]
    public void FirstBurstLength_AboveNegotiatedMaxBurstLength_CappedByIt()
    {
        var (_, answers, negotiator) = Negotiate("FirstBurstLength=65536;MaxBurstLength=16384");

        answers["FirstBurstLength"].Should().Be("16384");
        negotiator.Complete().FirstBurstLength.Should().Be(16_384);
    }

    [Theory]
    [InlineData("MaxBurstLength=511")]
    [InlineData("MaxBurstLength=16777216")]
    [InlineData("MaxConnections=0")]
    [InlineData("ErrorRecoveryLevel=3")]
    [InlineData("DefaultTime2Wait=3601")]
    [InlineData("MaxBurstLength=12ab")]
    [InlineData("MaxBurstLength=")]
    [InlineData("InitialR2T=yes")]
    [InlineData("MaxRecvDataSegmentLength=100")]
    public void MalformedOrOutOfRange_AnsweredReject(string pair)
    {
        var (status, answers, _) = Negotiate(pair);

        status.Should().Be(LoginStatus.Success);
        answers[pair.Split('=')[0]].Should().Be("Reject");
    }

    [Fact]
    public void HexNumber_Accepted()
    {
        Negotiate("MaxBurstLength=0x4000").Answers["MaxBurstLength"].Should().Be("16384");
    }

    [Theory]
    [InlineData("X-com.example.Key")]
    [InlineData("X#vendor")]
    [InlineData("NoSuchKey")]
    public void UnknownOrExtensionKey_AnsweredNotUnderstood(string key)
    {
        Negotiate(key + "=1").Answers[key].Should().Be("NotUnderstood");
    }

    [Fact]
    public void KeyOfferedTwice_FailsWithInitiatorError()
    {
        Negotiate("MaxBurstLength=512;MaxBurstLength=1024").Status.Should().Be(LoginStatus.InitiatorError);
    }

    [Fact]
    public void KeyRenegotiatedInLaterRequest_FailsWithInitiatorError()
    {
        var negotiator = new LoginNegotiator(s_options);
        var answers = new List<TextKeyValue>();
        negotiator.Negotiate([new("MaxBurstLength", "512")], LoginStage.OperationalNegotiation, answers);

        negotiator.Negotiate([new("MaxBurstLength", "1024")], LoginStage.OperationalNegotiation, answers).Should().Be(LoginStatus.InitiatorError);
    }

    [Theory]
    [InlineData("TargetAddress=10.0.0.1:3260,1")]
    [InlineData("TargetPortalGroupTag=1")]
    [InlineData("TargetAlias=x")]
    public void TargetOnlyKeyFromInitiator_FailsWithInitiatorError(string pair)
    {
        Negotiate(pair).Status.Should().Be(LoginStatus.InitiatorError);
    }

    [Fact]
    public void TaskReporting_AnsweredRfc3720()
    {
        Negotiate("TaskReporting=FastAbort,RFC3720").Answers["TaskReporting"].Should().Be("RFC3720");
        Negotiate("TaskReporting=FastAbort").Answers["TaskReporting"].Should().Be("Reject");
    }

    [Fact]
    public void ProtocolLevel_AnsweredMinimumWithOurLevelOne()
    {
        var (_, answers, negotiator) = Negotiate("iSCSIProtocolLevel=2");

        answers["iSCSIProtocolLevel"].Should().Be("1");
        negotiator.Parameters.ProtocolLevel.Should().Be(1);
    }

    [Fact]
    public void ObsoleteMarkerKeys_AnsweredReject()
    {
        var (_, answers, _) = Negotiate("IFMarker=No;OFMarker=No;IFMarkInt=2048~8192;OFMarkInt=2048~8192");

        answers.Values.Should().AllBe("Reject");
        answers.Should().HaveCount(4);
    }

    [Fact]
    public void DiscoverySession_NormalOnlyKeysIrrelevant()
    {
        var (_, answers, negotiator) = Negotiate(
            "MaxConnections=1;InitialR2T=No;ImmediateData=Yes;MaxBurstLength=512;FirstBurstLength=512;MaxOutstandingR2T=1;DataPDUInOrder=Yes;DataSequenceInOrder=Yes;SessionType=Discovery;DefaultTime2Wait=0");

        foreach (var key in new[] { "MaxConnections", "InitialR2T", "ImmediateData", "MaxBurstLength", "FirstBurstLength", "MaxOutstandingR2T", "DataPDUInOrder", "DataSequenceInOrder" })
        {
            answers[key].Should().Be("Irrelevant", key);
        }

        answers["DefaultTime2Wait"].Should().Be("2");
        negotiator.Parameters.SessionType.Should().Be(SessionType.Discovery);
    }

    [Fact]
    public void SessionType_UnknownValue_FailsWithSessionTypeNotSupported()
    {
        Negotiate("SessionType=Management").Status.Should().Be(LoginStatus.SessionTypeNotSupported);
    }
}
