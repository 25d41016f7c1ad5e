// Licensed under the Apache License, Version 2.0.

using Scst.Testing;

namespace Scst.Integration.Tests;

/// <summary>
/// The packages stand alone: every library is packed into a local folder, and a fresh project outside the repository
/// references them only by PackageReference from that folder, builds, and runs: it composes a target with AddScst(),
/// serves a vdisk_nullio LUN over the Local transport, and reads it.
/// </summary>
public sealed class PackagesConsumerTests : IDisposable
{
    private const string Program = """
        using System.Buffers.Binary;
        using System.Text;
        using Microsoft.Extensions.DependencyInjection;
        using Microsoft.Extensions.Hosting;
        using Scst.Core;
        using Scst.Transport.Local;

        HostApplicationBuilder builder = Host.CreateApplicationBuilder(args);
        builder.Services.AddScst()
            .AddVdiskHandlers()
            .AddLocalTransport()
            .AddDevice("vdisk_nullio", "null0", new Dictionary<string, string> { ["size"] = "64M" })
            .AddTarget(LocalTargetDriver.DriverName, "consumer", t => t.AddLun(0, "null0"));
        using IHost host = builder.Build();
        await host.StartAsync();
        using LocalSession session = host.Services.GetRequiredService<LocalTargetDriver>().OpenSession("consumer", "iqn.2026-11.org.example:consumer");

        byte[] inquiry = new byte[96];
        LocalResult i = await session.ExecuteAsync(0, [0x12, 0, 0, 0, 96, 0], DataDirection.Read, inquiry);
        await session.ExecuteAsync(0, [0x00, 0, 0, 0, 0, 0], DataDirection.None, Memory<byte>.Empty); // takes the new nexus's unit attention
        byte[] capacity = new byte[8];
        LocalResult c = await session.ExecuteAsync(0, [0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], DataDirection.Read, capacity);
        byte[] data = new byte[4096];
        LocalResult r = await session.ExecuteAsync(0, [0x28, 0, 0, 0, 0, 8, 0, 0, 8, 0], DataDirection.Read, data);
        Console.WriteLine($"inquiry {i.Status} {Encoding.ASCII.GetString(inquiry, 8, 8).Trim()}; capacity {c.Status} {BinaryPrimitives.ReadUInt32BigEndian(capacity) + 1} blocks; read {r.Status} {r.TransferredLength} bytes");
        await host.StopAsync();
        return i.Status == ScsiStatus.Good && c.Status == ScsiStatus.Good && r.Status == ScsiStatus.Good ? 0 : 1;
        """;

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task AFreshProject_RestoresThePackagesFromAFolder_AndServesALun()
    {
        string feed = Directory.CreateDirectory(_dir.File("feed")).FullName;
        string consumer = Directory.CreateDirectory(_dir.File("consumer")).FullName;
        string global = Path.Combine(Environment.GetEnvironmentVariable("HOME") ?? "/root", ".nuget", "packages");

        (int packed, string packOutput) = await DotnetAsync(RepositoryRoot(), "pack", "Scst.sln", "-c", SamplePrograms.Configuration, "--no-build", "-o", feed);
        packed.Should().Be(0, packOutput);
        Directory.GetFiles(feed, "*.nupkg").Select(Path.GetFileName).Should().BeEquivalentTo(
            ["Scst.Core.0.1.0.nupkg", "Scst.Events.0.1.0.nupkg", "Scst.Handlers.0.1.0.nupkg", "Scst.Transport.Iscsi.0.1.0.nupkg",
             "Scst.Transport.Fcoe.0.1.0.nupkg", "Scst.Transport.Local.0.1.0.nupkg", "Scst.UserDevice.0.1.0.nupkg"]);
        Directory.GetFiles(feed, "*.snupkg").Should().HaveCount(7, "every package has its symbols");

        // Restored into a folder of its own, so that no package of an earlier run is taken from the machine's cache;
        // the third-party packages come from the machine's cache when it has them (a fallback folder).
        await File.WriteAllTextAsync(Path.Combine(consumer, "NuGet.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config><add key="globalPackagesFolder" value="{_dir.File("packages")}" /></config>
              <packageSources><add key="scst-local" value="{feed}" /></packageSources>
              <fallbackPackageFolders>{(Directory.Exists(global) ? $"<add key=\"machine\" value=\"{global}\" />" : string.Empty)}</fallbackPackageFolders>
            </configuration>
            """, TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Path.Combine(consumer, "Consumer.csproj"), """
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Scst.Handlers" Version="0.1.0" />
                <PackageReference Include="Scst.Transport.Local" Version="0.1.0" />
                <PackageReference Include="Microsoft.Extensions.Hosting" Version="10.0.15" />
              </ItemGroup>
            </Project>
            """, TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Path.Combine(consumer, "Program.cs"), Program, TestContext.Current.CancellationToken);

        (int ran, string output) = await DotnetAsync(consumer, "run", "-c", "Release");

        ran.Should().Be(0, output);
        output.Should().Contain("inquiry Good SCST_FIO; capacity Good 131072 blocks; read Good 4096 bytes");
        Directory.Exists(_dir.File("packages/scst.core/0.1.0")).Should().BeTrue("Scst.Core came from the packed folder");
    }

    private static string RepositoryRoot()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Scst.sln")))
            {
                return d.FullName;
            }
        }

        throw new TestAssertionException("Scst.sln is not above the test assembly.");
    }

    private static Task<(int ExitCode, string Output)> DotnetAsync(string directory, params string[] arguments) =>
        ChildProcesses.RunAsync(
            SamplePrograms.Dotnet, directory, new Dictionary<string, string> { ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1", ["DOTNET_NOLOGO"] = "1" },
            TimeSpan.FromMinutes(5), arguments);
}
