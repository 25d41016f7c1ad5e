// Licensed under the Apache License, Version 2.0.

using BenchmarkDotNet.Attributes;
using Scst.Transport.Iscsi.Protocol;

namespace Scst.Benchmarks.Iscsi;

/// <summary>
/// CRC32C over one data segment, as a data digest costs it: <see cref="Crc32C.Compute"/> (three interleaved
/// <c>crc32</c> chains from 4080 bytes up) against <see cref="Crc32C.AppendSerial"/> (one chain). GB/s = bytes /
/// mean time; the benchmarks README has the figures of this machine kind.
/// </summary>
public class Crc32CBenchmarks
{
    private byte[] _data = [];

    [Params(4096, 65536)]
    public int Bytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _data = new byte[Bytes];
        new Random(42).NextBytes(_data);
    }

    [Benchmark(Baseline = true)]
    public uint Serial() => Crc32C.Finish(Crc32C.AppendSerial(Crc32C.InitialState, _data));

    [Benchmark]
    public uint Interleaved() => Crc32C.Compute(_data);
}
