// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Scst.Core.Management;

/// <summary>
/// A client of the management endpoint (<see cref="ManagementEndpoint"/>): reads and writes the management tree and
/// checks, applies and saves configurations of a running target over its Unix socket. One request at a time.
/// </summary>
/// <example>
/// <code>
/// await using ManagementClient client = await ManagementClient.ConnectAsync("/run/scst/mgmt.sock");
/// ManagementResult result = await client.WriteAsync("targets/iscsi/iqn.2026-11.example:t1/luns/mgmt", "add disk1 0");
/// if (!result.Succeeded) Console.Error.WriteLine(result.Message);
/// </code>
/// </example>
public sealed class ManagementClient : IAsyncDisposable
{
    private const int MaxAnswer = 64 << 20;
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly FramedStream _reader;
    private readonly SemaphoreSlim _one = new(1, 1);

    private ManagementClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
        _reader = new FramedStream(_stream);
    }

    /// <summary>Connects to an endpoint.</summary>
    /// <param name="socketPath">The endpoint's socket path.</param>
    /// <param name="cancellationToken">Cancels the connect.</param>
    /// <returns>The client.</returns>
    /// <exception cref="SocketException">Nothing listens there, or the endpoint refused this user.</exception>
    public static async Task<ManagementClient> ConnectAsync(string socketPath, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(socketPath);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken).ConfigureAwait(false);
            return new ManagementClient(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Reads a file of the tree: an attribute's value (with a last line <c>[key]</c> for a key attribute) or a mgmt file's help.</summary>
    /// <param name="path">The path relative to the root (<c>targets/iscsi/T/enabled</c>).</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The result; its message is the text read.</returns>
    public Task<ManagementResult> ReadAsync(string path, CancellationToken cancellationToken = default) =>
        RequestAsync($"read {Checked(path)}", null, cancellationToken);

    /// <summary>Lists a directory of the tree: one entry per line, directories with a trailing '/'.</summary>
    /// <param name="path">The path relative to the root; empty for the root.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The result; its message is the listing.</returns>
    public Task<ManagementResult> ListAsync(string path, CancellationToken cancellationToken = default) =>
        RequestAsync(string.IsNullOrEmpty(path) ? "list" : $"list {Checked(path)}", null, cancellationToken);

    /// <summary>Writes a file of the tree: a command to a mgmt file, or a value to an attribute.</summary>
    /// <param name="path">The path relative to the root.</param>
    /// <param name="text">The command or value, on one line.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The result.</returns>
    public Task<ManagementResult> WriteAsync(string path, string text, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Contains('\n', StringComparison.Ordinal) || text.Length == 0)
        {
            throw new ArgumentException("The text must be one line, not empty.", nameof(text));
        }

        return RequestAsync($"write {Checked(path)} {text}", null, cancellationToken);
    }

    /// <summary>Checks scst.conf text against the running state without applying it.</summary>
    /// <param name="configuration">The configuration text.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The result; its message lists the changes an apply would make, or the errors.</returns>
    public Task<ManagementResult> CheckConfigurationAsync(string configuration, CancellationToken cancellationToken = default) =>
        ConfigurationRequestAsync("config check", configuration, cancellationToken);

    /// <summary>Applies scst.conf text as a difference against the running state.</summary>
    /// <param name="configuration">The configuration text.</param>
    /// <param name="force">Also remove what the text does not list (targets, devices, device groups) and replace what is in use.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The result; its message lists the changes made, or the errors (nothing is applied from a text with an error).</returns>
    public Task<ManagementResult> ApplyConfigurationAsync(string configuration, bool force = false, CancellationToken cancellationToken = default) =>
        ConfigurationRequestAsync(force ? "config apply force" : "config apply", configuration, cancellationToken);

    /// <summary>The running state as scst.conf text.</summary>
    /// <param name="includeNonKey">Also write the attributes that have their default values.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The result; its message is the configuration text.</returns>
    public Task<ManagementResult> SaveConfigurationAsync(bool includeNonKey = false, CancellationToken cancellationToken = default) =>
        RequestAsync(includeNonKey ? "config save nonkey" : "config save", null, cancellationToken);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync().ConfigureAwait(false);
        _socket.Dispose();
        _one.Dispose();
    }

    private Task<ManagementResult> ConfigurationRequestAsync(string request, string configuration, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        byte[] payload = Encoding.UTF8.GetBytes(configuration);
        return RequestAsync(string.Create(CultureInfo.InvariantCulture, $"{request} {payload.Length}"), payload, cancellationToken);
    }

    private async Task<ManagementResult> RequestAsync(string line, byte[]? payload, CancellationToken cancellationToken)
    {
        await _one.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _stream.WriteAsync(Encoding.UTF8.GetBytes(line + "\n"), cancellationToken).ConfigureAwait(false);
            if (payload is not null)
            {
                await _stream.WriteAsync(payload, cancellationToken).ConfigureAwait(false);
            }

            string head = await _reader.ReadLineAsync(64, cancellationToken).ConfigureAwait(false)
                ?? throw new IOException("The management endpoint closed the connection.");
            string[] parts = head.Split(' ');
            if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int status) ||
                !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int length) || length > MaxAnswer)
            {
                throw new InvalidDataException($"The management endpoint answered '{head}', not 'STATUS LENGTH'.");
            }

            byte[] text = await _reader.ReadBytesAsync(length, cancellationToken).ConfigureAwait(false);
            return new ManagementResult(status, Encoding.UTF8.GetString(text));
        }
        finally
        {
            _one.Release();
        }
    }

    private static string Checked(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (path.AsSpan().IndexOfAny(" \n\r\t") >= 0)
        {
            throw new ArgumentException($"A path holds no white space ('{path}').", nameof(path));
        }

        return path;
    }
}
