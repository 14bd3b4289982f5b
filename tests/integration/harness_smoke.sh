#!/usr/bin/env bash
#
# Proves the namespace harness (lib.sh) works on its own, WITHOUT exfilter:
# benign names resolve through a real unbound, an iodine tunnel and a dns2tcp
# session really cross the resolver, and a broken path is really reported as
# broken (so later "tunnel blocked" assertions cannot pass vacuously).
#
# Usage: sudo tests/integration/harness_smoke.sh
# Ends with "N passed, M failed"; exits non-zero if anything failed.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$HERE/lib.sh"

xf_require_root
xf_require_tools dns2tcpd dns2tcpc ss
# Whole run bounded; normally ~35 s.
xf_bound_runtime "${XF_SMOKE_TIMEOUT:-240}" "$@"
xf_trap_setup
xf_gc_stale

T_START=$(xf_now)

# --- bring-up --------------------------------------------------------------
xf_topo_up
xf_unbound_up
T_DNS_READY=$(xf_now)

# Benign traffic: every query must come back NOERROR with an answer.
dig_all() {
    local n=$1 got
    shift
    got=$(xf_dig_benign "$n" "$@") || {
        echo "  only $got/$n benign queries answered" >&2
        return 1
    }
    echo "  $got/$n answered"
}
dig_all_v6() { XF_DIG_SERVER=$XF_IP6_R dig_all "$@"; }

# The client must have no path to A except through the resolver, otherwise
# a "blocked" tunnel could still leak around exfilter.
client_isolated() {
    ! xf_in "$XF_NS_C" timeout 3 ping -n -q -c 1 -W 1 "$XF_IP_A" >/dev/null 2>&1 &&
        [[ -z $(ip -n "$XF_NS_C" route show default) ]] &&
        [[ -z $(ip -n "$XF_NS_R" route show default) ]] &&
        [[ -z $(ip -n "$XF_NS_A" route show default) ]] &&
        [[ $(xf_in "$XF_NS_R" sysctl -n net.ipv4.ip_forward) == 0 ]]
}

xf_check "benign dig UDP/IPv4 (50 queries)" dig_all 50 || true
xf_check "benign dig TCP/IPv4 (20 queries)" dig_all 20 +tcp || true
xf_check "benign dig UDP/IPv6 (20 queries)" dig_all_v6 20 || true
xf_check "client cannot reach A except via resolver" client_isolated || true

# --- iodine ------------------------------------------------------------------
T_TUN0=$(xf_now)
xf_iodined_up
tunnel_ok=0
if xf_check "iodine tunnel comes up through unbound" xf_iodine_up; then
    tunnel_ok=1
fi
T_TUN_READY=$(xf_now)
if ((tunnel_ok)); then
    xf_check "ping through iodine tunnel (5 replies)" xf_tunnel_ping 5 10 || true
else
    xf_check "ping through iodine tunnel (5 replies)" false || true
fi

# --- dns2tcp -------------------------------------------------------------------
xf_dns2tcp_up
xf_check "dns2tcp TCP echo through unbound" xf_dns2tcp_check 15 || true

# --- negative control ----------------------------------------------------------
# Cut R->A: tunnels must be reported dead while benign names still resolve.
# This is the behaviour later tests expect from exfilter.
tunnel_dead() { ! xf_tunnel_ping 3 5; }
dns2tcp_dead() { ! xf_dns2tcp_check 6; }
xf_cut_upstream
xf_check "tunnel ping FAILS when upstream cut" tunnel_dead || true
xf_check "dns2tcp FAILS when upstream cut" dns2tcp_dead || true
xf_check "benign dig still answered when cut (20)" dig_all 20 || true
xf_restore_upstream
# iodine 0.7.0 does not reliably resume its data channel after a multi-second
# blackout (its pings flow again, data stalls), so prove the restored path
# with a fresh client login rather than waiting for the old session.
iodine_relogin() {
    xf_iodine_down
    xf_iodine_up && xf_tunnel_ping 3 10
}
xf_check "new iodine session works after restore" iodine_relogin || true

printf 'timing: topology+unbound %ss, iodine tunnel bring-up %ss, total %ss\n' \
    "$(awk -v a="$T_START" -v b="$T_DNS_READY" 'BEGIN { printf "%.1f", b - a }')" \
    "$(awk -v a="$T_TUN0" -v b="$T_TUN_READY" 'BEGIN { printf "%.1f", b - a }')" \
    "$(xf_since "$T_START")"
xf_summary
