# shellcheck shell=bash
#
# exfilter integration-test harness: a three-namespace DNS lab.
#
#   C (client) --veth-- R (resolver: unbound) --veth-- A (authoritative/attacker:
#                                                       iodined, dns2tcpd)
#
# Source this file from a bash test script, then:
#
#   source "$(dirname "$0")/lib.sh"
#   xf_require_root
#   xf_trap_setup            # teardown on EXIT, even on failure/^C
#   xf_topo_up
#   xf_unbound_up
#   xf_iodined_up; xf_iodine_up
#   xf_tunnel_ping || ...
#
# Safety model:
#   * All traffic stays inside namespaces created here. C has no route to A
#     and R does not forward, so the only path from C to A is through unbound.
#     No namespace has a default route, so nothing can leak off the host.
#   * Every command that talks to one of our addresses runs via `xf_in NS ...`.
#     Never run dig/ping against XF_IP_* from the root namespace: those are
#     private addresses that would be routed to the host's real network.
#   * Namespace names carry a per-run tag (owner pid + random), so parallel or
#     crashed runs never collide; xf_gc_stale removes namespaces whose owner
#     process is gone.
#   * Every daemon is wrapped in `timeout` (XF_LIFETIME) so that even if the
#     test is SIGKILLed its daemons die on their own.
#
# Works with `set -euo pipefail` in the caller.

# Guard against double sourcing (the readonly-ish constants below).
if [[ -n ${XF_LIB_LOADED:-} ]]; then
    return 0
fi
XF_LIB_LOADED=1

# ---------------------------------------------------------------------------
# Tunables (override in the environment before sourcing / calling).
# ---------------------------------------------------------------------------
: "${XF_LIFETIME:=900}"          # hard upper bound (s) for any daemon we start
: "${XF_BENIGN_COUNT:=300}"      # registered benign domains served by unbound
: "${XF_IODINE_PASS:=xf-test-pass}"
: "${XF_D2T_KEY:=xf-test-key}"
: "${XF_TUN_TIMEOUT:=40}"        # s to wait for the iodine tunnel to come up
: "${XF_VERBOSE:=0}"             # 1: log every daemon start
: "${XF_UNBOUND_VERBOSITY:=1}"   # 2+ logs every resolution step to unbound.log
# iodine client options, pinned so runs are deterministic: -r never bypass the
# resolver (no raw UDP probe), NULL queries (raw downstream, no codec probe),
# lazy mode with a steady 1 s idle poll (the default 4 s also works through
# this unbound, but 1 s detects a cut path faster), fixed downstream fragment
# size instead of the fragment-size autoprobe. The upstream codec is still
# negotiated (always Base128 through unbound).
: "${XF_IODINE_OPTS:=-r -T NULL -L 1 -I 1 -m 1000}"

# Fixed lab addressing. Identical in every run: isolation comes from the
# namespaces, not from the addresses.
XF_IP_C=10.201.1.2              # client
XF_IP_R=10.201.1.1              # resolver address as seen by the client
XF_IP_RA=10.201.2.1             # resolver address on the A-facing link
XF_IP_A=10.201.2.2              # iodined (authoritative for t.xf.test)
XF_IP_A_D2T=10.201.2.3          # dns2tcpd (authoritative for d.xf.test)
XF_IP6_C=fd00:201:1::2
XF_IP6_R=fd00:201:1::1
XF_TUN_DOMAIN=t.xf.test         # iodine zone
XF_D2T_DOMAIN=d.xf.test         # dns2tcp zone
XF_TUN_NET=10.202.0.1/27        # iodined tunnel network (server side address)
XF_TUN_IP_SRV=10.202.0.1
XF_TUN_DEV=xfdns0               # tun device name in both C and A
XF_D2T_PORT=2222                # dns2tcpc local listener in C (loopback)
XF_ECHO_PORT=7777               # TCP echo service in A (loopback), dns2tcp target

# Interface names are fixed because each veth end is created directly inside
# its namespace (never in the root namespace), so names cannot collide.
XF_IF_CR=xf-cr                  # in C, towards R
XF_IF_RC=xf-rc                  # in R, towards C  <- exfilter's TC hook goes here
XF_IF_RA=xf-ra                  # in R, towards A
XF_IF_AR=xf-ar                  # in A, towards R

export XF_IP_C XF_IP_R XF_IP_RA XF_IP_A XF_IP_A_D2T XF_IP6_C XF_IP6_R \
    XF_TUN_DOMAIN XF_D2T_DOMAIN XF_TUN_IP_SRV XF_TUN_DEV \
    XF_IF_CR XF_IF_RC XF_IF_RA XF_IF_AR

# Set by xf_topo_up.
XF_TAG=""
XF_NS_C=""
XF_NS_R=""
XF_NS_A=""
XF_TMP=""
XF_TORN_DOWN=0

# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------
xf_log() { printf '[xf %s] %s\n' "$(date +%T)" "$*" >&2; }
xf_die() {
    printf '[xf] FATAL: %s\n' "$*" >&2
    exit 1
}
xf_now() { date +%s.%N; }
# Elapsed seconds since a xf_now timestamp, 1 decimal.
xf_since() { awk -v a="$1" -v b="$(xf_now)" 'BEGIN { printf "%.1f", b - a }'; }

# Run a command inside one of our namespaces.
xf_in() {
    local ns=$1
    shift
    ip netns exec "$ns" "$@"
}

xf_require_root() {
    if [[ ${EUID:-$(id -u)} -ne 0 ]]; then
        printf '[xf] FATAL: %s must run as root (needs network namespaces, veth, tun).\n' \
            "${0##*/}" >&2
        printf '[xf]        re-run with: sudo %s\n' "$0" >&2
        exit 1
    fi
}

# Fail loudly (never skip) when a required tool is missing.
xf_require_tools() {
    local missing=() t
    for t in ip ss timeout shuf mkfifo od dig unbound unbound-checkconf iodine iodined \
        ping perl "$@"; do
        command -v "$t" >/dev/null 2>&1 || missing+=("$t")
    done
    if ((${#missing[@]})); then
        printf '[xf] FATAL: missing tools: %s\n' "${missing[*]}" >&2
        printf '[xf]        install them with: make deps\n' >&2
        exit 1
    fi
    [[ -c /dev/net/tun ]] || xf_die "/dev/net/tun is missing (iodine needs TUN)"
}

xf_repo_root() {
    git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel 2>/dev/null ||
        (cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
}

# Run in the resolver namespace (nsenter keeps the host's /sys, so pinned
# maps stay visible, unlike ip netns exec).
xf_in_r() { nsenter --net="/run/netns/$XF_NS_R" "$@"; }

# The exfilter CLI against the test's sensor: $EXFILTER, pins under $PIN.
xf_cli() { xf_in_r "$EXFILTER" --pin-dir "$PIN" "$@"; }

# xf_jget EXPR: a Python expression over the JSON on stdin, as d.
xf_jget() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {"d": d}))' "$1"; }

# xf_sq SQL: one query against the test's store $DB (waits for its lock).
xf_sq() { sqlite3 -cmd ".timeout 5000" "$DB" "$1"; }

# xf_built VAR=PATH...: ROOT (the repository) and each VAR set to
# $ROOT/.output/PATH; dies naming what is not built.
xf_built() {
    local kv var path missing=()
    ROOT=$(xf_repo_root)
    for kv in "$@"; do
        var=${kv%%=*}
        path=$ROOT/.output/${kv#*=}
        printf -v "$var" '%s' "$path"
        [[ -x $path ]] || missing+=("$path")
    done
    ((${#missing[@]} == 0)) || xf_die "build first: make (${missing[*]} missing)"
}

xf_ns_exists() { [[ -n ${1:-} && -e /run/netns/$1 ]]; }

# Start a long-running command in a namespace, in the background, bounded by
# XF_LIFETIME. Output goes to $XF_TMP/<name>.log, the pid (of `timeout`, which
# forwards TERM to its child) to $XF_TMP/<name>.pid.
# stdin is a FIFO opened read-write: never readable, never EOF. With
# </dev/null, dns2tcpd -F spins at 100% CPU select()ing on its stdin.
xf_bg() {
    local ns=$1 name=$2
    shift 2
    [[ -p $XF_TMP/idle.fifo ]] || mkfifo "$XF_TMP/idle.fifo"
    ip netns exec "$ns" timeout -k 3 "$XF_LIFETIME" "$@" \
        >"$XF_TMP/$name.log" 2>&1 <>"$XF_TMP/idle.fifo" &
    echo $! >"$XF_TMP/$name.pid"
    ((XF_VERBOSE)) && xf_log "started $name (pid $!) in $ns: $*"
    return 0
}

# True while the background job <name> is alive.
xf_alive() {
    local pid
    pid=$(cat "$XF_TMP/$1.pid" 2>/dev/null) || return 1
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null
}

# Stop one background job (TERM, then KILL).
xf_stop() {
    local name=$1 pid i
    pid=$(cat "$XF_TMP/$name.pid" 2>/dev/null) || return 0
    [[ -n $pid ]] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 30; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -f "$XF_TMP/$name.pid"
}

# Start `exfilter run --config CONF` in the resolver netns (XF_NS_R), logging
# to $XF_TMP/exfilter.log, and wait until it has attached. The background
# job (exfilter.pid) is timeout's; SPID is set to the sensor's own pid.
xf_sensor_start() {
    local conf=$1
    nsenter --net="/run/netns/$XF_NS_R" timeout -k 3 "$XF_LIFETIME" "$EXFILTER" run \
        --config "$conf" >"$XF_TMP/exfilter.log" 2>&1 &
    echo $! >"$XF_TMP/exfilter.pid"
    xf_wait_for 15 grep -q "running in" "$XF_TMP/exfilter.log" ||
        xf_die "exfilter did not start: $(tail -n 20 "$XF_TMP/exfilter.log")"
    SPID=$(pgrep -f -- "^$EXFILTER run --config $conf" | head -n 1)
    [[ -n $SPID ]] || xf_die "cannot find the sensor's pid"
}

# Poll a command until it succeeds: xf_wait_for <seconds> <cmd...>
xf_wait_for() {
    local deadline=$1
    shift
    local end=$((SECONDS + deadline))
    while ((SECONDS < end)); do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.2
    done
    "$@" >/dev/null 2>&1
}

# ---------------------------------------------------------------------------
# Topology
# ---------------------------------------------------------------------------

# Remove namespaces (and their processes, and temp dirs) left by earlier runs
# that were SIGKILLed, so their EXIT trap could not run. Only touches names of
# our exact form whose owner pid (the test script's $$) is gone; live parallel
# runs are left alone.
xf_gc_stale() {
    local ns owner pid d
    while read -r ns _; do
        [[ $ns =~ ^xf[cra]-([0-9]+)-[0-9a-f]+$ ]] || continue
        owner=${BASH_REMATCH[1]}
        kill -0 "$owner" 2>/dev/null && continue
        xf_log "removing stale namespace $ns (owner pid $owner is gone)"
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            kill -KILL "$pid" 2>/dev/null || true
        done
        ip netns del "$ns" 2>/dev/null || true
    done < <(ip netns list 2>/dev/null)
    for d in "${TMPDIR:-/tmp}"/xf-*-*.*; do
        [[ -d $d && ${d##*/} =~ ^xf-([0-9]+)-[0-9a-f]+\.[A-Za-z0-9]+$ ]] || continue
        owner=${BASH_REMATCH[1]}
        kill -0 "$owner" 2>/dev/null && continue
        xf_log "removing stale temp dir $d"
        rm -rf -- "$d"
    done
}

xf_topo_up() {
    local t0
    t0=$(xf_now)
    XF_TAG="$$-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
    XF_NS_C="xfc-$XF_TAG"
    XF_NS_R="xfr-$XF_TAG"
    XF_NS_A="xfa-$XF_TAG"
    XF_TMP=$(mktemp -d "${TMPDIR:-/tmp}/xf-$XF_TAG.XXXXXX")
    XF_TORN_DOWN=0
    export XF_TAG XF_NS_C XF_NS_R XF_NS_A XF_TMP

    local ns
    for ns in "$XF_NS_C" "$XF_NS_R" "$XF_NS_A"; do
        ip netns add "$ns"
        ip -n "$ns" link set lo up
        # No IPv6 DAD on the lab links: tentative addresses cannot be bound
        # and delay the first IPv6 packets by ~1 s.
        xf_in "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
            net.ipv6.conf.default.accept_dad=0
    done

    # Create each veth end directly in its namespace: the root namespace never
    # sees the interfaces, so fixed names are safe across parallel runs.
    ip -n "$XF_NS_R" link add "$XF_IF_RC" type veth peer name "$XF_IF_CR" netns "$XF_NS_C"
    ip -n "$XF_NS_R" link add "$XF_IF_RA" type veth peer name "$XF_IF_AR" netns "$XF_NS_A"

    # nodad as well (belt and braces): unbound must bind these immediately.
    ip -n "$XF_NS_C" addr add "$XF_IP_C/24" dev "$XF_IF_CR"
    ip -n "$XF_NS_C" addr add "$XF_IP6_C/64" dev "$XF_IF_CR" nodad
    ip -n "$XF_NS_R" addr add "$XF_IP_R/24" dev "$XF_IF_RC"
    ip -n "$XF_NS_R" addr add "$XF_IP6_R/64" dev "$XF_IF_RC" nodad
    ip -n "$XF_NS_R" addr add "$XF_IP_RA/24" dev "$XF_IF_RA"
    ip -n "$XF_NS_A" addr add "$XF_IP_A/24" dev "$XF_IF_AR"
    ip -n "$XF_NS_A" addr add "$XF_IP_A_D2T/24" dev "$XF_IF_AR"

    ip -n "$XF_NS_C" link set "$XF_IF_CR" up
    ip -n "$XF_NS_R" link set "$XF_IF_RC" up
    ip -n "$XF_NS_R" link set "$XF_IF_RA" up
    ip -n "$XF_NS_A" link set "$XF_IF_AR" up

    # R is a DNS proxy, not a router: with forwarding off (and no route in C
    # towards 10.201.2.0/24) tunnels can only work through unbound, which is
    # exactly what exfilter on XF_IF_RC must see.
    xf_in "$XF_NS_R" sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0

    # Links are only usable once the kernel's link watcher has processed the
    # carrier change (up to ~1 s); until then R ignores IPv6 neighbour
    # solicitations and the first v6 query stalls for a retransmit. Wait for
    # every lab link to pass a packet so tests start from a ready network.
    local probe
    for probe in "$XF_NS_C $XF_IP_R" "$XF_NS_C $XF_IP6_R" \
        "$XF_NS_R $XF_IP_A" "$XF_NS_R $XF_IP_A_D2T"; do
        xf_wait_for 5 xf_in "${probe% *}" ping -n -c1 -W1 "${probe#* }" ||
            xf_die "lab link not ready: ping ${probe#* } from ${probe% *}"
    done

    xf_log "topology up in $(xf_since "$t0")s: C=$XF_NS_C R=$XF_NS_R A=$XF_NS_A tmp=$XF_TMP"
}

# ---------------------------------------------------------------------------
# Teardown
# ---------------------------------------------------------------------------

# Idempotent. Safe as an EXIT trap: never fails, keeps the script's exit code.
xf_teardown() {
    local rc=$? had_e=0
    [[ $- == *e* ]] && had_e=1
    set +e
    if ((XF_TORN_DOWN)); then
        ((had_e)) && set -e
        return "$rc"
    fi
    XF_TORN_DOWN=1
    # A second ^C must not abort the cleanup half-way.
    trap '' INT TERM HUP

    # On failure, show what the daemons said before their logs disappear.
    if ((rc != 0)) && [[ -n $XF_TMP && -d $XF_TMP ]]; then
        local f
        for f in "$XF_TMP"/*.log; do
            [[ -s $f ]] || continue
            printf '\n[xf] ---- last lines of %s ----\n' "${f##*/}" >&2
            tail -n 15 "$f" >&2
        done
    fi

    # Our tracked jobs first (graceful TERM lets tcpdump flush its pcap) ...
    if [[ -n $XF_TMP && -d $XF_TMP ]]; then
        local pf
        for pf in "$XF_TMP"/*.pid; do
            [[ -e $pf ]] || continue
            # *.pid files are written by xf_bg only
            xf_stop "$(basename "$pf" .pid)"
        done
    fi

    # ... then anything else still living in our namespaces (e.g. children
    # that outlived `timeout`, or ad-hoc `xf_in ... &` jobs of a test).
    local ns pid pids i
    for ns in "$XF_NS_C" "$XF_NS_R" "$XF_NS_A"; do
        xf_ns_exists "$ns" || continue
        pids=$(ip netns pids "$ns" 2>/dev/null)
        [[ -n $pids ]] || continue
        # shellcheck disable=SC2086
        kill -TERM $pids 2>/dev/null
        for ((i = 0; i < 20; i++)); do
            [[ -z $(ip netns pids "$ns" 2>/dev/null) ]] && break
            sleep 0.1
        done
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            kill -KILL "$pid" 2>/dev/null
        done
    done
    for ns in "$XF_NS_C" "$XF_NS_R" "$XF_NS_A"; do
        xf_ns_exists "$ns" && ip netns del "$ns" 2>/dev/null
    done

    # Only ever remove the directory we created.
    if [[ -n $XF_TMP && -d $XF_TMP && $XF_TMP == */xf-"$XF_TAG".* ]]; then
        rm -rf -- "$XF_TMP"
    fi
    if ((XF_TRAPS_SET)); then xf_signal_traps; else trap - INT TERM HUP; fi
    ((had_e)) && set -e
    return "$rc"
}

# Re-exec the calling script under `timeout` so the whole test is bounded even
# if something hangs; TERM from timeout runs the normal teardown. Call first
# thing, from the script's top level:  xf_bound_runtime 300 "$@"
xf_bound_runtime() {
    local secs=$1
    shift
    if [[ -z ${XF_UNDER_TIMEOUT:-} ]]; then
        export XF_UNDER_TIMEOUT=$secs
        exec timeout -k 15 "$secs" "$0" "$@"
    fi
}

# Register teardown for every way a script can end. INT/TERM are turned into
# an exit so the EXIT trap runs exactly once.
XF_TRAPS_SET=0
xf_signal_traps() {
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
}
xf_trap_setup() {
    trap xf_teardown EXIT
    xf_signal_traps
    XF_TRAPS_SET=1
}

# ---------------------------------------------------------------------------
# unbound in R
# ---------------------------------------------------------------------------

# Write $XF_TMP/benign.conf (local-zone/local-data) and $XF_TMP/benign.queries
# ("name TYPE" lines that must resolve NOERROR with an answer).
xf_gen_benign() {
    local csv=${XF_DOMAINS_CSV:-"$(xf_repo_root)/../shared/data/top-domains.csv"}
    [[ -r $csv ]] || xf_die "benign domain list not found: $csv (set XF_DOMAINS_CSV)"
    # Keep plain, valid hostnames only; skip www.* (we add www ourselves) and
    # anything in our lab zone. Fake addresses from benchmarking / doc ranges.
    awk -F, -v max="$XF_BENIGN_COUNT" \
        -v conf="$XF_TMP/benign.conf" -v q="$XF_TMP/benign.queries" '
        {
            d = tolower($2); sub(/\r$/, "", d); sub(/\.$/, "", d)
            if (d !~ /^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z][a-z0-9-]*[a-z0-9]$/) next
            if (d ~ /^www\./ || d ~ /(^|\.)xf\.test$/ || length(d) > 200) next
            if (seen[d]++) next
            n++
            a4 = sprintf("198.18.%d.%d", int(n / 256), n % 256)
            a6 = sprintf("2001:db8:18::%x", n)
            printf "local-zone: \"%s.\" static\n", d > conf
            printf "local-data: \"%s. 300 IN A %s\"\n", d, a4 > conf
            printf "local-data: \"www.%s. 300 IN A %s\"\n", d, a4 > conf
            printf "local-data: \"%s. 300 IN AAAA %s\"\n", d, a6 > conf
            printf "local-data: \"www.%s. 300 IN AAAA %s\"\n", d, a6 > conf
            printf "local-data: \047%s. 300 IN TXT \"v=spf1 -all\"\047\n", d > conf
            printf "local-data: \"%s. 300 IN MX 10 %s.\"\n", d, d > conf
            printf "%s A\nwww.%s A\n%s AAAA\nwww.%s AAAA\n%s TXT\n%s MX\n", d, d, d, d, d, d > q
            if (n >= max) exit
        }
        END { if (n < 1) exit 1 }' "$csv" || xf_die "no usable domains in $csv"
    XF_BENIGN_QUERIES="$XF_TMP/benign.queries"
    export XF_BENIGN_QUERIES
}

xf_unbound_conf() {
    cat <<EOF
server:
    verbosity: $XF_UNBOUND_VERBOSITY
    use-syslog: no
    logfile: "$XF_TMP/unbound.log"
    log-time-ascii: yes
    # No chroot, no privilege drop: the config and logs live in XF_TMP.
    chroot: ""
    username: ""
    directory: "$XF_TMP"
    pidfile: "$XF_TMP/unbound.pidfile"
    do-daemonize: no
    num-threads: 1
    so-reuseport: no

    interface: $XF_IP_R
    interface: $XF_IP6_R
    interface: $XF_IP_RA
    port: 53
    do-ip4: yes
    do-ip6: yes
    do-udp: yes
    do-tcp: yes
    access-control: 10.201.1.0/24 allow
    access-control: fd00:201:1::/64 allow
    access-control: 10.201.2.0/24 allow

    # Plain recursion only: no DNSSEC validator (no trust anchor, no DS
    # lookups), nothing that rewrites or splits the tunnel queries.
    module-config: "iterator"
    # qname minimisation would send truncated names (e.g. "xyz.t.xf.test")
    # to iodined, which decodes every query under its zone as tunnel data.
    qname-minimisation: no
    use-caps-for-id: no
    harden-glue: no
    harden-dnssec-stripped: no
    harden-below-nxdomain: no
    harden-referral-path: no
    harden-algo-downgrade: no
    harden-large-queries: no
    harden-short-bufsize: no
    aggressive-nsec: no
    prefetch: no
    serve-expired: no
    # Tunnel answers must never be served from cache.
    cache-max-ttl: 0
    cache-max-negative-ttl: 0
    # Stub targets are private addresses; keep unbound willing to use them
    # and never give up on them after a few slow (lazy-mode) answers.
    do-not-query-localhost: no
    infra-keep-probing: yes
    infra-host-ttl: 30
    unwanted-reply-threshold: 0
    ratelimit: 0
    ip-ratelimit: 0

    # There is no internet here. Answer everything we do not serve with
    # NXDOMAIN locally so unbound never tries to reach root servers; the
    # tunnel zones are carved out as transparent so they go to the stubs.
    local-zone: "." static
    local-zone: "$XF_TUN_DOMAIN." transparent
    local-zone: "$XF_D2T_DOMAIN." transparent
    local-zone: "health.xf.test." static
    # single outer quotes: inner double quotes delimit the TXT string
    local-data: 'health.xf.test. 0 IN TXT "ok"'
    include: "$XF_TMP/benign.conf"

remote-control:
    control-enable: no

stub-zone:
    name: "$XF_TUN_DOMAIN."
    stub-addr: $XF_IP_A
    stub-prime: no
    stub-first: no

stub-zone:
    name: "$XF_D2T_DOMAIN."
    stub-addr: $XF_IP_A_D2T
    stub-prime: no
    stub-first: no
EOF
}

xf_unbound_ready() {
    xf_in "$XF_NS_C" timeout 3 dig @"$XF_IP_R" +time=1 +tries=1 +short health.xf.test TXT |
        grep -q '"ok"'
}

xf_unbound_up() {
    local t0
    t0=$(xf_now)
    [[ -n $XF_TMP ]] || xf_die "xf_unbound_up: call xf_topo_up first"
    xf_gen_benign
    xf_unbound_conf >"$XF_TMP/unbound.conf"
    unbound-checkconf "$XF_TMP/unbound.conf" >"$XF_TMP/unbound-checkconf.log" 2>&1 ||
        xf_die "unbound config invalid: $(cat "$XF_TMP/unbound-checkconf.log")"
    xf_bg "$XF_NS_R" unbound unbound -d -c "$XF_TMP/unbound.conf"
    if ! xf_wait_for 15 xf_unbound_ready; then
        xf_alive unbound || xf_log "unbound exited: $(tail -n 5 "$XF_TMP/unbound.log" 2>/dev/null)"
        xf_die "unbound did not answer on $XF_IP_R within 15s"
    fi
    xf_log "unbound up in $(xf_since "$t0")s ($(wc -l <"$XF_BENIGN_QUERIES") benign queries available)"
}

# xf_dig_benign N [dig options...]
# Sends N real queries (sampled from the served benign names/types) from C to
# the resolver in one dig batch. Prints the number that came back NOERROR with
# at least one answer; returns 0 only if that is all N.
# Server defaults to XF_IP_R; set XF_DIG_SERVER (e.g. "$XF_IP6_R") to change.
# Extra options are applied to every query, e.g. `xf_dig_benign 20 +tcp`.
xf_dig_benign() {
    local n=${1:?usage: xf_dig_benign N [dig opts]}
    shift
    local server=${XF_DIG_SERVER:-$XF_IP_R} batch ok
    batch=$(mktemp "$XF_TMP/digbatch.XXXXXX")
    # Deterministic sample (seeded) unless XF_SEED says otherwise, so failures
    # can be reproduced.
    shuf -n "$n" -r --random-source=<(yes "${XF_SEED:-xf}") "$XF_BENIGN_QUERIES" |
        while read -r name type; do
            printf '%s %s +time=2 +tries=2 %s\n' "$name" "$type" "$*"
        done >"$batch"
    ok=$(xf_in "$XF_NS_C" timeout $((n * 5 + 10)) \
        dig @"$server" +noall +comments -f "$batch" 2>/dev/null |
        awk '
            /->>HEADER<<-/ { st = $0; sub(/.*status: /, "", st); sub(/,.*/, "", st) }
            /^;; flags:/ {
                an = $0; sub(/.*ANSWER: /, "", an); sub(/,.*/, "", an)
                if (st == "NOERROR" && an + 0 > 0) ok++
                st = ""
            }
            END { print ok + 0 }') || true
    rm -f "$batch"
    echo "${ok:-0}"
    [[ ${ok:-0} -eq $n ]]
}

# xf_dig [dig args...] -- one bounded dig from C to the resolver, e.g.
# `xf_dig +short example.com A`. Use this (not a bare dig) so a query can
# never leave from the root namespace.
xf_dig() {
    xf_in "$XF_NS_C" timeout 15 dig @"${XF_DIG_SERVER:-$XF_IP_R}" +time=2 +tries=2 "$@"
}

# xf_dnsperf SECONDS [MAX_QPS=2000] [dnsperf opts...]
# Bounded benign load from C to the resolver using the served names. Full
# report in $XF_TMP/dnsperf.log; prints "<completed> <sent> <qps>".
# Returns 0 iff no query was lost.
xf_dnsperf() {
    local secs=${1:?usage: xf_dnsperf SECONDS [MAX_QPS] [opts]} qps=${2:-2000}
    shift
    (($#)) && shift
    xf_in "$XF_NS_C" timeout $((secs + 15)) dnsperf -s "${XF_DIG_SERVER:-$XF_IP_R}" \
        -d "$XF_BENIGN_QUERIES" -l "$secs" -Q "$qps" -t 2 "$@" \
        >"$XF_TMP/dnsperf.log" 2>&1 || true
    awk '
        /Queries sent:/      { sent = $3 }
        /Queries completed:/ { done = $3 }
        /Queries lost:/      { lost = $3 }
        /Queries per second:/ { qps = $4 }
        END {
            print done + 0, sent + 0, qps + 0
            exit !(sent > 0 && lost == 0)
        }' "$XF_TMP/dnsperf.log"
}

# ---------------------------------------------------------------------------
# iodine: iodined in A, client in C via the resolver
# ---------------------------------------------------------------------------

xf_iodined_up() {
    # -f: foreground (we manage it); -c: accept queries whatever the resolver's
    # source address (resolver pools); -l: bind the A address only, so port 53
    # on XF_IP_A_D2T stays free for dns2tcpd; -d: fixed tun name.
    xf_bg "$XF_NS_A" iodined iodined -f -c -l "$XF_IP_A" -p 53 -d "$XF_TUN_DEV" \
        -P "$XF_IODINE_PASS" "$XF_TUN_NET" "$XF_TUN_DOMAIN"
    # Ready when its tun device has the tunnel address.
    xf_wait_for 10 xf_in_has_addr "$XF_NS_A" "$XF_TUN_DEV" "$XF_TUN_IP_SRV" ||
        xf_die "iodined did not come up: $(tail -n 5 "$XF_TMP/iodined.log")"
}

# xf_listening NS t|u ADDR:PORT  -- is a TCP listener / UDP socket bound there?
xf_listening() {
    ss -N "$1" -Hln"$2" 2>/dev/null | awk -v a="$3" '$4 ~ a"$" { f = 1 } END { exit !f }'
}

xf_in_has_addr() {
    ip -n "$1" -4 addr show dev "$2" 2>/dev/null | grep -q "inet ${3:-}"
}

# Start the iodine client in C. Resolver: XF_IODINE_RESOLVER (default XF_IP_R;
# give XF_IP6_R to tunnel over IPv6 transport). Returns 1 (does not exit) if
# the tunnel does not pass a ping within XF_TUN_TIMEOUT.
xf_iodine_up() {
    local t0 res=${XF_IODINE_RESOLVER:-$XF_IP_R} fam=-4
    t0=$(xf_now)
    [[ $res == *:* ]] && fam=-6
    # shellcheck disable=SC2086  # XF_IODINE_OPTS is a word list on purpose
    xf_bg "$XF_NS_C" iodine iodine -f "$fam" $XF_IODINE_OPTS -d "$XF_TUN_DEV" \
        -P "$XF_IODINE_PASS" "$res" "$XF_TUN_DOMAIN"
    local end=$((SECONDS + XF_TUN_TIMEOUT))
    while ((SECONDS < end)); do
        if xf_in_has_addr "$XF_NS_C" "$XF_TUN_DEV" 10.202.0.; then
            if xf_tunnel_ping 1 5; then
                xf_log "iodine tunnel up in $(xf_since "$t0")s"
                return 0
            fi
        fi
        xf_alive iodine || break
        sleep 0.3
    done
    xf_log "iodine tunnel did not come up: $(tail -n 8 "$XF_TMP/iodine.log" 2>/dev/null)"
    return 1
}

# xf_tunnel_ping [count=3] [deadline_s=10]
# Success iff <count> echo replies from the iodined tunnel address arrive
# within the deadline. Use `! xf_tunnel_ping` to assert a blocked tunnel.
xf_tunnel_ping() {
    local count=${1:-3} deadline=${2:-10}
    xf_in_has_addr "$XF_NS_C" "$XF_TUN_DEV" || return 1
    xf_in "$XF_NS_C" timeout $((deadline + 2)) \
        ping -n -q -c "$count" -i 0.3 -W 2 -w "$deadline" "$XF_TUN_IP_SRV" >/dev/null 2>&1
}

# Negative control without exfilter: blackhole R's routes to the tunnel
# servers, so tunnel queries die at the resolver while locally served benign
# names keep resolving. xf_restore_upstream undoes it.
xf_cut_upstream() {
    ip -n "$XF_NS_R" route replace blackhole "$XF_IP_A/32"
    ip -n "$XF_NS_R" route replace blackhole "$XF_IP_A_D2T/32"
}
xf_restore_upstream() {
    ip -n "$XF_NS_R" route del blackhole "$XF_IP_A/32" 2>/dev/null || true
    ip -n "$XF_NS_R" route del blackhole "$XF_IP_A_D2T/32" 2>/dev/null || true
}

xf_iodine_down() { xf_stop iodine; }
xf_iodined_down() { xf_stop iodined; }

# ---------------------------------------------------------------------------
# dns2tcp: dns2tcpd in A (d.xf.test), dns2tcpc in C via the resolver
# ---------------------------------------------------------------------------

xf_dns2tcpd_up() {
    # TCP echo service on A's loopback: the resource reached through the tunnel.
    # Serial (no fork): forked children would be orphaned to a pid 1 that may
    # not reap them when we tear down.
    # shellcheck disable=SC2016  # perl code, expanded by perl
    xf_bg "$XF_NS_A" echo perl -MIO::Socket::INET -e '
        my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => $ARGV[0],
                                      Listen => 8, ReuseAddr => 1) or die "listen: $!";
        while (my $c = $s->accept) {
            while (my $l = <$c>) { print $c $l }
            close $c;
        }' "$XF_ECHO_PORT"
    cat >"$XF_TMP/dns2tcpd.conf" <<EOF
listen = $XF_IP_A_D2T
port = 53
user = nobody
chroot = /
key = $XF_D2T_KEY
domain = $XF_D2T_DOMAIN
resources = echo:127.0.0.1:$XF_ECHO_PORT
EOF
    xf_bg "$XF_NS_A" dns2tcpd dns2tcpd -F -f "$XF_TMP/dns2tcpd.conf"
    xf_wait_for 10 xf_listening "$XF_NS_A" u "$XF_IP_A_D2T:53" ||
        xf_die "dns2tcpd did not come up: $(tail -n 5 "$XF_TMP/dns2tcpd.log")"
    xf_wait_for 10 xf_listening "$XF_NS_A" t "127.0.0.1:$XF_ECHO_PORT" ||
        xf_die "dns2tcpd/echo did not come up: $(tail -n 5 "$XF_TMP/dns2tcpd.log")"
}

xf_dns2tcpc_up() {
    # -f /dev/null: ignore any ~/.dns2tcprc; -l: local TCP listener in C whose
    # connections are carried through DNS to the "echo" resource.
    xf_bg "$XF_NS_C" dns2tcpc dns2tcpc -f /dev/null -z "$XF_D2T_DOMAIN" -k "$XF_D2T_KEY" \
        -r echo -T TXT -l "$XF_D2T_PORT" "$XF_IP_R"
    xf_wait_for 10 xf_listening "$XF_NS_C" t ":$XF_D2T_PORT" ||
        xf_die "dns2tcpc did not listen: $(tail -n 5 "$XF_TMP/dns2tcpc.log")"
}

xf_dns2tcp_up() {
    local t0
    t0=$(xf_now)
    xf_dns2tcpd_up
    xf_dns2tcpc_up
    xf_log "dns2tcp up in $(xf_since "$t0")s"
}

# xf_dns2tcp_check [deadline_s=15]
# Success iff a line sent into dns2tcpc (C) comes back from the echo service
# in A, i.e. a TCP session really crossed the resolver inside DNS.
xf_dns2tcp_check() {
    local deadline=${1:-15} probe
    probe="xf-probe-$RANDOM$RANDOM"
    # shellcheck disable=SC2016  # positional args expanded by the inner bash
    xf_in "$XF_NS_C" timeout "$deadline" bash -c '
        exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf "%s\n" "$2" >&3
        IFS= read -r -t "$3" line <&3 || exit 1
        [[ $line == "$2" ]]' _ "$XF_D2T_PORT" "$probe" "$deadline" 2>/dev/null
}

xf_dns2tcp_down() {
    xf_stop dns2tcpc
    xf_stop dns2tcpd
    xf_stop echo
}

# ---------------------------------------------------------------------------
# Minimal test bookkeeping: xf_check "name" cmd...; xf_summary at the end.
# ---------------------------------------------------------------------------
XF_PASSED=0
XF_FAILED=0
XF_FAILED_NAMES=()

# Runs cmd (errexit does not abort on its failure), records and prints
# PASS/FAIL. Returns the command's status so callers can chain on it.
# xf_expect CODE PATTERN CMD...: CMD exits with CODE and its stderr matches
# the extended regex PATTERN (stdout is discarded); prints the status and the
# start of stderr. For the bad-input checks: an error must name what is wrong.
xf_expect() {
    local want=$1 pat=$2 rc=0 err
    shift 2
    err=$("$@" 2>&1 >/dev/null) || rc=$?
    echo "  exit $rc: $(head -c 300 <<<"$err" | tr '\n' ' ')"
    [[ $rc -eq $want ]] && grep -qE -- "$pat" <<<"$err"
}

xf_check() {
    local name=$1 rc=0 t0
    shift
    t0=$(xf_now)
    "$@" || rc=$?
    if ((rc == 0)); then
        XF_PASSED=$((XF_PASSED + 1))
        printf 'PASS  %-48s (%ss)\n' "$name" "$(xf_since "$t0")"
    else
        XF_FAILED=$((XF_FAILED + 1))
        XF_FAILED_NAMES+=("$name")
        printf 'FAIL  %-48s (%ss, rc=%d)\n' "$name" "$(xf_since "$t0")" "$rc"
    fi
    return "$rc"
}

# Prints the closing "N passed, M failed" line; returns non-zero on failures.
xf_summary() {
    if ((XF_FAILED)); then
        printf 'failed: %s\n' "${XF_FAILED_NAMES[*]}"
    fi
    printf '%d passed, %d failed\n' "$XF_PASSED" "$XF_FAILED"
    ((XF_FAILED == 0))
}

# ---------------------------------------------------------------------------
# Packet capture (debugging / fixtures)
# ---------------------------------------------------------------------------

# xf_pcap_start NS IFACE FILE [max_packets=100000]  -- stopped by teardown or
# xf_stop pcap-<iface>. FILE should normally live under XF_TMP.
xf_pcap_start() {
    local ns=$1 ifc=$2 file=$3 max=${4:-100000}
    # -Z root: Debian's tcpdump otherwise drops to user tcpdump, which cannot
    # write into the root-only XF_TMP.
    xf_bg "$ns" "pcap-$ifc" tcpdump -Z root -n -U -i "$ifc" -c "$max" -w "$file" port 53
    xf_wait_for 5 grep -q 'listening on' "$XF_TMP/pcap-$ifc.log" || true
}
