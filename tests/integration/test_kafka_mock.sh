#!/usr/bin/env bash
# The Kafka mock helper (.output/tests/kafka_mock) seen from outside, the way
# integration tests use it: start it, produce with kcat, take every broker
# down (SIGUSR1) and back up (SIGUSR2), and read everything back with kcat.
# Loopback only: no root, no network namespaces.
set -euo pipefail

# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
xf_bound_runtime 120 "$@"

ROOT=$(xf_repo_root)
MOCK=$ROOT/.output/tests/kafka_mock
TOPIC=xf-alerts
N=10

[[ -x $MOCK ]] || xf_die "$MOCK is missing: run make first"
command -v kcat >/dev/null || xf_die "kcat is missing: run make deps"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/xf-kafka-mock.XXXXXX")
MOCK_PID=""
cleanup() {
    local rc=$?
    set +e
    if [[ -n $MOCK_PID ]] && kill -0 "$MOCK_PID" 2>/dev/null; then
        kill -TERM "$MOCK_PID" 2>/dev/null
        for _ in $(seq 30); do
            kill -0 "$MOCK_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$MOCK_PID" 2>/dev/null
    fi
    if ((rc != 0)); then
        echo "[xf] ---- kafka_mock stderr ----" >&2
        cat "$TMP/mock.log" >&2
    fi
    rm -rf -- "$TMP"
    return "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# `timeout` bounds the mock even if this script is SIGKILLed; it does not
# relay SIGUSR1/2, so those go to the pid the mock writes itself.
timeout -k 3 300 "$MOCK" --brokers 3 --topic "$TOPIC" --partitions 3 \
    --pidfile "$TMP/mock.pid" >"$TMP/mock.out" 2>"$TMP/mock.log" &
MOCK_PID=$!

bootstrap_ready() { grep -q '^bootstrap=' "$TMP/mock.out" && [[ -s $TMP/mock.pid ]]; }
xf_wait_for 10 bootstrap_ready || xf_die "kafka_mock printed no bootstrap line"
BOOT=$(sed -n '1s/^bootstrap=//p' "$TMP/mock.out")
PID=$(cat "$TMP/mock.pid")
xf_log "mock cluster at $BOOT (pid $PID)"

expected() { seq 1 "$N" | sed 's/^/xf-msg-/'; }
produce() { expected | timeout 30 kcat -P -b "$BOOT" -t "$TOPIC"; }
# Every message exactly once, whatever the partition order.
read_back() {
    timeout 30 kcat -C -b "$BOOT" -t "$TOPIC" -e -o beginning -q -f '%s\n' |
        sort -V | diff -u <(expected) -
}
bootstrap_line() {
    [[ $(head -n 1 "$TMP/mock.out") =~ ^bootstrap=127\.0\.0\.1:[0-9]+(,127\.0\.0\.1:[0-9]+){2}$ ]]
}
pidfile_is_mock() { [[ $(ps -o comm= -p "$PID") == kafka_mock ]]; }
brokers_refuse() { ! timeout 10 kcat -L -b "$BOOT" -m 3 >/dev/null 2>&1; }
brokers_answer() { timeout 10 kcat -L -b "$BOOT" -t "$TOPIC" -m 3 >/dev/null 2>&1; }
mock_gone() {
    local i
    for ((i = 0; i < 50; i++)); do
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.1
    done
    ! kill -0 "$PID" 2>/dev/null && [[ ! -e $TMP/mock.pid ]]
}

xf_check "first stdout line is bootstrap= with 3 brokers" bootstrap_line || true
xf_check "pid file names the mock process" pidfile_is_mock || true
xf_check "kcat -P produces $N messages" produce || true
xf_check "kcat -C reads the $N messages back" read_back || true

kill -USR1 "$PID"
xf_check "SIGUSR1: every broker refuses connections" xf_wait_for 10 brokers_refuse || true
kill -USR2 "$PID"
xf_check "SIGUSR2: the brokers answer again" xf_wait_for 15 brokers_answer || true
xf_check "after the outage: the same $N messages, once each" read_back || true

kill -TERM "$PID"
xf_check "SIGTERM: exits and removes its pid file" mock_gone || true
xf_check "exit status 0" wait "$MOCK_PID" || true
MOCK_PID=""

xf_summary
