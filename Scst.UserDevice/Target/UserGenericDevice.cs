// Licensed under the Apache License, Version 2.0.

using Scst.Core;
using Scst.UserDevice.Protocol;

namespace Scst.UserDevice.Target;

/// <summary>
/// The target-side face of a device of a type other than disk (tape, processor, media changer...) served by a device
/// process. The core answers what every device type shares (INQUIRY, REPORT LUNS, REQUEST SENSE, TEST UNIT READY,
/// reservations, task management); every other command is decoded by the device process (PARSE, with the parse type it
/// registered, CALL or EXCEPTION) and executed there from its CDB (EXECUTE_CDB), its data in the shared region.
/// </summary>
internal sealed class UserGenericDevice : ScsiDevice
{
    private readonly RegisterRequest _description;
    private readonly DeviceChannel _channel;

    public UserGenericDevice(RegisterRequest description, DeviceIdentity identity, SharedRegion region, DeviceChannel channel)
        : base(description.Name, UserBlockDevice.Handler, (PeripheralDeviceType)description.DeviceType, identity)
    {
        _description = description;
        _channel = channel;
        Region = region;
        DescriptorSense = description.DSense != 0;
        ParseType = (DeviceParseType)description.ParseType;
    }

    /// <summary>The shared memory with the device process.</summary>
    public SharedRegion Region { get; }

    /// <inheritdoc />
    public override int BlockSize => (int)_description.BlockSize;

    /// <inheritdoc />
    public override bool ReadOnly => Has(RegisterFlags.ReadOnly);

    /// <inheritdoc />
    public override bool Removable => Has(RegisterFlags.Removable);

    /// <inheritdoc />
    public override bool SingleTaskSet => _description.Tst == 0;

    /// <inheritdoc />
    public override IDeviceBufferSource? BufferSource => Region;

    /// <inheritdoc />
    protected override int DefaultQueueErrorManagement => _description.Qerr;

    /// <inheritdoc />
    protected override bool DefaultTaskAbortedStatus => _description.Tas != 0;

    /// <inheritdoc />
    protected override int DefaultQueueAlgorithmModifier => _description.QueueAlgorithm;

    /// <inheritdoc />
    protected override bool DefaultSoftwareWriteProtect => _description.Swp != 0;

    /// <inheritdoc />
    /// <remarks>Only commands the device decoded reach it: the core has no other command for this device type.</remarks>
    public override ValueTask<CommandOutcome> ExecuteAsync(ScsiCommand command) =>
        command.IsDeviceParsed ? _channel.ExecuteCdbAsync(command) : new(CommandOutcome.CheckCondition(SenseCode.InvalidOpcode));

    /// <inheritdoc />
    protected override ValueTask<CdbParseResult> ParseAsync(ScsiCommand command, CdbParseResult proposal) => _channel.ParseAsync(command, proposal);

    /// <inheritdoc />
    protected override void OnNexusAttached(ScsiSession session, LunMapping mapping) => _channel.AttachSession(session, mapping);

    /// <inheritdoc />
    protected override void OnNexusDetached(ScsiSession session, LunMapping mapping) => _channel.DetachSession(session, mapping);

    /// <inheritdoc />
    protected override void OnTaskManagementReceived(TaskManagementFunction function, ScsiSession session, ScsiCommand? command) =>
        _channel.TaskManagementReceived(function, session, command);

    /// <inheritdoc />
    protected override ValueTask OnTaskManagementDoneAsync(TaskManagementFunction function, ScsiSession session) =>
        _channel.TaskManagementDoneAsync(function, session);

    /// <inheritdoc />
    public override ValueTask DisposeAsync()
    {
        Region.Close();
        return base.DisposeAsync();
    }

    private bool Has(RegisterFlags flag) => (_description.Flags & flag) != 0;
}
