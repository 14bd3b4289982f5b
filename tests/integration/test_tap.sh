#!/usr/bin/env bash
# The passive path: `exfilter run --tap IF` puts the socket filter on an
# AF_PACKET socket bound to the resolver's client-facing veth (standing in
# for a mirror port), with no TC program attached. A real iodine tunnel is
# detected and alerted on, but never blocked, even in enforce mode: the tap
# sees copies. Needs root (BPF, netns); fails, never skips, without it.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/lib.sh"

xf_require_root
xf_require_tools nsenter sqlite3
xf_bound_runtime "${XF_TEST_TIMEOUT:-240}" "$@"
xf_trap_setup
xf_gc_stale

xf_built EXFILTER=exfilter

xf_topo_up
PIN=/sys/fs/bpf/xf-tap-$XF_TAG
trap 'xf_teardown; rm -rf "$PIN"' EXIT
DB=$XF_TMP/alerts.db
stat() { xf_cli status --json | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

xf_unbound_up
xf_iodined_up
nsenter --net="/run/netns/$XF_NS_R" timeout -k 3 "$XF_LIFETIME" "$EXFILTER" --pin-dir "$PIN" \
	run --tap "$XF_IF_RC" --mode enforce --db "$DB" --set flows.tick_ms=500 \
	>"$XF_TMP/exfilter.log" 2>&1 &
echo $! >"$XF_TMP/exfilter.pid"
xf_wait_for 15 grep -q "running in" "$XF_TMP/exfilter.log" ||
	xf_die "exfilter did not start: $(cat "$XF_TMP/exfilter.log")"

no_tc() { ! ip netns exec "$XF_NS_R" tc filter show dev "$XF_IF_RC" ingress | grep -q bpf; }
xf_check "tap: no TC program attached" no_tc || true
xf_check "tap: iodine tunnel comes up (enforce mode, but a tap cannot drop)" xf_iodine_up || true
has_alert() { [[ $(sqlite3 -cmd ".timeout 5000" "$DB" "select count(*) from alerts where domain='xf.test'") -ge 1 ]]; }
xf_check "tap: the tunnel is alerted on within 20 s" xf_wait_for 20 has_alert || true
xf_check "tap: the alert says would-block, not blocked" \
	[ "$(sqlite3 "$DB" "select action from alerts where domain='xf.test'")" = would-block ] || true
xf_check "tap: the tunnel still works" xf_tunnel_ping 3 10 || true
xf_check "tap: the kernel counted DNS queries" [ "$(stat dns_queries)" -gt 0 ] || true
xf_check "tap: nothing dropped" [ "$(stat drops)" = 0 ] || true
xf_check "tap: would-drops counted" [ "$(stat would_drops)" -gt 0 ] || true

xf_summary
