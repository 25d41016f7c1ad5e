// Licensed under the Apache License, Version 2.0.

using BenchmarkDotNet.Attributes;
using Scst.Core.Cdb;

namespace Scst.Benchmarks.Core;

/// <summary><see cref="CdbTable.TryDecode"/> of the two commonest data-path CDBs.</summary>
public class CdbDecodeBenchmarks
{
    private const int BlockSize = 512;

    // READ(10): LBA 0x00123456, 8 blocks (4 KiB).
    private readonly byte[] _read10 = [0x28, 0x00, 0x00, 0x12, 0x34, 0x56, 0x00, 0x00, 0x08, 0x00];

    // WRITE(16): LBA 0x0000000123456789, 256 blocks (128 KiB), FUA.
    private readonly byte[] _write16 =
        [0x8A, 0x08, 0x00, 0x00, 0x00, 0x01, 0x23, 0x45, 0x67, 0x89, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00];

    [Benchmark]
    public ulong DecodeRead10()
    {
        CdbDecodeResult result = CdbTable.TryDecode(_read10, BlockSize, out DecodedCdb decoded);
        return result == CdbDecodeResult.Ok ? decoded.Lba + (ulong)decoded.DataLength : 0;
    }

    [Benchmark]
    public ulong DecodeWrite16()
    {
        CdbDecodeResult result = CdbTable.TryDecode(_write16, BlockSize, out DecodedCdb decoded);
        return result == CdbDecodeResult.Ok ? decoded.Lba + (ulong)decoded.DataLength : 0;
    }
}
