#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A random-subdomain flood while a real iodine tunnel runs (issue 6, "Floods
# and exhaustion"), in netns + veth with the real unbound resolver.
#
# tests/tools/flood_gen writes DNS queries for fresh random names under three
# registered domains (flood-{a,b,c}.test), each from a spoofed source among
# FLOOD_CLIENTS addresses of 10.203.0.0/16, so client x domain flows far
# outnumber the kernel's LRU (kernel.max_flows) and the sensor's flow table
# (flows.max_flows), both set small here. unbound answers them NXDOMAIN.
# During the flood the iodine tunnel starts. Asserts:
#  - xf_flows has the configured max_entries and holds no more; the sensor's
#    table holds at most flows.max_flows and evicts; its VmRSS grows by less
#    than RSS_BOUND_KIB over the flood;
#  - the tunnel is detected (its alert is in SQLite) and, once the mode is
#    enforce, blocked: a verdict for xf.test is in the kernel map, pings stop;
#  - benign dig queries are answered during the flood;
#  - the flood is reported as one alert per flooded domain, never per name:
#    each of the three domains has exactly one domain alert (the flood
#    detector, detectors/flood.c: no source.ip, exfilter.clients instead,
#    client '*' in the store), no other domain has one, every flood alert
#    names one of the three domains, no (client, domain) pair has two alerts
#    in the window, and there are far fewer alerts than names.
# Needs root (BPF, netns, raw sockets); fails, never skips, without it.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/lib.sh"

xf_require_root
xf_require_tools nsenter sqlite3 python3 bpftool
xf_bound_runtime "${XF_TEST_TIMEOUT:-240}" "$@"
xf_trap_setup
xf_gc_stale

xf_built EXFILTER=exfilter FLOOD=tests/flood_gen

FLOOD_NET=10.203.0.0/16
FLOOD_CLIENTS=${FLOOD_CLIENTS:-20000}
FLOOD_COUNT=${FLOOD_COUNT:-400000}
FLOOD_QPS=${FLOOD_QPS:-6000}
FLOOD_DOMAINS=flood-a.test,flood-b.test,flood-c.test
DENSE_NET=10.203.255.0/24 # beyond the wide part's addresses
DENSE_CLIENTS=16
DENSE_COUNT=40000
DENSE_QPS=600
K_FLOWS=1024 # kernel.max_flows
U_FLOWS=4096 # flows.max_flows
RSS_BOUND_KIB=$((48 * 1024))

xf_topo_up
PIN=/sys/fs/bpf/xf-flood-$XF_TAG
cleanup() {
	xf_stop flood
	xf_stop flood2
	[[ -f $XF_TMP/exfilter.pid ]] && kill -9 "$(cat "$XF_TMP/exfilter.pid")" 2>/dev/null || true
	xf_teardown
	rm -rf "$PIN" "/run/exfilter/xf-flood-$XF_TAG"
}
trap cleanup EXIT

DB=$XF_TMP/alerts.db
TUN_REG=xf.test
st() { xf_cli status --json | xf_jget "$1"; }

# unbound as lib.sh starts it, plus the flood's prefix in access-control
# (answered NXDOMAIN by the "." static zone, as a resolver would), and a
# route back through C, which does not forward: the answers go nowhere.
xf_gen_benign
xf_unbound_conf | sed "s|^\(    access-control: 10.201.2.0/24 allow\)|\1\n    access-control: $FLOOD_NET allow|" \
	>"$XF_TMP/unbound.conf"
grep -q "$FLOOD_NET" "$XF_TMP/unbound.conf" || xf_die "could not add $FLOOD_NET to unbound.conf"
ip -n "$XF_NS_R" route add "$FLOOD_NET" via "$XF_IP_C"
xf_bg "$XF_NS_R" unbound unbound -d -c "$XF_TMP/unbound.conf"
xf_wait_for 15 xf_unbound_ready || xf_die "unbound did not answer: $(tail -n 5 "$XF_TMP/unbound.log")"
xf_iodined_up

CONF=$XF_TMP/exfilter.yaml
cat >"$CONF" <<YAML
mode: monitor
interfaces: [$XF_IF_RC]
pin_dir: $PIN
kernel:
  max_flows: $K_FLOWS
flows:
  max_flows: $U_FLOWS
  tick_ms: 500
  window_s: 300
store:
  path: $DB
sinks:
  jsonl:
    enabled: true
    path: $XF_TMP/alerts.jsonl
YAML
chmod 600 "$CONF"
xf_sensor_start "$CONF"
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$SPID/status"; }
sleep 1
RSS0=$(rss_kib)

# Counted once the flood is over: a dump walks the keys with get_next_key,
# which restarts from the first key when LRU eviction removed the current one,
# so under churn it returns more keys than the map ever held at once.
kmap_entries() { bpftool -j map dump pinned "$PIN/xf_flows" | python3 -c 'import json,sys; print(len({str(e["key"]) for e in json.load(sys.stdin)}))'; }
kmap_max() { bpftool -j map show pinned "$PIN/xf_flows" | xf_jget "d['max_entries']"; }
benign_all() {
	local got
	got=$(xf_dig_benign "$1") || { echo "  only $got/$1 answered" >&2; return 1; }
	echo "  $got/$1 answered"
}

# --- the flood, in the background ----------------------------------------------
t0=$(xf_now)
xf_bg "$XF_NS_C" flood "$FLOOD" --dst "$XF_IP_R" --src "$FLOOD_NET" --clients "$FLOOD_CLIENTS" \
	--domains "$FLOOD_DOMAINS" --count "$FLOOD_COUNT" --qps "$FLOOD_QPS" --seed "${XF_SEED:-7}"
# and a dense part: a few clients, many 24-character names each, which
# per-flow scoring may see. The wide part (12-character names, ~7 per client x
# domain) raises no flow alert: no flow detector scores a flow that thin; the
# domain table sums it per registered domain, and the flood detector reports
# each domain once.
xf_bg "$XF_NS_C" flood2 "$FLOOD" --dst "$XF_IP_R" --src "$DENSE_NET" --clients "$DENSE_CLIENTS" \
	--domains "$FLOOD_DOMAINS" --count "$DENSE_COUNT" --qps "$DENSE_QPS" --seed "${XF_SEED:-7}" --label 24
flood_queries() { st "d['dns_queries']"; }
flooding() { [[ $(flood_queries) -gt 20000 ]]; }
xf_wait_for 20 flooding || xf_die "the flood did not reach the sensor: $(cat "$XF_TMP/flood.log")"

# --- during the flood ------------------------------------------------------------
xf_check "flood: 50 benign queries answered" benign_all 50 || true
tunnel_up=0
xf_check "flood: iodine tunnel comes up through the flooded resolver" xf_iodine_up && tunnel_up=1 || true
has_alert() { [[ $(xf_sq "select count(*) from alerts where domain='$TUN_REG'") -ge 1 ]]; }
xf_check "flood: tunnel alert for $TUN_REG in SQLite within 30 s" xf_wait_for 30 has_alert || true
xf_cli mode enforce >/dev/null
verdict_in_map() { bpftool -j map dump pinned "$PIN/xf_verdicts" | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin) else 1)'; }
xf_check "flood: enforce writes a verdict into the kernel map" xf_wait_for 10 verdict_in_map ||
	echo "  the tunnel's alerts (action, score): $(xf_sq "select action || ' ' || score from alerts where domain='$TUN_REG'" | tr '\n' ';')"
tunnel_dead() { ! xf_tunnel_ping 3 6; }
if ((tunnel_up)); then
	xf_check "flood: enforce stops the tunnel" tunnel_dead || true
else
	xf_check "flood: enforce stops the tunnel (it never came up)" false || true
fi
xf_check "flood: 50 benign queries answered in enforce mode" benign_all 50 || true
xf_iodine_down

# --- after the flood ---------------------------------------------------------------
flood_done() { ! xf_alive flood && ! xf_alive flood2; }
xf_wait_for 120 flood_done || true
echo "  wide: $(cat "$XF_TMP/flood.log") ($(xf_since "$t0") s from the start of the flood)"
echo "  dense: $(cat "$XF_TMP/flood2.log")"
sleep 2 # a few ticks for the last events
RSS1=$(rss_kib)
kmax=$(kmap_max)
kn=$(kmap_entries)
echo "  xf_flows: $kn entries of max_entries $kmax"
xf_check "flood: xf_flows sized by kernel.max_flows ($K_FLOWS)" [ "$kmax" = "$K_FLOWS" ] || true
xf_check "flood: xf_flows holds at most max_entries, and is full" \
	eval "[ $kn -le $kmax ] && [ $kn -ge $((kmax / 2)) ]" || true
read -r uflows evicted revived < <(xf_cli status --json | xf_jget "'%d %d %d' % (d['sensor']['flows'], d['sensor']['flows_evicted'], d['sensor']['flows_revived'])")
echo "  sensor: $uflows flows held, $evicted evicted, $revived alerted ones made again; VmRSS $RSS0 -> $RSS1 KiB"
echo "  kernel: $(st "'%d queries, %d events, %d ring_full' % (d['dns_queries'], d['events'], d['ring_full'])")"
xf_check "flood: the flow table holds at most flows.max_flows ($U_FLOWS)" [ "$uflows" -le "$U_FLOWS" ] || true
xf_check "flood: the flow table evicted (the flood overflowed it)" [ "$evicted" -gt 0 ] || true
xf_check "flood: VmRSS grew by less than $((RSS_BOUND_KIB / 1024)) MiB" \
	[ $((RSS1 - RSS0)) -lt "$RSS_BOUND_KIB" ] || true
xf_check "flood: the sensor is still running" kill -0 "$SPID" || true

# --- how the flood is reported ---------------------------------------------------
# An alert is per client x registered domain per window (schemas/, flows.window_s):
# a flood is one alert per flooding client and domain, never one per name.
xf_sq "select domain, count(*), count(distinct client) from alerts where domain like 'flood-%' group by domain" |
	sed 's/^/  alerts (domain|alerts|clients): /'
dense_like="client like '10.203.255.%'"
nwide=$(xf_sq "select count(*) from alerts where domain like 'flood-%' and not $dense_like")
ndense=$(xf_sq "select count(*) from alerts where domain like 'flood-%' and $dense_like")
nbad=$(xf_sq "select count(*) from alerts where domain like '%flood-%' and domain not in ('flood-a.test','flood-b.test','flood-c.test')")
ndup=$(xf_sq "select count(*) from (select client, domain from alerts where domain like 'flood-%' group by client, domain having count(*) > 1)")
echo "  flood alerts: $ndense from the $DENSE_CLIENTS dense clients, $nwide from the $FLOOD_CLIENTS wide ones"
xf_check "report: flood alerts name the registered domain, never a name (got $nbad others)" [ "$nbad" = 0 ] || true
# One alert per flooded domain, across all its clients (detectors/flood.c).
dom_alerts() { xf_sq "select count(*) from alerts where client='*' and domain='$1'"; }
for d in ${FLOOD_DOMAINS//,/ }; do
	n=$(dom_alerts "$d")
	xf_check "report: exactly one flood alert for $d (got $n)" [ "$n" = 1 ] || true
done
nother=$(xf_sq "select count(*) from alerts where client='*' and domain not like 'flood-%'")
xf_check "report: no domain alert for any other domain (got $nother)" [ "$nother" = 0 ] || true
flood_json_ok() {
	python3 - "$XF_TMP/alerts.jsonl" "$ROOT/schemas/alert.schema.json" <<'PY'
import json, sys, jsonschema
schema = json.load(open(sys.argv[2]))
n = 0
for line in open(sys.argv[1]):
    a = json.loads(line)
    e = a["exfilter"]
    if e.get("scope") != "domain":
        continue
    jsonschema.validate(a, schema)
    assert "source" not in a, "a domain alert has a source"
    assert a["rule"]["name"] == "DNS flood: random-subdomain flood", a["rule"]
    assert a["dns"]["question"]["registered_domain"].startswith("flood-"), a["dns"]
    assert e["clients"]["estimated"] >= 20 and e["clients"]["samples"], e["clients"]
    assert e["flow"]["distinct_names"] >= 20000, e["flow"]
    print("  %s rev %d: %d names, %d clients, score %.1f, %s" % (
        a["dns"]["question"]["registered_domain"], e["revision"], e["flow"]["distinct_names"],
        e["clients"]["estimated"], e["score"], a["event"]["action"]))
    n += 1
sys.exit(0 if n >= 3 else 1)
PY
}
xf_check "report: flood alerts are domain alerts: no source.ip, the clients estimated, valid" \
	flood_json_ok || true
xf_check "report: at most one alert per client x domain in the window (got $ndup pairs with more)" \
	[ "$ndup" = 0 ] || true
xf_check "report: dense alerts ($ndense) at most clients x domains ($((DENSE_CLIENTS * 3)))" \
	[ "$ndense" -le $((DENSE_CLIENTS * 3)) ] || true
xf_check "report: far fewer flood alerts ($((nwide + ndense))) than names ($((FLOOD_COUNT + DENSE_COUNT)))" \
	[ $((nwide + ndense)) -le $(((FLOOD_COUNT + DENSE_COUNT) / 100)) ] || true

xf_summary
