// Licensed under the Apache License, Version 2.0.

namespace Scst.Core.Management;

/// <summary>
/// A directory a target driver adds to the management tree (an iSCSI session's connection, <c>&lt;ip&gt;/</c>): its
/// attribute files and its own subdirectories. It is a view built when the tree is read; the attributes read their
/// values when their files are.
/// </summary>
public sealed class ManagementDirectory
{
    /// <summary>The directory's name; unique among its siblings.</summary>
    public required string Name { get; init; }

    /// <summary>Its attribute files. Defaults to none.</summary>
    public IReadOnlyList<ManagementAttribute> Attributes { get; init; } = [];

    /// <summary>Its subdirectories. Defaults to none.</summary>
    public IReadOnlyList<ManagementDirectory> Directories { get; init; } = [];
}
