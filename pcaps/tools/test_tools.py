# SPDX-License-Identifier: GPL-2.0
"""Tests for the corpus tools and for the committed corpus. No root needed.

  python3 pcaps/tools/test_tools.py -v

The tool tests build small captures in memory (Ethernet/IPv4/UDP DNS) and
check pcap round trips, DNS question parsing, the registered domain, each
retime.py mode and check.py's exfiltration rebuild. The corpus tests read
MANIFEST.tsv and truth.txt and run check.py over every committed capture.
"""

import base64
import hashlib
import os
import random
import struct
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PCAPS = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import pcapdns  # noqa: E402

NS = 1_000_000_000


def dns_packet(qname, qtype=1, txid=1, response=False, rcode=0, sport=40000,
               client="10.0.0.2", server="10.0.0.1"):
    """An Ethernet frame carrying one DNS query or (empty) response over UDP."""
    q = b"".join(bytes([len(lab)]) + lab.encode() for lab in qname.split(".")) + b"\0"
    flags = (0x8180 | rcode) if response else 0x0100
    dns = struct.pack("!HHHHHH", txid, flags, 1, 0, 0, 0) + q + struct.pack("!HH", qtype, 1)
    src, dst = (server, client) if response else (client, server)
    ports = (53, sport) if response else (sport, 53)
    udp = struct.pack("!HHHH", ports[0], ports[1], 8 + len(dns), 0) + dns
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     bytes(map(int, src.split("."))), bytes(map(int, dst.split("."))))
    return b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + udp


def exchanges(names, start=1_000 * NS, gap=NS // 1000, latency=NS // 5000):
    """A capture of sequential exchanges: query, answer, next query..."""
    cap = pcapdns.Pcap()
    t = start
    for i, name in enumerate(names):
        qp = dns_packet(name, txid=i + 1, sport=40000 + i)
        rp = dns_packet(name, txid=i + 1, sport=40000 + i, response=True)
        cap.packets.append([t, qp, len(qp)])
        cap.packets.append([t + latency, rp, len(rp)])
        t += gap
    return cap


def run(tool, *args):
    return subprocess.run([sys.executable, os.path.join(HERE, tool), *args],
                          capture_output=True, text=True)


def queries(path):
    """[(ts_ns, qname, is_response)] of a capture."""
    cap = pcapdns.Pcap.read(path)
    out = []
    for ts, data, _ in cap.packets:
        for d in pcapdns.dns_messages(cap.linktype, data):
            out.append((ts, d.qname(), bool(d.qr)))
    return out


class PcapAndDns(unittest.TestCase):
    def test_round_trip_keeps_bytes_and_nanoseconds(self):
        cap = exchanges(["a.example.com"])
        cap.nsec = True
        cap.packets[0][0] += 123  # not a whole microsecond
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "x.pcap")
            cap.write(p)
            back = pcapdns.Pcap.read(p)
        self.assertEqual([p[:2] for p in back.packets], [p[:2] for p in cap.packets])

    def test_parses_question_and_direction(self):
        (q,) = pcapdns.dns_messages(1, dns_packet("Www.Example.com", qtype=28, txid=7))
        (r,) = pcapdns.dns_messages(1, dns_packet("Www.Example.com", qtype=28, txid=7,
                                                  response=True, rcode=3))
        self.assertEqual((q.qname(), q.qtype, q.qr, q.id), ("Www.Example.com", 28, 0, 7))
        self.assertEqual((r.qr, r.rcode), (1, 3))
        self.assertEqual(q.key(), r.key())

    def test_rejects_compressed_question_and_pcapng(self):
        frame = bytearray(dns_packet("a.b"))
        frame[14 + 20 + 8 + 12] = 0xC0  # first label length becomes a pointer
        self.assertEqual(list(pcapdns.dns_messages(1, bytes(frame))), [])
        with tempfile.NamedTemporaryFile(suffix=".pcapng") as f:
            f.write(b"\x0a\x0d\x0d\x0a" + b"\0" * 28)
            f.flush()
            with self.assertRaises(ValueError):
                pcapdns.Pcap.read(f.name)

    def test_registered_domain(self):
        psl = pcapdns.Psl()
        cases = {
            "www.example.com": "example.com",
            "a.b.example.co.uk": "example.co.uk",
            "d1234abcd.cloudfront.net": "d1234abcd.cloudfront.net",
            "4.3.2.1.zen.spamhaus.org": "spamhaus.org",
            "4.113.0.203.in-addr.arpa": "203.in-addr.arpa",
            "abc.t.iodine-null.test": "iodine-null.test",
            "web.default.svc.cluster.local": "cluster.local",
            "a.b.www.ck": "www.ck",             # exception rule !www.ck beats *.ck
            "x.y.kawasaki.jp": "x.y.kawasaki.jp",  # wildcard *.kawasaki.jp
            "co.uk": None,
        }
        for name, want in cases.items():
            self.assertEqual(psl.registered(name), want, name)


class Retime(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.src = os.path.join(self.dir.name, "in.pcap")
        self.dst = os.path.join(self.dir.name, "out.pcap")
        exchanges([f"q{i}.example.com" for i in range(20)]).write(self.src)

    def tearDown(self):
        self.dir.cleanup()

    def query_times(self):
        return [t for t, _, r in queries(self.dst) if not r]

    def test_gaps_stay_in_range_and_answers_keep_latency(self):
        r = run("retime.py", self.src, self.dst, "--gaps", "10:30")
        self.assertEqual(r.returncode, 0, r.stderr)
        qs = self.query_times()
        gaps = [(b - a) / NS for a, b in zip(qs, qs[1:])]
        self.assertEqual(len(gaps), 19)
        self.assertTrue(all(10 <= g <= 30 for g in gaps), gaps)
        rows = queries(self.dst)
        for (tq, nq, rq), (ta, na, ra) in zip(rows[::2], rows[1::2]):
            self.assertEqual((nq, rq, ra), (na, False, True))
            self.assertEqual(ta - tq, NS // 5000)

    def test_interval_with_and_without_jitter(self):
        run("retime.py", self.src, self.dst, "--interval", "60")
        qs = self.query_times()
        self.assertEqual({b - a for a, b in zip(qs, qs[1:])}, {60 * NS})
        run("retime.py", self.src, self.dst, "--interval", "60", "--jitter", "0.3")
        offs = [(t - self.query_times()[0]) / NS for t in self.query_times()]
        dev = [abs(o - 60 * i) for i, o in enumerate(offs)]
        self.assertTrue(all(d <= 18.0 + 1e-6 for d in dev), dev)
        self.assertGreater(max(dev), 1.0)

    def test_plan_places_each_query_and_checks_names(self):
        plan = os.path.join(self.dir.name, "p.plan")
        offs = sorted(random.Random(3).uniform(0, 500) for _ in range(20))
        with open(plan, "w") as f:
            for i, o in enumerate(offs):
                f.write(f"{o:.6f} q{i}.example.com A\n")
        r = run("retime.py", self.src, self.dst, "--plan", plan, "--start", "2000")
        self.assertEqual(r.returncode, 0, r.stderr)
        got = [(t - 2000 * NS) / NS for t in self.query_times()]
        for g, o in zip(got, offs):
            self.assertAlmostEqual(g, o, places=5)
        with open(plan, "w") as f:
            f.write("".join(f"{i}.0 other{i}.example.com A\n" for i in range(20)))
        r = run("retime.py", self.src, self.dst, "--plan", plan)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("plan says", r.stdout + r.stderr)


class Check(unittest.TestCase):
    def test_exfil_rebuild_and_a_missing_chunk(self):
        data = bytes(range(256)) * 3
        names = []
        for seq, off in enumerate(range(0, len(data), 20)):
            text = base64.b32encode(data[off:off + 20]).decode().rstrip("=").lower()
            names.append(f"{text}.{seq}.x-exfil.test")
        sha = hashlib.sha256(data).hexdigest()
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "e.pcap")
            exchanges(names).write(p)
            r = run("check.py", p, "--domain", "x-exfil.test", "--only", "--exfil", "base32",
                    "--sha256", sha)
            self.assertEqual(r.returncode, 0, r.stderr)
            exchanges(names[:5] + names[6:]).write(p)
            r = run("check.py", p, "--domain", "x-exfil.test", "--exfil", "base32",
                    "--sha256", sha)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("missing: [5]", r.stdout + r.stderr)

    def test_fails_on_foreign_queries_and_unanswered(self):
        cap = exchanges(["a.t.tun.test", "b.t.tun.test", "www.example.com"])
        del cap.packets[1]  # the first query goes unanswered
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "t.pcap")
            cap.write(p)
            r = run("check.py", p, "--domain", "tun.test", "--only", "--min-answered", "0.9")
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("outside tun.test", r.stderr)
            self.assertIn("50% answered", r.stderr)


class Corpus(unittest.TestCase):
    """The committed corpus agrees with its manifest and truth file."""

    @classmethod
    def setUpClass(cls):
        with open(os.path.join(PCAPS, "MANIFEST.tsv")) as f:
            rows = [line.rstrip("\n").split("\t") for line in f]
        cls.header, cls.rows = rows[0], rows[1:]
        with open(os.path.join(PCAPS, "truth.txt")) as f:
            cls.truth = dict(line.split() for line in f)

    def test_manifest_shape_and_files(self):
        self.assertEqual(self.header, ["file", "kind", "registered_domains", "label", "notes"])
        labels = {r[3] for r in self.rows}
        self.assertEqual(labels, {"tunnel", "exfil", "beacon", "benign"})
        for r in self.rows:
            self.assertEqual(len(r), 5, r)
            self.assertTrue(os.path.isfile(os.path.join(PCAPS, r[0])), r[0])

    def test_truth_labels_every_manifest_domain(self):
        for f, _, doms, label, _ in self.rows:
            for d in doms.split(","):
                if d != "-":
                    self.assertEqual(self.truth.get(d), label, f)
        self.assertEqual(set(self.truth.values()), {"tunnel", "exfil", "beacon", "benign"})
        benign = sum(1 for v in self.truth.values() if v == "benign")
        self.assertGreaterEqual(benign, 5000)

    def test_every_capture_passes_check(self):
        for f, kind, doms, label, _ in self.rows:
            args = [os.path.join(PCAPS, f)]
            if doms != "-":
                args += ["--domain", doms, "--only", "--min-queries", "20",
                         "--min-answered", "0.6"]
            r = run("check.py", *args)
            self.assertEqual(r.returncode, 0, f"{f}: {r.stdout}{r.stderr}")

    def test_size_budget(self):
        total = sum(os.path.getsize(os.path.join(PCAPS, r[0])) for r in self.rows)
        self.assertLess(total, 8 * 1024 * 1024)


if __name__ == "__main__":
    unittest.main()
