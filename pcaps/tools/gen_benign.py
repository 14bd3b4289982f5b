# SPDX-License-Identifier: GPL-2.0
"""Generate the benign side of the corpus: zone data and query plans.

Writes into OUTDIR:
  benign.zone      records for the lab's root zone (served by an unbound
                   auth-zone "." in the attacker/internet namespace), so every
                   benign answer, NXDOMAIN and NODATA comes from a real server;
  web.dig/.plan    browsing by office clients over names from the top-domains
                   list (www, apex, api, cdn-like subdomains; A, AAAA, HTTPS);
  fp.dig/.plan     the false-positive-prone shapes: antivirus reputation
                   lookups, DNS blocklists, SPF/DKIM/DMARC from a mail server,
                   reverse lookups, CDN hostnames, Kubernetes search expansion.

A .dig file is a dig batch (`dig -f`), one query per line, in time order; the
matching .plan line is "offset_seconds qname qtype". dig runs the batch as fast
as the resolver answers and retime.py then moves each exchange to its planned
offset, which is how the traffic gets realistic rates without waiting for them.
Everything is seeded, so the same inputs give the same plan.
"""

import argparse
import base64
import hashlib
import ipaddress
import os
import random
import re
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcapdns  # noqa: E402

HOST_RE = re.compile(r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$")

# Stub resolver flavours: glibc (no EDNS) and systemd-resolved/Windows-like (EDNS, 1232).
STUB_PLAIN = "+noedns +noadflag +nocookie"
STUB_EDNS = "+edns=0 +bufsize=1232 +noadflag +nocookie"


class Zone:
    """Flat records under the lab root; refuses CNAME next to other data."""

    def __init__(self):
        self.rrs = {}

    def add(self, name, rtype, rdata, ttl=300):
        name = name.lower().rstrip(".") + "."
        have = self.rrs.setdefault(name, [])
        types = {t for t, _, _ in have}
        if (rtype == "CNAME" and types and types != {"CNAME"}) or \
           ("CNAME" in types and rtype != "CNAME"):
            raise ValueError(f"zone: CNAME and other data at {name}")
        if (rtype, rdata) not in {(t, r) for t, r, _ in have}:
            have.append((rtype, rdata, ttl))

    def has(self, name):
        return name.lower().rstrip(".") + "." in self.rrs

    def write(self, path):
        with open(path, "w") as f:
            for name in sorted(self.rrs):
                for rtype, rdata, ttl in self.rrs[name]:
                    f.write(f"{name} {ttl} IN {rtype} {rdata}\n")


class Plan:
    """Queries with planned offsets; written sorted by offset."""

    def __init__(self):
        self.q = []

    def add(self, t, client, name, qtype, stub=STUB_PLAIN):
        self.q.append((round(t, 6), client, name.lower(), qtype, stub))

    def write(self, base):
        self.q.sort(key=lambda x: x[0])
        with open(base + ".dig", "w") as d, open(base + ".plan", "w") as p:
            for t, client, name, qtype, stub in self.q:
                d.write(f"-b {client} {name} {qtype} {stub}\n")
                p.write(f"{t:.6f} {name} {qtype}\n")
        return len(self.q)


def rnd_for(name, seed):
    return random.Random(zlib.crc32(name.encode()) ^ seed)


def a4(n):
    """Answer addresses: 198.18.0.0/15 (benchmarking range), never routed."""
    return str(ipaddress.IPv4Address(0xC6120000 + 1 + n % 131000))


def a6(n):
    return str(ipaddress.IPv6Address((0x20010DB8 << 96) + (0x18 << 80) + n + 1))


def b32l(data):
    return base64.b32encode(data).decode().rstrip("=").lower()


def load_domains(csv_path, count, psl):
    out, seen = [], set()
    with open(csv_path) as f:
        for line in f:
            parts = line.strip().split(",")
            if len(parts) < 2:
                continue
            d = parts[1].strip().lower().rstrip(".")
            if not HOST_RE.match(d) or d.endswith(".test") or psl.registered(d) != d:
                continue
            if d in seen:
                continue
            seen.add(d)
            out.append(d)
            if len(out) == count:
                break
    if len(out) < count:
        raise SystemExit(f"gen_benign: only {len(out)} usable domains in {csv_path}, wanted {count}")
    return out


def cdn_target(r, d, zone, n):
    """A CDN CNAME target for d, with its A/AAAA records in the zone."""
    kind = r.choice(["akamai", "cloudfront", "fastly", "azure"])
    if kind == "akamai":
        edge = f"{d}.edgekey.net"
        tgt = f"e{r.randint(1000, 99999)}.{r.choice(['a', 'b', 'dscb', 'dsca', 'x'])}.akamaiedge.net"
        zone.add(edge, "CNAME", tgt + ".")
        zone.add(tgt, "A", a4(n + 70000))
        zone.add(tgt, "AAAA", a6(n + 70000))
        return edge
    if kind == "cloudfront":
        tgt = "d" + b32l(hashlib.sha1(d.encode()).digest())[:13] + ".cloudfront.net"
        for k in range(4):
            zone.add(tgt, "A", a4(n * 4 + k + 80000), ttl=60)
        return tgt
    if kind == "fastly":
        tgt = f"{d.replace('.', '-')}.map.fastly.net"
        zone.add(tgt, "A", a4(n + 90000), ttl=30)
        return tgt
    tgt = f"{d.split('.')[0]}-{hashlib.md5(d.encode()).hexdigest()[:10]}.z01.azurefd.net"
    zone.add(tgt, "A", a4(n + 100000))
    return tgt


def add_domain(zone, d, n, seed):
    """Records of one benign registered domain; returns what the plan may ask."""
    r = rnd_for(d, seed)
    info = {"www": "www." + d, "subs": [], "dkim": None, "spf": None}
    zone.add(d, "A", a4(n))
    if r.random() < 0.6:
        zone.add(d, "AAAA", a6(n))
    if r.random() < 0.35:
        zone.add(d, "HTTPS", "1 . alpn=h2,h3")
    roll = r.random()
    if roll < 0.55:
        zone.add("www." + d, "A", a4(n))
        if r.random() < 0.6:
            zone.add("www." + d, "AAAA", a6(n))
        if r.random() < 0.35:
            zone.add("www." + d, "HTTPS", "1 . alpn=h2,h3")
    elif roll < 0.8:
        zone.add("www." + d, "CNAME", d + ".")
    else:
        zone.add("www." + d, "CNAME", cdn_target(r, d, zone, n) + ".")
    for sub in ("api", "cdn", "static", "img", "m", "login", "assets"):
        if r.random() < 0.25:
            if sub in ("cdn", "static", "img", "assets") and r.random() < 0.6:
                zone.add(f"{sub}.{d}", "CNAME", cdn_target(r, d, zone, n + 1) + ".")
            else:
                zone.add(f"{sub}.{d}", "A", a4(n + 200000))
            info["subs"].append(sub)
    mx = r.random()
    if mx < 0.4:
        zone.add(d, "MX", f"10 mail.{d}.")
        zone.add("mail." + d, "A", a4(n + 300000))
        info["spf"] = f"v=spf1 mx a:mail.{d} -all"
    elif mx < 0.6:
        zone.add(d, "MX", "1 aspmx.l.google.com.")
        info["spf"] = "v=spf1 include:_spf.google.com ~all"
    elif mx < 0.8:
        zone.add(d, "MX", f"0 {d.replace('.', '-')}.mail.protection.outlook.com.")
        info["spf"] = "v=spf1 include:spf.protection.outlook.com -all"
    else:
        info["spf"] = "v=spf1 include:_spf.salesforce.com ~all" if r.random() < 0.5 else None
    if info["spf"]:
        zone.add(d, "TXT", f'"{info["spf"]}"')
    if r.random() < 0.4:
        tok = base64.urlsafe_b64encode(hashlib.sha256(d.encode()).digest()).decode().rstrip("=")
        zone.add(d, "TXT", f'"google-site-verification={tok}"')
    if r.random() < 0.6:
        zone.add("_dmarc." + d, "TXT",
                 f'"v=DMARC1; p={r.choice(["none", "quarantine", "reject"])}; rua=mailto:dmarc@{d}"')
    if r.random() < 0.5:
        sel = r.choice(["google", "selector1", "selector2", "s1", "k1", "default", "dkim"])
        key = base64.b64encode(hashlib.shake_256(d.encode()).digest(270)).decode()
        # TXT strings hold at most 255 bytes: split the key like real zones do
        parts = " ".join(f'"{key[i:i + 200]}"' for i in range(0, len(key), 200))
        zone.add(f"{sel}._domainkey.{d}", "TXT", f'"v=DKIM1; k=rsa; p=" {parts}')
        info["dkim"] = sel
    return info


def gen_web(zone, plan, domains, infos, r, span):
    """Office browsing: 60 clients, each domain visited once or twice (A, AAAA,
    sometimes HTTPS; a few MX/TXT), some sub-resources (api, cdn, static...)."""
    clients = [f"10.201.1.{i}" for i in range(10, 70)]
    for d in domains:
        info = infos[d]
        for _ in range(1 if r.random() < 0.9 else 2):
            t = r.uniform(0, span)
            c = r.choice(clients)
            stub = STUB_EDNS if int(c.rsplit(".", 1)[1]) % 2 else STUB_PLAIN
            host = info["www"] if r.random() < 0.6 else d
            plan.add(t, c, host, "A", stub)
            if r.random() < 0.8:
                plan.add(t + 0.0004, c, host, "AAAA", stub)
            if r.random() < 0.25:
                plan.add(t + 0.0008, c, host, "HTTPS", stub)
            if r.random() < 0.05:
                # mail clients and security software look at MX and TXT too
                plan.add(t + 0.001, c, d, r.choice(["MX", "TXT"]), stub)
            if r.random() < 0.12:
                # a sub-resource; half the time one the site does not have (NXDOMAIN)
                pool = info["subs"] if info["subs"] and r.random() < 0.5 else \
                    ["api", "cdn", "static", "img", "m"]
                sub = f"{r.choice(pool)}.{d}"
                t2 = t + r.uniform(0.2, 2.0)
                plan.add(t2, c, sub, "A", stub)
                plan.add(t2 + 0.0004, c, sub, "AAAA", stub)


def rev4(ip):
    return ".".join(reversed(ip.split("."))) + ".in-addr.arpa"


def rev6(ip):
    nib = ipaddress.IPv6Address(ip).exploded.replace(":", "")
    return ".".join(reversed(nib)) + ".ip6.arpa"


def doc_ip(r):
    net = r.choice(["192.0.2", "198.51.100", "203.0.113"])
    return f"{net}.{r.randint(1, 254)}"


def gen_mail(zone, plan, domains, infos, r, span):
    """A mail server: per inbound connection a PTR, three DNSBLs, the sender's
    SPF (with includes and a macro-expanded name), DMARC and DKIM."""
    mta = "10.201.1.5"
    zone.add("_spf.google.com", "TXT", '"v=spf1 include:_netblocks.google.com '
             'include:_netblocks2.google.com include:_netblocks3.google.com ~all"')
    for i, nb in enumerate(("_netblocks", "_netblocks2", "_netblocks3")):
        zone.add(f"{nb}.google.com", "TXT", f'"v=spf1 ip4:198.18.{i * 16}.0/20 ~all"')
    zone.add("spf.protection.outlook.com", "TXT", '"v=spf1 ip4:198.18.64.0/18 -all"')
    zone.add("_spf.salesforce.com", "TXT",
             '"v=spf1 exists:%{i}._spf.mta.salesforce.com -all"')
    listed, t = {}, 0.0
    senders = [d for d in domains if infos[d]["spf"] or infos[d]["dkim"]]
    while True:
        t += r.expovariate(1 / 12.0)
        if t > span:
            break
        ip = doc_ip(r)
        rv = ".".join(reversed(ip.split(".")))
        if ip not in listed:
            listed[ip] = r.random() < 0.1
            if r.random() < 0.6:
                zone.add(rev4(ip), "PTR", f"mx{r.randint(1, 40)}.{r.choice(domains)}.")
            if listed[ip]:
                code = r.choice(["127.0.0.2", "127.0.0.4", "127.0.0.10", "127.0.0.11"])
                zone.add(f"{rv}.zen.spamhaus.org", "A", code)
                zone.add(f"{rv}.zen.spamhaus.org", "TXT",
                         f'"Listed by ZEN, see https://check.spamhaus.org/query/ip/{ip}"')
                zone.add(f"{rv}.b.barracudacentral.org", "A", "127.0.0.2")
                if r.random() < 0.5:
                    zone.add(f"{rv}.bl.spamcop.net", "A", "127.0.0.2")
        q = [(0.0, rev4(ip), "PTR")]
        for k, bl in enumerate(("zen.spamhaus.org", "b.barracudacentral.org", "bl.spamcop.net")):
            q.append((0.05 + k * 0.0005, f"{rv}.{bl}", "A"))
        if listed[ip]:
            q.append((0.12, f"{rv}.zen.spamhaus.org", "TXT"))
        else:
            d = r.choice(senders)
            spf = infos[d]["spf"] or ""
            q.append((0.3, d, "TXT"))
            if "_spf.google.com" in spf:
                q += [(0.32, "_spf.google.com", "TXT"), (0.34, "_netblocks.google.com", "TXT"),
                      (0.341, "_netblocks2.google.com", "TXT"),
                      (0.342, "_netblocks3.google.com", "TXT")]
            elif "outlook" in spf:
                q.append((0.32, "spf.protection.outlook.com", "TXT"))
            elif "salesforce" in spf:
                q += [(0.32, "_spf.salesforce.com", "TXT"),
                      (0.34, f"{ip}._spf.mta.salesforce.com", "A")]
            elif spf:
                q.append((0.32, "mail." + d, "A"))
            q.append((0.5, "_dmarc." + d, "TXT"))
            if infos[d]["dkim"]:
                q.append((0.52, f"{infos[d]['dkim']}._domainkey.{d}", "TXT"))
        for dt, name, qt in q:
            plan.add(t + dt, mta, name, qt, STUB_EDNS)


def gen_av(zone, plan, r, span):
    """Endpoint protection on 15 workstations: bursts of reputation lookups
    while files are scanned (McAfee GTI, Sophos SXL, ESET, Team Cymru MHR)."""
    zone.add("*.avqs.mcafee.com", "A", "127.0.0.1", ttl=3600)
    zone.add("*.sophosxl.net", "A", "127.0.0.1", ttl=3600)
    zone.add("*.e5.sk", "A", "127.0.0.1", ttl=600)
    ws = [f"10.201.1.{i}" for i in range(10, 25)]
    for c in ws:
        vendor = ["mcafee", "sophos", "eset"][int(c.rsplit(".", 1)[1]) % 3]
        t = r.uniform(0, 200)
        while t < span:
            for k in range(r.randint(4, 25)):
                h = hashlib.md5(f"{c}{t}{k}".encode()).digest()
                sha = hashlib.sha256(h).hexdigest()
                if vendor == "mcafee":
                    name = f"0.0.0.0.1.0.0.4e13.{h.hex()}.avqs.mcafee.com"
                elif vendor == "sophos":
                    name = f"{sha[:32]}.{sha[32:]}.f.01.sophosxl.net"
                else:
                    name = f"{b32l(h)}.{sha[:8]}.a.e5.sk"
                tt = t + k * r.uniform(0.05, 0.3)
                plan.add(tt, c, name, "A")
                if r.random() < 0.3:
                    # a second opinion from the malware hash registry; almost always unknown
                    plan.add(tt + 0.01, c, f"{h.hex()}.hash.cymru.com", "TXT")
            t += r.expovariate(1 / 300.0)
    for k in range(5):
        h = hashlib.md5(f"known-bad-{k}".encode()).hexdigest()
        zone.add(f"{h}.hash.cymru.com", "TXT", f'"1700000000 {60 + k * 5}"')
        plan.add(r.uniform(0, span), r.choice(ws), f"{h}.hash.cymru.com", "TXT")


def gen_reverse_cdn(zone, plan, domains, r, span):
    """Workstations: reverse lookups (v4 and v6, some NXDOMAIN) and direct CDN names."""
    ws = [f"10.201.1.{i}" for i in range(10, 70)]
    for _ in range(180):
        c, t = r.choice(ws), r.uniform(0, span)
        if r.random() < 0.6:
            ip = doc_ip(r)
            if r.random() < 0.5:
                zone.add(rev4(ip), "PTR", f"host{r.randint(1, 99)}.{r.choice(domains)}.")
            plan.add(t, c, rev4(ip), "PTR")
        else:
            ip = f"2001:db8:{r.randint(0, 0xffff):x}::{r.randint(1, 0xffff):x}"
            if r.random() < 0.4:
                zone.add(rev6(ip), "PTR", f"v6-{r.randint(1, 99)}.{r.choice(domains)}.")
            plan.add(t, c, rev6(ip), "PTR")
    for k in range(260):
        c, t = r.choice(ws), r.uniform(0, span)
        kind = k % 5
        if kind == 0:
            sn = "".join(r.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(8))
            name = f"rr{r.randint(1, 8)}---sn-{sn}.googlevideo.com"
        elif kind == 1:
            name = f"e{r.randint(1000, 99999)}.dscb.akamaiedge.net"
        elif kind == 2:
            name = "d" + b32l(hashlib.sha1(str(k).encode()).digest())[:13] + \
                ".cloudfront.net"
        elif kind == 3:
            name = f"scontent-{r.choice(['ams', 'fra', 'lhr', 'cdg'])}{r.randint(1, 4)}-" \
                   f"{r.randint(1, 2)}.xx.fbcdn.net"
        else:
            name = f"dualstack.{r.choice(['j', 'k', 'n'])}.sni.global.fastly.net"
        zone.add(name, "A", a4(500000 + k), ttl=60)
        plan.add(t, c, name, "A", STUB_EDNS)
        plan.add(t + 0.0004, c, name, "AAAA", STUB_EDNS)


def gen_k8s(zone, plan, domains, r, span):
    """Pods with the usual ndots:5 resolv.conf: internal services every 30 s,
    external APIs through the whole search list first (NXDOMAIN each)."""
    svcs = {"default": ["kubernetes", "web", "redis"], "shop": ["cart", "payments", "orders"],
            "monitoring": ["prometheus", "kube-state-metrics", "grafana"]}
    ip = 0
    for ns, names in svcs.items():
        for s in names:
            ip += 1
            zone.add(f"{s}.{ns}.svc.cluster.local", "A", f"10.96.0.{ip}", ttl=5)
    pods = [(f"10.201.1.{100 + i}", list(svcs)[i % 3]) for i in range(6)]
    for c, ns in pods:
        search = [f"{ns}.svc.cluster.local", "svc.cluster.local", "cluster.local"]
        local = r.choice(svcs[ns])
        other_ns = r.choice([n for n in svcs if n != ns])
        remote = f"{r.choice(svcs[other_ns])}.{other_ns}"
        ext = r.choice(domains[:200])
        t = r.uniform(0, 30)
        while t < span:
            for dt, short in ((0.0, local), (0.01, remote)):
                # musl/glibc try each search suffix until one answers
                for k, suf in enumerate(search):
                    name = f"{short}.{suf}"
                    plan.add(t + dt + k * 0.002, c, name, "A")
                    plan.add(t + dt + k * 0.002 + 0.0005, c, name, "AAAA")
                    if zone.has(name):
                        break
            if r.random() < 0.25:
                for k, suf in enumerate(search + [""]):
                    name = f"api.{ext}.{suf}".rstrip(".")
                    plan.add(t + 0.1 + k * 0.002, c, name, "A")
                    plan.add(t + 0.1 + k * 0.002 + 0.0005, c, name, "AAAA")
            t += 30.0 + r.uniform(-0.05, 0.05)
        zone.add(f"api.{ext}", "A", a4(600000 + int(c.rsplit(".", 1)[1])))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--domains", required=True, help="top-domains.csv (rank,domain)")
    ap.add_argument("--count", type=int, default=5200, help="benign registered domains to browse")
    ap.add_argument("--span", type=float, default=3600.0, help="seconds the web plan covers")
    ap.add_argument("--fp-span", type=float, default=1800.0, help="seconds the fp plan covers")
    ap.add_argument("--seed", type=int, default=4)
    ap.add_argument("--outdir", required=True)
    a = ap.parse_args()

    psl = pcapdns.Psl()
    r = random.Random(a.seed)
    domains = load_domains(a.domains, a.count, psl)
    zone = Zone()
    infos = {d: add_domain(zone, d, n * 3, a.seed) for n, d in enumerate(domains)}

    web = Plan()
    gen_web(zone, web, domains, infos, r, a.span)
    fp = Plan()
    gen_mail(zone, fp, domains, infos, r, a.fp_span)
    gen_av(zone, fp, r, a.fp_span)
    gen_reverse_cdn(zone, fp, domains, r, a.fp_span)
    gen_k8s(zone, fp, domains, r, a.fp_span)

    zone.write(os.path.join(a.outdir, "benign.zone"))
    nw = web.write(os.path.join(a.outdir, "web"))
    nf = fp.write(os.path.join(a.outdir, "fp"))
    print(f"gen_benign: {len(domains)} domains, {len(zone.rrs)} names in zone, "
          f"{nw} web queries, {nf} fp queries")


if __name__ == "__main__":
    main()
