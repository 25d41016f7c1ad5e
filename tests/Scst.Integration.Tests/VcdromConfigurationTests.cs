// Licensed under the Apache License, Version 2.0.

using Scst.Core;
using Scst.Core.Configuration;
using Scst.Handlers;
using Scst.Testing;
using Scst.Transport.Local;

namespace Scst.Integration.Tests;

/// <summary>
/// A vcdrom in scst.conf: <c>HANDLER vcdrom { DEVICE cd1 { filename PATH } }</c> creates the drive with its medium, a
/// saved configuration carries the image, and a configuration that names another image changes the medium in place
/// (the LUN and its sessions stay; the initiators get MEDIUM MAY HAVE CHANGED), as SCST's filename attribute does.
/// </summary>
public sealed class VcdromConfigurationTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string Config(string filename) =>
        $$"""
        HANDLER vcdrom {
            DEVICE cd1 {
                filename {{filename}}
            }
        }

        TARGET_DRIVER {{LocalTargetDriver.DriverName}} {
            TARGET {{ScstStack.TargetName}} {
                LUN 0 cd1
            }
        }
        """;

    [Fact]
    public async Task Configuration_CreatesTheDrive_SavesItsImage_AndChangesTheMediumInPlace()
    {
        string first = IsoImageFile.Write(_dir.File("first.iso"), 32);
        string second = IsoImageFile.Write(_dir.File("second.iso"), 48);
        await using ScstStack stack = ScstStack.Create();
        await stack.StartAsync();
        var applier = new ScstConfigApplier(stack.Engine);

        ScstConfigApplyResult created = await applier.ApplyAsync(ScstConfigReader.Parse(Config(first), "scst.conf"));

        created.Errors.Should().BeEmpty();
        var drive = (VcdromDevice)stack.Engine.FindDevice("cd1")!;
        drive.DeviceType.Should().Be(PeripheralDeviceType.CdDvd);
        drive.Filename.Should().Be(first);
        string saved = ScstConfigWriter.Write(ScstConfigApplier.Capture(stack.Engine));
        saved.Should().Contain("HANDLER vcdrom").And.Contain($"filename {first}");
        (await applier.ApplyAsync(ScstConfigReader.Parse(saved, "saved"))).Changes.Should().BeEmpty("the saved configuration is the running one");

        LocalSession session = stack.OpenSession();
        SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty));

        ScstConfigApplyResult changed = await applier.ApplyAsync(ScstConfigReader.Parse(Config(second), "scst.conf"));

        changed.Errors.Should().BeEmpty();
        changed.Changes.Should().ContainSingle().Which.Should().Be($"set device cd1 filename {second}");
        stack.Engine.FindDevice("cd1").Should().BeSameAs(drive, "the medium changes; the drive is not re-created");
        drive.Filename.Should().Be(second);
        LocalResult attention = await session.ExecuteAsync(0, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty);
        SenseAssert.IsCheckCondition(attention, SenseCode.MediumMayHaveChanged);
        byte[] capacity = new byte[8];
        SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.ReadCapacity10(), DataDirection.Read, capacity));
        System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(capacity).Should().Be(47);
    }

    [Fact]
    public async Task Configuration_MissingImage_IsAnErrorThatCreatesNothing()
    {
        string missing = _dir.File("missing.iso");
        await using ScstStack stack = ScstStack.Create();
        await stack.StartAsync();

        ScstConfigApplyResult result = await new ScstConfigApplier(stack.Engine).ApplyAsync(ScstConfigReader.Parse(Config(missing), "scst.conf"));

        result.Succeeded.Should().BeFalse();
        result.Describe().Should().Contain(missing).And.Contain("does not exist");
        stack.Engine.FindDevice("cd1").Should().BeNull();
        File.Exists(missing).Should().BeFalse();
    }
}
