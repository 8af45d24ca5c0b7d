using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace PacketMonitor.Kernel.Tests.Infrastructure;

/// <summary>
/// An AF_PACKET socket that sends whole Ethernet frames, bytes exactly as given, out of one
/// interface of a namespace: the way to put malformed packets on a veth so that the peer's
/// receive path (eth_type_trans, ip_rcv, ...) sees and drops them.
/// </summary>
internal sealed class PacketSocket : IDisposable
{
    private readonly Socket _socket;
    private readonly LinkLayerEndPoint _interface;

    public PacketSocket(NetworkNamespace ns, string ifname)
    {
        _interface = new LinkLayerEndPoint(Frames.Link(ns, ifname).GetProperty("ifindex").GetInt32());
        // Protocol 0: send only, nothing is queued for reading.
        _socket = ns.Socket(AddressFamily.Packet, SocketType.Raw, ProtocolType.Unspecified);
    }

    public void Send(ReadOnlySpan<byte> frame)
    {
        int sent = _socket.SendTo(frame, SocketFlags.None, _interface);
        if (sent != frame.Length)
            throw new InvalidOperationException($"sent {sent} of {frame.Length} bytes");
    }

    public void Dispose() => _socket.Dispose();

    /// <summary>struct sockaddr_ll naming the interface; the frame itself carries the addresses.</summary>
    private sealed class LinkLayerEndPoint(int ifindex) : EndPoint
    {
        private const int SockaddrLlSize = 20;

        public override AddressFamily AddressFamily => AddressFamily.Packet;

        public override SocketAddress Serialize()
        {
            var address = new SocketAddress(AddressFamily.Packet, SockaddrLlSize);
            // sll_family is written by SocketAddress; sll_protocol stays 0 (the peer's
            // eth_type_trans reads the ethertype from the frame), then sll_ifindex.
            BinaryPrimitives.WriteInt32LittleEndian(address.Buffer.Span[4..], ifindex);
            return address;
        }

        public override EndPoint Create(SocketAddress socketAddress) => this;
    }
}
