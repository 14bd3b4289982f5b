#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# bench_dns.sh - DNS enforcement inline: dnsperf against a real unbound in a
# network namespace, three ways with the same deny policy:
#   (a) no filter;
#   (b) exfilter TC in enforce mode (`exfilter run` attached on the
#       resolver's client-facing veth, the domain denied with `exfilter block`,
#       the encoded-label hard rule kernel.enc_label_drop);
#   (c) dnsdist in front of unbound (same namespace, port 5300) with a
#       SuffixMatchNodeRule for the domain and a RegexRule for long encoded
#       labels.
# All three answer a denied query with REFUSED. Before every measured run the
# script checks that the way really refuses the denied domain and an encoded
# label and answers an allowed name (exits 1 otherwise: the policy is not
# equivalent, so the figures would mean nothing).
#
# Method (printed with the figures):
#   - throughput: dnsperf unpaced (-q outstanding) for --secs, qps completed;
#   - latency: dnsperf at a fixed rate, the same for the three ways, a quarter
#     of the slowest way's capacity in a calibration run (light load, so the
#     percentiles show each way's path more than queueing), with -v: every
#     response's latency, p50 and p99 computed from them; then again at a
#     busier fixed rate, 60 % of that capacity, where a way that queues
#     (a proxy's event loop) shows it;
#   - sensor CPU: the exfilter process's user + system time during (b)'s
#     throughput runs (the sensor shares the machine with the load);
#   - softirq: /proc/stat softirq time over each throughput run, whole machine;
#   - kernel cost: one extra (b) run with BPF run-time stats enabled by fd
#     for that run only (bpf_enable_stats in tests/bench/bench_hold.c, the
#     global sysctl is left alone): run_time_ns / run_cnt of the attached
#     TC programs;
#   - rounds interleaved a,b,c,a,b,c...; medians over the rounds.
# Pinning (none by default) and idle states as tests/bench/lib_bench.sh
# says; queries cross the veth in dnsperf's send path (TC ingress there),
# replies in unbound's (TC egress there).
#
# Prints a markdown section on stdout (progress on stderr); with --kv FILE
# also key=value lines for make bench's verdict and the smoke test. Never
# fails on time; exits 1 only when the harness is broken. Needs root.
#
#   tests/bench/bench_dns.sh [--smoke] [--runs N] [--secs S] [--lat-secs S]
#                            [--domains N] [--kv FILE]
#                            [--c-sensor-stopped | --c-ingress-only]
#
# --c-sensor-stopped: a diagnostic, not the comparison: way (c) is exfilter
# as in (b) with its sensor process stopped (SIGSTOP) once attached, so the
# kernel programs enforce alone; (b) vs (c) is what the sensor's own work
# costs the DNS path (its periodic merge and tick share the CPUs).
# --c-ingress-only: the same kind of diagnostic: way (c) is (b) with its TC
# egress program detached once attached (queries are still judged on
# ingress; replies are not counted); (b) vs (c) is what the egress program
# costs the DNS path.
#
# --smoke: one round of 1 s runs, dnsperf capped at 3000 qps (CI).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck disable=SC1091 # lib.sh, sourced at run time
source "$ROOT/tests/integration/lib.sh"
# shellcheck source=lib_bench.sh
source "$HERE/lib_bench.sh"

runs=5
secs=3
lat_secs=3
domains=1000
smoke=0
c_stopped=0
c_ingress=0 # --c-ingress-only
max_qps=0 # 0: unpaced
outstanding=200

args=("$@")
usage() { sed -n '3,/^set -euo/{/^set -euo/d;p}' "$0"; }
bad() {
	echo "bench_dns: $*" >&2
	exit 2
}
num() { [[ $2 =~ ^[1-9][0-9]*$ ]] || bad "$1 takes a positive whole number, not '$2'"; }

while [[ $# -gt 0 ]]; do
	case $1 in
	--smoke)
		smoke=1
		runs=1
		secs=1
		lat_secs=1
		domains=200
		max_qps=3000
		;;
	--runs | --secs | --lat-secs | --domains)
		[[ $# -ge 2 ]] || bad "$1 needs a value"
		num "$1" "$2"
		case $1 in
		--runs) runs=$2 ;;
		--secs) secs=$2 ;;
		--lat-secs) lat_secs=$2 ;;
		--domains) domains=$2 ;;
		esac
		shift
		;;
	--c-sensor-stopped) c_stopped=1 ;;
	--c-ingress-only) c_ingress=1 ;;
	--kv)
		[[ $# -ge 2 && -n $2 ]] || bad "--kv needs a file"
		XB_KV=$2
		: >"$XB_KV"
		shift
		;;
	-h | --help)
		usage
		exit 0
		;;
	*) bad "unknown option '$1' (see --help)" ;;
	esac
	shift
done

((c_stopped + c_ingress < 2)) || bad "--c-sensor-stopped and --c-ingress-only are two different runs"
c_diag=$((c_stopped + c_ingress)) # way (c) is a variant of (b), not dnsdist

xf_require_root
# The whole run is bounded: about 10 s of fixed cost a round, per way.
xf_bound_runtime $((120 + runs * 3 * (secs + 2 * lat_secs + 14))) "${args[@]}"
xb_trap_setup
# name the command that broke the harness (set -e alone exits silently)
set -E
trap 'echo "bench_dns: line $LINENO failed: $BASH_COMMAND" >&2' ERR

HZ=$(getconf CLK_TCK)
ncpu=$(nproc)
xb_lab_up dnsperf dnsdist getconf

# The denied registered domain is served by unbound like the benign ones, so
# (a) answers it and only the filter can refuse it. The encoded-label probe
# goes under a domain of its own, out of the load too: exfilter's sensor
# blocks the registered domain of a query that scores over
# detect.block_threshold, and one encoded label does.
DENY=xf-deny-bench.test
ENC_DOM=xf-enc-bench.test
{
	echo "0,$DENY"
	echo "0,$ENC_DOM"
	cat "${XF_DOMAINS_CSV:-$ROOT/../shared/data/top-domains.csv}"
} >"$XF_TMP/domains.csv"
XF_DOMAINS_CSV=$XF_TMP/domains.csv XF_BENIGN_COUNT=$((domains + 2)) xf_unbound_up
QUERIES=$XF_TMP/bench.queries
grep -v -e "$DENY" -e "$ENC_DOM" "$XF_BENIGN_QUERIES" >"$QUERIES"
ALLOW=$(head -n 1 "$QUERIES" | cut -d' ' -f1)
# 48 base32 characters with digits: encoded for exfilter (>= enc_label_drop
# 40) and for the dnsdist regex; unbound itself answers it NXDOMAIN.
ENC=mzxw6ytboi2dkmzxgq3tmnzygm4tsmbrgiztinjwg4ztsnbr.$ENC_DOM
xb_pin_netns "$XF_NS_R"

# dnsdist 1.7 (Debian 12): no console, no security polling (it would query
# out), no packet cache (unbound has none in front of it in (a) either), the
# backend marked up without health-check queries.
cat >"$XF_TMP/dnsdist.conf" <<EOF
setSecurityPollSuffix("")
setLocal("$XF_IP_R:5300")
newServer({address="$XF_IP_R:53", healthCheckMode="up"})
deny = newSuffixMatchNode()
deny:add("$DENY")
addAction(SuffixMatchNodeRule(deny), RCodeAction(DNSRCode.REFUSED))
-- a label of 40 or more characters of the hex, base32 and base64 alphabets:
-- exfilter's enc_label_drop 40, slightly broader (no digit required)
addAction(RegexRule("(^|[.])[A-Za-z0-9+/=_-]{40,}([.]|$)"), RCodeAction(DNSRCode.REFUSED))
EOF

# --- the three ways ------------------------------------------------------------

port_of() { [[ $1 == c ]] && ((!c_diag)) && echo 5300 || echo 53; }

# the sensor process: the child of the `timeout` xb_exfilter_up started
sensor_pid() { pgrep -P "$(cat "$XF_TMP/exfilter.pid")" | head -n 1; }

way_up() {
	case $1 in
	a) xb_assert_no_filter ;;
	b)
		# kernel.limit_action=refuse: the encoded-label hard rule answers
		# REFUSED, as dnsdist does
		xb_exfilter_up --enc-label-drop 40 --set kernel.limit_action=refuse
		xb_xf block "$DENY" --action refuse >/dev/null ||
			xf_die "exfilter block $DENY failed"
		;;
	c)
		if ((c_stopped)); then
			way_up b
			sleep 1.5 # its first tick has written the config
			kill -STOP "$(sensor_pid)" || xf_die "no sensor process to stop"
			return
		fi
		if ((c_ingress)); then
			way_up b
			tc -n "$XF_NS_R" filter del dev "$XF_IF_RC" egress ||
				xf_die "could not detach the TC egress program"
			return
		fi
		xb_assert_no_filter
		xf_bg "$XF_NS_R" dnsdist "${XB_PIN_SERVER[@]}" dnsdist -C "$XF_TMP/dnsdist.conf" \
			--supervised --disable-syslog
		xf_wait_for 10 status_is c "$ALLOW" NOERROR ||
			xf_die "dnsdist did not answer: $(tail -n 5 "$XF_TMP/dnsdist.log")"
		;;
	esac
}

way_down() {
	case $1 in
	b) xb_exfilter_down ;;
	c)
		if ((c_stopped)); then
			kill -CONT "$(sensor_pid)" || true
			xb_exfilter_down
		elif ((c_ingress)); then
			xb_exfilter_down
		else
			xf_stop dnsdist
		fi
		;;
	esac
}

# status_is WAY NAME RCODE: one dig from C; the rcode (and an answer for
# NOERROR) is the expected one.
status_is() {
	local out
	out=$(xf_in "$XF_NS_C" timeout 5 dig @"$XF_IP_R" -p "$(port_of "$1")" +time=1 +tries=1 \
		"$2" A 2>&1) || true
	grep -q "status: $3," <<<"$out" || return 1
	[[ $3 != NOERROR ]] || grep -q "ANSWER: [1-9]" <<<"$out"
}

# verify WAY: the policy holds; records verify_WAY=ok in $XF_TMP/kv.
verify() {
	local w=$1 want_deny=REFUSED want_enc=REFUSED
	if [[ $w == a ]]; then
		want_deny=NOERROR
		want_enc=NXDOMAIN
	fi
	status_is "$w" "www.$ALLOW" NOERROR ||
		xf_die "($w) the allowed name www.$ALLOW was not answered"
	status_is "$w" "www.$DENY" "$want_deny" ||
		xf_die "($w) www.$DENY: expected $want_deny"
	status_is "$w" "$ENC" "$want_enc" ||
		xf_die "($w) the encoded label: expected $want_enc"
	printf 'dns.verify_%s=ok\ndns.allowed_%s=NOERROR\ndns.denied_%s=%s\ndns.encoded_%s=%s\n' \
		"$w" "$w" "$w" "$want_deny" "$w" "$want_enc" >>"$XF_TMP/verify"
}

# --- measurements ------------------------------------------------------------

# CPU ticks (user + system) of the running sensor, the child of the
# `timeout` whose pid xb_exfilter_up keeps
sensor_ticks() {
	local p
	p=$(sensor_pid)
	[[ -n $p ]] || xf_die "no sensor process under pid $(cat "$XF_TMP/exfilter.pid")"
	awk '{ print $14 + $15 }' "/proc/$p/stat"
}
softirq_ticks() { awk '$1 == "cpu" { print $8; exit }' /proc/stat; }

STATS_WRAP=() # the kernel-cost run wraps dnsperf in bench_hold
# run_dnsperf WAY ARGS...: dnsperf from C on the generator CPU; full output in
# $XF_TMP/dnsperf.out.
run_dnsperf() {
	local w=$1
	shift
	"${STATS_WRAP[@]}" ip netns exec "$XF_NS_C" timeout $((secs + lat_secs + 20)) "${XB_PIN_CLIENT[@]}" \
		dnsperf -s "$XF_IP_R" -p "$(port_of "$w")" -d "$QUERIES" -t 1 "$@" \
		>"$XF_TMP/dnsperf.out" 2>&1 || true
}
perf_field() { awk -v k="$1" 'index($0, k) { sub(/.*: */, ""); print $1 + 0; exit }' "$XF_TMP/dnsperf.out"; }

# throughput WAY LABEL: appends "qps completed lost softirq_pct
# softirq_ns_per_q sensor_pct" to $XF_TMP/tput.WAY (sensor_pct: the exfilter
# process's CPU, % of one CPU; 0 in ways without it).
throughput() {
	local w=$1 s0 s1 t0 t1 c0=0 c1=0 q=()
	((max_qps)) && q=(-Q "$max_qps")
	[[ $w != b ]] || c0=$(sensor_ticks)
	s0=$(softirq_ticks)
	t0=$(date +%s%N)
	run_dnsperf "$w" -l "$secs" -c 4 -q "$outstanding" "${q[@]}"
	t1=$(date +%s%N)
	s1=$(softirq_ticks)
	[[ $w != b ]] || c1=$(sensor_ticks)
	local qps ndone lost
	qps=$(perf_field "Queries per second:")
	ndone=$(perf_field "Queries completed:")
	lost=$(perf_field "Queries lost:")
	[[ ${ndone:-0} -gt 0 ]] || xf_die "($w) dnsperf completed no query: $(tail -n 5 "$XF_TMP/dnsperf.out")"
	awk -v q="$qps" -v d="$ndone" -v l="$lost" -v ds=$((s1 - s0)) -v hz="$HZ" \
		-v wall=$((t1 - t0)) -v dc=$((c1 - c0)) 'BEGIN {
			printf "%.0f %d %d %.1f %.0f %.1f\n", q, d, l, 100 * ds / hz / (wall / 1e9),
				ds / hz * 1e9 / d, 100 * dc / hz / (wall / 1e9) }' >>"$XF_TMP/tput.$w"
}

# latency WAY RATE [FILE]: appends "p50_us p99_us responses lost" to
# $XF_TMP/FILE.WAY (FILE: lat).
latency() {
	local w=$1 rate=$2 file=${3:-lat}
	run_dnsperf "$w" -l "$lat_secs" -Q "$rate" -c 4 -q "$outstanding" -v
	awk '$1 == ">" && $2 == "NOERROR" { print $NF * 1e6 }' "$XF_TMP/dnsperf.out" |
		sort -g >"$XF_TMP/lat.sorted"
	local n lost
	n=$(wc -l <"$XF_TMP/lat.sorted")
	lost=$(perf_field "Queries lost:")
	((n > 0)) || xf_die "($w) no latency sample: $(tail -n 5 "$XF_TMP/dnsperf.out")"
	awk -v n="$n" -v lost="$lost" '
		function at(p,  i) { i = int(p * n + 0.999999); if (i < 1) i = 1; return v[i] }
		{ v[NR] = $1 }
		END { printf "%.1f %.1f %d %d\n", at(0.50), at(0.99), n, lost }' \
		"$XF_TMP/lat.sorted" >>"$XF_TMP/$file.$w"
}

# --- calibration: the fixed rate for the latency runs ---------------------------

ways="a b c"
calib=$ways
((smoke)) && calib="" # the smoke's rate is fixed
((smoke)) || xf_log "calibrating (one unpaced run per way, also a warm-up)"
for w in $calib; do
	way_up "$w"
	verify "$w"
	throughput "$w"
	way_down "$w"
	mv "$XF_TMP/tput.$w" "$XF_TMP/calib.$w"
done
if ((smoke)); then
	min_qps=-
	rate=500
	rate2=1000
	rate_why="fixed by --smoke"
else
	min_qps=$(cat "$XF_TMP"/calib.? | awk 'NR == 1 || $1 < m { m = $1 } END { print m }')
	rate=$(awk -v m="$min_qps" 'BEGIN { r = int(m / 4 / 100) * 100; print (r < 100 ? 100 : r) }')
	rate2=$(awk -v m="$min_qps" 'BEGIN { r = int(m * 0.6 / 100) * 100; print (r < 200 ? 200 : r) }')
	rate_why="a quarter of the slowest way's qps ($min_qps) in an unpaced calibration run of each"
fi
xf_log "slowest calibration run: $min_qps qps; latency runs at $rate and $rate2 qps"

# --- interleaved rounds ---------------------------------------------------------

for ((r = 1; r <= runs; r++)); do
	for w in $ways; do
		xf_log "round $r/$runs: ($w)"
		way_up "$w"
		verify "$w"
		throughput "$w"
		latency "$w" "$rate"
		latency "$w" "$rate2" lat2
		way_down "$w"
	done
done

# --- kernel cost under load: BPF run-time stats, by fd, for one run ----------------

xf_log "kernel cost: one (b) run with BPF run-time stats held by bench_hold"
way_up b
verify b
id_in=$(xb_prog_id ingress)
id_eg=$(xb_prog_id egress)
[[ -n $id_in && -n $id_eg ]] || xf_die "no TC program id on $XF_IF_RC"
mv "$XF_TMP/tput.b" "$XF_TMP/tput.b.keep"
STATS_WRAP=("$XB_BENCH_HOLD" --bpf-stats --prog "$id_in" --prog "$id_eg" -o "$XF_TMP/bpf.stats" --)
throughput b
STATS_WRAP=()
mv "$XF_TMP/tput.b" "$XF_TMP/stats.b"
mv "$XF_TMP/tput.b.keep" "$XF_TMP/tput.b"
[[ -s $XF_TMP/bpf.stats ]] || xf_die "bench_hold wrote no BPF stats"
stats_done=$(awk '{ print $2 }' "$XF_TMP/stats.b")
# "ns_per_run runs runs_per_query" for a program id
prog_cost() {
	awk -v id="prog=$1" -v q="$stats_done" '$1 == id {
		sub(/.*=/, "", $2); sub(/.*=/, "", $3)
		printf "%.1f %d %.2f\n", $3 ? $2 / $3 : 0, $3, q ? $3 / q : 0 }' "$XF_TMP/bpf.stats"
}
read -r ns_in cnt_in per_q_in <<<"$(prog_cost "$id_in")"
read -r ns_eg cnt_eg per_q_eg <<<"$(prog_cost "$id_eg")"
refused=$(xb_stat refused)
way_down b

# --- report --------------------------------------------------------------------

declare -A qps p50 p99 lost lat_lost sirq sirq_q p50b p99b lat2_lost
for w in $ways; do
	p50b[$w]=$(xb_median_col "$XF_TMP/lat2.$w" 1)
	p99b[$w]=$(xb_median_col "$XF_TMP/lat2.$w" 2)
	lat2_lost[$w]=$(awk '{ s += $4 } END { print s + 0 }' "$XF_TMP/lat2.$w")
	qps[$w]=$(xb_median_col "$XF_TMP/tput.$w" 1)
	lost[$w]=$(awk '{ s += $3 } END { print s + 0 }' "$XF_TMP/tput.$w")
	sirq[$w]=$(xb_median_col "$XF_TMP/tput.$w" 4)
	sirq_q[$w]=$(xb_median_col "$XF_TMP/tput.$w" 5)
	p50[$w]=$(xb_median_col "$XF_TMP/lat.$w" 1)
	p99[$w]=$(xb_median_col "$XF_TMP/lat.$w" 2)
	lat_lost[$w]=$(awk '{ s += $4 } END { print s + 0 }' "$XF_TMP/lat.$w")
done
ratio_b=$(xb_pair / "$XF_TMP/tput.a" "$XF_TMP/tput.b" 1)
ratio_c=$(xb_pair / "$XF_TMP/tput.a" "$XF_TMP/tput.c" 1)
add_b=$(xb_pair - "$XF_TMP/lat.a" "$XF_TMP/lat.b" 2)
add_c=$(xb_pair - "$XF_TMP/lat.a" "$XF_TMP/lat.c" 2)
met_qps=$(awk -v r="$ratio_b" 'BEGIN { print (r >= 0.95 ? "met" : "not met") }')
add2_b=$(xb_pair - "$XF_TMP/lat2.a" "$XF_TMP/lat2.b" 2)
add2_c=$(xb_pair - "$XF_TMP/lat2.a" "$XF_TMP/lat2.c" 2)
sensor_pct=$(xb_median_col "$XF_TMP/tput.b" 6)
# p99_met ADDED_B ADDED_C: the 1/20 target; not judgeable when the proxy
# added nothing
p99_met() { awk -v b="$1" -v c="$2" 'BEGIN { print (c <= 0 ? "not judgeable" : b <= c / 20 ? "met" : "not met") }'; }
p99_frac() { awk -v b="$1" -v c="$2" 'BEGIN { if (c > 0) printf "%.3f", b / c; else print "n/a" }'; }
met_p99=$(p99_met "$add_b" "$add_c")
met_p99_busy=$(p99_met "$add2_b" "$add2_c")

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
name() { case $1 in a) echo "(a) no filter" ;; b) echo "(b) exfilter TC, enforce" ;; c) if ((c_stopped)); then echo "(c) exfilter TC, enforce, sensor stopped"; elif ((c_ingress)); then echo "(c) exfilter TC ingress only, enforce"; else echo "(c) dnsdist $(dnsdist --version | awk 'NR == 1 { print $2 }') in front"; fi ;; esac; }
cmd="tests/bench/bench_dns.sh"
((smoke)) && cmd+=" --smoke"
cmd+=" --runs $runs --secs $secs --lat-secs $lat_secs --domains $domains"
((c_stopped)) && cmd+=" --c-sensor-stopped"
((c_ingress)) && cmd+=" --c-ingress-only"

paced="(unpaced)"
((max_qps)) && paced="-Q $max_qps"
echo "## DNS enforcement inline: exfilter TC vs dnsdist (\`tests/bench/bench_dns.sh\`)"
echo
((smoke)) && echo "**Smoke run (harness check only, dnsperf capped at $max_qps qps): not a measurement.**" && echo
echo "- command: \`$cmd\` (root)"
echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "- kernel: $(uname -r); cpu: ${cpu:-?}, $ncpu online; memory: $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
echo "- versions: unbound $(unbound -V | awk 'NR == 1 { print $2 }'), $(dnsperf -h 2>&1 | awk '/^Version/ { print "dnsperf", $2 }'), dnsdist $(dnsdist --version | awk 'NR == 1 { print $2 }')"
echo "- lab: client netns -> veth -> resolver netns: unbound (1 thread, $(wc -l <"$QUERIES") names of $domains domains from top-domains.csv served as local-data); (b) exfilter attached TC ingress+egress on the resolver's veth, enforce mode, \`exfilter block $DENY --action refuse\`, kernel.enc_label_drop 40, kernel.limit_action refuse; (c) dnsdist on port 5300 in the resolver netns, SuffixMatchNodeRule($DENY) and RegexRule(label of 40+ chars of [A-Za-z0-9+/=_-]) -> REFUSED, no packet cache"
((c_stopped)) && echo "- **diagnostic run (--c-sensor-stopped): way (c) is not dnsdist but (b) with its sensor process stopped (SIGSTOP) once attached; the (c) figures and targets below compare exfilter with itself**"
((c_ingress)) && echo "- **diagnostic run (--c-ingress-only): way (c) is not dnsdist but (b) with its TC egress program detached once attached (replies pass unseen); the (c) figures and targets below compare exfilter with itself**"
echo "- policy checked before every run: www.$ALLOW answered; www.$DENY and a 48-char base32 label under $ENC_DOM (a domain kept out of the load) REFUSED by (b) and (c) (and answered NOERROR / NXDOMAIN by (a))"
echo "- pinning: $(xb_pinning); TC ingress runs in dnsperf's send path, TC egress in unbound's"
echo "- idle states: $(xb_idle_note)"
echo "- throughput: dnsperf -c 4 -q $outstanding -t 1 -l $secs $paced; qps = completed/s"
echo "- latency: dnsperf -Q $rate -l $lat_secs -v (a fixed rate, the same for all three: $rate_why); p50/p99 over every NOERROR response's latency in the run; then the same at -Q $rate2 (busier: 60 % of that slowest qps), where a way that queues shows it"
echo "- sensor CPU: the exfilter process's user + system time during (b)'s throughput runs, % of one CPU (it shares the 2 CPUs with dnsperf and unbound)"
irqacct="tick-sampled: CONFIG_IRQ_TIME_ACCOUNTING is off"
{ zcat /proc/config.gz 2>/dev/null || cat "/boot/config-$(uname -r)" 2>/dev/null; } |
	grep -q '^CONFIG_IRQ_TIME_ACCOUNTING=y' && irqacct="exact: CONFIG_IRQ_TIME_ACCOUNTING=y"
echo "- softirq: /proc/stat softirq time of all CPUs during each throughput run (whole machine, shared; $irqacct), % of one CPU and ns per completed query. TC egress runs in the sender's syscall, not in softirq: only ingress shows here"
echo "- $runs round(s), interleaved a,b,c; medians; ratios and differences are medians of the per-round pairs"
echo
echo "| way | qps | ratio to (a) | p50 us | p99 us | added p99 over (a), us | lost (tput/lat) | softirq % CPU | softirq ns/query |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for w in $ways; do
	case $w in a) r=1.00 ad=- ;; b) r=$ratio_b ad=$add_b ;; c) r=$ratio_c ad=$add_c ;; esac
	printf '| %s | %s | %.2f | %s | %s | %s | %s/%s | %s | %s |\n' "$(name "$w")" "${qps[$w]}" "$r" \
		"${p50[$w]}" "${p99[$w]}" "$ad" "${lost[$w]}" "${lat_lost[$w]}" "${sirq[$w]}" "${sirq_q[$w]}"
done
echo
echo "| target | value | met |"
echo "|---|---:|---|"
echo "| (b) qps >= 0.95x (a) | $(printf '%.3f' "$ratio_b")x | $met_qps |"
echo "| (b) added p99 <= 1/20 of (c)'s, at $rate qps | $add_b us vs $add_c us ($(p99_frac "$add_b" "$add_c")) | $met_p99 |"
echo "| (b) added p99 <= 1/20 of (c)'s, at $rate2 qps | $add2_b us vs $add2_c us ($(p99_frac "$add2_b" "$add2_c")) | $met_p99_busy |"
echo
echo "At the busier fixed rate, $rate2 qps:"
echo
echo "| way | p50 us | p99 us | added p99 over (a), us | lost |"
echo "|---|---:|---:|---:|---:|"
for w in $ways; do
	case $w in a) ad=- ;; b) ad=$add2_b ;; c) ad=$add2_c ;; esac
	printf '| %s | %s | %s | %s | %s |\n' "$(name "$w")" "${p50b[$w]}" "${p99b[$w]}" "$ad" "${lat2_lost[$w]}"
done
echo
echo "- the exfilter sensor process used $sensor_pct % of one CPU during (b)'s throughput runs (median)"
echo
echo "Kernel cost under this load (one more (b) run under \`bench_hold --bpf-stats --prog ID\`: bpf_enable_stats(BPF_STATS_RUN_TIME) held by fd for that run only, run_time_ns/run_cnt from bpf_obj_get_info_by_fd; stats add their own clock reads):"
echo
echo "| TC program | ns/run | runs | runs per completed query |"
echo "|---|---:|---:|---:|"
echo "| ingress (queries in) id $id_in | $ns_in | $cnt_in | $per_q_in |"
echo "| egress (replies out) id $id_eg | $ns_eg | $cnt_eg | $per_q_eg |"
echo
echo "- that run: $(awk '{ printf "%s qps, %s completed, softirq %s %% CPU", $1, $2, $4 }' "$XF_TMP/stats.b"); the kernel's refused counter (\`exfilter status\`) after that run's policy check: ${refused:-?}"
echo
echo "Per round (qps a/b/c; p99 us a/b/c at $rate qps; p99 us a/b/c at $rate2 qps):"
echo
col_r() { for w in $ways; do sed -n "${2}p" "$XF_TMP/$1.$w" | awk -v c="$3" '{ printf "%s ", $c }'; done; }
for ((r = 1; r <= runs; r++)); do
	echo "- round $r: $(col_r tput "$r" 1)/ $(col_r lat "$r" 2)/ $(col_r lat2 "$r" 2)"
done
echo
echo "Caveat: 2 shared vCPUs; other work on the machine moves every figure. Read the ratios within this run."

if [[ -n $XB_KV ]]; then
	{
		echo "dns.smoke=$smoke"
		echo "dns.runs=$runs"
		for w in $ways; do
			echo "dns.qps_$w=${qps[$w]}"
			echo "dns.p50_$w=${p50[$w]}"
			echo "dns.p99_$w=${p99[$w]}"
			echo "dns.p50_busy_$w=${p50b[$w]}"
			echo "dns.p99_busy_$w=${p99b[$w]}"
			echo "dns.softirq_pct_$w=${sirq[$w]}"
			echo "dns.softirq_ns_q_$w=${sirq_q[$w]}"
		done
		echo "dns.ratio_b_a=$ratio_b"
		echo "dns.ratio_c_a=$ratio_c"
		echo "dns.added_p99_b=$add_b"
		echo "dns.added_p99_c=$add_c"
		echo "dns.met_qps=$met_qps"
		echo "dns.met_p99=$met_p99"
		echo "dns.added_p99_busy_b=$add2_b"
		echo "dns.added_p99_busy_c=$add2_c"
		echo "dns.met_p99_busy=$met_p99_busy"
		echo "dns.rate_busy=$rate2"
		echo "dns.sensor_cpu_pct=$sensor_pct"
		echo "dns.bpf_ns_ingress=$ns_in"
		echo "dns.bpf_ns_egress=$ns_eg"
		echo "dns.rate=$rate"
		echo "dns.kernel_refused_b=${refused:-0}"
		sort -u "$XF_TMP/verify"
		# what the EXIT trap removes, for the smoke test's leak checks
		echo "dns.netns=$XF_NS_C,$XF_NS_R,$XF_NS_A"
		echo "dns.tmp=$XF_TMP"
		echo "dns.pin=$XB_PIN"
	} >>"$XB_KV"
fi
