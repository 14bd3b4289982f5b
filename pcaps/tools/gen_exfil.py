# SPDX-License-Identifier: GPL-2.0
"""Dig batches for scripted exfiltration and for a beacon.

  gen_exfil.py exfil --enc base32|hex|base64url --domain D --size BYTES
               --per-query BYTES --out BASE [--qtype A] [--client IP]
  gen_exfil.py beacon --domain D --count N --out BASE [--client IP]

exfil: makes a deterministic "secret" file (invented CSV records, nothing
real), writes it to BASE.bin and one dig line per chunk to BASE.dig: the
chunk encoded, split into labels of at most 63 characters, then the chunk's
sequence number, then D, i.e. "<data labels>.<seq>.D". This is the shape of
the usual shell and PowerShell one-liners. Prints the file's SHA-256, which
check.py --exfil verifies against what the capture carries.

beacon: N queries "<nonce>.<implant id>.D" (8 hex digits each; the nonce
defeats caching, as C2 beacons do). Timing comes later, from retime.py.
"""

import argparse
import base64
import hashlib
import random

STUB = "+noedns +noadflag +nocookie"


def secret(size, seed):
    r = random.Random(seed)
    lines = ["record,account,sort_code,balance_eur,updated"]
    i = 0
    while sum(len(x) + 1 for x in lines) < size:
        i += 1
        lines.append(f"{i:06d},ACCT-{r.randrange(10**9):09d},{r.randrange(10**6):06d},"
                     f"{r.randrange(10**7) / 100:.2f},2024-{r.randint(1, 12):02d}-"
                     f"{r.randint(1, 28):02d}")
    return ("\n".join(lines) + "\n").encode()[:size]


def encode(enc, data):
    if enc == "base32":
        return base64.b32encode(data).decode().rstrip("=").lower()
    if enc == "hex":
        return data.hex()
    if enc == "base64url":
        return base64.urlsafe_b64encode(data).decode().rstrip("=")
    raise SystemExit(f"gen_exfil: unknown --enc {enc}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=["exfil", "beacon"])
    ap.add_argument("--domain", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--client", default="10.201.1.2")
    ap.add_argument("--enc", default="base32")
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--per-query", type=int, default=100)
    ap.add_argument("--qtype", default="A")
    ap.add_argument("--count", type=int, default=60)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()

    with open(a.out + ".dig", "w") as f:
        if a.mode == "beacon":
            r = random.Random(a.seed)
            implant = f"{r.getrandbits(32):08x}"
            for _ in range(a.count):
                f.write(f"-b {a.client} -q {r.getrandbits(32):08x}.{implant}.{a.domain} -t A {STUB}\n")
            return
        data = secret(a.size, a.seed)
        with open(a.out + ".bin", "wb") as b:
            b.write(data)
        for seq, off in enumerate(range(0, len(data), a.per_query)):
            text = encode(a.enc, data[off:off + a.per_query])
            labels = ".".join(text[i:i + 63] for i in range(0, len(text), 63))
            name = f"{labels}.{seq}.{a.domain}"
            if len(name) > 253:
                raise SystemExit(f"gen_exfil: name of {len(name)} chars; lower --per-query")
            # -q/-t: a base64url name may start with "-", which dig would take for an option
            f.write(f"-b {a.client} -q {name} -t {a.qtype} {STUB}\n")
        print(hashlib.sha256(data).hexdigest())


if __name__ == "__main__":
    main()
