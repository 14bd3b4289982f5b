# shellcheck shell=bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# lib_enforce.sh - what bench_tls.sh and bench_http.sh share: a client and a
# server namespace (tests/integration/lib.sh's topology; A is unused), nginx
# and HAProxy in the server namespace, exfilter started and stopped on the
# server's client-facing veth, the deny list, CPU pinning and medians.
#
#   client C (10.201.1.2) --veth-- R: xf-rc  10.201.1.1  nginx :443 :80 (ways a, b)
#                                            10.201.1.3  HAProxy :443 :80 (way c)
#                                      lo    127.0.0.1   nginx :443 :80 (HAProxy's backend)
#                                                        nginx :8080 stub_status
#
# exfilter attaches TC on xf-rc (ClientHellos and requests arrive on its
# ingress) only while way (b) runs; ways (a) and (c) run with no filter on
# the link, which xb_no_filter checks before each of their runs.
#
# Pinning on a 2-core machine: the load generator on CPU 0, every server-side
# process (nginx's master and worker, HAProxy, the exfilter sensor) on CPU 1.
# The veth delivers a packet in the sender's softirq, so exfilter's BPF
# program runs on CPU 0 for client-to-server packets, as on a gateway where
# the filter shares the sending host. XB_NO_PIN=1 turns pinning off.
#
# Source after tests/integration/lib.sh; call xb_setup, then the xb_* below.
# Everything started here lives in the lab namespaces or XF_TMP and goes in
# xb_teardown (the EXIT trap): processes, namespaces, temp dir, pinned maps.

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
XB_CPU_CLIENT=""
XB_CPU_SERVER=""
XB_EXFILTER=""

xb_log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }

# Median of the numbers on stdin (mean of the middle two for an even count).
xb_median() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (!NR) { print 0; exit }
		if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# xb_ratio A B -> A/B with 2 decimals ("-" when B is 0)
xb_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }

# Command prefixes that pin to a CPU ("taskset -c N"), empty without pinning.
XB_PIN_CLIENT=()
XB_PIN_SERVER=()

xb_pinning() {
	if [[ ${XB_NO_PIN:-0} == 1 || $(nproc) -lt 2 ]]; then
		echo "no pinning"
	else
		echo "load generator on CPU $XB_CPU_CLIENT, nginx, HAProxy and the exfilter sensor on CPU $XB_CPU_SERVER; exfilter's BPF runs in the sender's softirq (CPU $XB_CPU_CLIENT)"
	fi
}

xb_teardown() {
	local rc=$?
	xf_teardown
	# pins live in the root bpffs, not in a namespace; only ours
	[[ -n $XB_PIN && $XB_PIN == /sys/fs/bpf/xf-bench-* ]] && rm -rf -- "$XB_PIN"
	return "$rc"
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

xb_setup() {
	local t
	xf_require_tools nsenter taskset openssl curl nginx haproxy "$@"
	XB_EXFILTER=$(xf_repo_root)/.output/exfilter
	[[ -x $XB_EXFILTER ]] || xf_die "build first: make ($XB_EXFILTER missing)"
	if [[ ${XB_NO_PIN:-0} != 1 && $(nproc) -ge 2 ]]; then
		XB_CPU_CLIENT=0
		XB_CPU_SERVER=1
		XB_PIN_CLIENT=(taskset -c "$XB_CPU_CLIENT")
		XB_PIN_SERVER=(taskset -c "$XB_CPU_SERVER")
	fi
	xf_gc_stale
	t=$(xf_now)
	xf_topo_up
	XB_PIN=/sys/fs/bpf/xf-bench-$XF_TAG
	xb_log "tag=$XF_TAG tmp=$XF_TMP pin=$XB_PIN"
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
	xb_log "lab up in $(xf_since "$t")s"
}

# True when no TC filter is attached on R's client-facing veth.
xb_no_filter() {
	[[ -z $(tc -n "$XF_NS_R" filter show dev "$XF_IF_RC" ingress 2>/dev/null) ]]
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

# xb_exfilter_up PREFIX: run the sensor in enforce mode on xf-rc, then block
# PREFIX:NAME for every name of the deny list (sni or host).
xb_exfilter_up() {
	local kind=$1 n
	[[ -d /sys/fs/bpf ]] || xf_die "bpffs is not mounted on /sys/fs/bpf"
	# nsenter, not ip netns exec (xf_bg): the latter mounts a private /sys,
	# which hides the pinned maps that `exfilter block` and `status` use
	: >"$XF_TMP/exfilter.log"
	nsenter --net="/run/netns/$XF_NS_R" timeout -k 3 "$XF_LIFETIME" "${XB_PIN_SERVER[@]}" \
		"$XB_EXFILTER" --pin-dir "$XB_PIN" run --iface "$XF_IF_RC" --mode enforce \
		--db "$XF_TMP/alerts.db" >"$XF_TMP/exfilter.log" 2>&1 </dev/null &
	echo $! >"$XF_TMP/exfilter.pid"
	xf_wait_for 20 grep -q "running in" "$XF_TMP/exfilter.log" ||
		xf_die "exfilter did not attach: $(tail -n 5 "$XF_TMP/exfilter.log")"
	for n in "${XB_DENIED[@]}"; do
		xb_xf block "$kind:$n" >/dev/null || xf_die "exfilter block $kind:$n failed"
	done
}

xb_exfilter_down() {
	xf_stop exfilter
	xf_wait_for 5 xb_no_filter || xf_die "exfilter left a filter on $XF_IF_RC after it stopped"
	rm -rf -- "$XB_PIN"
}

# Fails (harness broken) unless the link is filter-free for ways (a)/(c).
xb_assert_no_filter() {
	xb_no_filter || xf_die "a TC filter is on $XF_IF_RC during an unfiltered run"
}
