#!/usr/bin/env bash
# The SQLite store fills up while the sensor runs in enforce mode (issue 6):
#  - the store sits on a 4 MiB tmpfs the test mounts (removed in the trap);
#    once alerts are flowing, a filler file takes every free byte;
#  - new alerts stay in memory up to store.memory_max (20), the ones beyond
#    are counted as lost: `exfilter status` says lost and held, the log says
#    LOST, the jsonl sink gets an alerts-lost event, and the jsonl sink
#    still receives the held alerts (exported from memory);
#  - enforcement goes on: a blocked domain stays blocked, a benign one is
#    answered, and encoded queries are dropped;
#  - when space comes back, the held alerts are stored and the lost ones are
#    not; the sensor exits cleanly.
# Needs root (BPF, netns, mount); fails, never skips, without it.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/lib.sh"

xf_require_root
xf_require_tools nsenter sqlite3 python3 dnsperf dig
xf_bound_runtime "${XF_TEST_TIMEOUT:-240}" "$@"
xf_trap_setup
xf_gc_stale

xf_built EXFILTER=exfilter

xf_topo_up
PIN=/sys/fs/bpf/xf-full-$XF_TAG
STORE=$XF_TMP/store
cleanup() {
	[[ -f $XF_TMP/exfilter.pid ]] && kill -9 "$(cat "$XF_TMP/exfilter.pid")" 2>/dev/null || true
	sleep 0.2
	mountpoint -q "$STORE" 2>/dev/null && umount -l "$STORE"
	xf_teardown
	rm -rf "$PIN"
	rm -f "/run/exfilter/xf-full-$XF_TAG.state.json"
}
trap cleanup EXIT

mkdir -p "$STORE"
mount -t tmpfs -o size=4m,mode=0700 "xf-full-$XF_TAG" "$STORE"
DB=$STORE/alerts.db
JSONL=$XF_TMP/alerts.jsonl
MEMMAX=20
sensor() { xf_cli status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["sensor"][sys.argv[1]])' "$1"; }
sq() { sqlite3 -readonly -cmd ".timeout 5000" "$DB" "$1"; }

xf_unbound_up
CONF=$XF_TMP/exfilter.yaml
cat >"$CONF" <<YAML
mode: enforce
interfaces: [$XF_IF_RC]
pin_dir: $PIN
flows:
  tick_ms: 200
store:
  path: $DB
  memory_max: $MEMMAX
sinks:
  jsonl:
    enabled: true
    path: $JSONL
YAML
chmod 600 "$CONF"
xf_in_r timeout -k 3 "$XF_LIFETIME" "$EXFILTER" run --config "$CONF" >"$XF_TMP/exfilter.log" 2>&1 &
echo $! >"$XF_TMP/exfilter.pid"
xf_wait_for 15 grep -q "running in" "$XF_TMP/exfilter.log" ||
	xf_die "exfilter did not start: $(cat "$XF_TMP/exfilter.log")"

# One encoded query (a 50-character base32 label, over kernel.enc_label_drop)
# for each of N new registered domains: each raises one alert.
encoded_queries() { # PREFIX N
	python3 - "$1" "$2" <<'PY' >"$XF_TMP/q-$1"
import random, sys
r = random.Random(sys.argv[1])
for i in range(int(sys.argv[2])):
    label = "".join(r.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(50))
    print(f"{label}.{sys.argv[1]}{i}.test A")
PY
	xf_in "$XF_NS_C" timeout 30 dnsperf -s "$XF_IP_R" -d "$XF_TMP/q-$1" -n 1 -t 1 -Q 200 \
		>"$XF_TMP/dnsperf-$1.log" 2>&1 || true
}
stored_ge() { [[ $(sensor stored) -ge $1 ]]; }
lost_ge() { [[ $(sensor store_lost) -ge $1 ]]; }
held_eq() { [[ $(sensor store_held) -eq $1 ]]; }
rows_like() { sq "select count(*) from alerts where domain like '$1%'"; }
jsonl_domains() { # distinct registered domains with PREFIX in the jsonl sink
	python3 - "$JSONL" "$1" <<'PY'
import json, sys
seen = set()
for line in open(sys.argv[1]):
    d = json.loads(line)
    rd = d.get("dns", {}).get("question", {}).get("registered_domain", "")
    if rd.startswith(sys.argv[2]):
        seen.add(rd)
print(len(seen))
PY
}
answered() { xf_dig +short "$1" A | grep -q '^198\.18\.'; }
not_answered() { ! xf_dig +time=1 +tries=1 +short "$1" A | grep -q '^198\.18\.'; }

mapfile -t BENIGN < <(awk '$2 == "A" && $1 !~ /^www\./ { print $1 }' "$XF_BENIGN_QUERIES" | head -n 2)
BLOCKED=${BENIGN[0]}
FREE=${BENIGN[1]}

# --- before: alerts land in SQLite -------------------------------------------
encoded_queries pre 5
xf_check "5 alerts stored before the disk fills" xf_wait_for 15 stored_ge 5 || true
xf_cli block "$BLOCKED" >/dev/null
xf_check "block $BLOCKED: not answered" not_answered "$BLOCKED" || true
xf_check "$FREE answered" answered "$FREE" || true

# --- the disk fills ----------------------------------------------------------
dd if=/dev/zero of="$STORE/filler" bs=64k 2>/dev/null || true
echo "  tmpfs: $(df -h --output=avail "$STORE" | tail -n 1 | tr -d ' ') left"
raised() { echo $(($(sensor alerts) + $(sensor alert_updates))); }
raised0=$(raised)
encoded_queries full 60
xf_check "full: alerts beyond store.memory_max counted as lost" xf_wait_for 20 lost_ge 40 || true
xf_check "full: $MEMMAX alerts held in memory" xf_wait_for 10 held_eq "$MEMMAX" || true
lost=$(sensor store_lost)
xf_check "full: lost = raised - held, each alert counted once" \
	test "$lost" -eq $(($(raised) - raised0 - MEMMAX)) || true
echo "  status: stored $(sensor stored), held $(sensor store_held), lost $lost, errors $(sensor store_errors)"
echo "  store_error: $(sensor store_error)"
xf_check "full: status names the cause" bash -c "[[ '$(sensor store_error)' == *full* ]]" || true
xf_check "full: nothing of the new alerts in SQLite" test "$(rows_like full)" -eq 0 || true
xf_check "full: the log says LOST" grep -q "LOST .* alert" "$XF_TMP/exfilter.log" || true
xf_check "full: jsonl carries an alerts-lost event" grep -q '"action":"alerts-lost"' "$JSONL" || true
jsonl_full_ge() { [[ $(jsonl_domains full) -ge $1 ]]; }
xf_check "full: jsonl still gets the $MEMMAX held alerts (from memory)" \
	xf_wait_for 5 jsonl_full_ge "$MEMMAX" || true
xf_check "full: the sensor is running" kill -0 "$(cat "$XF_TMP/exfilter.pid")" || true
xf_check "full: $BLOCKED still blocked" not_answered "$BLOCKED" || true
xf_check "full: $FREE still answered" answered "$FREE" || true
encoded_queries late 5
xf_check "full: events still consumed, the 5 new alerts lost" \
	xf_wait_for 10 lost_ge $((lost + 5)) || true

# --- space again ---------------------------------------------------------------
rm -f "$STORE/filler"
xf_check "space again: the held alerts are stored" xf_wait_for 10 held_eq 0 || true
xf_check "space again: $MEMMAX of the full-phase alerts in SQLite" \
	test "$(rows_like full)" -eq "$MEMMAX" || true
xf_check "space again: the log says so" grep -q "commits succeed again" "$XF_TMP/exfilter.log" || true
encoded_queries post 3
((XF_FAILED)) && { xf_cli status --json; sq "select count(*), min(domain), max(domain) from alerts"; wc -l "$JSONL"; }
post_stored() { [[ $(rows_like post) -eq 3 ]]; }
xf_check "space again: new alerts stored" xf_wait_for 10 post_stored || true

# TERM to exfilter itself (the child of our `timeout`), whose status timeout passes on
kill -TERM "$(pgrep -P "$(cat "$XF_TMP/exfilter.pid")" | head -n 1)"
rc=0
wait "$(cat "$XF_TMP/exfilter.pid")" || rc=$?
rm -f "$XF_TMP/exfilter.pid"
xf_check "the sensor exits cleanly (status 0, was $rc)" test "$rc" -eq 0 || true
if ((XF_FAILED)); then
	tail -n 40 "$XF_TMP/exfilter.log" | sed 's/^/  log: /'
else
	grep "store" "$XF_TMP/exfilter.log" | head -n 8 | sed 's/^/  log: /'
fi
xf_summary
