/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The contract between the kernel program and userspace.
 *
 * Plain fixed-width types only, every struct 8-byte aligned with explicit
 * padding. The C# mirror (PacketMonitor.Kernel/Abi) is checked against the
 * BTF of the compiled object in a test, so the two cannot drift silently.
 * Bump DROP_EVENT_VERSION whenever the layout changes.
 */
#ifndef PACKET_MONITOR_DROP_EVENT_H
#define PACKET_MONITOR_DROP_EVENT_H

#define DROP_EVENT_VERSION 2
#define TASK_COMM_LEN 16
#define IFNAME_LEN 16
/* Upper bound of the configurable snap length (bytes of headers copied). */
#define MAX_SNAP_LEN 1024

/* drop_event.flags */
#define EVENT_HAS_L2 (1u << 0)     /* captured bytes start at the MAC header */
#define EVENT_HAS_L3 (1u << 1)     /* an IPv4/IPv6 header was parsed */
#define EVENT_HAS_L4 (1u << 2)     /* ports or ICMP type/code were parsed */
#define EVENT_HAS_DEV (1u << 3)    /* skb->dev was set (else ifindex is skb_iif) */
#define EVENT_TRUNCATED (1u << 4)  /* L3/L4 header lay beyond the linear data */

struct drop_event {
	__u16 version;      /* DROP_EVENT_VERSION */
	__u16 header_size;  /* sizeof(struct drop_event): data[] starts here */
	__u16 cap_len;      /* bytes of packet data that follow in data[] */
	__u16 l3_offset;    /* offset of the network header inside data[] */
	__u64 timestamp_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u64 location;     /* kernel address of the kfree_skb caller */
	__u32 reason;       /* raw enum skb_drop_reason incl. subsystem bits */
	__u32 skb_len;
	__u32 pkt_len;      /* from the IP header; 0 when there is none */
	__u32 ifindex;
	__u32 netns;        /* network namespace inode */
	__u32 cpu;
	__u32 pid;          /* CPU context: tgid of the current task */
	__u32 tid;
	__u16 l3_proto;     /* ethertype, host byte order */
	__u8 ip_proto;      /* L4 protocol number (IPPROTO_*) */
	__u8 flags;         /* EVENT_* */
	__u16 src_port;     /* host byte order */
	__u16 dst_port;
	__u8 icmp_type;
	__u8 icmp_code;
	__u8 pad[6];
	__u8 src_addr[16];  /* IPv4 in the first 4 bytes */
	__u8 dst_addr[16];
	char ifname[IFNAME_LEN];
	char comm[TASK_COMM_LEN];
	/* Attribution: the socket that owned the packet (rx_sk on 6.11+, else skb->sk); 0 without one. */
	__u64 socket_cookie; /* 0 also when never generated (raw_tp/tracepoint cannot generate it) */
	__u64 cgroup_id;     /* cgroup v2 id of the socket (full sockets only) */
	__u32 socket_ino;    /* inode of the socket: /proc/PID/fd/N -> socket:[socket_ino] */
	__s32 stack_id;      /* id in the `stacks` map; -1: not asked for; other < 0: -errno */
	/* __u8 data[cap_len] follows */
};

/*
 * Exact counters: per-CPU hash, bumped for every drop before any filter.
 * Keyed by namespace too: ifindex numbers repeat across network namespaces.
 * One key for all breakdowns keeps it to one map update per drop.
 */
struct counter_key {
	__u32 reason;
	__u32 ifindex;
	__u32 netns;
	__u8 ip_proto;
	__u8 pad[3];
	__u64 location; /* where it was dropped: breaks NOT_SPECIFIED down by function */
};

struct counter_value {
	__u64 packets;
	__u64 bytes;
};

/* Indexes of the per-CPU `losses` array. */
enum loss_slot {
	LOSS_RINGBUF_FULL = 0, /* bpf_ringbuf_reserve failed */
	LOSS_FILTERED = 1,     /* events suppressed by a kernel filter (not a loss, but counted) */
	LOSS_SLOTS = 2,
};

/* filter_config.flags */
#define FILTER_EMIT_EVENTS (1u << 0)    /* off: counters only */
#define FILTER_PROTOCOL (1u << 1)
#define FILTER_PORT (1u << 2)           /* either source or destination port */
#define FILTER_HOST (1u << 3)           /* either address within host/mask */
#define FILTER_IFNAME (1u << 4)
#define FILTER_NETNS (1u << 5)
#define FILTER_REASON_INCLUDE (1u << 6) /* only reasons present in `reason_filter` */
#define FILTER_REASON_EXCLUDE (1u << 7) /* all but reasons present in `reason_filter` */
#define FILTER_STACKS_ALL (1u << 8)     /* record the kernel stack of every event */
#define FILTER_STACKS_LISTED (1u << 9)  /* ... of events whose reason is in `stack_reasons` */

/* Kernel stacks: frames kept per stack (the `stacks` map's value is this many u64). */
#define MAX_STACK_DEPTH 48

/* Run-time configuration: the single entry of the `config` array map. */
struct filter_config {
	__u32 flags;
	__u32 netns;
	__u16 port;
	__u8 protocol;
	__u8 host_family;   /* 4 or 6 */
	__u32 pad;
	__u8 host_addr[16]; /* already masked */
	__u8 host_mask[16];
	char ifname[IFNAME_LEN];
};

/* Load-time configuration (.rodata, fixed once loaded). */
struct load_config {
	__u32 snap_len;       /* <= MAX_SNAP_LEN */
	__u32 wakeup_events;  /* per CPU: wake userspace every this many events (0: every event) */
};

#endif
