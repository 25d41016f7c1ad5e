// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.Logging;
using Scst.Core.Spc;
using Scst.Core.Spc.Reservations;

namespace Scst.Core;

/// <summary>
/// A SCSI device as a device handler provides it: a backing store with a peripheral type and an identity. The core
/// executes the commands it owns (INQUIRY, REPORT LUNS, REQUEST SENSE, MODE SENSE, TEST UNIT READY...) for every
/// device and hands every other command to <see cref="ExecuteAsync"/>.
/// </summary>
/// <remarks>
/// Outcomes are values: return a CHECK CONDITION <see cref="CommandOutcome"/>, never throw. An exception escaping
/// <see cref="ExecuteAsync"/> is a bug in the handler; the core logs it and answers that command alone with HARDWARE
/// ERROR / INTERNAL TARGET FAILURE.
/// </remarks>
public abstract class ScsiDevice : IAsyncDisposable
{
    private ModePages? _modePages;
    private TaskSet? _sharedTaskSet;
    private int _commandsInTaskSets;
    private Alua.DeviceGroup? _deviceGroup;
    private bool _explicitAlua;
    private DeviceIdentity _identity;
    private ScstEngine? _engine;

    /// <summary>Creates a device.</summary>
    /// <param name="name">The device name, unique in the core; no '/' and no '.'.</param>
    /// <param name="handlerName">The name of the handler that made it (vdisk_fileio...).</param>
    /// <param name="deviceType">The SCSI peripheral device type.</param>
    /// <param name="identity">Identifiers; derived from the name when null.</param>
    protected ScsiDevice(string name, string handlerName, PeripheralDeviceType deviceType, DeviceIdentity? identity = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
        HandlerName = handlerName;
        DeviceType = deviceType;
        _identity = identity ?? DeviceIdentity.FromName(name);
        Reservations = new ReservationState(this);
    }

    /// <summary>The device name.</summary>
    public string Name { get; }

    /// <summary>The handler that created the device.</summary>
    public string HandlerName { get; }

    /// <summary>
    /// The parameters the device was created with (SCST's <c>add_device</c> parameters), as given; empty for a device
    /// registered without a handler. They are the device's creation attributes in the management tree and in a saved
    /// configuration.
    /// </summary>
    public IReadOnlyDictionary<string, string> CreationParameters { get; internal set; } = new Dictionary<string, string>();

    /// <summary>
    /// The device's own management attributes beyond its creation parameters (<c>size</c>, <c>blocksize</c>, writable
    /// attributes of its handler). A handler overrides it; the default shows the block size, write protection,
    /// removability and rotation (and, for a block device, its size). An attribute named like a creation parameter takes
    /// its place in the tree.
    /// </summary>
    public virtual IReadOnlyList<Management.ManagementAttribute> ManagementAttributes =>
    [
        Management.ManagementAttribute.ReadOnly("blocksize", () => BlockSize.ToString(System.Globalization.CultureInfo.InvariantCulture), Management.ManagementAttributeType.Integer),
        Management.ManagementAttribute.ReadOnly("read_only", () => ReadOnly ? "1" : "0", Management.ManagementAttributeType.Boolean),
        Management.ManagementAttribute.ReadOnly("removable", () => Removable ? "1" : "0", Management.ManagementAttributeType.Boolean),
        Management.ManagementAttribute.ReadOnly("rotational", () => Rotational ? "1" : "0", Management.ManagementAttributeType.Boolean),
        Management.ManagementAttribute.Boolean("expl_alua", () => ExplicitAlua, value => ExplicitAlua = value, defaultValue: false),
    ];

    /// <summary>The SCSI peripheral device type.</summary>
    public PeripheralDeviceType DeviceType { get; }

    /// <summary>
    /// INQUIRY and VPD identifiers. A handler replaces the whole record to change them (the command path reads one
    /// consistent record per command) and calls <see cref="NotifyInquiryDataChanged"/>.
    /// </summary>
    public DeviceIdentity Identity
    {
        get => Volatile.Read(ref _identity);
        protected set => Volatile.Write(ref _identity, value ?? throw new ArgumentNullException(nameof(value)));
    }

    /// <summary>
    /// Whether the logical unit is a placeholder (SCST's <c>dummy</c>): INQUIRY reports peripheral qualifier 001b and
    /// device type 1Fh (no device connected at this LUN) while the LUN stays listed by REPORT LUNS. Defaults to false.
    /// </summary>
    public virtual bool Dummy => false;

    /// <summary>The core the device is registered with; null before registration and after removal.</summary>
    protected ScstEngine? Engine => Volatile.Read(ref _engine);

    /// <summary>
    /// Tells every I_T nexus that reaches the device that its capacity changed (CAPACITY DATA HAS CHANGED) and publishes
    /// the core's capacity event; a handler calls it after <see cref="BlockDevice.BlockCount"/> changed. Does nothing
    /// while the device is not registered.
    /// </summary>
    protected void NotifyCapacityChanged() => Engine?.NotifyCapacityChanged(this);

    /// <summary>
    /// Tells every I_T nexus that reaches the device that its INQUIRY data changed (INQUIRY DATA HAS CHANGED); a handler
    /// calls it after it changed <see cref="Identity"/>. Does nothing while the device is not registered.
    /// </summary>
    protected void NotifyInquiryDataChanged() => Engine?.NotifyInquiryDataChanged(this);

    /// <summary>
    /// Optional. Called when <paramref name="engine"/> registers the device, before the device is listed and before any
    /// LUN can map it: a handler completes what depends on the core (identifiers derived with its <c>setup_id</c>), or
    /// refuses the registration with an <see cref="ArgumentException"/> that says why. Defaults to nothing.
    /// </summary>
    /// <param name="engine">The core.</param>
    protected internal virtual void OnRegistering(ScstEngine engine)
    {
    }

    /// <summary>Links the device to the core that registered it, or unlinks it (null).</summary>
    internal void SetEngine(ScstEngine? engine) => Volatile.Write(ref _engine, engine);

    /// <summary>The logical block size in bytes; 512 unless a handler says otherwise.</summary>
    public virtual int BlockSize => 512;

    /// <summary>Whether the whole device is write-protected.</summary>
    public virtual bool ReadOnly => false;

    /// <summary>Whether the medium is removable (INQUIRY RMB).</summary>
    public virtual bool Removable => false;

    /// <summary>Whether the device is rotational (VPD B1h).</summary>
    public virtual bool Rotational => false;

    /// <summary>
    /// Whether a medium is loaded. When false, TEST UNIT READY and every medium-access command get NOT READY, MEDIUM
    /// NOT PRESENT. Defaults to true.
    /// </summary>
    public virtual bool MediumPresent => true;

    /// <summary>
    /// Whether the write cache is enabled: the current WCE bit of the caching mode page, which initiators change with
    /// MODE SELECT. A handler honours it by syncing every write when it is false. The caching page starts with
    /// <see cref="WriteCacheEnabledByDefault"/>.
    /// </summary>
    public virtual bool WriteCacheEnabled => Volatile.Read(ref _modePages)?.WriteCacheEnabled ?? WriteCacheEnabledByDefault;

    /// <summary>
    /// Optional. The default WCE of the caching mode page: whether the device starts with its write cache enabled
    /// (SCST: not write_through and not nv_cache). Defaults to false.
    /// </summary>
    protected virtual bool WriteCacheEnabledByDefault => false;

    /// <summary>
    /// Whether initiators may change WCE with MODE SELECT. A handler whose cache mode is fixed (SCST's nv_cache)
    /// returns false. Defaults to true.
    /// </summary>
    public virtual bool WriteCacheChangeable => true;

    /// <summary>
    /// The device's mode pages (MODE SENSE, MODE SELECT), shared by every I_T nexus. Created on first use; saved
    /// values are loaded when the device is registered with a core that has a <see cref="ScstOptions.StateDirectory"/>.
    /// </summary>
    public ModePages ModePages
    {
        get
        {
            ModePages? pages = Volatile.Read(ref _modePages);
            if (pages is not null)
            {
                return pages;
            }

            var created = new ModePages(this);
            return Interlocked.CompareExchange(ref _modePages, created, null) ?? created;
        }
    }

    /// <summary>
    /// Whether the device has one task set shared by every I_T nexus (control page TST=0, SCST's <c>tst=0</c>) rather
    /// than one per I_T nexus (TST=1, the default). Ordering (ORDERED, HEAD OF QUEUE) and CLEAR TASK SET then span
    /// every initiator.
    /// </summary>
    public virtual bool SingleTaskSet => false;

    /// <summary>
    /// Optional. Where the core rents the data buffers of this device's commands; null (the default) for the core's own
    /// pool. A device served by another process returns slots of the memory it shares with that process.
    /// </summary>
    public virtual IDeviceBufferSource? BufferSource => null;

    /// <summary>
    /// Which commands the device decodes itself (SCST's parse type): <see cref="DeviceParseType.Standard"/> (the
    /// default) leaves every CDB to the core's table; with the others the core asks <see cref="ParseAsync"/> and hands
    /// the commands so decoded to <see cref="ExecuteAsync"/> with <see cref="ScsiCommand.IsDeviceParsed"/> set. Read on
    /// every command: set it in the constructor.
    /// </summary>
    public DeviceParseType ParseType { get; protected init; }

    /// <summary>Optional. The default QERR field of the control mode page (SCST's <c>qerr</c>): 0, 1 or 3. Defaults to 0.</summary>
    protected internal virtual int DefaultQueueErrorManagement => 0;

    /// <summary>Optional. The default TAS bit of the control mode page (SCST's <c>tas</c>). Defaults to false.</summary>
    protected internal virtual bool DefaultTaskAbortedStatus => false;

    /// <summary>
    /// Optional. The default QUEUE ALGORITHM MODIFIER of the control mode page (SCST's <c>queue_alg</c>): 0 (restricted
    /// reordering) or 1 (unrestricted, the default).
    /// </summary>
    protected internal virtual int DefaultQueueAlgorithmModifier => 1;

    /// <summary>Optional. The default SWP bit of the control mode page (SCST's <c>swp</c>). Defaults to false.</summary>
    protected internal virtual bool DefaultSoftwareWriteProtect => false;

    /// <summary>
    /// Optional. Called when an I_T nexus gains access to the device through <paramref name="mapping"/>: for each of its
    /// LUNs when a session opens, and for each open session of a LUN map when a LUN of the device is added to it (SCST's
    /// attach_tgt). Called on the thread that made the change; must not block. Defaults to nothing.
    /// </summary>
    /// <param name="session">The I_T nexus.</param>
    /// <param name="mapping">The LUN through which the nexus reaches the device.</param>
    protected internal virtual void OnNexusAttached(ScsiSession session, LunMapping mapping)
    {
    }

    /// <summary>
    /// Optional. Called when an I_T nexus loses access to the device through <paramref name="mapping"/>: the LUN was
    /// removed from its map, or the session closed (SCST's detach_tgt). Commands of the nexus may still be in flight.
    /// Defaults to nothing.
    /// </summary>
    /// <param name="session">The I_T nexus.</param>
    /// <param name="mapping">The LUN through which the nexus reached the device.</param>
    protected internal virtual void OnNexusDetached(ScsiSession session, LunMapping mapping)
    {
    }

    /// <summary>
    /// Optional. Called when a task management function that touches the device is received, before the core waits for
    /// the commands it aborts: the device should finish those quickly (SCST's task_mgmt_fn_received). Must not block;
    /// an exception is logged and ignored. Defaults to nothing.
    /// </summary>
    /// <param name="function">The function.</param>
    /// <param name="session">The I_T nexus that sent it.</param>
    /// <param name="command">For ABORT TASK, the command to abort; null otherwise.</param>
    protected internal virtual void OnTaskManagementReceived(TaskManagementFunction function, ScsiSession session, ScsiCommand? command)
    {
    }

    /// <summary>
    /// Optional. Called after the commands a task management function aborted are gone and before its response is sent
    /// (SCST's task_mgmt_fn_done). An exception is logged and ignored. Defaults to nothing.
    /// </summary>
    /// <param name="function">The function.</param>
    /// <param name="session">The I_T nexus that sent it.</param>
    /// <returns>A task that completes when the device is done with the function.</returns>
    protected internal virtual ValueTask OnTaskManagementDoneAsync(TaskManagementFunction function, ScsiSession session) => ValueTask.CompletedTask;

    /// <summary>
    /// Optional. Called when the asymmetric access state of the device on this node changes: the state of the target
    /// group of its device group that holds a local target port, set by an administrator or by SET TARGET PORT GROUPS
    /// (SCST's on_alua_state_change). Runs before initiators are told of the change, on the thread that set the state;
    /// the transitioning state is reported too. A handler that keeps its backing store open only while the device is
    /// active (SCST's <c>bind_alua_state</c>) opens or closes it here; an <see cref="InvalidOperationException"/> or
    /// <see cref="IOException"/> is logged and the state change stands. Defaults to nothing.
    /// </summary>
    /// <param name="state">The new state.</param>
    protected internal virtual void OnAluaStateChanged(Alua.AluaState state)
    {
    }

    /// <summary>The task set every nexus shares when <see cref="SingleTaskSet"/> is true.</summary>
    internal TaskSet SharedTaskSet
    {
        get
        {
            TaskSet? set = Volatile.Read(ref _sharedTaskSet);
            return set ?? Interlocked.CompareExchange(ref _sharedTaskSet, new TaskSet(this), null) ?? _sharedTaskSet;
        }
    }

    /// <summary>Counts a command into the device's task sets, unless <paramref name="max"/> are already there.</summary>
    internal bool TryAdmitCommand(int max)
    {
        if (Interlocked.Increment(ref _commandsInTaskSets) <= max)
        {
            return true;
        }

        Interlocked.Decrement(ref _commandsInTaskSets);
        return false;
    }

    /// <summary>The commands in the device's task sets now.</summary>
    internal long CommandsInTaskSets => Volatile.Read(ref _commandsInTaskSets);

    /// <summary>Counts a command out of the device's task sets.</summary>
    internal void ReleaseCommand() => Interlocked.Decrement(ref _commandsInTaskSets);

    /// <summary>
    /// Whether sense data is returned in descriptor format: the control mode page's current D_SENSE bit, which follows
    /// MODE SELECT. Setting it before the mode pages exist sets D_SENSE's default. Defaults to false.
    /// </summary>
    public bool DescriptorSense { get; set; }

    /// <summary>
    /// Clears the state that a logical unit reset clears (SAM-5 section 6.3.3), for every I_T nexus: the core calls it for
    /// LOGICAL UNIT RESET and target resets, after marking the LU's commands aborted. The base releases an SPC-2
    /// reservation.
    /// </summary>
    internal virtual void ResetLogicalUnitState() => Reservations.ResetSpc2();

    /// <summary>
    /// Releases what <paramref name="session"/> held on the device when its I_T nexus is lost or reset (SAM-5 section
    /// 6.3.4): the core calls it for I_T NEXUS RESET and when the session closes. The base releases the nexus's SPC-2
    /// reservation.
    /// </summary>
    internal virtual void OnNexusLoss(ScsiSession session) => Reservations.ReleaseSpc2(session);

    /// <summary>The device's SPC-2 and persistent reservations, shared by every I_T nexus.</summary>
    internal ReservationState Reservations { get; }

    /// <summary>
    /// The ALUA device group the device belongs to, or null: the one field the command path reads for a device in no
    /// device group. Kept by <see cref="Alua.DeviceGroup"/> and the core as membership changes.
    /// </summary>
    public Alua.DeviceGroup? DeviceGroup
    {
        get => Volatile.Read(ref _deviceGroup);
        internal set => Volatile.Write(ref _deviceGroup, value);
    }

    /// <summary>
    /// Whether the device accepts explicit ALUA (SCST's <c>expl_alua</c>): in a device group, INQUIRY reports TPGS 11b
    /// and SET TARGET PORT GROUPS is carried out; otherwise TPGS is 01b (implicit only) and SET TARGET PORT GROUPS is an
    /// unsupported command. A change establishes INQUIRY DATA HAS CHANGED for the sessions that reach the device through
    /// its device group. Defaults to false.
    /// </summary>
    public bool ExplicitAlua
    {
        get => Volatile.Read(ref _explicitAlua);
        set
        {
            if (Interlocked.Exchange(ref _explicitAlua, value) != value && DeviceGroup is { } group)
            {
                group.Engine.EstablishUnitAttention(this, SenseCode.InquiryDataChanged);
            }
        }
    }

    /// <summary>
    /// Establishes a unit attention condition for every I_T nexus that reaches the device through a LUN: for a change
    /// that the device itself makes and every initiator must learn of (a new medium: MEDIUM MAY HAVE CHANGED). Does
    /// nothing while the device is not registered with a core. Must not be called with a lock held that the command
    /// path takes.
    /// </summary>
    /// <param name="sense">The unit attention's sense code.</param>
    protected void EstablishUnitAttention(SenseCode sense) => Engine?.EstablishUnitAttention(this, sense);

    /// <summary>
    /// Enables saved mode pages and APTPL persistent reservation state in <paramref name="stateDirectory"/> and loads
    /// them (at registration).
    /// </summary>
    internal void LoadSavedState(string? stateDirectory, ILogger? logger = null)
    {
        ModePages.Load(stateDirectory);
        Reservations.Load(stateDirectory, logger);
    }

    /// <summary>
    /// Required. Executes a command that the core does not own. Called after the core decoded the CDB, checked the
    /// LBA range of block commands, refused writes to read-only units and received the write data.
    /// </summary>
    /// <remarks>
    /// Called on the thread that advanced the command (often the driver's receive loop): complete synchronously when the
    /// work is cheap, and return an incomplete <see cref="ValueTask{TResult}"/> rather than block when it is not. For a
    /// read, write the result into <see cref="ScsiCommand.Data"/> and, when it is shorter than the buffer, call
    /// <see cref="ScsiCommand.SetResponseLength"/>. The command and its buffer are owned by the core.
    /// </remarks>
    /// <param name="command">The command.</param>
    /// <returns>The outcome.</returns>
    public abstract ValueTask<CommandOutcome> ExecuteAsync(ScsiCommand command);

    /// <summary>
    /// Optional; called only when <see cref="ParseType"/> is not <see cref="DeviceParseType.Standard"/>. Decodes a
    /// command the core leaves to the device: with <see cref="DeviceParseType.Exception"/> one whose operation code the
    /// core does not support for this device, with <see cref="DeviceParseType.Call"/> every command the core does not
    /// own (and MODE SENSE and MODE SELECT for a device that is not a <see cref="BlockDevice"/>). Called after the LUN, unit attention and reservation checks, with the command already in its task set; the
    /// write data, when the initiator sends some, is received meanwhile into a buffer of the length the initiator
    /// announced. Defaults to <paramref name="proposal"/>.
    /// </summary>
    /// <remarks>
    /// The core then refuses a write to a write-protected unit (<see cref="CdbParseResult.WritesMedium"/>) and a transfer
    /// longer than the initiator announced for a write, or than the core's maximum, and executes the command through
    /// <see cref="ExecuteAsync"/>, which sees <see cref="ScsiCommand.IsDeviceParsed"/> and runs it from its CDB.
    /// </remarks>
    /// <param name="command">The command; <see cref="ScsiCommand.Cdb"/> is what the device decodes.</param>
    /// <param name="proposal">What the core would do: its own decoding when its table knows the command, else the
    /// refusal it would answer (INVALID COMMAND OPERATION CODE...).</param>
    /// <returns>The decoding.</returns>
    protected internal virtual ValueTask<CdbParseResult> ParseAsync(ScsiCommand command, CdbParseResult proposal) => new(proposal);

    /// <summary>Optional. Releases the backing store. Called once, when the device is removed or the core stops.</summary>
    /// <returns>A task that completes when the device is closed.</returns>
    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }
}
