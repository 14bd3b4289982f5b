#!/usr/bin/env bash
# The live sensor end to end, in netns + veth with a real unbound resolver,
# real dig/dnsperf traffic, a real iodine tunnel, and Kafka through
# librdkafka's mock cluster (real protocol over TCP, in R's namespace):
#  - monitor: the tunnel's alert reaches SQLite and Kafka within seconds,
#    valid against schemas/alert.schema.json; benign traffic raises nothing;
#    nothing is dropped;
#  - `exfilter mode enforce` while running: the tunnel stops, benign queries
#    are still answered, the alert is updated to blocked;
#  - block/allow edits take effect at once;
#  - Kafka outage: alerts raised while the broker is down reach Kafka once it
#    is back; a sensor killed with SIGKILL re-sends what was never
#    acknowledged after a restart. Every stored alert reaches Kafka.
# Needs root (BPF, netns); fails, never skips, without it.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/lib.sh"

xf_require_root
xf_require_tools nsenter sqlite3 kcat python3 dnsperf
xf_bound_runtime "${XF_TEST_TIMEOUT:-420}" "$@"
xf_trap_setup
xf_gc_stale

xf_built EXFILTER=exfilter KMOCK=tests/kafka_mock
python3 -c 'import jsonschema' || xf_die "python3-jsonschema missing (make deps)"

xf_topo_up
PIN=/sys/fs/bpf/xf-sensor-$XF_TAG
cleanup() {
	xf_stop kafka_mock
	[[ -f $XF_TMP/exfilter.pid ]] && kill -9 "$(cat "$XF_TMP/exfilter.pid")" 2>/dev/null || true
	xf_teardown
	rm -rf "$PIN"
	rm -rf "/run/exfilter/xf-sensor-$XF_TAG"
}
trap cleanup EXIT

DB=$XF_TMP/alerts.db
XF_TUN_REG=xf.test # the tunnel zone's registered domain
TOPIC=exfilter-alerts
status_json() { xf_cli status --json; }

xf_unbound_up
xf_iodined_up

# --- Kafka: the mock cluster in R's namespace, on its loopback ---------------
ip -n "$XF_NS_R" link set lo up
xf_bg "$XF_NS_R" kafka_mock "$KMOCK" --topic "$TOPIC" --partitions 1
xf_wait_for 10 grep -q '^bootstrap=' "$XF_TMP/kafka_mock.log" ||
	xf_die "kafka_mock did not start: $(cat "$XF_TMP/kafka_mock.log")"
BOOT=$(sed -n 's/^bootstrap=//p' "$XF_TMP/kafka_mock.log" | head -n 1)
kmock_signal() { kill "-$1" "$(pgrep -P "$(cat "$XF_TMP/kafka_mock.pid")" -x kafka_mock || cat "$XF_TMP/kafka_mock.pid")"; }

perl "$ROOT/tests/tools/mkmmdb.pl" "$XF_TMP" || xf_die "cannot build the test GeoIP databases"
CONF=$XF_TMP/exfilter.yaml
cat >"$CONF" <<YAML
mode: monitor
interfaces: [$XF_IF_RC]
pin_dir: $PIN
flows:
  tick_ms: 500
  window_s: 300
store:
  path: $DB
geoip:
  city_db: $XF_TMP/city.mmdb
  asn_db: $XF_TMP/asn.mmdb
sinks:
  jsonl:
    enabled: true
    path: $XF_TMP/alerts.jsonl
  kafka:
    enabled: true
    topic: $TOPIC
    properties:
      bootstrap.servers: "$BOOT"
      linger.ms: 5
YAML
chmod 600 "$CONF"

runs() { grep -c "running in" "$XF_TMP/exfilter.log" 2>/dev/null || true; }
runs_gt() { [[ $(runs) -gt $1 ]]; }
start_sensor() {
	local before
	before=$(runs)
	xf_in_r timeout -k 3 "$XF_LIFETIME" "$EXFILTER" run --config "$CONF" \
		>>"$XF_TMP/exfilter.log" 2>&1 &
	echo $! >"$XF_TMP/exfilter.pid"
	xf_wait_for 15 runs_gt "${before:-0}" ||
		xf_die "exfilter did not start: $(cat "$XF_TMP/exfilter.log")"
}
start_sensor

alerts_for() { xf_sq "select count(*) from alerts where domain='$1'"; }
has_alert() { [[ $(alerts_for "$1") -ge 1 ]]; }
kafka_dump() {
	xf_in_r timeout 20 kcat -C -b "$BOOT" -t "$TOPIC" -e -o beginning -q -f '%s\n' \
		>"$XF_TMP/kafka.out" 2>"$XF_TMP/kcat.err" || true
}
kafka_has() { kafka_dump; grep -q "\"registered_domain\":\"$1\"" "$XF_TMP/kafka.out"; }
schema_ok() {
	python3 - "$ROOT/schemas/alert.schema.json" "$1" <<'PY'
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
n = 0
for line in open(sys.argv[2]):
    if line.strip():
        jsonschema.validate(json.loads(line), schema)
        n += 1
print(f"  {n} alerts valid")
sys.exit(0 if n else 1)
PY
}
stat_kernel() { status_json | xf_jget "d['$1']"; }

# --- monitor ---------------------------------------------------------------
benign_all() {
	local got
	got=$(xf_dig_benign "$1") || { echo "  only $got/$1 answered" >&2; return 1; }
	echo "  $got/$1 answered"
}
xf_check "monitor: 50 benign queries answered" benign_all 50 || true
t0=$(xf_now)
tunnel_up=0
xf_check "monitor: iodine tunnel comes up" xf_iodine_up && tunnel_up=1 || true
xf_check "monitor: tunnel alert for $XF_TUN_REG in SQLite within 20 s" \
	xf_wait_for 20 has_alert "$XF_TUN_REG" || true
echo "  time from tunnel start to stored alert: $(xf_since "$t0") s (includes the iodine handshake)"
xf_check "monitor: the tunnel's alert reached Kafka" xf_wait_for 15 kafka_has "$XF_TUN_REG" || true
xf_check "monitor: Kafka alerts valid against schemas/alert.schema.json" schema_ok "$XF_TMP/kafka.out" || true
geo_ok() {
	grep "\"registered_domain\":\"$XF_TUN_REG\"" "$XF_TMP/kafka.out" | head -n 1 | python3 -c '
import json, sys
d = json.load(sys.stdin)["destination"]
print("  destination:", json.dumps(d))
sys.exit(0 if d["geo"]["country_iso_code"] == "IS" and d["as"]["number"] == 64502 else 1)'
}
xf_check "monitor: destination enriched from the GeoIP/ASN databases" geo_ok || true
xf_check "monitor: JSON-lines sink has the alert too" grep -q "\"registered_domain\":\"$XF_TUN_REG\"" "$XF_TMP/alerts.jsonl" || true
fp=$(xf_sq "select group_concat(domain) from alerts where domain<>'$XF_TUN_REG'")
xf_check "monitor: no alert on benign domains (got: ${fp:-none})" [ -z "$fp" ] || true
xf_check "monitor: nothing dropped" [ "$(stat_kernel drops)" = 0 ] || true
xf_check "monitor: alert says would-block" \
	[ "$(xf_sq "select action from alerts where domain='$XF_TUN_REG'")" = would-block ] || true
xf_check "monitor: the tunnel still works" xf_tunnel_ping 2 10 || true

# --- enforce, switched live --------------------------------------------------
xf_cli mode enforce >/dev/null
tunnel_dead() { ! xf_tunnel_ping 3 6; }
if ((tunnel_up)); then
	xf_check "enforce: the iodine tunnel stops" tunnel_dead || true
else
	xf_check "enforce: the iodine tunnel stops (it never came up)" false || true
fi
xf_check "enforce: 50 benign queries still answered" benign_all 50 || true
blocked() { [[ $(xf_sq "select action from alerts where domain='$XF_TUN_REG'") == blocked ]]; }
xf_check "enforce: the alert is updated to blocked (same id, next revision)" \
	xf_wait_for 10 blocked || true
verdicts_ge1() { [[ $(status_json | xf_jget "d['sensor']['verdicts']") -ge 1 ]]; }
xf_check "enforce: the sensor wrote a verdict" xf_wait_for 5 verdicts_ge1 || true
xf_iodine_down
xf_cli mode monitor >/dev/null

# --- live list edits -----------------------------------------------------------
victim=$(head -n 1 "$XF_TMP/benign.queries" | cut -d' ' -f1)
status_of() { xf_in "$XF_NS_C" dig +tries=1 +time=2 @"$XF_IP_R" "$victim" A | grep -o "status: [A-Z]*" | cut -d" " -f2; }
xf_cli mode enforce >/dev/null
xf_cli block "$victim" --action refuse >/dev/null
xf_check "block: $victim refused at once" [ "$(status_of)" = REFUSED ] || true
xf_cli allow "$victim" >/dev/null
xf_check "allow: $victim answered again (allow beats block)" [ "$(status_of)" = NOERROR ] || true
xf_cli unblock "$victim" >/dev/null
xf_cli mode monitor >/dev/null

# --- Kafka outage -----------------------------------------------------------
# Scripted exfiltration to N domains, one alert each, sent with dnsperf.
exfil_queries() { # FILE FIRST LAST
	python3 - "$@" <<'PY'
import base64, os, sys
out, first, last = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(out, "w") as f:
    for d in range(first, last + 1):
        for i in range(40):
            lab = base64.b32encode(os.urandom(30)).decode().rstrip("=").lower()
            f.write(f"{lab}.{i}.exfil{d:02d}.test TXT\n")
PY
}
exfil_domains() { xf_sq "select count(*) from alerts where domain like 'exfil%.test'"; }
kmock_signal USR1 # brokers down
exfil_queries "$XF_TMP/exfil1.q" 1 10
xf_in "$XF_NS_C" timeout 30 dnsperf -s "$XF_IP_R" -d "$XF_TMP/exfil1.q" -n 1 -Q 400 -t 1 \
	>"$XF_TMP/dnsperf-exfil1.log" 2>&1 || true
exfil_ge() { [[ $(exfil_domains) -ge $1 ]]; }
xf_check "outage: 10 exfiltration alerts stored while Kafka is down" xf_wait_for 20 exfil_ge 10 || true
backlog() { status_json | xf_jget "d['sensor']['sinks']['kafka']['backlog']"; }
backlog_gt0() { [[ $(backlog) -gt 0 ]]; }
backlog_0() { [[ $(backlog) -eq 0 ]]; }
xf_check "outage: status shows a Kafka backlog" xf_wait_for 5 backlog_gt0 || true
echo "  backlog during the outage: $(backlog)"
kmock_signal USR2 # brokers back
xf_check "outage: the backlog drains when the broker returns" xf_wait_for 60 backlog_0 || true

# --- SIGKILL mid-stream, restart ---------------------------------------------
kmock_signal USR1
exfil_queries "$XF_TMP/exfil2.q" 11 15
xf_in "$XF_NS_C" timeout 30 dnsperf -s "$XF_IP_R" -d "$XF_TMP/exfil2.q" -n 1 -Q 400 -t 1 \
	>"$XF_TMP/dnsperf-exfil2.log" 2>&1 || true
xf_wait_for 20 exfil_ge 15 || true
# SIGKILL: no flush, no detach; the TC program and pinned maps stay behind
kill -9 "$(pgrep -f "exfilter run --config $CONF" | head -n 1)" 2>/dev/null || true
wait "$(cat "$XF_TMP/exfilter.pid")" 2>/dev/null || true
sleep 1
kmock_signal USR2
start_sensor
started_twice() { [[ $(grep -c "running in" "$XF_TMP/exfilter.log") -ge 2 ]] && kill -0 "$(cat "$XF_TMP/exfilter.pid")"; }
xf_check "restart: the sensor re-adopts the pinned maps and runs" started_twice || true
# grep reads the whole dump (not -q): with pipefail, bpftool writing on after
# grep -q has quit dies of SIGPIPE, and the check would fail on a match
verdict_kept() { bpftool map dump pinned "$PIN/xf_verdicts" | grep '"action"\|value' >/dev/null; }
xf_check "restart: verdicts written before SIGKILL are still enforced" verdict_kept || true
all_in_kafka() {
	kafka_dump
	python3 - "$DB" "$XF_TMP/kafka.out" <<'PY'
import json, sqlite3, sys, collections
db = sqlite3.connect(sys.argv[1])
stored = {(i, r) for i, r in db.execute("select id, rev from alerts")}
seen = collections.Counter()
for line in open(sys.argv[2]):
    if line.strip():
        a = json.loads(line)["exfilter"]
        seen[(a["alert_id"], a["revision"])] += 1
missing = stored - set(seen)
dups = {k: v for k, v in seen.items() if v > 1}
print(f"  stored {len(stored)}, in Kafka {len(seen)} distinct, missing {len(missing)}, duplicated {len(dups)}")
sys.exit(1 if missing else 0)
PY
}
xf_check "restart: every stored alert reached Kafka" xf_wait_for 60 all_in_kafka || true
all_in_kafka || true

xf_summary
