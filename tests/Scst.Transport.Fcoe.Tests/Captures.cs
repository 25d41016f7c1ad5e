// Licensed under the Apache License, Version 2.0.

using Scst.Testing.Pcap;

namespace Scst.Transport.Fcoe.Tests;

/// <summary>The two recorded captures (see Captures/README.md) and the identities of the ports in them.</summary>
internal static class Captures
{
    public const string AloneFile = "fcoe-vn2vn-initiator-alone.pcap";
    public const string PairFile = "fcoe-vn2vn-pair-first400.pcap";

    // The Linux initiator.
    public const ulong InitiatorNodeName = 0x1000_5254_00fc_0001;
    public const ulong InitiatorPortName = 0x2000_5254_00fc_0001;
    public const uint InitiatorPortId = 0x000001;

    // LIO tcm_fc, the kernel's FCoE target.
    public const ulong TargetNodeName = 0x1000_5254_00fc_0002;
    public const ulong TargetPortName = 0x2000_5254_00fc_0002;
    public const uint TargetPortId = 0x000002;

    private static readonly Lazy<IReadOnlyList<PcapRecord>> s_alone = new(() => PcapReader.ReadFile(PathOf(AloneFile)));
    private static readonly Lazy<IReadOnlyList<PcapRecord>> s_pair = new(() => PcapReader.ReadFile(PathOf(PairFile)));

    public static Protocol.MacAddress InitiatorENode => Protocol.MacAddress.Parse("52:54:00:fc:00:01");

    public static Protocol.MacAddress TargetENode => Protocol.MacAddress.Parse("52:54:00:fc:00:02");

    public static Protocol.MacAddress InitiatorVnMac => Protocol.MacAddress.Parse("0e:fd:00:00:00:01");

    public static Protocol.MacAddress TargetVnMac => Protocol.MacAddress.Parse("0e:fd:00:00:00:02");

    public static IReadOnlyList<PcapRecord> Alone => s_alone.Value;

    public static IReadOnlyList<PcapRecord> Pair => s_pair.Value;

    public static IEnumerable<PcapRecord> All => Alone.Concat(Pair);

    /// <summary>Frame <paramref name="index"/> (from 0) of the pair capture.</summary>
    public static byte[] PairFrame(int index) => Pair[index].Data;

    public static string PathOf(string file) => Path.Combine(AppContext.BaseDirectory, "Captures", file);
}
