#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# The kernel-cost benchmark's harness works (CI runs this, not the
# benchmark): `bench_bpf` loads the TC program and an empty one, runs every
# case with BPF_PROG_TEST_RUN and prints a row of numbers for each; `--ab OBJ`
# loads a second TC object beside the build (here the build's own object)
# and prints its figures and the paired difference for every case. Bad
# options are refused with status 2 and name the option. Figures are not
# judged (no assertion on time). Needs root (it loads BPF programs); fails
# without.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/lib.sh"

xf_require_root
xf_require_tools taskset
xf_bound_runtime "${XF_TEST_TIMEOUT:-120}" "$@"

xf_built BENCH=tests/bench_bpf
OBJ=$ROOT/.output/exfilter_tc.bpf.o
[[ -r $OBJ ]] || xf_die "build first: make ($OBJ missing)"
TMP=$(mktemp -d /tmp/xf-bench-bpf.XXXXXX)
trap 'rm -rf -- "$TMP"' EXIT

NUM='[+-]?[0-9]+\.[0-9]'
CASES=("non-DNS TCP segment" "DNS query www.example.com A" "DNS query, 253-char qname"
	"TLS ClientHello with SNI")

rc=0
taskset -c 0 "$BENCH" --markdown --repeat 20000 --runs 1 >"$TMP/md" 2>"$TMP/err" || rc=$?
xf_check "bench_bpf exits 0" [ "$rc" = 0 ] || cat "$TMP/err" >&2
for c in "${CASES[@]}"; do
	xf_check "row with figures: $c" \
		grep -qE "^\| $c[^|]* \| $NUM+ \| $NUM+ \| $NUM+ \| <= \+[0-9]+ \| (met|not met) \|$" \
		"$TMP/md" || true
done
xf_check "events reached the ring, none lost to a full ring" \
	grep -qE '^events emitted: [1-9][0-9]*, ring full: 0$' "$TMP/md" || true

rc=0
taskset -c 0 "$BENCH" --markdown --repeat 20000 --runs 3 --ab "$OBJ" >"$TMP/ab" 2>"$TMP/err" || rc=$?
xf_check "bench_bpf --ab exits 0" [ "$rc" = 0 ] || cat "$TMP/err" >&2
xf_check "--ab: the method names the other object" grep -qF "(B), batch by batch" "$TMP/ab" || true
for c in "${CASES[@]}"; do
	xf_check "--ab: B figures and the paired difference: $c" \
		grep -qE "^\| $c[^|]* \|.* \| $NUM+ \| $NUM+ \|$" "$TMP/ab" || true
done
xf_check "--ab: the other object emitted events too" \
	grep -qE '^B: events emitted: [1-9][0-9]*, ring full: 0$' "$TMP/ab" || true

xf_check "--runs 0 refused, naming it" xf_expect 2 '--runs' "$BENCH" --runs 0 || true
xf_check "--ab with a missing file refused, naming it" \
	xf_expect 2 '--ab' "$BENCH" --ab "$TMP/none.o" || true
echo 'not an object' >"$TMP/bad.o"
xf_check "--ab with a file that is not a BPF object: an error naming it" \
	xf_expect 1 "--ab $TMP/bad.o" "$BENCH" --repeat 1000 --runs 1 --ab "$TMP/bad.o" || true

xf_summary
