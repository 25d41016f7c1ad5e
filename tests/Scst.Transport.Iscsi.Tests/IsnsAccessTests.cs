// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using System.Net;
using System.Text;
using Scst.Transport.Iscsi.Isns;

namespace Scst.Transport.Iscsi.Tests;

/// <summary>
/// The pieces of iSNS access control and of the driver's attributes that need no server: reading a DevAttrQry answer,
/// the list of answers, SCST's iSNSServer syntax, and the TargetAddress of a zoned (link-local) portal.
/// </summary>
public class IsnsAccessTests
{
    private const uint Name = 32;
    private const uint NodeType = 33;

    [Fact]
    public void Initiators_TakesEachNameFollowedByAnInitiatorNodeType_AndNothingElse()
    {
        List<(uint Tag, byte[] Value)> answer =
        [
            (NodeType, Word(2)), // the message key, echoed without a name
            (0, []), // delimiter
            (Name, Text("iqn.2026-11.test:ini1")), (NodeType, Word(2)),
            (Name, Text("iqn.2026-11.test:target")), (NodeType, Word(1)),
            (Name, Text("iqn.2026-11.test:both")), (NodeType, Word(3)),
            (Name, Text("iqn.2026-11.test:no-type")),
            (16, new byte[16]), // a portal address between a name and its type breaks the pair
            (NodeType, Word(2)),
        ];

        IsnsClient.Initiators(answer).Should().Equal("iqn.2026-11.test:ini1", "iqn.2026-11.test:both");
    }

    [Fact]
    public void AccessList_AdmitsOnlyTheLastAnswersInitiators_NobodyBeforeAnAnswer()
    {
        var list = new IsnsAccessList();

        list.Allows("t1", "iqn.x:a").Should().BeFalse("no answer yet");
        list.VisibleTo("t1").Should().BeNull();

        list.Set("t1", ["iqn.x:a"]);
        list.Set("t2", ["iqn.x:b"]);
        list.Allows("t1", "IQN.X:A").Should().BeTrue("iSCSI names compare without case");
        list.Allows("t1", "iqn.x:b").Should().BeFalse();
        list.Answers.Should().Be(2);

        list.Set("t1", []);
        list.Allows("t1", "iqn.x:a").Should().BeFalse("a new answer replaces the old one");
        list.RetainOnly(["t1"]);
        list.VisibleTo("t2").Should().BeNull("a target no longer registered is forgotten");
        list.VisibleTo("t1").Should().BeEmpty();
        list.Clear();
        list.VisibleTo("t1").Should().BeNull();
    }

    [Theory]
    [InlineData("", null, false)]
    [InlineData("  ", null, false)]
    [InlineData("isns.example", "isns.example", false)]
    [InlineData("10.0.0.1:3205 AccessControl", "10.0.0.1:3205", true)]
    [InlineData("[fd00::1]:3205 accesscontrol", "[fd00::1]:3205", true)]
    public void ParseIsnsServer_TakesHostPortAndTheAccessControlWord(string text, string? server, bool accessControl)
    {
        IscsiManagementAttributes.ParseIsnsServer(text).Should().Be((server, accessControl));
    }

    [Theory]
    [InlineData("10.0.0.1 Access")]
    [InlineData("10.0.0.1 AccessControl extra")]
    [InlineData("10.0.0.1:70000")]
    public void ParseIsnsServer_AnythingElse_IsRefused(string text)
    {
        FluentActions.Invoking(() => IscsiManagementAttributes.ParseIsnsServer(text)).Should().Throw<ArgumentException>().WithMessage("iSNSServer*");
    }

    [Fact]
    public void FormatTargetAddress_GivesTheZoneOfALinkLocalAddressAsTheInterfacesName_OrItsNumber()
    {
        IscsiConnection.FormatTargetAddress(new IPEndPoint(IPAddress.Parse("10.0.0.1"), 3260), 1).Should().Be("10.0.0.1:3260,1");
        IscsiConnection.FormatTargetAddress(new IPEndPoint(IPAddress.Parse("fd00::2"), 3261), 2).Should().Be("[fd00::2]:3261,2");
        IscsiConnection.FormatTargetAddress(new IPEndPoint(IPAddress.Parse("fe80::1%987654"), 3260), 1)
            .Should().Be("[fe80::1%987654]:3260,1", "no interface has that index");
        IscsiConnection.FormatTargetAddress(new IPEndPoint(IPAddress.Parse("fe80::1%1"), 3260), 1)
            .Should().Be($"[fe80::1%{IscsiConnection.ZoneName(1)}]:3260,1");
        IscsiConnection.ZoneName(1).Should().Be("lo", "Linux gives the loopback interface index 1");
    }

    private static byte[] Word(uint value)
    {
        byte[] b = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, value);
        return b;
    }

    private static byte[] Text(string value) => Encoding.UTF8.GetBytes(value + "\0\0\0\0")[..((value.Length + 4) & ~3)];
}
