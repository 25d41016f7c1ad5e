// Licensed under the Apache License, Version 2.0.

namespace Scst.Core.Configuration;

/// <summary>
/// The section keywords of scst.conf, upper case as SCST writes them, and where each may stand. Everything else at the
/// start of a line is an attribute name.
/// </summary>
internal static class ConfigKeywords
{
    public const string Handler = "HANDLER";
    public const string Device = "DEVICE";
    public const string TargetDriver = "TARGET_DRIVER";
    public const string Target = "TARGET";
    public const string Lun = "LUN";
    public const string Group = "GROUP";
    public const string Initiator = "INITIATOR";
    public const string DeviceGroup = "DEVICE_GROUP";
    public const string TargetGroup = "TARGET_GROUP";

    /// <summary>The highest LUN number SCST accepts (its flat addressing limit, 2^14 - 1).</summary>
    public const int MaxLunNumber = 16383;

    private static readonly Dictionary<string, string> s_homes = new(StringComparer.Ordinal)
    {
        [Handler] = "at the top level",
        [TargetDriver] = "at the top level",
        [DeviceGroup] = "at the top level",
        [Device] = $"in {Handler} or {DeviceGroup}",
        [Target] = $"in {TargetDriver} or {TargetGroup}",
        [Lun] = $"in {Target} or {Group}",
        [Group] = $"in {Target}",
        [Initiator] = $"in {Group}",
        [TargetGroup] = $"in {DeviceGroup}",
    };

    /// <summary>Whether <paramref name="word"/> is a section keyword (case-sensitive).</summary>
    public static bool IsKeyword(string word) => s_homes.ContainsKey(word);

    /// <summary>Where <paramref name="keyword"/> may stand, as words for a message (<c>in TARGET or GROUP</c>).</summary>
    public static string HomeOf(string keyword) => s_homes[keyword];
}
