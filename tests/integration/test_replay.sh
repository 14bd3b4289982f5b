#!/usr/bin/env bash
# exfilter replay end to end:
#  - the public tool captures (dnscat2, dns2tcp, DNSExfiltrator, iodine, sods)
#    alert on their tunnel domains, replayed by an unprivileged user (nobody:
#    replay must not need root), as JSON lines valid against
#    schemas/alert.schema.json, as a table, and into SQLite with --db;
#  - the same capture as Linux SLL, SLL2, raw IP, loopback (null) and pcapng
#    gives the same alerts;
#  - --report writes the tuning report (with --truth and an allowlist hit);
#  - malformed packets and a capture cut mid-record are counted, never crash;
#  - bad options fail with a message and a non-zero exit;
#  - --kernel (the TC program through BPF_PROG_TEST_RUN) gives the same
#    alerts as the userspace parsers (client, registered domain, rule,
#    severity; scores within 1 point), on the public captures and on a capture
#    recorded here from a real iodine tunnel through a real unbound in netns,
#    and leaves no pinned maps behind.
# Needs root (netns, --kernel, dropping to nobody); fails without it.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/lib.sh"

xf_require_root
xf_require_tools nsenter setpriv python3 sqlite3 tcpdump
xf_bound_runtime "${XF_TEST_TIMEOUT:-300}" "$@"
xf_trap_setup
xf_gc_stale

xf_built EXFILTER=exfilter
python3 -c 'import jsonschema' || xf_die "python3-jsonschema missing (make deps)"
EXT=/work/shared/data/pcaps-external
[[ -d $EXT ]] || EXT=$ROOT/../shared/data/pcaps-external
[[ -r $EXT/iodine.pcap ]] || xf_die "the public captures are missing: $EXT"

xf_topo_up
# a directory the unprivileged user can read and write
U=$(mktemp -d /tmp/xf-replay-u.XXXXXX)
chown 65534:65534 "$U"
chmod 755 "$U"
cleanup() {
	xf_teardown
	rm -rf "$U"
}
trap cleanup EXIT

nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups --no-new-privs "$@"; }
replay_u() { nobody "$EXFILTER" replay "$@"; }
cp "$EXT"/*.pcap "$U/"
chmod 644 "$U"/*.pcap

# --- unprivileged, the public captures ------------------------------------------
declare -A WANT=([dns2tcp]=hsc.fr [dnscat2]=biillpi.com [dnsextrator]=hsc.fr
	[iodine]=biillpi.com [sods]=hsc.fr)
domains_of() { # JSONL -> the distinct registered domains alerted, sorted
	python3 -c '
import json, sys
print(" ".join(sorted({json.loads(l)["dns"]["question"]["registered_domain"]
                       for l in open(sys.argv[1]) if l.strip()})))' "$1"
}
uid_check() {
	# the alerts came from a process that really ran as nobody
	nobody sh -c 'test "$(id -u)" = 65534'
}
xf_check "replay runs as an unprivileged user (uid 65534)" uid_check || true
for t in "${!WANT[@]}"; do
	one() {
		replay_u "$U/$t.pcap" >"$U/$t.u.jsonl" 2>"$U/$t.u.err" || return 1
		local got
		got=$(domains_of "$U/$t.u.jsonl")
		echo "  $t: alerted [$got]; $(tail -n 1 "$U/$t.u.err" | cut -c1-160)"
		[[ $got == "${WANT[$t]}" ]]
	}
	xf_check "unprivileged: $t.pcap alerts on ${WANT[$t]} only" one || true
done
schema_ok() {
	cat "$U"/*.u.jsonl >"$U/all.jsonl"
	python3 - "$ROOT/schemas/alert.schema.json" "$U/all.jsonl" <<'PY'
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
n = 0
for line in open(sys.argv[2]):
    if line.strip():
        jsonschema.validate(json.loads(line), schema)
        n += 1
print(f"  {n} alerts valid")
sys.exit(0 if n >= 5 else 1)
PY
}
xf_check "replay alerts are valid against schemas/alert.schema.json" schema_ok || true
summary_ok() {
	# every packet counted: sods.pcap holds 986 DNS packets
	grep -q "986 packets, 986 DNS (493 queries, 493 responses" "$U/sods.u.err"
}
xf_check "summary counts every packet of sods.pcap (986)" summary_ok || true
ldns_same() {
	# the summary's DNS counts are read in place (sensor/dnssum.c);
	# XF_REPLAY_LDNS=1 sends every message through ldns: same line for
	# every capture of the corpus and the public ones, and real answers
	# were counted (a walk that gave up everywhere would pass otherwise)
	local f a b n=0
	for f in "$ROOT"/pcaps/*.pcap "$U"/*.pcap; do
		a=$("$EXFILTER" replay "$f" 2>&1 >/dev/null | grep '^exfilter replay:' |
			sed 's/, [0-9.]* s$//')
		b=$(XF_REPLAY_LDNS=1 "$EXFILTER" replay "$f" 2>&1 >/dev/null |
			grep '^exfilter replay:' | sed 's/, [0-9.]* s$//')
		if [[ -z $a || $a != "$b" ]]; then
			echo "  $f:"
			echo "    walk: $a"
			echo "    ldns: $b"
			return 1
		fi
		n=$((n + 1))
	done
	echo "  $n captures, same summary"
	((n >= 20)) && grep -qE '[1-9][0-9]* answers, [1-9][0-9]* answer bytes' <<<"$a$b"
}
xf_check "DNS summary read in place equals ldns's on every capture" ldns_same || true
txn_same() {
	# answers counted on their query's flow (replay.c, struct txn) give
	# the same alerts, summary and evaluation as the whole path
	# (XF_REPLAY_NO_TXN=1) on every capture
	local f n=0
	for f in "$ROOT"/pcaps/*.pcap "$U"/*.pcap; do
		"$EXFILTER" replay --eval "$U/txn.a.tsv" "$f" >"$U/txn.a.out" 2>"$U/txn.a.err" || return 1
		XF_REPLAY_NO_TXN=1 "$EXFILTER" replay --eval "$U/txn.b.tsv" "$f" >"$U/txn.b.out" \
			2>"$U/txn.b.err" || return 1
		if ! cmp -s "$U/txn.a.out" "$U/txn.b.out" || ! cmp -s "$U/txn.a.tsv" "$U/txn.b.tsv" ||
			[[ $(grep '^exfilter replay: [0-9]* packets' "$U/txn.a.err" | sed 's/, [0-9.]* s$//') != \
			$(grep '^exfilter replay: [0-9]* packets' "$U/txn.b.err" | sed 's/, [0-9.]* s$//') ]]; then
			echo "  $f differs"
			return 1
		fi
		n=$((n + 1))
	done
	echo "  $n captures, same alerts, summary and evaluation"
	((n >= 20))
}
xf_check "answers on their query's flow change nothing" txn_same || true
xf_check "no progress bar when stderr is not a terminal" \
	bash -c "! grep -q '\[#' '$U/sods.u.err'" || true
table_ok() {
	replay_u --format table "$U/dnscat2.pcap" >"$U/table.out" 2>/dev/null || return 1
	head -n 1 "$U/table.out" | grep -q "domain" &&
		grep -q "192.168.1.17 .* biillpi.com .* would-block" "$U/table.out"
}
xf_check "--format table: one row per alert" table_ok || true
db_ok() {
	replay_u --db "$U/alerts.db" "$U/iodine.pcap" "$U/dns2tcp.pcap" >/dev/null 2>&1 || return 1
	local got
	got=$(sqlite3 "$U/alerts.db" "select group_concat(domain, ' ') from (select distinct domain from alerts order by domain)")
	echo "  stored: $got"
	[[ $got == "biillpi.com hsc.fr" ]] &&
		nobody "$EXFILTER" alerts --db "$U/alerts.db" --json |
			grep '"registered_domain":"hsc.fr"' >/dev/null # all of it: no SIGPIPE
}
xf_check "--db: alerts stored in SQLite, readable by exfilter alerts" db_ok || true

report_ok() {
	printf '# ground truth\nhsc.fr tunnel\nbiillpi.com tunnel\nexample.com benign\n' >"$U/truth.txt"
	chmod 644 "$U/truth.txt"
	replay_u --report "$U/r.html" --truth "$U/truth.txt" --set allow=hsc.fr \
		"$U/dnscat2.pcap" "$U/dns2tcp.pcap" >"$U/r.jsonl" 2>"$U/r.err" || { cat "$U/r.err"; return 1; }
	tail -n 2 "$U/r.err" | cut -c1-200
	# the tunnel scored, the allowlisted one skipped (and not alerted), a chart drawn
	grep -q "biillpi.com" "$U/r.html" && grep -q "<svg" "$U/r.html" &&
		grep -q "[1-9][0-9]* allowlist hits" "$U/r.err" &&
		[[ $(domains_of "$U/r.jsonl") == biillpi.com ]]
}
xf_check "--report with --truth: the tuning report is written" report_ok || true
xf_check "bad input: a bad truth file names the line" xf_expect 2 "truth" \
	replay_u --report "$U/r2.html" --truth "$U/sods.pcap" "$U/iodine.pcap" || true

# --- link types and pcapng -------------------------------------------------------
python3 - "$U/iodine.pcap" "$U" <<'PY'
import struct, sys
src, out = sys.argv[1], sys.argv[2]
raw = open(src, "rb").read()
magic = raw[:4]
e = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
pkts, off = [], 24
while off + 16 <= len(raw):
    ts, us, cl, ol = struct.unpack(e + "IIII", raw[off:off + 16])
    pkts.append((ts, us, raw[off + 16:off + 16 + cl]))
    off += 16 + cl
def write(name, link, conv):
    with open(f"{out}/iodine.{name}.pcap", "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 262144, link))
        for ts, us, d in pkts:
            b = conv(d)
            f.write(struct.pack("<IIII", ts, us, len(b), len(b)) + b)
eth = lambda d: d[14:]
write("sll", 113, lambda d: struct.pack(">HHH8sH", 0, 1, 6, d[6:12], struct.unpack(">H", d[12:14])[0]) + d[14:])
write("sll2", 276, lambda d: struct.pack(">HHIHBB8s", struct.unpack(">H", d[12:14])[0], 0, 2, 1, 0, 6, d[6:12]) + d[14:])
write("raw", 101, eth)
write("null", 0, lambda d: struct.pack("<I", 2) + d[14:])
# pcapng: section header, one Ethernet interface, enhanced packet blocks
def blk(t, body):
    body += b"\0" * (-len(body) % 4)
    return struct.pack("<II", t, len(body) + 12) + body + struct.pack("<I", len(body) + 12)
with open(f"{out}/iodine.ng.pcapng", "wb") as f:
    f.write(blk(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)))
    f.write(blk(1, struct.pack("<HHI", 1, 0, 262144)))
    for ts, us, d in pkts:
        t = ts * 1000000 + us
        f.write(blk(6, struct.pack("<IIIII", 0, t >> 32, t & 0xffffffff, len(d), len(d)) + d))
PY
chmod 644 "$U"/iodine.*
final_alerts() { # JSONL -> "client domain rule severity" of each alert's last revision
	python3 -c '
import json, sys
last = {}
for l in open(sys.argv[1]):
    if l.strip():
        a = json.loads(l)
        last[a["exfilter"]["alert_id"]] = a
for a in sorted(last.values(), key=lambda a: a["exfilter"]["alert_id"]):
    print(a["source"]["ip"], a["dns"]["question"]["registered_domain"], a["rule"]["id"],
          a["exfilter"]["severity"], a["exfilter"]["score"])' "$1"
}
final_alerts "$U/iodine.u.jsonl" >"$U/iodine.final"
for lt in sll sll2 raw null ng; do
	f=$U/iodine.$lt.pcap
	[[ $lt == ng ]] && f=$U/iodine.ng.pcapng
	same_alerts() {
		replay_u "$f" >"$U/lt.jsonl" 2>"$U/lt.err" || { cat "$U/lt.err"; return 1; }
		final_alerts "$U/lt.jsonl" >"$U/lt.final"
		[[ -s $U/lt.final ]] && diff "$U/iodine.final" "$U/lt.final"
	}
	xf_check "link type $lt: the same alerts as Ethernet" same_alerts || true
done

# --- malformed input ---------------------------------------------------------------
python3 - "$U/bad.pcap" <<'PY'
import os, random, struct, sys
random.seed(7)
def ip4_udp(payload, sport=40000, dport=53):
    udp = struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     bytes([10, 0, 0, 2]), bytes([10, 0, 0, 1]))
    return b"\0" * 12 + b"\x08\x00" + ip + udp
hdr = lambda qd, an, flags=0x0100: struct.pack(">HHHHHH", 1, flags, qd, an, 0, 0)
q = b"\x07example\x03com\x00\x00\x01\x00\x01"
frames = [
    b"\0" * 12 + b"\x08\x00" + b"\x45\x00",                       # IPv4 header cut
    ip4_udp(hdr(2, 0) + q + q),                                      # qdcount 2
    ip4_udp(hdr(1, 0) + b"\x03abc\xc0\x0c\x00\x01\x00\x01"),        # pointer in the question
    ip4_udp(hdr(1, 0) + b"\x50" + b"a" * 20),                       # label type 0x40
    ip4_udp(hdr(1, 1, 0x8180) + q + b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x40\x01", 53, 40000),  # answer cut
    ip4_udp(hdr(1, 0)[:6]),                                          # DNS header cut
    bytes(random.getrandbits(8) for _ in range(5)),                  # runt
]
frames += [bytes(random.getrandbits(8) for _ in range(random.randint(1, 400))) for _ in range(300)]
frames += [ip4_udp(bytes(random.getrandbits(8) for _ in range(random.randint(0, 300)))) for _ in range(300)]
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1))
    for i, d in enumerate(frames):
        f.write(struct.pack("<IIII", 1700000000 + i, 0, len(d), len(d)) + d)
PY
head -c 2000 "$U/sods.pcap" >"$U/cut.pcap"
chmod 644 "$U/bad.pcap" "$U/cut.pcap"
bad_ok() {
	replay_u "$U/bad.pcap" >/dev/null 2>"$U/bad.err" || { cat "$U/bad.err"; return 1; }
	tail -n 1 "$U/bad.err" | cut -c1-300
	grep -q "607 packets" "$U/bad.err" && grep -qE "[1-9][0-9]* parse errors \(.*ip4_trunc 1,.*dns_qdcount [0-9]+, dns_label 1, dns_ptr 1" "$U/bad.err" &&
		grep -q "dns_message" "$U/bad.err"
}
xf_check "malformed packets are counted by reason, exit 0" bad_ok || true
cut_ok() {
	replay_u "$U/cut.pcap" >/dev/null 2>"$U/cut.err" || return 1
	grep -q "truncated" "$U/cut.err" && grep -q "packets" "$U/cut.err"
}
xf_check "a capture cut mid-record: what was read is replayed, exit 0" cut_ok || true

xf_check "bad input: a missing file" xf_expect 1 "nope.pcap" replay_u "$U/nope.pcap" || true
xf_check "bad input: not a capture" xf_expect 1 "failed to open capture" replay_u "$U/all.jsonl" || true
xf_check "bad input: --format xml" xf_expect 2 "--format" replay_u --format xml "$U/iodine.pcap" || true
xf_check "bad input: --set names the key" xf_expect 2 "detect.threshold" \
	replay_u --set detect.threshold=high "$U/iodine.pcap" || true
xf_check "bad input: --truth without --report" xf_expect 2 "--truth needs --report" \
	replay_u --truth x "$U/iodine.pcap" || true
xf_check "bad input: no file" xf_expect 2 "no capture file" replay_u || true
xf_check "bad input: --kernel without root says so" xf_expect 1 "needs root" \
	replay_u --kernel "$U/iodine.pcap" || true

# --- a real iodine tunnel through a real unbound, recorded --------------------------
xf_pcap_start "$XF_NS_R" "$XF_IF_RC" "$XF_TMP/live.pcap"
xf_unbound_up
xf_iodined_up
xf_check "record: 20 benign queries answered" xf_dig_benign 20 >/dev/null || true
xf_check "record: the iodine tunnel comes up" xf_iodine_up || true
xf_check "record: the tunnel carries pings" xf_tunnel_ping 20 20 || true
xf_iodine_down
sleep 1
xf_stop pcap-"$XF_IF_RC"
cp "$XF_TMP/live.pcap" "$U/live.pcap"
chmod 644 "$U/live.pcap"
echo "  recorded: $(tcpdump -nr "$U/live.pcap" 2>/dev/null | wc -l) packets"
live_ok() {
	replay_u "$U/live.pcap" >"$U/live.u.jsonl" 2>"$U/live.u.err" || return 1
	tail -n 1 "$U/live.u.err" | cut -c1-200
	[[ $(domains_of "$U/live.u.jsonl") == xf.test ]]
}
xf_check "recorded tunnel: replay alerts on xf.test, nothing benign" live_ok || true

# --- --kernel against userspace ---------------------------------------------------------
parity() { # NAME PCAP
	local n=$1 f=$2
	"$EXFILTER" replay --kernel "$f" >"$U/$n.k.jsonl" 2>"$U/$n.k.err" || { cat "$U/$n.k.err"; return 1; }
	[[ -s $U/$n.u.jsonl ]] || replay_u "$f" >"$U/$n.u.jsonl" 2>/dev/null
	python3 - "$U/$n.u.jsonl" "$U/$n.k.jsonl" <<'PY'
import json, sys
def final(p):
    last = {}
    for l in open(p):
        if l.strip():
            a = json.loads(l)
            last[a["exfilter"]["alert_id"]] = a
    return {(a["source"]["ip"], a["dns"]["question"]["registered_domain"], a["rule"]["id"],
             a["exfilter"]["severity"]): a["exfilter"]["score"] for a in last.values()}
u, k = final(sys.argv[1]), final(sys.argv[2])
ok = bool(u) and set(u) == set(k) and all(abs(u[x] - k[x]) <= 1.0 for x in u)
print("  userspace:", sorted(u.items()))
print("  kernel:   ", sorted(k.items()))
sys.exit(0 if ok else 1)
PY
}
for t in "${!WANT[@]}"; do
	xf_check "--kernel: $t.pcap gives the userspace alerts" parity "$t" "$U/$t.pcap" || true
done
xf_check "--kernel: the recorded iodine tunnel gives the userspace alerts" \
	parity live "$U/live.pcap" || true
kcount_ok() { grep -q "kernel path" "$U/live.k.err" && grep -q "userspace path" "$U/live.u.err"; }
xf_check "--kernel really took the kernel path" kcount_ok || true
xf_check "--kernel leaves no pinned maps behind" \
	bash -c '! ls -d /sys/fs/bpf/xf-replay-* 2>/dev/null' || true

xf_summary
