#!/usr/bin/env bash
# Failsafe enforcement (docs/failsafe.md): exfilter in enforce mode on the
# resolver's client-facing veth, a real unbound, real dig and dnsperf traffic,
# a domain blocked (refuse, so a blocked query is answered REFUSED at once).
#  - closed: `kill -9` the sensor: the kernel keeps refusing the blocked
#    domain, benign names are answered; a restart re-adopts the pinned maps,
#    replaces the TC programs in place (one filter per hook, new program ids)
#    and keeps the verdict;
#  - open: `kill -9` the sensor: once failsafe.heartbeat_ms has passed the
#    blocked domain resolves again, counted as would-drops and failsafe_open;
#    a restart enforces again with the verdict it adopted;
#  - restart under load: SIGTERM (keep_pinned) then start, and kill -9 then
#    start, while dnsperf runs, the blocked domain is queried in a loop and
#    the TC filters are listed in a loop: never zero or two filters on a hook,
#    never an answer for the blocked domain, no benign query lost.
# Needs root (BPF, netns); fails, never skips, without it.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/lib.sh"

xf_require_root
xf_require_tools nsenter tc pgrep dnsperf stdbuf
xf_bound_runtime "${XF_TEST_TIMEOUT:-300}" "$@"
xf_trap_setup
xf_gc_stale

xf_built EXFILTER=exfilter

xf_topo_up
PIN_C=/sys/fs/bpf/xf-fs-closed-$XF_TAG
PIN_O=/sys/fs/bpf/xf-fs-open-$XF_TAG
# the netns teardown removes the qdisc; the pins live in the root bpffs.
# Pins first: xf_teardown returns the failing exit code, which would end the
# trap under errexit before anything after it.
trap 'rc=$?; set +e; rm -rf "$PIN_C" "$PIN_O"; (exit $rc); xf_teardown' EXIT

xf_unbound_up

PIN=$PIN_C
js() { xf_cli status --json | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# start_sensor LOGNAME [run options...]: enforce mode on XF_IF_RC, pinned
# under $PIN; sets SENSOR (the exfilter pid) once it runs.
NSTART=0
start_sensor() {
	local log=$XF_TMP/$1.log to i
	shift
	NSTART=$((NSTART + 1))
	nsenter --net="/run/netns/$XF_NS_R" timeout -k 3 "$XF_LIFETIME" \
		"$EXFILTER" --pin-dir "$PIN" run --iface "$XF_IF_RC" --mode enforce \
		--db "$XF_TMP/alerts-$NSTART.db" --jsonl /dev/null "$@" >"$log" 2>&1 &
	to=$!
	disown "$to" # no "Killed" notices: kill -9 is the point
	echo "$to" >"$XF_TMP/sensor-$NSTART.pid" # stopped by teardown
	xf_wait_for 15 grep -q "running in" "$log" || {
		echo "  exfilter did not start: $(tail -n 5 "$log")" >&2
		return 1
	}
	SENSOR=""
	for ((i = 0; i < 20; i++)); do
		SENSOR=$(pgrep -P "$to" -x exfilter || true)
		[[ -z $SENSOR ]] || break
		sleep 0.1
	done
	[[ -n $SENSOR ]]
}
# kill_sensor SIGNAL: and wait until it is gone
kill_sensor() {
	kill "-$1" "$SENSOR"
	xf_wait_for 10 eval "! kill -0 $SENSOR"
}

# filters on one hook of XF_IF_RC: "count prog-id...". tc prints a line
# per priority and chain, then one per filter, which has the handle.
# (libbpf's "Exclusivity flag on" in the logs is the clsact qdisc that
# exists already: the loader takes it as is.)
filters() {
	tc -n "$XF_NS_R" filter show dev "$XF_IF_RC" "$1" |
		awk '/ bpf .* handle / { n++; for (i = 1; i < NF; i++) if ($i == "id") ids = ids " " $(i + 1) }
		     END { print n + 0 ids }'
}
one_filter_each() {
	local in eg
	in=$(filters ingress)
	eg=$(filters egress)
	echo "  ingress: $in; egress: $eg"
	[[ ${in%% *} == 1 && ${eg%% *} == 1 ]]
}

victim=$(head -n 1 "$XF_BENIGN_QUERIES" | cut -d' ' -f1)
status_of() {
	xf_in "$XF_NS_C" dig +tries=1 +time=2 @"$XF_IP_R" "$victim" A |
		grep -o "status: [A-Z]*" | cut -d" " -f2 || true
}
refused() { local s; s=$(status_of); echo "  $victim: ${s:-no answer}"; [[ $s == REFUSED ]]; }
noerror() { local s; s=$(status_of); echo "  $victim: ${s:-no answer}"; [[ $s == NOERROR ]]; }
benign_all() {
	local n=$1 got
	got=$(xf_dig_benign "$n") || {
		echo "  only $got/$n benign queries answered" >&2
		return 1
	}
	echo "  $got/$n answered"
}
gt() { local v; v=$(js "d['$1']"); echo "  $1=$v (was $2)"; [[ $v -gt $2 ]]; }
eq() { local v; v=$(js "$1"); echo "  $1 = $v"; [[ $v == "$2" ]]; }

# --- fail closed: kill -9 while enforcing -------------------------------------
xf_check "closed: sensor runs in enforce mode, keep_pinned" \
	start_sensor closed-1 --keep --set failsafe.on_crash=closed || xf_die "cannot go on"
xf_cli block "$victim" --action refuse >/dev/null
xf_check "closed: $victim blocked (REFUSED)" refused || true
xf_check "closed: status says failsafe closed" eq "d['failsafe']['on_crash']" closed || true
xf_check "closed: heartbeat is fresh" \
	eval "[[ \$(js \"d['failsafe']['heartbeat_age_ms']\") -lt 1000 ]]" || true
before=$(filters ingress)
refused0=$(js "d['refused']")
kill_sensor KILL
sleep 1.5
xf_check "closed, killed: $victim still blocked" refused || true
xf_check "closed, killed: kernel refused it without a sensor" gt refused "$refused0" || true
xf_check "closed, killed: 40 benign queries answered" benign_all 40 || true
xf_check "closed, killed: heartbeat is stale" \
	eval "[[ \$(js \"d['failsafe']['heartbeat_age_ms']\") -ge 1000 ]]" || true
xf_check "closed, killed: failsafe never opened" eq "d['failsafe_open']" 0 || true
xf_check "closed, killed: programs stay attached" one_filter_each || true

xf_check "closed: restart re-adopts the pinned maps" start_sensor closed-2 || true
xf_check "closed, restarted: one filter per hook (no double attach)" one_filter_each || true
after=$(filters ingress)
xf_check "closed, restarted: the program was replaced in place" \
	eval "[[ '${before#* }' != '${after#* }' ]]" || true
xf_check "closed, restarted: the verdict from before the crash holds" refused || true
xf_check "closed, restarted: heartbeat is fresh" \
	eval "[[ \$(js \"d['failsafe']['heartbeat_age_ms']\") -lt 1000 ]]" || true

# --- restart under load --------------------------------------------------------
# the sensor above runs without --keep: stop it with SIGTERM and keep_pinned
# would not apply, so start one with --keep first (a restart, once more)
# every filter change, as the kernel reports it: a restart must replace the
# filter in place ("replaced"), never delete it and add it again
xf_bg "$XF_NS_R" tcmonitor stdbuf -oL tc monitor
sleep 0.3
kill_sensor KILL
xf_check "load: sensor with keep_pinned" start_sensor load-1 --keep || true
xf_bg "$XF_NS_C" victimloop bash -c \
	"while :; do dig +tries=1 +time=1 @$XF_IP_R $victim A | grep -o 'status: [A-Z]*' || echo 'status: NONE'; done"
(
	while :; do
		echo "$(filters ingress | cut -d' ' -f1) $(filters egress | cut -d' ' -f1)"
	done
) >"$XF_TMP/tcsample.out" 2>/dev/null &
echo $! >"$XF_TMP/tcsample.pid"
xf_dnsperf 20 300 >"$XF_TMP/dnsperf.result" 2>&1 &
perf=$!
sleep 2
kill_sensor TERM
xf_check "load: SIGTERM with keep_pinned: programs stay attached" one_filter_each || true
xf_check "load: restart after SIGTERM" start_sensor load-2 --keep || true
sleep 1
kill_sensor KILL
xf_check "load: restart after kill -9" start_sensor load-3 --keep || true
sleep 1
wait "$perf" && perf_ok=1 || perf_ok=0
xf_stop victimloop
xf_stop tcsample
xf_stop tcmonitor
mon() { grep -c "^$1 filter dev $XF_IF_RC " "$XF_TMP/tcmonitor.log" || true; }
echo "  tc monitor: $(mon replaced) replaced, $(mon added) added, $(mon deleted) deleted"
xf_check "load: 3 restarts replaced both filters in place (6 events)" [ "$(mon replaced)" -ge 6 ] || true
xf_check "load: no filter was ever deleted or added" [ "$(mon deleted)$(mon added)" = 00 ] || true
read -r completed sent qps <"$XF_TMP/dnsperf.result" || true
echo "  dnsperf: $completed of $sent completed, $qps qps"
grep -c REFUSED "$XF_TMP/victimloop.log" >"$XF_TMP/n.refused" || true
xf_check "load: the blocked domain was queried (>= 20 REFUSED)" \
	eval "[[ \$(cat $XF_TMP/n.refused) -ge 20 ]]" || true
xf_check "load: the blocked domain was never answered" \
	eval "! grep -q NOERROR $XF_TMP/victimloop.log" || true
xf_check "load: tc never listed 0 or 2 filters on a hook ($(wc -l <"$XF_TMP/tcsample.out") samples)" \
	eval "[[ \$(wc -l <$XF_TMP/tcsample.out) -ge 20 ]] && ! grep -qv '^1 1$' $XF_TMP/tcsample.out" || true
xf_check "load: no benign query lost across the restarts" [ "$perf_ok" = 1 ] || true
xf_check "load: one filter per hook at the end" one_filter_each || true

# stop it cleanly, without keep_pinned: detached and unpinned
kill_sensor KILL
xf_check "cleanup: a last sensor stops without keep_pinned" start_sensor last || true
kill_sensor TERM
xf_check "cleanup: its filters are gone" eval "[[ \$(filters ingress) == 0 && \$(filters egress) == 0 ]]" || true

# --- fail open: kill -9, heartbeat goes stale ----------------------------------
PIN=$PIN_O
xf_check "open: sensor runs in enforce mode, heartbeat_ms 1000" \
	start_sensor open-1 --keep --set failsafe.on_crash=open --set failsafe.heartbeat_ms=1000 ||
	xf_die "cannot go on"
xf_cli block "$victim" --action refuse >/dev/null
xf_check "open: $victim blocked while the sensor runs" refused || true
xf_check "open: status says failsafe open after 1000 ms" \
	eq "(d['failsafe']['on_crash'], d['failsafe']['heartbeat_ms'], d['failsafe']['open_now'])" \
	"('open', 1000, False)" || true
would0=$(js "d['would_drops']")
kill_sensor KILL
sleep 2
xf_check "open, killed: $victim resolves again" noerror || true
xf_check "open, killed: status says failing open" eq "d['failsafe']['open_now']" True || true
xf_check "open, killed: counted as would-drops" gt would_drops "$would0" || true
xf_check "open, killed: counted as failsafe_open" gt failsafe_open 0 || true
xf_check "open, killed: 40 benign queries answered" benign_all 40 || true
xf_check "open, killed: programs stay attached" one_filter_each || true

xf_check "open: restart (same config) re-adopts" \
	start_sensor open-2 --set failsafe.on_crash=open --set failsafe.heartbeat_ms=1000 || true
xf_check "open, restarted: one filter per hook" one_filter_each || true
xf_check "open, restarted: the adopted verdict is enforced again" refused || true
xf_check "open, restarted: not failing open" eq "d['failsafe']['open_now']" False || true
kill_sensor TERM

xf_summary
