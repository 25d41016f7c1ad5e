// Licensed under the Apache License, Version 2.0.

namespace Scst.Core.Management;

/// <summary>What kind of value an attribute holds: how a tool should show it and what a write must look like.</summary>
public enum ManagementAttributeType
{
    /// <summary>Free text.</summary>
    Text,

    /// <summary><c>0</c> or <c>1</c>.</summary>
    Boolean,

    /// <summary>A decimal (or, where the attribute says so, 0x-prefixed) integer.</summary>
    Integer,

    /// <summary>One of a fixed set of words.</summary>
    Choice,
}

/// <summary>
/// One attribute of the management tree: a file of SCST's sysfs tree (<c>enabled</c>, <c>rel_tgt_id</c>,
/// <c>HeaderDigest</c>, <c>IncomingUser</c>...), as a core object, a device or a target driver contributes it.
/// </summary>
/// <remarks>
/// An attribute is a <em>key</em> attribute, marked <c>[key]</c> when read and written to a saved configuration, when
/// it is configurable (writable, a creation parameter, or multi-valued) and its value differs from
/// <see cref="DefaultValue"/> (or as <see cref="KeyWhen"/> decides); with no default, whenever its value is not empty. A multi-valued attribute
/// (<see cref="ReadValues"/>) shows as one file per value (<c>IncomingUser</c>, <c>IncomingUser1</c>...), each a key.
/// </remarks>
public sealed class ManagementAttribute
{
    /// <summary>The attribute's name, as SCST spells it.</summary>
    public required string Name { get; init; }

    /// <summary>The kind of value. Defaults to <see cref="ManagementAttributeType.Text"/>.</summary>
    public ManagementAttributeType Type { get; init; }

    /// <summary>The words a <see cref="ManagementAttributeType.Choice"/> attribute takes.</summary>
    public IReadOnlyList<string> Choices { get; init; } = [];

    /// <summary>Reads the current value (of a single-valued attribute).</summary>
    public Func<string>? Read { get; init; }

    /// <summary>
    /// Sets the value; null for a read-only attribute. Throws <see cref="ArgumentException"/> (bad value) or
    /// <see cref="InvalidOperationException"/> (not now) with a message that says why.
    /// </summary>
    public Action<string>? Write { get; init; }

    /// <summary>Reads every value of a multi-valued attribute; null for a single-valued one.</summary>
    public Func<IReadOnlyList<string>>? ReadValues { get; init; }

    /// <summary>Adds a value to a multi-valued attribute (SCST's <c>add_target_attribute</c>).</summary>
    public Action<string>? AddValue { get; init; }

    /// <summary>Removes a value from a multi-valued attribute (SCST's <c>del_target_attribute</c>).</summary>
    public Action<string>? RemoveValue { get; init; }

    /// <summary>The value the attribute has when nobody set it; null when it has none.</summary>
    public string? DefaultValue { get; init; }

    /// <summary>
    /// Decides whether the attribute is a key, instead of comparing its value with <see cref="DefaultValue"/>: for
    /// attributes SCST marks by how they got their value (an identifier set by hand is a key even when it equals the
    /// derived one; <c>size_mb</c> never is, since <c>size</c> is saved). Null (the default) to compare.
    /// </summary>
    public Func<bool>? KeyWhen { get; init; }

    /// <summary>Whether the value is given when the object is created (SCST's read-only key attributes) and cannot change after.</summary>
    public bool IsCreationParameter { get; init; }

    /// <summary>Whether the value holds a secret (a CHAP password): it never reaches a log.</summary>
    public bool IsSecret { get; init; }

    /// <summary>Whether the attribute holds several values.</summary>
    public bool IsMultiValued => ReadValues is not null;

    /// <summary>Whether the attribute can be changed after the object was created.</summary>
    public bool IsWritable => Write is not null || AddValue is not null;

    /// <summary>The current value: the single value, or the values of a multi-valued attribute one per line.</summary>
    public string Value => ReadValues is { } values ? string.Join('\n', values()) : Read?.Invoke() ?? string.Empty;

    /// <summary>Whether the attribute is a key attribute now (see the remarks).</summary>
    public bool IsKey
    {
        get
        {
            if (IsMultiValued)
            {
                return ReadValues!().Count > 0;
            }

            if (!IsWritable && !IsCreationParameter)
            {
                return false;
            }

            if (KeyWhen is { } keyWhen)
            {
                return keyWhen();
            }

            string value = Read?.Invoke() ?? string.Empty;
            return DefaultValue is null ? value.Length > 0 : !string.Equals(value, DefaultValue, StringComparison.Ordinal);
        }
    }

    /// <summary>A read-only attribute that is never a key.</summary>
    /// <param name="name">The name.</param>
    /// <param name="read">Reads the value.</param>
    /// <param name="type">The kind of value.</param>
    /// <returns>The attribute.</returns>
    public static ManagementAttribute ReadOnly(string name, Func<string> read, ManagementAttributeType type = ManagementAttributeType.Text) =>
        new() { Name = name, Read = read, Type = type };

    /// <summary>A boolean attribute shown as 0 or 1.</summary>
    /// <param name="name">The name.</param>
    /// <param name="read">Reads the value.</param>
    /// <param name="write">Sets it; null for read-only.</param>
    /// <param name="defaultValue">The default.</param>
    /// <returns>The attribute.</returns>
    public static ManagementAttribute Boolean(string name, Func<bool> read, Action<bool>? write, bool defaultValue)
    {
        ArgumentNullException.ThrowIfNull(read);
        return new()
        {
            Name = name,
            Type = ManagementAttributeType.Boolean,
            Read = () => read() ? "1" : "0",
            Write = write is null ? null : text => write(ParseBoolean(name, text)),
            DefaultValue = defaultValue ? "1" : "0",
        };
    }

    /// <summary>Parses SCST's boolean values: <c>0</c>/<c>1</c> (and <c>yes</c>/<c>no</c>, <c>true</c>/<c>false</c>).</summary>
    /// <param name="name">The attribute, for the message.</param>
    /// <param name="text">The text.</param>
    /// <returns>The value.</returns>
    /// <exception cref="ArgumentException">Not a boolean.</exception>
    public static bool ParseBoolean(string name, string text) => text.Trim() switch
    {
        "1" or "yes" or "Yes" or "true" or "True" => true,
        "0" or "no" or "No" or "false" or "False" => false,
        _ => throw new ArgumentException($"{name}: '{text.Trim()}' is not 0 or 1"),
    };
}
