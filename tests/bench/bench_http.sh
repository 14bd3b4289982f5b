#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# bench_http.sh - HTTP Host enforcement, three ways with the same deny list
# of host names, the measured traffic using an allowed Host:
#   (a) direct to nginx, no filter;
#   (b) exfilter TC in enforce mode on the server's veth, the names blocked
#       with `exfilter block host:NAME`;
#   (c) HAProxy in HTTP mode in front of nginx, an
#       `http-request deny if { req.hdr(host),field(1,:) -i -f deny.lst }` ACL.
# Before measuring it checks in (b) and (c) that a denied Host gets no 200
# and the allowed one does (and in (a) that the denied Host reaches nginx).
#
# Load: wrk, 1 thread, keep-alive connections, requests to the server's IP
# with a Host header (no name resolution needed); reports requests/s and
# wrk's p50/p99. exfilter parses the Host of every request segment, so
# keep-alive is the case that costs it most per byte. Runs are interleaved
# a,b,c,a,b,c...; the table gives medians over the rounds. Every run is
# checked: requests done, no non-2xx answer, no socket error, and in (b) the
# kernel counted a Host per request.
#
#   tests/bench/bench_http.sh [--smoke] [--rounds N] [--seconds S] [--connections C]
#                              [--kv FILE]
#
# Default: 7 rounds of 4 s per way (under 2 minutes with set-up). --smoke:
# 1 round of 1 s, a harness check. Prints a markdown section on stdout,
# progress on stderr. Never fails on a figure; exits non-zero only when the
# harness is broken (a tool missing, a policy check or a run check failing).
# Needs root (netns, BPF).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../integration/lib.sh
source "$HERE/../integration/lib.sh"
# shellcheck source=lib_bench.sh
source "$HERE/lib_bench.sh"

ARGS=("$@")
xb_web_args bench_http connections 32 "$@"
conns=$knob

xf_require_root
xf_bound_runtime 600 "${ARGS[@]}"
xb_trap_setup

xb_lab_up wrk
xb_web_up

DENIED=${XB_DENIED[0]}
WAYS=(a b c)
declare -A NAME=([a]="(a) direct" [b]="(b) exfilter TC, enforce" [c]="(c) HAProxy HTTP, hdr(host)")
declare -A ADDR=([a]=$XB_IP_S [b]=$XB_IP_S [c]=$XB_IP_P)

# curl from C: prints the HTTP status (000 = no answer) and curl's exit code
http_try() {
	local host=$1 addr=$2 code rc=0
	code=$(xf_in "$XF_NS_C" curl -s --max-time 3 -o /dev/null -w '%{http_code}' \
		-H "Host: $host" "http://$addr/") || rc=$?
	echo "${code:-000} $rc"
}

# --- policy check ----------------------------------------------------------
xb_web_policy http_try host 200 403

# --- measured runs -----------------------------------------------------------

# wrk's "1.23ms" / "456.00us" / "1.02s" -> microseconds
to_us() {
	awk -v v="$1" 'BEGIN {
		n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
		if (u == "us") print n; else if (u == "ms") print n * 1000;
		else if (u == "s") print n * 1000000; else if (u == "m") print n * 60000000; else print -1 }'
}

# one_run WAY ROUND: one wrk run, a line in RUNS
one_run() {
	local w=$1 r=$2 log=$XF_TMP/wrk.log h0=0 h1=0 rps p50 p99 reqs non2xx errs
	if [[ $w == b ]]; then
		xb_exfilter_up
		xb_exfilter_block_list host
		h0=$(xb_stat http_host)
	else
		xb_assert_no_filter
	fi
	xf_in "$XF_NS_C" "${XB_PIN_CLIENT[@]}" wrk -t1 -c"$conns" -d"${secs}s" --latency \
		-H "Host: $XB_ALLOWED" "http://${ADDR[$w]}/" >"$log" 2>&1 || true
	if [[ $w == b ]]; then
		h1=$(xb_stat http_host)
		xb_exfilter_down
	fi
	rps=$(awk '/^Requests\/sec:/ { print $2 }' "$log")
	reqs=$(awk '/ requests in / { print $1 }' "$log")
	p50=$(to_us "$(awk '$1 == "50%" { print $2 }' "$log")")
	p99=$(to_us "$(awk '$1 == "99%" { print $2 }' "$log")")
	non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$log")
	errs=$(awk '/Socket errors:/ { gsub(/[^0-9 ]/, " "); s = 0; for (i = 1; i <= NF; i++) s += $i; print s }' "$log")
	xb_log "run $r $w: $(tr -s ' \n' ' ' <"$log")"
	[[ -n $rps && -n $reqs && $p50 != -1 && $p99 != -1 ]] ||
		xf_die "wrk printed nothing usable in run $r $w: $(cat "$log")"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$w" "$r" "$rps" "$p50" "$p99" "$reqs" \
		"$((${errs:-0} + ${non2xx:-0}))" "$((h1 - h0))" >>"$RUNS"
	if ((reqs == 0 || ${non2xx:-0} != 0)); then
		xb_log "run $r $w FAILED its checks (requests=$reqs non2xx=${non2xx:-0})"
		run_checks_ok=0
	fi
	if [[ $w == b ]] && ((h1 - h0 < reqs)); then
		xb_log "run $r b: the kernel counted $((h1 - h0)) Hosts for $reqs requests"
		run_checks_ok=0
	fi
}

xb_web_rounds wrk -t1 -c"$conns" -d1s -H "Host: $XB_ALLOWED" "http://$XB_IP_S/"

# --- report ------------------------------------------------------------------
declare -A RATE P50 P99 ERR
for w in "${WAYS[@]}"; do
	RATE[$w]=$(xb_web_col "$w" 3)
	P50[$w]=$(xb_web_col "$w" 4)
	P99[$w]=$(xb_web_col "$w" 5)
	ERR[$w]=$(xb_web_sum "$w" 7)
done
rb=$(xb_ratio "${RATE[b]}" "${RATE[a]}")
rc=$(xb_ratio "${RATE[c]}" "${RATE[a]}")
bc=$(xb_ratio "${RATE[b]}" "${RATE[c]}")

cat <<EOF
## HTTP Host enforcement: direct vs exfilter vs HAProxy

Date: $(date -u '+%Y-%m-%d %H:%M UTC'). Machine: $(xb_machine).
Command: \`tests/bench/bench_http.sh${SHOWN:+ $SHOWN}\` (as root).
Tools: $(nginx -v 2>&1 | sed 's/.*: //'), HAProxy $(haproxy -v | awk 'NR == 1 { print $3 }'), $(wrk -v 2>&1 | awk 'NR == 1 { print $1, $2 }').

Method: the same namespaces, nginx and deny list (${#XB_DENIED[@]} names) as the TLS
section; nginx answers 200 on port 80 to any Host. (a) wrk to nginx
directly; (b) the same with \`exfilter run --mode enforce\` on the server's
veth and \`exfilter block host:NAME\` for each denied name; (c) wrk to HAProxy
(HTTP mode, 1 thread, keep-alive to nginx) denying the names with
\`http-request deny if { req.hdr(host),field(1,:) -i -f deny.lst }\`. wrk:
\`wrk -t1 -c$conns -d${secs}s --latency -H 'Host: $XB_ALLOWED' http://ADDR/\`
(keep-alive: every request is a segment exfilter parses). Pinning: $(xb_pinning); $(xb_idle_note).
Rounds: $rounds x $secs s per way, interleaved a, b, c, a, b, c, ...; medians over
rounds (latency: the median of each run's wrk percentile).

EOF
xb_web_policy_table Host " from HAProxy"
cat <<EOF
| way | requests/s | vs (a) | p50 ms | p99 ms | errors |
|---|---|---|---|---|---|
EOF
for w in "${WAYS[@]}"; do
	printf '| %s | %.0f | %s | %s | %s | %s |\n' "${NAME[$w]}" "${RATE[$w]}" \
		"$(xb_ratio "${RATE[$w]}" "${RATE[a]}")" "$(xb_ms "${P50[$w]}")" "$(xb_ms "${P99[$w]}")" \
		"${ERR[$w]}"
done
cat <<EOF

Ratios: (b) is ${rb}x (a) in requests/s ($(xb_met "$rb" 0.95) against the 0.95x used for TLS); (b) is ${bc}x (c)
((c) is ${rc}x (a)), so (b) ahead of (c): $(xb_met "$bc" 1.0001).
Added p99 over (a): (b) $(xb_ms "$(xb_diff "${P99[b]}" "${P99[a]}")") ms, (c) $(xb_ms "$(xb_diff "${P99[c]}" "${P99[a]}")") ms.

Checks on every run: $(awk -F'\t' '{ n += $6 } END { printf "%d requests", n }' "$RUNS"), no non-2xx answer; in (b) the kernel counted
$(awk -F'\t' '$1 == "b" { s += $8; n += $6 } END { printf "%d Hosts for %d requests", s, n }' "$RUNS"); errors = wrk socket errors.

Runs in order (way, round, requests/s, p99 ms):
$(awk -F'\t' '{ printf "%s%s%d %.0f/s %.2fms", (NR > 1 ? ", " : ""), $1, $2, $3, $5 / 1000 } END { print "" }' "$RUNS")
EOF
# key=value figures for make bench's verdict (--kv FILE, or BENCH_KV)
xb_web_finish http
