// Licensed under the Apache License, Version 2.0.

using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Scst.Integration.Tests.Fixtures;
using Scst.Testing.Iscsi;
using Scst.Transport.Iscsi;

namespace Scst.Integration.Tests.Iscsi;

/// <summary>
/// Each iSCSI connection logs inside one scope that names it: the initiator, the target, ISID, TSIH and CID once the
/// login has bound the session, and the remote address from the start.
/// </summary>
public sealed class ConnectionLogScopeTests(ConnectionLogScopeTests.ScopedFixture fixture) : IClassFixture<ConnectionLogScopeTests.ScopedFixture>
{
    [Fact]
    public async Task LoginAndClose_AreLoggedInTheConnectionsScope_WithItsSessionIdentity()
    {
        var ct = TestContext.Current.CancellationToken;
        const string First = "iqn.2026-11.org.scst-dotnet:scope-first";
        const string Second = "iqn.2026-11.org.scst-dotnet:scope-second";
        await using var first = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint, ct);
        await using var second = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint, ct);
        var firstLogin = await first.LoginAsync(IscsiTestInitiator.NormalKeys(ScstTargetFixture.TargetName, First), ct);
        var secondLogin = await second.LoginAsync(IscsiTestInitiator.NormalKeys(ScstTargetFixture.TargetName, Second), ct);
        await first.LogoutAsync(ct);
        (await first.WaitForCloseAsync(TimeSpan.FromSeconds(5), ct)).Should().BeTrue();

        Entry login = await fixture.Recorder.WaitForAsync(e => e.EventId == IscsiEventIds.LoginCompleted && e.Message.Contains(First, StringComparison.Ordinal));
        Entry closed = await fixture.Recorder.WaitForAsync(e => e.EventId == IscsiEventIds.ConnectionClosed && Equals(e.Scope.GetValueOrDefault("Initiator"), First));
        Entry other = await fixture.Recorder.WaitForAsync(e => e.EventId == IscsiEventIds.LoginCompleted && e.Message.Contains(Second, StringComparison.Ordinal));

        login.Scope.Should().Contain("Initiator", First)
            .And.Contain("Target", ScstTargetFixture.TargetName)
            .And.Contain("Isid", first.Isid.ToString("x12", CultureInfo.InvariantCulture))
            .And.Contain("Tsih", firstLogin.Tsih)
            .And.Contain("Cid", (ushort)0)
            .And.ContainKey("Remote").And.ContainKey("Portal");
        login.Scope["Remote"].Should().NotBeNull();
        login.ScopeText.Should().Contain(First).And.Contain(ScstTargetFixture.TargetName);
        closed.Scope["ConnectionId"].Should().Be(login.Scope["ConnectionId"], "the close is logged in the same connection's scope");
        other.Scope.Should().Contain("Initiator", Second).And.Contain("Tsih", secondLogin.Tsih);
        other.Scope["ConnectionId"].Should().NotBe(login.Scope["ConnectionId"]);
        fixture.Recorder.Entries.Where(e => e.EventId == IscsiEventIds.LoginCompleted && e.Message.Contains(First, StringComparison.Ordinal))
            .Should().OnlyContain(e => Equals(e.Scope.GetValueOrDefault("Initiator"), First), "no connection's message carries another connection's scope");
    }

    [Fact]
    public async Task FailedLogin_IsLoggedWithTheRemoteAddress_AndNoSession()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var initiator = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint, ct);
        var result = await initiator.LoginAsync(IscsiTestInitiator.NormalKeys("iqn.2026-11.org.scst-dotnet:no-such-target", "iqn.2026-11.org.scst-dotnet:scope-lost"), ct);
        result.Status.Should().NotBe(Scst.Transport.Iscsi.Protocol.LoginStatus.Success);

        Entry failed = await fixture.Recorder.WaitForAsync(e => e.EventId == IscsiEventIds.LoginFailed && Equals(e.Scope.GetValueOrDefault("Initiator"), "iqn.2026-11.org.scst-dotnet:scope-lost"));

        failed.Scope.Should().ContainKey("Remote").And.ContainKey("ConnectionId")
            .And.NotContainKey("Tsih", "no session was bound");
        failed.Scope["Target"].Should().BeNull();
    }

    public sealed record Entry(int EventId, string Message, IReadOnlyDictionary<string, object?> Scope, string ScopeText);

    /// <summary>The standard fixture, with a logger provider that records each message with the scopes around it.</summary>
    public sealed class ScopedFixture : ScstTargetFixture
    {
        public ScopeRecorder Recorder { get; } = new();

        protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<ILoggerProvider>(Recorder);
    }

    public sealed class ScopeRecorder : ILoggerProvider, ISupportExternalScope
    {
        private readonly ConcurrentQueue<Entry> _entries = new();
        private IExternalScopeProvider? _scopes;

        public IEnumerable<Entry> Entries => _entries;

        public ILogger CreateLogger(string categoryName) => new Recorder(this);

        public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

        public async Task<Entry> WaitForAsync(Func<Entry, bool> match)
        {
            for (int i = 0; i < 100; i++)
            {
                if (_entries.FirstOrDefault(match) is { } found)
                {
                    return found;
                }

                await Task.Delay(50, TestContext.Current.CancellationToken);
            }

            throw new Xunit.Sdk.XunitException("No such log entry; recorded: " + string.Join(Environment.NewLine, _entries.Select(e => $"{e.EventId} {e.Message} [{e.ScopeText}]")));
        }

        public void Dispose()
        {
        }

        private sealed class Recorder(ScopeRecorder owner) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => owner._scopes?.Push(state);

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var values = new Dictionary<string, object?>();
                var text = new List<string>();
                owner._scopes?.ForEachScope(
                    (scope, _) =>
                    {
                        text.Add(scope?.ToString() ?? string.Empty);
                        if (scope is IEnumerable<KeyValuePair<string, object?>> pairs)
                        {
                            foreach (KeyValuePair<string, object?> pair in pairs)
                            {
                                values[pair.Key] = pair.Value;
                            }
                        }
                    },
                    (object?)null);
                owner._entries.Enqueue(new Entry(eventId.Id, formatter(state, exception), values, string.Join(" => ", text)));
            }
        }
    }
}
