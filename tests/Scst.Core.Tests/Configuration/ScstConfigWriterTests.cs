// Licensed under the Apache License, Version 2.0.

using Scst.Core.Configuration;

namespace Scst.Core.Tests.Configuration;

/// <summary>scst.conf output: the layout, quoting, and that the reader gives back what was written.</summary>
public sealed class ScstConfigWriterTests
{
    [Fact]
    public void Write_ScstExample_GivesTheStableLayout()
    {
        string[] expected =
        [
            "# SCST configuration, written by Scst for .NET",
            "",
            "setup_id 0x1234",
            "",
            "HANDLER vdisk_fileio {",
            "\tDEVICE disk1 {",
            "\t\tfilename /disk1",
            "\t\tnv_cache 1",
            "\t}",
            "}",
            "",
            "TARGET_DRIVER iscsi {",
            "\tenabled 1",
            "",
            "\tTARGET iqn.2006-10.net.vlnb:tgt {",
            "\t\tIncomingUser \"joe 12charsecret\"",
            "\t\tHeaderDigest CRC32C,None",
            "\t\tenabled 1",
            "",
            "\t\tLUN 0 disk1",
            "",
            "\t\tGROUP special {",
            "\t\t\tLUN 0 disk1 {",
            "\t\t\t\tread_only 1",
            "\t\t\t}",
            "",
            "\t\t\tINITIATOR iqn.2005-03.org.open-iscsi:*",
            "\t\t}",
            "\t}",
            "}",
            "",
            "DEVICE_GROUP dg1 {",
            "\tDEVICE disk1",
            "",
            "\tTARGET_GROUP tg1 {",
            "\t\tgroup_id 1",
            "\t\tstate active",
            "",
            "\t\tTARGET iqn.2006-10.net.vlnb:tgt",
            "\t}",
            "}",
            "",
        ];

        string text = ScstConfigWriter.Write(ConfigSamples.ScstExampleModel());

        text.Split('\n').Should().Equal(expected);
    }

    [Fact]
    public void Write_EmptyConfiguration_IsTheHeaderLine()
    {
        ScstConfigWriter.Write(new ScstConfiguration()).Should().Be("# SCST configuration, written by Scst for .NET\n");
    }

    [Fact]
    public void Write_EntriesWithoutAttributes_AreOneLineEach()
    {
        var config = new ScstConfiguration();
        var handler = new HandlerConfiguration("vdisk_nullio");
        handler.Devices.Add(new DeviceConfiguration("null1"));
        handler.Devices.Add(new DeviceConfiguration("null2"));
        config.Handlers.Add(handler);
        var driver = new TargetDriverConfiguration("local");
        var t1 = new TargetConfiguration("t1");
        t1.Luns.Add(new LunConfiguration(0, "null1"));
        t1.Luns.Add(new LunConfiguration(1, "null2"));
        driver.Targets.Add(t1);
        driver.Targets.Add(new TargetConfiguration("t2"));
        config.TargetDrivers.Add(driver);

        string text = ScstConfigWriter.Write(config);

        text.Should().Be(
            "# SCST configuration, written by Scst for .NET\n" +
            "\n" +
            "HANDLER vdisk_nullio {\n" +
            "\tDEVICE null1\n" +
            "\tDEVICE null2\n" +
            "}\n" +
            "\n" +
            "TARGET_DRIVER local {\n" +
            "\tTARGET t1 {\n" +
            "\t\tLUN 0 null1\n" +
            "\t\tLUN 1 null2\n" +
            "\t}\n" +
            "\n" +
            "\tTARGET t2\n" +
            "}\n");
    }

    [Theory]
    [InlineData("plain", "name plain")]
    [InlineData("CRC32C,None", "name CRC32C,None")]
    [InlineData("iqn.2005-03.org.open-iscsi:*", "name iqn.2005-03.org.open-iscsi:*")]
    [InlineData("!10.0.0.?", "name !10.0.0.?")]
    [InlineData("", "name \"\"")]
    [InlineData("joe 12charsecret", "name \"joe 12charsecret\"")]
    [InlineData("tab\there", "name \"tab\there\"")]
    [InlineData("#1", "name \"#1\"")]
    [InlineData("say \"hi\"", "name \"say \\\"hi\\\"\"")]
    [InlineData(@"C:\dir", @"name ""C:\\dir""")]
    [InlineData("{", "name \"{\"")]
    [InlineData("a}", "name \"a}\"")]
    [InlineData("[x]", "name \"[x]\"")]
    public void Write_Value_IsQuotedWhenItMustBe(string value, string line)
    {
        var config = new ScstConfiguration();
        config.Attributes.Add("name", value);

        string[] lines = ScstConfigWriter.Write(config).Split('\n');

        lines[2].Should().Be(line);
        ScstConfigReader.Parse(string.Join('\n', lines)).Attributes.Single().Value.Should().Be(value);
    }

    [Theory]
    [InlineData("LUN", "\"LUN\" x")]
    [InlineData("TARGET_GROUP", "\"TARGET_GROUP\" x")]
    [InlineData("two words", "\"two words\" x")]
    [InlineData("[legacy]", "\"[legacy]\" x")]
    [InlineData("lun", "lun x")]
    public void Write_AttributeName_IsQuotedWhenItWouldReadAsSomethingElse(string name, string line)
    {
        var config = new ScstConfiguration();
        config.Attributes.Add(name, "x");

        string[] lines = ScstConfigWriter.Write(config).Split('\n');

        lines[2].Should().Be(line);
        ScstConfigReader.Parse(string.Join('\n', lines)).Attributes.Single().Name.Should().Be(name);
    }

    [Fact]
    public void Write_ThenParse_GivesBackARichModel()
    {
        ScstConfiguration model = ConfigSamples.RichModel();

        ScstConfiguration read = ScstConfigReader.Parse(ScstConfigWriter.Write(model));

        read.ShouldMatch(model);
    }

    [Fact]
    public void Write_ThenParse_GivesBackTheScstExample()
    {
        ScstConfiguration parsed = ScstConfigReader.Parse(ConfigSamples.ScstExample);

        ScstConfiguration reread = ScstConfigReader.Parse(ScstConfigWriter.Write(parsed));

        reread.ShouldMatch(ConfigSamples.ScstExampleModel());
    }

    [Fact]
    public void Write_IsStable()
    {
        string first = ScstConfigWriter.Write(ConfigSamples.RichModel());

        string second = ScstConfigWriter.Write(ScstConfigReader.Parse(first));

        second.Should().Be(first);
    }

    [Fact]
    public void Write_ToTextWriter_WritesTheSameTextWithNewLines()
    {
        using var writer = new StringWriter { NewLine = "\r\n" };

        ScstConfigWriter.Write(ConfigSamples.RichModel(), writer);

        writer.ToString().Should().Be(ScstConfigWriter.Write(ConfigSamples.RichModel()));
    }

    [Fact]
    public void Write_ValueWithLineBreak_Throws()
    {
        var config = new ScstConfiguration();
        config.Attributes.Add("motd", "two\nlines");

        Action write = () => ScstConfigWriter.Write(config);

        write.Should().Throw<ArgumentException>().WithMessage("*line break*");
    }

    [Fact]
    public void Write_EmptyName_Throws()
    {
        var config = new ScstConfiguration();
        var handler = new HandlerConfiguration("vdisk_fileio");
        handler.Devices.Add(new DeviceConfiguration(""));
        config.Handlers.Add(handler);

        Action write = () => ScstConfigWriter.Write(config);

        write.Should().Throw<ArgumentException>().WithMessage("*empty name*");
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(16384)]
    public void Write_LunNumberOutOfRange_Throws(int number)
    {
        var config = new ScstConfiguration();
        var driver = new TargetDriverConfiguration("iscsi");
        var target = new TargetConfiguration("t");
        target.Luns.Add(new LunConfiguration(number, "disk1"));
        driver.Targets.Add(target);
        config.TargetDrivers.Add(driver);

        Action write = () => ScstConfigWriter.Write(config);

        write.Should().Throw<ArgumentException>().WithMessage($"LUN {number} of device disk1 is not a LUN number*");
    }
}
