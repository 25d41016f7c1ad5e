// Licensed under the Apache License, Version 2.0.

using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Scst.Core;
using Scst.Core.Diagnostics;
using Scst.Testing;
using Scst.Transport.Local;

namespace Scst.Integration.Tests;

/// <summary>The core's metrics under a known load, read with a MeterListener the way dotnet-counters and OpenTelemetry read them.</summary>
public sealed class MetricsTests
{
    private const string Initiator = "iqn.2026-11.org.scst-dotnet:metrics";

    [Fact]
    public async Task AKnownLoad_IsWhatTheInstrumentsReport()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync(size: "64M");
        using var recorder = new Recorder(stack.Engine.Metrics.Meter);
        LocalSession session = stack.OpenSession(initiator: Initiator);
        uint blocks = 64 * 1024 * 1024 / 512;

        for (int i = 0; i < 100; i++)
        {
            SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.Read10((uint)(i * 8), 8), DataDirection.Read, new byte[4096]));
        }

        for (int i = 0; i < 50; i++)
        {
            SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.Write10((uint)(i * 16), 16), DataDirection.Write, new byte[8192]));
        }

        SenseAssert.IsCheckCondition(await session.ExecuteAsync(0, CdbBuilder.Read10(blocks, 1), DataDirection.Read, new byte[512]), SenseCode.LbaOutOfRange);
        (await session.AbortTaskAsync(0xDEAD)).Should().Be(TaskManagementResponse.TaskDoesNotExist);
        session.Session.EstablishUnitAttention(0, SenseCode.CapacityDataChanged).Should().BeTrue();
        SenseAssert.IsCheckCondition(await session.ExecuteAsync(0, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty), SenseCode.CapacityDataChanged);
        recorder.Observe();

        recorder.Last(ScstMetrics.Commands, (ScstMetrics.InitiatorTag, Initiator), (ScstMetrics.DirectionTag, "read")).Should().Be(101);
        recorder.Last(ScstMetrics.Commands, (ScstMetrics.InitiatorTag, Initiator), (ScstMetrics.DirectionTag, "write")).Should().Be(50);
        recorder.Last(ScstMetrics.Commands, (ScstMetrics.InitiatorTag, Initiator), (ScstMetrics.DirectionTag, "none")).Should().Be(1);
        recorder.Last(ScstMetrics.IoBytes, (ScstMetrics.InitiatorTag, Initiator), (ScstMetrics.DirectionTag, "read")).Should().Be(100 * 4096);
        recorder.Last(ScstMetrics.IoBytes, (ScstMetrics.InitiatorTag, Initiator), (ScstMetrics.DirectionTag, "write")).Should().Be(50 * 8192);
        recorder.Last(ScstMetrics.Sessions, (ScstMetrics.TargetTag, ScstStack.TargetName)).Should().Be(1);
        recorder.Last(ScstMetrics.CommandsInFlight, (ScstMetrics.DeviceTag, "null0")).Should().Be(0, "nothing is in flight once every command answered");

        recorder.Count(ScstMetrics.CommandDuration, (ScstMetrics.LunTag, 0), (ScstMetrics.OperationTag, "read")).Should().Be(101, "one duration per command, per LUN");
        recorder.Count(ScstMetrics.CommandDuration, (ScstMetrics.LunTag, 0), (ScstMetrics.OperationTag, "write")).Should().Be(50);
        recorder.Doubles(ScstMetrics.CommandDuration).Should().OnlyContain(d => d > 0 && d < 10);
        recorder.Sum(ScstMetrics.CommandErrors, (ScstMetrics.SenseKeyTag, "illegal_request")).Should().Be(1);
        recorder.Sum(ScstMetrics.CommandErrors, (ScstMetrics.SenseKeyTag, "unit_attention")).Should().Be(1);
        recorder.Sum(ScstMetrics.TaskManagementFunctions, (ScstMetrics.FunctionTag, "abort_task")).Should().Be(1);
        recorder.Sum(ScstMetrics.UnitAttentions, (ScstMetrics.ConditionTag, "2A/09")).Should().Be(1);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task AbortedCommands_AreCounted()
    {
        var device = new PendingBlockDevice("pend0");
        ScstStack stack = await ScstStack.StartWithDeviceAsync(device, null);
        await using (stack)
        {
            using var recorder = new Recorder(stack.Engine.Metrics.Meter);
            LocalSession session = stack.OpenSession(initiator: Initiator);
            ValueTask<LocalResult> read = session.ExecuteAsync(0, CdbBuilder.Read10(0, 1), DataDirection.Read, new byte[512]);

            ValueTask<TaskManagementResponse> reset = session.ResetLogicalUnitAsync(0);
            device.CompleteNextRead(); // the reset completes once the device let go of the command
            (await reset).Should().Be(TaskManagementResponse.FunctionComplete);
            (await read).Aborted.Should().BeTrue();

            recorder.Sum(ScstMetrics.CommandsAborted, (ScstMetrics.TargetTag, ScstStack.TargetName)).Should().Be(1);
            recorder.Sum(ScstMetrics.TaskManagementFunctions, (ScstMetrics.FunctionTag, "logical_unit_reset")).Should().Be(1);
        }
    }

    [Fact]
    public async Task RecordingTheDuration_AllocatesNothingPerCommand()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        long recorded = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter == stack.Engine.Metrics.Meter)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, _, _, _) => Interlocked.Increment(ref recorded));
        listener.Start();
        LocalSession session = stack.OpenSession();
        byte[] cdb = CdbBuilder.Read10(8, 8);
        var data = new byte[4096];
        for (int i = 0; i < 1000; i++)
        {
            ReadInline(session, cdb, data);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
        {
            ReadInline(session, cdb, data);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Interlocked.Read(ref recorded).Should().Be(11_000, "every command's duration was recorded");
        allocated.Should().BeLessThan(1024, "recording a command's duration and tags allocates nothing");
    }

    private static void ReadInline(LocalSession session, byte[] cdb, byte[] data)
    {
        ValueTask<LocalResult> pending = session.ExecuteAsync(0, cdb, DataDirection.Read, data);
        if (!pending.IsCompletedSuccessfully || pending.Result.Status != ScsiStatus.Good)
        {
            throw new TestAssertionException("A nullio read completes at once, with GOOD.");
        }
    }

    /// <summary>Every measurement of one engine's meter, with its tags.</summary>
    private sealed class Recorder : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentQueue<(string Name, double Value, Dictionary<string, object?> Tags)> _measurements = new();

        public Recorder(Meter meter)
        {
            _listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter == meter)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Add(i, v, tags));
            _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Add(i, v, tags));
            _listener.Start();
        }

        public void Observe() => _listener.RecordObservableInstruments();

        public long Last(string name, params (string Key, object Value)[] tags) =>
            (long)Matching(name, tags).Select(static m => m.Value).DefaultIfEmpty(-1).Last();

        public long Sum(string name, params (string Key, object Value)[] tags) => (long)Matching(name, tags).Sum(static m => m.Value);

        public int Count(string name, params (string Key, object Value)[] tags) => Matching(name, tags).Count();

        public IEnumerable<double> Doubles(string name) => _measurements.Where(m => m.Name == name).Select(static m => m.Value);

        public void Dispose() => _listener.Dispose();

        private IEnumerable<(string Name, double Value, Dictionary<string, object?> Tags)> Matching(string name, (string Key, object Value)[] tags) =>
            _measurements.Where(m => m.Name == name && tags.All(t => m.Tags.TryGetValue(t.Key, out object? v) && Equals(v, t.Value)));

        private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var copy = new Dictionary<string, object?>();
            foreach (KeyValuePair<string, object?> t in tags)
            {
                copy[t.Key] = t.Value;
            }

            _measurements.Enqueue((instrument.Name, value, copy));
        }
    }
}
