#!/usr/bin/env bash
# `make demo`: exfilter's TC programs on a resolver's client-facing veth, in
# private namespaces, with real unbound, dig and iodine. Narrated; everything
# it starts is removed on exit.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/lib.sh"

xf_require_root
xf_require_tools nsenter
xf_bound_runtime "${XF_DEMO_TIMEOUT:-300}" "$@"
xf_trap_setup
xf_gc_stale

EXFILTER=$(xf_repo_root)/.output/exfilter
[[ -x $EXFILTER ]] || xf_die "build first: make"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show_status() { xf_cli status | grep -E '^(mode|dns_queries|drops|would_drops|refused|events|parse_errors)'; }
show_alerts() { "$EXFILTER" alerts --db "$XF_TMP/alerts.db"; }

say "Three namespaces: client, resolver (unbound), attacker (iodined for $XF_TUN_DOMAIN)"
xf_topo_up
PIN=/sys/fs/bpf/xf-demo-$XF_TAG
trap 'xf_teardown; rm -rf "$PIN"' EXIT
xf_unbound_up
xf_iodined_up

say "exfilter run --iface $XF_IF_RC (monitor mode): alerts to SQLite and JSON lines"
nsenter --net="/run/netns/$XF_NS_R" timeout -k 3 "$XF_LIFETIME" \
	"$EXFILTER" --pin-dir "$PIN" run --iface "$XF_IF_RC" --db "$XF_TMP/alerts.db" >"$XF_TMP/exfilter.log" 2>&1 &
echo $! >"$XF_TMP/exfilter.pid"
xf_wait_for 10 grep -q "running in" "$XF_TMP/exfilter.log" || xf_die "exfilter did not attach"

say "Monitor: 30 benign queries and a real iodine tunnel"
echo "benign answered: $(xf_dig_benign 30 || true)/30"
if xf_iodine_up && xf_tunnel_ping 3 10; then
	echo "iodine tunnel: UP (ping through DNS works)"
else
	echo "iodine tunnel: did not come up"
fi
show_status
sleep 2 # a tick or two: the sensor scores every client x domain each second
echo "exfilter alerts (the SQLite store):"
show_alerts
echo "why (the alert's reasons, from the JSON-lines sink):"
grep -m1 '"registered_domain":"xf.test"' "$XF_TMP/exfilter.log" |
	python3 -c 'import json,sys; a=json.load(sys.stdin); print(json.dumps({"rule": a["rule"]["name"], "score": a["exfilter"]["score"], "reasons": a["exfilter"]["reasons"], "sample": a["exfilter"]["samples"][:1]}, indent=1)[:1500])' || true

say "Operator: exfilter mode enforce (live, no restart): the sensor blocks what it scored"
xf_cli mode enforce
if xf_tunnel_ping 3 6; then
	echo "iodine tunnel: still UP (unexpected)"
else
	echo "iodine tunnel: DOWN (queries dropped in the kernel)"
fi
echo "benign answered: $(xf_dig_benign 30 || true)/30"
show_status
sleep 1
echo "the alert, updated in place (same id, action blocked):"
show_alerts

victim=$(head -n 1 "$XF_TMP/benign.queries" | cut -d' ' -f1)
say "exfilter block $victim --action refuse: the client gets REFUSED at once"
xf_cli block "$victim" --action refuse
xf_in "$XF_NS_C" dig +tries=1 +time=2 @"$XF_IP_R" "$victim" A | grep -E 'status:|Query time'
show_status

say "Done: namespaces, qdiscs, pinned maps and processes are removed on exit"
