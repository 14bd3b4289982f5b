/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * process.bpf.h - the per-packet pipeline both programs run: copy the
 * headers, parse, extract a DNS question / TLS server_name / HTTP Host, count
 * per client x registered domain, decide a verdict, emit an event. The entry
 * files (exfilter_tc.bpf.c, exfilter_sock.bpf.c) only say what they can do
 * with the verdict.
 */
#ifndef XF_PROCESS_BPF_H
#define XF_PROCESS_BPF_H

/*
 * A long DNS name's byte loop runs in a global function, xf_g_dns_long()
 * (below): its loop keeps its tables and counters in registers there, where
 * inlined into xf_process() it would reload them from the stack at every
 * byte, which costs more than the call.
 */
__noinline int xf_g_dns_long(void);
#define XF_DNS_BYTES_LONG(w, m) xf_g_dns_long()

#include "parse_pkt.h"
#include "parse_dns.h"
#include "parse_tls.h"
#include "parse_http.h"

#define XF_DNS_COPY 512 /* header + 255-byte qname + qtype/qclass + TCP prefix */
#define XF_HTTP_COPY (XF_HTTP_WIN + 272) /* window + a Host value past it */
/* the first copy: every header window plus a DNS payload window */
#define XF_FRAME_COPY (XF_HDR_WIN + XF_DNS_COPY)
#define XF_BASE_MASK 255 /* a payload starts within the header window */
/*
 * Scratch buffer: a payload window (XF_BUF_LEN, offsets masked) may start up
 * to XF_BASE_MASK bytes in, and readers may run XF_NAME_MAX bytes past a
 * masked offset (the event's name copy, word loads).
 */
#define XF_SCR_BUF (XF_BUF_LEN + XF_BASE_MASK + 1 + XF_NAME_MAX)

/* Everything the pipeline learned about one packet. */
struct xf_ctx {
	struct xf_pkt pkt;
	struct xf_name_feat feat;
	struct xf_dns_msg msg;
	__u64 now;
	__u32 kind; /* enum xf_ev_kind, 0 = nothing to report */
	__u32 name_off; /* in the payload copy */
	__u32 name_len;
	__u32 copied; /* frame bytes in the scratch buffer */
	__u32 base; /* where the payload starts in the scratch buffer */
	__u32 blen; /* payload bytes there */
	__u8 action;
	__u8 reason;
	__u8 flags;
	__u8 notable; /* worth an event even when passed */
};

/* xf_suffix_known(): a per-CPU cache of suffixes map answers */
#define XF_SFX_CACHE 256
#define XF_SFX_TTL_NS 1000000000ULL

struct xf_sfx_slot {
	__u64 key; /* the suffix hash */
	__u64 stamp; /* when looked up (bit 0: known; 0: empty slot) */
};

#include "maps.bpf.h"

/*
 * n in [1, max] (max a power of two), rewritten so the verifier can bound it:
 * clang turns a plain range check into a form the verifier cannot follow.
 */
static __always_inline __u32 xf_len_bound(__u32 n, __u32 max)
{
	return ((n - 1) & (max - 1)) + 1;
}

static __always_inline void xf_perr(__u64 *st, int err)
{
	/* the mask bounds the index for the verifier; every code is < 32 */
	st[XF_STAT_PERR((__u32)-err & (XF_PERR_SLOTS - 1))]++;
	st[XF_S_PARSE_ERRORS]++;
}

static __always_inline int xf_port_in(const __u16 *ports, __u16 port)
{
	return port &&
	       (ports[0] == port || ports[1] == port || ports[2] == port || ports[3] == port);
}

/* A verdict that acts now: not pass, not expired (expired entries are left for userspace). */
static __always_inline int xf_verdict_live(const struct xf_verdict *v, __u64 now)
{
	return v && v->action != XF_ACT_PASS && !(v->expires_ns && v->expires_ns < now);
}

/* Verdict map lookup that honours expiry. */
static __always_inline int xf_verdict_get(__u64 hash, __u32 kind, __u64 now, struct xf_ctx *x,
					  __u8 reason)
{
	struct xf_vkey k = { .hash = hash, .kind = kind };
	struct xf_verdict *v = bpf_map_lookup_elem(&xf_verdicts, &k);

	if (!xf_verdict_live(v, now))
		return 0;
	x->action = v->action;
	x->reason = v->reason ? v->reason : reason;
	return 1;
}

static __always_inline int xf_ipblock_get(const __u8 *addr, struct xf_ctx *x)
{
	struct xf_lpm_key k = { .prefixlen = 128 };
	struct xf_verdict *v;

	__builtin_memcpy(k.addr, addr, 16);
	v = bpf_map_lookup_elem(&xf_ipblock, &k);
	if (!xf_verdict_live(v, x->now))
		return 0;
	x->action = v->action;
	x->reason = XF_R_IPBLOCK;
	return 1;
}

/*
 * CLOCK_MONOTONIC at tick resolution. bpf_ktime_get_coarse_ns() is a helper
 * call (~15 ns here) whose answer only moves once a tick; jiffies moves on
 * the same tick and bpf_jiffies64() is inlined into a plain load. So read the
 * coarse clock once per jiffy per CPU and reuse it: the value can lag the
 * coarse clock by one more tick (jiffies may step just before the coarse time
 * does), never goes backwards, and windows and expiry only need ticks.
 */
static __always_inline __u64 xf_now(struct xf_scratch *sc)
{
	__u64 j = bpf_jiffies64();

	if (j != sc->clk_jiffies) {
		sc->clk_jiffies = j;
		sc->clk_ns = bpf_ktime_get_coarse_ns();
	}
	return sc->clk_ns;
}

/*
 * Is the two-label suffix sfx (a hash) a public suffix? The suffixes map is
 * filled once, before the programs attach, and the sensor never changes it;
 * a hash map lookup costs a helper call and the key's hash (~15-20 ns here).
 * So each CPU keeps the answers for recently seen suffixes in a small
 * direct-mapped cache in its scratch entry, each valid for XF_SFX_TTL_NS: a
 * change made to the map while running reaches every CPU within that time.
 */
static __always_inline int xf_suffix_known(struct xf_scratch *sc, __u64 sfx)
{
	struct xf_sfx_slot *e = &sc->sfx_cache[sfx & (XF_SFX_CACHE - 1)];
	__u64 now = xf_now(sc);
	int known;

	if (e->key == sfx && e->stamp && now - (e->stamp & ~1ULL) < XF_SFX_TTL_NS)
		return (int)(e->stamp & 1);
	known = bpf_map_lookup_elem(&xf_suffixes, &sfx) != NULL;
	e->key = sfx;
	e->stamp = (now & ~1ULL) | (__u64)known | (now ? 0 : 2); /* never 0: 0 is empty */
	return known;
}

/* Walk a name's features and resolve its registered domain. */
static __always_inline void xf_name_done(struct xf_scratch *sc, struct xf_name_state *s,
					 struct xf_name_feat *f)
{
	__u64 sfx2 = xf_name_suffix2(s);
	int known = 0;

	if (f->labels >= 3)
		known = xf_suffix_known(sc, sfx2);
	xf_name_finish_sfx(s, f, known, sfx2);
}

/*
 * Copy the first n (XF_ETH_HLEN..XF_FRAME_COPY) frame bytes into the scratch
 * buffer. In TC (direct), a linear frame is copied inline, 32 bytes at a
 * time, and the 32 bytes ending at n last; bpf_skb_load_bytes() costs a
 * helper call and a memcpy call (~15 ns for a short frame, ~30 for 300
 * bytes), which is most of what it takes to parse a DNS query.
 */
static __always_inline int xf_load_frame(struct __sk_buff *skb, __u8 *dst, __u32 n, int direct)
{
	__u32 i, last = (n - 32) & 1023;
	void *data, *end;
	__u8 *p;

	/* socket filters cannot read the packet in place; no UDP/TCP frame is this short */
	if (!direct || n < 32)
		return bpf_skb_load_bytes(skb, 0, dst, xf_len_bound(n, 1024));
	data = (void *)(long)skb->data;
	end = (void *)(long)skb->data_end;
	if (data + n > end) /* not linear that far */
		return bpf_skb_load_bytes(skb, 0, dst, xf_len_bound(n, 1024));
	for (i = 0; i < XF_FRAME_COPY / 32; i++) {
		p = data + i * 32;
		if (i * 32 + 32 > n || (void *)(p + 32) > end)
			break;
		*(__u64 *)(dst + i * 32) = *(__u64 *)p;
		*(__u64 *)(dst + i * 32 + 8) = *(__u64 *)(p + 8);
		*(__u64 *)(dst + i * 32 + 16) = *(__u64 *)(p + 16);
		*(__u64 *)(dst + i * 32 + 24) = *(__u64 *)(p + 24);
	}
	/* the rest: the 32 bytes that end at n, overlapping what is copied */
	p = data + last;
	if ((void *)(p + 32) > end)
		return -1;
	*(__u64 *)(dst + last) = *(__u64 *)p;
	*(__u64 *)(dst + last + 8) = *(__u64 *)(p + 8);
	*(__u64 *)(dst + last + 16) = *(__u64 *)(p + 16);
	*(__u64 *)(dst + last + 24) = *(__u64 *)(p + 24);
	return 0;
}

/*
 * Make the first n (1..cap) payload bytes readable at sc->buf + x->base:
 * they are usually in the frame copy already; if not, copy them to the
 * buffer's start.
 */
static __always_inline int xf_load_payload(struct __sk_buff *skb, struct xf_scratch *sc,
					   struct xf_ctx *x, __u32 cap, struct xf_buf *b)
{
	const struct xf_pkt *p = &x->pkt;
	__u32 n = p->payload_len < cap ? p->payload_len : cap;

	if (n == 0 || n > XF_BUF_LEN)
		return -1;
	if (p->payload_off + n <= x->copied) {
		x->base = p->payload_off;
	} else {
		n = xf_len_bound(n, XF_BUF_LEN);
		if (bpf_skb_load_bytes(skb, p->payload_off, sc->buf, n))
			return -1;
		x->base = 0;
	}
	b->p = sc->buf + (x->base & XF_BASE_MASK);
	b->len = n;
	return 0;
}

/* The payload in the scratch buffer (x->base set by xf_load_payload). */
static __always_inline const __u8 *xf_pl(struct xf_scratch *sc)
{
	return sc->buf + (sc->ctx.base & XF_BASE_MASK);
}

/*
 * The TLS and HTTP parsers run inside global (non-static, noinline)
 * functions. The verifier checks a global function once, on its own, with
 * unknown arguments, and its caller sees unknown results. Without that
 * boundary every way a bounded loop can exit would be carried as a separate
 * state through everything after it, past the verifier's limit. They take
 * the scratch entry and plain lengths: a pointer stored inside a struct
 * argument would reach them as a plain number. The name walks are inlined
 * (a call costs ~8 ns here): their loops are written so that their exits
 * join (parse_name.h), and xf_process() runs them from one state.
 */

/* Start a walk over the scratch entry's first len bytes. */
static __always_inline void xf_walk_init(struct xf_walk *w, struct xf_buf *b, struct xf_scratch *sc,
					 const struct xf_config *cfg, __u32 len)
{
	b->p = xf_pl(sc);
	b->len = len;
	w->b = b;
	w->s = &sc->ns;
	w->f = &sc->ctx.feat;
	w->hist = sc->hist; /* zeroed: every walk leaves it so */
	xf_name_init(&sc->ns, &sc->ctx.feat, cfg->enc_label_min);
}

/*
 * Features of the packet's name: the DNS question at the payload's start
 * (x->kind still 0), or the x->name_len-byte dotted name at x->name_off (SNI,
 * Host). Inlined once for both: xf_process() reads the name's kind back from
 * memory first, so that the verifier walks this code once whichever path
 * found the name (each path then meets a state it has already checked).
 */
static __always_inline int xf_name(struct xf_scratch *sc, const struct xf_config *cfg)
{
	struct xf_ctx *x = &sc->ctx;
	struct xf_walk w;
	struct xf_buf b;
	int err;

	if (x->blen > XF_BUF_LEN) /* never: xf_load_payload() caps it */
		return -XF_PE_DNS_TRUNC;
	xf_walk_init(&w, &b, sc, cfg, x->blen);
	if (!x->kind) {
		err = xf_parse_dns_bytes(&w, &x->msg);
		if (err)
			return err;
	} else {
		xf_text_walk_bytes(&w, x->name_off, x->name_len);
	}
	xf_name_labels(&b, &sc->ns, &x->feat);
	xf_name_done(sc, &sc->ns, &x->feat);
	return XF_OK;
}

/*
 * The byte loop of a checked DNS question name of XF_HIST_SCAN_MIN wire
 * bytes or more (xf_parse_dns_bytes()), on this CPU's scratch entry: the
 * payload at ctx.base, the name at ctx.msg.qname_off. Reads stay inside the
 * scratch buffer whatever the entry holds (masked offsets, bounded loop).
 */
__noinline int xf_g_dns_long(void)
{
	__u32 zero = 0;
	struct xf_scratch *sc = bpf_map_lookup_elem(&xf_scratch, &zero);
	struct xf_walk w;
	struct xf_buf b;

	if (!sc || sc->ctx.blen > XF_BUF_LEN)
		return -XF_PE_DNS_TRUNC;
	b.p = xf_pl(sc);
	b.len = sc->ctx.blen;
	w.b = &b;
	w.s = &sc->ns;
	w.f = &sc->ctx.feat;
	w.hist = sc->hist;
	xf_dns_bytes(&w, &sc->ctx.msg, 0);
	return XF_OK;
}

/* Locate the server_name: (offset << 16 | length), 0 for none, or -error. */
__noinline int xf_g_tls(struct xf_scratch *sc, __u32 len)
{
	struct xf_buf b;
	__u32 off = 0, n = 0;
	int err;

	if (!sc || len > XF_BUF_LEN)
		return -XF_PE_TLS_TRUNC;
	b.p = xf_pl(sc);
	b.len = len;
	err = xf_parse_tls_sni(&b, &off, &n);
	if (err)
		return err == XF_SKIP ? 0 : err;
	return (int)((off << 16) | n);
}

/* Offset of the Host value, 0 when not a request, or -error. */
__noinline int xf_g_http_find(struct xf_scratch *sc, __u32 len)
{
	struct xf_buf b;

	if (!sc || len > XF_BUF_LEN)
		return -XF_PE_HTTP_NOHOST;
	b.p = xf_pl(sc);
	b.len = len;
	if (!xf_http_is_request(&b))
		return 0;
	return xf_http_find_host(&b);
}

/* The Host name at off: (offset << 16 | length), or -error. */
__noinline int xf_g_http_value(struct xf_scratch *sc, __u32 len, __u32 off)
{
	struct xf_buf b;
	__u32 noff = 0, n = 0;
	int err;

	if (!sc || len > XF_BUF_LEN)
		return -XF_PE_HTTP_BAD;
	b.p = xf_pl(sc);
	b.len = len;
	err = xf_http_host_value(&b, off, &noff, &n);
	if (err)
		return err;
	return (int)((noff << 16) | n);
}

/* DNS over UDP or TCP: the payload and the message's start. */
static __always_inline int xf_find_dns(struct __sk_buff *skb, struct xf_scratch *sc,
				       struct xf_ctx *x)
{
	struct xf_buf b;

	if (xf_load_payload(skb, sc, x, XF_DNS_COPY, &b))
		return XF_SKIP; /* no payload: a bare TCP segment */
	x->msg.off = 0;
	if (x->pkt.l4proto == XF_IPPROTO_TCP) {
		if (!xf_has(&b, 0, 2 + XF_DNS_HDR) || xf_b16(&b, 0) < XF_DNS_HDR)
			return -XF_PE_DNS_TCPLEN;
		x->msg.off = 2;
		x->flags |= XF_EF_TCP;
	}
	x->blen = b.len;
	return XF_OK;
}

/* TLS ClientHello server_name or HTTP Host: a dotted name in the payload. */
static __always_inline int xf_find_text(struct __sk_buff *skb, struct xf_scratch *sc,
					struct xf_ctx *x, int tls)
{
	struct xf_buf b;
	int r;

	if (xf_load_payload(skb, sc, x, tls ? XF_BUF_LEN : XF_HTTP_COPY, &b))
		return XF_SKIP;
	if (tls) {
		r = xf_g_tls(sc, b.len);
	} else {
		r = xf_g_http_find(sc, b.len);
		if (r > 0)
			r = xf_g_http_value(sc, b.len, (__u32)r);
	}
	if (r <= 0)
		return r ? r : XF_SKIP;
	x->name_off = (__u32)r >> 16;
	x->name_len = (__u32)r & 0xffff;
	x->blen = b.len;
	x->kind = tls ? XF_EV_SNI : XF_EV_HOST;
	return XF_OK;
}

/*
 * Update this CPU's counters for the flow; apply the per-CPU thresholds.
 * Returns the flow (NULL when it could not be created).
 */
static __always_inline struct xf_flow *xf_flow_count(struct xf_scratch *sc,
						     const struct xf_config *cfg, struct xf_ctx *x,
						     const __u8 *client, int query)
{
	struct xf_flow_key k = { .rd_hash = x->feat.rd_hash };
	struct xf_flow *fl;
	int enc = x->feat.enc_longest > 0;

	__builtin_memcpy(k.client, client, 16);
	fl = bpf_map_lookup_elem(&xf_flows, &k);
	if (!fl) {
		struct xf_flow *zero = &sc->flow0; /* 168 bytes: too big for the stack */

		__builtin_memset(zero, 0, sizeof(*zero));
		zero->first_ns = x->now;
		zero->win_start_ns = x->now;
		bpf_map_update_elem(&xf_flows, &k, zero, BPF_NOEXIST);
		fl = bpf_map_lookup_elem(&xf_flows, &k);
		if (!fl)
			return NULL;
		/* an event names the domain behind rd_hash for the sensor */
		x->notable = 1;
		x->flags |= XF_EF_NEWFLOW;
	}
	fl->last_ns = x->now;
	if (!query) {
		fl->responses++;
		if ((x->feat.dns_flags & XF_DNS_RCODE_MASK) == XF_DNS_RCODE_NXDOMAIN)
			fl->nxdomain++;
		return fl;
	}
	fl->queries++;
	fl->qname_bytes += x->feat.name_len;
	fl->entropy_sum += x->feat.entropy;
	fl->enc_queries += enc;
	fl->long_queries += x->feat.name_len >= cfg->long_qname;
	fl->qtypes[xf_qtype_bucket(x->feat.qtype) & (XF_QT_BUCKETS - 1)]++;
	{
		__u32 i = xf_hll_index(x->feat.name_hash) & (XF_HLL_REGS - 1);
		__u8 r = xf_hll_rank(x->feat.name_hash);

		if (fl->hll[i] < r)
			fl->hll[i] = r;
	}
	if (x->now - fl->win_start_ns > (__u64)cfg->kwin_ms * 1000000ULL) {
		fl->win_start_ns = x->now;
		fl->win_queries = 0;
		fl->win_enc = 0;
	}
	fl->win_queries++;
	fl->win_enc += enc;
	/* query timing for the sensor (beacons, low-and-slow): see event_gap_ms */
	if (cfg->event_gap_ms && x->now - fl->last_ev_ns >= (__u64)cfg->event_gap_ms * 1000000ULL) {
		x->notable = 1;
		x->flags |= XF_EF_GAP;
	}
	if (x->action != XF_ACT_PASS)
		return fl;
	if (cfg->kq_limit && fl->win_queries > cfg->kq_limit) {
		x->action = (__u8)cfg->limit_action;
		x->reason = XF_R_RATE;
	} else if (cfg->kenc_limit && fl->win_enc > cfg->kenc_limit) {
		x->action = (__u8)cfg->limit_action;
		x->reason = XF_R_RATE_ENC;
	}
	return fl;
}

/* Decide the verdict for a query, SNI or Host (the allowlist comes after). */
static __always_inline void xf_decide(const struct xf_config *cfg, struct xf_ctx *x)
{
	struct xf_name_feat *f = &x->feat;

	if (x->action != XF_ACT_PASS) /* ipblock, decided from the headers */
		return;
	if (!(cfg->flags & XF_CF_VERDICTS)) /* no verdict written: skip the lookups */
		goto limits;
	if (xf_verdict_get(f->rd_hash, XF_VK_DOMAIN, x->now, x, XF_R_VERDICT_DOMAIN))
		return;
	if (x->kind == XF_EV_SNI &&
	    xf_verdict_get(f->name_hash, XF_VK_SNI, x->now, x, XF_R_VERDICT_SNI))
		return;
	if (x->kind == XF_EV_HOST &&
	    xf_verdict_get(f->name_hash, XF_VK_HOST, x->now, x, XF_R_VERDICT_HOST))
		return;
limits:
	if (x->kind != XF_EV_DNS_QUERY)
		return;
	if (cfg->enc_label_drop && f->enc_longest >= cfg->enc_label_drop) {
		x->action = (__u8)cfg->limit_action;
		x->reason = XF_R_ENC_LABEL;
	} else if (cfg->drop_bad_bytes && f->binary) {
		x->action = (__u8)cfg->limit_action;
		x->reason = XF_R_BAD_BYTES;
	}
}

/*
 * An allowlisted registered domain is never dropped. Looked up only when
 * something would act: most queries pass, and skip this lookup.
 */
static __always_inline void xf_allow_check(__u64 *st, struct xf_ctx *x)
{
	struct xf_vkey k = { .hash = x->feat.rd_hash, .kind = XF_VK_DOMAIN };

	if (x->action == XF_ACT_PASS || !bpf_map_lookup_elem(&xf_allow, &k))
		return;
	x->flags |= XF_EF_ALLOWED;
	x->action = XF_ACT_PASS;
	x->reason = XF_R_NONE;
	st[XF_S_ALLOW_HITS]++;
}

/*
 * An SNI or Host is worth an event once per client x name per
 * event_gap_ms on this CPU: a ClientHello comes once per connection, but
 * HTTP keep-alive sends a Host with every request, and an event per request
 * made the sensor the largest cost on a busy web path. A direct-mapped
 * per-CPU table: a collision only sends one event more.
 */
static __always_inline int xf_name_gap(struct xf_scratch *sc, const struct xf_config *cfg,
				       const struct xf_ctx *x)
{
	const __u64 *a = (const __u64 *)x->pkt.saddr;
	__u64 key = (x->feat.name_hash ^ a[0] ^ (a[1] * 0x9e3779b97f4a7c15ULL)) | 1;
	__u32 i = (__u32)(key >> 32) & (XF_GAP_SLOTS - 1);

	if (sc->gap_key[i] == key && x->now - sc->gap_ns[i] < (__u64)cfg->event_gap_ms * 1000000ULL)
		return 0;
	sc->gap_key[i] = key;
	sc->gap_ns[i] = x->now;
	return 1;
}

static __always_inline int xf_is_notable(struct xf_scratch *sc, const struct xf_config *cfg,
					 struct xf_ctx *x)
{
	struct xf_name_feat *f = &x->feat;
	__u32 qb;

	if (x->notable || x->action != XF_ACT_PASS || (cfg->flags & XF_CF_EVENTS_ALL))
		return 1;
	if (x->kind == XF_EV_SNI || x->kind == XF_EV_HOST)
		return xf_name_gap(sc, cfg, x);
	if (x->kind == XF_EV_DNS_RESPONSE)
		return (f->dns_flags & XF_DNS_RCODE_MASK) != 0;
	qb = xf_qtype_bucket(f->qtype);
	return f->enc_longest || f->binary || f->name_len >= cfg->long_qname || qb == XF_QT_NULL ||
	       qb == XF_QT_CARRIER;
}

/* Worth an event: notable, or picked by sampling (which flags it). */
static __always_inline int xf_want_event(struct xf_scratch *sc, const struct xf_config *cfg,
					 struct xf_ctx *x)
{
	if (xf_is_notable(sc, cfg, x))
		return 1;
	if (!cfg->sample_every || ++sc->sample_ctr % cfg->sample_every)
		return 0;
	x->flags |= XF_EF_SAMPLED;
	return 1;
}

/* Fill an event record (in the ring, or in the scratch entry) from x. */
static __always_inline void xf_event_fill(struct __sk_buff *skb, struct xf_scratch *sc,
					  const struct xf_config *cfg, struct xf_ctx *x,
					  struct xf_event *ev)
{
	const __u8 *src;
	__u32 n = x->name_len, i;

	ev->version = XF_EVENT_VERSION;
	ev->kind = (__u8)x->kind;
	ev->action = x->action;
	ev->reason = x->reason;
	ev->flags = x->flags;
	ev->mode = (__u8)cfg->mode;
	ev->pad0 = 0;
	ev->ifindex = skb->ifindex;
	ev->pkt_len = skb->len;
	ev->ts_ns = x->now;
	__builtin_memcpy(ev->saddr, x->pkt.saddr, 16);
	__builtin_memcpy(ev->daddr, x->pkt.daddr, 16);
	ev->sport = x->pkt.sport;
	ev->dport = x->pkt.dport;
	ev->pad1 = 0;
	ev->feat = x->feat;
	/*
	 * The name is in the payload copy: a fixed-size copy a word at a time
	 * (memcpy would go byte by byte from an unaligned source); the bytes
	 * past n are not part of the record.
	 */
	ev->name_len = (__u16)(n < XF_NAME_MAX ? n : XF_NAME_MAX);
	src = xf_pl(sc) + (x->name_off & XF_BUF_MASK);
	XF_UNROLL_FULL /* a load and a store a word, no loop counter */
	for (i = 0; i < XF_NAME_MAX / 8; i++)
		((__u64 *)ev->name)[i] = *(const __u64 *)(src + i * 8);
}

/*
 * Wake the sensor for an event only when it should act at once: the kernel
 * acted, or would have (the sensor scores such a flow straight away), or a
 * quarter of the ring is unread. That is looked at every xf_wake_mask + 1
 * events of this CPU (one helper call, not one per event), and forces one
 * wake-up until the unread data is seen below a quarter again: a woken
 * sensor drains the ring, and one that does not (stopped, or gone with its
 * programs left pinned) is not woken again and again for nothing. Other
 * events wait for the sensor's next pass: it drains the ring at least every
 * 200 ms. Submitting with no flags wakes a consumer that has caught up, on
 * every record: an irq_work and a context switch each, and at tens of
 * thousands of events a second (HTTP keep-alive gives a Host event per
 * request) those wake-ups were the largest cost exfilter added to the path
 * it watches.
 */
static __always_inline __u64 xf_rb_wake(struct xf_scratch *sc, const struct xf_ctx *x)
{
	if (x->action != XF_ACT_PASS)
		return 0; /* adaptive: wakes a consumer that has caught up */
	if (++sc->wake_ctr & xf_wake_mask)
		return BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_query(&xf_events, BPF_RB_AVAIL_DATA) < xf_ring_quarter) {
		sc->wake_forced = 0;
		return BPF_RB_NO_WAKEUP;
	}
	if (sc->wake_forced)
		return BPF_RB_NO_WAKEUP;
	sc->wake_forced = 1;
	return BPF_RB_FORCE_WAKEUP;
}

/* Emit the event if the packet is worth one; qfl: the query's flow, or NULL. */
static __always_inline void xf_emit(struct __sk_buff *skb, struct xf_scratch *sc,
				    const struct xf_config *cfg, __u64 *st, struct xf_ctx *x,
				    struct xf_flow *qfl)
{
	struct xf_event *ev;
	__u64 wake;

	if (!xf_want_event(sc, cfg, x))
		return;
	/*
	 * Decided before the reserve (the unread data it looks at leaves out
	 * this record, 376 of a quarter's bytes): the ring query's call then
	 * keeps no more live values than the reserve's, where after the fill
	 * it kept the record pointer too. About -4 to -7 ns on the long name.
	 */
	wake = xf_rb_wake(sc, x);
	ev = bpf_ringbuf_reserve(&xf_events, sizeof(*ev), 0);
	if (!ev) {
		st[XF_S_RING_FULL]++; /* never wait: the packet path comes first */
		return;
	}
	xf_event_fill(skb, sc, cfg, x, ev);
	bpf_ringbuf_submit(ev, wake);
	st[XF_S_EVENTS]++;
	if (qfl)
		qfl->last_ev_ns = x->now;
}

/*
 * A response event with the DNS message's first bytes (struct xf_event_msg),
 * for the sensor to parse whole (sensor/dnsmsg.c). The record is built in
 * the scratch entry and copied with bpf_ringbuf_output(), so that it takes
 * only the ring space its message needs: a reserve must have a constant
 * size. The message comes from the packet (bpf_skb_load_bytes(): one helper
 * call, no loop, and the frame copy may hold less of it). Returns 1 when
 * an event was written.
 */
static __always_inline int xf_emit_msg(struct __sk_buff *skb, struct xf_scratch *sc,
				       const struct xf_config *cfg, __u64 *st, struct xf_ctx *x)
{
	struct xf_event_msg *em = &sc->evm;
	const __u8 *pl = xf_pl(sc);
	__u32 off = x->pkt.payload_off + x->msg.off, avail, wire, n, size;

	if (!xf_want_event(sc, cfg, x))
		return 0;
	xf_event_fill(skb, sc, cfg, x, &em->ev);
	/* TCP: the length prefix (xf_find_dns() checked it is there) */
	wire = x->msg.off ? (__u32)pl[0] << 8 | pl[1] : x->pkt.payload_len;
	avail = x->pkt.payload_len - x->msg.off;
	n = avail < wire ? avail : wire;
	if (n > cfg->msg_bytes)
		n = cfg->msg_bytes;
	if (n > XF_MSG_MAX)
		n = XF_MSG_MAX;
	size = XF_EVM_HDR;
	em->msg_len = 0;
	if (n) {
		/* hide the range checks above from clang, or it folds the bound away */
		__asm__ __volatile__("" : "+r"(n));
		n = xf_len_bound(n, XF_MSG_MAX);
		if (!bpf_skb_load_bytes(skb, off, em->msg, n)) {
			em->msg_len = (__u16)n;
			size += n;
		}
	}
	em->msg_wire = (__u16)wire;
	em->pad0 = 0;
	if (bpf_ringbuf_output(&xf_events, em, size, xf_rb_wake(sc, x))) {
		st[XF_S_RING_FULL]++;
		return 0;
	}
	st[XF_S_EVENTS]++;
	return 1;
}

/*
 * A DNS response: count it on the client's flow, and emit its event. With
 * msg_bytes set, the event carries the message, and besides rcode != 0 and
 * a new flow, a flow's first response on this CPU in event_gap_ms (busy
 * flows: about one a second per CPU, enough for answer sizes per response)
 * and every TCP response (rare; they carry what UDP could not) are worth
 * one.
 */
static __always_inline void xf_response(struct __sk_buff *skb, struct xf_scratch *sc,
					const struct xf_config *cfg, __u64 *st, struct xf_ctx *x)
{
	struct xf_flow *fl = xf_flow_count(sc, cfg, x, x->pkt.daddr, 0);

	if (!cfg->msg_bytes) {
		xf_emit(skb, sc, cfg, st, x, NULL);
		return;
	}
	if (fl && cfg->event_gap_ms &&
	    x->now - fl->last_rev_ns >= (__u64)cfg->event_gap_ms * 1000000ULL) {
		x->notable = 1;
		x->flags |= XF_EF_GAP;
	}
	if (x->flags & XF_EF_TCP)
		x->notable = 1;
	if (xf_emit_msg(skb, sc, cfg, st, x) && fl)
		fl->last_rev_ns = x->now;
}

/*
 * Fail open (xf_config.failsafe_ms): the sensor's heartbeat is older than
 * failsafe_ms. Asked only when a packet would be acted on in enforce mode, so
 * passed packets pay nothing. now is the coarse clock, which can trail the
 * sensor's CLOCK_MONOTONIC reading by a tick: compared by addition, a
 * heartbeat "from the future" is fresh, not a huge unsigned age.
 */
static __always_inline int xf_failsafe_open(const struct xf_config *cfg, __u64 now)
{
	return cfg->failsafe_ms && now > cfg->heartbeat_ns + (__u64)cfg->failsafe_ms * 1000000ULL;
}

/* The config and the stats entry, looked up once per packet by the entry points. */
static __always_inline int xf_lookup_common(struct xf_config **cfg, __u64 **st)
{
	__u32 zero = 0;

	*cfg = bpf_map_lookup_elem(&xf_config, &zero);
	*st = bpf_map_lookup_elem(&xf_stats, &zero);
	if (!*cfg || !*st)
		return -1;
	(*st)[XF_S_PACKETS]++;
	return 0;
}

/*
 * Run the pipeline on one frame. Returns the action to take; the caller
 * applies it if it can and the mode says so. dir_flags is XF_EF_INGRESS or 0.
 * can_act: 1 in TC, which can act on the verdict and read the packet in place.
 */
static __always_inline int xf_process(struct __sk_buff *skb, const struct xf_config *cfg, __u64 *st,
				      __u32 dir_flags, int can_act, struct xf_ctx **xp)
{
	__u32 zero = 0, n = skb->len < XF_FRAME_COPY ? skb->len : XF_FRAME_COPY;
	struct xf_scratch *sc = bpf_map_lookup_elem(&xf_scratch, &zero);
	struct xf_flow *qfl = NULL;
	struct xf_ctx *x;
	struct xf_buf b;
	int err, query, enforce;

	if (!sc)
		return XF_ACT_PASS;
	x = &sc->ctx;
	*xp = x;
	__builtin_memset(x, 0, sizeof(*x));
	x->copied = n;
	if (n < XF_ETH_HLEN || xf_load_frame(skb, sc->buf, n, can_act)) {
		xf_perr(st, -XF_PE_ETH_TRUNC);
		return XF_ACT_PASS;
	}
	/*
	 * n read back: each way out of the frame copy's loop narrows what the
	 * verifier knows of n (32-bit compares, -mcpu=v3), and a narrowed n
	 * would reach the rest of the program as one state per exit.
	 */
	XF_FORGET();
	n = x->copied;
	b.p = sc->buf;
	b.len = n < XF_HDR_WIN ? n : XF_HDR_WIN;
	err = xf_parse_pkt(&b, skb->len, &x->pkt);
	if (err) {
		if (err < 0)
			xf_perr(st, err);
		return XF_ACT_PASS;
	}
	if (x->pkt.dport == cfg->dns_port || x->pkt.sport == cfg->dns_port)
		err = xf_find_dns(skb, sc, x);
	else if (x->pkt.l4proto == XF_IPPROTO_TCP && xf_port_in(cfg->tls_ports, x->pkt.dport))
		err = xf_find_text(skb, sc, x, 1);
	else if (x->pkt.l4proto == XF_IPPROTO_TCP && xf_port_in(cfg->http_ports, x->pkt.dport))
		err = xf_find_text(skb, sc, x, 0);
	else
		return XF_ACT_PASS;
	/* what the paths found is in x: read back, they meet in one state */
	XF_FORGET();
	if (!err)
		err = xf_name(sc, cfg);
	if (err) {
		if (err < 0)
			xf_perr(st, err);
		return XF_ACT_PASS;
	}
	if (!x->kind) {
		x->kind = (x->feat.dns_flags & XF_DNS_QR) ? XF_EV_DNS_RESPONSE : XF_EV_DNS_QUERY;
		x->name_off = x->msg.qname_off;
		x->name_len = x->msg.qname_wire;
	}

	x->now = xf_now(sc);
	x->flags |= dir_flags | (x->pkt.ipv6 ? XF_EF_IPV6 : 0);
	if (x->kind == XF_EV_DNS_RESPONSE) {
		st[XF_S_DNS_RESPONSES]++;
		xf_response(skb, sc, cfg, st, x);
		return XF_ACT_PASS;
	}
	st[x->kind == XF_EV_DNS_QUERY ? XF_S_DNS_QUERIES
	   : x->kind == XF_EV_SNI     ? XF_S_SNI
				      : XF_S_HOST]++;
	if (cfg->flags & XF_CF_IPBLOCK) {
		if (!xf_ipblock_get(x->pkt.daddr, x))
			xf_ipblock_get(x->pkt.saddr, x);
	}
	xf_decide(cfg, x);
	query = x->kind == XF_EV_DNS_QUERY;
	if (query)
		qfl = xf_flow_count(sc, cfg, x, x->pkt.saddr, 1);
	xf_allow_check(st, x);
	if (x->action == XF_ACT_REFUSE && !(query && x->pkt.l4proto == XF_IPPROTO_UDP))
		x->action = XF_ACT_DROP; /* REFUSED needs a UDP query to answer */
	enforce = can_act && cfg->mode == XF_MODE_ENFORCE;
	if (x->action != XF_ACT_PASS) {
		if (enforce && xf_failsafe_open(cfg, x->now)) {
			enforce = 0; /* no live sensor, and the operator chose open */
			st[XF_S_FAILSAFE_OPEN]++;
		}
		if (enforce) {
			x->flags |= XF_EF_ENFORCED;
			st[x->action == XF_ACT_REFUSE ? XF_S_REFUSED : XF_S_DROPS]++;
		} else {
			st[XF_S_WOULD_DROPS]++;
		}
	}
	xf_emit(skb, sc, cfg, st, x, qfl);
	return enforce ? x->action : XF_ACT_PASS;
}

#endif /* XF_PROCESS_BPF_H */
