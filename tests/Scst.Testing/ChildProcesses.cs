// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;

namespace Scst.Testing;

/// <summary>Ends the processes a test started (a target, a device process, qemu), whatever state they are in.</summary>
public static class ChildProcesses
{
    /// <summary>Kills each process that still runs, with its children, waits up to 5 s for it, disposes it, and clears the list.</summary>
    public static void KillAll(List<Process> processes)
    {
        ArgumentNullException.ThrowIfNull(processes);
        foreach (Process p in processes)
        {
            try
            {
                if (!p.HasExited)
                {
                    p.Kill(entireProcessTree: true);
                    p.WaitForExit(5000);
                }
            }
            catch (InvalidOperationException)
            {
                // Never started, or already reaped.
            }

            p.Dispose();
        }

        processes.Clear();
    }
}
