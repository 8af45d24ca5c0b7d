/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The few kernel types the program reads, declared by hand.
 *
 * Every struct is marked preserve_access_index, so each field access becomes
 * a CO-RE relocation that libbpf resolves against the running kernel's BTF at
 * load time: only the field names must match, not the layout, and nested
 * anonymous unions in the real structs are found by name. This keeps a
 * multi-megabyte generated vmlinux.h out of the repository.
 */
#ifndef PACKET_MONITOR_KERNEL_TYPES_H
#define PACKET_MONITOR_KERNEL_TYPES_H

#include <linux/types.h>
#include <stdbool.h>

/* Only the values the program needs; CO-RE reads their numbers from the kernel. */
enum skb_drop_reason {
	SKB_NOT_DROPPED_YET = 0,
	SKB_CONSUMED = 1,
};

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct ns_common {
	unsigned int inum;
};

struct net {
	struct ns_common ns;
};

typedef struct {
	struct net *net;
} possible_net_t;

struct net_device {
	int ifindex;
	char name[16];
	possible_net_t nd_net;
};

typedef struct {
	__s64 counter;
} atomic64_t;

struct sock_common {
	possible_net_t skc_net;
	atomic64_t skc_cookie;        /* 0 until someone asks for it (sock_gen_cookie) */
	volatile unsigned char skc_state;
};

/* The cgroup v2 id is the id of the cgroup's kernfs node (also its inode number). */
struct kernfs_node {
	__u64 id;
};

struct cgroup {
	struct kernfs_node *kn;
};

struct sock_cgroup_data {
	struct cgroup *cgroup; /* 5.15+; older kernels packed it into a u64 */
};

struct inode {
	unsigned long i_ino;
};

struct socket {
	struct file *file; /* unread: socket_alloc needs a complete type */
};

/* sock_i_ino(): the socket's inode sits right after it (SOCK_INODE()). */
struct socket_alloc {
	struct socket socket;
	struct inode vfs_inode;
};

struct sock {
	struct sock_common __sk_common;
	struct sock_cgroup_data sk_cgrp_data;
	struct socket *sk_socket;
};

struct sk_buff {
	struct net_device *dev;
	struct sock *sk;
	unsigned int len;
	__u16 protocol; /* __be16 */
	__u16 transport_header;
	__u16 network_header;
	__u16 mac_header;
	int skb_iif;
	unsigned int tail; /* offset from head on 64-bit kernels */
	unsigned char *head;
};

struct trace_entry {
	unsigned short type;
};

/* Context of the classic tracepoint skb:kfree_skb. */
struct trace_event_raw_kfree_skb {
	struct trace_entry ent;
	void *skbaddr;
	void *location;
	void *rx_sk; /* 6.11+: the receiving socket */
	unsigned short protocol;
	enum skb_drop_reason reason;
};

#pragma clang attribute pop


#endif
