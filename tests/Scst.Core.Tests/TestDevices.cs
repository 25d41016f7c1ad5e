// Licensed under the Apache License, Version 2.0.

using Scst.Core;

namespace Scst.Core.Tests;

internal sealed class StubDevice(string name, bool readOnly = false) : ScsiDevice(name, "test_stub", PeripheralDeviceType.DirectAccess)
{
    public override bool ReadOnly => readOnly;

    public override ValueTask<CommandOutcome> ExecuteAsync(ScsiCommand command) => new(CommandOutcome.Good);
}

/// <summary>A block device of any peripheral type with nothing behind it: for the rules that look at the type alone.</summary>
internal sealed class TypedBlockDevice(string name, PeripheralDeviceType type) : BlockDevice(name, "test_block", type)
{
    public override long BlockCount => 1024;

    protected override ValueTask<CommandOutcome> ReadAsync(long offset, Memory<byte> destination) => new(CommandOutcome.Good);

    protected override ValueTask<CommandOutcome> WriteAsync(long offset, ReadOnlyMemory<byte> source, bool forceUnitAccess) => new(CommandOutcome.Good);

    protected override ValueTask<CommandOutcome> FlushAsync() => new(CommandOutcome.Good);
}
