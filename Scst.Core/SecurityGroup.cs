// Licensed under the Apache License, Version 2.0.

namespace Scst.Core;

/// <summary>
/// A security group of a target (SCST's <c>ini_groups/&lt;name&gt;</c>): a LUN map of its own and the initiator name
/// patterns (see <see cref="NamePattern"/>) whose sessions see it instead of the target's default LUNs.
/// </summary>
/// <remarks>
/// <para>A session belongs to the first group, in the order the groups were created, with a pattern that matches
/// its initiator name; when none matches, it sees the target's default map (<see cref="ScsiTarget.Luns"/>), which may
/// be empty. See <see cref="ScsiTarget.GroupOf"/>.</para>
/// <para>Changing a group's initiators re-evaluates every open session of the target, as SCST does: a session whose
/// group changes sees the new group's LUNs at once (see <see cref="ScsiTarget"/>). Changing a group's LUNs is seen by
/// the sessions of that group alone.</para>
/// </remarks>
public sealed class SecurityGroup
{
    private string[] _initiators = [];

    internal SecurityGroup(ScsiTarget target, string name)
    {
        Target = target;
        Name = name;
    }

    /// <summary>The target the group belongs to.</summary>
    public ScsiTarget Target { get; }

    /// <summary>The group's name, unique in its target.</summary>
    public string Name { get; }

    /// <summary>The LUNs the sessions of this group see.</summary>
    public LunMap Luns { get; } = new();

    /// <summary>The initiator name patterns, in the order they were added.</summary>
    public IReadOnlyList<string> Initiators => Volatile.Read(ref _initiators);

    /// <summary>Whether one of the group's patterns matches <paramref name="initiatorName"/>.</summary>
    /// <param name="initiatorName">The initiator name.</param>
    /// <returns>True on a match.</returns>
    public bool Matches(string initiatorName)
    {
        ArgumentNullException.ThrowIfNull(initiatorName);
        foreach (string pattern in Volatile.Read(ref _initiators))
        {
            if (NamePattern.IsMatch(pattern, initiatorName))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Adds an initiator name pattern (SCST's <c>initiators/mgmt add</c>) and re-evaluates the target's sessions.
    /// </summary>
    /// <param name="pattern">The pattern; compared with the group's other patterns exactly, as written.</param>
    /// <returns>False when the group already has this pattern.</returns>
    /// <exception cref="ArgumentException">The pattern is empty or holds white space.</exception>
    /// <exception cref="InvalidOperationException">The group was removed from its target.</exception>
    public bool AddInitiator(string pattern)
    {
        CheckPattern(pattern);
        return Target.ChangeInitiators(() => TryAdd(pattern), this);
    }

    /// <summary>
    /// Removes an initiator name pattern (SCST's <c>initiators/mgmt del</c>) and re-evaluates the target's sessions.
    /// </summary>
    /// <param name="pattern">The pattern, as it was added.</param>
    /// <returns>False when the group has no such pattern.</returns>
    public bool RemoveInitiator(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        return Target.ChangeInitiators(() => TryRemove(pattern), this);
    }

    /// <summary>
    /// Moves an initiator name pattern to another group of the same target (SCST's <c>initiators/mgmt move</c>) and
    /// re-evaluates the target's sessions once.
    /// </summary>
    /// <param name="pattern">The pattern, as it was added to this group.</param>
    /// <param name="destination">The group to move it to.</param>
    /// <returns>False when this group has no such pattern.</returns>
    /// <exception cref="ArgumentException">The destination belongs to another target.</exception>
    /// <exception cref="InvalidOperationException">The destination already has the pattern.</exception>
    public bool MoveInitiator(string pattern, SecurityGroup destination)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(destination);
        if (destination.Target != Target)
        {
            throw new ArgumentException($"Group {destination.Name} belongs to another target.", nameof(destination));
        }

        return Target.ChangeInitiators(
            () =>
            {
                if (Array.IndexOf(destination._initiators, pattern) >= 0)
                {
                    throw new InvalidOperationException($"Initiator '{pattern}' is already in group {destination.Name}.");
                }

                return TryRemove(pattern) && destination.TryAdd(pattern);
            },
            this,
            destination);
    }

    /// <summary>Removes every initiator name pattern (SCST's <c>initiators/mgmt clear</c>) and re-evaluates the target's sessions.</summary>
    public void ClearInitiators() => Target.ChangeInitiators(
        () =>
        {
            Volatile.Write(ref _initiators, []);
            return true;
        },
        this);

    /// <summary>Set, under the target's lock, when the group is removed from its target.</summary>
    internal bool Removed { get; set; }

    /// <summary>The group's name.</summary>
    /// <returns>The name.</returns>
    public override string ToString() => Name;

    internal static void CheckPattern(string pattern)
    {
        ArgumentException.ThrowIfNullOrEmpty(pattern);
        if (pattern.AsSpan().IndexOfAny(" \t\r\n") >= 0)
        {
            throw new ArgumentException($"Initiator pattern '{pattern}' holds white space.", nameof(pattern));
        }
    }

    // Called under the target's group lock.
    private bool TryAdd(string pattern)
    {
        string[] current = _initiators;
        if (Array.IndexOf(current, pattern) >= 0)
        {
            return false;
        }

        Volatile.Write(ref _initiators, [.. current, pattern]);
        return true;
    }

    private bool TryRemove(string pattern)
    {
        string[] current = _initiators;
        int i = Array.IndexOf(current, pattern);
        if (i < 0)
        {
            return false;
        }

        Volatile.Write(ref _initiators, [.. current[..i], .. current[(i + 1)..]]);
        return true;
    }
}
