// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * frame.c - per-frame parsing in userspace, step for step what
 * bpf/process.bpf.h does in the kernel: copy at most XF_HDR_WIN header bytes,
 * parse to L4, copy at most the protocol's payload window, then run the same
 * DNS / TLS / HTTP parsers and name features.
 */
#include <string.h>
#include "frame.h"

#define XF_DNS_COPY 512
#define XF_HTTP_COPY (XF_HTTP_WIN + 272)

void xf_config_defaults(struct xf_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mode = XF_MODE_MONITOR;
	cfg->sample_every = 0;
	cfg->enc_label_min = 16;
	cfg->enc_label_drop = 40;
	cfg->long_qname = 100;
	cfg->drop_bad_bytes = 1;
	cfg->kwin_ms = 10000;
	cfg->kq_limit = 0;
	cfg->kenc_limit = 200;
	cfg->limit_action = XF_ACT_DROP;
	cfg->dns_port = 53;
	cfg->tls_ports[0] = 443;
	cfg->http_ports[0] = 80;
	cfg->event_gap_ms = 1000;
}

__u64 xf_name_hash_text(const char *name)
{
	struct xf_buf b = { .p = (const __u8 *)name, .len = (__u32)strlen(name) };
	__u64 h = XF_FOLD_SEED;
	__u32 i, start = 0;

	for (i = 0; i <= b.len; i++) {
		if (i < b.len && name[i] != '.')
			continue;
		if (i > start)
			h = xf_hash_fold(h, xf_label_hash(&b, start, i - start, b.len / 8 + 1));
		start = i + 1;
	}
	return h;
}

static int port_in(const __u16 *ports, __u16 port)
{
	int i;

	for (i = 0; port && i < XF_PORTS_MAX; i++)
		if (ports[i] == port)
			return 1;
	return 0;
}

static void name_done(struct xf_name_state *s, struct xf_name_feat *f, xf_suffix_fn sfx,
		      const void *set)
{
	int known = 0;

	if (f->labels >= 3 && sfx)
		known = sfx(set, xf_name_suffix2(s));
	xf_name_finish(s, f, known);
}

static int parse_dns(struct xf_buf *b, const struct xf_config *cfg, xf_suffix_fn sfx,
		     const void *set, struct xf_frame *f)
{
	struct xf_name_state s;
	struct xf_dns_msg m = { 0 };
	__u8 hist[256] = { 0 };
	struct xf_walk w = { .b = b, .s = &s, .f = &f->feat, .hist = hist };
	int err;

	if (f->pkt.l4proto == XF_IPPROTO_TCP) {
		if (!xf_has(b, 0, 2 + XF_DNS_HDR) || xf_b16(b, 0) < XF_DNS_HDR)
			return -XF_PE_DNS_TCPLEN;
		m.off = 2;
		f->tcp = 1;
	}
	xf_name_init(&s, &f->feat, cfg->enc_label_min);
	err = xf_parse_dns(&w, &m);
	if (err)
		return err;
	name_done(&s, &f->feat, sfx, set);
	f->kind = (f->feat.dns_flags & XF_DNS_QR) ? XF_EV_DNS_RESPONSE : XF_EV_DNS_QUERY;
	f->name_off = f->pkt.payload_off + m.qname_off;
	f->name_len = m.qname_wire;
	return XF_OK;
}

static int parse_text(struct xf_buf *b, const struct xf_config *cfg, xf_suffix_fn sfx,
		      const void *set, struct xf_frame *f, int tls)
{
	struct xf_name_state s;
	__u8 hist[256] = { 0 };
	struct xf_walk w = { .b = b, .s = &s, .f = &f->feat, .hist = hist };
	__u32 off = 0, n = 0;
	int err;

	err = tls ? xf_parse_tls_sni(b, &off, &n) : xf_parse_http_host(b, &off, &n);
	if (err)
		return err;
	xf_name_init(&s, &f->feat, cfg->enc_label_min);
	xf_name_walk_text(&w, off, n);
	name_done(&s, &f->feat, sfx, set);
	f->kind = tls ? XF_EV_SNI : XF_EV_HOST;
	f->name_off = f->pkt.payload_off + off;
	f->name_len = n;
	return XF_OK;
}

/*
 * Twin of xf_tc_not_ours() in bpf/exfilter_tc.bpf.c, the TC fast exit: an
 * untagged IPv4 (no options, not a later fragment) or IPv6 (no extension
 * header) UDP/TCP packet on none of the configured ports, or another IP
 * protocol, is passed without further parsing, so nothing is counted for it.
 * The BPF tests' differential fuzz checks that both agree.
 */
static int not_ours(const __u8 *d, __u32 len, const struct xf_config *cfg)
{
	__u32 l4;
	__u16 proto, sport, dport;

	if (len < XF_ETH_HLEN)
		return 0;
	proto = (__u16)(d[12] << 8 | d[13]);
	if (proto == XF_ETH_P_IP) {
		if (len < XF_ETH_HLEN + 20 || (d[14] & 0xf) != 5 ||
		    ((d[20] << 8 | d[21]) & 0x1fff))
			return 0;
		proto = d[23];
		l4 = XF_ETH_HLEN + 20;
	} else if (proto == XF_ETH_P_IPV6) {
		if (len < XF_ETH_HLEN + 40)
			return 0;
		proto = d[20];
		l4 = XF_ETH_HLEN + 40;
	} else {
		return 0;
	}
	if (proto != XF_IPPROTO_UDP && proto != XF_IPPROTO_TCP)
		return proto != XF_IPPROTO_HOPOPTS && proto != XF_IPPROTO_ROUTING &&
		       proto != XF_IPPROTO_FRAGMENT && proto != XF_IPPROTO_AH &&
		       proto != XF_IPPROTO_DSTOPTS;
	if (len < l4 + 4)
		return 0;
	sport = (__u16)(d[l4] << 8 | d[l4 + 1]);
	dport = (__u16)(d[l4 + 2] << 8 | d[l4 + 3]);
	if (sport == cfg->dns_port || dport == cfg->dns_port)
		return 0;
	return proto == XF_IPPROTO_UDP ||
	       (!port_in(cfg->tls_ports, dport) && !port_in(cfg->http_ports, dport));
}

int xf_frame_parse(const __u8 *data, __u32 len, const struct xf_config *cfg, xf_suffix_fn sfx,
		   const void *sfx_set, struct xf_frame *f)
{
	struct xf_buf b = { .p = data, .len = len < XF_HDR_WIN ? len : XF_HDR_WIN };
	__u32 cap;
	int err, kind;

	memset(f, 0, sizeof(*f));
	if (not_ours(data, len, cfg))
		return XF_SKIP;
	if (b.len < XF_ETH_HLEN)
		return f->err = -XF_PE_ETH_TRUNC;
	err = xf_parse_pkt(&b, len, &f->pkt);
	if (err)
		return err < 0 ? (f->err = err) : err;
	if (f->pkt.dport == cfg->dns_port || f->pkt.sport == cfg->dns_port) {
		kind = XF_EV_DNS_QUERY;
		cap = XF_DNS_COPY;
	} else if (f->pkt.l4proto == XF_IPPROTO_TCP && port_in(cfg->tls_ports, f->pkt.dport)) {
		kind = XF_EV_SNI;
		cap = XF_BUF_LEN;
	} else if (f->pkt.l4proto == XF_IPPROTO_TCP && port_in(cfg->http_ports, f->pkt.dport)) {
		kind = XF_EV_HOST;
		cap = XF_HTTP_COPY;
	} else {
		return XF_SKIP;
	}
	if (f->pkt.payload_len == 0)
		return XF_SKIP; /* a bare TCP segment */
	b.p = data + f->pkt.payload_off;
	b.len = f->pkt.payload_len < cap ? f->pkt.payload_len : cap;
	if (kind == XF_EV_DNS_QUERY)
		err = parse_dns(&b, cfg, sfx, sfx_set, f);
	else
		err = parse_text(&b, cfg, sfx, sfx_set, f, kind == XF_EV_SNI);
	if (err < 0)
		f->err = err;
	return err;
}
