#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The quality gate of issue 4 over `exfilter replay --eval` summaries.

Input: one TSV per capture (tests/eval/run.sh makes them, one replay per
capture) and the truth files ("registered-domain label"). Output: per
labelled tunnel, exfiltration or beacon domain of each capture, whether an
alert was raised and the queries, seconds and payload bytes (name bytes
before the registered domain) from the client's first query to the first
alert; over the benign captures, the registered domains seen and the ones
alerted; then the gate:

  1. every labelled tunnel/exfil/beacon domain detected, in every capture
     it appears in (and each appears in at least one);
  2. zero alerts over at least 5000 distinct benign registered domains;
  3. bulk tunnels (iodine, dns2tcp captures) within 2 s and 20 queries;
  4. low-and-slow exfiltration (slow-* captures) within 50 queries.

A capture's class comes from its file name (pcaps/README.md names them):
benign-* benign; iodine*, dns2tcp* bulk tunnel; slow-* low-and-slow; any
other holds a tunnel, exfiltration or beacon that must be detected. Exit
status 0 when every gate line passes, 1 otherwise. A failed domain is shown
with its best score per detector and the evidence behind it.
"""
import argparse
import os
import sys

BENIGN_MIN = 5000
BULK_S, BULK_Q = 2.0, 20
SLOW_Q = 50
ATTACK = ("tunnel", "exfil", "beacon")
COLUMNS = ("domain", "label", "clients", "queries", "payload_bytes", "max_score",
           "severity", "allowlisted", "alerts", "detected", "first_ms", "last_query_ms",
           "alert_ms", "ttd_ms", "queries_to_detect", "bytes_to_detect", "kernel_ttd_ms",
           "kernel_queries", "kernel_bytes", "detectors", "evidence")


def fail(msg):
    print(f"evaluate: {msg}", file=sys.stderr)
    sys.exit(1)


def read_truth(paths):
    truth = {}
    for path in paths:
        with open(path) as f:
            for n, line in enumerate(f, 1):
                line = line.split("#", 1)[0].split()
                if not line:
                    continue
                if len(line) != 2 or line[1] not in ATTACK + ("benign",):
                    fail(f"{path}:{n}: expected \"registered-domain label\"")
                truth[line[0].lower().rstrip(".")] = line[1]
    return truth


def read_tsv(path):
    """(meta, rows) of one `replay --eval` file; rows as dicts."""
    meta, rows, header = {}, [], None
    with open(path) as f:
        for n, line in enumerate(f, 1):
            fields = line.rstrip("\n").split("\t")
            if line.startswith("#"):
                meta[fields[0][2:]] = fields[1:]
            elif header is None:
                header = fields
                missing = [c for c in COLUMNS if c not in header]
                if missing:
                    fail(f"{path}:{n}: columns missing: {' '.join(missing)}")
            else:
                if len(fields) != len(header):
                    fail(f"{path}:{n}: {len(fields)} fields, header has {len(header)}")
                rows.append(dict(zip(header, fields)))
    if header is None or meta.get("queries_fed") != ["1"]:
        fail(f"{path}: not an `exfilter replay --eval` summary of a replay")
    return meta, rows


def klass(capture):
    if capture.startswith("benign"):
        return "benign"
    if capture.startswith(("iodine", "dns2tcp")):
        return "bulk"
    if capture.startswith("slow"):
        return "slow"
    return "detect"


def num(v):
    return None if v in ("-", "") else float(v)


def rate(row):
    span = (num(row["last_query_ms"]) or 0) - (num(row["first_ms"]) or 0)
    return num(row["payload_bytes"]) / (span / 1000) if span > 0 else None


def row_limits(cls, row):
    """'' when the row meets its class's limits, else why not."""
    if row["detected"] != "1":
        return "not detected"
    ttd, q = num(row["ttd_ms"]) / 1000, int(row["queries_to_detect"])
    if cls == "bulk" and (ttd > BULK_S or q > BULK_Q):
        return f"detected after {ttd:.3f} s and {q} queries (limit {BULK_S:g} s, {BULK_Q})"
    if cls == "slow" and q > SLOW_Q:
        return f"detected after {q} queries (limit {SLOW_Q})"
    return ""


def why(row):
    """A missed domain's scores, for whoever tunes the detector."""
    return (f"      best score {row['max_score']} ({row['severity']}), threshold"
            f" {THRESHOLD}; queries {row['queries']}, payload bytes {row['payload_bytes']}\n"
            f"      detectors (best score each): {row['detectors']}\n"
            f"      evidence (detectors over 5): {row['evidence']}")


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def table(rows, md):
    head = ("capture", "domain", "label", "class", "detected", "queries", "seconds",
            "payload B", "kernel q", "best score", "total q", "rate B/s")
    out = []
    for cap, cls, r in rows:
        det = r["detected"] == "1"
        out.append((cap, r["domain"], r["label"], cls, "yes" if det else "NO",
                    r["queries_to_detect"] if det else "-",
                    fmt(num(r["ttd_ms"]) / 1000 if det else None, ".3f"),
                    r["bytes_to_detect"] if det else "-", r["kernel_queries"],
                    r["max_score"], r["queries"],
                    fmt(rate(r), ".2f" if (rate(r) or 0) < 10 else ".0f")))
    if md:
        print("| " + " | ".join(head) + " |")
        print("|" + "|".join("---" for _ in head) + "|")
        for o in out:
            print("| " + " | ".join(o) + " |")
        return
    w = [max(len(str(x[i])) for x in out + [head]) for i in range(len(head))]
    for o in [head] + out:
        print("  ".join(str(x).ljust(w[i]) for i, x in enumerate(o)).rstrip())


def main():
    global THRESHOLD
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--truth", action="append", default=[], required=True)
    ap.add_argument("--markdown", action="store_true", help="tables as Markdown")
    ap.add_argument("tsv", nargs="+")
    a = ap.parse_args()
    truth = read_truth(a.truth)

    attack_rows, other_alerts, bad = [], [], []
    benign = {}  # domain -> [rows]
    seen_attack = set()
    THRESHOLD = "?"
    for path in sorted(a.tsv):
        meta, rows = read_tsv(path)
        THRESHOLD = meta.get("threshold", ["?"])[0]
        cap = os.path.basename(path)[:-len(".tsv")]
        src = cap.split(".", 1)[0]
        cap = cap.split(".", 1)[1]
        cls = klass(cap)
        if not rows:
            bad.append(f"{cap}: no DNS query in the capture")
        labelled = 0
        for r in rows:
            # replay's label (its --truth, names reduced by libpsl), else ours
            label = r["label"] if r["label"] != "-" else truth.get(r["domain"], "-")
            r["label"] = label
            if cls == "benign":
                if label in ATTACK:
                    bad.append(f"{cap}: {r['domain']} is labelled {label} in a benign capture")
                benign.setdefault(r["domain"], []).append(r)
            elif label in ATTACK:
                labelled += 1
                seen_attack.add(r["domain"])
                attack_rows.append((("" if src == "corpus" else "ext:") + cap, cls, r))
            elif r["alerts"] != "0":
                other_alerts.append((cap, r))
        if cls != "benign" and rows and not labelled:
            bad.append(f"{cap}: none of its domains is labelled tunnel, exfil or beacon")

    md = a.markdown
    print()
    print("## Tunnels, exfiltration, beacons: first alert" if md else
          "tunnels, exfiltration, beacons (queries, seconds and payload bytes from the "
          "client's first query to the first alert; kernel q: the query the kernel's "
          "per-packet check would drop):")
    print()
    table(attack_rows, md)
    for cap, r in other_alerts:
        print(f"  note: {cap}: alert on {r['domain']} (label {r['label']}), score "
              f"{r['max_score']}")

    seen = len(benign)
    alerted = sorted(d for d, rs in benign.items() if any(r["alerts"] != "0" for r in rs))
    skipped = sum(1 for rs in benign.values()
                  if all(r["max_score"] == "-" for r in rs))
    unlabelled = sum(1 for d in benign if truth.get(d, "-") == "-")
    print()
    print(f"benign: {seen} distinct registered domains seen "
          f"({seen - skipped} scored, {skipped} only skipped by the allowlist"
          f"{f', {unlabelled} not in the truth files' if unlabelled else ''}); "
          f"{len(alerted)} alerted")
    for d in alerted:
        rs = benign[d]
        r = max(rs, key=lambda r: float(r["max_score"]) if r["max_score"] != "-" else -1)
        print(f"  alerted benign domain: {d}\n{why(r)}")

    # the gate
    gate = []
    missed = [(c, cls, r) for c, cls, r in attack_rows if r["detected"] != "1"]
    absent = sorted(d for d, l in truth.items() if l in ATTACK and d not in seen_attack)
    n_att = len(attack_rows)
    gate.append((not missed and not absent and not bad and n_att > 0,
                 f"every tunnel/exfil/beacon domain detected ({n_att - len(missed)} of "
                 f"{n_att} capture x domain rows"
                 f"{f'; {len(absent)} labelled domains in no capture' if absent else ''})",
                 [f"{c}: {r['domain']} ({r['label']}): not detected\n{why(r)}"
                  for c, cls, r in missed] +
                 [f"{d}: labelled {truth[d]} but in no capture" for d in absent] + bad))
    gate.append((seen >= BENIGN_MIN and not alerted,
                 f"zero alerts on >= {BENIGN_MIN} distinct benign registered domains "
                 f"({seen} seen, {len(alerted)} alerted)",
                 ([f"only {seen} benign registered domains: the benign corpus shrank"
                   f" (need {BENIGN_MIN})"] if seen < BENIGN_MIN else []) +
                 [f"alerted: {d}" for d in alerted]))
    for cls, name in (("bulk", f"bulk tunnels (iodine, dns2tcp) within {BULK_S:g} s and "
                               f"{BULK_Q} queries of their first query"),
                      ("slow", f"low-and-slow exfiltration within {SLOW_Q} queries")):
        rows = [(c, r) for c, k, r in attack_rows if k == cls]
        late = [(c, r, row_limits(cls, r)) for c, r in rows if row_limits(cls, r)]
        gate.append((rows and not late,
                     f"{name} ({len(rows) - len(late)} of {len(rows)})",
                     ([f"no {cls} capture in the corpus"] if not rows else []) +
                     [f"{c}: {r['domain']}: {w}\n{why(r)}" for c, r, w in late]))
    print()
    print("## Quality gate" if md else "quality gate:")
    if md:
        print()
    ok = True
    for passed, text, details in gate:
        ok = ok and bool(passed)
        print(f"{'- ' if md else ''}{'PASS' if passed else 'FAIL'}  {text}")
        for d in details:
            print(f"    {d}")
    print()
    print("eval: gate passed" if ok else "eval: GATE FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
