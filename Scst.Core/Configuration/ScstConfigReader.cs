// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using static Scst.Core.Configuration.ConfigKeywords;

namespace Scst.Core.Configuration;

/// <summary>Reads SCST's <c>scst.conf</c> format into a <see cref="ScstConfiguration"/>.</summary>
/// <remarks>
/// <para>The grammar, as scstadmin writes it:</para>
/// <code>
/// setup_id 0x1234                       # a core attribute; a # outside quotes starts a comment
/// HANDLER vdisk_fileio {
///     DEVICE disk1 {
///         filename /disk1
///     }
///     DEVICE disk2                      # no attributes: no braces needed
/// }
/// TARGET_DRIVER iscsi {
///     enabled 1
///     TARGET iqn.2006-10.net.vlnb:tgt {
///         IncomingUser "joe 12charsecret"
///         LUN 0 disk1
///         GROUP special {
///             LUN 0 disk1 {
///                 read_only 1
///             }
///             INITIATOR iqn.2005-03.org.open-iscsi:*
///         }
///     }
/// }
/// DEVICE_GROUP dg1 {
///     DEVICE disk1
///     TARGET_GROUP tg1 {
///         group_id 1
///         TARGET iqn.2006-10.net.vlnb:tgt
///     }
/// }
/// </code>
/// <para>One statement per line. A statement is an attribute (<c>name value</c>; the words after the name are joined by
/// one space, a value with blanks or an empty value is written in double quotes; a name may repeat, each line giving
/// one more value) or a section keyword with its name. A line ending with <c>{</c> opens a section, whose contents
/// follow on the next lines up to a line holding only <c>}</c>; <c>DEVICE</c>, <c>TARGET</c>, <c>LUN</c> and
/// <c>GROUP</c> may also stand without braces, and so may the top-level sections when empty. Keywords are upper case;
/// attribute names are case-sensitive and kept as written. See <c>ConfigTokenizer</c> for quoting and escapes.</para>
/// <para>Pass-through device names are kept as written, also with a <c>/dev/</c> prefix that SCST itself strips.
/// The procfs-era format (<c>[HANDLER name]</c> headers) is not read.</para>
/// <para>Every fault is reported as a <see cref="ScstConfigException"/> naming its line and column: a keyword where it
/// does not belong, a section without a name, a malformed LUN, a name defined twice in one scope (device names are
/// one scope across all handlers, as in SCST), an attribute without a value, misplaced braces, an unclosed section or
/// quote.</para>
/// </remarks>
public static class ScstConfigReader
{
    /// <summary>Parses scst.conf text.</summary>
    /// <param name="text">The text.</param>
    /// <param name="source">The file name that error messages start with, or null for none.</param>
    /// <returns>The configuration, each element with the line it came from.</returns>
    /// <exception cref="ScstConfigException">The text breaks the grammar.</exception>
    public static ScstConfiguration Parse(string text, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        return new Parser(text, source).File();
    }

    /// <summary>Reads and parses an scst.conf file.</summary>
    /// <param name="path">The file's path; error messages start with it.</param>
    /// <returns>The configuration, each element with the line it came from.</returns>
    /// <exception cref="ScstConfigException">The file breaks the grammar.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static ScstConfiguration Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return Parse(System.IO.File.ReadAllText(path), path);
    }

    // Recursive descent over the statements: one method per kind of section, each handling the statements that may
    // stand in it.
    private sealed class Parser(string text, string? source)
    {
        private readonly IEnumerator<ConfigStatement> _statements = ConfigTokenizer.Statements(text, source).GetEnumerator();

        // Device names are one namespace across all handlers, as in SCST.
        private readonly Names _devices = new();

        public ScstConfiguration File()
        {
            var config = new ScstConfiguration();
            var handlers = new Names();
            var drivers = new Names();
            var deviceGroups = new Names();
            while (Next() is { } s)
            {
                if (s.Closes)
                {
                    throw Error(s.Line, s.CloseColumn, "} closes no section");
                }

                switch (KeywordOf(s))
                {
                    case Handler:
                    {
                        ConfigWord name = Name(s, "name", handlers);
                        var handler = new HandlerConfiguration(name.Text, s.Line);
                        config.Handlers.Add(handler);
                        Body(s, $"{Handler} {name.Text}", b => InHandler(handler, b));
                        break;
                    }

                    case TargetDriver:
                    {
                        ConfigWord name = Name(s, "name", drivers);
                        var driver = new TargetDriverConfiguration(name.Text, s.Line);
                        config.TargetDrivers.Add(driver);
                        var targets = new Names();
                        Body(s, $"{TargetDriver} {name.Text}", b => InTargetDriver(driver, targets, b));
                        break;
                    }

                    case DeviceGroup:
                    {
                        ConfigWord name = Name(s, "name", deviceGroups);
                        var group = new DeviceGroupConfiguration(name.Text, s.Line);
                        config.DeviceGroups.Add(group);
                        var members = new Names();
                        var targetGroups = new Names();
                        Body(s, $"{DeviceGroup} {name.Text}", b => InDeviceGroup(group, members, targetGroups, b));
                        break;
                    }

                    case null:
                        Attribute(config.Attributes, s);
                        break;

                    default:
                        throw Misplaced(s, "at the top level");
                }
            }

            return config;
        }

        private void InHandler(HandlerConfiguration handler, ConfigStatement s)
        {
            switch (KeywordOf(s))
            {
                case Device:
                {
                    ConfigWord name = Name(s, "name", _devices);
                    var device = new DeviceConfiguration(name.Text, s.Line);
                    handler.Devices.Add(device);
                    Body(s, $"{Device} {name.Text}", b => InAttributesOnly(device.Attributes, $"{Device} {device.Name}", b));
                    break;
                }

                case null:
                    Attribute(handler.Attributes, s);
                    break;

                default:
                    throw Misplaced(s, $"in {Handler} {handler.Name}");
            }
        }

        private void InTargetDriver(TargetDriverConfiguration driver, Names targets, ConfigStatement s)
        {
            switch (KeywordOf(s))
            {
                case Target:
                {
                    ConfigWord name = Name(s, "name", targets);
                    var target = new TargetConfiguration(name.Text, s.Line);
                    driver.Targets.Add(target);
                    var luns = new Names();
                    var groups = new Names();
                    Body(s, $"{Target} {name.Text}", b => InTarget(target, luns, groups, b));
                    break;
                }

                case null:
                    Attribute(driver.Attributes, s);
                    break;

                default:
                    throw Misplaced(s, $"in {TargetDriver} {driver.Name}");
            }
        }

        private void InTarget(TargetConfiguration target, Names luns, Names groups, ConfigStatement s)
        {
            switch (KeywordOf(s))
            {
                case Lun:
                    target.Luns.Add(LunEntry(s, luns));
                    break;

                case Group:
                {
                    ConfigWord name = Name(s, "name", groups);
                    var group = new GroupConfiguration(name.Text, s.Line);
                    target.Groups.Add(group);
                    var groupLuns = new Names();
                    var initiators = new Names();
                    Body(s, $"{Group} {name.Text}", b => InGroup(group, groupLuns, initiators, b));
                    break;
                }

                case null:
                    Attribute(target.Attributes, s);
                    break;

                default:
                    throw Misplaced(s, $"in {Target} {target.Name}");
            }
        }

        private void InGroup(GroupConfiguration group, Names luns, Names initiators, ConfigStatement s)
        {
            switch (KeywordOf(s))
            {
                case Lun:
                    group.Luns.Add(LunEntry(s, luns));
                    break;

                case Initiator:
                {
                    ConfigWord pattern = Name(s, "pattern", initiators);
                    NoSection(s);
                    group.Initiators.Add(new ConfigAttribute(Initiator, pattern.Text, s.Line));
                    break;
                }

                case null:
                    Attribute(group.Attributes, s);
                    break;

                default:
                    throw Misplaced(s, $"in {Group} {group.Name}");
            }
        }

        private void InDeviceGroup(DeviceGroupConfiguration deviceGroup, Names devices, Names targetGroups, ConfigStatement s)
        {
            switch (KeywordOf(s))
            {
                case Device:
                {
                    ConfigWord name = Name(s, "name", devices);
                    NoSection(s);
                    deviceGroup.Devices.Add(new ConfigAttribute(Device, name.Text, s.Line));
                    break;
                }

                case TargetGroup:
                {
                    ConfigWord name = Name(s, "name", targetGroups);
                    var targetGroup = new TargetGroupConfiguration(name.Text, s.Line);
                    deviceGroup.TargetGroups.Add(targetGroup);
                    var members = new Names();
                    Body(s, $"{TargetGroup} {name.Text}", b => InTargetGroup(targetGroup, members, b));
                    break;
                }

                case null:
                    Attribute(deviceGroup.Attributes, s);
                    break;

                default:
                    throw Misplaced(s, $"in {DeviceGroup} {deviceGroup.Name}");
            }
        }

        private void InTargetGroup(TargetGroupConfiguration targetGroup, Names members, ConfigStatement s)
        {
            switch (KeywordOf(s))
            {
                case Target:
                {
                    ConfigWord name = Name(s, "name", members);
                    var member = new TargetGroupMemberConfiguration(name.Text, s.Line);
                    targetGroup.Targets.Add(member);
                    Body(s, $"{Target} {name.Text}", b => InAttributesOnly(member.Attributes, $"{Target} {member.Name}", b));
                    break;
                }

                case null:
                    Attribute(targetGroup.Attributes, s);
                    break;

                default:
                    throw Misplaced(s, $"in {TargetGroup} {targetGroup.Name}");
            }
        }

        private void InAttributesOnly(ConfigAttributeList attributes, string title, ConfigStatement s)
        {
            if (KeywordOf(s) is not null)
            {
                throw Misplaced(s, $"in {title}");
            }

            Attribute(attributes, s);
        }

        // LUN number device [{ attributes }]
        private LunConfiguration LunEntry(ConfigStatement s, Names numbers)
        {
            IReadOnlyList<ConfigWord> words = s.Words;
            if (words.Count < 2)
            {
                throw Error(s.Line, words[0].Column, "LUN has no number");
            }

            ConfigWord numberWord = words[1];
            if (!int.TryParse(numberWord.Text, NumberStyles.None, CultureInfo.InvariantCulture, out int number) || number > MaxLunNumber)
            {
                throw Error(s.Line, numberWord.Column, $"{numberWord.Text} is not a LUN number (0 to {MaxLunNumber})");
            }

            if (words.Count < 3 || words[2].Text.Length == 0)
            {
                throw Error(s.Line, words[0].Column, $"LUN {number} has no device");
            }

            if (words.Count > 3)
            {
                throw Error(s.Line, words[3].Column, $"unexpected {words[3].Text} after LUN {number} {words[2].Text}");
            }

            NoGluedBrace(s, words[2]);
            string key = number.ToString(CultureInfo.InvariantCulture);
            if (!numbers.TryAdd(key, s.Line))
            {
                throw Error(s.Line, numberWord.Column, $"LUN {number} appears twice (first at line {numbers[key]})");
            }

            var lun = new LunConfiguration(number, words[2].Text, s.Line);
            Body(s, $"LUN {number}", b => InAttributesOnly(lun.Attributes, $"LUN {number}", b));
            return lun;
        }

        // The name after a keyword (KEYWORD name), claimed in its scope.
        private ConfigWord Name(ConfigStatement s, string noun, Names scope)
        {
            IReadOnlyList<ConfigWord> words = s.Words;
            string keyword = words[0].Text;
            if (words.Count < 2)
            {
                throw Error(s.Line, words[0].Column, $"{keyword} has no {noun}");
            }

            ConfigWord name = words[1];
            if (name.Text.Length == 0)
            {
                throw Error(s.Line, name.Column, $"{keyword} has an empty {noun}");
            }

            if (words.Count > 2)
            {
                throw Error(s.Line, words[2].Column, $"unexpected {words[2].Text} after {keyword} {name.Text}");
            }

            NoGluedBrace(s, name);
            if (!scope.TryAdd(name.Text, s.Line))
            {
                throw Error(s.Line, name.Column, $"{keyword} {name.Text} appears twice (first at line {scope[name.Text]})");
            }

            return name;
        }

        // "DEVICE disk1{" would name the device "disk1{" and leave its attributes to the enclosing section.
        private void NoGluedBrace(ConfigStatement s, ConfigWord last)
        {
            if (!last.Quoted && last.Text.EndsWith('{'))
            {
                throw Error(s.Line, last.EndColumn - 1, "a blank must separate { from the name before it");
            }
        }

        private void NoSection(ConfigStatement s)
        {
            if (s.Opens)
            {
                throw Error(s.Line, s.OpenColumn, $"{s.Words[0].Text} does not open a section");
            }
        }

        private void Attribute(ConfigAttributeList attributes, ConfigStatement s)
        {
            ConfigWord name = s.Words[0];
            if (s.Opens)
            {
                string upper = name.Text.ToUpperInvariant();
                string hint = !name.Quoted && IsKeyword(upper) ? $" (keywords are upper case: {upper})" : string.Empty;
                throw Error(s.Line, name.Column, $"{name.Text} is not a section keyword{hint}");
            }

            if (s.Words.Count < 2)
            {
                throw Error(s.Line, name.Column, $"attribute {name.Text} has no value (an empty value is written \"\")");
            }

            attributes.Add(name.Text, string.Join(' ', s.Words.Skip(1).Select(w => w.Text)), s.Line);
        }

        // Hands each statement of the section that s opens to body, up to the section's closing brace.
        private void Body(ConfigStatement s, string title, Action<ConfigStatement> body)
        {
            if (!s.Opens)
            {
                return;
            }

            while (true)
            {
                ConfigStatement inner = Next() ?? throw Error(s.Line, s.Words[0].Column, $"{title} is not closed: the file ends before its }}");
                if (inner.Closes)
                {
                    return;
                }

                body(inner);
            }
        }

        private ConfigStatement? Next()
        {
            if (!_statements.MoveNext())
            {
                return null;
            }

            ConfigStatement s = _statements.Current;
            if (s.Words.Count > 0 && !s.Words[0].Quoted && s.Words[0].Text.StartsWith('['))
            {
                throw Error(s.Line, s.Words[0].Column, "the procfs-era [SECTION] format is not supported; write HANDLER, TARGET_DRIVER and DEVICE_GROUP sections in braces");
            }

            return s;
        }

        private static string? KeywordOf(ConfigStatement s)
        {
            ConfigWord first = s.Words[0];
            return !first.Quoted && IsKeyword(first.Text) ? first.Text : null;
        }

        private ScstConfigException Misplaced(ConfigStatement s, string where)
        {
            string keyword = s.Words[0].Text;
            return Error(s.Line, s.Words[0].Column, $"{keyword} is not allowed {where}; it belongs {HomeOf(keyword)}");
        }

        private ScstConfigException Error(int line, int column, string reason) => new(source, line, column, reason);
    }

    // The names defined in one scope, each with the line that defined it.
    private sealed class Names() : Dictionary<string, int>(StringComparer.Ordinal);
}
