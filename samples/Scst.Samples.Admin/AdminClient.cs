// Licensed under the Apache License, Version 2.0.

using System.CommandLine;
using System.Globalization;
using System.Net.Sockets;
using Scst.Core.Management;

namespace Scst.Samples.Admin;

/// <summary>
/// The management client as the commands use it: each request either succeeds or ends the command with an
/// <see cref="AdminException"/> that carries the exit code and says what failed and why. <see cref="RunAsync"/> connects,
/// runs one command and turns what went wrong into the exit code and the stderr line.
/// </summary>
internal sealed class AdminClient(ManagementClient client)
{
    private const string Program = "scst-admin";

    /// <summary>
    /// Connects to the endpoint named by <c>--socket</c> and runs <paramref name="action"/>. A refused request exits 1, a
    /// bad name 2, an endpoint that cannot be reached (or that drops the connection) 3, a configuration file that cannot
    /// be read 4.
    /// </summary>
    public static async Task<int> RunAsync(ParseResult parse, Func<AdminClient, CancellationToken, Task> action, CancellationToken cancellationToken)
    {
        string socket = parse.GetRequiredValue(AdminOptions.Socket);
        try
        {
            ManagementClient client;
            try
            {
                client = await ManagementClient.ConnectAsync(socket, cancellationToken);
            }
            catch (SocketException ex)
            {
                throw new AdminException(ExitCodes.Unreachable, $"cannot reach the management endpoint at {socket}: {WhyUnreachable(socket, ex)}");
            }

            await using (client)
            {
                try
                {
                    await action(new AdminClient(client), cancellationToken);
                }
                catch (Exception ex) when (ex is IOException or SocketException or InvalidDataException)
                {
                    throw new AdminException(ExitCodes.Unreachable, $"the management endpoint at {socket} failed: {ex.Message}");
                }
            }

            return ExitCodes.Success;
        }
        catch (AdminException ex)
        {
            return Fail(ex.ExitCode, ex.Message);
        }
        catch (ArgumentException ex)
        {
            // ManagementClient's own checks: a name or path with white space, a value over several lines.
            return Fail(ExitCodes.BadUsage, ex.Message);
        }
    }

    // The socket's error, in the words of the usual causes (a missing file reads "Cannot assign requested address").
    private static string WhyUnreachable(string socket, SocketException ex) => ex.SocketErrorCode switch
    {
        _ when !File.Exists(socket) => "no such socket (is the target running, with its management endpoint there?)",
        SocketError.ConnectionRefused => "nothing listens there (is the target running?)",
        SocketError.AccessDenied => "permission denied (only the target's user and root may manage it)",
        _ => ex.Message,
    };

    /// <summary>Prints <c>scst-admin: MESSAGE</c> to stderr and returns <paramref name="exitCode"/>.</summary>
    public static int Fail(int exitCode, string message)
    {
        Console.Error.WriteLine($"{Program}: {message.TrimEnd()}");
        return exitCode;
    }

    /// <summary>The raw result of a read, for callers that handle a failure themselves.</summary>
    public Task<ManagementResult> TryReadAsync(string path, CancellationToken cancellationToken) =>
        client.ReadAsync(path, cancellationToken);

    /// <summary>Reads a file of the tree as it is (with its <c>[key]</c> line).</summary>
    public async Task<string> ReadAsync(string path, string what, CancellationToken cancellationToken) =>
        Checked(await client.ReadAsync(path, cancellationToken), what).Message;

    /// <summary>Reads an attribute's value: its first line, without the <c>[key]</c> mark.</summary>
    public async Task<string> ReadValueAsync(string path, string what, CancellationToken cancellationToken) =>
        ValueOf(await ReadAsync(path, what, cancellationToken));

    /// <summary>Lists a directory of the tree: its entries, directories with a trailing '/'.</summary>
    public async Task<IReadOnlyList<string>> ListAsync(string path, string what, CancellationToken cancellationToken)
    {
        string text = Checked(await client.ListAsync(path, cancellationToken), what).Message;
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>The subdirectories of a directory of the tree, without the trailing '/'.</summary>
    public async Task<IReadOnlyList<string>> DirectoriesAsync(string path, string what, CancellationToken cancellationToken) =>
        [.. (await ListAsync(path, what, cancellationToken)).Where(e => e.EndsWith('/')).Select(e => e[..^1])];

    /// <summary>Writes a command to a mgmt file, or a value to an attribute.</summary>
    public async Task WriteAsync(string path, string text, string what, CancellationToken cancellationToken) =>
        Checked(await client.WriteAsync(path, text, cancellationToken), what);

    /// <summary>The underlying client, for the configuration requests.</summary>
    public ManagementClient Client => client;

    /// <summary>An attribute's value from the text read: the first line, without the <c>[key]</c> mark.</summary>
    public static string ValueOf(string text)
    {
        int end = text.IndexOf('\n', StringComparison.Ordinal);
        return end < 0 ? text : text[..end];
    }

    /// <summary>Ends the command (exit 1) when the target refused the request.</summary>
    public static ManagementResult Checked(ManagementResult result, string what) =>
        result.Succeeded ? result : throw new AdminException(ExitCodes.Refused, $"{what}: {Describe(result)}");

    /// <summary>The target's message with the errno's name: <c>device d1 already exists (EEXIST)</c>.</summary>
    public static string Describe(ManagementResult result)
    {
        int errno = -result.Status;
        string name = errno switch
        {
            1 => "EPERM",
            2 => "ENOENT",
            5 => "EIO",
            11 => "EAGAIN",
            12 => "ENOMEM",
            13 => "EACCES",
            16 => "EBUSY",
            17 => "EEXIST",
            19 => "ENODEV",
            20 => "ENOTDIR",
            21 => "EISDIR",
            22 => "EINVAL",
            28 => "ENOSPC",
            38 => "ENOSYS",
            95 => "EOPNOTSUPP",
            _ => "errno " + errno.ToString(CultureInfo.InvariantCulture),
        };
        string message = result.Message.TrimEnd();
        return message.Length == 0 ? name : $"{message} ({name})";
    }
}
