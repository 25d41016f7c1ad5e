// Licensed under the Apache License, Version 2.0.

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Scst.Core.Diagnostics;

/// <summary>
/// The names of the core's metrics (System.Diagnostics.Metrics), for <c>dotnet-counters monitor --counters Scst.Core</c>
/// or OpenTelemetry's <c>AddMeter(ScstMetrics.MeterName)</c>. Tag values are bounded by the configuration: target
/// names, initiator names of open sessions, LUN numbers, device names, and small fixed sets.
/// </summary>
public static class ScstMetrics
{
    /// <summary>The meter of the core.</summary>
    public const string MeterName = "Scst.Core";

    /// <summary>Commands completed, per target, initiator (session) and direction (read, write, none): the session statistics.</summary>
    public const string Commands = "scst.commands";

    /// <summary>Bytes moved by commands, per target, initiator and direction (read: to the initiator, write: from it).</summary>
    public const string IoBytes = "scst.io.bytes";

    /// <summary>Commands in the task sets of a device (entered, not yet answered), per device.</summary>
    public const string CommandsInFlight = "scst.commands.in_flight";

    /// <summary>Sessions (I_T nexuses) open, per target.</summary>
    public const string Sessions = "scst.sessions";

    /// <summary>
    /// The time from submission to response of each command, in seconds, per target, LUN and operation class (read,
    /// write, other). Its count is the commands per LUN. Recorded only while something listens.
    /// </summary>
    public const string CommandDuration = "scst.command.duration";

    /// <summary>Commands answered with CHECK CONDITION, per target and sense key.</summary>
    public const string CommandErrors = "scst.command.errors";

    /// <summary>Commands aborted by a task management function or the loss of their nexus, per target.</summary>
    public const string CommandsAborted = "scst.commands.aborted";

    /// <summary>Task management functions received, per target and function.</summary>
    public const string TaskManagementFunctions = "scst.task_management";

    /// <summary>Unit attention conditions established, per target and condition (ASC/ASCQ, e.g. <c>2A/09</c>).</summary>
    public const string UnitAttentions = "scst.unit_attentions";

    /// <summary>The tag of the target's name.</summary>
    public const string TargetTag = "scst.target";

    /// <summary>The tag of the initiator's name.</summary>
    public const string InitiatorTag = "scst.initiator";

    /// <summary>The tag of the LUN number.</summary>
    public const string LunTag = "scst.lun";

    /// <summary>The tag of the device's name.</summary>
    public const string DeviceTag = "scst.device";

    /// <summary>The tag of a data direction: read, write, none.</summary>
    public const string DirectionTag = "scst.direction";

    /// <summary>The tag of an operation class: read, write, other.</summary>
    public const string OperationTag = "scst.operation";

    /// <summary>The tag of a sense key, in lower case with underscores (illegal_request, unit_attention...).</summary>
    public const string SenseKeyTag = "scst.sense_key";

    /// <summary>The tag of a task management function (abort_task, logical_unit_reset...).</summary>
    public const string FunctionTag = "scst.function";

    /// <summary>The tag of a unit attention condition, ASC/ASCQ in hexadecimal.</summary>
    public const string ConditionTag = "scst.condition";
}

/// <summary>
/// The core's instruments. What the core counts anyway (session statistics, commands in task sets, sessions) is
/// observed when a listener asks, so the command path pays nothing for it; the duration of a command is recorded only
/// while the histogram is enabled; the rest counts rare events. No tag value is allocated per command: names are the
/// objects' own strings, LUN numbers boxed once per LUN mapping, the small sets cached.
/// </summary>
internal sealed class CoreMetrics : IDisposable
{
    private static readonly string[] s_senseKeys = BuildNames<SenseKey>(16);
    private static readonly string[] s_functions = BuildNames<TaskManagementFunction>(32);
    private static readonly object s_read = "read";
    private static readonly object s_write = "write";
    private static readonly object s_none = "none";
    private static readonly object s_other = "other";

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _errors;
    private readonly Counter<long> _aborted;
    private readonly Counter<long> _taskManagement;
    private readonly Counter<long> _unitAttentions;
    private readonly ConcurrentDictionary<int, string> _conditions = new();

    public CoreMetrics(ScstEngine engine, IMeterFactory? factory)
    {
        _meter = factory?.Create(ScstMetrics.MeterName) ?? new Meter(ScstMetrics.MeterName);
        _ownsMeter = factory is null;
        _meter.CreateObservableCounter(ScstMetrics.Commands, () => ObserveSessions(engine, bytes: false), "{command}", "Commands completed");
        _meter.CreateObservableCounter(ScstMetrics.IoBytes, () => ObserveSessions(engine, bytes: true), "By", "Bytes moved by commands");
        _meter.CreateObservableUpDownCounter(ScstMetrics.CommandsInFlight, () => ObserveDevices(engine), "{command}", "Commands in a device's task sets");
        _meter.CreateObservableUpDownCounter(ScstMetrics.Sessions, () => ObserveTargets(engine), "{session}", "Sessions open");
        _duration = _meter.CreateHistogram<double>(
            ScstMetrics.CommandDuration,
            "s",
            "From submission to response",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
        _errors = _meter.CreateCounter<long>(ScstMetrics.CommandErrors, "{command}", "Commands answered with CHECK CONDITION");
        _aborted = _meter.CreateCounter<long>(ScstMetrics.CommandsAborted, "{command}", "Commands aborted");
        _taskManagement = _meter.CreateCounter<long>(ScstMetrics.TaskManagementFunctions, "{function}", "Task management functions received");
        _unitAttentions = _meter.CreateCounter<long>(ScstMetrics.UnitAttentions, "{condition}", "Unit attention conditions established");
    }

    /// <summary>The meter that holds the instruments (one per engine).</summary>
    public Meter Meter => _meter;

    /// <summary>Whether command durations are recorded (a listener enabled the histogram).</summary>
    public bool TimesCommands => _duration.Enabled;

    public void CommandCompleted(ScsiCommand command, long started)
    {
        if (command.Mapping is not { } mapping)
        {
            return;
        }

        object operation = command.Direction switch
        {
            DataDirection.Read => s_read,
            DataDirection.Write => s_write,
            _ => s_other,
        };
        _duration.Record(
            Stopwatch.GetElapsedTime(started).TotalSeconds,
            new KeyValuePair<string, object?>(ScstMetrics.TargetTag, command.Session.Target.Name),
            new KeyValuePair<string, object?>(ScstMetrics.LunTag, mapping.LunTag),
            new KeyValuePair<string, object?>(ScstMetrics.OperationTag, operation));
    }

    public void CheckCondition(ScsiCommand command, SenseKey key)
    {
        if (_errors.Enabled)
        {
            _errors.Add(
                1,
                new KeyValuePair<string, object?>(ScstMetrics.TargetTag, command.Session.Target.Name),
                new KeyValuePair<string, object?>(ScstMetrics.SenseKeyTag, s_senseKeys[(int)key & 0xF]));
        }
    }

    public void Aborted(ScsiSession session) =>
        _aborted.Add(1, new KeyValuePair<string, object?>(ScstMetrics.TargetTag, session.Target.Name));

    public void TaskManagement(ScsiSession session, TaskManagementFunction function) =>
        _taskManagement.Add(
            1,
            new KeyValuePair<string, object?>(ScstMetrics.TargetTag, session.Target.Name),
            new KeyValuePair<string, object?>(ScstMetrics.FunctionTag, (int)function < s_functions.Length ? s_functions[(int)function] : function.ToString()));

    public void UnitAttention(ScsiSession session, SenseCode sense)
    {
        if (_unitAttentions.Enabled)
        {
            string condition = _conditions.GetOrAdd((sense.Asc << 8) | sense.Ascq, static code => $"{code >> 8:X2}/{code & 0xFF:X2}");
            _unitAttentions.Add(
                1,
                new KeyValuePair<string, object?>(ScstMetrics.TargetTag, session.Target.Name),
                new KeyValuePair<string, object?>(ScstMetrics.ConditionTag, condition));
        }
    }

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }

    private static IEnumerable<Measurement<long>> ObserveSessions(ScstEngine engine, bool bytes)
    {
        foreach (ScsiTarget target in engine.Targets)
        {
            foreach (ScsiSession session in target.Sessions)
            {
                SessionStatistics s = session.Statistics;
                var targetTag = new KeyValuePair<string, object?>(ScstMetrics.TargetTag, target.Name);
                var initiatorTag = new KeyValuePair<string, object?>(ScstMetrics.InitiatorTag, session.InitiatorName);
                yield return new(bytes ? s.ReadBytes : s.ReadCommands, targetTag, initiatorTag, new(ScstMetrics.DirectionTag, s_read));
                yield return new(bytes ? s.WriteBytes : s.WriteCommands, targetTag, initiatorTag, new(ScstMetrics.DirectionTag, s_write));
                if (!bytes)
                {
                    yield return new(s.OtherCommands, targetTag, initiatorTag, new(ScstMetrics.DirectionTag, s_none));
                }
            }
        }
    }

    private static IEnumerable<Measurement<long>> ObserveDevices(ScstEngine engine)
    {
        foreach (ScsiDevice device in engine.Devices)
        {
            yield return new(device.CommandsInTaskSets, new KeyValuePair<string, object?>(ScstMetrics.DeviceTag, device.Name));
        }
    }

    private static IEnumerable<Measurement<long>> ObserveTargets(ScstEngine engine)
    {
        foreach (ScsiTarget target in engine.Targets)
        {
            yield return new(target.Sessions.Count, new KeyValuePair<string, object?>(ScstMetrics.TargetTag, target.Name));
        }
    }

    // "IllegalRequest" -> "illegal_request", indexed by the enum's value.
    private static string[] BuildNames<TEnum>(int size)
        where TEnum : struct, Enum
    {
        var names = new string[size];
        for (int i = 0; i < size; i++)
        {
            names[i] = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        foreach (TEnum value in Enum.GetValues<TEnum>())
        {
            int i = Convert.ToInt32(value, System.Globalization.CultureInfo.InvariantCulture);
            if (i >= 0 && i < size)
            {
                names[i] = Snake(value.ToString());
            }
        }

        return names;
    }

    private static string Snake(string name)
    {
        var b = new System.Text.StringBuilder(name.Length + 4);
        for (int i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0)
            {
                b.Append('_');
            }

            b.Append(char.ToLowerInvariant(name[i]));
        }

        return b.ToString();
    }
}
