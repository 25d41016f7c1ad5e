// Licensed under the Apache License, Version 2.0.

namespace Scst.RealPeer.Tests;

/// <summary>
/// The tests that boot a qemu guest run one after the other: each guest takes a core (TCG) and 1 GiB, and two at once
/// on a small build machine only make both slower.
/// </summary>
[CollectionDefinition(Name)]
public sealed class LinuxGuests
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Linux guests";
}
