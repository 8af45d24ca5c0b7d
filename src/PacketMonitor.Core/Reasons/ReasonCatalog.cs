using System.Collections.Frozen;
using System.Collections.ObjectModel;
using System.Text;

namespace PacketMonitor.Core.Reasons;

/// <summary>What a drop reason means for an operator, and what to check next.</summary>
/// <param name="Name">Canonical reason name: upper case, without the <c>SKB_DROP_REASON_</c> prefix.</param>
/// <param name="Explanation">One sentence: what happened, in operator terms.</param>
/// <param name="Hint">One sentence: what to check or do, with a command where one exists.</param>
/// <param name="IsGeneric">True when the text was built from the name (unknown or subsystem reason), not written for it.</param>
public sealed record ReasonInfo(string Name, string Explanation, string Hint, bool IsGeneric);

/// <summary>
/// Plain-language explanation and remediation hint per kernel drop reason, keyed by NAME
/// (as in <c>enum skb_drop_reason</c> without the <c>SKB_DROP_REASON_</c> prefix), never by
/// number: numbers differ between kernel versions, names come from the running kernel's BTF.
/// </summary>
/// <remarks>
/// Covers every core reason up to Linux 6.18 plus names that only older or newer kernels use, and the
/// Open vSwitch reasons. Other subsystem reasons (mac80211, future Open vSwitch names, and the
/// <c>SUBSYS_NAME:0xNNNN</c> placeholders of codes whose module BTF is absent) get a generic text per
/// subsystem; any other name gets a generic text built from the name. Lookup of a known name allocates nothing.
/// </remarks>
public static class ReasonCatalog
{
    private const string Prefix = "SKB_DROP_REASON_";
    private const int MaxShownNameLength = 64;

    // One line per reason: name, explanation, hint. IFACE, DEST and SRC stand for the values of the event.
    private static readonly (string Name, string Explanation, string Hint)[] Table =
    [
        ("NOT_DROPPED_YET", "Not a drop: the kernel's placeholder for a packet that has not been dropped.", "Nothing to do; if it is ever counted as a drop, report it as a packet-monitor bug."),
        ("CONSUMED", "Not a drop: the packet was processed normally and then freed.", "Nothing to do; normal traffic is freed this way (consume_skb)."),
        ("NOT_SPECIFIED", "The kernel freed the packet with plain kfree_skb() and gave no reason; this is often routine cleanup rather than a real loss.", "Look at the drop location to learn which kernel function freed it, and hide this reason if that function is noise."),
        ("NO_SOCKET", "No socket wanted the packet: nothing listens on the destination port, or the connection it belongs to no longer exists.", "Check the service is running and bound to that address and port: ss -ltnup."),
        ("SOCKET_CLOSE", "The packet arrived for a socket that its application had already closed.", "Usually harmless during shutdown; if it persists, check how the application closes connections (ss -tanp shows the owner)."),
        ("SOCKET_FILTER", "A filter attached to the receiving socket (classic BPF or eBPF, SO_ATTACH_FILTER/SO_ATTACH_BPF) rejected the packet.", "Find the process that owns the socket (ss -tuanp) and review the filter it attaches; bpftool prog show lists eBPF programs."),
        ("TCP_FILTER", "A filter attached to the receiving TCP socket rejected the packet (name used by Linux 5.17 for SOCKET_FILTER).", "Find the process that owns the socket (ss -tanp) and review the filter it attaches; bpftool prog show lists eBPF programs."),
        ("SOCKET_RCVBUFF", "The receiving application reads too slowly and its socket receive buffer was full.", "Read faster or raise SO_RCVBUF and net.core.rmem_max (sysctl -w net.core.rmem_max=...); ss -tuanpm shows Recv-Q and buffer use."),
        ("UNIX_DISCONNECT", "Datagrams queued on a Unix socket were discarded because the socket connected to another peer or its peer closed.", "Usually a normal side effect of a peer going away; ss -xp shows the Unix sockets and their owners."),
        ("UNIX_SKIP_OOB", "Out-of-band data on a Unix stream socket was discarded because the reader called recv() without MSG_OOB.", "Check how the application handles MSG_OOB on AF_UNIX stream sockets (ss -xp shows the owner)."),
        ("PKT_TOO_SMALL", "The packet was shorter than its headers require (truncated or malformed).", "Capture it (tcpdump -i IFACE -vv) and check the sender, the NIC or any tunnel in between for truncation."),
        ("TCP_CSUM", "The TCP checksum was wrong: the segment was corrupted on the wire or by a checksum offload.", "Check the link and NIC for errors (ip -s link show IFACE, ethtool -S IFACE) and try disabling receive checksum offload (ethtool -K IFACE rx off)."),
        ("UDP_CSUM", "The UDP checksum was wrong: the datagram was corrupted on the wire or by a checksum offload.", "Check the link and NIC for errors (ip -s link show IFACE, ethtool -S IFACE); nstat -az UdpInCsumErrors counts these."),
        ("NETFILTER_DROP", "A firewall rule (netfilter: nftables, iptables or conntrack) dropped the packet.", "List the rules: nft list ruleset (or iptables-save); add a counter or log rule to find the one that matches."),
        ("OTHERHOST", "The frame was addressed to another host's MAC address and only arrived because the interface is in promiscuous mode.", "Harmless while something captures or bridges traffic; ip -d link show IFACE shows the promiscuity count."),
        ("IP_CSUM", "The IPv4 header checksum was wrong (corrupted packet).", "Check the link and NIC for errors: ip -s link show IFACE and ethtool -S IFACE."),
        ("IP_INHDR", "The IP header was invalid (bad version, header length, total length, options or TTL).", "Capture the packet (tcpdump -i IFACE -vv) and check the sender; nstat -az IpInHdrErrors Ip6InHdrErrors counts these."),
        ("IP_RPFILTER", "Reverse-path filtering dropped the packet: replies to its source address would not leave through the interface it arrived on.", "Check the route back to the source (ip route get SRC) and sysctl net.ipv4.conf.IFACE.rp_filter (2 is loose mode, for asymmetric routing)."),
        ("UNICAST_IN_L2_MULTICAST", "The packet had a unicast IP destination but arrived in a multicast or broadcast Ethernet frame.", "Look for a misconfigured sender or switch; sysctl net.ipv4.conf.IFACE.drop_unicast_in_l2_multicast (and the ipv6 one) controls this check."),
        ("XFRM_POLICY", "An IPsec (xfrm) policy check rejected the packet: it did not match the security policy for its traffic.", "Inspect the policies and states (ip xfrm policy, ip xfrm state) and see which check fails in /proc/net/xfrm_stat."),
        ("IP_NOPROTO", "No handler exists for the packet's IP protocol number (for example a tunnel or SCTP module that is not loaded).", "Check the protocol number in a capture and load the module it needs (lsmod, modprobe), or stop the sender."),
        ("PROTO_MEM", "The protocol's global memory limit was reached (for example udp_mem or tcp_mem), so the packet could not be queued.", "Compare usage in /proc/net/sockstat with sysctl net.ipv4.udp_mem and net.ipv4.tcp_mem, then raise the limit or find the sockets that do not read."),
        ("TCP_AUTH_HDR", "The TCP segment carried TCP-MD5 or TCP-AO signature options twice or malformed.", "Check the peer's TCP-MD5 or TCP-AO configuration (for example the BGP neighbour password setup)."),
        ("TCP_MD5NOTFOUND", "This connection requires a TCP-MD5 signature but the segment had none.", "Configure the same MD5 password on the peer (typical for BGP sessions); nstat -az TcpExtTCPMD5NotFound counts these."),
        ("TCP_MD5UNEXPECTED", "The segment carried a TCP-MD5 signature but no MD5 key is configured for this peer.", "Configure the key on this host or remove it on the peer; nstat -az TcpExtTCPMD5Unexpected counts these."),
        ("TCP_MD5FAILURE", "The segment's TCP-MD5 signature did not match: the passwords differ or the packet was altered on the way.", "Make sure both ends use the same MD5 password; nstat -az TcpExtTCPMD5Failure counts these."),
        ("TCP_AONOTFOUND", "This connection requires TCP-AO authentication but the segment had no TCP-AO option.", "Configure matching TCP-AO keys on the peer; nstat -az TcpExtTCPAORequired counts these."),
        ("TCP_AOUNEXPECTED", "The segment carried a TCP-AO option but this socket expects no TCP-AO.", "Align the TCP-AO configuration of both ends; check the peer's key setup."),
        ("TCP_AOKEYNOTFOUND", "The segment was signed with a TCP-AO key id that this host does not know.", "Install the matching key (same send and receive ids) here or fix the peer; nstat -az TcpExtTCPAOKeyNotFound counts these."),
        ("TCP_AOFAILURE", "The segment's TCP-AO signature was wrong: the keys differ or the packet was altered on the way.", "Check that both ends use identical TCP-AO keys and algorithms; nstat -az TcpExtTCPAOBad counts these."),
        ("SOCKET_BACKLOG", "The socket was busy in its application and its backlog queue was over the limit, so the incoming packet was dropped.", "The application holds the socket too long or reads too slowly; raise SO_RCVBUF or net.ipv4.tcp_rmem and watch nstat -az TcpExtTCPBacklogDrop."),
        ("TCP_FLAGS", "The TCP segment had flags that make no sense for the connection's state.", "Often port scans or broken middleboxes; capture the peer's traffic (tcpdump -i IFACE host SRC) to see the flags."),
        ("TCP_ABORT_ON_DATA", "Data arrived on a connection the application had already closed, so the kernel reset the connection.", "The application closed while its peer was still sending; check its shutdown logic (nstat -az TcpExtTCPAbortOnData counts these)."),
        ("TCP_ZEROWINDOW", "Data arrived while this host advertised a zero receive window, because the application is not reading.", "Find the slow reader (ss -tnpi shows Recv-Q per connection) and make it read faster; nstat -az TcpExtTCPZeroWindowDrop counts these."),
        ("TCP_OLD_DATA", "The segment only carried data that had already been received (a retransmission, often after a lost or late ACK).", "Usually harmless; many of them point to ACK loss or delay on the path (nstat -az TcpExtDelayedACKLost)."),
        ("TCP_OVERWINDOW", "The segment's data started beyond the right edge of the advertised receive window.", "Usually a misbehaving peer or a middlebox that mangles window scaling; capture the handshake (tcpdump -i IFACE -vv) to compare window scale options."),
        ("TCP_OFOMERGE", "An out-of-order segment only carried data already waiting in the out-of-order queue (a duplicate).", "Harmless alone; many point to reordering or spurious retransmissions on the path (nstat -az TcpExtTCPOFOMerge)."),
        ("TCP_RFC7323_PAWS", "The segment's TCP timestamp was older than the last one seen (PAWS check), so it was treated as an old duplicate.", "Look for NAT that puts several hosts behind one address or a peer whose timestamps jumped; nstat -az | grep -i paws shows the counters."),
        ("TCP_RFC7323_PAWS_ACK", "A pure ACK failed the PAWS timestamp check (an old ACK), so it was ignored.", "Usually harmless reordering; if it persists check NAT or the peer's timestamps (nstat -az | grep -i paws)."),
        ("TCP_RFC7323_TW_PAWS", "A segment for a connection in TIME_WAIT failed the PAWS timestamp check.", "Typical of clients behind NAT that reuse ports quickly; nstat -az | grep -i paws shows the counters."),
        ("TCP_RFC7323_TSECR", "The segment echoed a timestamp (TSecr) that this host never sent.", "Usually a broken middlebox or peer that rewrites TCP timestamps; nstat -az | grep -i tsecr shows the counter."),
        ("TCP_LISTEN_OVERFLOW", "A listening socket's accept queue was full, so a new connection attempt was dropped.", "The application accepts too slowly or its backlog is small: compare Recv-Q with Send-Q in ss -ltn, then raise the listen() backlog and net.core.somaxconn."),
        ("TCP_OLD_SEQUENCE", "The segment's sequence numbers lay entirely before the receive window (an old duplicate).", "Usually harmless retransmissions; if frequent, look for packet duplication on the path."),
        ("TCP_INVALID_SEQUENCE", "The segment's sequence number was outside the acceptable receive window.", "Look for reordering, middleboxes that rewrite sequence numbers, or spoofed packets; nstat -az TcpExtBeyondWindow counts these on recent kernels."),
        ("TCP_INVALID_END_SEQUENCE", "The segment's data ended beyond the receive window this host offered.", "Usually a peer or middlebox that ignores the advertised window; nstat -az TcpExtBeyondWindow counts these."),
        ("TCP_INVALID_ACK_SEQUENCE", "The segment acknowledged data outside the range that was sent and not yet acknowledged.", "Often a stale or spoofed segment; if frequent, capture it (tcpdump -i IFACE -vv) and look for middleboxes that rewrite sequence numbers."),
        ("TCP_RESET", "A TCP reset was ignored because its sequence number did not fit the connection (protection against blind resets).", "Usually a stale or spoofed RST; nstat -az TcpExtTCPChallengeACK shows the challenge ACKs sent in reply."),
        ("TCP_INVALID_SYN", "A SYN arrived on a connection that is already synchronised.", "Often a peer that restarted and reuses the same ports, or NAT port reuse; the host answers with a challenge ACK."),
        ("TCP_CLOSE", "The segment arrived for a TCP socket already in CLOSE state.", "Usually late packets after a connection ended; harmless unless frequent."),
        ("TCP_FASTOPEN", "The segment was dropped while a TCP Fast Open request socket handled it.", "Check the TCP Fast Open setting (sysctl net.ipv4.tcp_fastopen) and the peer's TFO behaviour."),
        ("TCP_OLD_ACK", "The ACK was older than the latest one seen but still inside the window, so it was ignored.", "Usually reordering on the path; harmless unless frequent."),
        ("TCP_TOO_OLD_ACK", "The ACK was far older than anything still unacknowledged, so it was ignored.", "Look for stale duplicates or middleboxes that replay or rewrite packets."),
        ("TCP_ACK_UNSENT_DATA", "The ACK acknowledged data this host has not sent yet.", "Points to a broken or spoofing peer or a middlebox that rewrites sequence numbers; capture it with tcpdump -i IFACE -vv."),
        ("TCP_OFO_QUEUE_PRUNE", "The kernel pruned the TCP out-of-order queue to free memory because the socket was over its receive buffer.", "The socket is short of receive memory: raise net.ipv4.tcp_rmem (or SO_RCVBUF) and check for loss or heavy reordering (nstat -az TcpExtOfoPruned)."),
        ("TCP_OFO_DROP", "An out-of-order segment could not be kept: no receive memory was left for it, or its data was already received.", "Check receive memory (net.ipv4.tcp_rmem) and reordering on the path; nstat -az TcpExtTCPOFODrop counts these."),
        ("IP_OUTNOROUTES", "No route was found to send the packet out.", "Check routing for the destination: ip route get DEST (and ip rule show for policy routing)."),
        ("BPF_CGROUP_EGRESS", "An eBPF program attached to the sender's cgroup (cgroup_skb egress) rejected the packet.", "List cgroup BPF programs with bpftool cgroup tree and check the container runtime or security agent that installed them."),
        ("IPV6DISABLED", "IPv6 is disabled on the interface or system-wide, so the IPv6 packet was dropped.", "Check sysctl net.ipv6.conf.all.disable_ipv6 and net.ipv6.conf.IFACE.disable_ipv6, and set them to 0 if IPv6 is wanted."),
        ("NEIGH_CREATEFAIL", "The kernel could not create a neighbour (ARP/NDP) entry for the next hop, usually because the neighbour table is full.", "Compare ip neigh show | wc -l with sysctl net.ipv4.neigh.default.gc_thresh3 (and the ipv6 one) and raise it if needed."),
        ("NEIGH_FAILED", "Address resolution (ARP/NDP) for the next hop failed: the neighbour did not answer.", "Check that the next hop is up and on the link: ip neigh show (FAILED entries), then arping or ping it."),
        ("NEIGH_QUEUEFULL", "Too many packets were waiting for ARP/NDP resolution of one next hop, so the extra ones were dropped.", "Find out why resolution is slow (ip neigh show) and raise net.ipv4.neigh.IFACE.unres_qlen_bytes if the bursts are legitimate."),
        ("NEIGH_DEAD", "The neighbour entry of the next hop was being removed (for example the interface went down) when the packet tried to use it.", "Usually transient during interface or route changes; ip monitor neigh shows the churn."),
        ("NEIGH_HH_FILLFAIL", "The link-layer (for example Ethernet) header could not be built for the next hop, so the packet could not be sent.", "Check the outgoing device and its driver (ip -d link show IFACE) and the neighbour entry (ip neigh show dev IFACE)."),
        ("TC_EGRESS", "A traffic-control (tc) filter, action or eBPF program on the egress path dropped the packet.", "List what is attached: tc filter show dev IFACE egress and bpftool net show; check the CNI or eBPF tool that installed it."),
        ("SECURITY_HOOK", "A security module hook (such as SELinux or AppArmor network controls) denied the packet.", "Look for denials in the audit log: ausearch -m avc -ts recent or journalctl -k | grep -i denied."),
        ("QDISC_DROP", "The queueing discipline (qdisc) of the outgoing interface refused the packet because its queue was full.", "See the qdisc's drop counters with tc -s qdisc show dev IFACE; raise its limit or txqueuelen, or reduce the sending rate."),
        ("QDISC_OVERLIMIT", "The qdisc on the interface exceeded its total buffer limit and dropped the packet.", "Check tc -s qdisc show dev IFACE (dropped, overlimits) and raise the qdisc limit if the bursts are legitimate."),
        ("QDISC_CONGESTED", "An active queue management algorithm (such as CoDel, fq_codel or PIE) dropped the packet to signal congestion.", "Expected under load; check tc -s qdisc show dev IFACE and consider ECN or more bandwidth if it is frequent."),
        ("CAKE_FLOOD", "The CAKE qdisc's flood protection (BLUE) dropped the packet from a flow that ignores congestion signals.", "Find the unresponsive flow (tc -s qdisc show dev IFACE) and rate-limit or fix its sender."),
        ("FQ_BAND_LIMIT", "The fq qdisc reached the packet limit of the priority band this packet belongs to.", "Check tc -s qdisc show dev IFACE and raise the fq limits if the traffic is legitimate."),
        ("FQ_HORIZON_LIMIT", "The fq qdisc dropped the packet because its departure time was too far in the future (beyond the horizon).", "Check applications that set SO_TXTIME or pacing timestamps, or raise the horizon (tc qdisc change dev IFACE root fq horizon ...)."),
        ("FQ_FLOW_LIMIT", "A single flow exceeded its packet limit in the fq qdisc (flow_limit).", "Check tc -s qdisc show dev IFACE; raise flow_limit if one bulk flow is expected, or slow that sender."),
        ("CPU_BACKLOG", "The per-CPU input backlog was full (or the RPS flow limit was hit), so the received packet was dropped.", "Check the second column of /proc/net/softnet_stat, raise net.core.netdev_max_backlog (sysctl -w net.core.netdev_max_backlog=...) and spread load with RSS/RPS."),
        ("XDP", "An XDP program on the receiving interface (in generic, skb mode) dropped the packet.", "List XDP programs with ip link show IFACE or bpftool net show, and check the tool that loaded them."),
        ("TC_INGRESS", "A traffic-control (tc) filter, action or eBPF program on the ingress path dropped the packet.", "List what is attached: tc filter show dev IFACE ingress and bpftool net show; check the CNI or eBPF tool that installed it."),
        ("UNHANDLED_PROTO", "No handler exists for the packet's protocol (an EtherType, IP version or extension the kernel does not support or has not loaded).", "Check the protocol in a capture (tcpdump -e -i IFACE) and load the module it needs, or stop the sender."),
        ("PTYPE_ABSENT", "No handler exists for the packet's protocol (name used by early kernels for UNHANDLED_PROTO).", "Check the protocol in a capture (tcpdump -e -i IFACE) and load the module it needs, or stop the sender."),
        ("SKB_CSUM", "Computing or verifying the packet checksum failed in the kernel's generic checksum code.", "Try disabling checksum offload (ethtool -K IFACE rx off tx off) and check the driver and any tunnel on the path."),
        ("SKB_GSO_SEG", "Splitting a large (GSO) packet into segments failed.", "Check the offloads on the path (ethtool -k IFACE) and try ethtool -K IFACE gso off tso off to isolate a driver or tunnel problem."),
        ("SKB_UCOPY_FAULT", "Copying the packet's data from user space failed (a bad user buffer, or zero-copy pages that could not be used).", "Look at the sending application (invalid buffers, MSG_ZEROCOPY use) and at the drop location."),
        ("DEV_HDR", "The device driver's own header or metadata for the packet was invalid (for example a bad virtio-net or tun/tap header).", "Check the driver and the user-space side that builds the header (the VMM or VPN software behind the tun/tap device)."),
        ("DEV_READY", "The network device was not ready to send or receive (down, not fully set up, or a tun/tap queue without a reader).", "Check the interface is up (ip link show IFACE); for tun/tap make sure the program that opened it is still running."),
        ("FULL_RING", "A device queue was full (for example a tun/tap or veth ring whose reader is too slow).", "The consumer of that device is too slow: check the program or VM reading it, and ring sizes with ethtool -g IFACE."),
        ("NOMEM", "The kernel could not allocate memory while processing the packet.", "Check memory pressure: free -m, /proc/net/sockstat and dmesg for allocation failures; consider raising vm.min_free_kbytes."),
        ("HDR_TRUNC", "A protocol header could not be read: the packet is shorter than the header or its data could not be pulled into place.", "Capture the packet (tcpdump -i IFACE -vv) and check the sender or tunnel for truncated or malformed packets."),
        ("TAP_FILTER", "An eBPF filter attached to a tun/tap device (TUNSETFILTEREBPF) dropped the packet.", "Check the program that owns the tun/tap device (VMM, VPN) and its filter configuration."),
        ("TAP_TXFILTER", "The tun/tap device's address filter (set with TUNSETTXFILTER) rejected the packet.", "Check the filter set by the tun/tap owner, usually a VMM that filters MAC addresses for its guest."),
        ("ICMP_CSUM", "The ICMP checksum was wrong (corrupted packet).", "Check the link and NIC for errors (ip -s link show IFACE, ethtool -S IFACE) and the sender."),
        ("INVALID_PROTO", "The packet broke a protocol rule (for example an ICMP timestamp request sent to a broadcast address).", "Capture it (tcpdump -i IFACE -vv) and check the sender; often scans or misconfigured devices."),
        ("IP_INADDRERRORS", "The destination address is not one this host may receive or forward (host unreachable).", "Check the destination against ip addr and ip route get DEST; nstat -az IpInAddrErrors Ip6InAddrErrors counts these."),
        ("IP_INNOROUTES", "No route was found for a received packet, so it could be neither delivered nor forwarded (network unreachable).", "Check routing for it: ip route get DEST from SRC iif IFACE; enable net.ipv4.ip_forward if this host should route."),
        ("IP_LOCAL_SOURCE", "The received packet claims a source address that belongs to this host (a looped or spoofed packet).", "Look for a network loop or a spoofing sender; set net.ipv4.conf.IFACE.accept_local=1 only if this is intended."),
        ("IP_INVALID_SOURCE", "The packet's source address is invalid (multicast, limited broadcast, or zero where that is not allowed).", "Find the misbehaving sender from a capture (tcpdump -e -i IFACE shows its MAC address)."),
        ("IP_LOCALNET", "A loopback address (127.0.0.0/8) appeared as source or destination on a non-loopback interface.", "Usually spoofing or misrouting; set net.ipv4.conf.IFACE.route_localnet=1 only if you route loopback addresses on purpose."),
        ("IP_INVALID_DEST", "The packet's destination address is invalid (for example 0.0.0.0).", "Find the misbehaving sender from a capture (tcpdump -e -i IFACE shows its MAC address)."),
        ("PKT_TOO_BIG", "The packet was larger than the MTU allows and could not be fragmented.", "Check the MTUs on the path (ip link show, tracepath DEST) and that ICMP fragmentation-needed and packet-too-big messages are not blocked."),
        ("DUP_FRAG", "A duplicate IP fragment arrived for a datagram being reassembled.", "Usually harmless; many point to duplication on the path or a fragment attack."),
        ("FRAG_REASM_TIMEOUT", "Reassembly of a fragmented datagram timed out because some of its fragments never arrived.", "Fragments are lost on the path: avoid fragmentation (fix MTU and path MTU discovery) and check how firewalls treat fragments."),
        ("FRAG_TOO_FAR", "An IPv4 fragment arrived too far out of order relative to other fragments from the same source.", "Heavy reordering or many fragments from one source; raise sysctl net.ipv4.ipfrag_max_dist (0 disables the check)."),
        ("TCP_MINTTL", "The packet's TTL or hop limit was below the minimum set on the socket (IP_MINTTL or IPV6_MINHOPCOUNT, as used by BGP TTL security).", "Check that the peer is as close as expected and the application's minimum TTL setting (BGP ttl-security or GTSM)."),
        ("IPV6_BAD_EXTHDR", "An IPv6 extension header was malformed or not allowed.", "Capture the packet (tcpdump -i IFACE -vv) and check the sender; nstat -az Ip6InHdrErrors counts related errors."),
        ("IPV6_NDISC_FRAG", "A fragmented IPv6 neighbour discovery message was dropped.", "Check the sender; sysctl net.ipv6.conf.IFACE.suppress_frag_ndisc controls this behaviour."),
        ("IPV6_NDISC_HOP_LIMIT", "An IPv6 neighbour discovery message arrived with a hop limit other than 255, so it may come from another network.", "Look for a router that forwards neighbour discovery or for spoofed messages (tcpdump -i IFACE -vv icmp6)."),
        ("IPV6_NDISC_BAD_CODE", "An IPv6 neighbour discovery message had an invalid ICMPv6 code.", "Check the sender with a capture: tcpdump -i IFACE -vv icmp6."),
        ("IPV6_NDISC_BAD_OPTIONS", "An IPv6 neighbour discovery message had invalid options.", "Check the sender with a capture: tcpdump -i IFACE -vv icmp6."),
        ("IPV6_NDISC_NS_OTHERHOST", "An IPv6 neighbour solicitation asked for an address that is not on this host.", "Normal on shared links; only act if that address should be here (ip -6 addr show)."),
        ("QUEUE_PURGE", "A whole queue of packets was freed at once, for example when a socket or device was torn down.", "Usually a normal side effect of closing sockets or removing devices; the drop location shows which queue."),
        ("TC_COOKIE_ERROR", "Traffic control could not process the cookie attached to the packet (an internal tc error).", "Check the tc filters and actions on the interface (tc filter show dev IFACE) and the kernel log (dmesg)."),
        ("PACKET_SOCK_ERROR", "A packet socket (AF_PACKET, used by tcpdump, DHCP clients and the like) matched the packet but could not queue it.", "A capture or raw-socket program reads too slowly; give it a larger buffer (tcpdump -B) or find it with ss -0 -p."),
        ("TC_CHAIN_NOTFOUND", "A traffic-control action jumped to a filter chain that does not exist.", "Fix the tc configuration: tc chain show dev IFACE and tc filter show dev IFACE."),
        ("TC_RECLASSIFY_LOOP", "Traffic control reclassified the packet too many times (a loop in the filters and actions).", "Look for reclassify loops in the tc configuration: tc filter show dev IFACE."),
        ("VXLAN_INVALID_HDR", "A received VXLAN packet had an invalid header (reserved bits set or the VNI flag missing).", "Check that the sender's VXLAN options match this device (ip -d link show type vxlan)."),
        ("VXLAN_VNI_NOT_FOUND", "A VXLAN packet arrived for a VNI that no local VXLAN device serves.", "Compare the packet's VNI with the local devices: ip -d link show type vxlan."),
        ("MAC_INVALID_SOURCE", "The frame's source MAC address is invalid (for example multicast or all zeros).", "Find the misbehaving sender from a capture (tcpdump -e -i IFACE)."),
        ("VXLAN_ENTRY_EXISTS", "A VXLAN forwarding entry could not be moved to the packet's source because it is static or points to a nexthop.", "Check the VXLAN forwarding database: bridge fdb show dev IFACE."),
        ("NO_TX_TARGET", "No target was found to transmit the packet to (for example no lower device or tunnel remote).", "Check the virtual device's configuration and its lower or remote devices: ip -d link show IFACE and bridge fdb show."),
        ("IP_TUNNEL_ECN", "A tunnel dropped the packet while decapsulating because its outer ECN mark cannot be carried by the inner packet (RFC 6040).", "Check ECN settings on the tunnel endpoints: the outer header was marked congested but the inner packet is not ECN-capable."),
        ("TUNNEL_TXINFO", "A packet without the required tunnel metadata reached a tunnel device in external (collect_md) mode.", "Whatever feeds that device (eBPF, Open vSwitch, tc tunnel_key) must set the tunnel key; check ip -d link show IFACE."),
        ("LOCAL_MAC", "The frame's source MAC address equals this device's own MAC address (a loop or a reflected frame).", "Look for a network loop or a duplicate MAC address (ip link show, the switch topology)."),
        ("ARP_PVLAN_DISABLE", "A non-IP packet (such as ARP) would have been routed back out the interface it arrived on, which needs private VLAN proxy ARP.", "Normal unless you run proxy ARP for private VLANs; then set sysctl net.ipv4.conf.IFACE.proxy_arp_pvlan=1."),
        ("MAC_IEEE_MAC_CONTROL", "The frame was sent to the IEEE MAC Control address (01:80:C2:00:00:01, pause frames), which must not be forwarded.", "Normal for pause frames reaching a bridge; check flow control with ethtool -a IFACE if frequent."),
        ("BRIDGE_INGRESS_STP_STATE", "The bridge port's spanning tree state (blocking, listening or disabled) does not allow it to forward frames.", "Check the port states with bridge link show; wait for STP to converge or fix the topology."),
        ("CAN_RX_INVALID_FRAME", "A received CAN frame was malformed, or the device cannot receive classic CAN frames.", "Check the CAN interface's mode and MTU (ip -d link show IFACE) and the sender."),
        ("CANFD_RX_INVALID_FRAME", "A received CAN FD frame was malformed, or the device is not set up to receive CAN FD frames.", "Check the CAN interface's mode and MTU (ip -d link show IFACE; CAN FD needs mtu 72) and the sender."),
        ("CANXL_RX_INVALID_FRAME", "A received CAN XL frame was malformed, or the device is not set up to receive CAN XL frames.", "Check the CAN interface's mode and MTU (ip -d link show IFACE) and the sender."),
        ("PFMEMALLOC", "The packet was allocated from emergency memory reserves and reached a socket or path that may not use them.", "The host is under memory pressure: check free -m and vm.min_free_kbytes; these drops stop once memory is available again."),
        ("DUALPI2_STEP_DROP", "The DualPI2 qdisc dropped the packet because its queue passed the step threshold.", "Check tc -s qdisc show dev IFACE; the low-latency (L4S) queue is overloaded, review its step_thresh setting."),
        ("PSP_INPUT", "A received packet failed the PSP encryption checks of its connection (for example it arrived unencrypted on a secured connection).", "Check the PSP setup on both ends and the NIC's PSP offload; the drop location shows the failing check."),
        ("PSP_OUTPUT", "An outgoing packet failed the PSP encryption checks (for example it would leave unencrypted through a device without PSP).", "Check the PSP setup and that the route goes through the PSP-capable device; the drop location shows the failing check."),
        ("RECURSION_LIMIT", "The packet looped through virtual devices (tunnels, bridges, veth) too many times and hit the recursion limit.", "Look for a routing or encapsulation loop between virtual devices: ip route get DEST and ip -d link show."),
        ("BLACKHOLE", "The packet matched a blackhole route and was discarded on purpose.", "Check the routes: ip route show type blackhole (and ip -6 route show type blackhole); remove the route if it is unintended."),
        // Open vSwitch (enum ovs_drop_reason, in the openvswitch module's BTF, net/openvswitch/drop.h).
        ("OVS_DROP_LAST_ACTION", "Open vSwitch dropped the packet because its datapath flow ended without an output action.", "Find the flow that matched (ovs-appctl dpctl/dump-flows shows actions:drop or no output) and trace it with ovs-appctl ofproto/trace."),
        ("OVS_DROP_ACTION_ERROR", "Open vSwitch dropped the packet because one of its flow actions failed (for example a header push, pop or set that did not fit the packet).", "Look for the failing action in ovs-appctl dpctl/dump-flows and in the ovs-vswitchd log (journalctl -u ovs-vswitchd)."),
        ("OVS_DROP_EXPLICIT", "An OpenFlow rule dropped the packet on purpose (an explicit drop action in the datapath flow).", "Find the rule: ovs-ofctl dump-flows BRIDGE lists the rules with actions=drop, and ovs-appctl ofproto/trace shows which one matched."),
        ("OVS_DROP_EXPLICIT_WITH_ERROR", "Open vSwitch dropped the packet on purpose because translating its OpenFlow actions failed (for example too many resubmits or a loop).", "ovs-appctl coverage/show counts the translation errors (drop_action_*), and ovs-appctl ofproto/trace shows where the pipeline failed."),
        ("OVS_DROP_METER", "An OpenFlow meter dropped the packet because its flow exceeded the configured rate.", "Check the meter bands and counters: ovs-ofctl -O OpenFlow13 dump-meters BRIDGE and ovs-ofctl -O OpenFlow13 meter-stats BRIDGE."),
        ("OVS_DROP_RECURSION_LIMIT", "Open vSwitch dropped the packet because its actions recursed too deeply (recirculation or nested actions beyond the datapath's limit).", "Look for recirculation loops in the datapath flows (ovs-appctl dpctl/dump-flows, recirc_id) and trace them with ovs-appctl ofproto/trace."),
        ("OVS_DROP_DEFERRED_LIMIT", "Open vSwitch dropped the packet because too many of its actions were deferred at once (the datapath's deferred-action queue was full).", "Too many recirculations or sample actions per packet: review the datapath flows with ovs-appctl dpctl/dump-flows."),
        ("OVS_DROP_FRAG_L2_TOO_LONG", "Open vSwitch could not fragment the packet for its output port because the layer-2 header was too long.", "Make the port MTUs fit the traffic so that no fragmentation is needed (ovs-vsctl list interface, ip link show), or shorten the encapsulation."),
        ("OVS_DROP_FRAG_INVALID_PROTO", "Open vSwitch was asked to fragment a packet that is neither IPv4 nor IPv6, so it dropped it.", "Compare the output port's MTU (ovs-vsctl list interface, ip link show) with the packet sizes of that traffic."),
        ("OVS_DROP_CONNTRACK", "The connection-tracking action (ct) of Open vSwitch failed for the packet.", "Inspect the tracked connections (ovs-appctl dpctl/dump-conntrack) and the conntrack limit (sysctl net.netfilter.nf_conntrack_max)."),
        ("OVS_DROP_IP_TTL", "Open vSwitch dropped the packet because a TTL decrement (dec_ttl action) found it expired.", "Look for a forwarding loop through the switch; ovs-appctl ofproto/trace shows the path with its dec_ttl actions."),
        ("MAX", "Not a drop reason: the end marker of the kernel's list of reasons.", "Nothing to do; if it is ever counted as a drop, report it as a packet-monitor bug."),
        ("SUBSYS_MASK", "Not a drop reason: the mask that selects the subsystem bits of a reason code.", "Nothing to do; if it is ever counted as a drop, report it as a packet-monitor bug."),
    ];

    private static readonly FrozenDictionary<string, ReasonInfo> ByName = Table
        .Select(r => new ReasonInfo(r.Name, r.Explanation, r.Hint, IsGeneric: false))
        .ToFrozenDictionary(r => r.Name, StringComparer.OrdinalIgnoreCase);

    private static readonly FrozenDictionary<string, ReasonInfo>.AlternateLookup<ReadOnlySpan<char>> BySpan =
        ByName.GetAlternateLookup<ReadOnlySpan<char>>();

    private static readonly ReadOnlyCollection<string> Names = Array.AsReadOnly(Table.Select(r => r.Name).ToArray());

    // Reasons of other subsystems carry their own enum's names (since Linux 6.4 the top 16 bits select the subsystem).
    private static readonly (string Prefix, string Explanation, string Hint)[] Subsystems =
    [
        ("OVS_", "Open vSwitch dropped the packet ({0}): a datapath flow action, meter, conntrack check or limit discarded it.", "Inspect the datapath flows and counters: ovs-appctl dpctl/dump-flows and ovs-appctl coverage/show."),
        ("SUBSYS_OPENVSWITCH", "Open vSwitch dropped the packet ({0}): a datapath flow action, meter, conntrack check or limit discarded it.", "Inspect the datapath flows and counters: ovs-appctl dpctl/dump-flows and ovs-appctl coverage/show."),
        ("RX_DROP_", "The Wi-Fi stack (mac80211) discarded the received frame ({0}), for example because a decryption, replay or protection check failed.", "Check the wireless link and its security setup: iw dev IFACE link, iw dev IFACE station dump and dmesg."),
        ("MAC80211_", "The Wi-Fi stack (mac80211) discarded the received frame ({0}), for example because a decryption, replay or protection check failed.", "Check the wireless link and its security setup: iw dev IFACE link, iw dev IFACE station dump and dmesg."),
        ("SUBSYS_MAC80211", "The Wi-Fi stack (mac80211) discarded the received frame ({0}), for example because a decryption, replay or protection check failed.", "Check the wireless link and its security setup: iw dev IFACE link, iw dev IFACE station dump and dmesg."),
    ];

    /// <summary>Every name with a specific description, in kernel order (older and newer kernels' names included).</summary>
    public static IReadOnlyCollection<string> KnownNames => Names;

    /// <summary>True when <paramref name="name"/> has a specific (not generic) description.</summary>
    public static bool IsKnown(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return TryGetSpecific(name, out _);
    }

    /// <summary>
    /// The explanation and hint for a reason name; case-insensitive, with or without the
    /// <c>SKB_DROP_REASON_</c> prefix. Never fails: unknown names get a generic text built from the name.
    /// </summary>
    public static ReasonInfo Describe(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (TryGetSpecific(name, out var info))
            return info;

        string shown = Canonical(name);
        foreach (var (prefix, explanation, hint) in Subsystems)
        {
            if (shown.StartsWith(prefix, StringComparison.Ordinal))
                return new ReasonInfo(shown, string.Format(System.Globalization.CultureInfo.InvariantCulture, explanation, shown), hint, IsGeneric: true);
        }
        return new ReasonInfo(
            shown,
            $"The kernel dropped the packet for reason {shown} (no description in this version of packet-monitor).",
            IsIdentifier(shown)
                ? $"Look at the drop location to see which kernel function dropped it, and search the kernel source for SKB_DROP_REASON_{shown} (include/net/dropreason-core.h)."
                : "Look at the drop location to see which kernel function dropped it; the kernel's reason names were not available.",
            IsGeneric: true);
    }

    private static bool TryGetSpecific(string name, out ReasonInfo info)
    {
        ReadOnlySpan<char> key = StripPrefix(name.AsSpan().Trim());
        if (BySpan.TryGetValue(key, out info!))
            return true;
        // SKB_CONSUMED and SKB_NOT_DROPPED_YET carry only an SKB_ prefix in the kernel's enum.
        return key.StartsWith("SKB_", StringComparison.OrdinalIgnoreCase) && BySpan.TryGetValue(key[4..], out info!);
    }

    private static ReadOnlySpan<char> StripPrefix(ReadOnlySpan<char> name) =>
        name.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase) ? name[Prefix.Length..] : name;

    /// <summary>The name as shown in a generic text: trimmed, prefix removed, upper case, printable, bounded.</summary>
    private static string Canonical(string name)
    {
        ReadOnlySpan<char> key = StripPrefix(name.AsSpan().Trim());
        if (key.IsEmpty)
            return "(unnamed)";
        var sb = new StringBuilder(Math.Min(key.Length, MaxShownNameLength + 3));
        // Names are upper case; the hex number of a SUBSYS_NAME:0x000c placeholder keeps its case.
        bool afterColon = false;
        foreach (char c in key[..Math.Min(key.Length, MaxShownNameLength)])
        {
            afterColon |= c == ':';
            sb.Append(char.IsControl(c) || char.IsWhiteSpace(c) ? '?' : afterColon ? c : char.ToUpperInvariant(c));
        }
        if (key.Length > MaxShownNameLength)
            sb.Append("...");
        return sb.ToString();
    }

    private static bool IsIdentifier(string name) =>
        char.IsAsciiLetterUpper(name[0]) && name.All(c => char.IsAsciiLetterUpper(c) || char.IsAsciiDigit(c) || c == '_');
}
