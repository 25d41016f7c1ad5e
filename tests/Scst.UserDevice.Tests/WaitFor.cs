// Licensed under the Apache License, Version 2.0.

using Scst.Testing;

namespace Scst.UserDevice.Tests;

/// <summary>Waits for a condition another thread brings about; fails after a generous bound (not a timing assertion).</summary>
internal static class WaitFor
{
    public static async Task ConditionAsync(Func<bool> condition, string what)
    {
        DateTime give = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > give)
            {
                throw new TestAssertionException($"Gave up waiting for {what}.");
            }

            await Task.Delay(10, TestContext.Current.CancellationToken);
        }
    }
}
