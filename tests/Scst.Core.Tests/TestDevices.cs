// Licensed under the Apache License, Version 2.0.

using Scst.Core;

namespace Scst.Core.Tests;

internal sealed class StubDevice(string name, bool readOnly = false) : ScsiDevice(name, "test_stub", PeripheralDeviceType.DirectAccess)
{
    public override bool ReadOnly => readOnly;

    public override ValueTask<CommandOutcome> ExecuteAsync(ScsiCommand command) => new(CommandOutcome.Good);
}
