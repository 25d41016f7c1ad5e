// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using System.Text;
using static Scst.Core.Configuration.ConfigKeywords;

namespace Scst.Core.Configuration;

/// <summary>Writes a <see cref="ScstConfiguration"/> as scst.conf text that <see cref="ScstConfigReader"/> reads back.</summary>
/// <remarks>
/// <para>The layout is stable, so that two writes of one configuration are byte for byte the same and a change shows
/// as a small diff: one comment line, the core attributes, then the <c>HANDLER</c>, <c>TARGET_DRIVER</c> and
/// <c>DEVICE_GROUP</c> sections in the configuration's order, a blank line between top-level sections. Each level is
/// indented by one tab, as scstadmin writes. Within a section come its attributes, then its entries in the
/// configuration's order; a blank line sets off each part and each entry that has braces. A <c>DEVICE</c>,
/// <c>LUN</c> or <c>TARGET</c> without attributes is written on one line, without braces.</para>
/// <para>A word is written in double quotes, with <c>\"</c> and <c>\\</c> escapes, when it is empty or holds a blank,
/// <c>#</c>, <c>"</c>, <c>\</c> or a brace; an attribute named like a keyword is quoted too, so that it reads back as
/// an attribute. <c>ScstConfigReader.Parse(Write(x))</c> gives back the names, values and order of <c>x</c>.</para>
/// </remarks>
public static class ScstConfigWriter
{
    private const string HeaderLine = "# SCST configuration, written by Scst for .NET";

    /// <summary>Writes <paramref name="config"/> as scst.conf text.</summary>
    /// <param name="config">The configuration.</param>
    /// <returns>The text, lines ending with <c>\n</c>.</returns>
    /// <exception cref="ArgumentException">
    /// A name is empty, a name or value holds a line break, or a LUN number is outside 0 to 16383: none of these can be
    /// written so that it reads back.
    /// </exception>
    public static string Write(ScstConfiguration config)
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        Write(config, writer);
        return writer.ToString();
    }

    /// <summary>Writes <paramref name="config"/> as scst.conf text to <paramref name="writer"/>.</summary>
    /// <param name="config">The configuration.</param>
    /// <param name="writer">Where to write; lines end with <c>\n</c> whatever its <see cref="TextWriter.NewLine"/>.</param>
    /// <exception cref="ArgumentException">
    /// A name is empty, a name or value holds a line break, or a LUN number is outside 0 to 16383.
    /// </exception>
    public static void Write(ScstConfiguration config, TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(writer);
        var output = new Output(writer);
        output.Line(0, HeaderLine);
        output.Break();
        output.Attributes(0, config.Attributes);

        foreach (HandlerConfiguration handler in config.Handlers)
        {
            output.Open(0, Handler, handler.Name);
            output.Attributes(1, handler.Attributes);
            foreach (DeviceConfiguration device in handler.Devices)
            {
                output.Entry(1, $"{Device} {Name(device.Name)}", device.Attributes);
            }

            output.Close(0);
        }

        foreach (TargetDriverConfiguration driver in config.TargetDrivers)
        {
            output.Open(0, TargetDriver, driver.Name);
            output.Attributes(1, driver.Attributes);
            foreach (TargetConfiguration target in driver.Targets)
            {
                WriteTarget(output, target);
            }

            output.Close(0);
        }

        foreach (DeviceGroupConfiguration deviceGroup in config.DeviceGroups)
        {
            output.Open(0, DeviceGroup, deviceGroup.Name);
            output.Attributes(1, deviceGroup.Attributes);
            foreach (ConfigAttribute device in deviceGroup.Devices)
            {
                output.Line(1, $"{Device} {Name(device.Value)}");
            }

            output.Break();
            foreach (TargetGroupConfiguration targetGroup in deviceGroup.TargetGroups)
            {
                output.Open(1, TargetGroup, targetGroup.Name);
                output.Attributes(2, targetGroup.Attributes);
                foreach (TargetGroupMemberConfiguration member in targetGroup.Targets)
                {
                    output.Entry(2, $"{Target} {Name(member.Name)}", member.Attributes);
                }

                output.Close(1);
            }

            output.Close(0);
        }
    }

    private static void WriteTarget(Output output, TargetConfiguration target)
    {
        if (target.Attributes.Count == 0 && target.Luns.Count == 0 && target.Groups.Count == 0)
        {
            output.Entry(1, $"{Target} {Name(target.Name)}", target.Attributes);
            return;
        }

        output.Open(1, Target, target.Name);
        output.Attributes(2, target.Attributes);
        WriteLuns(output, 2, target.Luns);
        foreach (GroupConfiguration group in target.Groups)
        {
            output.Open(2, Group, group.Name);
            output.Attributes(3, group.Attributes);
            WriteLuns(output, 3, group.Luns);
            foreach (ConfigAttribute initiator in group.Initiators)
            {
                output.Line(3, $"{Initiator} {Name(initiator.Value)}");
            }

            output.Close(2);
        }

        output.Close(1);
    }

    private static void WriteLuns(Output output, int depth, IList<LunConfiguration> luns)
    {
        foreach (LunConfiguration lun in luns)
        {
            if (lun.Number is < 0 or > MaxLunNumber)
            {
                throw new ArgumentException($"LUN {lun.Number} of device {lun.Device} is not a LUN number (0 to {MaxLunNumber})");
            }

            output.Entry(depth, string.Create(CultureInfo.InvariantCulture, $"{Lun} {lun.Number} {Name(lun.Device)}"), lun.Attributes);
        }

        output.Break();
    }

    // A name or value as one word of scst.conf.
    private static string Word(string text)
    {
        if (text.Contains('\n', StringComparison.Ordinal) || text.Contains('\r', StringComparison.Ordinal))
        {
            throw new ArgumentException($"\"{text.ReplaceLineEndings(" ")}\" holds a line break, which scst.conf cannot express");
        }

        if (text.Length > 0 && !text.Any(c => char.IsWhiteSpace(c) || c is '#' or '"' or '\\' or '{' or '}') && text[0] != '[')
        {
            return text;
        }

        var quoted = new StringBuilder(text.Length + 2).Append('"');
        foreach (char c in text)
        {
            quoted.Append(c is '"' or '\\' ? "\\" : string.Empty).Append(c);
        }

        return quoted.Append('"').ToString();
    }

    private static string Name(string name)
    {
        if (name.Length == 0)
        {
            throw new ArgumentException("a section or entry has an empty name, which scst.conf cannot express");
        }

        return Word(name);
    }

    // Lines with indentation and the blank lines between parts: Break asks for a blank line before the next line,
    // which is dropped when that line opens or closes a section's contents.
    private sealed class Output(TextWriter writer)
    {
        private bool _blankDue;
        private bool _atStart = true;

        public void Line(int depth, string text)
        {
            if (_blankDue && !_atStart)
            {
                writer.Write('\n');
            }

            writer.Write(new string('\t', depth));
            writer.Write(text);
            writer.Write('\n');
            _blankDue = false;
            _atStart = false;
        }

        public void Break() => _blankDue = true;

        public void Attributes(int depth, ConfigAttributeList attributes)
        {
            foreach (ConfigAttribute attribute in attributes)
            {
                string name = IsKeyword(attribute.Name) ? $"\"{attribute.Name}\"" : Word(attribute.Name);
                Line(depth, $"{name} {Word(attribute.Value)}");
            }

            Break();
        }

        public void Open(int depth, string keyword, string name)
        {
            Break();
            Line(depth, $"{keyword} {Name(name)} {{");
            _atStart = true;
        }

        public void Close(int depth)
        {
            _blankDue = false;
            Line(depth, "}");
            Break();
        }

        // An entry: one line when it has no attributes, else a section of its attributes.
        public void Entry(int depth, string header, ConfigAttributeList attributes)
        {
            if (attributes.Count == 0)
            {
                Line(depth, header);
                return;
            }

            Break();
            Line(depth, header + " {");
            _atStart = true;
            Attributes(depth + 1, attributes);
            Close(depth);
        }
    }
}
