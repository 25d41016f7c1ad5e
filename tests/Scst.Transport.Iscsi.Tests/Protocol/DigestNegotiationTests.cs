// Licensed under the Apache License, Version 2.0.

using System.Buffers;
using System.Text;
using Scst.Transport.Iscsi.Protocol;

namespace Scst.Transport.Iscsi.Tests.Protocol;

/// <summary>HeaderDigest and DataDigest negotiation (RFC 7143 sections 6.2.1, 13.1, 13.2) against the target's policy.</summary>
public class DigestNegotiationTests
{
    private static (LoginStatus Status, Dictionary<string, string> Answers, LoginNegotiator Negotiator) Negotiate(string keys, DigestSet header, DigestSet data)
    {
        var negotiator = new LoginNegotiator(new TargetNegotiationOptions { HeaderDigests = header, DataDigests = data });
        var offered = keys.Split(';', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split('=', 2)).Select(p => new TextKeyValue(p[0], p[1])).ToList();
        var answers = new List<TextKeyValue>();
        var status = negotiator.Negotiate(offered, LoginStage.OperationalNegotiation, answers);
        return (status, answers.ToDictionary(a => a.Key, a => a.Value), negotiator);
    }

    [Theory]
    [InlineData("CRC32C,None", "CRC32C")]
    [InlineData("None,CRC32C", "None")]
    [InlineData("CRC32C", "CRC32C")]
    [InlineData("MD5,CRC32C", "CRC32C")]
    [InlineData("crc32c,None", "None")]
    public void BothAccepted_InitiatorsFirstKnownValueWins(string offer, string answer)
    {
        var outcome = answer == "CRC32C" ? DigestKind.Crc32C : DigestKind.None;
        var (status, answers, negotiator) = Negotiate($"HeaderDigest={offer};DataDigest={offer}", DigestSet.Any, DigestSet.Any);

        status.Should().Be(LoginStatus.Success);
        answers["HeaderDigest"].Should().Be(answer);
        answers["DataDigest"].Should().Be(answer);
        negotiator.Parameters.HeaderDigest.Should().Be(outcome);
        negotiator.Parameters.DataDigest.Should().Be(outcome);
    }

    [Fact]
    public void HeaderOnlyPolicy_DataDigestCrc32COnly_Rejected()
    {
        var (status, answers, negotiator) = Negotiate("HeaderDigest=CRC32C;DataDigest=CRC32C", DigestSet.Any, DigestSet.None);

        status.Should().Be(LoginStatus.Success);
        answers["HeaderDigest"].Should().Be("CRC32C");
        answers["DataDigest"].Should().Be("Reject");
        negotiator.Parameters.DataDigest.Should().Be(DigestKind.None);
        negotiator.CheckDigests().Should().Be(LoginStatus.Success);
    }

    [Fact]
    public void Crc32COnlyPolicy_NormalSessionOffersNone_FailsTheLogin()
    {
        Negotiate("SessionType=Normal;HeaderDigest=None", DigestSet.Crc32C, DigestSet.Any).Status.Should().Be(LoginStatus.InitiatorError);
    }

    [Fact]
    public void Crc32COnlyPolicy_DiscoverySessionOffersNone_FallsBackToNone()
    {
        var (status, answers, negotiator) = Negotiate("SessionType=Discovery;HeaderDigest=None;DataDigest=None", DigestSet.Crc32C, DigestSet.Crc32C);

        status.Should().Be(LoginStatus.Success);
        answers["HeaderDigest"].Should().Be("None");
        negotiator.CheckDigests().Should().Be(LoginStatus.Success);
    }

    [Fact]
    public void Crc32COnlyPolicy_KeyNeverOffered_CheckDigestsFails()
    {
        var (status, _, negotiator) = Negotiate("SessionType=Normal;DataDigest=CRC32C", DigestSet.Crc32C, DigestSet.Any);

        status.Should().Be(LoginStatus.Success);
        negotiator.CheckDigests().Should().Be(LoginStatus.InitiatorError, "HeaderDigest stays None, which the policy excludes");
    }

    [Fact]
    public void LoginStateMachine_Crc32COnlyPolicyWithoutDigest_FailsWithInitiatorErrorAtTransit()
    {
        var login = new LoginStateMachine(
            new TargetNegotiationOptions { HeaderDigests = DigestSet.Crc32C },
            new LoginCallbacks { TargetExists = _ => true, BindSession = _ => 1 });
        var request = new LoginRequestHeader
        {
            Transit = true,
            CurrentStage = LoginStage.OperationalNegotiation,
            NextStage = LoginStage.FullFeaturePhase,
            Isid = 1,
            InitiatorTaskTag = 1,
            Cid = 1,
        };

        var step = login.Process(request, new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes("InitiatorName=iqn.i\0TargetName=iqn.t\0")));

        step.Progress.Should().Be(LoginProgress.Failed);
        step.Header.Status.Should().Be(LoginStatus.InitiatorError);
    }

    [Theory]
    [InlineData("CRC32C,None", true, true)]
    [InlineData("None", true, false)]
    [InlineData(" crc32c ", false, true)]
    [InlineData("None,CRC32C", true, true)]
    public void TryParse_ScstSyntax_Parses(string text, bool none, bool crc32c)
    {
        Digests.TryParse(text, out var set).Should().BeTrue();
        set.Contains(DigestKind.None).Should().Be(none);
        set.Contains(DigestKind.Crc32C).Should().Be(crc32c);
    }

    [Theory]
    [InlineData("")]
    [InlineData("CRC32")]
    [InlineData("CRC32C,")]
    [InlineData(null)]
    public void TryParse_Garbage_Refused(string? text)
    {
        Digests.TryParse(text, out _).Should().BeFalse();
    }
}
