#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# bench_replay.sh - `exfilter replay` packets/s on a large generated DNS
# capture, next to two baselines run on the same file in the same run:
#   - a bare libpcap read loop (tests/bench/pcap_loop.c), target >= 0.5x of it;
#   - tshark -T fields -e dns.qry.name, target >= 50x it;
# then exfilter replay's peak RSS as the capture grows (and with a smaller
# flows.max_flows bound).
#
# The capture comes from tests/bench/gen_dns_pcap.c (deterministic seed):
# benign queries and answers over top-domains.csv plus four base32/hex
# tunnels, so the detectors score and alert. It lives in a temp dir that is
# removed on exit.
#
# Each measured command runs under /usr/bin/time (peak RSS, CPU) with a
# nanosecond wall clock around it; packets/s = packets / wall seconds,
# process start-up included for all three. Runs are interleaved; medians.
# Prints figures with the commands that made them; never fails on time. It
# fails (exit 1) only when the harness is broken: a tool missing, or a tool
# that did not see every packet, or replay missing a tunnel.
#
#   tests/bench/bench_replay.sh [--smoke] [--packets N] [--runs N]
#                               [--sizes "N1 N2 ..."] [--no-tshark]
#
# --smoke: 20000 packets, one run, sizes 5000 and 20000 (what CI may run).
# Binaries come from `make bench-replay` (.output/exfilter,
# .output/tests/gen_dns_pcap, .output/tests/pcap_loop).
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
out=${OUTPUT:-$here/.output}
exfilter=$out/exfilter
gen=$out/tests/gen_dns_pcap
loop=$out/tests/pcap_loop
domains=${XF_DOMAINS:-/work/shared/data/top-domains.csv}
seed=1
packets=1000000
runs=3
sizes="250000 1000000 2000000"
bound=100000 # flows.max_flows for the bounded RSS row
tshark=1
smoke=0

die() {
	echo "bench_replay: $*" >&2
	exit 1
}

while [ $# -gt 0 ]; do
	case $1 in
	--smoke)
		smoke=1
		packets=20000
		runs=1
		sizes="5000 20000"
		bound=1000
		;;
	--packets)
		packets=${2:?--packets needs a number}
		shift
		;;
	--runs)
		runs=${2:?--runs needs a number}
		shift
		;;
	--sizes)
		sizes=${2:?--sizes needs a list}
		shift
		;;
	--no-tshark) tshark=0 ;;
	-h | --help)
		sed -n '3,29p' "$0"
		exit 0
		;;
	*)
		echo "bench_replay: unknown option '$1' (see --help)" >&2
		exit 2
		;;
	esac
	shift
done
case "$packets$runs" in *[!0-9]*) die "--packets and --runs take whole numbers" ;; esac
for s in $sizes; do
	case $s in *[!0-9]* | "") die "--sizes: '$s' is not a whole number" ;; esac
done

for b in "$exfilter" "$gen" "$loop"; do
	[ -x "$b" ] || die "missing $b: run 'make bench-replay' (it builds the helpers)"
done
[ -x /usr/bin/time ] || die "missing /usr/bin/time (apt-get install time)"
[ -r "$domains" ] || die "cannot read $domains (set XF_DOMAINS=rank,domain csv)"
if [ $tshark = 1 ] && ! command -v tshark >/dev/null; then
	die "tshark is not installed: 'make bench-replay' installs it (root), or pass --no-tshark"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/xf-bench-replay.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# The four tunnel registered domains the generator writes.
tunnels="bench-tun-b32.net bench-exf-b32.org bench-exf-hex.com bench-tun-hex.net"

# measure NAME CMD...: one run; appends "wall cpu rss_kib" to $tmp/NAME.runs,
# stdout to $tmp/NAME.out, stderr to $tmp/NAME.err.
measure() {
	local name=$1 t0 t1
	shift
	t0=$(date +%s%N)
	/usr/bin/time -f "%U %S %M" -o "$tmp/$name.time" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" ||
		die "$name failed: $* (stderr: $(tail -3 "$tmp/$name.err"))"
	t1=$(date +%s%N)
	read -r u s m <"$tmp/$name.time"
	awk -v w=$((t1 - t0)) -v u="$u" -v s="$s" -v m="$m" \
		'BEGIN { printf "%.6f %.2f %d\n", w / 1e9, u + s, m }' >>"$tmp/$name.runs"
}

# median FILE COLUMN
median() {
	awk -v c="$2" '{ print $c }' "$1" | sort -g |
		awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

replay_packets() { sed -n 's/^exfilter replay: \([0-9]*\) packets.*/\1/p' "$tmp/replay.err"; }

# check_replay N: replay saw every packet and alerted on every tunnel.
check_replay() {
	local n
	n=$(replay_packets)
	[ "$n" = "$1" ] || die "exfilter replay read ${n:-?} packets of $1: $(cat "$tmp/replay.err")"
	for d in $tunnels; do
		grep -q "\"registered_domain\":\"$d\"" "$tmp/replay.out" ||
			die "exfilter replay raised no alert for the tunnel $d"
	done
}

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
echo "# exfilter replay benchmark"
echo
echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "- kernel: $(uname -r); cpu: ${cpu:-?}, $(nproc) online; memory: $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
echo "- $(. /etc/os-release && echo "$PRETTY_NAME"); libpcap $(dpkg-query -W -f '${Version}' libpcap0.8 2>/dev/null || echo ?)$([ $tshark = 1 ] && echo "; $(tshark --version 2>/dev/null | head -1)")"
echo "- runs: $runs, interleaved, medians; the machine may be shared: compare ratios within one run"
[ $smoke = 1 ] && echo "- mode: --smoke (small capture, one run: checks the harness, the figures mean little)"
echo

# --- the capture ---
cap=$tmp/dns-$packets.pcap
"$gen" -o "$cap" -n "$packets" -s $seed -d "$domains" 2>"$tmp/gen.err" || die "generator: $(cat "$tmp/gen.err")"
echo "- capture: \`$(basename "$gen") -o FILE -n $packets -s $seed -d $domains\`"
echo "  - $(sed 's/^gen_dns_pcap: [^:]*: //' "$tmp/gen.err"); $(stat -c %s "$cap" | awk '{ printf "%.1f MB", $1 / 1e6 }')"
cat "$cap" >/dev/null # into the page cache before any timing

# --- throughput: three tools, interleaved ---
: >"$tmp/loop.runs"
: >"$tmp/replay.runs"
: >"$tmp/tshark.runs"
for r in $(seq 1 "$runs"); do
	measure loop "$loop" "$cap"
	[ "$(awk '{ print $2 }' "$tmp/loop.out")" = "$packets" ] ||
		die "pcap_loop read $(cat "$tmp/loop.out") of $packets packets"
	measure replay "$exfilter" replay "$cap"
	check_replay "$packets"
	if [ $tshark = 1 ]; then
		measure tshark tshark -r "$cap" -T fields -e dns.qry.name
		n=$(wc -l <"$tmp/tshark.out")
		[ "$n" = "$packets" ] || die "tshark printed $n lines for $packets packets"
	fi
	echo "  - run $r: pcap_loop $(tail -1 "$tmp/loop.runs" | cut -d' ' -f1) s, replay $(tail -1 "$tmp/replay.runs" | cut -d' ' -f1) s$([ $tshark = 1 ] && echo ", tshark $(tail -1 "$tmp/tshark.runs" | cut -d' ' -f1) s")" >&2
done
alerts=$(wc -l <"$tmp/replay.out")
summary=$(grep '^exfilter replay:' "$tmp/replay.err")

row() { # row LABEL NAME COMMAND
	local w c m
	w=$(median "$tmp/$2.runs" 1)
	c=$(median "$tmp/$2.runs" 2)
	m=$(median "$tmp/$2.runs" 3)
	awk -v l="$1" -v n="$packets" -v w="$w" -v c="$c" -v m="$m" -v rw="$rw" -v rc="$rc" -v cmd="$3" -v t="$4" '
		BEGIN {
			pw = n / w
			pc = c > 0 ? sprintf("%.0f", n / c) : "-"
			ratio = rw / pw
			ratio = (ratio >= 1) ? sprintf("%.1fx", ratio) : sprintf("%.3fx", ratio)
			if (l == "exfilter replay")
				ratio = "-"
			printf "| %s | `%s` | %.3f | %.0f | %.2f | %s | %.1f | %s | %s |\n", l, cmd, w, pw,
				c, pc, m / 1024, ratio, t
		}'
}
rw=$(awk -v n="$packets" -v w="$(median "$tmp/replay.runs" 1)" 'BEGIN { print n / w }')
rc=0
echo
echo "| tool | command | wall s | packets/s (wall) | CPU s | packets/s (CPU) | peak RSS MiB | replay : tool (wall) | target |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---|"
row "exfilter replay" replay "exfilter replay FILE > alerts.json" "-"
row "bare libpcap loop" loop "pcap_loop FILE" ">= 0.5x"
[ $tshark = 1 ] && row "tshark" tshark "tshark -r FILE -T fields -e dns.qry.name" ">= 50x"
echo
for t in replay loop tshark; do
	[ -s "$tmp/$t.runs" ] || continue
	echo "- runs ($t: wall s, CPU s, RSS KiB): $(tr '\n' ';' <"$tmp/$t.runs" | sed 's/;$//; s/;/; /g')"
done
echo "- replay: $alerts alert lines; summary: \`${summary#exfilter replay: }\`"
awk -v n="$packets" -v lw="$(median "$tmp/loop.runs" 1)" -v rw="$(median "$tmp/replay.runs" 1)" \
	-v lc="$(median "$tmp/loop.runs" 2)" -v rcpu="$(median "$tmp/replay.runs" 2)" \
	-v rc="$(median "$tmp/replay.runs" 2)" \
	-v tw="$([ $tshark = 1 ] && median "$tmp/tshark.runs" 1 || echo 0)" \
	-v tc="$([ $tshark = 1 ] && median "$tmp/tshark.runs" 2 || echo 0)" '
	BEGIN {
		met = (lw / rw >= 0.5) ? "met" : "not met"
		printf "- replay vs bare loop: %.3fx by wall clock (target >= 0.5x: %s); %.0f ns/packet for replay, %.0f for the loop\n",
			lw / rw, met, rw / n * 1e9, lw / n * 1e9
		met = (tw / rw >= 50) ? "met" : "not met"
		if (tw > 0)
			printf "- replay vs tshark: %.1fx by wall clock (target >= 50x: %s); %.1fx by CPU time (user + sys)\n",
				tw / rw, met, tc / rc
		printf "- replay CPU time: %.0f ns/packet (the bare loop'"'"'s CPU time is below /usr/bin/time'"'"'s 10 ms resolution at this size)\n",
			rc / n * 1e9
	}'
rm -f "$tmp"/tshark.out

# --- peak RSS as the capture grows ---
echo
echo "| packets | benign client x domain pairs | replay peak RSS MiB | with flows.max_flows=$bound | pcap_loop peak RSS MiB | replay wall s |"
echo "|---:|---:|---:|---:|---:|---:|"
for n in $sizes; do
	f=$tmp/dns-$n.pcap
	if [ "$n" != "$packets" ]; then
		"$gen" -o "$f" -n "$n" -s $seed -d "$domains" 2>"$tmp/gen.err" || die "generator: $(cat "$tmp/gen.err")"
	else
		"$gen" -o /dev/null -n "$n" -s $seed -d "$domains" 2>"$tmp/gen.err" || die "generator: $(cat "$tmp/gen.err")"
		f=$cap
	fi
	pairs=$(sed -n 's/.* \([0-9]*\) distinct benign.*/\1/p' "$tmp/gen.err")
	: >"$tmp/replay.runs"
	: >"$tmp/bounded.runs"
	: >"$tmp/loop.runs"
	measure replay "$exfilter" replay "$f"
	check_replay "$n"
	measure bounded "$exfilter" replay "$f" --set flows.max_flows=$bound
	measure loop "$loop" "$f"
	awk -v n="$n" -v p="$pairs" -v a="$(cut -d' ' -f3 "$tmp/replay.runs")" \
		-v b="$(cut -d' ' -f3 "$tmp/bounded.runs")" -v l="$(cut -d' ' -f3 "$tmp/loop.runs")" \
		-v w="$(cut -d' ' -f1 "$tmp/replay.runs")" \
		'BEGIN { printf "| %d | %d | %.1f | %.1f | %.1f | %.2f |\n", n, p, a / 1024, b / 1024, l / 1024, w }'
	[ "$f" = "$cap" ] || rm -f "$f"
done
echo
echo "- commands: \`/usr/bin/time -f %M exfilter replay FILE\`, the same with \`--set flows.max_flows=$bound\`, \`pcap_loop FILE\`; one run per size; captures from \`gen_dns_pcap -n N -s $seed\`"
