# SPDX-License-Identifier: GPL-2.0
"""Count what a corpus capture holds and fail when it is not what it should be.

  check.py FILE [--domain D [--only] [--min-queries N] [--min-answered F]]
                [--min-nx F] [--exfil base32|hex|base64url --sha256 HEX]
                [--list-domains OUT]

Prints one summary line: packets, queries, responses by rcode, qtypes, the
number of registered domains and the time span. With --domain, counts the
queries whose registered domain is D and fails (exit 1) unless there are at
least N of them and at least a fraction F of them were answered; --only also
fails on any query outside D. With --exfil, rebuilds the file carried in names
"<data labels>.<seq>.D" and fails unless its SHA-256 matches: proof that the
exfiltration really moved the data through the resolver. --list-domains prints
"registered-domain queries" for every registered domain (the truth file is
built from it).
"""

import argparse
import base64
import binascii
import collections
import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcapdns  # noqa: E402

RCODES = {0: "NOERROR", 2: "SERVFAIL", 3: "NXDOMAIN", 5: "REFUSED"}
TYPES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 10: "NULL", 12: "PTR", 15: "MX", 16: "TXT",
         25: "KEY", 28: "AAAA", 33: "SRV", 65: "HTTPS", 65399: "PRIVATE"}


def decode(enc, text):
    if enc == "base32":
        t = text.upper()
        return base64.b32decode(t + "=" * (-len(t) % 8))
    if enc == "hex":
        return binascii.unhexlify(text)
    if enc == "base64url":
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    raise SystemExit(f"check: unknown --exfil encoding {enc}")


def rebuild(queries, domain, enc):
    """The exfiltrated file from '<data labels>.<seq>.domain' query names."""
    chunks = {}
    suffix = "." + domain
    for name in queries:
        if not name.lower().endswith(suffix):
            continue
        labels = name[:-len(suffix)].split(".")
        if len(labels) < 2 or not labels[-1].isdigit():
            continue
        chunks[int(labels[-1])] = "".join(labels[:-1])
    if not chunks:
        return b"", 0
    if sorted(chunks) != list(range(len(chunks))):
        missing = sorted(set(range(max(chunks) + 1)) - set(chunks))
        raise SystemExit(f"check: exfil chunks missing: {missing[:10]}")
    return b"".join(decode(enc, chunks[i]) for i in range(len(chunks))), len(chunks)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("file")
    ap.add_argument("--domain")
    ap.add_argument("--only", action="store_true")
    ap.add_argument("--min-queries", type=int, default=1)
    ap.add_argument("--min-answered", type=float, default=0.9)
    ap.add_argument("--min-nx", type=float, help="at least this fraction of answers NXDOMAIN")
    ap.add_argument("--exfil")
    ap.add_argument("--sha256")
    ap.add_argument("--list-domains", metavar="OUT", help="write 'registered-domain queries' lines to OUT")
    a = ap.parse_args()

    cap = pcapdns.Pcap.read(a.file)
    psl = pcapdns.Psl()
    nq = nr = 0
    rcodes, qtypes, per_rd = collections.Counter(), collections.Counter(), collections.Counter()
    pending, answered, dom_q, outside, names = {}, 0, 0, 0, []
    for _, data, _ in cap.packets:
        for d in pcapdns.dns_messages(cap.linktype, data):
            name = d.qname()
            rd = psl.registered(name) or name.lower() or "."
            mine = a.domain and rd == a.domain
            if not d.qr:
                nq += 1
                qtypes[TYPES.get(d.qtype, str(d.qtype))] += 1
                per_rd[rd] += 1
                if a.domain:
                    if mine:
                        dom_q += 1
                        names.append(name)
                        pending[d.key()] = True
                    else:
                        outside += 1
            else:
                nr += 1
                rcodes[RCODES.get(d.rcode, str(d.rcode))] += 1
                if mine and pending.pop(d.key(), None):
                    answered += 1
    span = (cap.packets[-1][0] - cap.packets[0][0]) / 1e9 if cap.packets else 0.0
    print(f"{os.path.basename(a.file)}: {len(cap.packets)} packets, {nq} queries, "
          f"{nr} responses ({', '.join(f'{k} {v}' for k, v in rcodes.most_common())}), "
          f"qtypes {dict(qtypes.most_common())}, {len(per_rd)} registered domains, "
          f"{span:.1f} s")

    errors = []
    if nq == 0 or nr == 0:
        errors.append(f"empty capture: {nq} queries, {nr} responses")
    if a.domain:
        frac = answered / dom_q if dom_q else 0.0
        print(f"  {a.domain}: {dom_q} queries, {answered} answered ({frac:.0%}), "
              f"{outside} queries elsewhere")
        if dom_q < a.min_queries:
            errors.append(f"{a.domain}: {dom_q} queries, want at least {a.min_queries}")
        if frac < a.min_answered:
            errors.append(f"{a.domain}: {frac:.0%} answered, want {a.min_answered:.0%}")
        if a.only and outside:
            errors.append(f"{outside} queries outside {a.domain}")
    if a.min_nx is not None:
        nx = rcodes["NXDOMAIN"] / nr if nr else 0.0
        if nx < a.min_nx:
            errors.append(f"NXDOMAIN share {nx:.1%}, want at least {a.min_nx:.1%}")
    if a.exfil:
        data, n = rebuild(names, a.domain, a.exfil)
        got = hashlib.sha256(data).hexdigest()
        print(f"  exfil {a.exfil}: {n} chunks, {len(data)} bytes rebuilt, sha256 {got[:16]}...")
        if got != a.sha256:
            errors.append(f"rebuilt exfil file sha256 {got} != {a.sha256}")
    if a.list_domains:
        with open(a.list_domains, "w") as f:
            for rd, n in sorted(per_rd.items()):
                f.write(f"{rd} {n}\n")
    for e in errors:
        print(f"check: {a.file}: {e}", file=sys.stderr)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
