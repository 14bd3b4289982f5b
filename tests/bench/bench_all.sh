#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# bench_all.sh - what `make bench` runs: every benchmark in one run, their
# markdown between the markers <!-- make-bench:begin --> and
# <!-- make-bench:end --> of BENCHMARKS.md (created before the first section
# when missing; everything outside them is left as it is), with the date, the
# machine, each section's command, exit status and duration, and at the top a
# verdict computed from the figures of this run.
#
# Sections, in order (each bounded by `timeout`):
#   tests/bench/bench_dns.sh      DNS: no filter vs exfilter TC vs dnsdist
#   tests/bench/bench_tls.sh      TLS SNI (if the file exists)
#   tests/bench/bench_http.sh     HTTP Host (if the file exists)
#   .output/tests/bench_bpf --markdown     BPF_PROG_TEST_RUN ns/packet
#   make bench-sensor BENCH_ARGS=--markdown   outbox, Kafka, flows, ring
#   make bench-replay             replay vs libpcap loop vs tshark
# Each script gets --smoke when this one does, and BENCH_KV=FILE in its
# environment: key=value lines written there (dns.*, tls.*, http.*) feed the
# verdict. A section that fails is reported as such; the others still run,
# BENCHMARKS.md is still written, and the exit status is then 1.
#
#   tests/bench/bench_all.sh [--smoke] [--no-write] [--out FILE]
#
# --smoke: every section's short variant (checks the harness, not a
# measurement); --no-write: print the block only; --out: another file than
# BENCHMARKS.md. Needs root (BPF, network namespaces); installs the Debian
# packages the benchmarks need when they are missing (apt-get update first),
# without starting their services.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1
OUT_MD=$ROOT/BENCHMARKS.md
smoke=0
write=1
# what the benchmarks start themselves (dnsdist, haproxy, nginx, openssl
# s_server), drive (wrk) or compare with (tshark)
BENCH_PKGS=${BENCH_PKGS:-dnsdist dnsperf unbound haproxy wrk nginx-light openssl tshark}

while [[ $# -gt 0 ]]; do
	case $1 in
	--smoke) smoke=1 ;;
	--no-write) write=0 ;;
	--out)
		[[ $# -ge 2 && -n $2 ]] || { echo "bench_all: --out needs a file" >&2; exit 2; }
		OUT_MD=$2
		shift
		;;
	-h | --help)
		sed -n '3,29p' "$0"
		exit 0
		;;
	*)
		echo "bench_all: unknown option '$1' (see --help)" >&2
		exit 2
		;;
	esac
	shift
done
if [[ $(id -u) -ne 0 ]]; then
	echo "bench_all: needs root (BPF programs, network namespaces): sudo make bench" >&2
	exit 1
fi

log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }

# Install what is missing. A policy-rc.d that answers 101 keeps the
# packages' init scripts from starting daemons on the host: the benchmarks
# start their own, inside their namespaces. Only one we created is removed.
install_missing() {
	local missing=() p made=0 rc=0
	for p in $BENCH_PKGS; do
		dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
	done
	((${#missing[@]})) || return 0
	log "installing: ${missing[*]}"
	if [[ ! -e /usr/sbin/policy-rc.d ]]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		made=1
	fi
	apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "${missing[@]}" || rc=$?
	((made)) && rm -f /usr/sbin/policy-rc.d
	return "$rc"
}
install_missing || { echo "bench_all: failed to install ${BENCH_PKGS}" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/xf-bench-all.XXXXXX")
trap 'rm -rf -- "$TMP"' EXIT
export BENCH_KV=$TMP/kv
: >"$BENCH_KV"
sm=()
((smoke)) && sm=(--smoke)
t_start=$(date +%s)
failed=()

# section ID TITLE TIMEOUT CMD...: runs CMD, its stdout into $TMP/ID.md, its
# stderr into $TMP/ID.err, "cmd|rc|secs" into $TMP/ID.meta.
section() {
	local id=$1 title=$2 tmo=$3 t0 rc=0
	shift 3
	log "$title: $*"
	t0=$(date +%s)
	timeout -k 10 "$tmo" "$@" >"$TMP/$id.md" 2>"$TMP/$id.err" || rc=$?
	printf '%s|%s|%s|%s\n' "$title" "$*" "$rc" $(($(date +%s) - t0)) >"$TMP/$id.meta"
	echo "$id" >>"$TMP/order"
	if ((rc)); then
		failed+=("$id")
		log "$title failed (exit $rc): $(tail -n 3 "$TMP/$id.err" | tr '\n' ' ')"
	fi
}

section dns "DNS enforcement inline" 420 tests/bench/bench_dns.sh "${sm[@]}" --kv "$TMP/dns.kv"
cat "$TMP/dns.kv" >>"$BENCH_KV" 2>/dev/null
for proto in tls http; do
	f=tests/bench/bench_$proto.sh
	[[ -e $f ]] && section "$proto" "${proto^^} enforcement" 300 bash "$f" "${sm[@]}"
done
bpf_args=(--markdown)
((smoke)) && bpf_args+=(--repeat 20000)
section bpf "Kernel cost per packet (BPF_PROG_TEST_RUN)" 180 taskset -c 0 .output/tests/bench_bpf "${bpf_args[@]}"
sensor_args=--markdown
((smoke)) && sensor_args="--markdown --runs 1"
section sensor "Sensor: export, memory, ring buffer" 240 make --no-print-directory bench-sensor "BENCH_ARGS=$sensor_args"
section replay "Replay vs libpcap and tshark" 240 make --no-print-directory bench-replay "BENCH_ARGS=${sm[*]}"
t_all=$(($(date +%s) - t_start))

# --- the verdict, from this run's figures ----------------------------------------

kv() { sed -n "s/^$1=//p" "$BENCH_KV" | tail -n 1; }
# bpf_delta CASE: "delta over empty" of a bench_bpf row, without the sign
bpf_delta() { awk -F'|' -v c="$1" '$2 ~ c { gsub(/[ +]/, "", $4); print $4; exit }' "$TMP/bpf.md" 2>/dev/null; }

verdict() {
	local r_b r_c a_b a_c rate ns_in ns_eg d_dns d_long d_tls d_tcp rp_ts
	r_b=$(kv dns.ratio_b_a)
	r_c=$(kv dns.ratio_c_a)
	a_b=$(kv dns.added_p99_b)
	a_c=$(kv dns.added_p99_c)
	rate=$(kv dns.rate)
	ns_in=$(kv dns.bpf_ns_ingress)
	ns_eg=$(kv dns.bpf_ns_egress)
	d_dns=$(bpf_delta "DNS query www.example.com A")
	d_long=$(bpf_delta "DNS query, 253-char")
	d_tls=$(bpf_delta "TLS ClientHello")
	d_tcp=$(bpf_delta "non-DNS TCP")
	rp_ts=$(sed -n 's/^- replay vs tshark: \([0-9.]*\)x by wall clock.*/\1/p' "$TMP/replay.md" 2>/dev/null)
	awk -v smoke="$smoke" -v r_b="$r_b" -v r_c="$r_c" -v a_b="$a_b" -v a_c="$a_c" -v rate="$rate" \
		-v ns_in="$ns_in" -v ns_eg="$ns_eg" -v d_dns="$d_dns" -v d_long="$d_long" \
		-v d_tls="$d_tls" -v d_tcp="$d_tcp" -v rp_ts="$rp_ts" \
		-v t_b="$(kv tls.ratio_b_a)" -v t_c="$(kv tls.ratio_c_a)" \
		-v h_b="$(kv http.ratio_b_a)" -v h_c="$(kv http.ratio_c_a)" \
		-v sq_a="$(kv dns.softirq_ns_q_a)" -v sq_b="$(kv dns.softirq_ns_q_b)" \
		-v sq_c="$(kv dns.softirq_ns_q_c)" '
	function pct(x) { return sprintf("%.0f %%", 100 * x) }
	function us(x) { return sprintf("%.0f us", x) }
	function added(x) { return x <= 0 ? "nothing measurable (" us(x) ")" : us(x) }
	BEGIN {
		s = smoke ? "**Smoke run: these figures check the harness and mean little.** " : ""
		if (r_b == "" || r_c == "") {
			s = s "The DNS benchmark produced no figures in this run, so there is no verdict on DNS enforcement."
		} else {
			s = s sprintf("With the same DNS deny policy, exfilter in the kernel (TC, enforce) kept %s of unfiltered unbound'"'"'s throughput (target >= 95 %%: %s), a dnsdist proxy in front kept %s", pct(r_b), r_b >= 0.95 ? "met" : "not met", pct(r_c))
			if (r_c > 0 && r_b > r_c * 1.02)
				s = s sprintf(": eBPF enforcement moved %.1fx the queries the proxy did.", r_b / r_c)
			else if (r_c > 0 && r_b < r_c * 0.98)
				s = s sprintf(": here the proxy was ahead (%.2fx exfilter'"'"'s rate), so eBPF did not win on throughput.", r_c / r_b)
			else
				s = s ": the two were level on throughput."
			if (a_b != "" && a_c != "") {
				s = s sprintf(" At a fixed %s qps, exfilter added %s to p99 latency and dnsdist %s", rate, added(a_b), added(a_c))
				if (a_c > 0 && a_b <= a_c / 20)
					s = s " (target: at most 1/20 of the proxy'"'"'s: met)."
				else if (a_c > 0)
					s = s sprintf(" (target: at most 1/20 of the proxy'"'"'s: not met, %.2f of it).", a_b / a_c)
				else
					s = s " (the proxy added none either: the latency target cannot be judged in this run)."
			}
		}
		if (ns_in != "")
			s = s sprintf(" Under that load the TC program cost %s ns per query on ingress and %s ns per reply on egress (bpf_stats)", ns_in, ns_eg)
		if (d_dns != "")
			s = s sprintf("%s %s ns per short query, %s ns per 253-character name, %s ns per TLS ClientHello and %s ns per other TCP segment over an empty program in BPF_PROG_TEST_RUN", ns_in != "" ? ";" : " The TC program cost", d_dns, d_long, d_tls, d_tcp)
		if (ns_in != "" || d_dns != "")
			s = s ": the cost is per packet and grows with the name, not with a proxy hop."
		if (sq_a != "" && sq_b != "")
			s = s sprintf(" Softirq time per query (whole machine, sampled as the DNS section says) was %s ns without exfilter, %s ns with it and %s ns with dnsdist.", sq_a, sq_b, sq_c)
		if (t_b != "" && t_c != "")
			s = s sprintf(" TLS SNI: exfilter kept %s of direct handshakes/s, HAProxy %s.", pct(t_b), pct(t_c))
		if (h_b != "" && h_c != "")
			s = s sprintf(" HTTP Host: exfilter kept %s of direct requests/s, HAProxy %s.", pct(h_b), pct(h_c))
		if (rp_ts != "")
			s = s sprintf(" Offline, exfilter replay ran %sx faster than tshark on the same capture.", rp_ts)
		s = s " Where eBPF does not win: it judges only what a packet carries in the clear (a DNS question, a TLS ClientHello'"'"'s SNI, an HTTP Host), so it has no payload inspection under TLS, sees nothing of DNS over HTTPS or TLS, and cannot rewrite or log at the application layer as a proxy can; its per-packet work must fit the verifier, and behaviour over time is scored in userspace."
		print s
	}'
}

md_demote() { sed -E 's/^(#{1,4}) /\1## /'; }

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
{
	echo "<!-- make-bench:begin -->"
	echo "## Results of \`make bench\` ($(date -u '+%Y-%m-%d %H:%M UTC'))"
	echo
	echo "**Verdict (computed from this run).** $(verdict)"
	echo
	echo "- command: \`sudo make bench\` (runs \`tests/bench/bench_all.sh${sm[*]:+ ${sm[*]}}\`), $t_all s in all"
	echo "- machine: $(uname -r) ($(uname -m)), $(nproc) CPUs online ($cpu), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) memory, load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "- the machine may be shared: compare ratios within this run, not absolute figures across runs"
	echo
	while read -r id; do
		IFS='|' read -r title cmd rc secs <"$TMP/$id.meta"
		echo "### $title"
		echo
		echo "- command: \`$cmd\`; exit $rc; $secs s"
		if ((rc)); then
			echo "- **failed**: the harness is broken; last lines of its stderr:"
			echo
			echo '```'
			tail -n 10 "$TMP/$id.err"
			echo '```'
		fi
		echo
		md_demote <"$TMP/$id.md"
		echo
	done <"$TMP/order"
	echo "<!-- make-bench:end -->"
} >"$TMP/block.md"

if ((write)); then
	[[ -e $OUT_MD ]] || printf '# exfilter benchmarks\n\n' >"$OUT_MD"
	# Between the markers when they exist, else before the first "## " section.
	awk -v blk="$TMP/block.md" '
		function put() { while ((getline l < blk) > 0) print l; done = 1 }
		/^<!-- make-bench:begin -->$/ { put(); skip = 1; next }
		/^<!-- make-bench:end -->$/ { skip = 0; next }
		skip { next }
		!done && !has && /^## / { put(); print "" }
		{ print }
		END { if (!done) { print ""; put() } }' has="$(grep -c '^<!-- make-bench:begin -->$' "$OUT_MD")" \
		"$OUT_MD" >"$TMP/new.md" && cat "$TMP/new.md" >"$OUT_MD"
	log "wrote $OUT_MD"
else
	cat "$TMP/block.md"
fi
if ((${#failed[@]})); then
	log "failed sections: ${failed[*]}"
	exit 1
fi
log "done in $t_all s"
