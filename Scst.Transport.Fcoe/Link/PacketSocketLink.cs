// Licensed under the Apache License, Version 2.0.

using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Scst.Transport.Fcoe.Protocol;
using Tmds.Linux;
using static Scst.Transport.Fcoe.Link.PacketSocketInterop;
using static Tmds.Linux.LibC;

namespace Scst.Transport.Fcoe.Link;

/// <summary>
/// An <see cref="IFcoeLink"/> over a Linux AF_PACKET socket bound to one Ethernet interface. Needs CAP_NET_RAW.
/// </summary>
/// <remarks>
/// <para>
/// One socket carries both ethertypes: it is created listening to no protocol, given a classic BPF filter that keeps
/// incoming, untagged FCoE and FIP frames, and only then bound to the interface with ETH_P_ALL, so no other frame is
/// ever queued on it. One socket means one receive path for the caller's buffer (two sockets, one per ethertype,
/// would need a merge with a copy or a task per receive); the price is that the kernel runs the few filter
/// instructions on every frame the interface receives. PACKET_IGNORE_OUTGOING (Linux 4.20) spares it every frame
/// the host sends; the filter drops PACKET_OUTGOING copies too, for older kernels.
/// </para>
/// <para>
/// Unicast addresses added for VN_Ports go to the interface's address list (PACKET_MR_UNICAST, what Linux fcoe does
/// with dev_uc_add), so a NIC with a unicast filter passes them; an interface without one goes promiscuous, and
/// frames for other hosts then reach the socket: the link delivers a unicast frame only when it is sent to the
/// interface's own address or to one added here.
/// </para>
/// <para>
/// VLANs: the kernel moves an 802.1Q tag off the frame into metadata before a packet socket sees it, so a tagged
/// frame would look untagged here and the reply would leave untagged. Tagged frames are therefore not delivered;
/// an FCoE VLAN is served by opening the link on the VLAN interface (<c>eth0.1002</c>), where the kernel delivers
/// and sends the frames of that VLAN untagged.
/// </para>
/// </remarks>
internal sealed partial class PacketSocketLink : IFcoeLink
{
    private readonly Socket _socket;
    private readonly int _interfaceIndex;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();

    // Unicast addresses added, with how many times (the kernel membership is taken once and dropped on the last remove).
    private readonly Dictionary<MacAddress, int> _unicast = [];

    // The interface address and the added unicast addresses, as 48-bit values: what ReceiveAsync accepts. Replaced whole.
    private volatile ulong[] _accepted;
    private volatile bool _disposed;

    private PacketSocketLink(Socket socket, string name, int interfaceIndex, MacAddress address, int mtu, ILogger logger)
    {
        _socket = socket;
        Name = name;
        _interfaceIndex = interfaceIndex;
        Address = address;
        Mtu = mtu;
        _logger = logger;
        _accepted = [address.ToUInt64()];
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public MacAddress Address { get; }

    /// <inheritdoc/>
    public int Mtu { get; }

    /// <summary>
    /// Opens the link on <paramref name="interfaceName"/> in the calling thread's network namespace.
    /// </summary>
    /// <exception cref="IOException">
    /// The interface does not exist, is not Ethernet, or the socket cannot be opened (no CAP_NET_RAW); the message
    /// names the interface and the reason.
    /// </exception>
    public static unsafe PacketSocketLink Open(string interfaceName, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(interfaceName);
        InterfaceRequest ifr = default;
        if (!TrySetName(ref ifr, interfaceName))
        {
            throw OpenFailed(interfaceName, $"not a valid interface name (1 to {InterfaceNameSize - 1} bytes)");
        }

        // Protocol 0: the socket receives nothing until it is bound, after the filter is in place.
        int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            int error = errno;
            throw OpenFailed(interfaceName, error == EPERM || error == EACCES
                ? $"an AF_PACKET socket needs CAP_NET_RAW ({Describe(error)})"
                : $"cannot create an AF_PACKET socket ({Describe(error)})");
        }

        try
        {
            int error = InterfaceIoctl(fd, SIOCGIFINDEX, ref ifr);
            if (error != 0)
            {
                throw OpenFailed(interfaceName, error == ENODEV ? "no such interface" : $"SIOCGIFINDEX failed ({Describe(error)})");
            }

            int index = *(int*)ifr.Union;
            error = InterfaceIoctl(fd, SIOCGIFHWADDR, ref ifr);
            if (error != 0)
            {
                throw OpenFailed(interfaceName, $"SIOCGIFHWADDR failed ({Describe(error)})");
            }

            ushort hardwareType = *(ushort*)ifr.Union;
            if (hardwareType != ArphrdEther)
            {
                throw OpenFailed(interfaceName, $"not an Ethernet interface (hardware type {hardwareType})");
            }

            var address = MacAddress.Read(new ReadOnlySpan<byte>(ifr.Union + sizeof(ushort), MacAddress.Length));
            error = InterfaceIoctl(fd, SIOCGIFMTU, ref ifr);
            if (error != 0)
            {
                throw OpenFailed(interfaceName, $"SIOCGIFMTU failed ({Describe(error)})");
            }

            int mtu = *(int*)ifr.Union;
            error = AttachFcoeFilter(fd, FcoeFrame.MaxTaggedFrameLength);
            if (error != 0)
            {
                throw OpenFailed(interfaceName, $"cannot attach the FCoE/FIP filter ({Describe(error)})");
            }

            int one = 1;
            if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(int)) < 0 && errno != ENOPROTOOPT)
            {
                throw OpenFailed(interfaceName, $"PACKET_IGNORE_OUTGOING failed ({Describe(errno)})");
            }

            int receiveBuffer = SetBufferSizes(fd, SocketBufferBytes);
            sockaddr_ll bound = default;
            bound.sll_family = (ushort)AF_PACKET;
            bound.sll_protocol = htons(EthPAll);
            bound.sll_ifindex = index;
            if (bind(fd, (sockaddr*)&bound, (socklen_t)sizeof(sockaddr_ll)) < 0)
            {
                error = errno;
                throw OpenFailed(interfaceName, error == ENETDOWN ? "the interface is down" : $"bind failed ({Describe(error)})");
            }

            var socket = new Socket(new SafeSocketHandle(fd, ownsHandle: true));
            fd = -1;
            logger ??= NullLogger.Instance;
            Log.Opened(logger, interfaceName, address, mtu, receiveBuffer);
            if (mtu < FcoeFrame.MaxFcoeSize)
            {
                Log.MtuTooSmall(logger, interfaceName, mtu, FcoeFrame.MaxFcoeSize);
            }

            return new PacketSocketLink(socket, interfaceName, index, address, mtu, logger);
        }
        finally
        {
            if (fd >= 0)
            {
                _ = close(fd);
            }
        }
    }

    /// <inheritdoc/>
    public void AddUnicastAddress(MacAddress address)
    {
        if (address.IsMulticast)
        {
            throw new ArgumentException($"{address} is a group address; use JoinMulticast.", nameof(address));
        }

        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _unicast.TryGetValue(address, out int count);
            if (count == 0)
            {
                ChangeMembership(PACKET_ADD_MEMBERSHIP, PACKET_MR_UNICAST, address);
            }

            _unicast[address] = count + 1;
            PublishAccepted();
        }
    }

    /// <inheritdoc/>
    public void RemoveUnicastAddress(MacAddress address)
    {
        lock (_lock)
        {
            if (_disposed || !_unicast.TryGetValue(address, out int count))
            {
                return;
            }

            if (count > 1)
            {
                _unicast[address] = count - 1;
                return;
            }

            _unicast.Remove(address);
            PublishAccepted();
            ChangeMembership(PACKET_DROP_MEMBERSHIP, PACKET_MR_UNICAST, address);
        }
    }

    /// <inheritdoc/>
    public void JoinMulticast(MacAddress group)
    {
        if (!group.IsMulticast)
        {
            throw new ArgumentException($"{group} is not a group address.", nameof(group));
        }

        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ChangeMembership(PACKET_ADD_MEMBERSHIP, PACKET_MR_MULTICAST, group);
        }
    }

    /// <inheritdoc/>
    public unsafe bool Send(ReadOnlySpan<byte> frame)
    {
        if (frame.Length < Ethernet.HeaderLength)
        {
            return false;
        }

        SafeSocketHandle handle = _socket.SafeHandle;
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            long sent;
            fixed (byte* p = frame)
            {
                // Never waits: a full socket buffer (EAGAIN) or queue (ENOBUFS) drops the frame like a lossy link.
                sent = send((int)handle.DangerousGetHandle(), p, (size_t)frame.Length, MSG_DONTWAIT | MSG_NOSIGNAL);
            }

            if (sent == frame.Length)
            {
                return true;
            }

            Log.SendFailed(_logger, Name, frame.Length, sent < 0 ? Describe(errno) : $"{sent} bytes sent");
            return false;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <inheritdoc/>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        // The filter passes no frame longer than this, so no frame is ever cut short.
        ArgumentOutOfRangeException.ThrowIfLessThan(buffer.Length, FcoeFrame.MaxTaggedFrameLength, nameof(buffer));
        while (!_disposed)
        {
            int length;
            try
            {
                length = await _socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (_disposed && e is ObjectDisposedException or SocketException)
            {
                break;
            }

            if (length >= Ethernet.HeaderLength && IsForUs(MacAddress.Read(buffer.Span)))
            {
                return length;
            }
        }

        return 0;
    }

    /// <summary>Closes the socket: a pending <see cref="ReceiveAsync"/> returns 0, the memberships are dropped.</summary>
    public ValueTask DisposeAsync()
    {
        lock (_lock)
        {
            _disposed = true;
        }

        _socket.Dispose();
        return ValueTask.CompletedTask;
    }

    private bool IsForUs(MacAddress destination)
    {
        if (destination.IsMulticast)
        {
            return true;
        }

        ulong value = destination.ToUInt64();
        foreach (ulong accepted in _accepted)
        {
            if (accepted == value)
            {
                return true;
            }
        }

        return false;
    }

    private void PublishAccepted()
    {
        var accepted = new ulong[_unicast.Count + 1];
        accepted[0] = Address.ToUInt64();
        int i = 1;
        foreach (MacAddress address in _unicast.Keys)
        {
            accepted[i++] = address.ToUInt64();
        }

        _accepted = accepted;
    }

    private unsafe void ChangeMembership(int option, int type, MacAddress address)
    {
        packet_mreq request = default;
        request.mr_ifindex = _interfaceIndex;
        request.mr_type = (ushort)type;
        request.mr_alen = MacAddress.Length;
        address.WriteTo(new Span<byte>(request.mr_address, MacAddress.Length));
        // Under _lock and not disposed: the descriptor stays open (DisposeAsync takes the lock before closing it).
        int error = 0;
        if (setsockopt((int)_socket.SafeHandle.DangerousGetHandle(), SOL_PACKET, option, &request, (socklen_t)sizeof(packet_mreq)) < 0)
        {
            error = errno;
        }

        if (error != 0 && option == PACKET_ADD_MEMBERSHIP)
        {
            string what = type == PACKET_MR_UNICAST ? "unicast address" : "multicast group";
            throw new IOException($"FCoE link {Name}: cannot add the {what} {address} ({Describe(error)}).");
        }
    }

    private static IOException OpenFailed(string interfaceName, string reason) =>
        new($"Cannot open the FCoE link on interface '{interfaceName}': {reason}.");

    /// <summary>Log messages of the AF_PACKET link (event ids 5400-5409 of the FCoE range).</summary>
    private static partial class Log
    {
        [LoggerMessage(EventId = FcoeEventIds.LinkOpened, Level = LogLevel.Information, Message = "FCoE link on {Interface} open: MAC {Address}, MTU {Mtu}, receive buffer {ReceiveBuffer} bytes")]
        public static partial void Opened(ILogger logger, string @interface, MacAddress address, int mtu, int receiveBuffer);

        [LoggerMessage(EventId = FcoeEventIds.MtuTooSmall, Level = LogLevel.Warning, Message = "The MTU of {Interface} is {Mtu}: full-size FCoE frames need {Required}")]
        public static partial void MtuTooSmall(ILogger logger, string @interface, int mtu, int required);

        [LoggerMessage(EventId = FcoeEventIds.SendFailed, Level = LogLevel.Debug, Message = "Sending a {Length}-byte frame on {Interface} failed: {Reason}")]
        public static partial void SendFailed(ILogger logger, string @interface, int length, string reason);
    }
}
