#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# pcaps/build.sh: regenerate the exfilter corpus from real tools (iodine,
# dns2tcp, dig) talking to a real unbound resolver, inside network namespaces
# that this script creates and removes. Needs root.
#
#   sudo pcaps/build.sh [--out DIR] [--benign-count N] [--web-span S]
#
# Lab (tests/integration/lib.sh, plus the addresses added below):
#   C client 10.201.1.0/24 --- R unbound resolver --- A "internet" 10.201.2.0/24
#       .2 tunnels/exfil         10.201.1.1            .53 root: unbound auth-zone "."
#       .5 mail server           (root hints -> .53)   .54 attacker zones (exfil, beacon)
#       .10-.69 workstations                           .2  iodined      .3 dns2tcpd
#       .100-.105 pods
# tcpdump runs in C on the client-facing link, so every capture is
# client <-> resolver traffic, queries and responses. Captures that need a
# realistic pace (benign, low-and-slow, beacons) are made at full speed and
# then retimed by tools/retime.py. Every capture is checked by tools/check.py
# (queries, answers, data really moved); any failure stops the build.
set -euo pipefail

PCAPS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOOLS=$PCAPS/tools
OUT=$PCAPS
BENIGN_COUNT=5200
WEB_SPAN=3600
DOMAINS_CSV=${XF_DOMAINS_CSV:-$PCAPS/../../shared/data/top-domains.csv}
# Debugging only: build just the runs whose name matches this regex (the
# manifest and truth file then cover only those).
ONLY=${XF_CORPUS_ONLY:-.}
ARGS=("$@")

while (($#)); do
	case $1 in
	--out) OUT=$(mkdir -p "$2" && cd "$2" && pwd); shift 2 ;;
	--benign-count) BENIGN_COUNT=$2; shift 2 ;;
	--web-span) WEB_SPAN=$2; shift 2 ;;
	-h | --help) sed -n '3,20p' "$0"; exit 0 ;;
	*) echo "build.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done
[[ $BENIGN_COUNT =~ ^[0-9]+$ ]] || { echo "build.sh: --benign-count wants a number" >&2; exit 2; }
[[ -r $DOMAINS_CSV ]] || { echo "build.sh: $DOMAINS_CSV not readable (set XF_DOMAINS_CSV)" >&2; exit 2; }

# Daemons die on their own after this long even if the script is SIGKILLed.
export XF_LIFETIME=${XF_LIFETIME:-3600}
# shellcheck source=../tests/integration/lib.sh
source "$PCAPS/../tests/integration/lib.sh"

xf_require_root
xf_require_tools tcpdump python3 dns2tcpd dns2tcpc unbound-checkconf
xf_bound_runtime 3000 "${ARGS[@]}"
xf_trap_setup
xf_gc_stale
xf_topo_up

IP_ROOT=10.201.2.53
IP_EVIL=10.201.2.54
RES=$XF_IP_R
GEN=$XF_TMP/gen
mkdir -p "$GEN"
: >"$XF_TMP/manifest.rows"
: >"$XF_TMP/truth.rows"

ip -n "$XF_NS_A" addr add "$IP_ROOT/24" dev "$XF_IF_AR"
ip -n "$XF_NS_A" addr add "$IP_EVIL/24" dev "$XF_IF_AR"
for h in 5 $(seq 10 69) $(seq 100 105); do
	ip -n "$XF_NS_C" addr add "10.201.1.$h/24" dev "$XF_IF_CR"
done

# --- tunnel, exfiltration and beacon domains ---------------------------------
# name|tool and options|label. Each gets its own registered domain (.test has no
# public suffix rule, so the registered domain is the label before .test).
IODINE_RUNS=(
	"iodine-null|-T NULL"
	"iodine-private|-T PRIVATE"
	"iodine-txt|-T TXT"
	"iodine-srv|-T SRV"
	"iodine-mx|-T MX"
	"iodine-cname|-T CNAME"
	"iodine-a|-T A"
	"iodine-txt-b32|-T TXT -O Base32"
	"iodine-txt-b64|-T TXT -O Base64"
	"iodine-txt-b64u|-T TXT -O Base64u"
	"iodine-txt-b128|-T TXT -O Base128"
	"iodine-txt-raw|-T TXT -O Raw"
	"iodine-cname-b32|-T CNAME -O Base32"
	"iodine-mx-b128|-T MX -O Base128"
)
DNS2TCP_RUNS=("dns2tcp-txt|TXT" "dns2tcp-key|KEY")
# name|encoding|qtype|bytes per query|file size|pace
EXFIL_RUNS=(
	"exfil-b32|base32|A|110|8192|bulk"
	"exfil-hex|hex|TXT|100|8192|bulk"
	"exfil-b64u|base64url|A|130|8192|bulk"
	"slow-b32|base32|A|16|1600|slow"
	"slow-hex|hex|TXT|16|1600|slow"
	"slow-b64u|base64url|A|16|1600|slow"
)
# name|interval s|jitter fraction|count
BEACON_RUNS=("beacon-60s|60|0|60" "beacon-jitter|60|0.3|60")

# --- zones --------------------------------------------------------------------
xf_log "generating benign zone data and query plans ($BENIGN_COUNT domains)"
python3 "$TOOLS/gen_benign.py" --domains "$DOMAINS_CSV" --count "$BENIGN_COUNT" \
	--span "$WEB_SPAN" --outdir "$GEN"

{
	echo ". 86400 IN SOA a.root.test. hostmaster.root.test. 2024010101 1800 900 604800 300"
	echo ". 86400 IN NS a.root.test."
	echo "a.root.test. 86400 IN A $IP_ROOT"
	for run in "${IODINE_RUNS[@]}"; do
		d=${run%%|*}.test
		echo "t.$d. 3600 IN NS ns.t.$d."
		echo "ns.t.$d. 3600 IN A $XF_IP_A"
	done
	for run in "${DNS2TCP_RUNS[@]}"; do
		d=${run%%|*}.test
		echo "d.$d. 3600 IN NS ns.d.$d."
		echo "ns.d.$d. 3600 IN A $XF_IP_A_D2T"
	done
	for run in "${EXFIL_RUNS[@]}" "${BEACON_RUNS[@]}"; do
		d=${run%%|*}.test
		echo "$d. 3600 IN NS ns1.$d."
		echo "ns1.$d. 3600 IN A $IP_EVIL"
	done
	cat "$GEN/benign.zone"
} >"$GEN/root.zone"

# The attacker's own zones: a wildcard answers every exfil/beacon name, except
# the hex exfil domains, whose collector logs the query and says NXDOMAIN.
evil_zone() {
	local d=$1
	echo "$d. 3600 IN SOA ns1.$d. hostmaster.$d. 1 3600 600 86400 60"
	echo "$d. 3600 IN NS ns1.$d."
	echo "ns1.$d. 3600 IN A $IP_EVIL"
	case $d in
	*-hex.test) ;;
	beacon-*) echo "*.$d. 1 IN A 0.0.0.0" ;;
	*) echo "*.$d. 1 IN A 198.18.200.1" ;;
	esac
}

unbound_common() {
	cat <<EOF
server:
    verbosity: 1
    use-syslog: no
    logfile: "$XF_TMP/$1.log"
    chroot: ""
    username: ""
    directory: "$XF_TMP"
    pidfile: "$XF_TMP/$1.pidfile"
    do-daemonize: no
    num-threads: 1
    do-ip6: no
    module-config: "iterator"
    # unbound answers test. and the private reverse zones itself by default;
    # here test. is a real (lab) TLD served by the lab root.
    local-zone: "test." nodefault
EOF
}

{
	unbound_common auth-root
	cat <<EOF
    interface: $IP_ROOT
    access-control: 10.201.0.0/16 allow
auth-zone:
    name: "."
    zonefile: "$GEN/root.zone"
    for-downstream: yes
    for-upstream: no
    fallback-enabled: no
EOF
} >"$GEN/auth-root.conf"

{
	unbound_common auth-evil
	echo "    interface: $IP_EVIL"
	echo "    access-control: 10.201.0.0/16 allow"
	for run in "${EXFIL_RUNS[@]}" "${BEACON_RUNS[@]}"; do
		d=${run%%|*}.test
		evil_zone "$d" >"$GEN/$d.zone"
		printf 'auth-zone:\n    name: "%s."\n    zonefile: "%s"\n' "$d" "$GEN/$d.zone"
		printf '    for-downstream: yes\n    for-upstream: no\n'
	done
} >"$GEN/auth-evil.conf"

# The resolver: an ordinary recursive unbound whose root hints point at the
# lab root. Defaults kept (caching, minimal responses) except qname
# minimisation, which would hand iodined truncated names it cannot decode
# (the client side, which is what is captured, looks the same either way).
printf '. 3600000 NS a.root.test.\na.root.test. 3600000 A %s\n' "$IP_ROOT" >"$GEN/root.hints"
{
	unbound_common resolver
	cat <<EOF
    interface: $XF_IP_R
    interface: $XF_IP_RA
    access-control: 10.201.0.0/16 allow
    outgoing-interface: $XF_IP_RA
    root-hints: "$GEN/root.hints"
    qname-minimisation: no
    do-not-query-localhost: no
    infra-keep-probing: yes
    unwanted-reply-threshold: 0
EOF
} >"$GEN/resolver.conf"

for c in auth-root auth-evil resolver; do
	unbound-checkconf "$GEN/$c.conf" >"$XF_TMP/$c-checkconf.log" 2>&1 ||
		xf_die "unbound config $c invalid: $(cat "$XF_TMP/$c-checkconf.log")"
done
xf_bg "$XF_NS_A" auth-root unbound -d -c "$GEN/auth-root.conf"
xf_bg "$XF_NS_A" auth-evil unbound -d -c "$GEN/auth-evil.conf"
xf_bg "$XF_NS_R" resolver unbound -d -c "$GEN/resolver.conf"

resolves() { xf_in "$XF_NS_C" dig @"$RES" +time=1 +tries=1 +short "$@" | grep -q .; }
xf_wait_for 30 resolves a.root.test A || xf_die "the lab resolver does not answer"
xf_wait_for 10 resolves x.beacon-60s.test A || xf_die "the attacker zones do not answer"
xf_log "resolver up: root zone of $(wc -l <"$GEN/root.zone") records"

# --- capture helpers -----------------------------------------------------------
cap_start() {
	CAP_RAW=$XF_TMP/$1.raw.pcap
	# --immediate-mode: without it packets wait in the capture ring for up to
	# a second and the ones still there when tcpdump is stopped are lost.
	# -Z root: Debian's tcpdump otherwise drops to a user that cannot write XF_TMP.
	rm -f "$XF_TMP/capture.log" # the wait below must not see the last run's log
	# -B: a large ring; on a busy host the default 2 MB overflows in a burst.
	xf_bg "$XF_NS_C" capture tcpdump -Z root -n -U --immediate-mode -B 65536 -i "$XF_IF_CR" \
		-w "$CAP_RAW" udp port 53 or tcp port 53
	xf_wait_for 5 grep -q 'listening on' "$XF_TMP/capture.log" || xf_die "tcpdump did not start"
	sleep 0.3
}
cap_stop() {
	sleep 1 # let the last answers in
	xf_stop capture
	[[ -s $CAP_RAW ]] || xf_die "capture $CAP_RAW is empty"
	# "N packets captured, M received by filter, K dropped by kernel"
	grep -h 'packets' "$XF_TMP/capture.log" | paste -sd, | sed 's/^/  tcpdump: /' >&2 || true
	grep -q '^0 packets dropped by kernel' "$XF_TMP/capture.log" ||
		xf_die "tcpdump dropped packets for $CAP_RAW: $(grep dropped "$XF_TMP/capture.log")"
}
# manifest FILE KIND DOMAINS LABEL NOTES
manifest() {
	printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$XF_TMP/manifest.rows"
	local d
	for d in ${3//,/ }; do
		[[ $d == - ]] || printf '%s %s\n' "$d" "$4" >>"$XF_TMP/truth.rows"
	done
}
# check FILE [check.py options]: tcpdump must read it, then check.py counts it
check() {
	tcpdump -nr "$1" -c 3 >"$XF_TMP/tcpdump-read.log" 2>&1 ||
		xf_die "tcpdump cannot read $1: $(cat "$XF_TMP/tcpdump-read.log")"
	sed 's/^/  | /' "$XF_TMP/tcpdump-read.log" | cut -c1-160 >&2
	python3 "$TOOLS/check.py" "$@" | tee -a "$XF_TMP/checks.log"
}
summary() { grep -o '[0-9]* queries, [0-9]* responses' <<<"$1" | head -1; }

# --- iodine ----------------------------------------------------------------------
run_iodine() {
	local name=${1%%|*} opts=${1#*|} d s out
	d=$name.test
	out=$OUT/$name.pcap
	xf_log "iodine $opts via t.$d"
	xf_bg "$XF_NS_A" iodined iodined -f -c -l "$XF_IP_A" -p 53 -d "$XF_TUN_DEV" \
		-P "$XF_IODINE_PASS" "$XF_TUN_NET" "t.$d"
	xf_wait_for 10 xf_in_has_addr "$XF_NS_A" "$XF_TUN_DEV" "$XF_TUN_IP_SRV" ||
		xf_die "iodined for t.$d did not come up: $(tail -n 5 "$XF_TMP/iodined.log")"
	cap_start "$name"
	rm -f "$XF_TMP/iodine.log" # the wait below must not see the last run's log
	# -r: never the raw-UDP shortcut, always through the resolver
	# shellcheck disable=SC2086
	xf_bg "$XF_NS_C" iodine iodine -f -r $opts -d "$XF_TUN_DEV" -P "$XF_IODINE_PASS" \
		"$RES" "t.$d"
	# the tun address comes early; data flows after the fragment-size probe
	xf_wait_for 60 grep -q "Connection setup complete" "$XF_TMP/iodine.log" ||
		xf_die "iodine $opts: no tunnel: $(tail -n 8 "$XF_TMP/iodine.log")"
	# 4 x 1 KB each way through the tunnel; all four must come back
	xf_in "$XF_NS_C" ping -n -q -c 4 -i 0.3 -s 1000 -W 5 "$XF_TUN_IP_SRV" >"$XF_TMP/ping.log" 2>&1 ||
		xf_die "iodine $opts: ping through the tunnel failed: $(cat "$XF_TMP/ping.log")"
	xf_stop iodine
	cap_stop
	xf_stop iodined
	cp "$CAP_RAW" "$out"
	# lazy mode leaves polls unanswered at the end, and the fragment-size probe
	# sends queries whose answers are too big to arrive: not every query is answered
	s=$(check "$out" --domain "$d" --only --min-queries 20 --min-answered 0.6) ||
		xf_die "iodine $opts: capture check failed"
	manifest "$name.pcap" "iodine 0.7.0 $opts" "$d" tunnel \
		"topdomain t.$d; handshake + 4 x 1000-byte ping; $(summary "$s")"
}

# --- dns2tcp ---------------------------------------------------------------------
d2t_transfer() {
	# 64 lines of 64 bytes out, the same back from the echo resource: 4 KB each way
	xf_in "$XF_NS_C" timeout 90 python3 - "$XF_D2T_PORT" <<'EOF'
import socket, sys, hashlib
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=80)
lines = [hashlib.sha256(str(i).encode()).hexdigest()[:63] + "\n" for i in range(64)]
want = "".join(lines).encode()
s.sendall(want)
got = b""
while len(got) < len(want):
    b = s.recv(65536)
    if not b:
        break
    got += b
sys.exit(0 if got == want else 1)
EOF
}

run_dns2tcp() {
	local name=${1%%|*} qt=${1#*|} d s out
	d=$name.test
	out=$OUT/$name.pcap
	xf_log "dns2tcp $qt via d.$d"
	XF_D2T_DOMAIN=d.$d xf_dns2tcpd_up
	cap_start "$name"
	xf_bg "$XF_NS_C" dns2tcpc dns2tcpc -f /dev/null -z "d.$d" -k "$XF_D2T_KEY" -r echo \
		-T "$qt" -l "$XF_D2T_PORT" "$RES"
	xf_wait_for 10 xf_listening "$XF_NS_C" t ":$XF_D2T_PORT" ||
		xf_die "dns2tcpc did not listen: $(tail -n 5 "$XF_TMP/dns2tcpc.log")"
	d2t_transfer || xf_die "dns2tcp $qt: 4 KB did not make the round trip"
	xf_stop dns2tcpc
	cap_stop
	xf_dns2tcp_down
	cp "$CAP_RAW" "$out"
	s=$(check "$out" --domain "$d" --only --min-queries 20 --min-answered 0.8) ||
		xf_die "dns2tcp $qt: capture check failed"
	manifest "$name.pcap" "dns2tcp 0.5.2 -T $qt" "$d" tunnel \
		"domain d.$d, resource echo; 4 KB each way over TCP; $(summary "$s")"
}

# --- scripted exfiltration and beacons -----------------------------------------
digbatch() { xf_in "$XF_NS_C" dig @"$RES" +tries=1 +time=3 -f "$1" >"$XF_TMP/dig.log" 2>&1 || true; }

run_exfil() {
	local name enc qt per size pace d sha s out
	IFS='|' read -r name enc qt per size pace <<<"$1"
	d=$name.test
	out=$OUT/$name.pcap
	xf_log "exfiltration: $size bytes as $enc in $qt queries to $d ($pace)"
	sha=$(python3 "$TOOLS/gen_exfil.py" exfil --enc "$enc" --domain "$d" --qtype "$qt" \
		--size "$size" --per-query "$per" --client "$XF_IP_C" --out "$GEN/$name")
	cap_start "$name"
	digbatch "$GEN/$name.dig"
	cap_stop
	if [[ $pace == slow ]]; then
		python3 "$TOOLS/retime.py" "$CAP_RAW" "$out" --gaps 10:30 --seed 11
	else
		cp "$CAP_RAW" "$out"
	fi
	s=$(check "$out" --domain "$d" --only --min-queries 20 --min-answered 0.95 \
		--exfil "$enc" --sha256 "$sha") || xf_die "exfil $name: capture check failed"
	local how="dig batch at full speed"
	[[ $pace == slow ]] && how="one query every 10-30 s (retimed)"
	manifest "$name.pcap" "exfil script ($enc, $qt)" "$d" exfil \
		"$size-byte file, $per bytes/query as <data>.<seq>.$d; $how; $(summary "$s")"
}

run_beacon() {
	local name ival jit n d s out
	IFS='|' read -r name ival jit n <<<"$1"
	d=$name.test
	out=$OUT/$name.pcap
	xf_log "beacon every ${ival}s (jitter $jit) to $d"
	python3 "$TOOLS/gen_exfil.py" beacon --domain "$d" --count "$n" --client "$XF_IP_C" \
		--out "$GEN/$name"
	cap_start "$name"
	digbatch "$GEN/$name.dig"
	cap_stop
	python3 "$TOOLS/retime.py" "$CAP_RAW" "$out" --interval "$ival" --jitter "$jit" --seed 12
	s=$(check "$out" --domain "$d" --only --min-queries "$n" --min-answered 0.95) ||
		xf_die "beacon $name: capture check failed"
	manifest "$name.pcap" "beacon (dig, A)" "$d" beacon \
		"<nonce>.<implant>.$d every ${ival}s, jitter +-${jit} (retimed); $(summary "$s")"
}

# --- benign ------------------------------------------------------------------------
run_benign() {
	local name=$1 plan=$2 kind=$3 notes=$4 s out
	out=$OUT/$name.pcap
	xf_log "benign: $name ($(wc -l <"$GEN/$plan.dig") queries)"
	cap_start "$name"
	digbatch "$GEN/$plan.dig"
	cap_stop
	python3 "$TOOLS/retime.py" "$CAP_RAW" "$out" --plan "$GEN/$plan.plan"
	s=$(check "$out" --min-nx 0.01 --list-domains "$XF_TMP/$name.domains") ||
		xf_die "benign $name: capture check failed"
	awk '{ print $1 " benign" }' "$XF_TMP/$name.domains" >>"$XF_TMP/truth.rows"
	manifest "$name.pcap" "$kind" - benign \
		"$notes; $(wc -l <"$XF_TMP/$name.domains") registered domains; $(summary "$s")"
}

wanted() { [[ ${1%%|*} =~ $ONLY ]]; }
for run in "${IODINE_RUNS[@]}"; do wanted "$run" && run_iodine "$run"; done
for run in "${DNS2TCP_RUNS[@]}"; do wanted "$run" && run_dns2tcp "$run"; done
for run in "${EXFIL_RUNS[@]}"; do wanted "$run" && run_exfil "$run"; done
for run in "${BEACON_RUNS[@]}"; do wanted "$run" && run_beacon "$run"; done
wanted benign-web && run_benign benign-web web "dig, 60 office clients" \
	"top-domains.csv names (apex, www, api/cdn/static...) A/AAAA/HTTPS over ${WEB_SPAN}s"
wanted benign-fp && run_benign benign-fp fp "dig, mail server + workstations + pods" \
	"AV lookups (McAfee/Sophos/ESET/Cymru), DNSBLs, SPF/DKIM/DMARC, PTR v4/v6, CDN names, k8s search expansion over 1800s"

# --- manifest and truth ----------------------------------------------------------
{
	printf 'file\tkind\tregistered_domains\tlabel\tnotes\n'
	cat "$XF_TMP/manifest.rows"
} >"$OUT/MANIFEST.tsv"
# A benign registered domain must never share a name with a labelled one.
awk '{ lab[$1] = lab[$1] ? lab[$1] : $2; if (lab[$1] != $2) { print "conflict: " $1; bad = 1 } }
	END { exit bad }' "$XF_TMP/truth.rows" || xf_die "a domain has two labels in truth.txt"
{
	awk '$2 != "benign"' "$XF_TMP/truth.rows" | sort -u
	awk '$2 == "benign"' "$XF_TMP/truth.rows" | sort -u
} >"$OUT/truth.txt"

xf_log "corpus in $OUT: $(du -ch "$OUT"/*.pcap | tail -1 | cut -f1) in $(find "$OUT" -maxdepth 1 -name '*.pcap' | wc -l) captures, $(wc -l <"$OUT/truth.txt") truth lines"
