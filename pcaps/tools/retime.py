# SPDX-License-Identifier: GPL-2.0
"""Rewrite the timestamps of a pcap of DNS exchanges made as fast as possible.

Captures are made at full speed (a low-and-slow exfiltration or an hour of
beacons would otherwise take an hour to record) and then spread out here. Each
client query gets a new time; its answer keeps its original latency after the
query (matched by client address, client port, transport and DNS id); other
packets (a TCP retry after a truncated answer, a retransmission) keep their original offset from the
query before them. The output is sorted by the new times.

Modes (one of):
  --gaps LO:HI          each query LO..HI seconds (uniform) after the previous
  --interval S [--jitter F]
                        query i at i*S, moved by up to +-F*S (uniform)
  --plan FILE           query i at the offset on line i ("offset qname qtype");
                        the qname and qtype must match the capture, in order

Why hand-rolled: Debian's editcap (which can only shift or offset times) lives
in wireshark-common, a large dependency for one rewrite; see pcapdns.py.
"""

import argparse
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcapdns  # noqa: E402

QTYPES = {"A": 1, "NS": 2, "CNAME": 5, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28,
          "SRV": 33, "KEY": 25, "NULL": 10, "HTTPS": 65, "SVCB": 64}
NS = 1_000_000_000


def query_times(n, args, rng):
    """New offsets (ns from the start) for the first n queries."""
    if args.gaps:
        lo, hi = (float(x) for x in args.gaps.split(":"))
        if not 0 <= lo <= hi:
            raise SystemExit(f"retime: --gaps wants LO:HI with 0 <= LO <= HI, got {args.gaps}")
        t, out = 0.0, []
        for i in range(n):
            if i:
                t += rng.uniform(lo, hi)
            out.append(t)
        return [int(x * NS) for x in out]
    if args.interval:
        j = args.jitter * args.interval
        return [int(max(0.0, i * args.interval + (rng.uniform(-j, j) if i else 0.0)) * NS)
                for i in range(n)]
    return None


def read_plan(path):
    plan = []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if len(parts) != 3:
                raise SystemExit(f"retime: {path}:{lineno}: want 'offset qname qtype'")
            plan.append((int(float(parts[0]) * NS), parts[1].lower().rstrip("."),
                         QTYPES.get(parts[2].upper(), parts[2])))
    return plan


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("input")
    ap.add_argument("output")
    m = ap.add_mutually_exclusive_group(required=True)
    m.add_argument("--gaps")
    m.add_argument("--interval", type=float)
    m.add_argument("--plan")
    ap.add_argument("--jitter", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--start", type=float, help="epoch seconds of the first packet "
                    "(default: keep the capture's)")
    args = ap.parse_args()

    cap = pcapdns.Pcap.read(args.input)
    if not cap.packets:
        raise SystemExit(f"retime: {args.input} has no packets")
    base = int(args.start * NS) if args.start is not None else cap.packets[0][0]

    # Classify: a query with a transaction key not seen before opens an exchange.
    rows, seen = [], set()
    for ts, data, _ in cap.packets:
        msgs = list(pcapdns.dns_messages(cap.linktype, data))
        d = msgs[0] if msgs else None
        # Only UDP queries open an exchange: a TCP retry after a truncated
        # answer belongs to the UDP query before it.
        if d is not None and not d.qr and d.proto == 17 and d.key() not in seen:
            seen.add(d.key())
            rows.append(("q", d))
        elif d is not None and d.qr:
            rows.append(("r", d))
        else:
            rows.append(("o", d))
    nq = sum(1 for kind, _ in rows if kind == "q")

    rng = random.Random(args.seed)
    times = query_times(nq, args, rng)
    plan = None
    if args.plan:
        plan = read_plan(args.plan)
        if len(plan) != nq:
            raise SystemExit(f"retime: plan has {len(plan)} queries, capture has {nq}")
        times = [p[0] for p in plan]

    out, qnew, last_q, qi = [], {}, None, 0
    for (kind, d), pkt in zip(rows, cap.packets):
        ts = pkt[0]
        if kind == "q":
            if plan:
                _, name, qtype = plan[qi]
                if d.qname().lower() != name or d.qtype != qtype:
                    raise SystemExit(f"retime: query {qi} is {d.qname()}/{d.qtype}, "
                                     f"plan says {name}/{qtype}")
            new = base + times[qi]
            qi += 1
            qnew[d.key()] = (ts, new)
            last_q = (ts, new)
        elif kind == "r" and d.key() in qnew:
            o, n = qnew[d.key()]
            new = n + (ts - o)
        elif last_q:
            new = last_q[1] + (ts - last_q[0])
        else:
            new = base + (ts - cap.packets[0][0])
        out.append([new, pkt[1], pkt[2]])
    out.sort(key=lambda p: p[0])
    cap.packets = out
    cap.write(args.output)
    span = (out[-1][0] - out[0][0]) / NS
    print(f"retime: {args.output}: {len(out)} packets, {nq} queries over {span:.1f} s")


if __name__ == "__main__":
    main()
