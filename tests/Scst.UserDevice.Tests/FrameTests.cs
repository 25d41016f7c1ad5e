// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using Scst.UserDevice.Protocol;
using Scst.UserDevice.Target;

namespace Scst.UserDevice.Tests;

/// <summary>The framing codec: round trips and malformed input.</summary>
public sealed class FrameTests
{
    [Fact]
    public void Register_RoundTrips()
    {
        var request = new RegisterRequest
        {
            DeviceType = 0,
            Flags = RegisterFlags.ThinProvisioned | RegisterFlags.WriteThrough,
            BlockSize = 4096,
            BlockCount = 123456,
            RegionSize = 32 << 20,
            Tst = 0,
            QueueAlgorithm = 0,
            Qerr = 3,
            Tas = 1,
            Swp = 0,
            DSense = 1,
            Name = "disk-é",
            Vendor = "ACME",
            Product = "Widget",
            Revision = "0042",
            Serial = "abc123",
        };
        byte[] buffer = new byte[4096];
        int length = request.Encode(buffer);

        Frame.TryRead(buffer.AsSpan(0, length), out MessageHeader header, out string? error).Should().Be(length);
        error.Should().BeNull();
        header.Type.Should().Be(MessageType.Register);
        RegisterRequest? decoded = RegisterRequest.Decode(buffer.AsSpan(Frame.HeaderLength, length - Frame.HeaderLength));
        decoded.Should().Be(request);
    }

    [Fact]
    public void Exec_RoundTrips()
    {
        byte[] buffer = new byte[ExecRequest.Length];
        byte[] cdb = [0x28, 0, 0, 0, 0, 8, 0, 0, 1, 0];
        ExecRequest.Encode(buffer, 0x1_0000_0002, 7, ExecOperation.Write, ExecRequest.FuaFlag, cdb, 1, 4096, 512, 8192);

        Frame.TryRead(buffer, out MessageHeader header, out _).Should().Be(ExecRequest.Length);
        header.Handle.Should().Be(0x1_0000_0002);
        ExecRequest.TryDecode(header.Handle, buffer.AsSpan(Frame.HeaderLength), out ExecRequest r).Should().BeTrue();
        r.SessionHandle.Should().Be(7);
        r.Operation.Should().Be(ExecOperation.Write);
        r.ForceUnitAccess.Should().BeTrue();
        r.CdbLength.Should().Be(10);
        ((ReadOnlySpan<byte>)r.Cdb)[..10].ToArray().Should().Equal(cdb);
        r.TaskAttribute.Should().Be(1);
        (r.Offset, r.DataLength, r.BufferOffset).Should().Be((4096L, 512L, 8192L));
    }

    [Fact]
    public void ExecReply_WithSense_RoundTrips_AndTheTargetReadsTheSenseCode()
    {
        byte[] sense = new byte[18];
        sense[0] = 0x70;
        sense[2] = 0x03;
        sense[7] = 10;
        sense[12] = 0x11;
        byte[] buffer = new byte[512];
        int length = ExecReply.Encode(buffer, 9, 2, sense, 0);

        Frame.TryRead(buffer.AsSpan(0, length), out MessageHeader header, out _).Should().Be(length);
        ExecReply.TryDecode(buffer.AsSpan(Frame.HeaderLength, length - Frame.HeaderLength), out byte status, out ReadOnlySpan<byte> got, out _, out _).Should().BeTrue();
        status.Should().Be(2);
        Scst.Core.SenseData.TryReadCode(got, out Scst.Core.SenseCode code).Should().BeTrue();
        code.Should().Be(Scst.Core.SenseCode.UnrecoveredReadError);
        header.Handle.Should().Be(9);
    }

    [Fact]
    public void TaskManagementAndAttach_RoundTrip()
    {
        byte[] buffer = new byte[1024];
        var tm = new TaskManagementMessage(5, 4, 3, 11, 0x2_0000_0001);
        int length = tm.Encode(buffer, MessageType.TaskManagementDone);
        Frame.TryRead(buffer.AsSpan(0, length), out MessageHeader header, out _).Should().Be(length);
        TaskManagementMessage.Decode(header.Handle, buffer.AsSpan(Frame.HeaderLength, length - Frame.HeaderLength)).Should().Be(tm);

        var attach = new AttachSession(12, 3, true, "iqn.2024-01.test:i", "iqn.2024-01.test:t");
        length = attach.Encode(buffer);
        Frame.TryRead(buffer.AsSpan(0, length), out header, out _).Should().Be(length);
        AttachSession.Decode(header.Handle, buffer.AsSpan(Frame.HeaderLength, length - Frame.HeaderLength)).Should().Be(attach);
    }

    [Fact]
    public void SeveralMessagesInOneBuffer_AreReadOneAfterTheOther_AndAPartialOneWaits()
    {
        byte[] buffer = new byte[256];
        int a = SmallMessages.EncodeInt32(buffer, MessageType.AttachReply, 1, 0);
        int b = SmallMessages.EncodeUInt64(buffer.AsSpan(a), MessageType.CapacityChanged, 0, 99);

        Frame.TryRead(buffer.AsSpan(0, a + b), out MessageHeader first, out _).Should().Be(a);
        Frame.TryRead(buffer.AsSpan(a, b), out MessageHeader second, out _).Should().Be(b);
        Frame.TryRead(buffer.AsSpan(a, b - 1), out _, out string? error).Should().Be(0, "the rest of the message has not arrived");
        error.Should().BeNull();
        (first.Type, second.Type).Should().Be((MessageType.AttachReply, MessageType.CapacityChanged));
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(15u)]
    [InlineData(64u * 1024 + 1)]
    [InlineData(uint.MaxValue)]
    public void Length_OutsideTheLimits_IsMalformed(uint length)
    {
        byte[] buffer = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(buffer, length);

        Frame.TryRead(buffer, out _, out string? error).Should().Be(-1);
        error.Should().Contain(length.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Bodies_ThatDoNotMatchTheirDeclaredLengths_AreRejected()
    {
        byte[] buffer = new byte[512];
        int length = ExecReply.Encode(buffer, 1, 2, new byte[18], 0);
        buffer[Frame.HeaderLength + 1] = 19; // sense length past the body
        ExecReply.TryDecode(buffer.AsSpan(Frame.HeaderLength, length - Frame.HeaderLength), out _, out _, out _, out _).Should().BeFalse();

        int register = new RegisterRequest { Name = "d" }.Encode(buffer);
        RegisterRequest.Decode(buffer.AsSpan(Frame.HeaderLength, register - Frame.HeaderLength - 1)).Should().BeNull();
        ExecRequest.TryDecode(1, new byte[ExecRequest.BodyLength - 1], out _).Should().BeFalse();
        TaskManagementMessage.Decode(1, new byte[TaskManagementMessage.BodyLength + 1]).Should().BeNull();
    }
}
