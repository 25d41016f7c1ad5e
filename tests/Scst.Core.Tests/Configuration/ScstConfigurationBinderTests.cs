// Licensed under the Apache License, Version 2.0.

using System.Text;
using Microsoft.Extensions.Configuration;
using Scst.Core.Configuration;

namespace Scst.Core.Tests.Configuration;

/// <summary>The appsettings.json shape of the scst.conf model, read through Microsoft.Extensions.Configuration.</summary>
public sealed class ScstConfigurationBinderTests
{
    private const string SampleJson = """
        {
          "Scst": {
            "Attributes": { "setup_id": "0x1234" },
            "Handlers": {
              "vdisk_fileio": {
                "Attributes": {},
                "Devices": { "disk1": { "filename": "/disk1", "nv_cache": "1" }, "disk2": { "filename": "/disk2" } }
              }
            },
            "TargetDrivers": {
              "iscsi": {
                "Attributes": { "enabled": "1" },
                "Targets": {
                  "iqn.2006-10.net.vlnb:tgt": {
                    "Attributes": { "IncomingUser": [ "joe 12charsecret", "ann othersecret1" ], "HeaderDigest": "CRC32C,None", "enabled": "1" },
                    "Luns": { "0": "disk1", "1": { "Device": "disk2", "read_only": "1" } },
                    "Groups": {
                      "special": {
                        "Luns": { "0": { "Device": "disk1", "read_only": "1" } },
                        "Initiators": [ "iqn.2005-03.org.open-iscsi:*", "iqn.2005-03.org.example:host?" ],
                        "Attributes": {}
                      }
                    }
                  }
                }
              }
            },
            "DeviceGroups": {
              "dg1": {
                "Devices": [ "disk1" ],
                "TargetGroups": {
                  "tg1": { "group_id": "1", "state": "active", "Targets": [ "iqn.2006-10.net.vlnb:tgt" ] },
                  "tg2": { "group_id": "2", "Targets": { "iqn.2006-10.net.vlnb:remote": { "rel_tgt_id": "2" } } }
                }
              }
            }
          }
        }
        """;

    [Fact]
    public void Bind_JsonSample_GivesTheModel()
    {
        IConfiguration configuration = new ConfigurationBuilder()
            .AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(SampleJson)))
            .Build();

        ScstConfiguration config = ScstConfigurationBinder.Bind(configuration.GetSection("Scst"));

        // Configuration keys come sorted (numbers by value), not in file order.
        var expected = new ScstConfiguration();
        expected.Attributes.Add("setup_id", "0x1234");
        var handler = new HandlerConfiguration("vdisk_fileio");
        var disk1 = new DeviceConfiguration("disk1");
        disk1.Attributes.Add("filename", "/disk1");
        disk1.Attributes.Add("nv_cache", "1");
        var disk2 = new DeviceConfiguration("disk2");
        disk2.Attributes.Add("filename", "/disk2");
        handler.Devices.Add(disk1);
        handler.Devices.Add(disk2);
        expected.Handlers.Add(handler);
        var iscsi = new TargetDriverConfiguration("iscsi");
        iscsi.Attributes.Add("enabled", "1");
        var target = new TargetConfiguration("iqn.2006-10.net.vlnb:tgt");
        target.Attributes.Add("enabled", "1");
        target.Attributes.Add("HeaderDigest", "CRC32C,None");
        target.Attributes.Add("IncomingUser", "joe 12charsecret");
        target.Attributes.Add("IncomingUser", "ann othersecret1");
        target.Luns.Add(new LunConfiguration(0, "disk1"));
        var lun1 = new LunConfiguration(1, "disk2");
        lun1.Attributes.Add("read_only", "1");
        target.Luns.Add(lun1);
        var special = new GroupConfiguration("special");
        var groupLun = new LunConfiguration(0, "disk1");
        groupLun.Attributes.Add("read_only", "1");
        special.Luns.Add(groupLun);
        special.Initiators.Add(new ConfigAttribute("INITIATOR", "iqn.2005-03.org.open-iscsi:*"));
        special.Initiators.Add(new ConfigAttribute("INITIATOR", "iqn.2005-03.org.example:host?"));
        target.Groups.Add(special);
        iscsi.Targets.Add(target);
        expected.TargetDrivers.Add(iscsi);
        var dg1 = new DeviceGroupConfiguration("dg1");
        dg1.Devices.Add(new ConfigAttribute("DEVICE", "disk1"));
        var tg1 = new TargetGroupConfiguration("tg1");
        tg1.Attributes.Add("group_id", "1");
        tg1.Attributes.Add("state", "active");
        tg1.Targets.Add(new TargetGroupMemberConfiguration("iqn.2006-10.net.vlnb:tgt"));
        var tg2 = new TargetGroupConfiguration("tg2");
        tg2.Attributes.Add("group_id", "2");
        var remote = new TargetGroupMemberConfiguration("iqn.2006-10.net.vlnb:remote");
        remote.Attributes.Add("rel_tgt_id", "2");
        tg2.Targets.Add(remote);
        dg1.TargetGroups.Add(tg1);
        dg1.TargetGroups.Add(tg2);
        expected.DeviceGroups.Add(dg1);
        config.ShouldMatch(expected);
    }

    [Fact]
    public void Bind_ScstExampleInMemory_MatchesTheParsedFile()
    {
        IConfiguration configuration = InMemory(
            ("Scst:Attributes:setup_id", "0x1234"),
            ("Scst:Handlers:vdisk_fileio:Devices:disk1:filename", "/disk1"),
            ("Scst:Handlers:vdisk_fileio:Devices:disk1:nv_cache", "1"),
            ("Scst:TargetDrivers:iscsi:Attributes:enabled", "1"),
            ("Scst:TargetDrivers:iscsi:Targets:iqn.2006-10.net.vlnb:tgt:Attributes:HeaderDigest", "CRC32C,None"),
            ("Scst:TargetDrivers:iscsi:Targets:iqn.2006-10.net.vlnb:tgt:Attributes:IncomingUser:0", "joe 12charsecret"),
            ("Scst:TargetDrivers:iscsi:Targets:iqn.2006-10.net.vlnb:tgt:Attributes:enabled", "1"),
            ("Scst:TargetDrivers:iscsi:Targets:iqn.2006-10.net.vlnb:tgt:Luns:0", "disk1"),
            ("Scst:TargetDrivers:iscsi:Targets:iqn.2006-10.net.vlnb:tgt:Groups:special:Luns:0:Device", "disk1"),
            ("Scst:TargetDrivers:iscsi:Targets:iqn.2006-10.net.vlnb:tgt:Groups:special:Luns:0:read_only", "1"),
            ("Scst:TargetDrivers:iscsi:Targets:iqn.2006-10.net.vlnb:tgt:Groups:special:Initiators:0", "iqn.2005-03.org.open-iscsi:*"),
            ("Scst:DeviceGroups:dg1:Devices:0", "disk1"),
            ("Scst:DeviceGroups:dg1:TargetGroups:tg1:group_id", "1"),
            ("Scst:DeviceGroups:dg1:TargetGroups:tg1:state", "active"),
            ("Scst:DeviceGroups:dg1:TargetGroups:tg1:Targets:0", "iqn.2006-10.net.vlnb:tgt"));

        ScstConfiguration config = ScstConfigurationBinder.Bind(configuration.GetSection("Scst"));

        // The target's attributes are sorted by the provider: enabled, HeaderDigest, IncomingUser.
        ScstConfiguration expected = ConfigSamples.ScstExampleModel();
        TargetConfiguration target = expected.TargetDrivers[0].Targets[0];
        target.Attributes.Remove("IncomingUser");
        target.Attributes.Remove("HeaderDigest");
        target.Attributes.Add("HeaderDigest", "CRC32C,None");
        target.Attributes.Add("IncomingUser", "joe 12charsecret");
        config.ShouldMatch(expected);
        config.Handlers[0].Line.Should().Be(0);
    }

    [Fact]
    public void Bind_ArrayAttribute_GivesOneLinePerElementInArrayOrder()
    {
        IConfiguration configuration = InMemory(
            ("Attributes:IncomingUser:0", "a 1"),
            ("Attributes:IncomingUser:1", "b 2"),
            ("Attributes:IncomingUser:2", "c 3"),
            ("Attributes:IncomingUser:10", "k 11"),
            ("Attributes:IncomingUser:3", "d 4"),
            ("Attributes:IncomingUser:4", "e 5"),
            ("Attributes:IncomingUser:5", "f 6"),
            ("Attributes:IncomingUser:6", "g 7"),
            ("Attributes:IncomingUser:7", "h 8"),
            ("Attributes:IncomingUser:8", "i 9"),
            ("Attributes:IncomingUser:9", "j 10"));

        ScstConfiguration config = ScstConfigurationBinder.Bind(configuration);

        config.Attributes.GetAll("IncomingUser").Should().Equal("a 1", "b 2", "c 3", "d 4", "e 5", "f 6", "g 7", "h 8", "i 9", "j 10", "k 11");
    }

    [Fact]
    public void Bind_EmptyAndNullValues_GiveAnEmptyValueOrNoLine()
    {
        // The JSON provider gives [] as "" (so an empty value), {} and null as no value.
        IConfiguration configuration = new ConfigurationBuilder()
            .AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes("""
                { "Attributes": { "empty": "", "none": null, "noObject": {}, "emptyArray": [], "one": "1" },
                  "Handlers": { "vdisk_nullio": { "Devices": { "null1": "", "null2": {} } } } }
                """)))
            .Build();

        ScstConfiguration config = ScstConfigurationBinder.Bind(configuration);

        config.Attributes.Select(a => (a.Name, a.Value)).Should().Equal(("empty", ""), ("emptyArray", ""), ("one", "1"));
        config.Handlers[0].Devices.Select(d => d.Name).Should().Equal("null1", "null2");
        config.Handlers[0].Devices.Should().OnlyContain(d => d.Attributes.Count == 0);
    }

    [Fact]
    public void Bind_StructuralKeys_IgnoreCaseAndNamesStayAsGiven()
    {
        IConfiguration configuration = InMemory(
            ("handlers:Vdisk_FileIO:devices:Disk1:FileName", "/d"),
            ("TARGETDRIVERS:iSCSI:targets:IQN.X:luns:0", "Disk1"),
            ("deviceGroups:DG:devices", "Disk1"));

        ScstConfiguration config = ScstConfigurationBinder.Bind(configuration);

        config.Handlers.Single().Name.Should().Be("Vdisk_FileIO");
        config.Handlers[0].Devices.Single().Name.Should().Be("Disk1");
        config.Handlers[0].Devices[0].Attributes.Single().Name.Should().Be("FileName");
        config.TargetDrivers.Single().Targets.Single().Name.Should().Be("IQN.X");
        config.TargetDrivers[0].Targets[0].Luns.Single().Device.Should().Be("Disk1");
        config.DeviceGroups.Single().Devices.Single().Value.Should().Be("Disk1");
    }

    [Fact]
    public void Bind_LunsAsAnArray_NumberTheDevicesFromZero()
    {
        IConfiguration configuration = InMemory(
            ("TargetDrivers:local:Targets:t:Luns:0", "a"),
            ("TargetDrivers:local:Targets:t:Luns:1", "b"),
            ("TargetDrivers:local:Targets:t:Luns:2", "c"),
            ("TargetDrivers:local:Targets:t:Luns:12", "m"));

        ScstConfiguration config = ScstConfigurationBinder.Bind(configuration);

        config.TargetDrivers[0].Targets[0].Luns.Select(l => (l.Number, l.Device)).Should().Equal((0, "a"), (1, "b"), (2, "c"), (12, "m"));
    }

    [Fact]
    public void Bind_TargetGroup_TakesInlineAndNestedAttributesAndBothMemberForms()
    {
        IConfiguration configuration = InMemory(
            ("DeviceGroups:dg:TargetGroups:local:group_id", "1"),
            ("DeviceGroups:dg:TargetGroups:local:Attributes:preferred", "1"),
            ("DeviceGroups:dg:TargetGroups:local:Targets:0", "t1"),
            ("DeviceGroups:dg:TargetGroups:local:Targets:1", "t2"),
            ("DeviceGroups:dg:TargetGroups:remote:group_id", "2"),
            ("DeviceGroups:dg:TargetGroups:remote:Targets:t3:rel_tgt_id", "3"),
            ("DeviceGroups:dg:TargetGroups:remote:Targets:t4", ""),
            ("DeviceGroups:dg:TargetGroups:single:Targets", "t5"));

        ScstConfiguration config = ScstConfigurationBinder.Bind(configuration);

        IList<TargetGroupConfiguration> groups = config.DeviceGroups.Single().TargetGroups;
        groups.Select(g => g.Name).Should().Equal("local", "remote", "single");
        groups[0].Attributes.Select(a => (a.Name, a.Value)).Should().Equal(("preferred", "1"), ("group_id", "1"));
        groups[0].Targets.Select(t => t.Name).Should().Equal("t1", "t2");
        groups[1].Targets.Select(t => t.Name).Should().Equal("t3", "t4");
        groups[1].Targets[0].Attributes.Single().Should().Be(new ConfigAttribute("rel_tgt_id", "3"));
        groups[1].Targets[1].Attributes.Should().BeEmpty();
        groups[2].Targets.Single().Name.Should().Be("t5");
    }

    [Fact]
    public void Bind_NamesWithColons_AreJoinedBackFromNestedKeys()
    {
        IConfiguration configuration = new ConfigurationBuilder()
            .AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes("""
                {
                  "Handlers": { "dev_disk": { "Devices": { "2:0:1:0": { "read_only": "1" } } } },
                  "TargetDrivers": { "iscsi": { "Targets": {
                    "iqn.2026-01.org.example:t1": { "Luns": { "0": "2:0:1:0" },
                      "Groups": { "iqn.2026-01.org.example:host1": { "Initiators": "iqn.2026-01.org.example:host1" } } },
                    "iqn.2026-01.org.example:t2": { "Attributes": { "enabled": "0" } },
                    "iqn.2026-01.org.example:t3:a:b": "",
                    "eui.0123456789abcdef": {} } } },
                  "DeviceGroups": { "dg": { "TargetGroups": { "remote": {
                    "Targets": { "iqn.2026-01.org.example:node2:t1": { "rel_tgt_id": "2" } } } } } }
                }
                """)))
            .Build();

        ScstConfiguration config = ScstConfigurationBinder.Bind(configuration);

        config.Handlers[0].Devices.Single().Name.Should().Be("2:0:1:0");
        config.Handlers[0].Devices[0].Attributes.Single().Should().Be(new ConfigAttribute("read_only", "1"));
        IList<TargetConfiguration> targets = config.TargetDrivers[0].Targets;
        targets.Select(t => t.Name).Should().BeEquivalentTo(
            "eui.0123456789abcdef", "iqn.2026-01.org.example:t1", "iqn.2026-01.org.example:t2", "iqn.2026-01.org.example:t3:a:b");
        TargetConfiguration t1 = targets.Single(t => t.Name == "iqn.2026-01.org.example:t1");
        t1.Luns.Single().Device.Should().Be("2:0:1:0");
        t1.Groups.Single().Name.Should().Be("iqn.2026-01.org.example:host1");
        t1.Groups[0].Initiators.Single().Value.Should().Be("iqn.2026-01.org.example:host1");
        targets.Single(t => t.Name == "iqn.2026-01.org.example:t2").Attributes.Get("enabled").Should().Be("0");
        TargetGroupMemberConfiguration member = config.DeviceGroups[0].TargetGroups[0].Targets.Single();
        member.Name.Should().Be("iqn.2026-01.org.example:node2:t1");
        member.Attributes.Single().Should().Be(new ConfigAttribute("rel_tgt_id", "2"));
    }

    [Fact]
    public void Bind_TargetWhoseNameStartsAnother_ReportsTheOtherAsAnUnknownKey()
    {
        // "iqn.x" is a target (it has Luns), so "t1" under it cannot continue a name.
        IConfiguration configuration = InMemory(
            ("TargetDrivers:iscsi:Targets:iqn.x:Luns:0", "disk1"),
            ("TargetDrivers:iscsi:Targets:iqn.x:t1:Luns:0", "disk2"));

        var ex = Assert.Throws<ScstConfigException>(() => ScstConfigurationBinder.Bind(configuration));

        ex.Message.Should().Be("TargetDrivers:iscsi:Targets:iqn.x:t1: unknown key; expected Attributes, Luns or Groups");
    }

    [Fact]
    public void Bind_SingleInitiator_IsOneEntry()
    {
        IConfiguration configuration = InMemory(("TargetDrivers:iscsi:Targets:t:Groups:g:Initiators", "iqn.*"));

        ScstConfiguration config = ScstConfigurationBinder.Bind(configuration);

        config.TargetDrivers[0].Targets[0].Groups.Single().Initiators.Single().Value.Should().Be("iqn.*");
    }

    [Fact]
    public void Bind_EmptySection_GivesAnEmptyConfiguration()
    {
        ScstConfiguration config = ScstConfigurationBinder.Bind(InMemory().GetSection("Scst"));

        config.Attributes.Should().BeEmpty();
        config.Handlers.Should().BeEmpty();
        config.TargetDrivers.Should().BeEmpty();
        config.DeviceGroups.Should().BeEmpty();
    }

    [Fact]
    public void Bind_ThenWrite_ReadsBackTheSame()
    {
        IConfiguration configuration = new ConfigurationBuilder()
            .AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(SampleJson)))
            .Build();
        ScstConfiguration bound = ScstConfigurationBinder.Bind(configuration.GetSection("Scst"));

        ScstConfiguration reread = ScstConfigReader.Parse(ScstConfigWriter.Write(bound));

        reread.ShouldMatch(bound);
    }

    [Theory]
    [InlineData("Scst:Handler:vdisk_fileio", "x", "Scst:Handler: unknown key; expected Attributes, Handlers, TargetDrivers or DeviceGroups")]
    [InlineData("Scst:Handlers:vdisk_fileio:Device:d", "x", "Scst:Handlers:vdisk_fileio:Device: unknown key; expected Attributes or Devices")]
    [InlineData("Scst:TargetDrivers:iscsi:Target:t", "x", "Scst:TargetDrivers:iscsi:Target: unknown key; expected Attributes or Targets")]
    [InlineData("Scst:TargetDrivers:iscsi:Targets:t:enabled", "1", "Scst:TargetDrivers:iscsi:Targets:t:enabled: unknown key; expected Attributes, Luns or Groups")]
    [InlineData("Scst:TargetDrivers:iscsi:Targets:t:Groups:g:Initiator", "x", "Scst:TargetDrivers:iscsi:Targets:t:Groups:g:Initiator: unknown key; expected Attributes, Luns or Initiators")]
    [InlineData("Scst:DeviceGroups:dg:TargetGroup:tg", "x", "Scst:DeviceGroups:dg:TargetGroup: unknown key; expected Attributes, Devices or TargetGroups")]
    [InlineData("Scst:TargetDrivers:iscsi:Targets:x:Luns:abc", "disk1", "Scst:TargetDrivers:iscsi:Targets:x:Luns:abc: not a LUN number (0 to 16383)")]
    [InlineData("Scst:TargetDrivers:iscsi:Targets:x:Luns:16384", "disk1", "Scst:TargetDrivers:iscsi:Targets:x:Luns:16384: not a LUN number (0 to 16383)")]
    [InlineData("Scst:TargetDrivers:iscsi:Targets:x:Luns:-1", "disk1", "Scst:TargetDrivers:iscsi:Targets:x:Luns:-1: not a LUN number (0 to 16383)")]
    [InlineData("Scst:TargetDrivers:iscsi:Targets:x:Luns:0", "", "Scst:TargetDrivers:iscsi:Targets:x:Luns:0: the device's name is empty")]
    [InlineData("Scst:TargetDrivers:iscsi:Targets:x:Luns:0:read_only", "1", "Scst:TargetDrivers:iscsi:Targets:x:Luns:0: a LUN needs a Device: write the device's name, or an object with Device and the LUN's attributes")]
    [InlineData("Scst:TargetDrivers:iscsi:Targets:x:Luns", "disk1", "Scst:TargetDrivers:iscsi:Targets:x:Luns: expected an object of named entries, not a value")]
    [InlineData("Scst:Handlers", "vdisk_fileio", "Scst:Handlers: expected an object of named entries, not a value")]
    [InlineData("Scst:Handlers:vdisk_fileio:Devices:disk1", "/disk1", "Scst:Handlers:vdisk_fileio:Devices:disk1: expected an object of attributes, not a value")]
    [InlineData("Scst:Attributes:setup_id:value", "1", "Scst:Attributes:setup_id: expected a value or an array of values")]
    [InlineData("Scst:Attributes:IncomingUser:1", "b 2", "Scst:Attributes:IncomingUser: expected a value or an array of values")]
    [InlineData("Scst:Attributes", "x", "Scst:Attributes: expected an object of attributes, not a value")]
    [InlineData("Scst:DeviceGroups:dg:Devices:0:name", "d", "Scst:DeviceGroups:dg:Devices: expected a name or an array of names")]
    [InlineData("Scst:DeviceGroups:dg:Devices:0", "", "Scst:DeviceGroups:dg:Devices: a name is empty")]
    public void Bind_WrongShape_NamesThePath(string key, string value, string message)
    {
        IConfiguration configuration = InMemory((key, value));

        var ex = Assert.Throws<ScstConfigException>(() => ScstConfigurationBinder.Bind(configuration.GetSection("Scst")));

        ex.Message.Should().Be(message);
        ex.SourceName.Should().Be(message[..message.IndexOf(": ", StringComparison.Ordinal)]);
        (ex.Line, ex.Column).Should().Be((0, 0));
    }

    [Fact]
    public void Bind_SameDeviceInTwoHandlers_IsAnError()
    {
        IConfiguration configuration = InMemory(
            ("Handlers:vdisk_blockio:Devices:disk1:filename", "/dev/sdb"),
            ("Handlers:vdisk_fileio:Devices:disk1:filename", "/disk1"));

        var ex = Assert.Throws<ScstConfigException>(() => ScstConfigurationBinder.Bind(configuration));

        ex.Message.Should().Be("Handlers:vdisk_fileio:Devices:disk1: device disk1 is already defined at Handlers:vdisk_blockio:Devices:disk1");
    }

    [Fact]
    public void Bind_SameLunNumberTwice_IsAnError()
    {
        IConfiguration configuration = InMemory(
            ("TargetDrivers:iscsi:Targets:t:Luns:0", "a"),
            ("TargetDrivers:iscsi:Targets:t:Luns:00", "b"));

        var ex = Assert.Throws<ScstConfigException>(() => ScstConfigurationBinder.Bind(configuration));

        ex.Message.Should().Be("TargetDrivers:iscsi:Targets:t:Luns:00: LUN 0 is already defined at TargetDrivers:iscsi:Targets:t:Luns:0");
    }

    [Theory]
    [InlineData("TargetDrivers:iscsi:Targets:t:Groups:g:Initiators")]
    [InlineData("DeviceGroups:dg:Devices")]
    [InlineData("DeviceGroups:dg:TargetGroups:tg:Targets")]
    public void Bind_NameListedTwice_IsAnError(string list)
    {
        IConfiguration configuration = InMemory(($"{list}:0", "a"), ($"{list}:1", "b"), ($"{list}:2", "a"));

        var ex = Assert.Throws<ScstConfigException>(() => ScstConfigurationBinder.Bind(configuration));

        ex.Message.Should().Be($"{list}: a is listed twice");
    }

    private static IConfigurationRoot InMemory(params (string Key, string? Value)[] pairs) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(pairs.Select(p => new KeyValuePair<string, string?>(p.Key, p.Value)))
            .Build();
}
