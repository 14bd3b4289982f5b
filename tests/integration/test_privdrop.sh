#!/usr/bin/env bash
# Least privilege, end to end, in netns + veth with a real unbound resolver:
#  - `exfilter run` with run_as: nobody (enforce mode) ends up as uid/gid
#    nobody with no supplementary group, no effective, inheritable, ambient or
#    bounding capability, only CAP_NET_ADMIN permitted (to detach TC at exit),
#    no_new_privs set and not dumpable (/proc/PID/status);
#  - after the drop it still works: scripted exfiltration through dnsperf
#    raises an alert in SQLite and a verdict that REFUSEs the domain's next
#    queries, while benign queries are answered;
#  - modes: store directory 0700, database 0600 (owned by nobody), pin
#    directory 0700, pinned maps 0600 root, nothing world-accessible;
#  - a clean stop still detaches TC and unpins;
#  - an existing database that others may write, or that another non-root
#    user owns, is refused (exit 1, message naming store.path).
# Needs root (BPF, netns); fails, never skips, without it.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/lib.sh"

xf_require_root
xf_require_tools nsenter sqlite3 dnsperf dig tc
xf_bound_runtime "${XF_TEST_TIMEOUT:-240}" "$@"
xf_trap_setup
xf_gc_stale

xf_built EXFILTER=exfilter
id nobody >/dev/null || xf_die "no user 'nobody' on this host"

xf_topo_up
PIN=/sys/fs/bpf/xf-priv-$XF_TAG
STATE_DIR=/run/exfilter/xf-priv-$XF_TAG
cleanup() {
	[[ -f $XF_TMP/exfilter.pid ]] && kill -9 "$(cat "$XF_TMP/exfilter.pid")" 2>/dev/null || true
	xf_teardown
	rm -rf "$PIN" "$STATE_DIR"
}
trap cleanup EXIT

# nobody must be able to reach its files under XF_TMP, as under /var/lib
chmod 711 "$XF_TMP"
STORE=$XF_TMP/store
DB=$STORE/alerts.db

xf_unbound_up

CONF=$XF_TMP/exfilter.yaml
cat >"$CONF" <<YAML
mode: enforce
run_as: nobody
interfaces: [$XF_IF_RC]
pin_dir: $PIN
kernel:
  enc_label_drop: 0 # no kernel hard limit: the verdict must come from the sensor
  enc_limit: 0
flows:
  tick_ms: 300
detect:
  verdict_action: refuse
store:
  path: $DB
sinks:
  jsonl:
    enabled: true
    path: $XF_TMP/alerts.jsonl
YAML
chmod 600 "$CONF"

xf_in_r timeout -k 3 "$XF_LIFETIME" "$EXFILTER" run --config "$CONF" >"$XF_TMP/exfilter.log" 2>&1 &
TPID=$!
started() { grep -q "running in" "$XF_TMP/exfilter.log"; }
xf_wait_for 15 started || xf_die "exfilter did not start: $(cat "$XF_TMP/exfilter.log")"
sensor_pid() { # the exfilter process in R's namespace (R runs nothing else of that name)
	local p
	for p in $(ip netns pids "$XF_NS_R"); do
		[[ $(cat "/proc/$p/comm" 2>/dev/null) == exfilter ]] && { echo "$p"; return 0; }
	done
	return 1
}
PID=$(sensor_pid) || xf_die "no exfilter process in $XF_NS_R"
echo "$PID" >"$XF_TMP/exfilter.pid"

# --- the process after the drop -------------------------------------------------
NOBODY_UID=$(id -u nobody)
NOBODY_GID=$(id -g nobody)
status_field() { awk -v k="$1:" '$1 == k { $1 = ""; sub(/^ /, ""); print }' "/proc/$PID/status"; }
ids_are() { # FIELD ID: real, effective, saved and filesystem ids all ID
	local v
	v=$(status_field "$1")
	echo "  $1: $v"
	[[ $v == "$2	$2	$2	$2" || $v == "$2 $2 $2 $2" ]]
}
cap_is() { # FIELD HEX
	local v
	v=$(status_field "$1")
	echo "  $1: $v"
	[[ $((16#$v)) -eq $(($2)) ]]
}
NET_ADMIN=$((1 << 12))
xf_check "drop: uids are nobody's" ids_are Uid "$NOBODY_UID" || true
xf_check "drop: gids are nobody's" ids_are Gid "$NOBODY_GID" || true
xf_check "drop: no supplementary groups" [ -z "$(status_field Groups)" ] || true
xf_check "drop: CapEff is 0" cap_is CapEff 0 || true
xf_check "drop: CapPrm is cap_net_admin only" cap_is CapPrm $NET_ADMIN || true
xf_check "drop: CapInh is 0" cap_is CapInh 0 || true
xf_check "drop: CapBnd is 0" cap_is CapBnd 0 || true
xf_check "drop: CapAmb is 0" cap_is CapAmb 0 || true
xf_check "drop: NoNewPrivs is 1" [ "$(status_field NoNewPrivs)" = 1 ] || true
# Threads start after the drop (the store's writer; Kafka's when enabled):
# each must hold what the process holds, none root's ids or capabilities.
threads_dropped() {
	local t n=0 f v
	for t in /proc/"$PID"/task/*; do
		n=$((n + 1))
		v=$(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "$t/status")
		[[ $v == "$NOBODY_UID $NOBODY_UID $NOBODY_UID $NOBODY_UID" ]] ||
			{ echo "  thread ${t##*/}: uids $v"; return 1; }
		for f in CapEff CapInh CapBnd CapAmb CapPrm; do
			v=$(awk -v k="$f:" '$1 == k { print $2 }' "$t/status")
			[[ $((16#$v)) -eq $([[ $f == CapPrm ]] && echo $NET_ADMIN || echo 0) ]] ||
				{ echo "  thread ${t##*/}: $f $v"; return 1; }
		done
	done
	echo "  $n thread(s), every one dropped"
	((n >= 2)) # the loop and the store's writer
}
xf_check "drop: every thread dropped (none kept root's ids or caps)" threads_dropped || true
xf_check "drop: the log says so" grep -q "privileges dropped: nobody" "$XF_TMP/exfilter.log" || true

# --- modes ------------------------------------------------------------------------
mode_owner() { stat -c '%a %U' "$1"; }
is() { # WHAT PATH "MODE OWNER"
	local got
	got=$(mode_owner "$2")
	echo "  $2: $got"
	[[ $got == "$3" ]]
}
xf_check "modes: store directory 0700 nobody" is store "$STORE" "700 nobody" || true
xf_check "modes: database 0600 nobody" is db "$DB" "600 nobody" || true
xf_check "modes: database -wal 0600 nobody" is wal "$DB-wal" "600 nobody" || true
xf_check "modes: pin directory 0700" is pin "$PIN" "700 nobody" || true
pins_private() {
	local f n=0
	for f in "$PIN"/*; do
		n=$((n + 1))
		[[ $(mode_owner "$f") == "600 root" ]] || { echo "  $f: $(mode_owner "$f")"; return 1; }
	done
	echo "  $n pins, all 600 root"
	((n > 5))
}
xf_check "modes: pinned maps 0600 root" pins_private || true
xf_check "modes: JSON lines file 0600" is jsonl "$XF_TMP/alerts.jsonl" "600 root" || true

# --- it still works: alert, SQLite, verdict ---------------------------------------
EXFIL=exfil01.test
status_of() { xf_dig "$1" A | grep -o "status: [A-Z]*" | cut -d" " -f2; }
before=$(status_of "probe.$EXFIL" || true)
xf_check "work: $EXFIL not refused before the burst (got ${before:-timeout})" \
	[ "$before" != REFUSED ] || true
python3 - "$XF_TMP/exfil.q" "$EXFIL" <<'PY'
import base64, os, sys
with open(sys.argv[1], "w") as f:
    for i in range(60):
        lab = base64.b32encode(os.urandom(30)).decode().rstrip("=").lower()
        f.write(f"{lab}.{i}.{sys.argv[2]} TXT\n")
PY
xf_in "$XF_NS_C" timeout 30 dnsperf -s "$XF_IP_R" -d "$XF_TMP/exfil.q" -n 1 -Q 300 -t 1 \
	>"$XF_TMP/dnsperf.log" 2>&1 || true
has_alert() { [[ $(xf_sq "select count(*) from alerts where domain='$EXFIL'") -ge 1 ]]; }
xf_check "work: alert for $EXFIL in SQLite (written as nobody)" xf_wait_for 20 has_alert || true
refused() { [[ $(status_of "after.$EXFIL") == REFUSED ]]; }
xf_check "work: the verdict refuses $EXFIL" xf_wait_for 10 refused || true
verdicts_ge1() {
	xf_cli status --json | python3 -c '
import json, sys
s = json.load(sys.stdin)["sensor"]
print("  sensor:", json.dumps(s)[:200])
sys.exit(0 if s and s["verdicts"] >= 1 else 1)'
}
xf_check "work: the state file (nobody's) counts the verdict" xf_wait_for 5 verdicts_ge1 || true
xf_check "work: state file 0600 nobody" is state "$STATE_DIR/state.json" "600 nobody" || true
xf_check "work: the alert says blocked" \
	[ "$(xf_sq "select action from alerts where domain='$EXFIL'")" = blocked ] || true
benign() { xf_dig_benign 20 >/dev/null; }
xf_check "work: 20 benign queries answered" benign || true
xf_check "work: sensor still alive" kill -0 "$PID" || true

# --- clean stop: detach and unpin with what was kept ------------------------------
kill -TERM "$PID"
stopped() { ! kill -0 "$PID" 2>/dev/null; }
xf_wait_for 15 stopped || true
wait "$TPID" && rc=0 || rc=$?
xf_check "stop: exit status 0 (got $rc)" [ "$rc" = 0 ] || true
no_filters() { [[ -z $(xf_in_r tc filter show dev "$XF_IF_RC" ingress 2>/dev/null) ]]; }
xf_check "stop: TC detached (CAP_NET_ADMIN raised for it)" no_filters || true
no_pins() { [[ -z $(ls -A "$PIN" 2>/dev/null) ]]; }
xf_check "stop: maps unpinned" no_pins || true
rm -f "$XF_TMP/exfilter.pid"

# --- refused stores ----------------------------------------------------------------
refused_db() { # DB: run must exit 1 naming store.path
	local rc=0
	xf_in_r timeout 20 "$EXFILTER" run --iface "$XF_IF_RC" --pin-dir "$PIN" --db "$1" \
		--jsonl /dev/null >"$XF_TMP/refused.log" 2>&1 || rc=$?
	sed 's/^/  /' "$XF_TMP/refused.log"
	[[ $rc == 1 ]] && grep -q "store.path: $1 is" "$XF_TMP/refused.log"
}
BAD=$XF_TMP/bad.db
sqlite3 "$BAD" "create table t(x)"
chmod 666 "$BAD"
xf_check "refuse: a world-writable database" refused_db "$BAD" || true
chmod 600 "$BAD"
chown 12345 "$BAD"
xf_check "refuse: a database owned by another user" refused_db "$BAD" || true
ln -s "$DB" "$XF_TMP/link.db"
xf_check "refuse: a symbolic link as the database" refused_db "$XF_TMP/link.db" || true

xf_summary
