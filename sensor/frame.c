// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * frame.c - per-frame parsing in userspace, step for step what
 * bpf/process.bpf.h does in the kernel: copy at most XF_HDR_WIN header bytes,
 * parse to L4, copy at most the protocol's payload window, then run the same
 * DNS / TLS / HTTP parsers and name features. Then, for replay, the
 * kernel's static decision and the event record it would emit.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
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
	cfg->msg_bytes = 512;
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
		if (len < XF_ETH_HLEN + 20 || (d[14] & 0xf) != 5 || ((d[20] << 8 | d[21]) & 0x1fff))
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

/* The two-label rules' hashes: a list while loading, then an open-addressing
 * set (a replayed packet asks once per name of 3+ labels; a binary search
 * over a few thousand rules costs a dozen cache misses). */
struct xf_suffix_set {
	__u64 *h;
	size_t n, cap;
	__u64 *slot; /* 0 = empty; a rule hashing to 0 sets has_zero */
	size_t mask;
	int has_zero;
};

static size_t set_pos(__u64 h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	return (size_t)(h ^ (h >> 33));
}

int xf_psl_two_label_rules(const char *psl_path, int (*fn)(void *ctx, const char *rule), void *ctx)
{
	char line[512];
	FILE *f = fopen(psl_path, "r");
	int n = 0, err = 0;

	if (!f)
		return -errno;
	while (!err && fgets(line, sizeof(line), f)) {
		char *p = line, *dot;

		line[strcspn(line, " \t\r\n")] = 0;
		if (!*p || p[0] == '/' || p[0] == '!' || p[0] == '*')
			continue;
		dot = strchr(p, '.');
		if (!dot || strchr(dot + 1, '.'))
			continue;
		err = fn(ctx, p);
		n += !err;
	}
	fclose(f);
	return err ? (err < 0 ? err : -err) : n;
}

const char *xf_kernel_rd(const char *name, xf_suffix_fn known, const void *set)
{
	const char *p = name + strlen(name), *labels[3] = { 0 };
	int n = 0;

	while (p > name && n < 3) {
		const char *dot = p - 1;

		while (dot > name && *dot != '.')
			dot--;
		labels[n++] = dot == name ? dot : dot + 1;
		p = dot;
	}
	if (n < 3)
		return name;
	return known(set, xf_name_hash_text(labels[1])) ? labels[2] : labels[1];
}

static int set_add(void *ctx, const char *rule)
{
	struct xf_suffix_set *s = ctx;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		__u64 *h = realloc(s->h, cap * sizeof(*h));

		if (!h)
			return -ENOMEM;
		s->h = h;
		s->cap = cap;
	}
	s->h[s->n++] = xf_name_hash_text(rule);
	return 0;
}

struct xf_suffix_set *xf_suffix_set_load(const char *psl_path)
{
	struct xf_suffix_set *s = calloc(1, sizeof(*s));
	int n;

	if (!s)
		return NULL;
	n = xf_psl_two_label_rules(psl_path, set_add, s);
	if (n < 0) {
		xf_suffix_set_free(s);
		errno = -n;
		return NULL;
	}
	for (s->mask = 16; s->mask < s->n * 2; s->mask <<= 1)
		;
	s->slot = calloc(s->mask, sizeof(*s->slot));
	if (!s->slot) {
		xf_suffix_set_free(s);
		errno = ENOMEM;
		return NULL;
	}
	s->mask--;
	for (size_t i = 0; i < s->n; i++) {
		size_t k = set_pos(s->h[i]) & s->mask;

		if (!s->h[i]) {
			s->has_zero = 1;
			continue;
		}
		while (s->slot[k] && s->slot[k] != s->h[i])
			k = (k + 1) & s->mask;
		s->slot[k] = s->h[i];
	}
	free(s->h); /* the list served its purpose */
	s->h = NULL;
	return s;
}

void xf_suffix_set_free(struct xf_suffix_set *s)
{
	if (!s)
		return;
	free(s->h);
	free(s->slot);
	free(s);
}

int xf_suffix_set_has(const void *set, __u64 hash)
{
	const struct xf_suffix_set *s = set;

	if (!s)
		return 0;
	if (!hash)
		return s->has_zero;
	for (size_t k = set_pos(hash) & s->mask; s->slot[k]; k = (k + 1) & s->mask)
		if (s->slot[k] == hash)
			return 1;
	return 0;
}

/* The index of (hash, kind) in keys, or -1. A few config entries: a scan. */
static int list_find(const struct xf_vkey *keys, int n, __u64 hash, __u32 kind)
{
	for (int i = 0; i < n; i++)
		if (keys[i].hash == hash && keys[i].kind == kind)
			return i;
	return -1;
}

static int verdict_of(const struct xf_frame_lists *l, __u64 hash, __u32 kind, __u8 dflt,
		      __u8 *action, __u8 *reason)
{
	int at = l ? list_find(l->block, l->n_block, hash, kind) : -1;

	if (at < 0)
		return 0;
	*action = l->block_v[at].action;
	*reason = l->block_v[at].reason ? l->block_v[at].reason : dflt;
	return *action != XF_ACT_PASS;
}

void xf_frame_decide(const struct xf_config *cfg, const struct xf_frame_lists *l,
		     const struct xf_frame *f, __u8 *action, __u8 *reason, __u8 *flags)
{
	const struct xf_name_feat *x = &f->feat;

	*action = XF_ACT_PASS;
	*reason = XF_R_NONE;
	*flags = (f->pkt.ipv6 ? XF_EF_IPV6 : 0) | (f->tcp ? XF_EF_TCP : 0);
	if (f->kind == XF_EV_DNS_RESPONSE)
		return; /* counted, never judged */
	if (verdict_of(l, x->rd_hash, XF_VK_DOMAIN, XF_R_VERDICT_DOMAIN, action, reason) ||
	    (f->kind == XF_EV_SNI &&
	     verdict_of(l, x->name_hash, XF_VK_SNI, XF_R_VERDICT_SNI, action, reason)) ||
	    (f->kind == XF_EV_HOST &&
	     verdict_of(l, x->name_hash, XF_VK_HOST, XF_R_VERDICT_HOST, action, reason))) {
		/* a verdict */
	} else if (f->kind != XF_EV_DNS_QUERY) {
		return;
	} else if (cfg->enc_label_drop && x->enc_longest >= cfg->enc_label_drop) {
		*action = (__u8)cfg->limit_action;
		*reason = XF_R_ENC_LABEL;
	} else if (cfg->drop_bad_bytes && x->binary) {
		*action = (__u8)cfg->limit_action;
		*reason = XF_R_BAD_BYTES;
	}
	if (*action != XF_ACT_PASS && l &&
	    list_find(l->allow, l->n_allow, x->rd_hash, XF_VK_DOMAIN) >= 0) {
		*flags |= XF_EF_ALLOWED;
		*action = XF_ACT_PASS;
		*reason = XF_R_NONE;
	}
	if (*action == XF_ACT_REFUSE &&
	    !(f->kind == XF_EV_DNS_QUERY && f->pkt.l4proto == XF_IPPROTO_UDP))
		*action = XF_ACT_DROP;
}

void xf_frame_event(const __u8 *data, __u32 len, const struct xf_frame *f,
		    const struct xf_config *cfg, const struct xf_frame_lists *l, __u64 ts_ns,
		    struct xf_event *ev)
{
	__u32 n = f->name_len < XF_NAME_MAX ? f->name_len : XF_NAME_MAX;

	memset(ev, 0, sizeof(*ev));
	ev->version = XF_EVENT_VERSION;
	ev->kind = (__u8)f->kind;
	xf_frame_decide(cfg, l, f, &ev->action, &ev->reason, &ev->flags);
	ev->mode = (__u8)cfg->mode;
	ev->pkt_len = len;
	ev->ts_ns = ts_ns;
	memcpy(ev->saddr, f->pkt.saddr, 16);
	memcpy(ev->daddr, f->pkt.daddr, 16);
	ev->sport = f->pkt.sport;
	ev->dport = f->pkt.dport;
	ev->feat = f->feat;
	if (f->name_off >= len)
		n = 0;
	else if (n > len - f->name_off)
		n = len - f->name_off;
	ev->name_len = (__u16)n;
	memcpy(ev->name, data + f->name_off, n);
}
