#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Per-event drop tracer written the BCC way, as the peer of `packet-monitor watch`.

Attaches to the skb:kfree_skb tracepoint and prints one line per drop to stdout:
reason name, protocol (ethertype) and the dropping function. It reads only the
tracepoint's own fields (args->reason, args->location, args->protocol): BCC
compiles against kernel headers and cannot adapt struct layouts (no CO-RE), so
sk_buff fields such as the device or the namespace are out of its reach without
headers matching the running kernel exactly.

  bcc_drops.py [--pages N]

Prints "attached" to stderr once the probe is live, and at exit (SIGINT/SIGTERM)
one summary line to stderr:
  {"received": N, "lost": N, "by_reason": {"NO_SOCKET": N, ...}}
"lost" is what the perf buffer reported as overwritten (BCC's lost callback).
Needs kernel headers: /lib/modules/$(uname -r)/build, or BCC_KERNEL_SOURCE.
"""
import argparse
import json
import re
import signal
import sys

from bcc import BPF

# The tracepoint struct that BCC generates from the format file has a field of
# type `enum skb_drop_reason`; completing the enum is all it needs (4 bytes).
PROGRAM = r"""
enum skb_drop_reason { SKB_DROP_REASON_BCC_PLACEHOLDER };

struct drop {
    u64 location;
    u32 reason;
    u16 protocol;
    u16 pad;
};

BPF_PERF_OUTPUT(drops);

TRACEPOINT_PROBE(skb, kfree_skb) {
    struct drop d = {};
    d.location = (u64)args->location;
    d.reason = args->reason;
    d.protocol = args->protocol;
    drops.perf_submit(args, &d, sizeof(d));
    return 0;
}
"""

FORMAT = "/sys/kernel/tracing/events/skb/kfree_skb/format"


def reason_names():
    """Reason numbers to names, from the tracepoint's own print format (never hard-coded)."""
    try:
        with open(FORMAT) as f:
            text = f.read()
    except OSError:
        return {}
    return {int(n): name for n, name in re.findall(r'\{\s*(\d+),\s*"(\w+)"\s*\}', text)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=8,
                        help="perf buffer pages per CPU, a power of two (default 8, as BCC's own)")
    options = parser.parse_args()

    names = reason_names()
    stopping = False

    def stop(_signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    bpf = BPF(text=PROGRAM)  # compiles, loads and attaches the TRACEPOINT_PROBE
    received = 0
    lost = 0
    by_reason = {}
    symbols = {}
    out = sys.stdout

    def on_drop(_cpu, data, _size):
        nonlocal received
        d = bpf["drops"].event(data)
        received += 1
        reason = names.get(d.reason) or str(d.reason)
        by_reason[reason] = by_reason.get(reason, 0) + 1
        where = symbols.get(d.location)
        if where is None:
            where = bpf.ksym(d.location, show_offset=True).decode(errors="replace")
            symbols[d.location] = where
        out.write(f"{reason} 0x{d.protocol:04x} {where}\n")

    def on_lost(count):
        nonlocal lost
        lost += count

    bpf["drops"].open_perf_buffer(on_drop, page_cnt=options.pages, lost_cb=on_lost)
    print("attached", file=sys.stderr, flush=True)
    while not stopping:
        bpf.perf_buffer_poll(timeout=100)
    bpf.perf_buffer_poll(timeout=0)  # what is still queued
    out.flush()
    print(json.dumps({"received": received, "lost": lost, "by_reason": by_reason}), file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
