// Licensed under the Apache License, Version 2.0.

namespace Scst.Handlers.Io;

/// <summary>
/// A bounded free list of pending-operation objects: renting pops one (or makes one when the list is empty), returning
/// pushes it back unless the list is full. The critical section is a few loads and stores; an array stack under a lock
/// allocates nothing in steady state, unlike a concurrent queue's segments.
/// </summary>
internal sealed class OperationPool<T>(int capacity)
    where T : class
{
    private readonly T?[] _items = new T?[capacity];
    private readonly Lock _lock = new();
    private int _count;

    /// <summary>Pops a free object, or null when there is none.</summary>
    public T? TryRent()
    {
        lock (_lock)
        {
            if (_count == 0)
            {
                return null;
            }

            T? item = _items[--_count];
            _items[_count] = null;
            return item;
        }
    }

    /// <summary>Pushes a free object back.</summary>
    /// <returns>False when the list is full: the caller drops (or frees) the object.</returns>
    public bool Return(T item)
    {
        lock (_lock)
        {
            if (_count == _items.Length)
            {
                return false;
            }

            _items[_count++] = item;
            return true;
        }
    }

    /// <summary>Empties the list, handing each object to <paramref name="free"/>.</summary>
    public void Drain(Action<T> free)
    {
        while (TryRent() is { } item)
        {
            free(item);
        }
    }
}
