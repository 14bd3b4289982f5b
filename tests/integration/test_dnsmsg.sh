#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Whole DNS responses on the live path (kernel.msg_bytes, sensor/dnsmsg.c),
# in netns + veth with a real unbound and a real iodine tunnel:
#  - NXDOMAIN answers from unbound reach the sensor with their message and
#    are counted through ldns (status: sensor.dns_msgs.nxdomain);
#  - the iodine tunnel's responses are parsed (answer bytes > 0 in status)
#    and its alert's flow carries answer_bytes > 0 (downstream data);
#  - with kernel.msg_bytes 0 no message reaches the sensor (the control).
# Needs root (BPF, netns); fails, never skips, without it.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/lib.sh"

xf_require_root
xf_require_tools nsenter python3 dig
xf_bound_runtime "${XF_TEST_TIMEOUT:-240}" "$@"
xf_trap_setup
xf_gc_stale

xf_built EXFILTER=exfilter

xf_topo_up
PIN=/sys/fs/bpf/xf-dnsmsg-$XF_TAG
cleanup() {
	[[ -f $XF_TMP/exfilter.pid ]] && kill "$(cat "$XF_TMP/exfilter.pid")" 2>/dev/null || true
	sleep 0.5
	[[ -f $XF_TMP/exfilter.pid ]] && kill -9 "$(cat "$XF_TMP/exfilter.pid")" 2>/dev/null || true
	xf_teardown
	rm -rf "$PIN" "/run/exfilter/xf-dnsmsg-$XF_TAG"
}
trap cleanup EXIT

XF_TUN_REG=xf.test
msgs() { xf_in_r "$EXFILTER" --pin-dir "$PIN" status --json |
	python3 -c 'import json,sys; d=json.load(sys.stdin)["sensor"] or {}; print(d.get("dns_msgs", {}).get(sys.argv[1], -1))' "$1"; }

xf_unbound_up
xf_iodined_up

start_sensor() { # MSG_BYTES
	cat >"$XF_TMP/exfilter.yaml" <<YAML
mode: monitor
interfaces: [$XF_IF_RC]
pin_dir: $PIN
flows:
  tick_ms: 500
store:
  path: $XF_TMP/alerts.db
sinks:
  jsonl:
    enabled: true
    path: $XF_TMP/alerts.jsonl
  kafka:
    enabled: false
kernel:
  msg_bytes: $1
YAML
	chmod 600 "$XF_TMP/exfilter.yaml"
	: >"$XF_TMP/exfilter.log"
	# nsenter itself in the background (not the xf_in_r function's subshell), so
	# that the pid is the one that execs timeout, which passes SIGTERM on
	nsenter --net="/run/netns/$XF_NS_R" timeout -k 3 "$XF_LIFETIME" "$EXFILTER" run \
		--config "$XF_TMP/exfilter.yaml" >>"$XF_TMP/exfilter.log" 2>&1 &
	echo $! >"$XF_TMP/exfilter.pid"
	xf_wait_for 15 grep -q "running in" "$XF_TMP/exfilter.log" ||
		xf_die "exfilter did not start: $(cat "$XF_TMP/exfilter.log")"
}
gone() { ! kill -0 "$1" 2>/dev/null; }
stop_sensor() {
	local pid
	pid=$(cat "$XF_TMP/exfilter.pid")
	kill "$pid" 2>/dev/null || true
	xf_wait_for 10 gone "$pid" || xf_die "exfilter (pid $pid) did not stop on SIGTERM"
	rm -f "$XF_TMP/exfilter.pid"
}
nx_queries() { # N: names unbound answers NXDOMAIN (local-zone "." static)
	for i in $(seq 1 "$1"); do
		xf_dig +short "nope$i-$RANDOM.nx-$XF_TAG.example" A >/dev/null || true
	done
}
ge() { [[ $(msgs "$1") -ge $2 ]]; }

# --- control: msg_bytes 0, no message reaches the sensor ---------------------
start_sensor 0
nx_queries 5
sleep 1.5 # a state write or two
xf_check "msg_bytes 0: no DNS message reaches the sensor" [ "$(msgs whole)" = 0 ] || true
stop_sensor

# --- msg_bytes 512 -------------------------------------------------------------
start_sensor 512
nx_queries 10
xf_check "NXDOMAIN from unbound counted through ldns (>= 10)" xf_wait_for 10 ge nxdomain 10 || true
echo "  dns_msgs: whole $(msgs whole) partial $(msgs partial) bad $(msgs bad) nxdomain $(msgs nxdomain)"
xf_check "no message rejected by ldns" [ "$(msgs bad)" = 0 ] || true

xf_check "iodine tunnel comes up" xf_iodine_up || true
xf_tunnel_ping 10 15 || true
xf_check "tunnel responses parsed: answer bytes > 0" xf_wait_for 10 ge answer_bytes 1 || true
echo "  answer bytes parsed: $(msgs answer_bytes), messages partial (cut at 512): $(msgs partial)"
alert_down() {
	python3 - "$XF_TMP/alerts.jsonl" "$XF_TUN_REG" <<'PY'
import json, sys
best = -1
for line in open(sys.argv[1]):
    if not line.strip():
        continue
    a = json.loads(line)
    if a["dns"]["question"]["registered_domain"] != sys.argv[2]:
        continue
    best = max(best, a["exfilter"]["flow"].get("answer_bytes", -1))
print(f"  tunnel alert flow.answer_bytes: {best}")
sys.exit(0 if best > 0 else 1)
PY
}
xf_check "tunnel alert's flow carries answer_bytes > 0" xf_wait_for 20 alert_down || true
xf_iodine_down
stop_sensor
xf_summary
