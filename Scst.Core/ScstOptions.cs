// Licensed under the Apache License, Version 2.0.

namespace Scst.Core;

/// <summary>Options of the SCSI core.</summary>
public sealed class ScstOptions
{
    /// <summary>
    /// Commands a session may have in flight before the core answers TASK SET FULL. Each one keeps a pooled command
    /// object. Defaults to 128; 1 to 65536.
    /// </summary>
    public int MaxCommandsPerSession { get; set; } = 128;

    /// <summary>
    /// Whether a new I_T nexus starts with a POWER ON, RESET, OR BUS DEVICE RESET OCCURRED unit attention on each LUN
    /// it sees, as SCST does for every new session: the initiator learns that the logical unit's state (mode pages,
    /// reservations of its own, task set) starts afresh for it. Defaults to true.
    /// </summary>
    public bool UnitAttentionOnNewNexus { get; set; } = true;

    /// <summary>
    /// Commands one I_T nexus may have in flight to one logical unit (SCST's per-LUN queue depth). Past it the core
    /// answers TASK SET FULL. Defaults to 64.
    /// </summary>
    public int MaxCommandsPerLun { get; set; } = 64;

    /// <summary>
    /// Commands all I_T nexuses together may have in flight to one logical unit. Past it the core answers TASK SET FULL
    /// to a nexus that has commands there, BUSY to one that has none (SAM-5 section 5.3). Defaults to 256.
    /// </summary>
    public int MaxCommandsPerDevice { get; set; } = 256;

    /// <summary>
    /// Bytes of memory the data buffers may hold, those commands hold and those kept idle for reuse. A command whose
    /// buffer would pass it, even after the idle buffers are freed, is answered BUSY, and the initiator retries.
    /// Defaults to 256 MiB.
    /// </summary>
    public long MaxBufferMemory { get; set; } = 256L << 20;

    /// <summary>
    /// The largest data transfer of one command, in bytes (VPD B0h MAXIMUM TRANSFER LENGTH). Larger commands get
    /// INVALID FIELD IN CDB. Defaults to 8 MiB; 64 KiB to 64 MiB, a power of two.
    /// </summary>
    public int MaxTransferLength { get; set; } = 8 << 20;

    /// <summary>
    /// Idle data buffers kept per size class. More memory kept means fewer native allocations under bursts.
    /// Defaults to 64.
    /// </summary>
    public int RetainedBuffersPerSizeClass { get; set; } = 64;

    /// <summary>
    /// A directory where the core keeps state that must survive a restart: saved mode pages (MODE SELECT with SP=1),
    /// one file per device under <c>mode_pages/</c>, and the persistent reservation state of each device whose last
    /// registration set APTPL, in <c>DEVICE.pr</c> (written atomically, read back when the device is registered).
    /// Created when first needed; the process needs write access to it. When null, saving is not supported (MODE
    /// SELECT with SP=1 and MODE SENSE of saved values are refused, and so is APTPL).
    /// Defaults to null.
    /// </summary>
    public string? StateDirectory { get; set; }

    /// <summary>Devices created when the core starts.</summary>
    public IList<DeviceDefinition> Devices { get; } = [];

    /// <summary>Targets created when the core starts.</summary>
    public IList<TargetDefinition> Targets { get; } = [];

    /// <summary>
    /// An SCST configuration applied when the core starts, after <see cref="Devices"/> and <see cref="Targets"/>: from
    /// appsettings.json through <c>AddConfiguration</c>, or built in code. A configuration that does not apply stops
    /// the start with an error that names what is wrong. Defaults to null.
    /// </summary>
    public Configuration.ScstConfiguration? Configuration { get; set; }

    /// <summary>
    /// The path of an scst.conf file applied when the core starts, after <see cref="Configuration"/>. A file that
    /// cannot be read or applied stops the start with an error that names its line. Defaults to null.
    /// </summary>
    public string? ConfigurationFile { get; set; }

    /// <summary>
    /// How long SET TARGET PORT GROUPS waits for the agent that carries it out (the completion of the
    /// <see cref="Events.ScstEventCode.StpgUserInvoke"/> event) before the command fails with SET TARGET PORT GROUPS
    /// COMMAND FAILED. Defaults to 60 seconds, as SCST.
    /// </summary>
    public TimeSpan StpgTimeout { get; set; } = TimeSpan.FromSeconds(60);
}

/// <summary>A device to create at start-up: SCST's <c>add_device</c>.</summary>
public sealed class DeviceDefinition
{
    /// <summary>The handler's name, for example <c>vdisk_fileio</c>.</summary>
    public required string Handler { get; init; }

    /// <summary>The device name.</summary>
    public required string Name { get; init; }

    /// <summary>The handler's parameters (filename, blocksize...).</summary>
    public IDictionary<string, string> Parameters { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);
}

/// <summary>A target to create at start-up, with its default LUN map and its security groups.</summary>
public sealed class TargetDefinition
{
    /// <summary>The target driver's name, for example <c>iscsi</c>.</summary>
    public required string Driver { get; init; }

    /// <summary>The target name.</summary>
    public required string Name { get; init; }

    /// <summary>LUN number to device name.</summary>
    public IDictionary<int, string> Luns { get; init; } = new Dictionary<int, string>();

    /// <summary>Maps a LUN; returns this definition for chaining.</summary>
    /// <param name="lun">The LUN number.</param>
    /// <param name="device">The device name.</param>
    /// <returns>This definition.</returns>
    public TargetDefinition AddLun(int lun, string device)
    {
        Luns[lun] = device;
        return this;
    }

    /// <summary>Security groups (SCST's <c>ini_groups</c>), created in this order (the order they are matched in).</summary>
    public IList<GroupDefinition> Groups { get; init; } = [];

    /// <summary>Adds a security group; returns this definition for chaining.</summary>
    /// <param name="name">The group name.</param>
    /// <param name="configure">Adds its initiator patterns and LUNs.</param>
    /// <returns>This definition.</returns>
    public TargetDefinition AddGroup(string name, Action<GroupDefinition> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var group = new GroupDefinition { Name = name };
        configure(group);
        Groups.Add(group);
        return this;
    }
}

/// <summary>A security group of a <see cref="TargetDefinition"/>: initiator name patterns and the LUNs they see.</summary>
public sealed class GroupDefinition
{
    /// <summary>The group name.</summary>
    public required string Name { get; init; }

    /// <summary>Initiator name patterns (see <see cref="NamePattern"/>).</summary>
    public IList<string> Initiators { get; init; } = [];

    /// <summary>LUN number to device name.</summary>
    public IDictionary<int, string> Luns { get; init; } = new Dictionary<int, string>();

    /// <summary>Adds an initiator name pattern; returns this definition for chaining.</summary>
    /// <param name="pattern">The pattern.</param>
    /// <returns>This definition.</returns>
    public GroupDefinition AddInitiator(string pattern)
    {
        Initiators.Add(pattern);
        return this;
    }

    /// <summary>Maps a LUN; returns this definition for chaining.</summary>
    /// <param name="lun">The LUN number.</param>
    /// <param name="device">The device name.</param>
    /// <returns>This definition.</returns>
    public GroupDefinition AddLun(int lun, string device)
    {
        Luns[lun] = device;
        return this;
    }
}
