// Licensed under the Apache License, Version 2.0.

using FluentAssertions.Equivalency;
using Scst.Core.Configuration;

namespace Scst.Core.Tests.Configuration;

/// <summary>The configurations the reader, writer and binder tests share, and a comparison that ignores lines.</summary>
internal static class ConfigSamples
{
    /// <summary>The example scst.conf of SCST's documentation (scst-features.md, 6.3), indented as there.</summary>
    public const string ScstExample = """
        setup_id 0x1234
        HANDLER vdisk_fileio {
            DEVICE disk1 {
                filename /disk1
                nv_cache 1
            }
        }
        TARGET_DRIVER iscsi {
            enabled 1
            TARGET iqn.2006-10.net.vlnb:tgt {
                IncomingUser "joe 12charsecret"
                HeaderDigest CRC32C,None
                enabled 1
                LUN 0 disk1
                GROUP special {
                    LUN 0 disk1 {
                        read_only 1
                    }
                    INITIATOR iqn.2005-03.org.open-iscsi:*
                }
            }
        }
        DEVICE_GROUP dg1 {
            DEVICE disk1
            TARGET_GROUP tg1 {
                group_id 1
                state active
                TARGET iqn.2006-10.net.vlnb:tgt
            }
        }
        """;

    /// <summary>The model <see cref="ScstExample"/> describes, without lines.</summary>
    public static ScstConfiguration ScstExampleModel()
    {
        var config = new ScstConfiguration();
        config.Attributes.Add("setup_id", "0x1234");

        var handler = new HandlerConfiguration("vdisk_fileio");
        var disk1 = new DeviceConfiguration("disk1");
        disk1.Attributes.Add("filename", "/disk1");
        disk1.Attributes.Add("nv_cache", "1");
        handler.Devices.Add(disk1);
        config.Handlers.Add(handler);

        var iscsi = new TargetDriverConfiguration("iscsi");
        iscsi.Attributes.Add("enabled", "1");
        var target = new TargetConfiguration("iqn.2006-10.net.vlnb:tgt");
        target.Attributes.Add("IncomingUser", "joe 12charsecret");
        target.Attributes.Add("HeaderDigest", "CRC32C,None");
        target.Attributes.Add("enabled", "1");
        target.Luns.Add(new LunConfiguration(0, "disk1"));
        var special = new GroupConfiguration("special");
        var readOnlyLun = new LunConfiguration(0, "disk1");
        readOnlyLun.Attributes.Add("read_only", "1");
        special.Luns.Add(readOnlyLun);
        special.Initiators.Add(new ConfigAttribute("INITIATOR", "iqn.2005-03.org.open-iscsi:*"));
        target.Groups.Add(special);
        iscsi.Targets.Add(target);
        config.TargetDrivers.Add(iscsi);

        var dg1 = new DeviceGroupConfiguration("dg1");
        dg1.Devices.Add(new ConfigAttribute("DEVICE", "disk1"));
        var tg1 = new TargetGroupConfiguration("tg1");
        tg1.Attributes.Add("group_id", "1");
        tg1.Attributes.Add("state", "active");
        tg1.Targets.Add(new TargetGroupMemberConfiguration("iqn.2006-10.net.vlnb:tgt"));
        dg1.TargetGroups.Add(tg1);
        config.DeviceGroups.Add(dg1);
        return config;
    }

    /// <summary>
    /// A model that uses every element and the words that need quoting: several handlers, drivers, groups, multi-valued
    /// attributes, empty values, blanks, <c>#</c>, quotes, backslashes, braces and an attribute named like a keyword.
    /// </summary>
    public static ScstConfiguration RichModel()
    {
        var config = new ScstConfiguration();
        config.Attributes.Add("setup_id", "0x1234");
        config.Attributes.Add("cluster_name", "two words");
        config.Attributes.Add("threads", "");

        var fileio = new HandlerConfiguration("vdisk_fileio");
        fileio.Attributes.Add("trace_level", "none");
        var disk1 = new DeviceConfiguration("disk1");
        disk1.Attributes.Add("filename", "/var/lib/scst/disk #1.img");
        disk1.Attributes.Add("nv_cache", "1");
        disk1.Attributes.Add("t10_dev_id", "say \"hi\"");
        disk1.Attributes.Add("usn", @"C:\path\{x}");
        fileio.Devices.Add(disk1);
        fileio.Devices.Add(new DeviceConfiguration("disk2"));
        config.Handlers.Add(fileio);

        var nullio = new HandlerConfiguration("vdisk_nullio");
        var null1 = new DeviceConfiguration("null1");
        null1.Attributes.Add("blocksize", "4096");
        nullio.Devices.Add(null1);
        config.Handlers.Add(nullio);
        config.Handlers.Add(new HandlerConfiguration("vcdrom"));

        var iscsi = new TargetDriverConfiguration("iscsi");
        iscsi.Attributes.Add("enabled", "1");
        iscsi.Attributes.Add("IncomingUser", "discovery secret1secret1");
        iscsi.Attributes.Add("IncomingUser", "other  two blanks");
        var t1 = new TargetConfiguration("iqn.2026-01.org.example:t1");
        t1.Attributes.Add("HeaderDigest", "CRC32C,None");
        t1.Attributes.Add("LUN", "an attribute named like a keyword");
        t1.Attributes.Add("rel_tgt_id", "1");
        t1.Luns.Add(new LunConfiguration(0, "disk1"));
        var lun1 = new LunConfiguration(1, "disk2");
        lun1.Attributes.Add("read_only", "1");
        t1.Luns.Add(lun1);
        t1.Luns.Add(new LunConfiguration(16383, "null1"));
        var hosts = new GroupConfiguration("hosts");
        hosts.Attributes.Add("addr_method", "PERIPHERAL");
        hosts.Luns.Add(new LunConfiguration(0, "null1"));
        hosts.Initiators.Add(new ConfigAttribute("INITIATOR", "iqn.2026-01.org.example:host?"));
        hosts.Initiators.Add(new ConfigAttribute("INITIATOR", "!iqn.2026-01.org.example:host1*"));
        t1.Groups.Add(hosts);
        t1.Groups.Add(new GroupConfiguration("empty"));
        iscsi.Targets.Add(t1);
        iscsi.Targets.Add(new TargetConfiguration("iqn.2026-01.org.example:t2"));
        config.TargetDrivers.Add(iscsi);
        var local = new TargetDriverConfiguration("local");
        local.Targets.Add(new TargetConfiguration("local1"));
        config.TargetDrivers.Add(local);

        var dg = new DeviceGroupConfiguration("dg1");
        dg.Attributes.Add("comment", "#not a comment");
        dg.Devices.Add(new ConfigAttribute("DEVICE", "disk1"));
        dg.Devices.Add(new ConfigAttribute("DEVICE", "disk2"));
        var local1 = new TargetGroupConfiguration("local");
        local1.Attributes.Add("group_id", "1");
        local1.Attributes.Add("preferred", "1");
        local1.Attributes.Add("state", "active");
        local1.Targets.Add(new TargetGroupMemberConfiguration("iqn.2026-01.org.example:t1"));
        dg.TargetGroups.Add(local1);
        var remote = new TargetGroupConfiguration("remote");
        remote.Attributes.Add("group_id", "2");
        remote.Attributes.Add("state", "nonoptimized");
        var member = new TargetGroupMemberConfiguration("iqn.2026-01.org.example:t1-node2");
        member.Attributes.Add("rel_tgt_id", "2");
        remote.Targets.Add(member);
        dg.TargetGroups.Add(remote);
        config.DeviceGroups.Add(dg);
        config.DeviceGroups.Add(new DeviceGroupConfiguration("dg2"));
        return config;
    }

    /// <summary>Asserts that two models hold the same names, values and order; lines are not compared.</summary>
    public static void ShouldMatch(this ScstConfiguration actual, ScstConfiguration expected) =>
        actual.Should().BeEquivalentTo(expected, o => o
            .WithStrictOrdering()
            .ComparingRecordsByMembers()
            .Excluding((IMemberInfo m) => m.Name == "Line"));
}
