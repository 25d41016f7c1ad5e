// Licensed under the Apache License, Version 2.0.

using System.Diagnostics.Metrics;
using Scst.Transport.Iscsi.Protocol;

namespace Scst.Transport.Iscsi.Diagnostics;

/// <summary>
/// The names of the iSCSI driver's metrics, on the meter <see cref="MeterName"/> beside the core's <c>Scst.Core</c>.
/// </summary>
public static class IscsiMetrics
{
    /// <summary>The meter of the iSCSI driver.</summary>
    public const string MeterName = "Scst.Transport.Iscsi";

    /// <summary>
    /// Logins that ended, per result: <c>success</c>, or the status of the login response in lower case
    /// (authentication_failure, authorization_failure, not_found, too_many_connections, ...); a successful login also
    /// carries its session type.
    /// </summary>
    public const string Logins = "scst.iscsi.logins";

    /// <summary>TCP connections open on the driver's portals.</summary>
    public const string Connections = "scst.iscsi.connections";

    /// <summary>The tag of a login's result.</summary>
    public const string ResultTag = "scst.iscsi.result";

    /// <summary>The tag of a successful login's session type: normal or discovery.</summary>
    public const string SessionTypeTag = "scst.iscsi.session_type";
}

/// <summary>The driver's instruments; logins are rare, connections are observed.</summary>
internal sealed class IscsiDriverMetrics : IDisposable
{
    private static readonly Dictionary<LoginStatus, string> s_results = Enum.GetValues<LoginStatus>()
        .ToDictionary(static s => s, static s => s == LoginStatus.Success ? "success" : Snake(s.ToString()));

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Counter<long> _logins;

    public IscsiDriverMetrics(IscsiTargetDriver driver, IMeterFactory? factory)
    {
        _meter = factory?.Create(IscsiMetrics.MeterName) ?? new Meter(IscsiMetrics.MeterName);
        _ownsMeter = factory is null;
        _logins = _meter.CreateCounter<long>(IscsiMetrics.Logins, "{login}", "Logins that ended, by result");
        _meter.CreateObservableUpDownCounter(IscsiMetrics.Connections, () => (long)driver.ConnectionCount, "{connection}", "TCP connections open");
    }

    /// <summary>The meter that holds the instruments (one per driver).</summary>
    public Meter Meter => _meter;

    public void LoginFailed(ushort status) =>
        _logins.Add(1, new KeyValuePair<string, object?>(IscsiMetrics.ResultTag, s_results.TryGetValue((LoginStatus)status, out string? name) ? name : $"0x{status:X4}"));

    public void LoginSucceeded(bool discovery) =>
        _logins.Add(
            1,
            new KeyValuePair<string, object?>(IscsiMetrics.ResultTag, "success"),
            new KeyValuePair<string, object?>(IscsiMetrics.SessionTypeTag, discovery ? "discovery" : "normal"));

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }

    private static string Snake(string name) =>
        string.Concat(name.Select(static (c, i) => char.IsUpper(c) && i > 0 ? "_" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
}
