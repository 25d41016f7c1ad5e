// Licensed under the Apache License, Version 2.0.

using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Scst.Samples.Stpgd;

// scst-stpgd: the explicit ALUA agent, in the manner of SCST's stpgd. When an initiator sends SET TARGET PORT GROUPS,
// the target publishes event 5 (STPG user invoke) and waits for a status; this agent changes the state of each target
// group the event names (through a helper program, or itself through the management endpoint) and reports the status.
// It runs in the foreground and logs to stderr; a service manager daemonizes it. SIGTERM or SIGINT stops it.
// See README.md for the helper contract.
if (!StpgdOptions.TryParse(args, out StpgdOptions options, out string error))
{
    Console.Error.WriteLine($"scst-stpgd: {error}; see --help.");
    return 2;
}

if (options.Help)
{
    Console.WriteLine(StpgdOptions.Usage);
    return 0;
}

using (ILoggerFactory loggers = LoggerFactory.Create(logging => logging
    .SetMinimumLevel(options.Verbose ? LogLevel.Debug : LogLevel.Information)
    .AddSimpleConsole(console =>
    {
        console.SingleLine = true;
        console.TimestampFormat = "HH:mm:ss.fff ";
        console.ColorBehavior = LoggerColorBehavior.Disabled;
    })
    .AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace)))
{
    IAluaStateChanger changer = options.Helper is { } helper
        ? new HelperStateChanger(helper, options.ManagementSocket, options.Timeout, loggers.CreateLogger<HelperStateChanger>())
        : new ManagementStateChanger(options.ManagementSocket!, options.Timeout, loggers.CreateLogger<ManagementStateChanger>());
    var agent = new StpgAgent(options.EventsSocket, changer, loggers.CreateLogger<StpgAgent>());

    using var stop = new CancellationTokenSource();
    void Stop(PosixSignalContext context)
    {
        context.Cancel = true;
        stop.Cancel();
    }

    using PosixSignalRegistration term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
    using PosixSignalRegistration interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
    await agent.RunAsync(stop.Token);
}

return 0;
