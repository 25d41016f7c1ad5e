// Licensed under the Apache License, Version 2.0.

using System.Runtime.InteropServices;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Scst.Transport.Fcoe.Link;

/// <summary>
/// The Linux pieces of an AF_PACKET link that Tmds.LibC does not define (<c>struct ifreq</c>, classic BPF), and the
/// calls built on them. Values are those of <c>linux/if_ether.h</c>, <c>linux/filter.h</c> and <c>linux/if.h</c>.
/// </summary>
internal static unsafe class PacketSocketInterop
{
    /// <summary>ETH_P_ALL: every protocol. The socket is bound with it and a filter keeps FIP and FCoE.</summary>
    public const ushort EthPAll = 0x0003;

    /// <summary>ARPHRD_ETHER: the hardware type of an Ethernet interface.</summary>
    public const ushort ArphrdEther = 1;

    /// <summary>IFNAMSIZ: an interface name is at most 15 bytes and a NUL.</summary>
    public const int InterfaceNameSize = 16;

    /// <summary>
    /// The socket buffer a port asks for in each direction. A 1 MiB write arrives as 512 back-to-back frames of 2 KiB;
    /// at the kernel's default (about 208 KiB) most of such a burst is dropped before the receive loop reads it, and the
    /// initiator then waits for its SCSI timeout. 32 MiB holds several bursts of the largest commands Linux sends.
    /// </summary>
    public const int SocketBufferBytes = 32 << 20;

    // SO_SNDBUF, SO_RCVBUF and their *FORCE variants (asm-generic/socket.h): FORCE ignores wmem_max/rmem_max with CAP_NET_ADMIN.
    private const int SoSndBuf = 7;
    private const int SoRcvBuf = 8;
    private const int SoSndBufForce = 32;
    private const int SoRcvBufForce = 33;

    /// <summary>
    /// Sizes the socket's buffers to <paramref name="bytes"/>: beyond the system's maximum where the process may
    /// (CAP_NET_ADMIN), else up to the maximum. Returns the receive buffer the kernel granted (it counts overhead, so
    /// it reports twice what was asked).
    /// </summary>
    public static int SetBufferSizes(int fd, int bytes)
    {
        foreach ((int force, int plain) in stackalloc[] { (SoRcvBufForce, SoRcvBuf), (SoSndBufForce, SoSndBuf) })
        {
            if (setsockopt(fd, SOL_SOCKET, force, &bytes, sizeof(int)) < 0)
            {
                _ = setsockopt(fd, SOL_SOCKET, plain, &bytes, sizeof(int));
            }
        }

        int granted = 0;
        socklen_t length = sizeof(int);
        return getsockopt(fd, SOL_SOCKET, SoRcvBuf, &granted, &length) < 0 ? 0 : granted;
    }

    // Classic BPF instruction classes, sizes, modes and jump/return codes.
    private const ushort BpfLd = 0x00;
    private const ushort BpfJmp = 0x05;
    private const ushort BpfRet = 0x06;
    private const ushort BpfW = 0x00;
    private const ushort BpfH = 0x08;
    private const ushort BpfAbs = 0x20;
    private const ushort BpfLen = 0x80;
    private const ushort BpfJeq = 0x10;
    private const ushort BpfJgt = 0x20;
    private const ushort BpfK = 0x00;

    // Ancillary loads: the kernel answers loads at SKF_AD_OFF + n with packet metadata instead of packet bytes.
    private const int SkfAdOff = -0x1000;
    private const int SkfAdPktType = 4;
    private const int SkfAdVlanTagPresent = 48;

    /// <summary>struct ifreq: the name, then a 24-byte union (a sockaddr for SIOCGIFHWADDR, an int for the MTU and index).</summary>
    [StructLayout(LayoutKind.Sequential, Size = 40)]
    public struct InterfaceRequest
    {
        /// <summary>ifr_name.</summary>
        public fixed byte Name[InterfaceNameSize];

        /// <summary>ifr_ifru: ifr_hwaddr.sa_family (2 bytes) then sa_data, or ifr_mtu / ifr_ifindex (an int).</summary>
        public fixed byte Union[24];
    }

    /// <summary>struct sock_filter: one classic BPF instruction.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct SockFilter
    {
        public ushort Code;
        public byte JumpTrue;
        public byte JumpFalse;
        public uint K;

        public SockFilter(ushort code, byte jumpTrue, byte jumpFalse, uint k)
        {
            Code = code;
            JumpTrue = jumpTrue;
            JumpFalse = jumpFalse;
            K = k;
        }
    }

    /// <summary>struct sock_fprog: the program's length and a pointer to it.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct SockFprog
    {
        public ushort Length;
        public SockFilter* Filter;
    }

    /// <summary>
    /// Fills <paramref name="request"/> with <paramref name="interfaceName"/>; false when the name does not fit
    /// (IFNAMSIZ) or holds a NUL.
    /// </summary>
    public static bool TrySetName(ref InterfaceRequest request, string interfaceName)
    {
        if (interfaceName.Length == 0 || interfaceName.Contains('\0', StringComparison.Ordinal))
        {
            return false;
        }

        fixed (byte* name = request.Name)
        {
            var span = new Span<byte>(name, InterfaceNameSize);
            span.Clear();
            return System.Text.Encoding.UTF8.TryGetBytes(interfaceName, span[..(InterfaceNameSize - 1)], out _);
        }
    }

    /// <summary>One interface ioctl (SIOCGIFINDEX, SIOCGIFHWADDR, SIOCGIFMTU); the errno on failure, 0 on success.</summary>
    public static int InterfaceIoctl(int fd, int request, ref InterfaceRequest ifr)
    {
        fixed (InterfaceRequest* p = &ifr)
        {
            return ioctl(fd, request, p) < 0 ? errno : 0;
        }
    }

    /// <summary>
    /// Attaches the filter that keeps what the link delivers: frames that came in (not our own, looped back as
    /// PACKET_OUTGOING), without an 802.1Q tag (the kernel moves it to metadata; a VLAN is served by opening its own
    /// interface), at most <paramref name="maxLength"/> bytes long, of ethertype FCoE or FIP. The errno on failure,
    /// 0 on success.
    /// </summary>
    public static int AttachFcoeFilter(int fd, int maxLength)
    {
        const byte Accept = 9;
        const byte Drop = 10;
        SockFilter* program = stackalloc SockFilter[]
        {
            /* 0 */ new(BpfLd | BpfW | BpfAbs, 0, 0, unchecked((uint)(SkfAdOff + SkfAdPktType))),
            /* 1 */ new(BpfJmp | BpfJeq | BpfK, Drop - 2, 0, (uint)PACKET_OUTGOING),
            /* 2 */ new(BpfLd | BpfW | BpfAbs, 0, 0, unchecked((uint)(SkfAdOff + SkfAdVlanTagPresent))),
            /* 3 */ new(BpfJmp | BpfJeq | BpfK, 0, Drop - 4, 0),
            /* 4 */ new(BpfLd | BpfW | BpfLen, 0, 0, 0),
            /* 5 */ new(BpfJmp | BpfJgt | BpfK, Drop - 6, 0, (uint)maxLength),
            /* 6 */ new(BpfLd | BpfH | BpfAbs, 0, 0, 12),
            /* 7 */ new(BpfJmp | BpfJeq | BpfK, Accept - 8, 0, Protocol.EtherType.Fcoe),
            /* 8 */ new(BpfJmp | BpfJeq | BpfK, Accept - 9, Drop - 9, Protocol.EtherType.Fip),
            /* 9 */ new(BpfRet | BpfK, 0, 0, 0x0004_0000),
            /* 10 */ new(BpfRet | BpfK, 0, 0, 0),
        };
        var fprog = new SockFprog { Length = 11, Filter = program };
        return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, (socklen_t)sizeof(SockFprog)) < 0 ? errno : 0;
    }

    /// <summary>The text of an errno (strerror), for messages.</summary>
    public static string Describe(int error) => Marshal.GetPInvokeErrorMessage(error);
}
