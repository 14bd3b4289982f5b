#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# The DNS benchmark's harness works (CI runs this, not the benchmark):
# `tests/bench/bench_dns.sh --smoke` (one round of 1 s runs, bounded rate)
# must produce numbers for all three ways (no filter, exfilter TC, dnsdist),
# must have checked that exfilter and dnsdist refused the denied domain and
# the encoded label while unbound alone answered them, and must leave nothing
# behind: no namespace, process, temp dir or pinned map, no global setting
# changed (bpf_stats_enabled, the PM QoS CPU-latency target).
# Figures are not judged (no assertion on time). Needs root; fails without.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/lib.sh"

xf_require_root
xf_require_tools dnsperf dnsdist bpftool taskset nsenter
xf_bound_runtime "${XF_TEST_TIMEOUT:-240}" "$@"

ROOT=$(xf_repo_root)
BENCH=$ROOT/tests/bench/bench_dns.sh
[[ -x $ROOT/.output/exfilter ]] || xf_die "build first: make"

OUT=$(mktemp -d "${TMPDIR:-/tmp}/xf-bench-smoke.XXXXXX")
trap 'rm -rf -- "$OUT"' EXIT
stats_before=$(sysctl -n kernel.bpf_stats_enabled)
# the PM QoS CPU-latency target the bench holds by fd while it runs
qos() { od -An -td4 /dev/cpu_dma_latency | tr -d ' '; }
qos_before=$(qos)

rc=0
"$BENCH" --smoke --kv "$OUT/kv" >"$OUT/md" 2>"$OUT/err" || rc=$?
kv() { sed -n "s/^dns\.$1=//p" "$OUT/kv" 2>/dev/null | head -n 1; }
positive() {
	local v
	v=$(kv "$1")
	echo "  $1=$v"
	awk -v v="$v" 'BEGIN { exit !(v != "" && v + 0 > 0) }'
}
is() {
	local v
	v=$(kv "$1")
	echo "  $1=$v (want $2)"
	[[ $v == "$2" ]]
}

if ! xf_check "bench_dns.sh --smoke exits 0" [ "$rc" = 0 ]; then
	tail -n 30 "$OUT/err" >&2
fi
for w in a b c; do
	xf_check "($w) qps measured" positive "qps_$w" || true
	xf_check "($w) p50 and p99 measured" eval "positive p50_$w && positive p99_$w" || true
	xf_check "($w) p50 and p99 measured at the busier rate" \
		eval "positive p50_busy_$w && positive p99_busy_$w" || true
	xf_check "($w) allowed name answered" is "allowed_$w" NOERROR || true
done
xf_check "(a) unbound alone answers the denied domain" is denied_a NOERROR || true
xf_check "(a) unbound alone answers the encoded label" is encoded_a NXDOMAIN || true
for w in b c; do
	xf_check "($w) denied domain refused" is "denied_$w" REFUSED || true
	xf_check "($w) encoded label refused" is "encoded_$w" REFUSED || true
done
xf_check "(b) the kernel counted the refusals" positive kernel_refused_b || true
xf_check "kernel cost measured (bpf_stats ns/run)" positive bpf_ns_ingress || true
# the sensor may use no measurable CPU at the smoke's rate: a number, 0 allowed
numeric() {
	local v
	v=$(kv "$1")
	echo "  $1=$v"
	[[ $v =~ ^[0-9]+(\.[0-9]+)?$ ]]
}
xf_check "sensor CPU measured" numeric sensor_cpu_pct || true
xf_check "markdown: a row per way in the throughput and the busier-rate tables" \
	eval "grep -c '^| (a) no filter\|^| (b) exfilter\|^| (c) dnsdist' '$OUT/md' | grep -qx 6" || true
xf_check "markdown: the targets table" grep -q '^| (b) qps >= 0.95x (a) |' "$OUT/md" || true

# Nothing leaked.
no_netns() {
	local ns
	[[ -n $(kv netns) ]] || return 1
	for ns in $(kv netns | tr ',' ' '); do
		[[ ! -e /run/netns/$ns ]] || { echo "  left: netns $ns"; return 1; }
	done
}
no_procs() {
	local tmp left
	tmp=$(kv tmp)
	[[ -n $tmp ]] || return 1
	# every daemon of the run names a file in its temp dir on its command line
	left=$(pgrep -af -- "$tmp" || true)
	[[ -z $left ]] || { echo "  left: $left"; return 1; }
	[[ ! -e $tmp ]] || { echo "  left: $tmp"; return 1; }
}
no_pins() { [[ -n $(kv pin) && ! -e $(kv pin) ]]; }
xf_check "no namespace left" no_netns || true
xf_check "no process or temp dir left" no_procs || true
xf_check "no pinned map left" no_pins || true
xf_check "bpf_stats_enabled untouched" [ "$(sysctl -n kernel.bpf_stats_enabled)" = "$stats_before" ] || true
xf_check "CPU-latency request released" [ "$(qos)" = "$qos_before" ] || true

# Bad options: a clear error and status 2, before any setup.
xf_check "bad option: status 2 naming it" xf_expect 2 '--runs' "$BENCH" --runs zero || true
xf_check "two diagnostic ways at once: status 2 naming them" \
	xf_expect 2 '--c-ingress-only' "$BENCH" --c-sensor-stopped --c-ingress-only || true

xf_summary
