// Licensed under the Apache License, Version 2.0.

using Scst.Core.Configuration;

namespace Scst.Core.Tests.Configuration;

/// <summary>The scst.conf grammar: what is read into which element, and each fault with its line and column.</summary>
public sealed class ScstConfigReaderTests
{
    [Fact]
    public void Parse_ScstExample_GivesTheModel()
    {
        ScstConfiguration config = ScstConfigReader.Parse(ConfigSamples.ScstExample);

        config.ShouldMatch(ConfigSamples.ScstExampleModel());
    }

    [Fact]
    public void Parse_ScstExample_RecordsTheLineOfEachElement()
    {
        ScstConfiguration config = ScstConfigReader.Parse(ConfigSamples.ScstExample);

        config.Attributes[0].Line.Should().Be(1);
        config.Handlers[0].Line.Should().Be(2);
        config.Handlers[0].Devices[0].Line.Should().Be(3);
        config.Handlers[0].Devices[0].Attributes.Select(a => a.Line).Should().Equal(4, 5);
        TargetDriverConfiguration iscsi = config.TargetDrivers[0];
        iscsi.Line.Should().Be(8);
        iscsi.Attributes[0].Line.Should().Be(9);
        TargetConfiguration target = iscsi.Targets[0];
        target.Line.Should().Be(10);
        target.Attributes.Select(a => a.Line).Should().Equal(11, 12, 13);
        target.Luns[0].Line.Should().Be(14);
        target.Groups[0].Line.Should().Be(15);
        target.Groups[0].Luns[0].Line.Should().Be(16);
        target.Groups[0].Luns[0].Attributes[0].Line.Should().Be(17);
        target.Groups[0].Initiators[0].Line.Should().Be(19);
        DeviceGroupConfiguration dg = config.DeviceGroups[0];
        dg.Line.Should().Be(23);
        dg.Devices[0].Line.Should().Be(24);
        dg.TargetGroups[0].Line.Should().Be(25);
        dg.TargetGroups[0].Attributes.Select(a => a.Line).Should().Equal(26, 27);
        dg.TargetGroups[0].Targets[0].Line.Should().Be(28);
    }

    [Fact]
    public void Parse_Empty_GivesAnEmptyConfiguration()
    {
        ScstConfiguration config = ScstConfigReader.Parse("\n  \n# only a comment\n\t# and another\n");

        config.Attributes.Should().BeEmpty();
        config.Handlers.Should().BeEmpty();
        config.TargetDrivers.Should().BeEmpty();
        config.DeviceGroups.Should().BeEmpty();
    }

    [Theory]
    [InlineData("name value", "value")]
    [InlineData("name value # trailing comment", "value")]
    [InlineData("name value#glued comment", "value")]
    [InlineData(@"name a\#b", "a#b")]
    [InlineData(@"name \#", "#")]
    [InlineData("name \"a # b\"", "a # b")]
    [InlineData("name \"joe 12charsecret\"", "joe 12charsecret")]
    [InlineData("name \"\"", "")]
    [InlineData("name \"say \\\"hi\\\"\"", "say \"hi\"")]
    [InlineData("name \"back\\\\slash\"", @"back\slash")]
    [InlineData(@"name back\slash", @"back\slash")]
    [InlineData(@"name two\\", @"two\")]
    [InlineData("name a\"b c\"d", "ab cd")]
    [InlineData("name CRC32C,None", "CRC32C,None")]
    [InlineData("name  several   unquoted\twords ", "several unquoted words")]
    [InlineData("name \"two  blanks\" and more", "two  blanks and more")]
    [InlineData("name \"{\"", "{")]
    [InlineData("name \"}\"", "}")]
    [InlineData("\t  name   value  ", "value")]
    public void Parse_Attribute_ResolvesQuotesEscapesAndComments(string line, string value)
    {
        ScstConfiguration config = ScstConfigReader.Parse(line);

        config.Attributes.Should().ContainSingle();
        config.Attributes[0].Name.Should().Be("name");
        config.Attributes[0].Value.Should().Be(value);
    }

    [Fact]
    public void Parse_RepeatedAttribute_KeepsEachValueInOrder()
    {
        ScstConfiguration config = ScstConfigReader.Parse("""
            TARGET_DRIVER iscsi {
                IncomingUser "joe 12charsecret"
                IncomingUser "ann othersecret1"
                enabled 1
                IncomingUser "bob thirdsecret1"
            }
            """);

        config.TargetDrivers[0].Attributes.GetAll("IncomingUser").Should().Equal("joe 12charsecret", "ann othersecret1", "bob thirdsecret1");
        config.TargetDrivers[0].Attributes.Select(a => a.Name).Should().Equal("IncomingUser", "IncomingUser", "enabled", "IncomingUser");
    }

    [Fact]
    public void Parse_AttributeNames_AreCaseSensitiveAndKeptAsWritten()
    {
        ScstConfiguration config = ScstConfigReader.Parse("HeaderDigest CRC32C\nheaderdigest None\n\"LUN\" quoted-keyword\n");

        config.Attributes.Select(a => a.Name).Should().Equal("HeaderDigest", "headerdigest", "LUN");
        config.Attributes.Get("HeaderDigest").Should().Be("CRC32C");
        config.Attributes.Get("headerdigest").Should().Be("None");
    }

    [Fact]
    public void Parse_EntriesWithoutBraces_HaveNoAttributes()
    {
        ScstConfiguration config = ScstConfigReader.Parse("""
            HANDLER vdisk_nullio {
                DEVICE null1
                DEVICE null2 {
                    blocksize 4096
                }
            }
            TARGET_DRIVER local {
                TARGET t1 {
                    LUN 0 null1
                    LUN 1 null2 {
                        read_only 1
                    }
                    GROUP nobody
                }
                TARGET t2
            }
            """);

        HandlerConfiguration handler = config.Handlers.Single();
        handler.Devices.Select(d => d.Name).Should().Equal("null1", "null2");
        handler.Devices[0].Attributes.Should().BeEmpty();
        handler.Devices[1].Attributes.Get("blocksize").Should().Be("4096");
        TargetConfiguration t1 = config.TargetDrivers[0].Targets[0];
        t1.Luns.Select(l => (l.Number, l.Device)).Should().Equal((0, "null1"), (1, "null2"));
        t1.Luns[0].Attributes.Should().BeEmpty();
        t1.Luns[1].Attributes.Get("read_only").Should().Be("1");
        t1.Groups.Should().ContainSingle(g => g.Name == "nobody" && g.Luns.Count == 0 && g.Initiators.Count == 0);
        config.TargetDrivers[0].Targets[1].Name.Should().Be("t2");
    }

    [Fact]
    public void Parse_HandlerAndTargetAttributes_StayWithTheirSection()
    {
        ScstConfiguration config = ScstConfigReader.Parse("""
            HANDLER vdisk_fileio {
                trace_level none
                DEVICE disk1
            }
            TARGET_DRIVER iscsi {
                enabled 1
                TARGET t1 {
                    rel_tgt_id 3
                    GROUP g {
                        addr_method FLAT
                        INITIATOR host1
                        INITIATOR host?
                        INITIATOR !10.0.0.*
                    }
                }
            }
            """);

        config.Handlers[0].Attributes.Get("trace_level").Should().Be("none");
        config.TargetDrivers[0].Attributes.Get("enabled").Should().Be("1");
        TargetConfiguration t1 = config.TargetDrivers[0].Targets[0];
        t1.Attributes.Get("rel_tgt_id").Should().Be("3");
        t1.Groups[0].Attributes.Get("addr_method").Should().Be("FLAT");
        t1.Groups[0].Initiators.Select(i => i.Value).Should().Equal("host1", "host?", "!10.0.0.*");
        t1.Groups[0].Initiators.Select(i => i.Line).Should().Equal(11, 12, 13);
    }

    [Fact]
    public void Parse_TargetGroup_ReadsItsAttributesAndMembers()
    {
        ScstConfiguration config = ScstConfigReader.Parse("""
            DEVICE_GROUP dg1 {
                DEVICE disk1
                DEVICE disk2
                TARGET_GROUP local {
                    group_id 1
                    preferred 1
                    state active
                    TARGET iqn.2026-01.org.example:t1
                }
                TARGET_GROUP remote {
                    group_id 2
                    state standby
                    TARGET iqn.2026-01.org.example:t1-node2 {
                        rel_tgt_id 2
                    }
                }
            }
            """);

        DeviceGroupConfiguration dg = config.DeviceGroups.Single();
        dg.Devices.Select(d => d.Value).Should().Equal("disk1", "disk2");
        dg.TargetGroups.Select(t => t.Name).Should().Equal("local", "remote");
        dg.TargetGroups[0].Attributes.Select(a => (a.Name, a.Value)).Should().Equal(("group_id", "1"), ("preferred", "1"), ("state", "active"));
        dg.TargetGroups[0].Targets.Single().Attributes.Should().BeEmpty();
        TargetGroupMemberConfiguration remote = dg.TargetGroups[1].Targets.Single();
        remote.Name.Should().Be("iqn.2026-01.org.example:t1-node2");
        remote.Attributes.Get("rel_tgt_id").Should().Be("2");
    }

    [Theory]
    [InlineData("/dev/sdb")]
    [InlineData("2:0:1:0")]
    public void Parse_PassThroughDeviceName_IsKeptAsWritten(string name)
    {
        ScstConfiguration config = ScstConfigReader.Parse($"HANDLER dev_disk {{\n    DEVICE {name}\n}}\n");

        config.Handlers[0].Devices.Single().Name.Should().Be(name);
    }

    [Fact]
    public void Parse_SameNamesInDifferentScopes_AreAccepted()
    {
        ScstConfiguration config = ScstConfigReader.Parse("""
            TARGET_DRIVER iscsi {
                TARGET t {
                    LUN 0 disk1
                    GROUP g {
                        LUN 0 disk1
                        INITIATOR host1
                    }
                    GROUP h {
                        LUN 0 disk1
                        INITIATOR host1
                    }
                }
            }
            TARGET_DRIVER fcoe {
                TARGET t {
                    GROUP g
                }
            }
            """);

        config.TargetDrivers.SelectMany(d => d.Targets).Select(t => t.Name).Should().Equal("t", "t");
        config.TargetDrivers[0].Targets[0].Groups.SelectMany(g => g.Luns).Should().HaveCount(2);
    }

    [Fact]
    public void Parse_LunNumbers_AcceptTheWholeRange()
    {
        ScstConfiguration config = ScstConfigReader.Parse("TARGET_DRIVER d {\n TARGET t {\n  LUN 16383 a\n  LUN 0 b\n  LUN 007 c\n }\n}\n");

        config.TargetDrivers[0].Targets[0].Luns.Select(l => l.Number).Should().Equal(16383, 0, 7);
    }

    [Fact]
    public void Parse_WindowsLineEndingsAndByteOrderMark_AreAccepted()
    {
        ScstConfiguration config = ScstConfigReader.Parse("\uFEFFsetup_id 0x1\r\nHANDLER h {\r\n\tDEVICE d\r\n}\r\n");

        config.Attributes.Single().Should().Be(new ConfigAttribute("setup_id", "0x1", 1));
        config.Handlers.Single().Devices.Single().Name.Should().Be("d");
    }

    [Fact]
    public void Parse_ClosingBrace_MayCarryBlanksAndAComment()
    {
        ScstConfiguration config = ScstConfigReader.Parse("HANDLER h {   # opens\n\tDEVICE d\n\t  }   # closes\nx 1\n");

        config.Handlers.Single().Devices.Single().Name.Should().Be("d");
        config.Attributes.Single().Name.Should().Be("x");
    }

    // Each bad input with the exact place and reason of its fault. Columns count characters, a tab being one.
    [Theory]
    [InlineData("name \"open", 1, 6, "the quoted string is not closed")]
    [InlineData("a 1\n  name x \"open \\\" still open", 2, 10, "the quoted string is not closed")]
    [InlineData("HANDLER h\n{\n}", 2, 1, "{ must end the line of the section it opens, after the section's name")]
    [InlineData("HANDLER h {  DEVICE d\n}", 1, 14, "unexpected DEVICE after {: a section's contents start on the next line")]
    [InlineData("HANDLER h {\n} x\n", 2, 3, "unexpected x after }")]
    [InlineData("HANDLER h {\n  DEVICE d }\n}", 2, 12, "} must stand alone on its line")]
    [InlineData("setup_id 1\n}\n", 2, 1, "} closes no section")]
    [InlineData("HANDLER h {\n}\n  }\n", 3, 3, "} closes no section")]
    [InlineData("a 1\nHANDLER h {\n  DEVICE d {\n    x 1\n  }\n", 2, 1, "HANDLER h is not closed: the file ends before its }")]
    [InlineData("HANDLER h {\n  DEVICE d {\n    x 1\n}\n", 1, 1, "HANDLER h is not closed: the file ends before its }")]
    [InlineData("TARGET_DRIVER i {\n\tTARGET t {\n\t\tGROUP g {\n", 3, 3, "GROUP g is not closed: the file ends before its }")]
    [InlineData("[HANDLER vdisk]\nDEVICE disk1,/disk1\n", 1, 1, "the procfs-era [SECTION] format is not supported; write HANDLER, TARGET_DRIVER and DEVICE_GROUP sections in braces")]
    [InlineData("HANDLER h {\n  [DEVICE d]\n}", 2, 3, "the procfs-era [SECTION] format is not supported; write HANDLER, TARGET_DRIVER and DEVICE_GROUP sections in braces")]
    [InlineData("enabled", 1, 1, "attribute enabled has no value (an empty value is written \"\")")]
    [InlineData("TARGET_DRIVER i {\n\tenabled   # no value\n}", 2, 2, "attribute enabled has no value (an empty value is written \"\")")]
    [InlineData("options {\n}", 1, 1, "options is not a section keyword")]
    [InlineData("handler vdisk {\n}", 1, 1, "handler is not a section keyword (keywords are upper case: HANDLER)")]
    [InlineData("HANDLER h {\n  device d {\n  }\n}", 2, 3, "device is not a section keyword (keywords are upper case: DEVICE)")]
    [InlineData("HANDLER h {\n  DEVICE d{\n  }\n}", 2, 11, "a blank must separate { from the name before it")]
    public void Parse_Malformed_ReportsLineAndColumn(string text, int line, int column, string reason)
    {
        ParseFails(text, line, column, reason);
    }

    [Theory]
    [InlineData("LUN 0 disk1", 1, 1, "LUN is not allowed at the top level; it belongs in TARGET or GROUP")]
    [InlineData("DEVICE disk1", 1, 1, "DEVICE is not allowed at the top level; it belongs in HANDLER or DEVICE_GROUP")]
    [InlineData("TARGET t {\n}", 1, 1, "TARGET is not allowed at the top level; it belongs in TARGET_DRIVER or TARGET_GROUP")]
    [InlineData("INITIATOR host1", 1, 1, "INITIATOR is not allowed at the top level; it belongs in GROUP")]
    [InlineData("HANDLER h {\n  TARGET t\n}", 2, 3, "TARGET is not allowed in HANDLER h; it belongs in TARGET_DRIVER or TARGET_GROUP")]
    [InlineData("HANDLER h {\n  HANDLER g {\n  }\n}", 2, 3, "HANDLER is not allowed in HANDLER h; it belongs at the top level")]
    [InlineData("HANDLER h {\n  DEVICE d {\n    LUN 0 d\n  }\n}", 3, 5, "LUN is not allowed in DEVICE d; it belongs in TARGET or GROUP")]
    [InlineData("TARGET_DRIVER i {\n  LUN 0 d\n}", 2, 3, "LUN is not allowed in TARGET_DRIVER i; it belongs in TARGET or GROUP")]
    [InlineData("TARGET_DRIVER i {\n  GROUP g\n}", 2, 3, "GROUP is not allowed in TARGET_DRIVER i; it belongs in TARGET")]
    [InlineData("TARGET_DRIVER i {\n  TARGET t {\n    INITIATOR host1\n  }\n}", 3, 5, "INITIATOR is not allowed in TARGET t; it belongs in GROUP")]
    [InlineData("TARGET_DRIVER i {\n  TARGET t {\n    DEVICE d\n  }\n}", 3, 5, "DEVICE is not allowed in TARGET t; it belongs in HANDLER or DEVICE_GROUP")]
    [InlineData("TARGET_DRIVER i {\n  TARGET t {\n    GROUP g {\n      GROUP h\n    }\n  }\n}", 4, 7, "GROUP is not allowed in GROUP g; it belongs in TARGET")]
    [InlineData("TARGET_DRIVER i {\n  TARGET t {\n    LUN 0 d {\n      LUN 1 d\n    }\n  }\n}", 4, 7, "LUN is not allowed in LUN 0; it belongs in TARGET or GROUP")]
    [InlineData("DEVICE_GROUP dg {\n  LUN 0 d\n}", 2, 3, "LUN is not allowed in DEVICE_GROUP dg; it belongs in TARGET or GROUP")]
    [InlineData("DEVICE_GROUP dg {\n  TARGET_GROUP tg {\n    DEVICE d\n  }\n}", 3, 5, "DEVICE is not allowed in TARGET_GROUP tg; it belongs in HANDLER or DEVICE_GROUP")]
    [InlineData("DEVICE_GROUP dg {\n  TARGET_GROUP tg {\n    TARGET t {\n      TARGET u\n    }\n  }\n}", 4, 7, "TARGET is not allowed in TARGET t; it belongs in TARGET_DRIVER or TARGET_GROUP")]
    [InlineData("HANDLER h {\n  TARGET_GROUP tg\n}", 2, 3, "TARGET_GROUP is not allowed in HANDLER h; it belongs in DEVICE_GROUP")]
    public void Parse_KeywordOutOfPlace_ReportsWhereItBelongs(string text, int line, int column, string reason)
    {
        ParseFails(text, line, column, reason);
    }

    [Theory]
    [InlineData("HANDLER {\n}", 1, 1, "HANDLER has no name")]
    [InlineData("TARGET_DRIVER", 1, 1, "TARGET_DRIVER has no name")]
    [InlineData("DEVICE_GROUP   # comment", 1, 1, "DEVICE_GROUP has no name")]
    [InlineData("HANDLER h {\n  DEVICE {\n  }\n}", 2, 3, "DEVICE has no name")]
    [InlineData("TARGET_DRIVER d {\n  TARGET\n}", 2, 3, "TARGET has no name")]
    [InlineData("TARGET_DRIVER d {\n  TARGET t {\n    GROUP {\n    }\n  }\n}", 3, 5, "GROUP has no name")]
    [InlineData("TARGET_DRIVER d {\n  TARGET t {\n    GROUP g {\n      INITIATOR\n    }\n  }\n}", 4, 7, "INITIATOR has no pattern")]
    [InlineData("DEVICE_GROUP dg {\n  TARGET_GROUP {\n  }\n}", 2, 3, "TARGET_GROUP has no name")]
    [InlineData("HANDLER \"\" {\n}", 1, 9, "HANDLER has an empty name")]
    [InlineData("HANDLER vdisk fileio {\n}", 1, 15, "unexpected fileio after HANDLER vdisk")]
    [InlineData("DEVICE_GROUP dg {\n  DEVICE d1 d2\n}", 2, 13, "unexpected d2 after DEVICE d1")]
    [InlineData("TARGET_DRIVER d {\n  TARGET t {\n    GROUP g {\n      INITIATOR host1 {\n      }\n    }\n  }\n}", 4, 23, "INITIATOR does not open a section")]
    [InlineData("DEVICE_GROUP dg {\n  DEVICE d {\n  }\n}", 2, 12, "DEVICE does not open a section")]
    public void Parse_SectionHeaderWithoutProperName_IsAnError(string text, int line, int column, string reason)
    {
        ParseFails(text, line, column, reason);
    }

    [Theory]
    [InlineData("LUN", 3, 5, "LUN has no number")]
    [InlineData("LUN 0", 3, 5, "LUN 0 has no device")]
    [InlineData("LUN 0 \"\"", 3, 5, "LUN 0 has no device")]
    [InlineData("LUN disk1", 3, 9, "disk1 is not a LUN number (0 to 16383)")]
    [InlineData("LUN abc disk1", 3, 9, "abc is not a LUN number (0 to 16383)")]
    [InlineData("LUN -1 disk1", 3, 9, "-1 is not a LUN number (0 to 16383)")]
    [InlineData("LUN +1 disk1", 3, 9, "+1 is not a LUN number (0 to 16383)")]
    [InlineData("LUN 1.5 disk1", 3, 9, "1.5 is not a LUN number (0 to 16383)")]
    [InlineData("LUN 16384 disk1", 3, 9, "16384 is not a LUN number (0 to 16383)")]
    [InlineData("LUN 99999999999 disk1", 3, 9, "99999999999 is not a LUN number (0 to 16383)")]
    [InlineData("LUN 0 disk1 disk2", 3, 17, "unexpected disk2 after LUN 0 disk1")]
    [InlineData("LUN 0 disk1{", 3, 16, "a blank must separate { from the name before it")]
    public void Parse_MalformedLun_IsAnError(string lun, int line, int column, string reason)
    {
        ParseFails($"TARGET_DRIVER d {{\n  TARGET t {{\n    {lun}\n  }}\n}}\n", line, column, reason);
    }

    [Theory]
    [InlineData("HANDLER h {\n}\nHANDLER h {\n}", 3, 9, "HANDLER h appears twice (first at line 1)")]
    [InlineData("TARGET_DRIVER d\nTARGET_DRIVER d", 2, 15, "TARGET_DRIVER d appears twice (first at line 1)")]
    [InlineData("DEVICE_GROUP g {\n}\nDEVICE_GROUP g {\n}", 3, 14, "DEVICE_GROUP g appears twice (first at line 1)")]
    [InlineData("HANDLER h {\n  DEVICE d\n  DEVICE d\n}", 3, 10, "DEVICE d appears twice (first at line 2)")]
    [InlineData("HANDLER h {\n  DEVICE d\n}\nHANDLER g {\n  DEVICE d\n}", 5, 10, "DEVICE d appears twice (first at line 2)")]
    [InlineData("TARGET_DRIVER i {\n  TARGET t\n  TARGET t\n}", 3, 10, "TARGET t appears twice (first at line 2)")]
    [InlineData("TARGET_DRIVER i {\n  TARGET t {\n    GROUP g\n    GROUP g\n  }\n}", 4, 11, "GROUP g appears twice (first at line 3)")]
    [InlineData("TARGET_DRIVER i {\n  TARGET t {\n    LUN 0 a\n    LUN 00 b\n  }\n}", 4, 9, "LUN 0 appears twice (first at line 3)")]
    [InlineData("TARGET_DRIVER i {\n  TARGET t {\n    GROUP g {\n      LUN 5 a\n      LUN 5 a\n    }\n  }\n}", 5, 11, "LUN 5 appears twice (first at line 4)")]
    [InlineData("TARGET_DRIVER i {\n  TARGET t {\n    GROUP g {\n      INITIATOR h*\n      INITIATOR h*\n    }\n  }\n}", 5, 17, "INITIATOR h* appears twice (first at line 4)")]
    [InlineData("DEVICE_GROUP dg {\n  DEVICE d\n  DEVICE d\n}", 3, 10, "DEVICE d appears twice (first at line 2)")]
    [InlineData("DEVICE_GROUP dg {\n  TARGET_GROUP tg\n  TARGET_GROUP tg\n}", 3, 16, "TARGET_GROUP tg appears twice (first at line 2)")]
    [InlineData("DEVICE_GROUP dg {\n  TARGET_GROUP tg {\n    TARGET t\n    TARGET t\n  }\n}", 4, 12, "TARGET t appears twice (first at line 3)")]
    public void Parse_DuplicateName_IsAnErrorAtTheSecond(string text, int line, int column, string reason)
    {
        ParseFails(text, line, column, reason);
    }

    [Fact]
    public void Parse_Tabs_CountAsOneColumn()
    {
        ParseFails("HANDLER h {\n\t\tTARGET t\n}", 2, 3, "TARGET is not allowed in HANDLER h; it belongs in TARGET_DRIVER or TARGET_GROUP");
    }

    [Fact]
    public void Parse_WithoutSource_MessageStartsWithLineAndColumn()
    {
        var ex = Assert.Throws<ScstConfigException>(() => ScstConfigReader.Parse("a 1\n LUN 0 d\n"));

        ex.SourceName.Should().BeNull();
        ex.Message.Should().Be("2:2: LUN is not allowed at the top level; it belongs in TARGET or GROUP");
        ex.Should().BeAssignableTo<FormatException>();
    }

    [Fact]
    public void Load_ReadsTheFileAndNamesItInErrors()
    {
        string path = Path.Combine(Path.GetTempPath(), $"scst-{Guid.NewGuid():N}.conf");
        try
        {
            File.WriteAllText(path, ConfigSamples.ScstExample);
            ScstConfigReader.Load(path).ShouldMatch(ConfigSamples.ScstExampleModel());

            File.WriteAllText(path, "HANDLER h {\n");
            var ex = Assert.Throws<ScstConfigException>(() => ScstConfigReader.Load(path));

            ex.SourceName.Should().Be(path);
            ex.Message.Should().Be($"{path}:1:1: HANDLER h is not closed: the file ends before its }}");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Load_MissingFile_ThrowsAnIOException()
    {
        string path = Path.Combine(Path.GetTempPath(), $"scst-{Guid.NewGuid():N}.conf");

        Assert.Throws<FileNotFoundException>(() => ScstConfigReader.Load(path));
    }

    private static void ParseFails(string text, int line, int column, string reason)
    {
        var ex = Assert.Throws<ScstConfigException>(() => ScstConfigReader.Parse(text, "scst.conf"));

        ex.Reason.Should().Be(reason);
        (ex.Line, ex.Column).Should().Be((line, column));
        ex.SourceName.Should().Be("scst.conf");
        ex.Message.Should().Be($"scst.conf:{line}:{column}: {reason}");
    }
}
