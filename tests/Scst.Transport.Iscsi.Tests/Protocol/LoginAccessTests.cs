// Licensed under the Apache License, Version 2.0.

using System.Buffers;
using System.Text;
using Scst.Transport.Iscsi.Protocol;

namespace Scst.Transport.Iscsi.Tests.Protocol;

/// <summary>The access-control callback of the login: asked on the first request, after the target is found.</summary>
public class LoginAccessTests
{
    private const string Target = "iqn.2026-01.org.example:disk1";
    private const string Initiator = "iqn.1993-08.org.debian:01:host";

    private readonly List<(string Initiator, string Target)> _asked = [];

    private LoginStateMachine Create(bool allowed, bool targetExists = true) => new(
        new TargetNegotiationOptions { MaxRecvDataSegmentLength = 262_144 },
        new LoginCallbacks
        {
            TargetExists = _ => targetExists,
            InitiatorAllowed = (initiator, target) =>
            {
                _asked.Add((initiator, target));
                return allowed;
            },
            BindSession = _ => 1,
        });

    private static LoginRequestHeader Request(LoginStage current, LoginStage next) => new()
    {
        Transit = true,
        CurrentStage = current,
        NextStage = next,
        Isid = 0x0002_3d00_0001,
        InitiatorTaskTag = 0x77,
        Cid = 1,
        CmdSn = 5,
        ExpStatSn = 100,
    };

    private static ReadOnlySequence<byte> Text(string keys) => new(Encoding.UTF8.GetBytes(keys.Replace(';', '\0')));

    [Fact]
    public void NormalLogin_InitiatorNotAllowed_Fails0202BeforeAnySecurityExchange()
    {
        LoginStep step = Create(allowed: false).Process(
            Request(LoginStage.SecurityNegotiation, LoginStage.OperationalNegotiation),
            Text($"InitiatorName={Initiator};TargetName={Target};SessionType=Normal;AuthMethod=None;"));

        step.Progress.Should().Be(LoginProgress.Failed);
        step.Header.Status.Should().Be(LoginStatus.AuthorizationFailure);
        ((ushort)step.Header.Status).Should().Be(0x0202);
        step.Data.Length.Should().Be(0);
        _asked.Should().Equal((Initiator, Target));
    }

    [Fact]
    public void NormalLogin_InitiatorAllowed_Completes()
    {
        LoginStep step = Create(allowed: true).Process(
            Request(LoginStage.OperationalNegotiation, LoginStage.FullFeaturePhase),
            Text($"InitiatorName={Initiator};TargetName={Target};"));

        step.Progress.Should().Be(LoginProgress.Completed);
        _asked.Should().ContainSingle();
    }

    [Fact]
    public void NormalLogin_TargetNotFound_Fails0203WithoutAskingAboutTheInitiator()
    {
        LoginStep step = Create(allowed: false, targetExists: false).Process(
            Request(LoginStage.OperationalNegotiation, LoginStage.FullFeaturePhase),
            Text($"InitiatorName={Initiator};TargetName={Target};"));

        step.Header.Status.Should().Be(LoginStatus.NotFound);
        _asked.Should().BeEmpty();
    }

    [Fact]
    public void DiscoveryLogin_IsNotSubjectToTheTargetsAccessControl()
    {
        LoginStep step = Create(allowed: false).Process(
            Request(LoginStage.OperationalNegotiation, LoginStage.FullFeaturePhase),
            Text($"InitiatorName={Initiator};SessionType=Discovery;"));

        step.Progress.Should().Be(LoginProgress.Completed);
        _asked.Should().BeEmpty();
    }
}
