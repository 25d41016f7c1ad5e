// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Scst.Samples.UserFileIo;
using Scst.UserDevice.Client;

// A device process in the manner of SCST's fileio_tgt: serves PATH as the disk NAME of the target whose user-device
// socket is given.
//
//   Scst.Samples.UserFileIo [options] NAME PATH
//   --socket PATH        the target's user-device socket (default /run/scst/user.sock)
//   -b, --block N        block size, 512 (default), 1024, 2048 or 4096
//   -e, --threads N      primitives in progress at once (default 7). With --direct they run on the thread pool; through
//                        the page cache they run on the receive thread (a cache hit costs less than a thread hop)
//   -t, --write-through  every write is stable before it is acknowledged (O_DSYNC, WCE=0)
//   -r, --read-only      write-protected disk
//   -o, --direct         O_DIRECT
//   -n, --nullio         no I/O at all (reads return whatever the buffer holds)
//   -c, --nv-cache       SYNCHRONIZE CACHE and FUA do nothing
//   -p, --thin           thin provisioned: UNMAP punches holes in the file, GET LBA STATUS reports them
//   --size SIZE          create or extend the file to SIZE (K/M/G/T suffixes)
//   --region-mb N        shared region to ask for, in MiB (default: the target's)
// SIGUSR1 re-reads the file size and reports the new capacity. The process exits (status 3) when the target goes away.
string socket = "/run/scst/user.sock";
int blockSize = 512, threads = 7;
bool writeThrough = false, readOnly = false, direct = false, nullio = false, nvCache = false, thin = false;
long? size = null;
long regionMb = 0;
var positional = new List<string>();
for (int i = 0; i < args.Length; i++)
{
    string a = args[i];
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{a} needs a value.");
    switch (a)
    {
        case "--socket": socket = Next(); break;
        case "-b" or "--block": blockSize = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "-e" or "--threads": threads = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "-t" or "--write-through": writeThrough = true; break;
        case "-r" or "--read-only": readOnly = true; break;
        case "-o" or "--direct": direct = true; break;
        case "-n" or "--nullio": nullio = true; break;
        case "-c" or "--nv-cache": nvCache = true; break;
        case "-p" or "--thin": thin = true; break;
        case "--size": size = ParseSize(Next()); break;
        case "--region-mb": regionMb = long.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "-h" or "--help":
            Console.WriteLine("Usage: Scst.Samples.UserFileIo [--socket PATH] [-b N] [-e N] [-t] [-r] [-o] [-n] [-c] [-p] [--size SIZE] [--region-mb N] NAME PATH");
            return 0;
        default:
            if (a.StartsWith('-'))
            {
                Console.Error.WriteLine($"Unknown option {a}.");
                return 2;
            }

            positional.Add(a);
            break;
    }
}

if (positional.Count != 2 || blockSize is not (512 or 1024 or 2048 or 4096) || threads < 1)
{
    Console.Error.WriteLine("Usage: Scst.Samples.UserFileIo [options] NAME PATH (block size 512..4096, threads >= 1); --help lists the options.");
    return 2;
}

string name = positional[0], path = positional[1];
SafeFileHandle? file = null;
if (!nullio)
{
    FileOptions options = (writeThrough ? FileOptions.WriteThrough : FileOptions.None) | (direct ? (FileOptions)0x4000 : FileOptions.None);
    try
    {
        if (size is { } s)
        {
            // --size creates or extends the file through a handle of its own, so that it works for a write-protected
            // disk too (ftruncate on the read-only handle that serves it fails with EINVAL).
            using SafeFileHandle sizing = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite);
            if (RandomAccess.GetLength(sizing) < s)
            {
                RandomAccess.SetLength(sizing, s);
            }
        }

        file = File.OpenHandle(path, FileMode.Open, readOnly ? FileAccess.Read : FileAccess.ReadWrite, FileShare.ReadWrite, options);
    }
    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
    {
        Console.Error.WriteLine($"Cannot open {path}: {ex.Message}");
        return 1;
    }
}

long Blocks() => (file is null ? size ?? (1L << 30) : RandomAccess.GetLength(file)) / blockSize;

var descriptor = new UserDeviceDescriptor
{
    Name = name,
    BlockSize = blockSize,
    BlockCount = Blocks(),
    RegionSize = regionMb << 20,
    ReadOnly = readOnly,
    WriteThrough = writeThrough,
    NvCache = nvCache,
    ThinProvisioned = thin,
    Product = "UserFileIo",
};
if (descriptor.BlockCount <= 0)
{
    Console.Error.WriteLine($"{path} is smaller than one block; give --size.");
    return 1;
}

using var stop = new CancellationTokenSource();
var connection = new UserDeviceConnection { MaxConcurrency = threads };
using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
using PosixSignalRegistration sigusr1 = PosixSignalRegistration.Create((PosixSignal)10, c =>
{
    c.Cancel = true;
    long blocks = Blocks();
    connection.NotifyCapacityChanged(blocks);
    Console.WriteLine($"{name}: capacity now {blocks} blocks of {blockSize} bytes.");
});

Task run;
try
{
    run = connection.RunAsync(socket, descriptor, new FileDevice(file, asynchronous: direct && threads > 1, nvCache, blockSize), stop.Token);
    await connection.Registered;
}
catch (UserDeviceRegistrationException ex)
{
    Console.Error.WriteLine($"{name}: registration refused: {ex.Reason}");
    return ex.NameTaken ? 4 : 1;
}
catch (Exception ex) when (ex is System.Net.Sockets.SocketException or IOException)
{
    Console.Error.WriteLine($"{name}: cannot reach the target at {socket}: {ex.Message}");
    return 3;
}

Console.WriteLine($"{name}: registered {path}{(nullio ? " (nullio)" : string.Empty)}, {descriptor.BlockCount} blocks of {blockSize} bytes, {threads} thread(s){(thin ? ", thin" : string.Empty)}, region {connection.RegionSize >> 20} MiB.");
try
{
    await run;
}
catch (Exception ex) when (ex is IOException or InvalidDataException or System.Net.Sockets.SocketException)
{
    Console.Error.WriteLine($"{name}: connection failed: {ex.Message}");
    return 3;
}
finally
{
    file?.Dispose();
}

if (stop.IsCancellationRequested)
{
    Console.WriteLine($"{name}: unregistered.");
    return 0;
}

Console.Error.WriteLine($"{name}: the target closed the connection; exiting.");
return 3;

static long ParseSize(string text)
{
    long unit = char.ToUpperInvariant(text[^1]) switch { 'K' => 1L << 10, 'M' => 1L << 20, 'G' => 1L << 30, 'T' => 1L << 40, _ => 1 };
    return long.Parse(unit == 1 ? text : text[..^1], CultureInfo.InvariantCulture) * unit;
}
