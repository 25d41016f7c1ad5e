// Licensed under the Apache License, Version 2.0.

using System.Globalization;

namespace Scst.Handlers;

/// <summary>Reads SCST-style device parameters (<c>key=value</c> pairs of <c>add_device</c>), naming the bad one on error.</summary>
internal sealed class DeviceParameters
{
    private readonly IReadOnlyDictionary<string, string> _values;
    private readonly string _device;
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    public DeviceParameters(string device, IReadOnlyDictionary<string, string> values)
    {
        _device = device;
        _values = values;
    }

    public string? GetString(string key)
    {
        _used.Add(key);
        return _values.TryGetValue(key, out string? v) ? v : null;
    }

    public bool GetBool(string key, bool defaultValue)
    {
        string? v = GetString(key);
        return v switch
        {
            null => defaultValue,
            "1" or "yes" or "Yes" or "true" => true,
            "0" or "no" or "No" or "false" => false,
            _ => throw Bad(key, v, "0 or 1"),
        };
    }

    public long? GetSize(string key)
    {
        string? v = GetString(key);
        if (v is null)
        {
            return null;
        }

        return TryParseSize(v, out long size) ? size : throw Bad(key, v, "a byte count with an optional K, M, G or T suffix");
    }

    public int GetInt(string key, int defaultValue, params ReadOnlySpan<int> allowed)
    {
        string? v = GetString(key);
        if (v is null)
        {
            return defaultValue;
        }

        if (int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int n))
        {
            foreach (int a in allowed)
            {
                if (a == n)
                {
                    return n;
                }
            }
        }

        throw Bad(key, v, string.Join(", ", allowed.ToArray()));
    }

    public int GetIntInRange(string key, int defaultValue, int min, int max)
    {
        string? v = GetString(key);
        if (v is null)
        {
            return defaultValue;
        }

        return int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= min && n <= max
            ? n
            : throw Bad(key, v, $"an integer from {min} to {max}");
    }

    /// <summary>Fails on any parameter the handler did not ask for.</summary>
    public void RejectUnknown()
    {
        foreach (string key in _values.Keys)
        {
            if (!_used.Contains(key))
            {
                throw new ArgumentException($"Device {_device}: unknown parameter '{key}'.");
            }
        }
    }

    public static bool TryParseSize(string text, out long bytes)
    {
        bytes = 0;
        text = text.Trim();
        if (text.Length == 0)
        {
            return false;
        }

        long multiplier = char.ToUpperInvariant(text[^1]) switch
        {
            'K' => 1L << 10,
            'M' => 1L << 20,
            'G' => 1L << 30,
            'T' => 1L << 40,
            _ => 1,
        };
        string digits = multiplier == 1 ? text : text[..^1];
        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long n) || n > long.MaxValue / multiplier)
        {
            return false;
        }

        bytes = n * multiplier;
        return true;
    }

    private ArgumentException Bad(string key, string value, string expected) =>
        new($"Device {_device}: parameter '{key}' has value '{value}'; expected {expected}.");
}
