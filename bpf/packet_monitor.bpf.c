// SPDX-License-Identifier: GPL-2.0
/*
 * packet-monitor: one event per packet the kernel drops.
 *
 * Attached to the skb:kfree_skb tracepoint in one of three ways (userspace
 * picks the first that loads): tp_btf (typed arguments, direct loads),
 * raw_tp, or the classic tracepoint. All three share handle_drop():
 *   1. skip frees that are not drops (SKB_CONSUMED, NOT_DROPPED_YET);
 *   2. read device, namespace and the IPv4/IPv6 + TCP/UDP/ICMP headers;
 *   3. bump the exact per-CPU counters (before any filter or loss);
 *   4. apply the run-time filters from the `config` map;
 *   5. reserve one ring-buffer record, fill it, copy the first snap_len bytes
 *      of the packet, and wake userspace only when enough data is pending;
 *   6. for events only: attribute the drop to the socket that owned the packet
 *      (cookie, cgroup, inode) and, when asked, record the kernel stack.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include "kernel_types.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "drop_event.h"

char LICENSE[] SEC("license") = "GPL";

#define HEADER_UNSET 0xffff
#define IPPROTO_ICMPV6_ 58
#define IPV6_MAX_EXT_HEADERS 6
/* Socket states whose struct is only a sock_common (tcp_states.h, stable values). */
#define TCP_TIME_WAIT_ 6
#define TCP_NEW_SYN_RECV_ 12

/* Fixed at load time; userspace writes it before loading. */
const volatile struct load_config cfg = {
	.snap_len = 128,
	.wakeup_events = 0,
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024 * 1024); /* resized by userspace before load */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct counter_key);
	__type(value, struct counter_value);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LOSS_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} losses SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct filter_config);
} config SEC(".maps");

/* Events submitted on this CPU since it last woke userspace. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} unwoken SEC(".maps");

/* Reasons listed by --reason / --exclude-reason (the map's value is unused). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} reason_filter SEC(".maps");

/*
 * Kernel stacks (--stacks): ids from bpf_get_stackid(), read and symbolized by userspace.
 * No BPF_F_REUSE_STACKID: an id never changes its stack, so userspace caches it for good.
 * One entry unless userspace sizes it (only when stacks are on: it is preallocated).
 */
struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, MAX_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

/* Reasons listed by --stacks-for (the map's value is unused). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} stack_reasons SEC(".maps");

/* Keeps struct drop_event in the object's BTF, where the ABI test reads it. */
struct drop_event *drop_event_abi __attribute__((unused));

/* What handle_drop() learns from the packet before deciding to emit. */
struct packet_info {
	__u8 src_addr[16];
	__u8 dst_addr[16];
	__u32 pkt_len;
	__u32 l3_offset_abs; /* offset of the network header from skb->head */
	__u16 l3_proto;
	__u16 src_port;
	__u16 dst_port;
	__u8 ip_proto;
	__u8 flags;
	__u8 icmp_type;
	__u8 icmp_code;
};

/*
 * Read a field of the skb (or of a struct it points to): a direct load when
 * the program has BTF-typed arguments (tp_btf), a CO-RE probe read otherwise.
 * `typed` is a compile-time constant in each caller, so the unused branch is
 * removed and the verifier of raw_tp/tracepoint never sees a direct load.
 */
#define READ(typed, ptr, field) ((typed) ? (ptr)->field : BPF_CORE_READ(ptr, field))

static __always_inline void inc_loss(__u32 slot)
{
	__u64 *value = bpf_map_lookup_elem(&losses, &slot);
	if (value)
		*value += 1;
}

static __always_inline void count_drop(__u32 reason, __u32 ifindex, __u32 netns, __u8 ip_proto,
				       __u64 location, __u32 bytes)
{
	struct counter_key key = { .reason = reason, .ifindex = ifindex, .netns = netns,
				   .ip_proto = ip_proto, .location = location };
	struct counter_value *value = bpf_map_lookup_elem(&counters, &key);
	if (!value) {
		struct counter_value zero = {};
		/* BPF_NOEXIST: another CPU may have created the entry meanwhile. */
		bpf_map_update_elem(&counters, &key, &zero, BPF_NOEXIST);
		value = bpf_map_lookup_elem(&counters, &key);
		if (!value)
			return; /* map full: the loss shows as a gap against /proc counters */
	}
	/* Per-CPU value: no atomics needed. */
	value->packets += 1;
	value->bytes += bytes;
}

/*
 * The network header and what follows, read with one probe: enough for IPv4 without
 * options or IPv6 without extension headers plus the first 8 bytes of L4. Reading a little
 * past the packet's tail stays inside the skb's buffer; fields beyond tail are not used.
 */
#define HEADER_PEEK 48

/* L4 fields from 4 bytes at `l4`. */
static __always_inline void parse_l4(const __u8 *l4, struct packet_info *info)
{
	switch (info->ip_proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_SCTP:
	case IPPROTO_UDPLITE:
		info->src_port = (__u16)l4[0] << 8 | l4[1];
		info->dst_port = (__u16)l4[2] << 8 | l4[3];
		info->flags |= EVENT_HAS_L4;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6_:
		info->icmp_type = l4[0];
		info->icmp_code = l4[1];
		info->flags |= EVENT_HAS_L4;
		break;
	}
}

/* L4 fields read from the packet at `off` (the rarer paths: IP options, extension headers). */
static __always_inline void read_l4(unsigned char *head, __u32 off, __u32 tail, struct packet_info *info)
{
	__u8 l4[4];

	if (off + sizeof(l4) > tail) {
		info->flags |= EVENT_TRUNCATED;
		return;
	}
	if (!bpf_probe_read_kernel(l4, sizeof(l4), head + off))
		parse_l4(l4, info);
}

static __always_inline void parse_ipv4(unsigned char *head, __u32 off, __u32 tail, const __u8 *hdr,
				       struct packet_info *info)
{
	__u32 ihl = hdr[0] & 0x0f;
	if ((hdr[0] >> 4) != 4 || ihl < 5)
		return; /* not a sane IPv4 header: leave the L3 fields empty */

	info->flags |= EVENT_HAS_L3;
	info->ip_proto = hdr[9];
	info->pkt_len = (__u32)hdr[2] << 8 | hdr[3];
	__builtin_memcpy(info->src_addr, hdr + 12, 4);
	__builtin_memcpy(info->dst_addr, hdr + 16, 4);
	if ((((__u16)hdr[6] << 8 | hdr[7]) & 0x1fff) != 0)
		return; /* a later fragment carries no L4 header */
	if (ihl == 5) {
		if (off + 24 <= tail)
			parse_l4(hdr + 20, info);
		else
			info->flags |= EVENT_TRUNCATED;
	} else {
		read_l4(head, off + ihl * 4, tail, info);
	}
}

static __always_inline void parse_ipv6(unsigned char *head, __u32 off, __u32 tail, const __u8 *hdr,
				       struct packet_info *info)
{
	if ((hdr[0] >> 4) != 6)
		return;

	info->flags |= EVENT_HAS_L3;
	info->pkt_len = ((__u32)hdr[4] << 8 | hdr[5]) + 40;
	__builtin_memcpy(info->src_addr, hdr + 8, 16);
	__builtin_memcpy(info->dst_addr, hdr + 24, 16);

	__u8 next = hdr[6];
	if (next != 0 && next != 43 && next != 44 && next != 51 && next != 60) {
		info->ip_proto = next;
		if (off + 44 <= tail)
			parse_l4(hdr + 40, info);
		else
			info->flags |= EVENT_TRUNCATED;
		return;
	}

	/* Walk a bounded chain of extension headers to the transport header. */
	off += 40;
	for (int i = 0; i < IPV6_MAX_EXT_HEADERS; i++) {
		__u8 ext[8];
		if (next != 0 && next != 43 && next != 44 && next != 51 && next != 60)
			break;
		/* Past the linear data the bytes are not this packet's: stop at the last header named. */
		if (off + sizeof(ext) > tail) {
			info->ip_proto = next;
			info->flags |= EVENT_TRUNCATED;
			return;
		}
		if (bpf_probe_read_kernel(ext, sizeof(ext), head + off)) {
			info->ip_proto = next;
			return;
		}
		if (next == 44) { /* fragment header: only the first fragment has L4 */
			if ((((__u16)ext[2] << 8 | ext[3]) & 0xfff8) != 0) {
				info->ip_proto = ext[0];
				return;
			}
			off += 8;
		} else if (next == 51) { /* AH counts 4-byte units */
			off += ((__u32)ext[1] + 2) * 4;
		} else {
			off += ((__u32)ext[1] + 1) * 8;
		}
		next = ext[0];
	}
	info->ip_proto = next;
	read_l4(head, off, tail, info);
}

/* IPv4/IPv6 and TCP/UDP/ICMP fields of the packet whose network header is at `off`. */
static __always_inline void parse_packet(unsigned char *head, __u32 off, __u32 tail, struct packet_info *info)
{
	__u8 hdr[HEADER_PEEK];

	if (bpf_probe_read_kernel(hdr, sizeof(hdr), head + off))
		return;
	if (info->l3_proto == ETH_P_IP && off + 20 <= tail)
		parse_ipv4(head, off, tail, hdr, info);
	else if (info->l3_proto == ETH_P_IPV6 && off + 40 <= tail)
		parse_ipv6(head, off, tail, hdr, info);
}

static __always_inline bool host_matches(const struct filter_config *fc, const __u8 *addr)
{
	__u32 words = fc->host_family == 4 ? 1 : 4;
	for (__u32 i = 0; i < 4; i++) {
		if (i >= words)
			break;
		__u32 a, want, mask;
		__builtin_memcpy(&a, addr + i * 4, 4);
		__builtin_memcpy(&want, fc->host_addr + i * 4, 4);
		__builtin_memcpy(&mask, fc->host_mask + i * 4, 4);
		if ((a & mask) != want)
			return false;
	}
	return true;
}

/* True when the run-time filters let this drop through as an event. */
static __always_inline bool passes_filters(const struct filter_config *fc, __u32 reason,
					   __u32 netns, const char *ifname,
					   const struct packet_info *info)
{
	__u32 flags = fc->flags;

	if ((flags & FILTER_NETNS) && netns != fc->netns)
		return false;
	if ((flags & FILTER_PROTOCOL) && info->ip_proto != fc->protocol)
		return false;
	if ((flags & FILTER_PORT) && !((info->flags & EVENT_HAS_L4) &&
				       (info->src_port == fc->port || info->dst_port == fc->port)))
		return false;
	if (flags & FILTER_HOST) {
		__u16 want = fc->host_family == 4 ? ETH_P_IP : ETH_P_IPV6;
		if (!(info->flags & EVENT_HAS_L3) || info->l3_proto != want)
			return false;
		if (!host_matches(fc, info->src_addr) && !host_matches(fc, info->dst_addr))
			return false;
	}
	if (flags & FILTER_IFNAME) {
		__u64 a0, a1, b0, b1;
		__builtin_memcpy(&a0, ifname, 8);
		__builtin_memcpy(&a1, ifname + 8, 8);
		__builtin_memcpy(&b0, fc->ifname, 8);
		__builtin_memcpy(&b1, fc->ifname + 8, 8);
		if (a0 != b0 || a1 != b1)
			return false;
	}
	if (flags & (FILTER_REASON_INCLUDE | FILTER_REASON_EXCLUDE)) {
		bool listed = bpf_map_lookup_elem(&reason_filter, &reason) != NULL;
		if ((flags & FILTER_REASON_INCLUDE) ? !listed : listed)
			return false;
	}
	return true;
}

/*
 * Who owned the packet: cookie, cgroup v2 id and inode of its socket. `sk` is the
 * tracepoint's rx_sk (6.11+: set for receive-side drops such as SOCKET_RCVBUFF, where
 * skb->sk is not yet set) or skb->sk. The process behind the inode is found in userspace.
 */
static __always_inline void attribute(struct drop_event *e, struct sock *sk, const bool typed,
				      const bool trusted)
{
	e->socket_cookie = 0;
	e->cgroup_id = 0;
	e->socket_ino = 0;
	if (!sk)
		return;
	/*
	 * The helper generates a missing cookie (as `ss -e` would) but takes only a trusted
	 * pointer: tp_btf's rx_sk argument, not skb->sk. Elsewhere the cookie is read as it
	 * is, 0 if nobody asked for it yet; userspace matches the owner by inode anyway.
	 */
	if (trusted)
		e->socket_cookie = bpf_get_socket_cookie(sk);
	else
		e->socket_cookie = typed ? sk->__sk_common.skc_cookie.counter
					 : BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);

	/* Request and time-wait socks end after their sock_common: nothing more to read. */
	unsigned char state = READ(typed, sk, __sk_common.skc_state);
	if (state == TCP_TIME_WAIT_ || state == TCP_NEW_SYN_RECV_)
		return;
	if (bpf_core_field_exists(sk->sk_cgrp_data.cgroup))
		e->cgroup_id = typed ? sk->sk_cgrp_data.cgroup->kn->id
				     : BPF_CORE_READ(sk, sk_cgrp_data.cgroup, kn, id);
	struct socket *sock = READ(typed, sk, sk_socket);
	if (sock) { /* SOCK_INODE(): container_of(sock, struct socket_alloc, socket)->vfs_inode */
		struct socket_alloc *alloc =
			(void *)sock - bpf_core_field_offset(struct socket_alloc, socket);
		e->socket_ino = BPF_CORE_READ(alloc, vfs_inode.i_ino);
	}
}

static __always_inline int handle_drop(void *ctx, struct sk_buff *skb, void *location, __u32 reason,
				       struct sock *rx_sk, const bool typed)
{
	/* 1. Only real drops. The numbers come from the kernel's BTF (CO-RE). */
	if (reason == bpf_core_enum_value(enum skb_drop_reason, SKB_NOT_DROPPED_YET))
		return 0;
	if (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_CONSUMED) &&
	    reason == bpf_core_enum_value(enum skb_drop_reason, SKB_CONSUMED))
		return 0;
	if (!skb)
		return 0;

	/* 2. Device, namespace and headers. skb->dev may be NULL: use skb_iif. */
	struct packet_info info = {};
	__u32 ifindex, netns = 0;
	struct net_device *dev = READ(typed, skb, dev);
	if (dev) {
		ifindex = READ(typed, dev, ifindex);
		netns = typed ? dev->nd_net.net->ns.inum : BPF_CORE_READ(dev, nd_net.net, ns.inum);
	} else {
		ifindex = READ(typed, skb, skb_iif);
		struct sock *sk = rx_sk ? rx_sk : READ(typed, skb, sk);
		if (sk)
			netns = typed ? sk->__sk_common.skc_net.net->ns.inum
				      : BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	}

	unsigned char *head = READ(typed, skb, head);
	__u32 skb_len = READ(typed, skb, len);
	__u32 tail = READ(typed, skb, tail);
	__u16 network_header = READ(typed, skb, network_header);
	__u16 mac_header = READ(typed, skb, mac_header);
	info.l3_proto = bpf_ntohs(READ(typed, skb, protocol));
	if (network_header != HEADER_UNSET && network_header < tail)
		parse_packet(head, network_header, tail, &info);

	/* 3. Exact counters: every drop, before filters and ring reservation. */
	count_drop(reason, ifindex, netns, info.ip_proto, (__u64)location, skb_len);

	/* 4. Filters (run-time configuration). */
	__u32 zero = 0;
	struct filter_config *fc = bpf_map_lookup_elem(&config, &zero);
	if (!fc || !(fc->flags & FILTER_EMIT_EVENTS))
		return 0;
	__u64 ifname_words[IFNAME_LEN / 8] = {};
	if (dev) {
		if (typed) { /* two direct loads instead of a helper call */
			ifname_words[0] = *(__u64 *)&dev->name[0];
			ifname_words[1] = *(__u64 *)&dev->name[8];
		} else {
			bpf_probe_read_kernel(ifname_words, sizeof(ifname_words), dev->name);
		}
	}
	const char *ifname = (const char *)ifname_words;
	if (!passes_filters(fc, reason, netns, ifname, &info)) {
		inc_loss(LOSS_FILTERED);
		return 0;
	}

	/* 5. One ring-buffer record; count and move on when the ring is full. */
	__u64 snap_len = cfg.snap_len;
	if (snap_len > MAX_SNAP_LEN)
		snap_len = MAX_SNAP_LEN;
	struct drop_event *e = bpf_ringbuf_reserve(&events, sizeof(*e) + snap_len, 0);
	if (!e) {
		inc_loss(LOSS_RINGBUF_FULL);
		return 0;
	}

	__u64 pid_tgid = bpf_get_current_pid_tgid();
	e->version = DROP_EVENT_VERSION;
	e->header_size = sizeof(*e);
	e->timestamp_ns = bpf_ktime_get_ns();
	e->location = (__u64)location;
	e->reason = reason;
	e->skb_len = skb_len;
	e->pkt_len = info.pkt_len;
	e->ifindex = ifindex;
	e->netns = netns;
	e->cpu = bpf_get_smp_processor_id();
	e->pid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	e->l3_proto = info.l3_proto;
	e->ip_proto = info.ip_proto;
	e->src_port = info.src_port;
	e->dst_port = info.dst_port;
	e->icmp_type = info.icmp_type;
	e->icmp_code = info.icmp_code;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	__builtin_memcpy(e->src_addr, info.src_addr, sizeof(e->src_addr));
	__builtin_memcpy(e->dst_addr, info.dst_addr, sizeof(e->dst_addr));
	__builtin_memcpy(e->ifname, ifname_words, sizeof(e->ifname));
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (rx_sk)
		attribute(e, rx_sk, typed, typed);
	else
		attribute(e, READ(typed, skb, sk), typed, false);
	e->stack_id = -1;
	if ((fc->flags & FILTER_STACKS_ALL) ||
	    ((fc->flags & FILTER_STACKS_LISTED) && bpf_map_lookup_elem(&stack_reasons, &reason)))
		e->stack_id = bpf_get_stackid(ctx, &stacks, 0);

	/* Copy headers from the MAC header when there is one, else from L3. */
	__u8 flags = info.flags | (dev ? EVENT_HAS_DEV : 0);
	__u32 start = network_header;
	if (mac_header != HEADER_UNSET && network_header != HEADER_UNSET &&
	    mac_header + ETH_HLEN <= network_header && network_header - mac_header < snap_len) {
		start = mac_header;
		flags |= EVENT_HAS_L2;
	}
	__u64 cap = 0;
	if (network_header != HEADER_UNSET && start < tail)
		cap = tail - start;
	if (cap > snap_len)
		cap = snap_len;
	/* Bounds the size for the verifier on every path: 0 < cap <= snap_len. */
	if (cap > 0 && cap <= snap_len && bpf_probe_read_kernel(e + 1, cap, head + start))
		cap = 0;
	e->cap_len = cap;
	e->l3_offset = network_header - start;
	e->flags = flags;

	/*
	 * Waking userspace per event costs more than the event itself; it polls on a short
	 * timer and is woken early only every wakeup_events events per CPU. A per-CPU count,
	 * not bpf_ringbuf_query(): that reads the consumer position, a cache line userspace
	 * keeps writing from the other core.
	 */
	__u64 wake = BPF_RB_FORCE_WAKEUP;
	__u64 *unwoken_events = bpf_map_lookup_elem(&unwoken, &zero);
	if (unwoken_events && cfg.wakeup_events > 0) {
		if (++*unwoken_events < cfg.wakeup_events)
			wake = BPF_RB_NO_WAKEUP;
		else
			*unwoken_events = 0;
	}
	bpf_ringbuf_submit(e, wake);
	return 0;
}

/*
 * The tracepoint's fourth argument, rx_sk, exists since 6.11. Its field in the classic
 * tracepoint's record appeared with it, so CO-RE tells whether this kernel passes it; on
 * older kernels the branch is removed at load and the verifier never sees ctx[3].
 */
#define HAS_RX_SK bpf_core_field_exists(((struct trace_event_raw_kfree_skb *)0)->rx_sk)

SEC("tp_btf/kfree_skb")
int BPF_PROG(handle_tp_btf, struct sk_buff *skb, void *location, enum skb_drop_reason reason)
{
	struct sock *rx_sk = HAS_RX_SK ? (struct sock *)ctx[3] : NULL;
	return handle_drop(ctx, skb, location, reason, rx_sk, true);
}

SEC("raw_tp/kfree_skb")
int BPF_PROG(handle_raw_tp, struct sk_buff *skb, void *location, enum skb_drop_reason reason)
{
	struct sock *rx_sk = HAS_RX_SK ? (struct sock *)ctx[3] : NULL;
	return handle_drop(ctx, skb, location, reason, rx_sk, false);
}

SEC("tracepoint/skb/kfree_skb")
int handle_tracepoint(struct trace_event_raw_kfree_skb *ctx)
{
	struct sock *rx_sk = bpf_core_field_exists(ctx->rx_sk) ? ctx->rx_sk : NULL;
	return handle_drop(ctx, ctx->skbaddr, ctx->location, ctx->reason, rx_sk, false);
}
