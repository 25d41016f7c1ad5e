// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using System.Text;
using Scst.Core.Spc.Reservations;

namespace Scst.Core.Tests.Spc;

public sealed class ReservationsTransportIdentifierTests
{
    // iSCSI TransportIDs written from SPC-4 7.6.4.6: 05h or 45h, ADDITIONAL LENGTH, NUL-terminated padded text.
    private static byte[] Iscsi(string text, bool port)
    {
        int padded = (Encoding.ASCII.GetByteCount(text) + 1 + 3) & ~3;
        var id = new byte[4 + padded];
        id[0] = (byte)((port ? 0x40 : 0x00) | 0x05);
        BinaryPrimitives.WriteUInt16BigEndian(id.AsSpan(2), (ushort)padded);
        Encoding.ASCII.GetBytes(text, id.AsSpan(4));
        return id;
    }

    private static byte[] FibreChannel(ulong portName)
    {
        var id = new byte[24];
        BinaryPrimitives.WriteUInt64BigEndian(id.AsSpan(8), portName);
        return id;
    }

    [Fact]
    public void Measure_WellFormedIds_ReturnTheirLength()
    {
        byte[] name = Iscsi("iqn.2026-01.test:a", port: false);
        byte[] port = Iscsi("iqn.2026-01.test:a,i,0x23d000000001", port: true);

        TransportIdentifier.Measure(name).Should().Be(name.Length);
        TransportIdentifier.Measure([.. port, 0xEE, 0xEE]).Should().Be(port.Length, "the next bytes belong to the next TransportID");
        TransportIdentifier.Measure(FibreChannel(0x2100_0024_ff00_0001)).Should().Be(24);
    }

    [Theory]
    [InlineData("iqn.x:a", true)]               // format 01b without ",i,0x"
    [InlineData("iqn.x:a,i,0x", true)]          // empty ISID
    [InlineData("iqn.x:a,i,0xZZ", true)]        // ISID not hex
    [InlineData("iqn.x:a,i,0x1234", false)]     // format 00b with a port suffix
    [InlineData("", false)]                     // no name
    public void Measure_MalformedIscsiIds_AreRefused(string text, bool portFormat)
    {
        TransportIdentifier.Measure(Iscsi(text, portFormat)).Should().Be(0);
    }

    [Fact]
    public void Measure_BadHeaders_AreRefused()
    {
        byte[] id = Iscsi("iqn.2026-01.test:a", port: false);
        byte[] oddLength = [.. id];
        BinaryPrimitives.WriteUInt16BigEndian(oddLength.AsSpan(2), 13);
        byte[] noNul = [.. id];
        noNul.AsSpan(4).Fill((byte)'a');
        byte[] format2 = [.. id];
        format2[0] = 0x85;

        TransportIdentifier.Measure(id.AsSpan(0, 10)).Should().Be(0, "shorter than its ADDITIONAL LENGTH");
        TransportIdentifier.Measure(oddLength).Should().Be(0);
        TransportIdentifier.Measure(noNul).Should().Be(0);
        TransportIdentifier.Measure(format2).Should().Be(0);
        TransportIdentifier.Measure([0x07, 0, 0, 4, 0x41, 0, 0, 0]).Should().Be(0, "protocol 7 is not supported");
        TransportIdentifier.Measure(FibreChannel(1).AsSpan(0, 20)).Should().Be(0);
    }

    [Fact]
    public void SameInitiatorPort_ComparesIscsiNamesIgnoringCaseAndIsidsWhenBothHaveOne()
    {
        byte[] name = Iscsi("iqn.2026-01.test:host", port: false);
        byte[] upper = Iscsi("IQN.2026-01.TEST:HOST", port: false);
        byte[] port1 = Iscsi("iqn.2026-01.test:host,i,0x23d000000001", port: true);
        byte[] port1Upper = Iscsi("iqn.2026-01.TEST:host,i,0x23D000000001", port: true);
        byte[] port2 = Iscsi("iqn.2026-01.test:host,i,0x23d000000002", port: true);
        byte[] other = Iscsi("iqn.2026-01.test:other,i,0x23d000000001", port: true);

        TransportIdentifier.SameInitiatorPort(name, upper).Should().BeTrue();
        TransportIdentifier.SameInitiatorPort(port1, port1Upper).Should().BeTrue();
        TransportIdentifier.SameInitiatorPort(port1, port2).Should().BeFalse("another ISID is another initiator port");
        TransportIdentifier.SameInitiatorPort(name, port2).Should().BeTrue("a name-only TransportID covers every port of the initiator");
        TransportIdentifier.SameInitiatorPort(port1, name).Should().BeTrue();
        TransportIdentifier.SameInitiatorPort(port1, other).Should().BeFalse();
    }

    [Fact]
    public void SameInitiatorPort_OtherProtocolsCompareBytesAndProtocolsMustMatch()
    {
        byte[] local = [0x0F, 0, 0, 8, .. "iqn.a\0\0\0"u8];
        byte[] iscsi = [0x05, 0, 0, 8, .. "iqn.a\0\0\0"u8];

        TransportIdentifier.SameInitiatorPort(FibreChannel(1), FibreChannel(1)).Should().BeTrue();
        TransportIdentifier.SameInitiatorPort(FibreChannel(1), FibreChannel(2)).Should().BeFalse();
        TransportIdentifier.SameInitiatorPort(local, iscsi).Should().BeFalse();
        TransportIdentifier.SameInitiatorPort(local, local).Should().BeTrue();
    }
}
