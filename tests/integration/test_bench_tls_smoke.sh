#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_bench_tls_smoke.sh - the TLS SNI and HTTP Host benchmark harness works:
# tests/bench/bench_tls.sh --smoke and tests/bench/bench_http.sh --smoke exit
# 0, print figures for all three ways (direct, exfilter, HAProxy), show the
# denied SNI / Host blocked by exfilter and by HAProxy and let through without
# a filter, and leave no namespace, temp dir, pinned map or process behind.
# No assertion on any figure's size: benchmarks never fail on time.
# Needs root (netns, BPF); fails, never skips, without it.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/lib.sh"

xf_require_root
xf_require_tools nsenter taskset openssl curl nginx haproxy wrk
xf_bound_runtime "${XF_TEST_TIMEOUT:-240}" "$@"

ROOT=$(xf_repo_root)
[[ -x $ROOT/.output/exfilter && -x $ROOT/.output/tests/tls_load ]] ||
	xf_die "build first: make (.output/exfilter or .output/tests/tls_load missing)"
OUT=$(mktemp -d "${TMPDIR:-/tmp}/xf-bench-smoke.XXXXXX")
trap 'rm -rf -- "$OUT"' EXIT

# run_bench NAME: runs tests/bench/NAME.sh --smoke, stdout to $OUT/NAME.md
run_bench() {
	local rc=0
	"$ROOT/tests/bench/$1.sh" --smoke --kv "$OUT/$1.kv" >"$OUT/$1.md" 2>"$OUT/$1.err" || rc=$?
	if ((rc)); then
		echo "  $1 exited $rc; stderr:" >&2
		tail -n 20 "$OUT/$1.err" >&2
		cat "$OUT/$1.md" >&2
	fi
	return "$rc"
}

# kv_ratios NAME PROTO: the figures make bench's verdict quotes are written
kv_ratios() {
	local k v
	for k in ratio_b_a ratio_c_a p99_us_a p99_us_b p99_us_c; do
		v=$(sed -n "s/^$2\.$k=//p" "$OUT/$1.kv" 2>/dev/null)
		echo "  $2.$k=${v:-none}"
		awk -v v="$v" 'BEGIN { exit !(v != "" && v + 0 > 0) }' || return 1
	done
}

# row NAME WAY: the markdown table row of a way in the figures table
# (the first cell "(a) ...", a number in the second cell)
figure() {
	awk -F'|' -v w="($2)" 'index($2, w) == 2 && $3 ~ /^ [0-9]+ $/ { print $3 + 0; exit }' "$OUT/$1.md"
}

# all three ways have a figure above zero
three_figures() {
	local w v
	for w in a b c; do
		v=$(figure "$1" "$w")
		echo "  $1 ($w): ${v:-none}"
		[[ -n $v && $v -gt 0 ]] || return 1
	done
}

# policy NAME WAY COLUMN PATTERN: the policy table cell matches
policy() {
	local cell
	cell=$(awk -F'|' -v w="($2)" -v c="$3" 'index($2, w) == 2 && $3 !~ /^ [0-9]+ $/ { print $c; exit }' \
		"$OUT/$1.md")
	echo "  $1 ($2) column $3: ${cell:-none}"
	[[ $cell =~ $4 ]]
}

# nothing left behind by the run whose stderr names tag, tmp and pin
clean_after() {
	local line tag tmp pin left=0
	line=$(grep -o 'tag=[^ ]* tmp=[^ ]* pin=[^ ]*' "$OUT/$1.err" | head -n 1)
	[[ -n $line ]] || { echo "  no tag line in $1's stderr"; return 1; }
	read -r tag tmp pin <<<"$line"
	tag=${tag#tag=} tmp=${tmp#tmp=} pin=${pin#pin=}
	if ip netns list | grep -q -- "-$tag\b"; then
		echo "  namespaces left: $(ip netns list | grep -- "-$tag")"
		left=1
	fi
	[[ -e $tmp ]] && { echo "  temp dir left: $tmp"; left=1; }
	[[ -e $pin ]] && { echo "  pinned maps left: $pin"; left=1; }
	if pgrep -f -- "$tmp" >/dev/null; then
		echo "  processes left: $(pgrep -af -- "$tmp")"
		left=1
	fi
	((!left))
}

xf_check "bench_tls.sh --smoke exits 0" run_bench bench_tls || true
xf_check "tls: figures for direct, exfilter, HAProxy" three_figures bench_tls || true
xf_check "tls: allowed SNI answered 200 in all three ways" \
	bash -c "$(declare -f policy); OUT=$OUT; for w in a b c; do policy bench_tls \$w 3 'HTTP 200' || exit 1; done" || true
xf_check "tls: denied SNI reaches nginx without a filter" policy bench_tls a 4 'HTTP 421' || true
xf_check "tls: denied SNI dropped by exfilter" policy bench_tls b 4 'no answer.*drops \+[1-9]' || true
xf_check "tls: denied SNI rejected by HAProxy" policy bench_tls c 4 'refused' || true
xf_check "tls: ratios and p99s in --kv" kv_ratios bench_tls tls || true
xf_check "tls: nothing left behind" clean_after bench_tls || true

xf_check "bench_http.sh --smoke exits 0" run_bench bench_http || true
xf_check "http: figures for direct, exfilter, HAProxy" three_figures bench_http || true
xf_check "http: allowed Host answered 200 in all three ways" \
	bash -c "$(declare -f policy); OUT=$OUT; for w in a b c; do policy bench_http \$w 3 'HTTP 200' || exit 1; done" || true
xf_check "http: denied Host reaches nginx without a filter" policy bench_http a 4 'HTTP 200' || true
xf_check "http: denied Host dropped by exfilter" policy bench_http b 4 'no answer.*drops \+[1-9]' || true
xf_check "http: denied Host denied by HAProxy" policy bench_http c 4 'HTTP 403' || true
xf_check "http: ratios and p99s in --kv" kv_ratios bench_http http || true
xf_check "http: nothing left behind" clean_after bench_http || true

xf_summary
