# SPDX-License-Identifier: GPL-2.0
"""Read and write classic pcap files and pull DNS questions out of them.

Shared by retime.py and check.py in this folder. Standard library only, on
purpose: the usual tools for this (editcap from wireshark-common, scapy, dpkt)
are either a large Debian dependency for one timestamp rewrite or not packaged
for Debian's python3 at all, and the classic pcap format is a 24-byte header
plus a 16-byte header per packet, which is less code than the glue to call
them. Only what the corpus needs: classic pcap (not pcapng) in either byte
order, microsecond or nanosecond stamps; Ethernet (with VLAN tags), Linux
cooked v1/v2 and raw IP; IPv4/IPv6; DNS over UDP and, when a segment holds
whole messages, over TCP.
"""

import struct

MAGIC_US = 0xA1B2C3D4
MAGIC_NS = 0xA1B23C4D

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_LINUX_SLL2 = 276


class Pcap:
    """A whole capture in memory: header fields and a list of packets.

    Each packet is [ts_ns, data, orig_len]; ts_ns is an integer in
    nanoseconds so rewriting never loses precision.
    """

    def __init__(self, linktype=LINKTYPE_ETHERNET, snaplen=262144, nsec=False):
        self.linktype = linktype
        self.snaplen = snaplen
        self.nsec = nsec
        self.packets = []

    @classmethod
    def read(cls, path):
        with open(path, "rb") as f:
            raw = f.read()
        if len(raw) < 24:
            raise ValueError(f"{path}: too short for a pcap header ({len(raw)} bytes)")
        for endian in ("<", ">"):
            magic = struct.unpack(endian + "I", raw[:4])[0]
            if magic in (MAGIC_US, MAGIC_NS):
                break
        else:
            raise ValueError(f"{path}: not a classic pcap file (pcapng is not supported here)")
        _, _, _, _, _, snaplen, linktype = struct.unpack(endian + "IHHiIII", raw[:24])
        cap = cls(linktype & 0xFFFF, snaplen, magic == MAGIC_NS)
        scale = 1 if cap.nsec else 1000
        off = 24
        while off + 16 <= len(raw):
            sec, frac, incl, orig = struct.unpack(endian + "IIII", raw[off:off + 16])
            off += 16
            if off + incl > len(raw):
                raise ValueError(f"{path}: packet at byte {off - 16} is truncated")
            cap.packets.append([sec * 1_000_000_000 + frac * scale, raw[off:off + incl], orig])
            off += incl
        return cap

    def write(self, path):
        scale = 1 if self.nsec else 1000
        out = [struct.pack("<IHHiIII", MAGIC_NS if self.nsec else MAGIC_US, 2, 4, 0, 0,
                           self.snaplen, self.linktype)]
        for ts, data, orig in self.packets:
            if ts < 0:
                raise ValueError("negative timestamp after rewrite")
            sec, rem = divmod(ts, 1_000_000_000)
            out.append(struct.pack("<IIII", sec, rem // scale, len(data), orig))
            out.append(data)
        with open(path, "wb") as f:
            f.write(b"".join(out))


class Dns:
    """The fields of one DNS message that the corpus tools look at."""

    __slots__ = ("src", "dst", "sport", "dport", "proto", "id", "qr", "opcode", "rcode",
                 "ancount", "labels", "qtype", "size")

    def key(self):
        """Client-side identity of a transaction: same for a query and its answer."""
        if self.qr:
            return (self.dst, self.dport, self.src, self.proto, self.id)
        return (self.src, self.sport, self.dst, self.proto, self.id)

    def qname(self):
        return b".".join(self.labels).decode("latin-1")


def _l3(linktype, data):
    """Return (ethertype-or-version, offset of the IP header) or None."""
    if linktype == LINKTYPE_ETHERNET:
        if len(data) < 14:
            return None
        off, etype = 14, struct.unpack("!H", data[12:14])[0]
        while etype in (0x8100, 0x88A8) and len(data) >= off + 4:
            etype = struct.unpack("!H", data[off + 2:off + 4])[0]
            off += 4
        return etype, off
    if linktype == LINKTYPE_LINUX_SLL and len(data) >= 16:
        return struct.unpack("!H", data[14:16])[0], 16
    if linktype == LINKTYPE_LINUX_SLL2 and len(data) >= 20:
        return struct.unpack("!H", data[0:2])[0], 20
    if linktype == LINKTYPE_RAW and data:
        return (0x0800 if data[0] >> 4 == 4 else 0x86DD), 0
    return None


def _ip(linktype, data):
    """Return (src, dst, proto, payload) or None for non-IP/fragments."""
    l3 = _l3(linktype, data)
    if not l3:
        return None
    etype, off = l3
    if etype == 0x0800 and len(data) >= off + 20:
        ihl = (data[off] & 0x0F) * 4
        frag = struct.unpack("!H", data[off + 6:off + 8])[0]
        if frag & 0x1FFF:
            return None
        tot = struct.unpack("!H", data[off + 2:off + 4])[0]
        src = ".".join(str(b) for b in data[off + 12:off + 16])
        dst = ".".join(str(b) for b in data[off + 16:off + 20])
        return src, dst, data[off + 9], data[off + ihl:off + tot]
    if etype == 0x86DD and len(data) >= off + 40:
        plen = struct.unpack("!H", data[off + 4:off + 6])[0]
        src = data[off + 8:off + 24].hex()
        dst = data[off + 24:off + 40].hex()
        return src, dst, data[off + 6], data[off + 40:off + 40 + plen]
    return None


def parse_dns_message(msg):
    """Header and first question of a DNS message, or None if malformed."""
    if len(msg) < 12:
        return None
    d = Dns()
    d.id, flags, qd, an = struct.unpack("!HHHH", msg[:8])
    d.qr = flags >> 15
    d.opcode = (flags >> 11) & 0xF
    d.rcode = flags & 0xF
    d.ancount = an
    d.size = len(msg)
    d.labels = []
    d.qtype = None
    if qd < 1:
        return d
    off = 12
    while True:
        if off >= len(msg):
            return None
        n = msg[off]
        off += 1
        if n == 0:
            break
        if n & 0xC0 or off + n > len(msg):
            return None  # a question name is never compressed
        d.labels.append(msg[off:off + n])
        off += n
    if off + 4 > len(msg):
        return None
    d.qtype = struct.unpack("!H", msg[off:off + 2])[0]
    return d


def dns_messages(linktype, data, port=53):
    """Yield the DNS messages a packet carries (UDP, or TCP with whole messages)."""
    ip = _ip(linktype, data)
    if not ip:
        return
    src, dst, proto, l4 = ip
    if proto == 17 and len(l4) >= 8:
        sport, dport = struct.unpack("!HH", l4[:4])
        msgs = [l4[8:]]
    elif proto == 6 and len(l4) >= 20:
        sport, dport = struct.unpack("!HH", l4[:4])
        body = l4[(l4[12] >> 4) * 4:]
        msgs = []
        while len(body) >= 2:
            n = struct.unpack("!H", body[:2])[0]
            if len(body) < 2 + n:
                break
            msgs.append(body[2:2 + n])
            body = body[2 + n:]
    else:
        return
    if port not in (sport, dport):
        return
    for m in msgs:
        d = parse_dns_message(m)
        if d is None:
            continue
        d.src, d.dst, d.sport, d.dport, d.proto = src, dst, sport, dport, proto
        yield d


class Psl:
    """Registered domain by the public suffix list, ICANN and private sections,
    the same answer libpsl's psl_registrable_domain() gives the sensor."""

    def __init__(self, path="/usr/share/publicsuffix/public_suffix_list.dat"):
        self.rules, self.wild, self.exc = set(), set(), set()
        with open(path, encoding="utf-8") as f:
            for line in f:
                r = line.split()[0] if line.split() else ""
                if not r or r.startswith("//"):
                    continue
                r = r.encode("idna").decode() if not r.isascii() else r.lower()
                if r.startswith("!"):
                    self.exc.add(r[1:])
                elif r.startswith("*."):
                    self.wild.add(r[2:])
                else:
                    self.rules.add(r)

    def suffix_len(self, labels):
        """Number of trailing labels that form the public suffix."""
        n = len(labels)
        for i in range(n):
            cand = ".".join(labels[i:])
            if cand in self.exc:
                return n - i - 1
            if cand in self.rules:
                return n - i
            if i + 1 < n and ".".join(labels[i + 1:]) in self.wild:
                return n - i
        return 1  # the implicit "*" rule

    def registered(self, name):
        name = name.rstrip(".").lower()
        if not name:
            return None
        labels = name.split(".")
        k = self.suffix_len(labels)
        if k >= len(labels):
            return None
        return ".".join(labels[-(k + 1):])
