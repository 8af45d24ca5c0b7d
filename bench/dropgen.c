// SPDX-License-Identifier: GPL-2.0
/*
 * dropgen: floods UDP datagrams at a closed port so that every packet becomes
 * one kernel drop (SKB_DROP_REASON_NO_SOCKET on loopback).
 *
 *   dropgen [--threads N] [--duration SECONDS] [--count N] [--port P]
 *           [--addr 127.0.0.1|::1] [--batch 64] [--size BYTES] [--rate PPS] [--rcvbuf]
 *
 * --rcvbuf binds a receiver on the port first, with the smallest receive
 * buffer, and never reads it: after the first few datagrams fill it, every
 * packet is a SOCKET_RCVBUFF drop that has a socket (the tracepoint's rx_sk),
 * so a monitor's attribution work (cookie, cgroup, inode, owner) is measured.
 *
 * Each thread owns one unconnected UDP socket (a connected one would start
 * failing with ECONNREFUSED after the first ICMP port-unreachable) and sends
 * sendmmsg() batches. "sent" counts what sendmmsg() accepted. --rate paces
 * the total rate (used to measure time to the first event). At the end one
 * JSON line goes to stdout (exit status 1 if a thread hit a hard send error):
 *   {"threads":N,"sent":N,"seconds":S,"rate":R,"errors":N,"cpu_seconds":C}
 * cpu_seconds (user+sys of all threads) includes the kernel's receive path and
 * any BPF program on it, which run in the sender's context on loopback; sent per
 * CPU second is steadier than sent per second when other jobs share the CPUs.
 *
 * Build: cc -O2 -Wall -Werror -pthread -o dropgen dropgen.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_BATCH 1024

static struct {
	int threads;
	double duration; /* seconds; 0 = until --count */
	unsigned long long count; /* total packets; 0 = until --duration */
	int port;
	const char *addr;
	int batch;
	int size;
	double rate; /* total packets/s; 0 = as fast as possible */
	int rcvbuf; /* bind a receiver that never reads */
} opt = { 1, 0, 0, 9, "127.0.0.1", 64, 64, 0, 0 };

static struct sockaddr_storage dst;
static socklen_t dst_len;
static pthread_barrier_t start_barrier;
static double start_time; /* set before the barrier, read after it */

struct worker {
	pthread_t tid;
	unsigned long long quota; /* packets this thread may send */
	unsigned long long sent;
	unsigned long long errors;
	int failed; /* stopped on a hard send error */
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_until(double t)
{
	struct timespec ts = { .tv_sec = (time_t)t };

	ts.tv_nsec = (long)((t - ts.tv_sec) * 1e9);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct mmsghdr *msgs = calloc(MAX_BATCH, sizeof(*msgs));
	struct iovec iov;
	char *payload = calloc(1, opt.size ? opt.size : 1);
	int fd = socket(dst.ss_family, SOCK_DGRAM, 0);
	double per_thread_rate = opt.rate / opt.threads;
	int batch = opt.batch;

	if (!msgs || !payload || fd < 0) {
		perror("dropgen: socket");
		exit(1);
	}
	/* Paced runs send small bursts ~1 ms apart rather than big ones. */
	if (per_thread_rate > 0 && batch > per_thread_rate / 1000)
		batch = per_thread_rate / 1000 > 1 ? (int)(per_thread_rate / 1000) : 1;

	iov.iov_base = payload;
	iov.iov_len = opt.size;
	for (int i = 0; i < batch; i++) {
		msgs[i].msg_hdr.msg_name = &dst;
		msgs[i].msg_hdr.msg_namelen = dst_len;
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}

	pthread_barrier_wait(&start_barrier);
	double t0 = start_time;
	double deadline = opt.duration > 0 ? t0 + opt.duration : 1e300;
	/* One vDSO clock read per batch is noise next to 64 sends. */
	while (w->sent < w->quota && now() < deadline) {
		unsigned int n = batch;

		if (w->quota - w->sent < n)
			n = w->quota - w->sent;
		if (per_thread_rate > 0)
			sleep_until(t0 + w->sent / per_thread_rate);

		int r = sendmmsg(fd, msgs, n, 0);
		if (r >= 0) {
			w->sent += r;
		} else if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR) {
			w->errors++; /* transient pressure: keep going */
		} else {
			perror("dropgen: sendmmsg"); /* e.g. loopback down: would spin forever */
			w->errors++;
			w->failed = 1;
			break;
		}
	}
	close(fd);
	free(payload);
	free(msgs);
	return NULL;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: dropgen [--threads N] [--duration SECONDS] [--count N] [--port P]\n"
		"               [--addr 127.0.0.1|::1] [--batch 64] [--size BYTES] [--rate PPS] [--rcvbuf]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "threads", required_argument, NULL, 't' },
		{ "duration", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'c' },
		{ "port", required_argument, NULL, 'p' },
		{ "addr", required_argument, NULL, 'a' },
		{ "batch", required_argument, NULL, 'b' },
		{ "size", required_argument, NULL, 's' },
		{ "rate", required_argument, NULL, 'r' },
		{ "rcvbuf", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 't': opt.threads = atoi(optarg); break;
		case 'd': opt.duration = atof(optarg); break;
		case 'c': opt.count = strtoull(optarg, NULL, 10); break;
		case 'p': opt.port = atoi(optarg); break;
		case 'a': opt.addr = optarg; break;
		case 'b': opt.batch = atoi(optarg); break;
		case 's': opt.size = atoi(optarg); break;
		case 'r': opt.rate = atof(optarg); break;
		case 'q': opt.rcvbuf = 1; break;
		default: usage();
		}
	}
	if (optind != argc || opt.threads < 1 || opt.batch < 1 || opt.batch > MAX_BATCH ||
	    opt.size < 0 || opt.size > 65507 || opt.port < 1 || opt.port > 65535 || opt.rate < 0)
		usage();
	if (opt.duration <= 0 && opt.count == 0)
		opt.duration = 10;

	struct sockaddr_in *in4 = (struct sockaddr_in *)&dst;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&dst;
	if (inet_pton(AF_INET, opt.addr, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(opt.port);
		dst_len = sizeof(*in4);
	} else if (inet_pton(AF_INET6, opt.addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(opt.port);
		dst_len = sizeof(*in6);
	} else {
		fprintf(stderr, "dropgen: bad --addr %s\n", opt.addr);
		return 2;
	}

	if (opt.rcvbuf) {
		int one = 1, receiver = socket(dst.ss_family, SOCK_DGRAM, 0);

		if (receiver < 0 || setsockopt(receiver, SOL_SOCKET, SO_RCVBUF, &one, sizeof(one)) ||
		    bind(receiver, (struct sockaddr *)&dst, dst_len)) {
			perror("dropgen: receiver");
			return 1;
		}
		/* Left open and unread until exit. */
	}

	struct worker *w = calloc(opt.threads, sizeof(*w));
	if (!w)
		return 1;
	pthread_barrier_init(&start_barrier, NULL, opt.threads + 1);
	for (int i = 0; i < opt.threads; i++) {
		/* Split --count exactly: the first (count % threads) get one more. */
		w[i].quota = ULLONG_MAX;
		if (opt.count)
			w[i].quota = opt.count / opt.threads + ((unsigned long long)i < opt.count % opt.threads);
		if (pthread_create(&w[i].tid, NULL, worker_main, &w[i])) {
			perror("dropgen: pthread_create");
			return 1;
		}
	}

	/* Threads stop on their own at the deadline or when their quota is met. */
	start_time = now();
	pthread_barrier_wait(&start_barrier);
	unsigned long long sent = 0, errors = 0;
	int failed = 0;
	for (int i = 0; i < opt.threads; i++) {
		pthread_join(w[i].tid, NULL);
		sent += w[i].sent;
		errors += w[i].errors;
		failed |= w[i].failed;
	}
	double secs = now() - start_time;
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		     ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	printf("{\"threads\":%d,\"sent\":%llu,\"seconds\":%.6f,\"rate\":%.1f,\"errors\":%llu,\"cpu_seconds\":%.6f}\n",
	       opt.threads, sent, secs, secs > 0 ? sent / secs : 0.0, errors, cpu);
	return failed;
}
