// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using System.Diagnostics;
using Scst.Events;

namespace Scst.Core.Alua;

/// <summary>
/// SET TARGET PORT GROUPS (SPC-4 section 6.44), explicit asymmetric access: the core checks the parameter list, hands
/// the state changes to an agent through the <see cref="ScstEventCode.StpgUserInvoke"/> event (SCST's stpgd and its
/// helper) and answers when the agent has completed it and every target port group is in its requested state.
/// </summary>
/// <remarks>
/// <para>
/// The parameter list is four reserved bytes followed by four-byte descriptors:
/// <code>
///  byte 0       ASYMMETRIC ACCESS STATE (bits 3-0)
///  bytes 2-3    TARGET PORT GROUP
/// </code>
/// A descriptor asks for active/optimized, active/non-optimized, standby, unavailable or offline (anything else is
/// INVALID FIELD IN PARAMETER LIST), names a target port group of the device's device group (group 0 and unknown ids are
/// INVALID FIELD IN PARAMETER LIST, as is a group named twice), and a group in the transitioning state cannot be asked
/// (NOT READY, ASYMMETRIC ACCESS STATE TRANSITION). At most 64 descriptors, as SCST.
/// </para>
/// <para>
/// Groups already in their requested state need nothing; when no group changes, the command succeeds without an event.
/// Otherwise the event carries one descriptor per changing group, with SCST's state names, and the command waits for
/// its completion (<see cref="ScstOptions.StpgTimeout"/>, 60 s by default). A non-zero status, no agent, a full queue,
/// a timeout, or a group the agent left in another state fail the command with HARDWARE ERROR, SET TARGET PORT GROUPS
/// COMMAND FAILED. Changes the agent makes meanwhile are reported by REPORT TARGET PORT GROUPS with status code 01h and
/// raise ASYMMETRIC ACCESS STATE CHANGED for every I_T nexus but the one that sent the command. Commands of one
/// device group run one at a time; an aborted command stops waiting.
/// </para>
/// </remarks>
internal static class SetTargetPortGroups
{
    private const int HeaderLength = 4;
    private const int DescriptorLength = 4;
    private const int MaxDescriptors = 64;

    // While waiting for the agent, how often an abort of the command is looked for.
    private static readonly TimeSpan AbortPoll = TimeSpan.FromMilliseconds(100);

    public static async ValueTask<CommandOutcome> ExecuteAsync(ScsiCommand command, ScstEngine engine)
    {
        // The command is supported only for a device with explicit ALUA in a device group (CdbTable.IsSupported).
        if (command.Device is not { DeviceGroup: { } deviceGroup } device)
        {
            return CommandOutcome.CheckCondition(SenseCode.InvalidOpcode);
        }

        CommandOutcome checkedList = Decode(command.Data.Span, deviceGroup, out List<(TargetGroup Group, AluaState State)> requests);
        if (!checkedList.IsGood)
        {
            return checkedList;
        }

        await deviceGroup.StpgGate.WaitAsync().ConfigureAwait(false);
        try
        {
            List<StpgDescriptor> changes = [];
            foreach ((TargetGroup group, AluaState state) in requests)
            {
                AluaState current = group.State;
                if (current == AluaState.Transitioning)
                {
                    return CommandOutcome.CheckCondition(SenseCode.AsymmetricAccessStateTransition);
                }

                if (current != state)
                {
                    changes.Add(new StpgDescriptor(
                        (ushort)group.GroupId, TargetGroup.StateName(current), TargetGroup.StateName(state), deviceGroup.Name, group.Name));
                }
            }

            if (changes.Count == 0)
            {
                return CommandOutcome.Good;
            }

            if (command.IsAborted)
            {
                return CommandOutcome.CheckCondition(SenseCode.CommandAborted);
            }

            deviceGroup.StpgIssuer = command.Session;
            try
            {
                long started = Stopwatch.GetTimestamp();
                int status = await WaitForAgentAsync(command, engine, new StpgUserInvokeEvent(command.Tag, device.Name, changes)).ConfigureAwait(false);
                TimeSpan elapsed = Stopwatch.GetElapsedTime(started);
                if (command.IsAborted)
                {
                    return CommandOutcome.CheckCondition(SenseCode.CommandAborted);
                }

                List<string> missed = [.. requests.Where(r => r.Group.State != r.State).Select(r => r.Group.Name)];
                if (status != 0 || missed.Count > 0)
                {
                    Log.StpgFailed(engine.Logger, device.Name, deviceGroup.Name, status, string.Join(' ', missed), (long)elapsed.TotalMilliseconds);
                    return CommandOutcome.CheckCondition(SenseCode.SetTargetPortGroupsFailed);
                }

                Log.StpgCompleted(engine.Logger, device.Name, deviceGroup.Name, changes.Count, (long)elapsed.TotalMilliseconds);
                return CommandOutcome.Good;
            }
            finally
            {
                deviceGroup.StpgIssuer = null;
            }
        }
        finally
        {
            deviceGroup.StpgGate.Release();
        }
    }

    /// <summary>Checks the parameter list and finds the target port group of each descriptor.</summary>
    internal static CommandOutcome Decode(ReadOnlySpan<byte> list, DeviceGroup deviceGroup, out List<(TargetGroup Group, AluaState State)> requests)
    {
        requests = [];
        if (list.Length == 0)
        {
            return CommandOutcome.Good;
        }

        if (list.Length < HeaderLength || (list.Length - HeaderLength) % DescriptorLength != 0 ||
            (list.Length - HeaderLength) / DescriptorLength > MaxDescriptors)
        {
            return CommandOutcome.CheckCondition(SenseCode.ParameterListLengthError);
        }

        IReadOnlyList<TargetGroup> groups = deviceGroup.TargetGroups;
        for (int at = HeaderLength; at < list.Length; at += DescriptorLength)
        {
            var state = (AluaState)(list[at] & 0x0F);
            if ((list[at] & 0xF0) != 0 || list[at + 1] != 0)
            {
                return CommandOutcome.InvalidFieldInParameterList((list[at] & 0xF0) != 0 ? at : at + 1);
            }

            if (state is not (AluaState.ActiveOptimized or AluaState.ActiveNonOptimized or AluaState.Standby or AluaState.Unavailable or AluaState.Offline))
            {
                return CommandOutcome.InvalidFieldInParameterList(at, 3);
            }

            int id = BinaryPrimitives.ReadUInt16BigEndian(list[(at + 2)..]);
            TargetGroup? group = id == 0 ? null : groups.FirstOrDefault(g => g.GroupId == id);
            if (group is null || requests.Exists(r => r.Group == group))
            {
                return CommandOutcome.InvalidFieldInParameterList(at + 2);
            }

            requests.Add((group, state));
        }

        return CommandOutcome.Good;
    }

    // Publishes the event (the bus gives it its own completion id) and waits for its status; an abort of the command
    // abandons the wait.
    private static async Task<int> WaitForAgentAsync(ScsiCommand command, ScstEngine engine, StpgUserInvokeEvent stpg)
    {
        using var abandon = new CancellationTokenSource();
        Task<int> wait = engine.Events.PublishAndWaitAsync(ScstEvents.StpgUserInvoke(stpg, id: 1), engine.Options.StpgTimeout, abandon.Token);
        while (!wait.IsCompleted)
        {
            await Task.WhenAny(wait, Task.Delay(AbortPoll)).ConfigureAwait(false);
            if (!wait.IsCompleted && command.IsAborted)
            {
                await abandon.CancelAsync().ConfigureAwait(false);
            }
        }

        try
        {
            return await wait.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return ScstEventStatus.TimedOut;
        }
    }
}
