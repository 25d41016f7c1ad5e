// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Scst.Core.Alua;
using Scst.Core.Management;

namespace Scst.Core.Configuration;

/// <summary>How <see cref="ScstConfigApplier.ApplyAsync"/> applies a configuration.</summary>
public sealed class ScstConfigApplyOptions
{
    /// <summary>
    /// SCST's <c>-force</c>: also remove the devices, targets (of the drivers the configuration lists) and device groups
    /// that it does not list, and re-create a device whose creation parameters changed even when LUNs map it (they are
    /// mapped again afterwards). Without it those are kept and reported, and a changed device in use is an error.
    /// </summary>
    public bool Force { get; init; }

    /// <summary>Check and plan only: report the changes an apply would make, change nothing.</summary>
    public bool DryRun { get; init; }
}

/// <summary>The outcome of <see cref="ScstConfigApplier.ApplyAsync"/>.</summary>
public sealed class ScstConfigApplyResult
{
    internal ScstConfigApplyResult(IReadOnlyList<string> changes, IReadOnlyList<string> notes, IReadOnlyList<string> errors, int errorNumber, bool applied)
    {
        Changes = changes;
        Notes = notes;
        Errors = errors;
        ErrorNumber = errorNumber;
        Applied = applied;
    }

    /// <summary>The changes made (or, for a dry run or a configuration with errors, those that would be made), in order.</summary>
    public IReadOnlyList<string> Changes { get; }

    /// <summary>What was kept or ignored, and why (an object the configuration does not list, an attribute with no meaning here).</summary>
    public IReadOnlyList<string> Notes { get; }

    /// <summary>What is wrong, each naming the configuration line. Empty when the configuration was (or could be) applied.</summary>
    public IReadOnlyList<string> Errors { get; }

    /// <summary>The errno of the first error (22 for a configuration that does not fit the running core), 0 when none.</summary>
    public int ErrorNumber { get; }

    /// <summary>Whether the changes were made (false for a dry run and when there were errors).</summary>
    public bool Applied { get; }

    /// <summary>Whether there was no error.</summary>
    public bool Succeeded => Errors.Count == 0;

    /// <summary>The outcome as text: errors, then changes, then notes, one per line.</summary>
    /// <returns>The text.</returns>
    public string Describe()
    {
        var text = new StringBuilder();
        foreach (string e in Errors)
        {
            text.Append("error: ").Append(e).Append('\n');
        }

        string verb = Applied ? "changed" : Succeeded ? "would change" : "not applied";
        if (Changes.Count == 0 && Succeeded)
        {
            text.Append(Applied ? "no change\n" : "nothing to change\n");
        }

        foreach (string c in Changes)
        {
            text.Append(verb).Append(": ").Append(c).Append('\n');
        }

        foreach (string n in Notes)
        {
            text.Append("note: ").Append(n).Append('\n');
        }

        return text.ToString();
    }
}

/// <summary>
/// Applies a configuration (<see cref="ScstConfiguration"/>) to the running core as a difference, as scstadmin's
/// <c>-config</c> does: what did not change is not touched (its sessions carry on, no unit attention), a LUN whose
/// device changed is replaced (INQUIRY DATA HAS CHANGED), initiators leave their old groups before LUNs change and join
/// their new ones after, and a target is enabled only once its LUNs and groups are in place. Also captures the running
/// state as a configuration (<see cref="Capture"/>), so that saving and applying what was saved changes nothing.
/// </summary>
/// <remarks>
/// <para>The whole configuration is checked against the running core before anything is applied: an unknown handler,
/// driver or device, a device in use whose parameters changed, an attribute the object does not have: each is an error
/// naming its line, and nothing is applied. What can only fail while it is done (a backing file that cannot be opened,
/// a value an attribute refuses) stops the apply at that step; devices the apply created are removed again, and the
/// result lists what was done before the failure.</para>
/// <para>Attributes SCST has that mean nothing here (<c>threads</c>, <c>cpu_mask</c>, <c>io_grouping_type</c>...) are
/// accepted and reported as notes. A writable attribute that the configuration leaves out returns to its default, as
/// in SCST, where an attribute not saved is one with its default value.</para>
/// </remarks>
public sealed class ScstConfigApplier
{
    private const int EINVAL = 22;

    // SCST attributes that this core accepts without effect, so that an existing scst.conf still applies.
    private static readonly HashSet<string> s_ignoredCoreAttributes = new(StringComparer.Ordinal)
    {
        "threads", "max_tasklet_cmd", "poll_us", "measure_latency", "async_lun_replace", "force_global_sgv_pool",
        "trace_level", "cluster_name", "suspend",
    };

    private static readonly HashSet<string> s_ignoredObjectAttributes = new(StringComparer.Ordinal)
    {
        "trace_level", "cpu_mask", "io_grouping_type", "addr_method", "black_hole", "comment", "threads_num",
        "threads_pool_type", "per_sess_dedicated_tgt_threads", "link_local", "internal_portal", "isns_entity_name",
        "forward_src", "forward_dst", "forwarding", "aen_disabled", "max_tgt_dev_commands", "numa_node_id",
    };

    private readonly ScstEngine _engine;
    private readonly ManagementCommands _commands;
    private readonly ILogger _logger;

    /// <summary>Creates an applier for a core.</summary>
    /// <param name="engine">The core.</param>
    /// <param name="logger">Where the applied changes are logged.</param>
    public ScstConfigApplier(ScstEngine engine, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(engine);
        _engine = engine;
        _commands = new ManagementCommands(engine);
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>
    /// The running state as a configuration: the key attributes of the core, of each device (its creation parameters
    /// and changed attributes), driver, target and target group, every LUN, group, initiator and device group.
    /// </summary>
    /// <param name="engine">The core.</param>
    /// <param name="includeNonKey">Also include attributes that have their default values (SCST's <c>-nonkey</c>).</param>
    /// <returns>The configuration.</returns>
    public static ScstConfiguration Capture(ScstEngine engine, bool includeNonKey = false)
    {
        ArgumentNullException.ThrowIfNull(engine);
        var config = new ScstConfiguration();
        if (engine.SetupId != 0)
        {
            config.Attributes.Add("setup_id", "0x" + engine.SetupId.ToString("x", CultureInfo.InvariantCulture));
        }

        foreach (IGrouping<string, ScsiDevice> byHandler in engine.Devices.GroupBy(d => d.HandlerName).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var handler = new HandlerConfiguration(byHandler.Key);
            foreach (ScsiDevice device in byHandler.OrderBy(d => d.Name, StringComparer.Ordinal))
            {
                var d = new DeviceConfiguration(device.Name);
                foreach (ManagementAttribute a in ManagementTree.DeviceAttributes(device))
                {
                    // Not the write-only ones (resync_size, sync): they hold no value to save.
                    if (a.Name is not ("type" or "handler") && (a.Read is not null || a.IsMultiValued) && (a.IsKey || (includeNonKey && !a.IsMultiValued)))
                    {
                        AddValues(d.Attributes, a);
                    }
                }

                handler.Devices.Add(d);
            }

            config.Handlers.Add(handler);
        }

        foreach (ITargetDriver driver in engine.Drivers.Values.OrderBy(d => d.Name, StringComparer.Ordinal))
        {
            var d = new TargetDriverConfiguration(driver.Name);
            CaptureAttributes(d.Attributes, ManagementTree.DriverAttributes(driver), includeNonKey);
            foreach (ScsiTarget target in engine.Targets.Where(t => t.Driver == driver))
            {
                var t = new TargetConfiguration(target.Name);
                CaptureAttributes(t.Attributes, ManagementTree.TargetAttributes(target), includeNonKey);
                CaptureLuns(t.Luns, target.Luns);
                foreach (SecurityGroup group in target.Groups)
                {
                    var g = new GroupConfiguration(group.Name);
                    CaptureLuns(g.Luns, group.Luns);
                    foreach (string initiator in group.Initiators)
                    {
                        g.Initiators.Add(new ConfigAttribute("INITIATOR", initiator));
                    }

                    t.Groups.Add(g);
                }

                d.Targets.Add(t);
            }

            config.TargetDrivers.Add(d);
        }

        foreach (DeviceGroup group in engine.DeviceGroups)
        {
            var g = new DeviceGroupConfiguration(group.Name);
            foreach (string device in group.Devices)
            {
                g.Devices.Add(new ConfigAttribute("DEVICE", device));
            }

            foreach (TargetGroup targetGroup in group.TargetGroups)
            {
                var tg = new TargetGroupConfiguration(targetGroup.Name);
                CaptureAttributes(tg.Attributes, ManagementTree.TargetGroupAttributes(targetGroup), includeNonKey);
                foreach (TargetGroupMember member in targetGroup.Targets)
                {
                    var m = new TargetGroupMemberConfiguration(member.Name);
                    CaptureAttributes(m.Attributes, [ManagementTree.TargetGroupMemberAttribute(member)], includeNonKey);
                    tg.Targets.Add(m);
                }

                g.TargetGroups.Add(tg);
            }

            config.DeviceGroups.Add(g);
        }

        return config;
    }

    /// <summary>
    /// Checks <paramref name="desired"/> against the running core and, unless <see cref="ScstConfigApplyOptions.DryRun"/>,
    /// applies the difference. Nothing is applied from a configuration with an error.
    /// </summary>
    /// <param name="desired">The configuration.</param>
    /// <param name="options">Force and dry run.</param>
    /// <returns>What changed (or would change), what was kept, and the errors.</returns>
    public async Task<ScstConfigApplyResult> ApplyAsync(ScstConfiguration desired, ScstConfigApplyOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(desired);
        options ??= new ScstConfigApplyOptions();
        var plan = new Plan(options.Force);
        PlanCore(desired, plan);
        PlanDevices(desired, plan);
        PlanTargets(desired, plan);
        PlanDeviceGroups(desired, plan);
        List<Step> steps = [.. plan.All];
        List<string> descriptions = [.. steps.Select(s => s.Description)];
        if (plan.Errors.Count > 0 || options.DryRun)
        {
            return new ScstConfigApplyResult(descriptions, plan.Notes, plan.Errors, plan.Errors.Count > 0 ? EINVAL : 0, applied: false);
        }

        var done = new List<string>();
        var created = new List<string>();
        foreach (Step step in steps)
        {
            ManagementResult result;
            try
            {
                result = await step.Perform().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException or UnauthorizedAccessException)
            {
                result = ManagementResult.Error(EINVAL, ex.Message);
            }

            if (!result.Succeeded)
            {
                int notMade = steps.Count - done.Count - 1;

                // Devices this apply created and nothing maps yet are removed again.
                foreach (string device in created)
                {
                    try
                    {
                        if (await _engine.RemoveDeviceAsync(device).ConfigureAwait(false))
                        {
                            done.Remove($"add device {device}");
                        }
                    }
                    catch (InvalidOperationException)
                    {
                    }
                }

                string error = $"{step.Description}: {result.Message}" + (step.Line > 0 ? $" (line {step.Line})" : string.Empty);
                Log.ConfigurationApplied(_logger, done.Count, 1);
                return new ScstConfigApplyResult(done, plan.Notes, [error, $"{notMade} later change(s) not made"], -result.Status, applied: done.Count > 0);
            }

            if (step.CreatesDevice is { } name)
            {
                created.Add(name);
            }

            done.Add(step.Description);
        }

        Log.ConfigurationApplied(_logger, done.Count, 0);
        return new ScstConfigApplyResult(done, plan.Notes, [], 0, applied: true);
    }

    private void PlanCore(ScstConfiguration desired, Plan plan)
    {
        foreach (ConfigAttribute a in desired.Attributes)
        {
            if (a.Name == "setup_id")
            {
                ulong value;
                try
                {
                    value = ManagementTree.ParseUnsigned("setup_id", a.Value);
                }
                catch (ArgumentException ex)
                {
                    plan.Error(a.Line, ex.Message);
                    continue;
                }

                if (value != _engine.SetupId)
                {
                    plan.Add($"set setup_id {a.Value}", a.Line, () =>
                    {
                        _engine.SetupId = value;
                        return ManagementResult.Ok;
                    });
                }
            }
            else if (s_ignoredCoreAttributes.Contains(a.Name))
            {
                plan.Note($"line {a.Line}: {a.Name} has no effect here; ignored");
            }
            else
            {
                plan.Error(a.Line, $"unknown attribute '{a.Name}' of the core");
            }
        }

        if (desired.Attributes.Find("setup_id") is null && _engine.SetupId != 0)
        {
            plan.Add("set setup_id 0x0", 0, () =>
            {
                _engine.SetupId = 0;
                return ManagementResult.Ok;
            });
        }
    }

    private void PlanDevices(ScstConfiguration desired, Plan plan)
    {
        var listed = new HashSet<string>(StringComparer.Ordinal);
        foreach (HandlerConfiguration h in desired.Handlers)
        {
            if (!_engine.Handlers.ContainsKey(h.Name))
            {
                plan.Error(h.Line, $"HANDLER {h.Name}: no such handler (known: {string.Join(", ", _engine.Handlers.Keys.Order(StringComparer.Ordinal))})");
                continue;
            }

            foreach (ConfigAttribute a in h.Attributes)
            {
                plan.IgnoreOrError(a, $"handler {h.Name}");
            }

            foreach (DeviceConfiguration d in h.Devices)
            {
                listed.Add(d.Name);
                PlanDevice(h.Name, d, plan);
            }
        }

        foreach (ScsiDevice device in _engine.Devices)
        {
            if (listed.Contains(device.Name))
            {
                continue;
            }

            plan.UnlistedDevices.Add(device.Name);
            if (plan.Force)
            {
                ScsiDevice d = device;
                plan.AddLate($"remove device {d.Name}", 0, async () => await _engine.RemoveDeviceAsync(d.Name).ConfigureAwait(false)
                    ? ManagementResult.Ok
                    : ManagementResult.Error(2, $"device {d.Name} does not exist"));
            }
            else
            {
                plan.Note($"device {device.Name} is not listed; kept (force removes it)");
            }
        }
    }

    private void PlanDevice(string handler, DeviceConfiguration d, Plan plan)
    {
        ScsiDevice? running = _engine.FindDevice(d.Name);
        if (running is null)
        {
            Dictionary<string, string> parameters = ParametersOf(d);
            plan.Add($"add device {d.Name}", d.Line, () =>
            {
                _engine.AddDevice(handler, d.Name, parameters);
                return ManagementResult.Ok;
            }, createsDevice: d.Name);
            return;
        }

        List<ManagementAttribute> attributes = [.. ManagementTree.DeviceAttributes(running)];
        var writable = attributes.Where(a => a.Write is not null).ToDictionary(a => a.Name, StringComparer.Ordinal);
        var wantedCreation = new Dictionary<string, ConfigAttribute>(StringComparer.Ordinal);
        foreach (ConfigAttribute a in d.Attributes)
        {
            if (writable.TryGetValue(a.Name, out ManagementAttribute? w))
            {
                if (!SameValue(w, a.Value))
                {
                    plan.Add($"set device {d.Name} {a.Name} {a.Value}", a.Line, () =>
                        ManagementCommands.SetAttribute(ManagementTree.DeviceAttributes(running), $"device {d.Name}", a.Name, a.Value, add: true));
                }
            }
            else
            {
                wantedCreation[a.Name] = a;
            }
        }

        // Creation parameters: the same set with the same values, or a value the device shows anyway.
        var differences = new List<string>();
        foreach ((string name, ConfigAttribute a) in wantedCreation)
        {
            // The value given when the device was made, or the value it shows now (64M given, 67108864 shown).
            running.CreationParameters.TryGetValue(name, out string? value);
            bool same = string.Equals(value, a.Value, StringComparison.Ordinal) ||
                attributes.FirstOrDefault(x => x.Name == name) is { } shown && string.Equals(shown.Value, a.Value, StringComparison.Ordinal);
            if (!same)
            {
                differences.Add($"{name} {value ?? "(unset)"} -> {a.Value}");
            }
        }

        foreach ((string name, string value) in running.CreationParameters)
        {
            // Left out of the configuration: the same when the device shows it at its default (not a key attribute),
            // as a saved configuration leaves it out.
            if (!wantedCreation.ContainsKey(name) && !writable.ContainsKey(name) &&
                attributes.FirstOrDefault(x => x.Name == name) is not { IsKey: false })
            {
                differences.Add($"{name} {value} -> (unset)");
            }
        }

        if (running.HandlerName != handler)
        {
            differences.Insert(0, $"handler {running.HandlerName} -> {handler}");
        }

        if (differences.Count == 0)
        {
            return;
        }

        bool inUse = _engine.Targets.Any(t => t.AllLunMaps().Any(m => m.Luns.Any(l => l.Device == running)));
        if (inUse && !plan.Force)
        {
            plan.Error(d.Line, $"device {d.Name} is in use and its parameters changed ({string.Join(", ", differences)}); force re-creates it and maps its LUNs again");
            return;
        }

        Dictionary<string, string> recreated = ParametersOf(d);
        plan.Add($"re-create device {d.Name} ({string.Join(", ", differences)})", d.Line, async () =>
        {
            // Its LUNs go, the device is made anew, and they come back (each a REPORTED LUNS DATA HAS CHANGED).
            var mappings = new List<(LunMap Map, int Lun, bool ReadOnly)>();
            foreach (ScsiTarget t in _engine.Targets)
            {
                foreach (LunMap map in t.AllLunMaps())
                {
                    foreach (LunMapping m in map.Luns)
                    {
                        if (m.Device.Name == d.Name)
                        {
                            mappings.Add((map, m.Lun, m.ReadOnly));
                            map.Remove(m.Lun);
                        }
                    }
                }
            }

            await _engine.RemoveDeviceAsync(d.Name).ConfigureAwait(false);
            ScsiDevice made = _engine.AddDevice(handler, d.Name, recreated);
            foreach ((LunMap map, int lun, bool readOnly) in mappings)
            {
                map.Add(lun, made, readOnly);
            }

            return ManagementResult.Ok;
        });
    }

    private void PlanTargets(ScstConfiguration desired, Plan plan)
    {
        IReadOnlyDictionary<string, ITargetDriver> drivers = _engine.Drivers;
        foreach (TargetDriverConfiguration dc in desired.TargetDrivers)
        {
            if (!drivers.TryGetValue(dc.Name, out ITargetDriver? driver))
            {
                plan.Error(dc.Line, $"TARGET_DRIVER {dc.Name}: no such target driver (known: {string.Join(", ", drivers.Keys.Order(StringComparer.Ordinal))})");
                continue;
            }

            PlanAttributes(dc.Attributes, ManagementTree.DriverAttributes(driver), $"driver {dc.Name}", plan, resetOmitted: name => name != "enabled");
            var listed = new HashSet<string>(StringComparer.Ordinal);
            foreach (TargetConfiguration tc in dc.Targets)
            {
                listed.Add(tc.Name);
                PlanTarget(driver, tc, desired, plan);
            }

            foreach (ScsiTarget target in _engine.Targets.Where(t => t.Driver == driver && !listed.Contains(t.Name)))
            {
                if (plan.Force)
                {
                    ScsiTarget t = target;
                    plan.Add($"remove target {t.Name} of {driver.Name}", dc.Line, async () => await _engine.RemoveTargetAsync(t).ConfigureAwait(false)
                        ? ManagementResult.Ok
                        : ManagementResult.Error(2, $"target {t.Name} does not exist"));
                }
                else
                {
                    plan.Note($"target {target.Name} of {driver.Name} is not listed; kept (force removes it)");
                }
            }
        }
    }

    private void PlanTarget(ITargetDriver driver, TargetConfiguration tc, ScstConfiguration desired, Plan plan)
    {
        string owner = $"target {tc.Name}";
        string prefix = $"targets/{driver.Name}/{tc.Name}";
        ScsiTarget? running = _engine.FindTarget(driver.Name, tc.Name);
        foreach (LunConfiguration lun in tc.Luns.Concat(tc.Groups.SelectMany(g => g.Luns)))
        {
            CheckLunDevice(lun, desired, plan);
        }

        bool enable = false;
        if (tc.Attributes.Find("enabled") is { } enabled)
        {
            try
            {
                enable = ManagementAttribute.ParseBoolean("enabled", enabled.Value);
            }
            catch (ArgumentException ex)
            {
                plan.Error(enabled.Line, ex.Message);
            }
        }

        var attributes = new ConfigAttributeList();
        foreach (ConfigAttribute a in tc.Attributes.Where(a => a.Name != "enabled"))
        {
            attributes.Add(a.Name, a.Value, a.Line);
        }

        if (running is null)
        {
            // The names are checked on a target that is never registered; the values when the target is made.
            var known = ManagementTree.TargetAttributes(new ScsiTarget(_engine, driver, tc.Name, ushort.MaxValue)).Select(a => a.Name).ToHashSet(StringComparer.Ordinal);
            foreach (ConfigAttribute a in attributes.Where(a => !known.Contains(a.Name)))
            {
                plan.IgnoreOrError(a, owner);
            }

            plan.Add($"add target {tc.Name} to {driver.Name}", tc.Line, async () =>
            {
                ScsiTarget made = _engine.AddTarget(driver, tc.Name);
                made.Enabled = false;
                foreach (ConfigAttribute a in attributes.Where(a => known.Contains(a.Name)))
                {
                    ManagementResult set = ManagementCommands.SetTargetAttribute(made, a.Name, a.Value, add: true);
                    if (!set.Succeeded)
                    {
                        // The target goes again: what failed leaves nothing half made.
                        await _engine.RemoveTargetAsync(made).ConfigureAwait(false);
                        return ManagementResult.Error(-set.Status, $"{set.Message} (line {a.Line})");
                    }
                }

                return ManagementResult.Ok;
            });

            foreach (LunConfiguration lun in tc.Luns)
            {
                PlanLunAdd($"{prefix}/luns/mgmt", owner, lun, "add", plan);
            }

            foreach (GroupConfiguration g in tc.Groups)
            {
                plan.Add($"{owner}: create group {g.Name}", g.Line, () => _commands.ExecuteAsync($"{prefix}/ini_groups/mgmt", $"create {g.Name}"));
                foreach (LunConfiguration lun in g.Luns)
                {
                    PlanLunAdd($"{prefix}/ini_groups/{g.Name}/luns/mgmt", $"{owner} group {g.Name}", lun, "add", plan);
                }

                foreach (ConfigAttribute i in g.Initiators)
                {
                    plan.Add($"{owner} group {g.Name}: add initiator {i.Value}", i.Line, () => _commands.ExecuteAsync($"{prefix}/ini_groups/{g.Name}/initiators/mgmt", $"add {i.Value}"));
                }
            }

            if (enable)
            {
                plan.Add($"enable target {tc.Name}", tc.Attributes.Find("enabled")?.Line ?? tc.Line, () => Enable(driver.Name, tc.Name, true));
            }

            return;
        }

        if (attributes.Find("rel_tgt_id") is { } relative && relative.Value.Trim() != running.RelativeTargetPortId.ToString(CultureInfo.InvariantCulture) &&
            running.Sessions.Count > 0)
        {
            plan.Error(relative.Line, $"{owner} has sessions: its rel_tgt_id ({running.RelativeTargetPortId}) cannot change to {relative.Value} now");
        }

        PlanAttributes(attributes, ManagementTree.TargetAttributes(running), owner, plan, resetOmitted: name => name is not ("enabled" or "rel_tgt_id"));

        // Initiators first leave the groups that no longer list them (SCST's order: initiators out, LUNs, initiators in).
        var wantedGroups = tc.Groups.ToDictionary(g => g.Name, StringComparer.Ordinal);
        var moves = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (SecurityGroup group in running.Groups)
        {
            var wanted = wantedGroups.TryGetValue(group.Name, out GroupConfiguration? gc) ? gc.Initiators.Select(i => i.Value).ToHashSet(StringComparer.Ordinal) : [];
            foreach (string initiator in group.Initiators.Where(i => !wanted.Contains(i)))
            {
                GroupConfiguration? destination = tc.Groups.FirstOrDefault(g => g.Name != group.Name && running.FindGroup(g.Name) is not null && g.Initiators.Any(i => i.Value == initiator));
                if (destination is not null)
                {
                    moves[initiator] = destination.Name;
                    continue;
                }

                string name = group.Name;
                plan.Add($"{owner} group {name}: remove initiator {initiator}", gc?.Line ?? tc.Line, () => _commands.ExecuteAsync($"{prefix}/ini_groups/{name}/initiators/mgmt", $"del {initiator}"));
            }
        }

        PlanLuns($"{prefix}/luns/mgmt", owner, tc.Luns, running.Luns, tc.Line, plan);
        foreach (GroupConfiguration g in tc.Groups)
        {
            if (running.FindGroup(g.Name) is { } group)
            {
                PlanLuns($"{prefix}/ini_groups/{g.Name}/luns/mgmt", $"{owner} group {g.Name}", g.Luns, group.Luns, g.Line, plan);
            }
            else
            {
                plan.Add($"{owner}: create group {g.Name}", g.Line, () => _commands.ExecuteAsync($"{prefix}/ini_groups/mgmt", $"create {g.Name}"));
                foreach (LunConfiguration lun in g.Luns)
                {
                    PlanLunAdd($"{prefix}/ini_groups/{g.Name}/luns/mgmt", $"{owner} group {g.Name}", lun, "add", plan);
                }
            }
        }

        foreach ((string initiator, string destination) in moves)
        {
            string from = running.Groups.First(g => g.Initiators.Contains(initiator)).Name;
            plan.Add($"{owner}: move initiator {initiator} from group {from} to {destination}", wantedGroups[destination].Line,
                () => _commands.ExecuteAsync($"{prefix}/ini_groups/{from}/initiators/mgmt", $"move {initiator} {destination}"));
        }

        foreach (GroupConfiguration g in tc.Groups)
        {
            SecurityGroup? group = running.FindGroup(g.Name);
            foreach (ConfigAttribute i in g.Initiators)
            {
                if (group?.Initiators.Contains(i.Value) == true || moves.TryGetValue(i.Value, out string? to) && to == g.Name)
                {
                    continue;
                }

                plan.Add($"{owner} group {g.Name}: add initiator {i.Value}", i.Line, () => _commands.ExecuteAsync($"{prefix}/ini_groups/{g.Name}/initiators/mgmt", $"add {i.Value}"));
            }
        }

        foreach (SecurityGroup group in running.Groups.Where(g => !wantedGroups.ContainsKey(g.Name)))
        {
            string name = group.Name;
            plan.Add($"{owner}: remove group {name}", tc.Line, () => _commands.ExecuteAsync($"{prefix}/ini_groups/mgmt", $"del {name}"));
        }

        if (running.Enabled != enable)
        {
            plan.Add($"{(enable ? "enable" : "disable")} target {tc.Name}", tc.Attributes.Find("enabled")?.Line ?? tc.Line, () => Enable(driver.Name, tc.Name, enable));
        }
    }

    private ManagementResult Enable(string driver, string target, bool enable)
    {
        if (_engine.FindTarget(driver, target) is not { } t)
        {
            return ManagementResult.Error(2, $"target {target} of {driver} does not exist");
        }

        t.Enabled = enable;
        return ManagementResult.Ok;
    }

    private void CheckLunDevice(LunConfiguration lun, ScstConfiguration desired, Plan plan)
    {
        bool declared = desired.Handlers.Any(h => h.Devices.Any(d => d.Name == lun.Device));
        bool running = _engine.FindDevice(lun.Device) is not null && !(plan.Force && plan.UnlistedDevices.Contains(lun.Device));
        if (!declared && !running)
        {
            plan.Error(lun.Line, $"LUN {lun.Number} names device {lun.Device}, which no HANDLER section declares{(plan.Force ? " (force removes devices that are not listed)" : " and which does not exist")}");
        }

        foreach (ConfigAttribute a in lun.Attributes)
        {
            if (a.Name != "read_only")
            {
                plan.Error(a.Line, $"LUN {lun.Number}: unknown attribute '{a.Name}' (read_only)");
            }
            else if (a.Value is not ("0" or "1"))
            {
                plan.Error(a.Line, $"LUN {lun.Number}: read_only must be 0 or 1 (was '{a.Value}')");
            }
        }
    }

    private void PlanLuns(string mgmt, string owner, IList<LunConfiguration> wanted, LunMap running, int line, Plan plan)
    {
        foreach (LunConfiguration lun in wanted)
        {
            bool readOnly = lun.Attributes.Get("read_only") == "1";
            LunMapping? now = running.Find(lun.Number);
            if (now is null)
            {
                PlanLunAdd(mgmt, owner, lun, "add", plan);
            }
            else if (now.Device.Name != lun.Device || now.ReadOnly != readOnly)
            {
                PlanLunAdd(mgmt, owner, lun, "replace", plan);
            }
        }

        foreach (LunMapping mapping in running.Luns)
        {
            if (!wanted.Any(l => l.Number == mapping.Lun))
            {
                int n = mapping.Lun;
                plan.Add($"{owner}: remove LUN {n} ({mapping.Device.Name})", line, () => _commands.ExecuteAsync(mgmt, $"del {n}"));
            }
        }
    }

    private void PlanLunAdd(string mgmt, string owner, LunConfiguration lun, string verb, Plan plan)
    {
        bool readOnly = lun.Attributes.Get("read_only") == "1";
        string text = $"{verb} {lun.Device} {lun.Number.ToString(CultureInfo.InvariantCulture)}{(readOnly ? " read_only=1" : string.Empty)}";
        plan.Add($"{owner}: {(verb == "add" ? "add" : "replace")} LUN {lun.Number} -> {lun.Device}{(readOnly ? " (read-only)" : string.Empty)}", lun.Line, () => _commands.ExecuteAsync(mgmt, text));
    }

    private static void PlanAttributes(ConfigAttributeList wanted, IEnumerable<ManagementAttribute> running, string owner, Plan plan, Func<string, bool> resetOmitted)
    {
        var byName = running.ToDictionary(a => a.Name, StringComparer.Ordinal);
        foreach (IGrouping<string, ConfigAttribute> group in wanted.GroupBy(a => a.Name, StringComparer.Ordinal))
        {
            ConfigAttribute last = group.Last();
            if (!byName.TryGetValue(group.Key, out ManagementAttribute? attribute))
            {
                plan.IgnoreOrError(last, owner);
                continue;
            }

            if (attribute.IsMultiValued)
            {
                IReadOnlyList<string> now = attribute.ReadValues!();
                List<string> values = [.. group.Select(a => a.Value)];
                string display = attribute.IsSecret ? "(value not shown)" : string.Empty;
                foreach (string value in now.Where(v => !values.Contains(v)))
                {
                    string v = value;
                    plan.Add($"{owner}: remove {attribute.Name} {(attribute.IsSecret ? display : v)}", last.Line, () => ManagementCommands.SetAttribute([attribute], owner, attribute.Name, v, add: false));
                }

                foreach (ConfigAttribute a in group.Where(a => !now.Contains(a.Value)))
                {
                    plan.Add($"{owner}: add {attribute.Name} {(attribute.IsSecret ? display : a.Value)}", a.Line, () => ManagementCommands.SetAttribute([attribute], owner, attribute.Name, a.Value, add: true));
                }
            }
            else if (attribute.Write is null)
            {
                if (!string.Equals(attribute.Value, last.Value, StringComparison.Ordinal))
                {
                    plan.Error(last.Line, $"{owner}: attribute {attribute.Name} is read-only (it is '{attribute.Value}', the configuration says '{last.Value}')");
                }
            }
            else if (!string.Equals(attribute.Value, last.Value, StringComparison.Ordinal))
            {
                plan.Add($"{owner}: set {attribute.Name} {last.Value}", last.Line, () => ManagementCommands.SetAttribute([attribute], owner, attribute.Name, last.Value, add: true));
            }
        }

        // A writable key attribute left out returns to its default; a multi-valued one loses its values.
        foreach (ManagementAttribute attribute in byName.Values)
        {
            if (wanted.Find(attribute.Name) is not null || !resetOmitted(attribute.Name) || !attribute.IsKey)
            {
                continue;
            }

            if (attribute.IsMultiValued && attribute.RemoveValue is not null)
            {
                foreach (string value in attribute.ReadValues!())
                {
                    string v = value;
                    plan.Add($"{owner}: remove {attribute.Name} {(attribute.IsSecret ? "(value not shown)" : v)}", 0, () => ManagementCommands.SetAttribute([attribute], owner, attribute.Name, v, add: false));
                }
            }
            else if (attribute.Write is not null && attribute.DefaultValue is { } defaultValue)
            {
                plan.Add($"{owner}: set {attribute.Name} {defaultValue} (its default)", 0, () => ManagementCommands.SetAttribute([attribute], owner, attribute.Name, defaultValue, add: true));
            }
        }
    }

    private void PlanDeviceGroups(ScstConfiguration desired, Plan plan)
    {
        foreach (DeviceGroupConfiguration dg in desired.DeviceGroups)
        {
            foreach (ConfigAttribute a in dg.Attributes)
            {
                plan.IgnoreOrError(a, $"device group {dg.Name}");
            }

            foreach (ConfigAttribute d in dg.Devices)
            {
                if (!desired.Handlers.Any(h => h.Devices.Any(x => x.Name == d.Value)) && _engine.FindDevice(d.Value) is null)
                {
                    plan.Error(d.Line, $"device group {dg.Name} names device {d.Value}, which does not exist");
                }
            }

            DeviceGroup? running = _engine.FindDeviceGroup(dg.Name);
            string prefix = $"device_groups/{dg.Name}";
            if (running is null)
            {
                plan.Add($"create device group {dg.Name}", dg.Line, () => _commands.ExecuteAsync("device_groups/mgmt", $"create {dg.Name}"));
            }

            foreach (string device in running?.Devices.Where(x => !dg.Devices.Any(d => d.Value == x)) ?? [])
            {
                plan.Add($"device group {dg.Name}: remove device {device}", dg.Line, () => _commands.ExecuteAsync($"{prefix}/devices/mgmt", $"del {device}"));
            }

            foreach (ConfigAttribute d in dg.Devices.Where(d => running?.Devices.Contains(d.Value) != true))
            {
                plan.Add($"device group {dg.Name}: add device {d.Value}", d.Line, () => _commands.ExecuteAsync($"{prefix}/devices/mgmt", $"add {d.Value}"));
            }

            foreach (TargetGroup tg in running?.TargetGroups.Where(t => !dg.TargetGroups.Any(x => x.Name == t.Name)) ?? [])
            {
                string name = tg.Name;
                plan.Add($"device group {dg.Name}: remove target group {name}", dg.Line, () => _commands.ExecuteAsync($"{prefix}/target_groups/mgmt", $"del {name}"));
            }

            foreach (TargetGroupConfiguration tgc in dg.TargetGroups)
            {
                PlanTargetGroup(dg, tgc, running?.FindTargetGroup(tgc.Name), prefix, plan);
            }
        }

        foreach (DeviceGroup group in _engine.DeviceGroups.Where(g => !desired.DeviceGroups.Any(d => d.Name == g.Name)))
        {
            if (plan.Force)
            {
                string name = group.Name;
                plan.Add($"remove device group {name}", 0, () => _commands.ExecuteAsync("device_groups/mgmt", $"del {name}"));
            }
            else
            {
                plan.Note($"device group {group.Name} is not listed; kept (force removes it)");
            }
        }
    }

    private void PlanTargetGroup(DeviceGroupConfiguration dg, TargetGroupConfiguration tgc, TargetGroup? running, string prefix, Plan plan)
    {
        string owner = $"target group {tgc.Name} of {dg.Name}";
        string tgPath = $"{prefix}/target_groups/{tgc.Name}";
        if (running is null)
        {
            plan.Add($"device group {dg.Name}: create target group {tgc.Name}", tgc.Line, () => _commands.ExecuteAsync($"{prefix}/target_groups/mgmt", $"create {tgc.Name}"));
        }

        // Each value is checked on a scratch group first; a step sets it only where the running group differs.
        TargetGroup probe = new DeviceGroup(_engine, dg.Name).CreateTargetGroup(tgc.Name);
        foreach (ConfigAttribute a in tgc.Attributes)
        {
            ManagementAttribute? attribute = ManagementTree.TargetGroupAttributes(probe).FirstOrDefault(x => x.Name == a.Name);
            if (attribute is null)
            {
                plan.IgnoreOrError(a, owner);
                continue;
            }

            try
            {
                attribute.Write!(a.Value);
            }
            catch (ArgumentException ex)
            {
                plan.Error(a.Line, $"{owner}: {ex.Message}");
                continue;
            }

            string value = attribute.Value;
            if (running is not null && ManagementTree.TargetGroupAttributes(running).First(x => x.Name == a.Name).Value == value)
            {
                continue;
            }

            string name = a.Name;
            plan.Add($"{owner}: set {name} {value}", a.Line, () =>
            {
                TargetGroup? group = _engine.FindDeviceGroup(dg.Name)?.FindTargetGroup(tgc.Name);
                return group is null
                    ? ManagementResult.Error(2, $"{owner} does not exist")
                    : ManagementCommands.SetAttribute(ManagementTree.TargetGroupAttributes(group), owner, name, value, add: true);
            });
        }

        foreach (TargetGroupMember member in running?.Targets.Where(m => !tgc.Targets.Any(t => t.Name == m.Name)) ?? [])
        {
            string name = member.Name;
            plan.Add($"{owner}: remove target {name}", tgc.Line, () => _commands.ExecuteAsync($"{tgPath}/mgmt", $"del {name}"));
        }

        foreach (TargetGroupMemberConfiguration m in tgc.Targets)
        {
            if (running?.FindTarget(m.Name) is null)
            {
                plan.Add($"{owner}: add target {m.Name}", m.Line, () => _commands.ExecuteAsync($"{tgPath}/mgmt", $"add {m.Name}"));
            }

            foreach (ConfigAttribute a in m.Attributes)
            {
                if (a.Name != "rel_tgt_id")
                {
                    plan.IgnoreOrError(a, $"target {m.Name} of {owner}");
                    continue;
                }

                plan.Add($"{owner}: set rel_tgt_id of {m.Name} {a.Value}", a.Line, () =>
                {
                    TargetGroupMember? member = _engine.FindDeviceGroup(dg.Name)?.FindTargetGroup(tgc.Name)?.FindTarget(m.Name);
                    return ValueTask.FromResult(member is null
                        ? ManagementResult.Error(2, $"target {m.Name} of {owner} does not exist")
                        : ManagementCommands.SetAttribute([ManagementTree.TargetGroupMemberAttribute(member)], owner, "rel_tgt_id", a.Value, add: true));
                });
            }
        }
    }

    // A device's attributes as add_device parameters (the last value of a name wins).
    // Whether a running attribute already has the wanted value: the same text, or for a number the same value however
    // written (a device's size shows 67108864 where the configuration says 64M).
    private static bool SameValue(ManagementAttribute attribute, string wanted)
    {
        string value = attribute.Value;
        return string.Equals(value, wanted, StringComparison.Ordinal) ||
            (attribute.Type == ManagementAttributeType.Integer && TryParseNumber(value, out ulong have) && TryParseNumber(wanted, out ulong want) && have == want);
    }

    // A decimal number with an optional K, M, G or T (binary) suffix, or a 0x-prefixed hexadecimal one.
    private static bool TryParseNumber(string text, out ulong number)
    {
        text = text.Trim();
        if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            return ulong.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out number);
        }

        int shift = text.Length == 0 ? 0 : char.ToUpperInvariant(text[^1]) switch { 'K' => 10, 'M' => 20, 'G' => 30, 'T' => 40, _ => 0 };
        if (!ulong.TryParse(shift == 0 ? text : text[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out number) || number > ulong.MaxValue >> shift)
        {
            return false;
        }

        number <<= shift;
        return true;
    }

    private static Dictionary<string, string> ParametersOf(DeviceConfiguration device)
    {
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (ConfigAttribute a in device.Attributes)
        {
            parameters[a.Name] = a.Value;
        }

        return parameters;
    }

    private static void CaptureAttributes(ConfigAttributeList into, IEnumerable<ManagementAttribute> attributes, bool includeNonKey)
    {
        foreach (ManagementAttribute a in attributes)
        {
            if (a.IsKey || (includeNonKey && !a.IsMultiValued && (a.IsWritable || a.IsCreationParameter)))
            {
                AddValues(into, a);
            }
        }
    }

    private static void AddValues(ConfigAttributeList into, ManagementAttribute a)
    {
        if (a.ReadValues is { } values)
        {
            foreach (string v in values())
            {
                into.Add(a.Name, v);
            }
        }
        else
        {
            into.Add(a.Name, a.Value);
        }
    }

    private static void CaptureLuns(IList<LunConfiguration> into, LunMap map)
    {
        foreach (LunMapping m in map.Luns.OrderBy(m => m.Lun))
        {
            var lun = new LunConfiguration(m.Lun, m.Device.Name);
            if (m.ReadOnly)
            {
                lun.Attributes.Add("read_only", "1");
            }

            into.Add(lun);
        }
    }

    private sealed record Step(string Description, int Line, Func<ValueTask<ManagementResult>> Perform, string? CreatesDevice);

    private sealed class Plan(bool force)
    {
        private readonly List<Step> _late = [];

        public bool Force { get; } = force;

        public List<Step> Steps { get; } = [];

        /// <summary>The steps in order: those that must come last (device removals) after the others.</summary>
        public IEnumerable<Step> All => Steps.Concat(_late);

        public List<string> Notes { get; } = [];

        public List<string> Errors { get; } = [];

        public HashSet<string> UnlistedDevices { get; } = new(StringComparer.Ordinal);

        public void Add(string description, int line, Func<ValueTask<ManagementResult>> perform, string? createsDevice = null) =>
            Steps.Add(new Step(description, line, perform, createsDevice));

        public void Add(string description, int line, Func<ManagementResult> perform, string? createsDevice = null) =>
            Add(description, line, () => ValueTask.FromResult(perform()), createsDevice);

        public void AddLate(string description, int line, Func<ValueTask<ManagementResult>> perform) => _late.Add(new Step(description, line, perform, null));

        public void Note(string note) => Notes.Add(note);

        public void Error(int line, string message) => Errors.Add(line > 0 ? $"line {line}: {message}" : message);

        public void IgnoreOrError(ConfigAttribute a, string owner)
        {
            if (s_ignoredObjectAttributes.Contains(a.Name))
            {
                Note($"line {a.Line}: {owner}: {a.Name} has no effect here; ignored");
            }
            else
            {
                Error(a.Line, $"{owner} has no attribute '{a.Name}'");
            }
        }
    }
}
