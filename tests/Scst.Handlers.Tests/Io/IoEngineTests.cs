// Licensed under the Apache License, Version 2.0.

using System.Buffers;
using Microsoft.Win32.SafeHandles;
using Scst.Handlers.Interop;
using Scst.Handlers.Io;
using Scst.Testing;

namespace Scst.Handlers.Tests.Io;

/// <summary>
/// The I/O engines against real files: pread inline, pread on the thread pool, and io_uring (one ring per test class
/// instance). Files live under the temporary directory, on the machine's disk, so that O_DIRECT means something.
/// </summary>
public sealed class IoEngineTests : IDisposable
{
    private const int EBADF = 9;
    private const int ECANCELED = 125;

    private readonly TempDirectory _dir = new();
    private readonly UringIoEngine _uring;

    public IoEngineTests()
    {
        _uring = UringIoEngine.TryCreate(64, out int error) ?? throw new InvalidOperationException($"io_uring_setup failed: errno {error}");
    }

    public void Dispose()
    {
        _uring.Dispose();
        _dir.Dispose();
    }

    public static TheoryData<string> Engines => ["pread", "pread-async", "io_uring"];

    private IoEngine Engine(string name) => name switch
    {
        "pread" => PositionalIoEngine.Inline,
        "pread-async" => PositionalIoEngine.ThreadPool,
        _ => _uring,
    };

    private SafeFileHandle NewFile(string name, long length = 0, FileAccess access = FileAccess.ReadWrite)
    {
        string path = _dir.File(name);
        using (SafeFileHandle create = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite))
        {
            RandomAccess.SetLength(create, length);
        }

        return File.OpenHandle(path, FileMode.Open, access, FileShare.ReadWrite);
    }

    private static byte[] Pattern(int length, int seed)
    {
        byte[] data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task WriteThenRead_ManySizesAndOffsets_RoundTrips(string engine)
    {
        IoEngine io = Engine(engine);
        using SafeFileHandle file = NewFile("rt.img");
        int[] sizes = [1, 511, 512, 4096, 4097, 65_536, 131_072, 1 << 20];
        long[] offsets = [0, 1, 4095, (1 << 20) + 7, 3L << 30];
        int seed = 0;

        foreach (int size in sizes)
        {
            foreach (long offset in offsets)
            {
                byte[] data = Pattern(size, ++seed);
                byte[] back = new byte[size];

                int written = await io.WriteAsync(file, data, offset);
                int read = await io.ReadAsync(file, back, offset);

                written.Should().Be(size, $"{size} bytes written at {offset}");
                read.Should().Be(size, $"{size} bytes read at {offset}");
                back.AsSpan().SequenceEqual(data).Should().BeTrue($"{size} bytes at {offset} read back as written");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task DirectIo_AlignedBuffers_RoundTripAroundThePageCache(string engine)
    {
        IoEngine io = Engine(engine);
        string path = _dir.File("direct.img");
        using (NewFile("direct.img", 8 << 20))
        {
        }

        using SafeFileHandle direct = DirectFile.Open(path, readOnly: false, out int error) ?? throw new InvalidOperationException($"O_DIRECT open: errno {error}");
        using var outBuffer = new AlignedBuffer(128 << 10);
        using var inBuffer = new AlignedBuffer(128 << 10);
        Pattern(128 << 10, 7).CopyTo(outBuffer.GetSpan());

        foreach (int size in new[] { 512, 4096, 128 << 10 })
        {
            foreach (long offset in new long[] { 0, 4096, 5 << 20 })
            {
                inBuffer.GetSpan().Clear();

                (await io.WriteAsync(direct, outBuffer.Memory[..size], offset)).Should().Be(size);
                (await io.ReadAsync(direct, inBuffer.Memory[..size], offset)).Should().Be(size);

                inBuffer.GetSpan()[..size].SequenceEqual(outBuffer.GetSpan()[..size]).Should().BeTrue($"{size} bytes at {offset}");
            }
        }

        (await io.ReadAsync(direct, inBuffer.Memory[..100], 0)).Should().Be(-22, "O_DIRECT refuses an unaligned length with EINVAL, which callers take as 'go buffered'");
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task Read_PastTheEndOfTheFile_ReturnsWhatThereIs(string engine)
    {
        IoEngine io = Engine(engine);
        using SafeFileHandle file = NewFile("short.img");
        byte[] data = Pattern(1000, 3);
        await io.WriteAsync(file, data, 0);
        byte[] back = new byte[4096];
        back.AsSpan().Fill(0xEE);

        int straddling = await io.ReadAsync(file, back, 0);
        int beyond = await io.ReadAsync(file, back.AsMemory(2000, 100), 5000);

        straddling.Should().Be(1000);
        back.AsSpan(0, 1000).SequenceEqual(data).Should().BeTrue();
        back.AsSpan(1000).IndexOfAnyExcept((byte)0xEE).Should().Be(-1, "the engine leaves the part past the end untouched: the device zeroes it");
        beyond.Should().Be(0);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task WriteGather_SeveralBuffers_LandsAsOneRunInOrder(string engine)
    {
        IoEngine io = Engine(engine);
        using SafeFileHandle file = NewFile("gather.img");
        byte[][] parts = [Pattern(100, 1), Pattern(4096, 2), Pattern(1, 3), Pattern(200_000, 4), Pattern(0, 5), Pattern(513, 6)];
        List<ReadOnlyMemory<byte>> buffers = [.. parts.Select(p => new ReadOnlyMemory<byte>(p))];
        byte[] expected = [.. parts.SelectMany(p => p)];
        byte[] back = new byte[expected.Length];

        int written = await io.WriteGatherAsync(file, buffers, 12_345);
        int read = await io.ReadAsync(file, back, 12_345);

        written.Should().Be(expected.Length);
        read.Should().Be(expected.Length);
        back.AsSpan().SequenceEqual(expected).Should().BeTrue();
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task WriteGather_ManySmallBuffers_IsOneOperation(string engine)
    {
        IoEngine io = Engine(engine);
        using SafeFileHandle file = NewFile("many.img");
        byte[][] parts = [.. Enumerable.Range(0, 300).Select(i => Pattern(512 + i, i))];
        byte[] expected = [.. parts.SelectMany(p => p)];
        byte[] back = new byte[expected.Length];

        int written = await io.WriteGatherAsync(file, [.. parts.Select(p => new ReadOnlyMemory<byte>(p))], 0);
        await io.ReadAsync(file, back, 0);

        written.Should().Be(expected.Length);
        back.AsSpan().SequenceEqual(expected).Should().BeTrue();
    }

    [Fact]
    public async Task Uring_ReadSubmittedByAThreadThatExits_StillCompletes()
    {
        // The kernel cancels what a thread submitted when the thread exits (-ECANCELED); the engine hands it in again.
        // A read of an empty pipe stays in the kernel until the pipe is written, long after its thread is gone.
        using var pipe = new System.IO.Pipes.AnonymousPipeServerStream(System.IO.Pipes.PipeDirection.Out);
        using var reader = new SafeFileHandle(pipe.ClientSafePipeHandle.DangerousGetHandle(), ownsHandle: false);
        byte[] buffer = new byte[4];
        Task<int>? read = null;
        var submitter = new Thread(() => read = _uring.ReadAsync(reader, buffer, 0).AsTask());
        submitter.Start();
        submitter.Join();
        await Task.Delay(200, TestContext.Current.CancellationToken); // the kernel's cancellation, if any, has happened
        read!.IsCompleted.Should().BeFalse("the pipe is empty: the read waits, it was not cancelled");

        pipe.Write([1, 2, 3, 4]);
        pipe.Flush();

        (await read.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken)).Should().Be(4);
        buffer.Should().Equal(1, 2, 3, 4);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task EmptyBuffers_TransferNothing_AndSucceed(string engine)
    {
        IoEngine io = Engine(engine);
        using SafeFileHandle file = NewFile("empty.img", 4096);

        (await io.ReadAsync(file, Memory<byte>.Empty, 0)).Should().Be(0);
        (await io.WriteAsync(file, ReadOnlyMemory<byte>.Empty, 0)).Should().Be(0);
        (await io.WriteGatherAsync(file, [ReadOnlyMemory<byte>.Empty], 0)).Should().Be(0);
        RandomAccess.GetLength(file).Should().Be(4096);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task Flush_OfAWrittenFile_Succeeds(string engine)
    {
        IoEngine io = Engine(engine);
        using SafeFileHandle file = NewFile("flush.img");
        await io.WriteAsync(file, Pattern(8192, 9), 0);

        int result = await io.FlushAsync(file);

        result.Should().Be(0);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task Write_ToAReadOnlyDescriptor_ReturnsMinusEbadf(string engine)
    {
        IoEngine io = Engine(engine);
        using (NewFile("ro.img", 4096))
        {
        }

        using SafeFileHandle readOnly = File.OpenHandle(_dir.File("ro.img"), FileMode.Open, FileAccess.Read);

        int write = await io.WriteAsync(readOnly, new byte[512], 0);
        int gather = await io.WriteGatherAsync(readOnly, [new byte[512], new byte[512]], 0);

        write.Should().Be(-EBADF);
        gather.Should().Be(-EBADF);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task Operations_OnAClosedHandle_ReturnMinusEbadf(string engine)
    {
        IoEngine io = Engine(engine);
        SafeFileHandle file = NewFile("closed.img", 4096);
        file.Dispose();

        (await io.ReadAsync(file, new byte[512], 0)).Should().Be(-EBADF);
        (await io.WriteAsync(file, new byte[512], 0)).Should().Be(-EBADF);
        (await io.WriteGatherAsync(file, [new byte[512]], 0)).Should().Be(-EBADF);
        (await io.FlushAsync(file)).Should().Be(-EBADF);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task ThousandConcurrentOperations_AllComplete_WithTheirOwnData(string engine)
    {
        IoEngine io = Engine(engine);
        using SafeFileHandle file = NewFile("many-ops.img");
        const int Count = 1000;
        const int Size = 4096;
        byte[][] data = [.. Enumerable.Range(0, Count).Select(i => Pattern(Size, 1000 + i))];
        byte[][] back = [.. Enumerable.Range(0, Count).Select(_ => new byte[Size])];

        int[] written = await Task.WhenAll(Enumerable.Range(0, Count).Select(i => Task.Run(async () => await io.WriteAsync(file, data[i], (long)i * Size))));
        int[] read = await Task.WhenAll(Enumerable.Range(0, Count).Select(i => Task.Run(async () => await io.ReadAsync(file, back[i], (long)i * Size))));

        written.Should().OnlyContain(n => n == Size);
        read.Should().OnlyContain(n => n == Size);
        Enumerable.Range(0, Count).Where(i => !back[i].AsSpan().SequenceEqual(data[i])).Should().BeEmpty("every operation reads what its own write wrote");
    }

    [Fact]
    public async Task Uring_DataSyncWrite_IsOneOperationThatLandsTheData()
    {
        // RWF_DSYNC rides on the write: the kernel takes the flag (an unknown one would fail with -EOPNOTSUPP) and one
        // operation completes where a write and an fdatasync would be two.
        using SafeFileHandle file = NewFile("dsync.img");
        byte[] data = Pattern(8192, 12);
        long before = _uring.Completed;

        int written = await _uring.WriteAsync(file, data, 4096, dataSync: true);

        written.Should().Be(data.Length);
        _uring.Completed.Should().Be(before + 1);
        byte[] back = new byte[data.Length];
        (await _uring.ReadAsync(file, back, 4096)).Should().Be(data.Length);
        back.Should().Equal(data);
    }

    [Fact]
    public async Task Uring_MoreOperationsThanTheRingHolds_WaitForRoomAndAllComplete()
    {
        // 64 submission entries, 128 completions: 2000 operations at once must queue behind the ring, not fail.
        using SafeFileHandle file = NewFile("deep.img", 2000 * 512);

        int[] results = await Task.WhenAll(Enumerable.Range(0, 2000).Select(i => _uring.ReadAsync(file, new byte[512], i * 512L).AsTask()));

        results.Should().OnlyContain(n => n == 512);
        _uring.InFlight.Should().Be(0);
    }

    [Fact]
    public async Task Uring_DisposeWithOperationsInFlight_CompletesThemAndRefusesNewOnes()
    {
        string path = _dir.File("inflight.img");
        using (NewFile("inflight.img", 64 << 20))
        {
        }

        using SafeFileHandle direct = DirectFile.Open(path, readOnly: false, out int error) ?? throw new InvalidOperationException($"errno {error}");
        UringIoEngine engine = UringIoEngine.TryCreate(32, out error) ?? throw new InvalidOperationException($"errno {error}");
        AlignedBuffer[] buffers = [.. Enumerable.Range(0, 200).Select(_ => new AlignedBuffer(64 << 10))];
        try
        {
            Task<int>[] pending = [.. Enumerable.Range(0, 200).Select(i => i % 2 == 0
                ? engine.WriteAsync(direct, buffers[i].Memory, i * (64L << 10)).AsTask()
                : engine.ReadAsync(direct, buffers[i].Memory, i * (64L << 10)).AsTask())];

            engine.Dispose();
            int after = await engine.ReadAsync(direct, buffers[0].Memory, 0);
            Task<int[]> all = Task.WhenAll(pending);
            Task finished = await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken));

            finished.Should().BeSameAs(all, "every operation submitted before the dispose completes, none hangs");
            int[] results = await all;
            results.Should().OnlyContain(n => n == (64 << 10) || n == -ECANCELED);
            results.Count(n => n == 64 << 10).Should().BeGreaterThan(0, "those already in the kernel finish their I/O");
            after.Should().Be(-ECANCELED);
            engine.InFlight.Should().Be(0);
        }
        finally
        {
            foreach (AlignedBuffer b in buffers)
            {
                ((IDisposable)b).Dispose();
            }
        }
    }

    [Fact]
    public async Task Uring_DisposeFromACompletionContinuation_DoesNotHang()
    {
        using SafeFileHandle file = NewFile("self.img", 4096);
        UringIoEngine engine = UringIoEngine.TryCreate(8, out int error) ?? throw new InvalidOperationException($"errno {error}");

        Task<int> disposedInside = Task.Run(async () =>
        {
            int n = await engine.ReadAsync(file, new byte[512], 0).ConfigureAwait(false);
            engine.Dispose(); // on the completion thread: must return at once
            return n;
        });
        Task finished = await Task.WhenAny(disposedInside, Task.Delay(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken));

        finished.Should().BeSameAs(disposedInside);
        (await disposedInside).Should().Be(512);
        (await engine.ReadAsync(file, new byte[512], 0)).Should().Be(-ECANCELED);
    }

    [Fact]
    public void SharedUring_WhenTheKernelRefusesTheRing_SaysWhy()
    {
        // io_uring_setup refuses 0 entries with EINVAL: the same path as ENOSYS or EPERM on a machine without io_uring.
        var shared = new SharedUring(0);

        UringIoEngine? engine = shared.TryAcquire(out string? failure);

        engine.Should().BeNull();
        failure.Should().Contain("io_uring_setup failed").And.Contain("errno 22").And.Contain("kernel.io_uring_disabled");
    }

    [Fact]
    public async Task SharedUring_IsMadeOnce_AndDisposedWithItsLastUser()
    {
        var shared = new SharedUring(16);
        using SafeFileHandle file = NewFile("shared.img", 4096);

        UringIoEngine first = shared.TryAcquire(out string? failure)!;
        UringIoEngine second = shared.TryAcquire(out _)!;
        shared.Release(first);
        int whileOneUserLeft = await second.ReadAsync(file, new byte[512], 0);
        shared.Release(second);
        int afterLast = await first.ReadAsync(file, new byte[512], 0);
        UringIoEngine third = shared.TryAcquire(out _)!;
        int fresh = await third.ReadAsync(file, new byte[512], 0);
        shared.Release(third);

        failure.Should().BeNull();
        second.Should().BeSameAs(first);
        whileOneUserLeft.Should().Be(512);
        afterLast.Should().Be(-ECANCELED, "the last release disposes the ring");
        third.Should().NotBeSameAs(first, "a later device gets a new ring");
        fresh.Should().Be(512);
    }
}
