#!/usr/bin/env bash
# The SQLite store hangs while the sensor runs in enforce mode (issue 6):
#  - the store sits on a small ext4 image the test loop-mounts; once alerts
#    are flowing, `fsfreeze -f` freezes it: every write to it blocks until
#    it is thawed, as on a hung disk;
#  - the sensor's loop does not wait for it (commits run on the store's
#    writer thread): a new exfiltration burst still gets its verdict and is
#    refused, benign queries are answered, the state file stays fresh;
#  - the frozen commit is reported (store_error "no answer"), its alerts are
#    held in memory and still reach the jsonl sink;
#  - once thawed, every held alert is stored;
#  - stopped while the store hangs again, the sensor waits 5 s for it, then
#    exports what it holds, says LOST, detaches TC and exits.
# Needs root (BPF, netns, mount, fsfreeze); fails, never skips, without it.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/lib.sh"

xf_require_root
xf_require_tools nsenter sqlite3 python3 dnsperf dig fsfreeze mkfs.ext4
xf_bound_runtime "${XF_TEST_TIMEOUT:-240}" "$@"
xf_trap_setup
xf_gc_stale

xf_built EXFILTER=exfilter

xf_topo_up
PIN=/sys/fs/bpf/xf-hang-$XF_TAG
STORE=$XF_TMP/store
cleanup() {
	# thaw first: nothing that writes there can finish while frozen
	mountpoint -q "$STORE" 2>/dev/null && fsfreeze -u "$STORE" 2>/dev/null || true
	[[ -f $XF_TMP/exfilter.pid ]] && kill -9 "$(cat "$XF_TMP/exfilter.pid")" 2>/dev/null || true
	sleep 0.2
	mountpoint -q "$STORE" 2>/dev/null && umount -l "$STORE"
	xf_teardown
	rm -rf "$PIN"
}
trap cleanup EXIT

mkdir -p "$STORE"
truncate -s 32M "$XF_TMP/disk.img"
mkfs.ext4 -q -F "$XF_TMP/disk.img"
mount -o loop "$XF_TMP/disk.img" "$STORE"
chmod 700 "$STORE"
DB=$STORE/alerts.db
JSONL=$XF_TMP/alerts.jsonl
sensor() { xf_cli status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["sensor"].get(sys.argv[1], ""))' "$1"; }
sq() { sqlite3 -readonly -cmd ".timeout 5000" "$DB" "$1"; }

xf_unbound_up
CONF=$XF_TMP/exfilter.yaml
cat >"$CONF" <<YAML
mode: enforce
interfaces: [$XF_IF_RC]
pin_dir: $PIN
kernel:
  enc_label_drop: 0 # no kernel hard limit: the verdicts must come from the sensor
  enc_limit: 0
flows:
  tick_ms: 200
detect:
  verdict_action: refuse
store:
  path: $DB
  memory_max: 1000
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

status_of() { xf_dig +time=1 +tries=1 "$1" A | grep -o "status: [A-Z]*" | cut -d" " -f2; }
burst() { # DOMAIN: 60 TXT queries of fresh base32 labels
	python3 - "$XF_TMP/q-$1" "$1" <<'PY'
import base64, os, sys
with open(sys.argv[1], "w") as f:
    for i in range(60):
        lab = base64.b32encode(os.urandom(30)).decode().rstrip("=").lower()
        f.write(f"{lab}.{i}.{sys.argv[2]} TXT\n")
PY
	xf_in "$XF_NS_C" timeout 30 dnsperf -s "$XF_IP_R" -d "$XF_TMP/q-$1" -n 1 -Q 300 -t 1 \
		>"$XF_TMP/dnsperf-$1.log" 2>&1 || true
}
refused() { [[ $(status_of "after.$1") == REFUSED ]]; }
stored() { [[ $(sq "select count(*) from alerts where domain='$1'") -ge 1 ]]; }
in_jsonl() { grep -q "\"registered_domain\":\"$1\"" "$JSONL"; }
answered() { xf_dig +short "$1" A | grep -q '^198\.18\.'; }
mapfile -t BENIGN < <(awk '$2 == "A" && $1 !~ /^www\./ { print $1 }' "$XF_BENIGN_QUERIES" | head -n 1)
FREE=${BENIGN[0]}

# --- before: alert stored, verdict -------------------------------------------
burst exfil01.test
xf_check "before: alert for exfil01.test in SQLite" xf_wait_for 15 stored exfil01.test || true
xf_check "before: the verdict refuses exfil01.test" xf_wait_for 10 refused exfil01.test || true

# --- the disk hangs ----------------------------------------------------------
fsfreeze -f "$STORE"
FROZEN=$(date +%s)
events0=$(sensor events)
burst exfil02.test
xf_check "hung: a new burst is still refused (verdict from the sensor)" \
	xf_wait_for 10 refused exfil02.test || true
xf_check "hung: $FREE answered" answered "$FREE" || true
xf_check "hung: the alert reached the jsonl sink (from memory)" \
	xf_wait_for 10 in_jsonl exfil02.test || true
held_ge1() { [[ $(sensor store_held) -ge 1 ]]; }
xf_check "hung: status shows alerts held in memory" xf_wait_for 10 held_ge1 || true
echo "  store_error: $(sensor store_error)"
xf_check "hung: status names the cause" bash -c "[[ '$(sensor store_error)' == *'no answer'* ]]" || true
burst exfil03.test
events_moved() { [[ $(sensor events) -gt $events0 ]]; }
xf_check "hung: the state file is fresh (events counted)" xf_wait_for 5 events_moved || true
xf_check "hung: a third burst is refused too" xf_wait_for 10 refused exfil03.test || true
xf_check "hung: the sensor is running" kill -0 "$(cat "$XF_TMP/exfilter.pid")" || true
echo "  frozen for $(($(date +%s) - FROZEN)) s"

# --- thawed ------------------------------------------------------------------
fsfreeze -u "$STORE"
held_0() { [[ $(sensor store_held) -eq 0 ]]; }
xf_check "thawed: nothing held any more" xf_wait_for 15 held_0 || true
xf_check "thawed: exfil02.test stored" xf_wait_for 5 stored exfil02.test || true
xf_check "thawed: exfil03.test stored" xf_wait_for 5 stored exfil03.test || true
xf_check "thawed: the log says so" grep -q "commits succeed again" "$XF_TMP/exfilter.log" || true
xf_check "thawed: nothing lost" test "$(sensor store_lost)" -eq 0 || true

# --- it hangs again, and the sensor is stopped ------------------------------
# The writer cannot be called off while the disk hangs: the sensor waits 5 s
# for it, exports what it holds, says it lost it, detaches and leaves. The
# process is reaped once the frozen write returns (after the thaw). TERM goes
# to exfilter itself: `timeout -k 3` would KILL it after 3 s.
fsfreeze -f "$STORE"
burst exfil04.test
xf_check "stop while hung: exfil04.test refused" xf_wait_for 10 refused exfil04.test || true
xf_check "stop while hung: alerts held" xf_wait_for 10 held_ge1 || true
sensor_pid() { # the exfilter process in R's namespace (R runs nothing else of that name)
	local p
	for p in $(ip netns pids "$XF_NS_R"); do
		[[ $(cat "/proc/$p/comm" 2>/dev/null) == exfilter ]] && { echo "$p"; return 0; }
	done
	return 1
}
kill -TERM "$(sensor_pid)"
STOPPED=$(date +%s)
said_lost() { grep -q "LOST .* held in memory at exit" "$XF_TMP/exfilter.log"; }
xf_check "stop while hung: LOST at exit, within 10 s" xf_wait_for 10 said_lost || true
left() { grep -q "left the writer stuck" "$XF_TMP/exfilter.log"; }
xf_check "stop while hung: the stuck writer is left behind" xf_wait_for 5 left || true
echo "  exit path took $(($(date +%s) - STOPPED)) s"
xf_check "stop while hung: exfil04.test exported to jsonl (from memory)" in_jsonl exfil04.test || true
no_filters() { [[ -z $(xf_in_r tc filter show dev "$XF_IF_RC" ingress 2>/dev/null) ]]; }
xf_check "stop while hung: TC detached" xf_wait_for 5 no_filters || true
fsfreeze -u "$STORE"
rc=0
wait "$(cat "$XF_TMP/exfilter.pid")" || rc=$?
rm -f "$XF_TMP/exfilter.pid"
xf_check "the sensor exits (status 0, was $rc)" test "$rc" -eq 0 || true
if ((XF_FAILED)); then
	tail -n 40 "$XF_TMP/exfilter.log" | sed 's/^/  log: /'
else
	grep "store" "$XF_TMP/exfilter.log" | head -n 8 | sed 's/^/  log: /'
fi
xf_summary
