// Licensed under the Apache License, Version 2.0.

using System.Text;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Scst.Core.Alua;
using Scst.Core.Buffers;
using Scst.Core.Diagnostics;
using Scst.Core.Spc.ExtendedCopy;
using Scst.Events;

namespace Scst.Core;

/// <summary>
/// The SCSI target core: device handlers and their devices, target drivers and their targets, and the command path
/// that connects them. One instance per process, created by DI (<c>AddScst</c>).
/// </summary>
public sealed class ScstEngine : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly ILogger _logger;
    private readonly Dictionary<string, IDeviceHandler> _handlers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ITargetDriver> _drivers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ScsiDevice> _devices = new(StringComparer.Ordinal);
    private ScsiTarget[] _targets = [];
    private DeviceGroup[] _deviceGroups = [];
    private ushort _nextRelativeTargetPortId = 1;
    private ulong _setupId;

    /// <summary>Creates the core.</summary>
    /// <param name="options">Core options.</param>
    /// <param name="events">The event bus.</param>
    /// <param name="handlers">The registered device handlers.</param>
    /// <param name="logger">The logger.</param>
    /// <param name="meterFactory">Where the core's meter comes from (the host's, through DI); null: a meter of its own.</param>
    public ScstEngine(IOptions<ScstOptions> options, IScstEventBus events, IEnumerable<IDeviceHandler> handlers, ILogger<ScstEngine>? logger = null, IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(events);
        Options = options.Value;
        Events = events;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        foreach (IDeviceHandler h in handlers ?? [])
        {
            _handlers[h.Name] = h;
        }

        BufferPool = new DataBufferPool(Options.MaxTransferLength, Options.RetainedBuffersPerSizeClass, Options.MaxBufferMemory);
        Processor = new CommandProcessor(this, BufferPool, _logger);
        CopyManager = new CopyManager(BufferPool);
        Metrics = new CoreMetrics(this, meterFactory);
    }

    /// <summary>The core's options.</summary>
    public ScstOptions Options { get; }

    /// <summary>The event bus the core publishes to.</summary>
    public IScstEventBus Events { get; }

    /// <summary>The registered device handlers by name.</summary>
    public IReadOnlyDictionary<string, IDeviceHandler> Handlers => _handlers;

    /// <summary>The registered devices.</summary>
    public IReadOnlyList<ScsiDevice> Devices
    {
        get
        {
            lock (_lock)
            {
                return [.. _devices.Values];
            }
        }
    }

    /// <summary>The targets.</summary>
    public IReadOnlyList<ScsiTarget> Targets => Volatile.Read(ref _targets);

    /// <summary>The registered target drivers by name (see <see cref="RegisterDriver"/>).</summary>
    public IReadOnlyDictionary<string, ITargetDriver> Drivers
    {
        get
        {
            lock (_lock)
            {
                return new Dictionary<string, ITargetDriver>(_drivers, StringComparer.Ordinal);
            }
        }
    }

    /// <summary>The ALUA device groups, in the order they were created.</summary>
    public IReadOnlyList<DeviceGroup> DeviceGroups => Volatile.Read(ref _deviceGroups);

    /// <summary>
    /// SCST's <c>setup_id</c>: a number that tells apart configurations that are otherwise identical (two appliances
    /// with the same device names), for identifiers derived from device names. Defaults to 0.
    /// </summary>
    public ulong SetupId
    {
        get => Volatile.Read(ref _setupId);
        set => Volatile.Write(ref _setupId, value);
    }

    /// <summary>Serialises changes of device-group membership (a device is in one device group at most).</summary>
    internal Lock DeviceGroupLock { get; } = new();

    internal DataBufferPool BufferPool { get; }

    internal CoreMetrics Metrics { get; }

    internal CommandProcessor Processor { get; }

    internal ILogger Logger => _logger;

    /// <summary>The copy manager: EXTENDED COPY and RECEIVE COPY RESULTS for every logical unit.</summary>
    internal CopyManager CopyManager { get; }

    /// <summary>Data buffers rented by commands and not yet returned.</summary>
    public long OutstandingBuffers => BufferPool.Outstanding;

    /// <summary>Creates a device with a registered handler and registers it (SCST's <c>add_device</c>).</summary>
    /// <param name="handler">The handler's name.</param>
    /// <param name="name">The device name.</param>
    /// <param name="parameters">The handler's parameters.</param>
    /// <returns>The registered device.</returns>
    /// <exception cref="ArgumentException">Unknown handler, bad name or bad parameters.</exception>
    public ScsiDevice AddDevice(string handler, string name, IReadOnlyDictionary<string, string> parameters)
    {
        ArgumentNullException.ThrowIfNull(handler);
        if (!_handlers.TryGetValue(handler, out IDeviceHandler? h))
        {
            throw new ArgumentException($"No device handler named '{handler}'. Known handlers: {string.Join(", ", _handlers.Keys)}.", nameof(handler));
        }

        ValidateDeviceName(name);
        lock (_lock)
        {
            if (_devices.ContainsKey(name))
            {
                throw new ArgumentException($"A device named '{name}' already exists.", nameof(name));
            }
        }

        ScsiDevice device = h.CreateDevice(name, parameters);
        device.CreationParameters = new Dictionary<string, string>(parameters, StringComparer.Ordinal);
        try
        {
            RegisterDevice(device);
        }
        catch (ArgumentException)
        {
            // Refused (a name or identifier taken meanwhile): the device made for it closes its backing store.
            device.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }

        return device;
    }

    /// <summary>
    /// Registers a device made outside a handler factory (a user-space device, a test device). Publishes event 6
    /// (virtual device registered) with the device's name.
    /// </summary>
    /// <param name="device">The device.</param>
    /// <exception cref="ArgumentException">The name is taken or invalid, or the device refused (see <see cref="ScsiDevice.OnRegistering"/>).</exception>
    public void RegisterDevice(ScsiDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        ValidateDeviceName(device.Name);
        if (FindDevice(device.Name) is not null)
        {
            throw new ArgumentException($"A device named '{device.Name}' already exists.", nameof(device));
        }

        device.OnRegistering(this);
        lock (_lock)
        {
            if (!_devices.TryAdd(device.Name, device))
            {
                throw new ArgumentException($"A device named '{device.Name}' already exists.", nameof(device));
            }
        }

        // A device group may name the device from an earlier registration under the same name.
        foreach (DeviceGroup group in DeviceGroups)
        {
            if (group.Devices.Contains(device.Name, StringComparer.Ordinal))
            {
                device.DeviceGroup = group;
            }
        }

        device.SetEngine(this);

        device.LoadSavedState(Options.StateDirectory, _logger);
        Log.DeviceRegistered(_logger, device.Name, device.HandlerName, (device as BlockDevice)?.BlockCount ?? 0, device.BlockSize);
        Events.Publish(ScstEvents.VirtualDeviceRegistered(device.Name));
    }

    /// <summary>Finds a device by name.</summary>
    /// <param name="name">The device name.</param>
    /// <returns>The device or null.</returns>
    public ScsiDevice? FindDevice(string name)
    {
        lock (_lock)
        {
            return _devices.GetValueOrDefault(name);
        }
    }

    /// <summary>
    /// Unregisters a device and closes it. Its LUNs must have been removed first. Publishes event 100 (virtual device
    /// unregistered).
    /// </summary>
    /// <param name="name">The device name.</param>
    /// <returns>False when no such device exists.</returns>
    /// <exception cref="InvalidOperationException">A LUN still maps the device.</exception>
    public async ValueTask<bool> RemoveDeviceAsync(string name)
    {
        ScsiDevice? device;
        lock (_lock)
        {
            if (!_devices.TryGetValue(name, out device))
            {
                return false;
            }

            foreach (ScsiTarget t in _targets)
            {
                foreach (LunMap map in t.AllLunMaps())
                {
                    foreach (LunMapping m in map.Luns)
                    {
                        if (m.Device == device)
                        {
                            throw new InvalidOperationException($"Device '{name}' is still mapped as LUN {m.Lun} of target {t.Name}.");
                        }
                    }
                }
            }

            _devices.Remove(name);
        }

        device.SetEngine(null);
        await device.DisposeAsync().ConfigureAwait(false);
        Log.DeviceRemoved(_logger, name);
        Events.Publish(ScstEvents.VirtualDeviceUnregistered(name, device.HandlerName));
        return true;
    }

    /// <summary>
    /// Removes every LUN that maps <paramref name="device"/> from every LUN map of every target, security groups
    /// included (each session that had one gets REPORTED LUNS DATA HAS CHANGED), then unregisters and closes the
    /// device. Commands in flight to the device still complete; the device's <see cref="ScsiDevice.DisposeAsync"/> runs
    /// once it is unregistered.
    /// </summary>
    /// <param name="device">The device.</param>
    /// <returns>False when the device was not registered (or another device now has its name).</returns>
    public async ValueTask<bool> UnregisterDeviceAsync(ScsiDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        lock (_lock)
        {
            if (!_devices.TryGetValue(device.Name, out ScsiDevice? registered) || registered != device)
            {
                return false;
            }
        }

        foreach (ScsiTarget target in Targets)
        {
            foreach (LunMap map in target.AllLunMaps())
            {
                foreach (LunMapping mapping in map.Luns)
                {
                    if (mapping.Device == device)
                    {
                        map.Remove(mapping.Lun);
                        Log.LunUnmapped(_logger, target.Name, mapping.Lun, device.Name);
                    }
                }
            }
        }

        return await RemoveDeviceAsync(device.Name).ConfigureAwait(false);
    }

    /// <summary>Adds a target served by a driver (SCST's <c>add_target</c>).</summary>
    /// <param name="driver">The driver.</param>
    /// <param name="name">The target name, unique per driver.</param>
    /// <returns>The target.</returns>
    public ScsiTarget AddTarget(ITargetDriver driver, string name)
    {
        ArgumentNullException.ThrowIfNull(driver);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ScsiTarget target;
        lock (_lock)
        {
            foreach (ScsiTarget t in _targets)
            {
                if (t.Driver.Name == driver.Name && t.Name == name)
                {
                    throw new ArgumentException($"Target '{name}' already exists on driver {driver.Name}.", nameof(name));
                }
            }

            _drivers.TryAdd(driver.Name, driver);
            // The next id that no target holds (an id set through rel_tgt_id may be ahead of the counter).
            while (_nextRelativeTargetPortId == 0 || _targets.Any(t => t.RelativeTargetPortId == _nextRelativeTargetPortId))
            {
                _nextRelativeTargetPortId++;
            }

            target = new ScsiTarget(this, driver, name, _nextRelativeTargetPortId++);
            _targets = [.. _targets, target];
        }

        driver.OnTargetAdded(target);
        Log.TargetAdded(_logger, name, driver.Name);
        return target;
    }

    /// <summary>Finds a target of a driver by name.</summary>
    /// <param name="driver">The driver's name.</param>
    /// <param name="name">The target name.</param>
    /// <returns>The target or null.</returns>
    public ScsiTarget? FindTarget(string driver, string name)
    {
        foreach (ScsiTarget t in Targets)
        {
            if (t.Driver.Name == driver && string.Equals(t.Name, name, StringComparison.Ordinal))
            {
                return t;
            }
        }

        return null;
    }

    /// <summary>
    /// Removes a target (SCST's <c>del_target</c>): it is disabled, so that its driver ends its sessions as its fabric
    /// does it, then taken out of the core once they are closed (or after <paramref name="timeout"/>, when the
    /// sessions left are closed by the core). Its driver is told last (<see cref="ITargetDriver.OnTargetRemoved"/>).
    /// </summary>
    /// <param name="target">The target.</param>
    /// <param name="timeout">How long the sessions may take to end. Defaults to 10 seconds.</param>
    /// <returns>False when the target was not in the core.</returns>
    public async ValueTask<bool> RemoveTargetAsync(ScsiTarget target, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (Array.IndexOf(Volatile.Read(ref _targets), target) < 0)
        {
            return false;
        }

        target.Enabled = false;
        long deadline = Environment.TickCount64 + (long)(timeout ?? TimeSpan.FromSeconds(10)).TotalMilliseconds;
        while (target.Sessions.Count > 0 && Environment.TickCount64 < deadline)
        {
            await Task.Delay(20).ConfigureAwait(false);
        }

        foreach (ScsiSession session in target.Sessions)
        {
            session.Close();
        }

        lock (_lock)
        {
            int i = Array.IndexOf(_targets, target);
            if (i < 0)
            {
                return false;
            }

            _targets = [.. _targets[..i], .. _targets[(i + 1)..]];
        }

        target.Driver.OnTargetRemoved(target);
        Log.TargetRemoved(_logger, target.Name, target.Driver.Name);
        return true;
    }

    /// <summary>Creates an ALUA device group (SCST's <c>device_groups/mgmt create</c>).</summary>
    /// <param name="name">Its name: not empty, without white space or '/'.</param>
    /// <returns>The device group.</returns>
    /// <exception cref="ArgumentException">Bad or taken name.</exception>
    public DeviceGroup CreateDeviceGroup(string name)
    {
        ValidateObjectName(name, "device group");
        lock (DeviceGroupLock)
        {
            if (FindDeviceGroup(name) is not null)
            {
                throw new ArgumentException($"device group {name} already exists");
            }

            var group = new DeviceGroup(this, name);
            Volatile.Write(ref _deviceGroups, [.. _deviceGroups, group]);
            return group;
        }
    }

    /// <summary>Removes a device group with its target groups.</summary>
    /// <param name="name">Its name.</param>
    /// <returns>Whether it existed.</returns>
    public bool RemoveDeviceGroup(string name)
    {
        lock (DeviceGroupLock)
        {
            if (FindDeviceGroup(name) is not { } group)
            {
                return false;
            }

            int i = Array.IndexOf(_deviceGroups, group);
            Volatile.Write(ref _deviceGroups, [.. _deviceGroups[..i], .. _deviceGroups[(i + 1)..]]);
            foreach (string member in group.Devices)
            {
                if (FindDevice(member) is { } device && device.DeviceGroup == group)
                {
                    device.DeviceGroup = null;
                }
            }

            return true;
        }
    }

    /// <summary>Finds a device group by name.</summary>
    /// <param name="name">Its name.</param>
    /// <returns>The device group or null.</returns>
    public DeviceGroup? FindDeviceGroup(string name) =>
        Volatile.Read(ref _deviceGroups).FirstOrDefault(g => string.Equals(g.Name, name, StringComparison.Ordinal));

    /// <summary>
    /// The ALUA target group that applies to <paramref name="device"/> seen through <paramref name="target"/>: the
    /// target group of the device's device group whose members name the target. Null when the device is in no device
    /// group or the target in none of its target groups. No lock, no allocation: the command path calls it.
    /// </summary>
    /// <param name="device">The device.</param>
    /// <param name="target">The target.</param>
    /// <returns>The target group or null.</returns>
    public static TargetGroup? FindTargetGroup(ScsiDevice device, ScsiTarget target)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(target);
        return device.DeviceGroup?.TargetGroupOf(target.Name);
    }

    /// <summary>Checks a management object's name: not empty, no white space, no '/'.</summary>
    internal static void ValidateObjectName(string name, string kind)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.AsSpan().IndexOfAny(" \t\r\n/") >= 0)
        {
            throw new ArgumentException($"{kind} name '{name}' holds white space or '/'");
        }
    }

    /// <summary>Whether a relative target port id is free for <paramref name="target"/>.</summary>
    internal bool RelativeTargetPortIdFree(ushort id, ScsiTarget target)
    {
        foreach (ScsiTarget t in Targets)
        {
            if (t != target && t.RelativeTargetPortId == id)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Maps a registered device as a LUN of a target's default LUN map.</summary>
    /// <param name="target">The target.</param>
    /// <param name="lun">The LUN number.</param>
    /// <param name="deviceName">The device name.</param>
    /// <param name="readOnly">Whether the LUN is read-only.</param>
    /// <returns>The mapping.</returns>
    public LunMapping MapLun(ScsiTarget target, int lun, string deviceName, bool readOnly = false)
    {
        ArgumentNullException.ThrowIfNull(target);
        ScsiDevice device = FindDevice(deviceName) ?? throw new ArgumentException($"No device named '{deviceName}'.", nameof(deviceName));
        LunMapping m = target.Luns.Add(lun, device, readOnly);
        Log.LunMapped(_logger, target.Name, lun, deviceName);
        return m;
    }

    /// <summary>
    /// Tells every I_T nexus that reaches <paramref name="device"/> that its capacity changed (a resize): CAPACITY DATA
    /// HAS CHANGED, and publishes event 105 (capacity changed). A handler calls it after
    /// <see cref="BlockDevice.BlockCount"/> changed.
    /// </summary>
    /// <param name="device">The device.</param>
    public void NotifyCapacityChanged(ScsiDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        EstablishUnitAttention(device, SenseCode.CapacityDataChanged);
        ulong blocks = device is BlockDevice block ? (ulong)block.BlockCount : 0;
        Events.Publish(ScstEvents.CapacityChanged(device.Name, blocks, (uint)device.BlockSize));
    }

    /// <summary>
    /// Tells every I_T nexus that reaches <paramref name="device"/> that its INQUIRY data changed (identifiers, product
    /// strings): INQUIRY DATA HAS CHANGED.
    /// </summary>
    /// <param name="device">The device.</param>
    public void NotifyInquiryDataChanged(ScsiDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        EstablishUnitAttention(device, SenseCode.InquiryDataChanged);
    }

    /// <summary>
    /// Makes a target driver known by name, so that <see cref="ApplyConfiguration"/> can create its targets. Drivers
    /// depend on the core, so the core learns of them here rather than through its constructor.
    /// </summary>
    /// <param name="driver">The driver.</param>
    public void RegisterDriver(ITargetDriver driver)
    {
        ArgumentNullException.ThrowIfNull(driver);
        lock (_lock)
        {
            _drivers[driver.Name] = driver;
        }
    }

    /// <summary>Creates the devices and targets listed in <see cref="ScstOptions"/>.</summary>
    /// <exception cref="InvalidOperationException">A definition names an unknown handler, driver or device.</exception>
    public void ApplyConfiguration()
    {
        foreach (DeviceDefinition d in Options.Devices)
        {
            AddDevice(d.Handler, d.Name, new Dictionary<string, string>(d.Parameters, StringComparer.Ordinal));
        }

        foreach (TargetDefinition t in Options.Targets)
        {
            if (!_drivers.TryGetValue(t.Driver, out ITargetDriver? driver))
            {
                throw new InvalidOperationException($"Target '{t.Name}' names target driver '{t.Driver}', which is not registered.");
            }

            ScsiTarget target = FindTarget(t.Driver, t.Name) ?? AddTarget(driver, t.Name);
            foreach (KeyValuePair<int, string> lun in t.Luns.OrderBy(l => l.Key))
            {
                MapLun(target, lun.Key, lun.Value);
            }

            foreach (GroupDefinition g in t.Groups)
            {
                SecurityGroup group = target.FindGroup(g.Name) ?? target.CreateGroup(g.Name);
                foreach (KeyValuePair<int, string> lun in g.Luns.OrderBy(l => l.Key))
                {
                    ScsiDevice device = FindDevice(lun.Value) ?? throw new InvalidOperationException($"Group '{g.Name}' of target '{t.Name}' names device '{lun.Value}', which does not exist.");
                    group.Luns.Add(lun.Key, device);
                }

                foreach (string pattern in g.Initiators)
                {
                    group.AddInitiator(pattern);
                }
            }
        }
    }

    // SCST reports the LUN number, not the 8-byte field; a field this core cannot decode is passed on as it came.
    internal void PublishLunNotFound(ulong lun, ScsiSession session) =>
        Events.Publish(ScstEvents.LunNotFound(LunAddress.Decode(lun) is >= 0 and int n ? (ulong)n : lun, session.InitiatorName, session.Target.Name));

    /// <summary>Establishes a unit attention on every LUN, of every session, that reaches <paramref name="device"/>.</summary>
    internal void EstablishUnitAttention(ScsiDevice device, SenseCode sense, ScsiSession? except = null)
    {
        foreach (ScsiTarget target in Targets)
        {
            foreach (ScsiSession session in target.Sessions)
            {
                if (session == except)
                {
                    continue;
                }

                foreach (LunMapping mapping in session.Luns.Luns)
                {
                    if (mapping.Device == device)
                    {
                        session.EstablishUnitAttention(mapping.Lun, sense);
                    }
                }
            }
        }
    }

    /// <summary>
    /// A logical unit reset of <paramref name="device"/> (SAM-5 section 6.3.3): every command of every nexus to the LU is
    /// aborted, the state a reset clears is cleared, and <paramref name="unitAttention"/> is established for every nexus
    /// that reaches the LU before the function completes. Completes when every aborted command is gone.
    /// </summary>
    internal async ValueTask<TaskManagementResponse> ResetLogicalUnitAsync(ScsiDevice device, SenseCode unitAttention, ScsiSession issuer)
    {
        var waits = new List<Task>();
        foreach ((ScsiSession session, LunMapping mapping) in NexusesOf(device))
        {
            waits.AddRange(session.AbortLunTasks(LunAddress.Encode(mapping.Lun), byAnotherNexus: session != issuer));
            session.ClearAcaOf(device, owner: null);
        }

        device.ResetLogicalUnitState();
        EstablishUnitAttention(device, unitAttention);
        await Task.WhenAll(waits).ConfigureAwait(false);
        return TaskManagementResponse.FunctionComplete;
    }

    /// <summary>
    /// CLEAR TASK SET on a device with one task set for every nexus (TST=0, SAM-5 section 7.4): every command of every
    /// nexus to the LU is aborted. The other nexuses learn it from TASK ABORTED status when the control page's TAS bit
    /// is set, and otherwise from COMMANDS CLEARED BY ANOTHER INITIATOR, for each nexus that lost a command.
    /// </summary>
    internal async ValueTask<TaskManagementResponse> ClearTaskSetAsync(ScsiDevice device, ScsiSession issuer)
    {
        var waits = new List<Task>();
        foreach ((ScsiSession session, LunMapping mapping) in NexusesOf(device))
        {
            waits.AddRange(session == issuer
                ? session.AbortLunTasks(LunAddress.Encode(mapping.Lun), byAnotherNexus: false)
                : session.AbortLunTasksForAnotherNexus(mapping));
        }

        await Task.WhenAll(waits).ConfigureAwait(false);
        return TaskManagementResponse.FunctionComplete;
    }

    /// <summary>
    /// QERR 01b on a device with one task set (TST=0): a CHECK CONDITION aborts every other command of every nexus to
    /// the LU; the other nexuses learn it from TASK ABORTED (TAS=1) or COMMANDS CLEARED BY ANOTHER INITIATOR (TAS=0).
    /// </summary>
    internal void AbortTaskSetAfterError(ScsiDevice device, ScsiCommand failed)
    {
        foreach ((ScsiSession session, LunMapping mapping) in NexusesOf(device))
        {
            if (session == failed.Session)
            {
                session.AbortLunTasks(LunAddress.Encode(mapping.Lun), byAnotherNexus: false, except: failed);
            }
            else
            {
                session.AbortLunTasksForAnotherNexus(mapping);
            }
        }
    }

    // Every session that reaches the device, with the mapping through which it does.
    private IEnumerable<(ScsiSession Session, LunMapping Mapping)> NexusesOf(ScsiDevice device)
    {
        foreach (ScsiTarget target in Targets)
        {
            foreach (ScsiSession session in target.Sessions)
            {
                foreach (LunMapping mapping in session.Luns.Luns)
                {
                    if (mapping.Device == device)
                    {
                        yield return (session, mapping);
                    }
                }
            }
        }
    }

    /// <summary>Tells a device that a nexus gained or lost it; a device's exception is logged, never passed on.</summary>
    internal void NotifyNexus(ScsiSession session, LunMapping mapping, bool attached)
    {
        try
        {
            if (attached)
            {
                mapping.Device.OnNexusAttached(session, mapping);
            }
            else
            {
                mapping.Device.OnNexusDetached(session, mapping);
            }
        }
        catch (Exception ex)
        {
            Log.DeviceCallbackFault(_logger, mapping.Device.Name, attached ? "OnNexusAttached" : "OnNexusDetached", ex);
        }
    }

    /// <summary>Tells each device that a task management function touching it was received.</summary>
    internal void TaskManagementReceived(ScsiDevice[] devices, TaskManagementFunction function, ScsiSession session, ScsiCommand? command)
    {
        foreach (ScsiDevice device in devices)
        {
            try
            {
                device.OnTaskManagementReceived(function, session, command);
            }
            catch (Exception ex)
            {
                Log.DeviceCallbackFault(_logger, device.Name, "OnTaskManagementReceived", ex);
            }
        }
    }

    /// <summary>Tells each device that a task management function touching it is done.</summary>
    internal async ValueTask TaskManagementDoneAsync(ScsiDevice[] devices, TaskManagementFunction function, ScsiSession session)
    {
        foreach (ScsiDevice device in devices)
        {
            try
            {
                await device.OnTaskManagementDoneAsync(function, session).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                Log.DeviceCallbackFault(_logger, device.Name, "OnTaskManagementDoneAsync", ex);
            }
        }
    }

    internal void PublishNegativeLunsInquiry(string initiator, string target) =>
        Events.Publish(ScstEvents.NegativeLunsInquiry(initiator, target));

    internal void PublishTaskManagement(TaskManagementFunction function, ScsiSession session, ulong lun, ulong tag, ReadOnlyMemory<byte> cdb = default)
    {
        Metrics.TaskManagement(session, function);
        // A function addressed to the nexus or the target names no device.
        string device = function is TaskManagementFunction.TargetReset or TaskManagementFunction.ItNexusReset
            ? string.Empty
            : session.Luns.Find(LunAddress.Decode(lun))?.Device.Name ?? string.Empty;
        Events.Publish(ScstEvents.TaskManagementFunctionReceived(new TaskManagementFunctionReceivedEvent(
            (uint)function, lun, device, session.InitiatorName, session.Target.Name, session.InitiatorName, tag, cdb)));
    }

    private static void ValidateDeviceName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.Contains('/', StringComparison.Ordinal) || name.Contains('.', StringComparison.Ordinal) || Encoding.UTF8.GetByteCount(name) > 64)
        {
            throw new ArgumentException($"Device name '{name}' is invalid: at most 64 bytes, no '/' and no '.'.", nameof(name));
        }
    }

    /// <summary>Closes every device and frees the buffer pool.</summary>
    /// <returns>A task that completes when done.</returns>
    public async ValueTask DisposeAsync()
    {
        ScsiDevice[] devices;
        lock (_lock)
        {
            devices = [.. _devices.Values];
            _devices.Clear();
        }

        foreach (ScsiDevice d in devices)
        {
            d.SetEngine(null);
            await d.DisposeAsync().ConfigureAwait(false);
        }

        BufferPool.Dispose();
        Metrics.Dispose();
    }
}
