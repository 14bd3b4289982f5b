#!/usr/bin/env bash
# exfilter's TC programs on the resolver's client-facing veth, with a real
# unbound, real dig traffic and a real iodine tunnel through the resolver:
#  - monitor: benign queries and the tunnel both work; would-drops are counted;
#  - enforce + a verdict for the tunnel's domain, switched while running: the
#    tunnel dies, every benign query is still answered;
#  - a refuse verdict: the client gets REFUSED at once; unblock restores it.
# Needs root (BPF, netns); fails, never skips, without it.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/lib.sh"

xf_require_root
xf_require_tools nsenter
xf_bound_runtime "${XF_TEST_TIMEOUT:-300}" "$@"
xf_trap_setup
xf_gc_stale

xf_built EXFILTER=exfilter

xf_topo_up
PIN=/sys/fs/bpf/xf-test-$XF_TAG
# the netns teardown removes the qdisc; the pins live in the root bpffs
trap 'xf_teardown; rm -rf "$PIN"' EXIT

# exfilter commands run in R's network namespace but keep the root mount
# namespace, so every command sees the same pinned maps.
stat() { xf_cli status --json | grep -o "\"$1\":[0-9]*" | head -n 1 | cut -d: -f2; }

xf_unbound_up
xf_iodined_up

nsenter --net="/run/netns/$XF_NS_R" timeout -k 3 "$XF_LIFETIME" \
	"$EXFILTER" --pin-dir "$PIN" run --iface "$XF_IF_RC" --db "$XF_TMP/alerts.db" >"$XF_TMP/exfilter.log" 2>&1 &
echo $! >"$XF_TMP/exfilter.pid"
xf_wait_for 10 grep -q "running in" "$XF_TMP/exfilter.log" ||
	xf_die "exfilter did not attach: $(cat "$XF_TMP/exfilter.log")"

benign_all() {
	local n=$1 got
	got=$(xf_dig_benign "$n") || {
		echo "  only $got/$n benign queries answered" >&2
		return 1
	}
	echo "  $got/$n answered"
}
gt0() { local v; v=$(stat "$1"); echo "  $1=$v"; [[ ${v:-0} -gt 0 ]]; }
eq0() { local v; v=$(stat "$1"); echo "  $1=$v"; [[ ${v:-1} -eq 0 ]]; }

# --- monitor ---------------------------------------------------------------
xf_check "monitor: 50 benign queries answered" benign_all 50 || true
tunnel_up=0
xf_check "monitor: iodine tunnel comes up through unbound" xf_iodine_up && tunnel_up=1 || true
xf_check "monitor: ping through the tunnel" xf_tunnel_ping 3 10 || true
xf_check "monitor: kernel saw the DNS queries" gt0 dns_queries || true
xf_check "monitor: tunnel queries counted as would-drops" gt0 would_drops || true
xf_check "monitor: nothing dropped" eq0 drops || true

# --- enforce, switched live --------------------------------------------------
xf_cli block "$XF_TUN_DOMAIN" >/dev/null
xf_cli mode enforce >/dev/null
tunnel_dead() { ! xf_tunnel_ping 3 6; }
if ((tunnel_up)); then
	xf_check "enforce: the iodine tunnel stops" tunnel_dead || true
else
	xf_check "enforce: the iodine tunnel stops (it never came up)" false || true
fi
xf_check "enforce: kernel dropped tunnel queries" gt0 drops || true
xf_check "enforce: 50 benign queries still answered" benign_all 50 || true

# --- refuse ------------------------------------------------------------------
victim=$(head -n 1 "$XF_TMP/benign.queries" | cut -d' ' -f1)
status_of() { xf_in "$XF_NS_C" dig +tries=1 +time=2 @"$XF_IP_R" "$victim" A | grep -o "status: [A-Z]*" | cut -d" " -f2; }
refused() { [[ $(status_of) == REFUSED ]]; }
noerror() { [[ $(status_of) == NOERROR ]]; }
xf_cli block "$victim" --action refuse >/dev/null
xf_check "refuse: $victim answered REFUSED in place" refused || true
xf_check "refuse: counted" gt0 refused || true
xf_cli unblock "$victim" >/dev/null
xf_check "unblock: $victim resolves again" noerror || true

# --- back to monitor ---------------------------------------------------------
xf_cli mode monitor >/dev/null
before=$(stat drops)
xf_cli block "$victim" >/dev/null
xf_check "monitor again: a blocked name still resolves" noerror || true
xf_check "monitor again: no new drops" [ "$(stat drops)" = "$before" ] || true


xf_summary
