# shellcheck shell=bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# lib_bench.sh - what the enforcement benchmarks share (bench_dns.sh,
# bench_tls.sh, bench_http.sh): the lab namespaces (tests/integration/lib.sh's
# topology), CPU pinning, equal idle states, exfilter started and stopped on
# the server's client-facing veth, BPF run-time stats held by fd, medians and
# ratios, the machine line and the key=value figures for make bench's verdict;
# and, for TLS and HTTP, nginx and HAProxy in the server namespace.
#
#   client C (10.201.1.2) --veth-- R: xf-rc  10.201.1.1  unbound :53, dnsdist :5300 (DNS)
#                                                        nginx :443 :80 (ways a, b)
#                                            10.201.1.3  HAProxy :443 :80 (way c)
#                                      lo    127.0.0.1   nginx :443 :80 (HAProxy's backend)
#                                                        nginx :8080 stub_status
#
# exfilter attaches TC on xf-rc (queries, ClientHellos and requests arrive on
# its ingress) only while way (b) runs; ways (a) and (c) run with no filter
# on the link, which xb_assert_no_filter checks before each of their runs.
#
# No CPU pinning by default. Pinning the load generator to CPU 0 and every
# server-side process to the other CPU made the ways unjudgeable on a loaded
# 2-vCPU VM: each step of a request then wakes a task on the other CPU, which
# waits there for whatever else runs on it, and a way with more steps on the
# server CPU (a proxy waking nginx locally) hid that wait better than the
# direct way. Measured with tls_load -c 1 (one handshake at a time): direct
# 2.8 ms p50 pinned vs 0.85 ms unpinned, through HAProxy 1.0 ms either way,
# so pinned "HAProxy beat nginx direct" and unpinned direct is fastest.
# XB_PIN_CPUS=1 pins as before (load generator on CPU 0, servers, proxies
# and the exfilter sensor on the last CPU), to study the cross-CPU case.
#
# Equal idle states (xb_idle_hold): on this kind of VM an idle vCPU halts and
# exits to the hypervisor, and waking it again costs from tens of
# microseconds to milliseconds. A way whose server CPU idles between packets
# (no filter: unbound alone; nginx alone) pays that wake-up on every request,
# while a way with one more busy process on that CPU (the exfilter sensor
# draining its ring, a proxy) keeps it awake and looks faster than no filter
# at all. Holding a PM QoS CPU-latency request of 0 us for the whole run
# makes the cpuidle governor poll instead of halting on every CPU, in every
# way alike. It is a request held by an fd (bench_hold), gone when the run
# ends; XB_IDLE_HOLD=0 turns it off to see the artefact.
#
# Source after tests/integration/lib.sh; call xb_lab_up (and xb_web_up for
# TLS/HTTP), then the xb_* below. Everything started here lives in the lab
# namespaces or XF_TMP and goes in xb_teardown (the EXIT trap): processes,
# namespaces, temp dir, pinned maps.

XB_IP_S=$XF_IP_R            # nginx, ways (a) and (b)
XB_IP_P=10.201.1.3          # HAProxy frontends, way (c)
XB_ALLOWED=www.allowed-site.test
# The deny list: the first name is the one the checks try; the rest make the
# list a list (exfilter's verdict map and HAProxy's pattern tree both look a
# name up in one step, so its length hardly matters to either).
XB_DENIED=(exfil.denied-site.test c2.denied-site.test tunnel.example.test
	upload.example.test drop.example.test a.bad.test b.bad.test c.bad.test
	d.bad.test e.bad.test f.bad.test g.bad.test h.bad.test i.bad.test
	j.bad.test k.bad.test)
XB_PIN=""
XB_CPU_CLIENT=0
XB_CPU_SERVER=0
XB_EXFILTER=""
XB_HOLD=""
XB_KV=${BENCH_KV:-}
# Command prefixes that pin to a CPU ("taskset -c N"), empty without pinning.
XB_PIN_CLIENT=()
XB_PIN_SERVER=()

xb_log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }

# Median of the numbers on stdin (mean of the middle two for an even count).
xb_median() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (!NR) { print 0; exit }
		if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# xb_median_col FILE COLUMN: median of a whitespace-separated column
xb_median_col() { awk -v c="$2" '{ print $c }' "$1" | xb_median; }

# xb_pair OP FILE1 FILE2 COLUMN: median over rounds of FILE2/FILE1 (OP "/")
# or FILE2-FILE1 (OP "-"), line by line: the ratio within each round, which
# drifting machine load moves less than a ratio of medians
xb_pair() {
	paste -d' ' <(awk -v c="$4" '{ print $c }' "$2") <(awk -v c="$4" '{ print $c }' "$3") |
		awk -v op="$1" '{ print (op == "/" ? ($1 > 0 ? $2 / $1 : 0) : $2 - $1) }' | xb_median
}

# xb_ratio A B -> A/B with 2 decimals ("-" when B is 0)
xb_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }

# xb_describe "CODE RC": a curl try ("HTTP code" and curl's exit status)
# in words, for the policy tables
xb_describe() {
	local code=${1% *} rc=${1#* }
	if [[ $code != 000 ]]; then
		echo "HTTP $code"
	elif ((rc == 28)); then
		echo "no answer (curl timed out, exit 28)"
	else
		echo "refused (curl exit $rc)"
	fi
}

# xb_ms US: microseconds as milliseconds, 2 decimals
xb_ms() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }'; }

# xb_met X T: "**met**" when X >= T
xb_met() { awk -v x="$1" -v t="$2" 'BEGIN { print (x != "-" && x + 0 >= t + 0) ? "**met**" : "**not met**" }'; }

# xb_kv KEY VALUE: a key=value line for make bench's verdict (BENCH_KV or
# the script's --kv file), nothing when neither is set
xb_kv() { [[ -z $XB_KV ]] || printf '%s=%s\n' "$1" "$2" >>"$XB_KV"; }

xb_pinning() {
	if ((${#XB_PIN_SERVER[@]} == 0)); then
		echo "none (the scheduler places every process; XB_PIN_CPUS=1 pins)"
	else
		echo "load generator on CPU $XB_CPU_CLIENT; servers, proxies and the exfilter sensor on CPU $XB_CPU_SERVER; exfilter's BPF runs in the sender's softirq (client-to-server packets on CPU $XB_CPU_CLIENT)"
	fi
}

# xb_idle_note: how idle states were held, for the method text
xb_idle_note() {
	if [[ -n $XB_HOLD ]]; then
		echo "idle CPUs poll instead of halting in every way (a PM QoS request of 0 us on /dev/cpu_dma_latency held by \`bench_hold\` for the whole run; idle driver $(cat /sys/devices/system/cpu/cpuidle/current_driver 2>/dev/null || echo none))"
	else
		echo "idle states not held (XB_IDLE_HOLD=0): a way whose server CPU idles between packets pays the wake-up of a halted vCPU"
	fi
}

# xb_machine: one line on the machine and its load
xb_machine() {
	echo "$(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r); load average $(cut -d' ' -f1-3 /proc/loadavg)"
}

xb_teardown() {
	local rc=$?
	xf_teardown
	# pins live in the root bpffs, not in a namespace; only ours
	[[ -n $XB_PIN && $XB_PIN == /sys/fs/bpf/xf-bench-* ]] && rm -rf -- "$XB_PIN"
	return "$rc"
}

# xb_trap_setup: xb_teardown on every way the script can end
xb_trap_setup() {
	trap xb_teardown EXIT
	xf_signal_traps
	XF_TRAPS_SET=1
}

# xb_idle_hold: hold the CPU-latency request until the run ends. bench_hold
# runs as a tracked job (its pid file in XF_TMP), so xf_teardown stops it;
# it also dies with this shell (PR_SET_PDEATHSIG).
xb_idle_hold() {
	[[ ${XB_IDLE_HOLD:-1} == 1 ]] || return 0
	"$XB_BENCH_HOLD" --cpu-latency 0 >"$XF_TMP/hold.log" 2>&1 </dev/null &
	echo $! >"$XF_TMP/hold.pid"
	xf_wait_for 5 grep -q holding "$XF_TMP/hold.log" ||
		xf_die "bench_hold did not hold the CPU latency: $(cat "$XF_TMP/hold.log")"
	XB_HOLD=$!
}

# xb_lab_up [TOOLS...]: the namespaces, pinning, the pin dir, idle states
xb_lab_up() {
	local t
	xf_require_tools nsenter taskset tc "$@"
	XB_EXFILTER=$(xf_repo_root)/.output/exfilter
	XB_BENCH_HOLD=$(xf_repo_root)/.output/tests/bench_hold
	[[ -x $XB_EXFILTER && -x $XB_BENCH_HOLD ]] ||
		xf_die "build first: make ($XB_EXFILTER or $XB_BENCH_HOLD missing)"
	if [[ ${XB_PIN_CPUS:-0} == 1 && $(nproc) -ge 2 ]]; then
		XB_CPU_CLIENT=0
		XB_CPU_SERVER=$(($(nproc) - 1))
		XB_PIN_CLIENT=(taskset -c "$XB_CPU_CLIENT")
		XB_PIN_SERVER=(taskset -c "$XB_CPU_SERVER")
	fi
	xf_gc_stale
	t=$(xf_now)
	xf_topo_up
	XB_PIN=/sys/fs/bpf/xf-bench-$XF_TAG
	xb_log "tag=$XF_TAG tmp=$XF_TMP pin=$XB_PIN"
	xb_idle_hold
	xb_log "lab up in $(xf_since "$t")s"
}

# xb_pin_netns NS: pin every process now in NS to the server CPU
xb_pin_netns() {
	local p
	((${#XB_PIN_SERVER[@]})) || return 0
	for p in $(ip netns pids "$1"); do taskset -a -pc "$XB_CPU_SERVER" "$p" >/dev/null; done
}

xb_cert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$XF_TMP/key.pem" -out "$XF_TMP/cert.pem" -days 2 \
		-subj "/CN=$XB_ALLOWED" -addext "subjectAltName=DNS:$XB_ALLOWED" \
		>"$XF_TMP/openssl.log" 2>&1 || xf_die "openssl could not make a certificate: $(cat "$XF_TMP/openssl.log")"
}

# nginx: one worker; a new full handshake per connection (no session cache,
# no tickets). The TLS server answers 421 unless the SNI is the allowed name,
# so a client that sent no or another SNI shows up as non-200 answers.
xb_nginx_conf() {
	local t=$XF_TMP
	cat <<EOF
user root;
worker_processes 1;
daemon off;
pid $t/nginx.pid;
error_log $t/nginx-error.log warn;
events { worker_connections 8192; }
http {
	access_log off;
	client_body_temp_path $t/nginx-body;
	proxy_temp_path $t/nginx-proxy;
	fastcgi_temp_path $t/nginx-fastcgi;
	uwsgi_temp_path $t/nginx-uwsgi;
	scgi_temp_path $t/nginx-scgi;
	keepalive_requests 1000000;
	keepalive_timeout 30s;
	default_type text/plain;
	server {
		listen $XB_IP_S:443 ssl;
		listen 127.0.0.1:443 ssl;
		ssl_certificate $t/cert.pem;
		ssl_certificate_key $t/key.pem;
		ssl_protocols TLSv1.2 TLSv1.3;
		ssl_session_cache off;
		ssl_session_tickets off;
		location / {
			if (\$ssl_server_name != "$XB_ALLOWED") { return 421 "wrong sni\n"; }
			return 200 "ok\n";
		}
	}
	server {
		listen $XB_IP_S:80;
		listen 127.0.0.1:80;
		location / { return 200 "ok\n"; }
	}
	server {
		listen 127.0.0.1:8080;
		location / { stub_status; }
	}
}
EOF
}

# HAProxy: TCP mode with a req.ssl_sni ACL for TLS, HTTP mode with a Host ACL
# (port cut off, as exfilter does) for HTTP; both on the deny list file.
xb_haproxy_conf() {
	cat <<EOF
global
	nbthread 1
	maxconn 8000
defaults
	timeout connect 3s
	timeout client 30s
	timeout server 30s
	maxconn 8000
frontend fe_tls
	mode tcp
	bind $XB_IP_P:443
	tcp-request inspect-delay 5s
	tcp-request content reject if { req.ssl_sni -i -f $XF_TMP/deny.lst }
	tcp-request content accept if { req.ssl_hello_type 1 }
	default_backend be_tls
backend be_tls
	mode tcp
	server nginx 127.0.0.1:443
frontend fe_http
	mode http
	bind $XB_IP_P:80
	http-request deny if { req.hdr(host),field(1,:) -i -f $XF_TMP/deny.lst }
	default_backend be_http
backend be_http
	mode http
	http-reuse always
	server nginx 127.0.0.1:80
EOF
}

# nginx's accepted-connection count (stub_status), from R.
xb_nginx_accepts() {
	xf_in "$XF_NS_R" curl -s --max-time 3 http://127.0.0.1:8080/ |
		awk 'NR == 3 { print $1 }'
}

# xb_web_up: nginx and HAProxy in R (TLS and HTTP benchmarks)
xb_web_up() {
	xf_require_tools openssl curl nginx haproxy
	ip -n "$XF_NS_R" addr add "$XB_IP_P/24" dev "$XF_IF_RC"
	# many short connections: a wide port range; HAProxy's loopback hop to
	# nginx recycles TIME_WAIT ports (tw_reuse)
	xf_in "$XF_NS_C" sysctl -qw net.ipv4.ip_local_port_range="1024 65000" net.ipv4.tcp_tw_reuse=1
	xf_in "$XF_NS_R" sysctl -qw net.ipv4.ip_local_port_range="1024 65000" net.ipv4.tcp_tw_reuse=1 \
		net.core.somaxconn=4096 net.ipv4.tcp_max_syn_backlog=4096
	printf '%s\n' "${XB_DENIED[@]}" >"$XF_TMP/deny.lst"
	xb_cert
	xb_nginx_conf >"$XF_TMP/nginx.conf"
	xb_haproxy_conf >"$XF_TMP/haproxy.cfg"
	xf_in "$XF_NS_R" nginx -t -c "$XF_TMP/nginx.conf" >"$XF_TMP/nginx-check.log" 2>&1 ||
		xf_die "nginx config invalid: $(cat "$XF_TMP/nginx-check.log")"
	xf_in "$XF_NS_R" haproxy -c -q -f "$XF_TMP/haproxy.cfg" >"$XF_TMP/haproxy-check.log" 2>&1 ||
		xf_die "haproxy config invalid: $(cat "$XF_TMP/haproxy-check.log")"
	xf_bg "$XF_NS_R" nginx "${XB_PIN_SERVER[@]}" nginx -c "$XF_TMP/nginx.conf"
	xf_bg "$XF_NS_R" haproxy "${XB_PIN_SERVER[@]}" haproxy -db -f "$XF_TMP/haproxy.cfg"
	xf_wait_for 10 xf_listening "$XF_NS_R" t "$XB_IP_S:443" ||
		xf_die "nginx did not listen: $(cat "$XF_TMP/nginx.log" "$XF_TMP/nginx-error.log" 2>/dev/null | tail -n 5)"
	xf_wait_for 10 xf_listening "$XF_NS_R" t "$XB_IP_P:443" ||
		xf_die "haproxy did not listen: $(tail -n 5 "$XF_TMP/haproxy.log")"
	xf_wait_for 5 xb_nginx_accepts || xf_die "nginx stub_status does not answer"
}

# True when no TC filter is attached on R's client-facing veth.
xb_no_filter() {
	[[ -z $(tc -n "$XF_NS_R" filter show dev "$XF_IF_RC" ingress 2>/dev/null) ]]
}

# Fails (harness broken) unless the link is filter-free for ways (a)/(c).
xb_assert_no_filter() {
	xb_no_filter || xf_die "a TC filter is on $XF_IF_RC during an unfiltered run"
}

xb_xf() { nsenter --net="/run/netns/$XF_NS_R" "$XB_EXFILTER" --pin-dir "$XB_PIN" "$@"; }

# exfilter status counter NAME (kernel counters, summed over CPUs); dies
# when the counter is not there, so a renamed counter cannot read as 0
xb_stat() {
	local v
	v=$(xb_xf status --json | grep -o "\"$1\":[0-9]*" | head -n 1 | cut -d: -f2) || true
	[[ -n $v ]] || xf_die "exfilter status --json has no counter '$1'"
	echo "$v"
}

# xb_exfilter_up [RUN_OPTIONS...]: `exfilter run` in enforce mode on xf-rc,
# pinned to the server CPU, until it has attached.
xb_exfilter_up() {
	[[ -d /sys/fs/bpf ]] || xf_die "bpffs is not mounted on /sys/fs/bpf"
	xb_assert_no_filter
	# nsenter, not ip netns exec (xf_bg): the latter mounts a private /sys,
	# which hides the pinned maps that `exfilter block` and `status` use.
	# The log goes first: the background job truncates it only when it gets
	# to run, and the previous run's "running in" must not count.
	rm -f "$XF_TMP/exfilter.log"
	nsenter --net="/run/netns/$XF_NS_R" timeout -k 3 "$XF_LIFETIME" "${XB_PIN_SERVER[@]}" \
		"$XB_EXFILTER" --pin-dir "$XB_PIN" run --iface "$XF_IF_RC" --mode enforce \
		--db "$XF_TMP/alerts.db" "$@" >"$XF_TMP/exfilter.log" 2>&1 </dev/null &
	echo $! >"$XF_TMP/exfilter.pid"
	xf_wait_for 20 grep -q "running in" "$XF_TMP/exfilter.log" ||
		xf_die "exfilter did not attach: $(tail -n 5 "$XF_TMP/exfilter.log" 2>/dev/null)"
}

# xb_exfilter_block_list KIND: `exfilter block KIND:NAME` for the deny list
xb_exfilter_block_list() {
	local n
	for n in "${XB_DENIED[@]}"; do
		xb_xf block "$1:$n" >/dev/null || xf_die "exfilter block $1:$n failed"
	done
}

xb_exfilter_down() {
	xf_stop exfilter
	xf_wait_for 5 xb_no_filter || xf_die "exfilter left a filter on $XF_IF_RC after it stopped"
	rm -rf -- "$XB_PIN"
}

# xb_prog_id ingress|egress: the id of the TC program attached on xf-rc
xb_prog_id() {
	tc -n "$XF_NS_R" filter show dev "$XF_IF_RC" "$1" | grep -o ' id [0-9]*' | head -n 1 |
		awk '{ print $2 }'
}

# xb_bpf_stats OUT ID... -- CMD...: run CMD with BPF run-time stats enabled
# by fd (bpf_enable_stats, not the global sysctl) and write
# "prog=ID run_time_ns=N run_cnt=N" per program gained during CMD to OUT
xb_bpf_stats() {
	local out=$1 progs=()
	shift
	while (($#)) && [[ $1 != -- ]]; do
		progs+=(--prog "$1")
		shift
	done
	shift
	"$XB_BENCH_HOLD" --bpf-stats "${progs[@]}" -o "$out" -- "$@"
}

# --- what bench_tls.sh and bench_http.sh share ---------------------------------
#
# Both run three ways (a) direct, (b) exfilter, (c) HAProxy against nginx,
# check the same deny policy first, interleave rounds, and report medians and
# ratios with their key=value figures. The protocol-specific parts (the curl
# probe, the load generator, the columns) stay in each script.

# xb_web_args SCRIPT KNOB DEFAULT ARGS...: parse --smoke, --rounds N,
# --seconds S, --KNOB N and --kv FILE into rounds, secs, smoke, knob and
# XB_KV; SHOWN is the command line as printed (--kv names a temp file).
xb_web_args() {
	local script=$1 flag=$2 v
	knob=$3 # shellcheck disable=SC2034 # read by the caller
	shift 3
	SHOWN=$(sed -E 's/ ?--kv [^ ]+//' <<<"$*")
	rounds=7 secs=4 smoke=0
	while (($#)); do
		case $1 in
		--smoke) smoke=1 rounds=1 secs=1 ;;
		--rounds) rounds=${2:?--rounds needs a number}; shift ;;
		--seconds) secs=${2:?--seconds needs a number}; shift ;;
		"--$flag") knob=${2:?--$flag needs a number}; shift ;;
		--kv) XB_KV=${2:?--kv needs a file}; shift ;;
		*) xf_die "$script: unknown argument '$1' (--smoke, --rounds N, --seconds S, --$flag N, --kv FILE)" ;;
		esac
		shift
	done
	for v in "rounds rounds" "secs seconds" "knob $flag"; do
		set -- $v
		[[ ${!1} =~ ^[1-9][0-9]{0,3}$ ]] ||
			xf_die "$script: --$2 must be a number 1..9999, got '${!1}'"
	done
}

# xb_web_policy PROBE KIND A_DENY C_DENY: the policy check before measuring;
# also starts the measured runs' file RUNS (empty) and run_checks_ok (1,
# one_run sets 0). PROBE NAME ADDR prints "HTTP_STATUS CURL_EXIT" for a
# request from C; KIND is sni or host (exfilter block KIND:NAME). Fills
# CHECK[] (a_ok, a_deny, b_ok, b_deny, b_drops, c_ok, c_deny) and sets
# policy_ok: every way answers the allowed name 200, (a) answers the denied
# one A_DENY (it reaches nginx), (b) not at all with kernel drops, (c) C_DENY.
xb_web_policy() {
	local probe=$1 kind=$2 a_deny=$3 c_deny=$4 d0 w
	declare -gA CHECK=()
	RUNS=$XF_TMP/runs.tsv
	: >"$RUNS"
	run_checks_ok=1
	xb_assert_no_filter
	CHECK[a_ok]=$("$probe" "$XB_ALLOWED" "$XB_IP_S")
	CHECK[a_deny]=$("$probe" "$DENIED" "$XB_IP_S")
	xb_exfilter_up
	xb_exfilter_block_list "$kind"
	d0=$(xb_stat drops)
	CHECK[b_ok]=$("$probe" "$XB_ALLOWED" "$XB_IP_S")
	CHECK[b_deny]=$("$probe" "$DENIED" "$XB_IP_S")
	CHECK[b_drops]=$(($(xb_stat drops) - d0))
	xb_exfilter_down
	CHECK[c_ok]=$("$probe" "$XB_ALLOWED" "$XB_IP_P")
	CHECK[c_deny]=$("$probe" "$DENIED" "$XB_IP_P")
	for w in a b c; do
		xb_log "policy $w: allowed -> ${CHECK[${w}_ok]}, denied -> ${CHECK[${w}_deny]}"
	done
	policy_ok=1
	[[ ${CHECK[a_ok]% *} == 200 && ${CHECK[a_deny]% *} == "$a_deny" ]] || policy_ok=0
	[[ ${CHECK[b_ok]% *} == 200 && ${CHECK[b_deny]% *} == 000 && ${CHECK[b_drops]} -gt 0 ]] || policy_ok=0
	[[ ${CHECK[c_ok]% *} == 200 && ${CHECK[c_deny]% *} == "$c_deny" ]] || policy_ok=0
}

# xb_web_policy_table WHAT C_NOTE: the policy check as a markdown table
# (WHAT: "SNI" or "Host"); exits 1 after it when the check failed.
xb_web_policy_table() {
	cat <<EOT
Policy check before measuring (curl from the client namespace):

| way | allowed $1 | denied $1 \`$DENIED\` |
|---|---|---|
| ${NAME[a]} (control) | $(xb_describe "${CHECK[a_ok]}") | $(xb_describe "${CHECK[a_deny]}"): reaches nginx |
| ${NAME[b]} | $(xb_describe "${CHECK[b_ok]}") | $(xb_describe "${CHECK[b_deny]}"); kernel drops +${CHECK[b_drops]} |
| ${NAME[c]} | $(xb_describe "${CHECK[c_ok]}") | $(xb_describe "${CHECK[c_deny]}")$2 |

EOT
	if ((!policy_ok)); then
		echo "**Policy check failed: the three ways do not enforce the same policy; nothing measured.**"
		exit 1
	fi
}

# xb_web_rounds WARMUP_CMD...: unless --smoke, one uncounted warm-up run of
# WARMUP_CMD from C (page cache, the servers' first allocations); then
# $rounds rounds of one_run WAY ROUND, ways interleaved a, b, c, a, ...
xb_web_rounds() {
	local r w
	((policy_ok)) || return 0
	((smoke)) || xf_in "$XF_NS_C" "${XB_PIN_CLIENT[@]}" "$@" >/dev/null 2>&1 || true
	for ((r = 1; r <= rounds; r++)); do
		for w in a b c; do
			one_run "$w" "$r"
		done
	done
}

# xb_web_col WAY COLUMN: the median of RUNS' column for the way
xb_web_col() { awk -F'\t' -v w="$1" -v c="$2" '$1 == w { print $c }' "$RUNS" | xb_median; }

# xb_web_sum WAY COLUMN: the sum of RUNS' column for the way
xb_web_sum() { awk -F'\t' -v w="$1" -v c="$2" '$1 == w { s += $c } END { print s + 0 }' "$RUNS"; }

# xb_diff X Y: X - Y
xb_diff() { awk -v x="$1" -v y="$2" 'BEGIN { print x - y }'; }

# xb_web_finish PREFIX: the key=value figures of RATE[] and P99[] (us) and
# their ratios for make bench's verdict; exits 1 when a run failed its checks.
xb_web_finish() {
	local p=$1 w
	xb_kv "$p.smoke" "$smoke"
	xb_kv "$p.rounds" "$rounds"
	xb_kv "$p.checks_ok" "$run_checks_ok"
	for w in a b c; do
		xb_kv "$p.rate_$w" "${RATE[$w]}"
		xb_kv "$p.p99_us_$w" "${P99[$w]}"
	done
	xb_kv "$p.ratio_b_a" "$(xb_ratio "${RATE[b]}" "${RATE[a]}")"
	xb_kv "$p.ratio_c_a" "$(xb_ratio "${RATE[c]}" "${RATE[a]}")"
	xb_kv "$p.ratio_b_c" "$(xb_ratio "${RATE[b]}" "${RATE[c]}")"
	xb_kv "$p.added_p99_us_b" "$(xb_diff "${P99[b]}" "${P99[a]}")"
	xb_kv "$p.added_p99_us_c" "$(xb_diff "${P99[c]}" "${P99[a]}")"
	((run_checks_ok)) || {
		echo
		echo "**A run failed its checks (see stderr): the figures above are not valid.**"
		exit 1
	}
	exit 0
}
