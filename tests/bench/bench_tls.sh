#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# bench_tls.sh - TLS SNI enforcement, three ways with the same deny list of
# server names, the measured traffic using an allowed name:
#   (a) direct to nginx, no filter;
#   (b) exfilter TC in enforce mode on the server's veth, the names blocked
#       with `exfilter block sni:NAME`;
#   (c) HAProxy in TCP mode in front of nginx, a req.ssl_sni ACL
#       (tcp-request inspect-delay + content reject).
# Before measuring it checks in (b) and (c) that a denied name gets no
# answer and the allowed one gets 200 (and in (a) that the denied name does
# reach the server, the control).
#
# Load: tests/bench/tls_load.c, closed-loop workers each doing connect + full
# TLS handshake (no resumption: no session cache or tickets on either side)
# + one "Connection: close" request; reports handshakes/s and p50/p99 of the
# handshake (connect to handshake done) and of the whole request. Runs are
# interleaved a,b,c,a,b,c...; the table gives medians over the rounds.
# Every run is checked: nginx accepted one connection per request (no
# keep-alive), nobody resumed a session, every answer was 200 (nginx answers
# 421 to a missing or other SNI), and in (b) the kernel counted an SNI per
# handshake.
#
#   tests/bench/bench_tls.sh [--smoke] [--rounds N] [--seconds S] [--workers W] [--kv FILE]
#
# Default: 7 rounds of 4 s per way (about 2 minutes with set-up). --smoke: 1
# round of 1 s, a harness check. Prints a markdown section on stdout,
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
xb_web_args bench_tls workers 16 "$@"
workers=$knob

xf_require_root
xf_bound_runtime 600 "${ARGS[@]}"
xb_trap_setup

LOAD=$(xf_repo_root)/.output/tests/tls_load
[[ -x $LOAD ]] || xf_die "build first: make ($LOAD missing)"
xb_lab_up
xb_web_up

DENIED=${XB_DENIED[0]}
WAYS=(a b c)
declare -A NAME=([a]="(a) direct" [b]="(b) exfilter TC, enforce" [c]="(c) HAProxy TCP, req.ssl_sni")
declare -A ADDR=([a]=$XB_IP_S [b]=$XB_IP_S [c]=$XB_IP_P)

# curl from C: prints the HTTP status (000 = no answer) and curl's exit code
tls_try() {
	local name=$1 addr=$2 code rc=0
	code=$(xf_in "$XF_NS_C" curl -sk --max-time 3 -o /dev/null -w '%{http_code}' \
		--resolve "$name:443:$addr" "https://$name/") || rc=$?
	echo "${code:-000} $rc"
}

# --- policy check ----------------------------------------------------------
xb_web_policy tls_try sni 421 000

# --- measured runs -----------------------------------------------------------

# one_run WAY ROUND: one load run, a line in RUNS
one_run() {
	local w=$1 r=$2 out acc0 acc1 sni0=0 sni1=0 kv
	if [[ $w == b ]]; then
		xb_exfilter_up
		xb_exfilter_block_list sni
		sni0=$(xb_stat sni)
	else
		xb_assert_no_filter
	fi
	acc0=$(xb_nginx_accepts)
	out=$(xf_in "$XF_NS_C" "${XB_PIN_CLIENT[@]}" "$LOAD" -a "${ADDR[$w]}" -s "$XB_ALLOWED" \
		-c "$workers" -d "$secs" -t 3000) || true
	acc1=$(xb_nginx_accepts)
	if [[ $w == b ]]; then
		sni1=$(xb_stat sni)
		xb_exfilter_down
	fi
	xb_log "run $r $w: $out"
	declare -A k=()
	for kv in $out; do k[${kv%%=*}]=${kv#*=}; done
	[[ -n ${k[ok]:-} ]] || xf_die "tls_load printed nothing usable in run $r $w: '$out'"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$w" "$r" "${k[rate]}" \
		"${k[hs_p50_us]}" "${k[hs_p99_us]}" "${k[req_p50_us]}" "${k[req_p99_us]}" "${k[ok]}" \
		$((k[fail] + k[timeout])) $((acc1 - acc0)) $((sni1 - sni0)) "${k[resumed]}" >>"$RUNS"
	# the run's own checks: requests done, all 200 (the SNI reached nginx),
	# no resumption, a new connection per request, the kernel saw each SNI
	if ((k[ok] == 0 || k[non200] != 0 || k[resumed] != 0 || acc1 - acc0 < k[ok])); then
		xb_log "run $r $w FAILED its checks (ok=${k[ok]} non200=${k[non200]} resumed=${k[resumed]} accepts=$((acc1 - acc0)))"
		run_checks_ok=0
	fi
	if [[ $w == b ]] && ((sni1 - sni0 < k[ok])); then
		xb_log "run $r b: the kernel counted $((sni1 - sni0)) SNIs for ${k[ok]} handshakes"
		run_checks_ok=0
	fi
}

# warm-up, not counted: page cache, nginx's first worker allocations
xb_web_rounds "$LOAD" -a "$XB_IP_S" -s "$XB_ALLOWED" -c "$workers" -d 1 -t 3000

# --- report ------------------------------------------------------------------
declare -A RATE HS50 P99 RQ50 RQ99 ERR
for w in "${WAYS[@]}"; do
	RATE[$w]=$(xb_web_col "$w" 3)
	HS50[$w]=$(xb_web_col "$w" 4)
	P99[$w]=$(xb_web_col "$w" 5) # the handshake's
	RQ50[$w]=$(xb_web_col "$w" 6)
	RQ99[$w]=$(xb_web_col "$w" 7)
	ERR[$w]=$(xb_web_sum "$w" 9)
done
rb=$(xb_ratio "${RATE[b]}" "${RATE[a]}")
rc=$(xb_ratio "${RATE[c]}" "${RATE[a]}")
bc=$(xb_ratio "${RATE[b]}" "${RATE[c]}")

cat <<EOF
## TLS SNI enforcement: direct vs exfilter vs HAProxy

Date: $(date -u '+%Y-%m-%d %H:%M UTC'). Machine: $(xb_machine).
Command: \`tests/bench/bench_tls.sh${SHOWN:+ $SHOWN}\` (as root).
Tools: $(nginx -v 2>&1 | sed 's/.*: //'), HAProxy $(haproxy -v | awk 'NR == 1 { print $3 }'), $(openssl version | awk '{ print $1, $2 }'); load from \`.output/tests/tls_load\`.

Method: a client and a server network namespace joined by a veth. nginx (1
worker, ECDSA P-256 self-signed certificate made at run time, TLS 1.3, no
session cache, no tickets) answers 200 to the allowed server name
\`$XB_ALLOWED\` and 421 to any other. The deny list has ${#XB_DENIED[@]} names. (a) connects to
nginx directly; (b) the same with \`exfilter run --mode enforce\` attached
(TC ingress and egress) on the server's veth and \`exfilter block sni:NAME\`
for each denied name; (c) connects to HAProxy ($(haproxy -v | awk 'NR == 1 { print $3 }'), TCP mode, 1 thread)
in front of the same nginx, rejecting the denied names with \`tcp-request
content reject if { req.ssl_sni -i -f deny.lst }\` after a 5 s inspect-delay.
The load generator runs $workers closed-loop workers; each connection is a new
TCP connection, a full handshake with the allowed SNI and one request with
\`Connection: close\`. Pinning: $(xb_pinning); $(xb_idle_note).
Rounds: $rounds x $secs s per way, interleaved a, b, c, a, b, c, ...; the
figures are medians over rounds (latency: the median of each run's
percentile). Handshake latency runs from connect() to the end of the
handshake; request latency to the end of the answer.

EOF
xb_web_policy_table SNI ""
cat <<EOF
| way | handshakes/s | vs (a) | handshake p50 ms | handshake p99 ms | request p50 ms | request p99 ms | errors |
|---|---|---|---|---|---|---|---|
EOF
for w in "${WAYS[@]}"; do
	printf '| %s | %.0f | %s | %s | %s | %s | %s | %s |\n' "${NAME[$w]}" "${RATE[$w]}" \
		"$(xb_ratio "${RATE[$w]}" "${RATE[a]}")" "$(xb_ms "${HS50[$w]}")" "$(xb_ms "${P99[$w]}")" \
		"$(xb_ms "${RQ50[$w]}")" "$(xb_ms "${RQ99[$w]}")" "${ERR[$w]}"
done
cat <<EOF

Targets: (b) >= 0.95x (a) in handshakes/s: ${rb}x, $(xb_met "$rb" 0.95); (b) ahead of (c):
${bc}x of (c) ((c) is ${rc}x of (a)), $(xb_met "$bc" 1.0001).
Added handshake p99 over (a): (b) $(xb_ms "$(xb_diff "${P99[b]}" "${P99[a]}")") ms, (c) $(xb_ms "$(xb_diff "${P99[c]}" "${P99[a]}")") ms.

Checks on every run: $(awk -F'\t' '{ ok += $8; acc += $10; res += $12 } END { printf "%d handshakes completed, nginx accepted %d connections, %d resumed", ok, acc, res }' "$RUNS"); in (b)
the kernel counted $(awk -F'\t' '$1 == "b" { s += $11; ok += $8 } END { printf "%d SNIs for %d handshakes", s, ok }' "$RUNS"); errors = failed or timed-out connections.

Runs in order (way, round, handshakes/s, handshake p99 ms):
$(awk -F'\t' '{ printf "%s%s%d %.0f/s %.2fms", (NR > 1 ? ", " : ""), $1, $2, $3, $5 / 1000 } END { print "" }' "$RUNS")
EOF
# key=value figures for make bench's verdict (--kv FILE, or BENCH_KV)
xb_web_finish tls
