#!/usr/bin/env bash
# Bad input to the exfilter binary: malformed config, unknown keys, bad
# values, an unknown interface, a missing privilege, a corrupt SQLite store.
# Each must give a clear error naming the key or the file, a non-zero exit,
# and leave nothing attached. Runs in a private netns; needs root (the
# privilege case drops to nobody).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/lib.sh"

xf_require_root
xf_require_tools nsenter setpriv
xf_bound_runtime "${XF_TEST_TIMEOUT:-120}" "$@"

xf_built EXFILTER=exfilter
NS=xfe-$$-$RANDOM
TMP=$(mktemp -d /tmp/xf-cli.XXXXXX)
PIN=/sys/fs/bpf/xf-cli-$$
cleanup() {
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$TMP" "$PIN"
}
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up

run_ns() { nsenter --net="/run/netns/$NS" "$EXFILTER" --pin-dir "$PIN" "$@"; }
conf() { # NAME CONTENT [MODE]
	printf '%s\n' "$2" >"$TMP/$1.yaml"
	chmod "${3:-600}" "$TMP/$1.yaml"
	echo "$TMP/$1.yaml"
}

c=$(conf badval $'detect:\n  threshold: high')
xf_check "config: a bad value names file, line and key" \
	xf_expect 2 "badval.yaml:2: detect.threshold" run_ns run --config "$c" --iface lo || true
c=$(conf unknown $'detect:\n  treshold: 70')
xf_check "config: an unknown key is named" xf_expect 2 "detect.treshold: unknown key" \
	run_ns run --config "$c" --iface lo || true
c=$(conf syntax $'mode: [monitor\n')
xf_check "config: a YAML syntax error gives the line" xf_expect 2 "syntax.yaml:[0-9]+" \
	run_ns run --config "$c" --iface lo || true
c=$(conf loose $'mode: monitor' 666)
xf_check "config: a world-writable file is refused" xf_expect 2 "writable by others" \
	run_ns run --config "$c" --iface lo || true
xf_check "config: a missing file is an error" xf_expect 2 "No such file" \
	run_ns run --config "$TMP/none.yaml" --iface lo || true
xf_check "cli: --set with an out-of-range value names the key" \
	xf_expect 2 "detect.threshold" run_ns run --iface lo --set detect.threshold=200 || true
xf_check "cli: a bad mode names the key" xf_expect 2 "mode" run_ns run --iface lo --mode sideways || true
xf_check "cli: an unknown interface" xf_expect 2 "no such interface 'nosuch0'" \
	run_ns run --iface nosuch0 || true
xf_check "cli: no interface at all" xf_expect 2 "interfaces" run_ns run || true
xf_check "privilege: run as nobody is refused" xf_expect 1 "needs root" \
	setpriv --reuid=65534 --regid=65534 --clear-groups "$EXFILTER" run --iface lo || true

head -c 8192 /dev/urandom >"$TMP/corrupt.db"
xf_check "store: a corrupt SQLite file names the path" xf_expect 1 "corrupt.db" \
	run_ns run --iface lo --db "$TMP/corrupt.db" || true
xf_check "store: nothing left attached or pinned after the failure" \
	bash -c "! ip netns exec $NS tc qdisc show dev lo | grep -q clsact && [ ! -e $PIN/xf_config ]" || true
xf_check "alerts: a corrupt store is an error" xf_expect 1 "corrupt.db" \
	"$EXFILTER" alerts --db "$TMP/corrupt.db" || true
xf_check "alerts: a bad --since" xf_expect 2 "--since" "$EXFILTER" alerts --since yesterday || true

xf_summary
