#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Ring buffer overload (issue 6): events produced faster than they are
# consumed. The sensor runs in enforce mode with a 4 KiB ring
# (kernel.ring_kib: 4, about ten records) and an event for every query
# (kernel.events_all), then is stopped with SIGSTOP while traffic flows:
#  - events are dropped and counted: ring_full grows;
#  - the packet path is never blocked: benign queries are all answered,
#    in about the time they take with a live consumer;
#  - kernel enforcement goes on: a blocked domain is REFUSED, and counted;
#  - after SIGCONT the sensor recovers: status still counts ring_full, and a
#    new exfiltration burst raises its alert.
# tests/bpf/bpf_test_run.c (test_ring_full) checks the same per packet.
# Needs root (BPF, netns); fails, never skips, without it.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/lib.sh"

xf_require_root
xf_require_tools nsenter sqlite3 python3
xf_bound_runtime "${XF_TEST_TIMEOUT:-180}" "$@"
xf_trap_setup
xf_gc_stale

xf_built EXFILTER=exfilter FLOOD=tests/flood_gen

xf_topo_up
PIN=/sys/fs/bpf/xf-ring-$XF_TAG
SPID=
cleanup() {
	[[ -n $SPID ]] && kill -CONT "$SPID" 2>/dev/null || true
	[[ -f $XF_TMP/exfilter.pid ]] && kill -9 "$(cat "$XF_TMP/exfilter.pid")" 2>/dev/null || true
	[[ -n $SPID ]] && kill -9 "$SPID" 2>/dev/null || true
	xf_teardown
	rm -rf "$PIN" "/run/exfilter/xf-ring-$XF_TAG"
}
trap cleanup EXIT

DB=$XF_TMP/alerts.db
st() { xf_cli status --json | xf_jget "$1"; }

xf_unbound_up
# spoofed sources of the burst below: unbound's REFUSED answers go back
# through C, which does not forward, instead of waiting on ARP in R
ip -n "$XF_NS_R" route add 10.203.0.0/16 via "$XF_IP_C"

CONF=$XF_TMP/exfilter.yaml
cat >"$CONF" <<YAML
mode: enforce
interfaces: [$XF_IF_RC]
pin_dir: $PIN
kernel:
  ring_kib: 4
  events_all: true
flows:
  tick_ms: 200
store:
  path: $DB
sinks:
  jsonl:
    enabled: true
    path: $XF_TMP/alerts.jsonl
YAML
chmod 600 "$CONF"
xf_sensor_start "$CONF"

victim=$(head -n 1 "$XF_TMP/benign.queries" | cut -d' ' -f1)
xf_cli block "$victim" --action refuse >/dev/null
status_of() { xf_in "$XF_NS_C" dig +tries=1 +time=2 @"$XF_IP_R" "$victim" A | grep -o "status: [A-Z]*" | cut -d" " -f2; }
benign_all() {
	local got t
	t=$(xf_now)
	got=$(xf_dig_benign "$1") || { echo "  only $got/$1 answered" >&2; return 1; }
	echo "  $got/$1 answered in $(xf_since "$t") s"
}
xf_check "consumer live: $victim refused" [ "$(status_of)" = REFUSED ] || true
xf_check "consumer live: 100 benign queries answered" benign_all 100 || true
full0=$(st "d['ring_full']")
refused0=$(st "d['refused']")

# --- no consumer: the sensor stopped, traffic flowing ---------------------------
kill -STOP "$SPID"
xf_in "$XF_NS_C" "$FLOOD" --dst "$XF_IP_R" --src 10.203.0.0/16 --clients 200 \
	--domains ring-a.test,ring-b.test --count 5000 --qps 5000 --label 20 |
	sed 's/^/  /' || true
sleep 1 # unbound answers the burst's backlog first
xf_check "consumer stopped: 100 benign queries answered" benign_all 100 || true
xf_check "consumer stopped: $victim still refused by the kernel" [ "$(status_of)" = REFUSED ] || true
full1=$(st "d['ring_full']")
refused1=$(st "d['refused']")
echo "  ring_full $full0 -> $full1, refused $refused0 -> $refused1 while the sensor was stopped"
xf_check "consumer stopped: events dropped and counted (ring_full grew by > 1000)" \
	[ $((full1 - full0)) -gt 1000 ] || true
xf_check "consumer stopped: the kernel counted the refusal" [ "$refused1" -gt "$refused0" ] || true
state=$(awk '/^State:/ { print $2 }' "/proc/$SPID/status")
xf_check "consumer stopped: the sensor really was stopped (state $state)" [ "$state" = T ] || true

# --- resume ------------------------------------------------------------------------
kill -CONT "$SPID"
sleep 1
xf_check "resumed: the sensor runs" kill -0 "$SPID" || true
xf_check "resumed: status still counts ring_full" [ "$(st "d['ring_full']")" -ge "$full1" ] || true
python3 - "$XF_TMP/exfil.dig" <<'PY'
import base64, os, sys
with open(sys.argv[1], "w") as f:
    for i in range(40): # 32-character base32 labels: encoded, under enc_label_drop
        lab = base64.b32encode(os.urandom(20)).decode().rstrip("=").lower()
        f.write(f"{lab}.{i}.exfil-after.test TXT\n")
PY
xf_in "$XF_NS_C" timeout 60 dig @"$XF_IP_R" +tries=1 +time=1 -f "$XF_TMP/exfil.dig" >/dev/null 2>&1 || true
has_alert() { [[ $(xf_sq "select count(*) from alerts where domain='exfil-after.test'") -ge 1 ]]; }
xf_check "resumed: a new exfiltration burst raises its alert" xf_wait_for 20 has_alert || true
xf_check "resumed: 50 benign queries answered" benign_all 50 || true
echo "  events $(st "d['events']"), ring_full $(st "d['ring_full']"), sensor events $(st "d['sensor']['events']")"

xf_summary
