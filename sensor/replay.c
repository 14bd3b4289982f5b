// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * replay.c - `exfilter replay`: captures through the live analysis.
 *
 * libpcap reads pcap and pcapng. Each packet becomes an Ethernet frame (other
 * link types get a synthetic Ethernet header, so the parsers see what TC
 * would), then the kernel's per-packet work runs on it: by default the
 * shared parsers' userspace build and the userspace twin of the kernel's
 * decision (frame.c); with --kernel the real TC program, loaded unattached
 * and run once per packet with BPF_PROG_TEST_RUN, its ring buffer drained
 * after each run. Either way the result is the kernel's event record, and
 * the live path takes it from there (ingest.c, pipeline.c), stamped with the
 * packet's time. The pipeline ticks every flows.tick_ms of packet time and
 * once at the end. Every DNS message is also read whole for the summary
 * (rcode, answers, EDNS) and its validity: in place by dnssum.c, which
 * hands ldns whatever it does not cover, so the counts are ldns's. With --report or --eval,
 * every scored flow, allowlist skip, DNS query (with its payload bytes) and
 * alert also feeds the tuning report (report.h).
 *
 * No root, no network: the default path only reads files (and the public
 * suffix list). --kernel needs root to load BPF.
 */
#define _GNU_SOURCE /* sched_getcpu, CPU_SET */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
/* libpcap's struct bpf_insn (classic BPF) clashes with linux/bpf.h's */
#define PCAP_DONT_INCLUDE_PCAP_BPF_H
#include <pcap/pcap.h>
#include <pcap/dlt.h>
#include <ldns/ldns.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "replay.h"
#include "allowlist.h"
#include "alert.h"
#include "control.h"
#include "dnssum.h"
#include "frame.h"
#include "ingest.h"
#include "loader.h"
#include "names.h"
#include "outbox.h"
#include "pipeline.h"
#include "report.h"
#include "exfilter_tc.skel.h"

#define FRAME_MAX (262144 + XF_ETH_HLEN)
#define DB_BATCH 1024 /* alerts per SQLite transaction */
#define READ_BUF (256 * 1024) /* stdio buffer of a capture */
#define TXN_SLOTS 4096 /* recent queries, direct-mapped */
#define TXN_NAME 64 /* longer names are not remembered */
/* Replay-only parse outcomes, counted after the kernel's parse errors. */
enum { RP_LINK = 0, RP_LDNS, RP_KRUN, RP_MAX };
static const char *const rp_names[RP_MAX] = { "link_type", "dns_message", "kernel_run" };

/* Linux SLL2 is newer than some libpcap headers. */
#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif

/*
 * A recent UDP query: where its answer will come from and to, its DNS id
 * and question name as sent, and the flow it was counted on. An answer that
 * matches all of it byte for byte has the same client and the same
 * registered domain, so it is counted on that flow directly, without
 * rebuilding the event, the presentation name and the registered domain
 * and looking the flow up again (xf_pipe_observe_at; about a third of an
 * answer's cost). Anything else takes the whole path.
 */
struct txn {
	uint8_t client[16], server[16];
	uint16_t cport, sport, id;
	uint8_t nlen; /* 0 = empty */
	uint8_t name[TXN_NAME];
	uint32_t flow;
	uint64_t gen; /* xf_ft_gen() when the flow was found */
};

struct replay {
	struct xf_sensor_cfg *cfg;
	const struct xf_replay_opts *o;
	struct xf_pipeline p;
	struct xf_suffix_set *sfx;
	struct xf_vkey *block, *allow;
	struct xf_verdict *block_v;
	struct xf_frame_lists lists;
	struct xf_ingest_buf ibuf;
	struct xf_outbox *ob;
	struct xf_report *report;
	/* the packet clock */
	uint64_t pkt_ns, next_tick_ms, last_ms;
	int started;
	int ldns_always; /* XF_REPLAY_LDNS: every message through ldns */
	/* the packet's response message, for its flow as a live response event
	 * carries it (struct xf_obs msg) */
	struct xf_dnsmsg msg;
	int msg_ok;
	/* --kernel */
	struct xf_loader l;
	struct ring_buffer *rb;
	int prog_fd;
	char pin_dir[128];
	/* progress */
	int tty;
	uint64_t total_bytes, done_bytes;
	char *rbuf; /* the capture's stdio buffer */
	struct txn *txn; /* TXN_SLOTS; NULL with --kernel */
	struct timespec t0, last_bar;
	/* counters */
	uint64_t packets, queries, responses, sni, hosts, skipped, events, bad_events;
	uint64_t perr[XF_PERR_SLOTS], rperr[RP_MAX];
	struct xf_dns_tally dns;
	uint64_t would_block, uncommitted, store_errors;
	__u8 frame[FRAME_MAX];
};

/* --- output: stdout, the store, the report --- */

/* An alert, flow or domain, out: stored (--db), then printed as a JSON line
 * or a table row. prev_action: the alert's action before this revision. */
static int emit(struct replay *r, const struct xf_alert_rec *rec, const char *sample,
		unsigned int prev_action)
{
	if (r->ob) {
		if (xf_outbox_put(r->ob, rec) < 0) {
			r->store_errors++;
			return -1;
		}
		if (++r->uncommitted >= DB_BATCH) {
			xf_outbox_commit(r->ob);
			r->uncommitted = 0;
		}
	}
	if (r->o->format == XF_RF_TABLE) {
		xf_alert_table_row(stdout, rec, (int)rec->rev, sample);
	} else {
		fwrite(rec->json, 1, rec->json_len, stdout);
		fputc('\n', stdout);
	}
	if (!strcmp(rec->action, "would-block") && prev_action < XF_AA_WOULD_BLOCK)
		r->would_block++;
	return 0;
}

static int on_alert(void *ctx, const struct xf_alert_rec *rec, const struct xf_ft_flow *f,
		    const struct xf_score *sc)
{
	struct replay *r = ctx;

	(void)sc;
	if (r->report)
		xf_report_alert(r->report, f, r->p.now_ms);
	return emit(r, rec, f->samples[0], f->alert->action);
}

/* A domain alert (a flood): stored and printed as a flow alert is; the
 * tuning report is per flow and does not list it. */
static int on_alert_domain(void *ctx, const struct xf_alert_rec *rec, const struct xf_dt_domain *d,
			   const struct xf_score *sc)
{
	(void)sc;
	return emit(ctx, rec, d->samples[0], d->alert->action);
}

static void on_scored(void *ctx, const struct xf_ft_flow *f, const struct xf_score *sc,
		      uint64_t now_ms, uint64_t first_ms)
{
	struct replay *r = ctx;

	xf_report_flow(r->report, f, sc, now_ms, first_ms);
}

static void on_allow_hit(void *ctx, const char *domain, const char *entry, const char *source)
{
	struct replay *r = ctx;

	xf_report_allow_hit(r->report, domain, entry, source);
}

/* --- the packet clock --- */

static uint64_t pkt_ms(const struct replay *r)
{
	return r->pkt_ns / 1000000;
}

/* Tick at each flows.tick_ms boundary the capture's clock passed, as the
 * live timer would have: alerts carry the tick's time. */
static void clock_advance(struct replay *r)
{
	uint64_t now = pkt_ms(r), tick = r->cfg->tick_ms;

	if (!r->started) {
		r->started = 1;
		r->next_tick_ms = now + tick;
	} else if (now >= r->next_tick_ms) {
		xf_pipe_tick(&r->p, r->next_tick_ms);
		r->next_tick_ms += (now - r->next_tick_ms) / tick * tick + tick;
	}
	if (now > r->last_ms)
		r->last_ms = now;
}

/* --- events, from either path --- */

/* Returns the observation's flow, or -1. */
static int observe_event(struct replay *r, const struct xf_event *ev)
{
	struct xf_obs o;
	int idx;

	/* ts_ns is packet time: wall-clock already, no offset */
	if (xf_event_obs(ev, sizeof(*ev), 0, r->cfg->kernel.long_qname, &r->ibuf, &o)) {
		r->bad_events++;
		return -1;
	}
	o.ts_ms = pkt_ms(r);
	if (o.response && r->msg_ok)
		o.msg = &r->msg;
	r->events++;
	if (r->report && o.kind == XF_EV_DNS_QUERY && o.domain) {
		/* payload: the name's bytes before its registered domain and the dot */
		size_t dl = strlen(o.domain), nl = o.feat->name_len;

		xf_report_query(r->report, o.client, o.domain, nl > dl ? nl - dl - 1 : 0,
				o.kaction == XF_ACT_DROP || o.kaction == XF_ACT_REFUSE, o.ts_ms);
	}
	idx = xf_pipe_observe(&r->p, &o);
	if (r->p.urgent)
		xf_pipe_tick(&r->p, o.ts_ms);
	return idx;
}

/* --- answers counted on their query's flow --- */

static struct txn *txn_slot(struct replay *r, const __u8 *client, const __u8 *server,
			    uint16_t cport, uint16_t sport, uint16_t id)
{
	uint64_t a, b, h;

	memcpy(&a, client + 8, 8);
	memcpy(&b, server + 8, 8);
	h = (a ^ (b * 0x9e3779b97f4a7c15ULL)) +
	    ((uint64_t)cport << 32 | (uint64_t)sport << 16 | id);
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 29;
	return &r->txn[h & (TXN_SLOTS - 1)];
}

static uint16_t dns_id(const __u8 *data, const struct xf_frame *f)
{
	return (uint16_t)(data[f->pkt.payload_off] << 8 | data[f->pkt.payload_off + 1]);
}

/* The frame's question name fits a slot, and the frame holds it whole. */
static int txn_fits(const struct xf_frame *f, __u32 len)
{
	return !f->tcp && f->name_len && f->name_len <= TXN_NAME &&
	       f->name_off + f->name_len <= len && f->pkt.payload_off + 2 <= len;
}

static void txn_query(struct replay *r, const __u8 *data, __u32 len, const struct xf_frame *f,
		      int idx)
{
	struct txn *t;

	if (!r->txn || idx <= 0 || !txn_fits(f, len))
		return;
	t = txn_slot(r, f->pkt.saddr, f->pkt.daddr, f->pkt.sport, f->pkt.dport, dns_id(data, f));
	memcpy(t->client, f->pkt.saddr, 16);
	memcpy(t->server, f->pkt.daddr, 16);
	t->cport = f->pkt.sport;
	t->sport = f->pkt.dport;
	t->id = dns_id(data, f);
	t->nlen = (uint8_t)f->name_len;
	memcpy(t->name, data + f->name_off, f->name_len);
	t->flow = (uint32_t)idx;
	t->gen = xf_ft_gen(r->p.ft);
}

/*
 * A response to a remembered query: counted as observe_event would count it
 * (xf_event_obs gives an answer no kernel action, and the flow table reads
 * only its client, time, rcode and message), or 0 when it must take that path.
 */
static int txn_response(struct replay *r, const __u8 *data, __u32 len, const struct xf_frame *f)
{
	struct xf_obs o;
	struct txn *t;
	uint16_t id;

	if (!r->txn || !txn_fits(f, len))
		return 0;
	id = dns_id(data, f);
	t = txn_slot(r, f->pkt.daddr, f->pkt.saddr, f->pkt.dport, f->pkt.sport, id);
	if (t->nlen != f->name_len || t->id != id || t->cport != f->pkt.dport ||
	    t->sport != f->pkt.sport || memcmp(t->client, f->pkt.daddr, 16) ||
	    memcmp(t->server, f->pkt.saddr, 16) || memcmp(t->name, data + f->name_off, t->nlen))
		return 0;
	memset(&o, 0, sizeof(o));
	o.client = f->pkt.daddr;
	o.server = f->pkt.saddr;
	o.kernel_rd = f->feat.rd_hash;
	o.name = "";
	o.feat = &f->feat;
	o.response = 1;
	o.now_s = (uint32_t)(r->pkt_ns / 1000000000ULL);
	o.ts_ms = pkt_ms(r);
	o.long_qname = r->cfg->kernel.long_qname;
	o.kind = XF_EV_DNS_RESPONSE;
	o.msg = r->msg_ok ? &r->msg : NULL;
	if (xf_pipe_observe_at(&r->p, t->flow, t->gen, &o) < 0)
		return 0; /* a flow was evicted since: look it up */
	r->events++;
	if (r->p.urgent)
		xf_pipe_tick(&r->p, o.ts_ms);
	return 1;
}

static int on_kernel_event(void *ctx, void *data, size_t len)
{
	struct replay *r = ctx;
	struct xf_event ev;

	if (len < sizeof(ev)) {
		r->bad_events++;
		return 0;
	}
	memcpy(&ev, data, sizeof(ev));
	ev.ts_ns = r->pkt_ns; /* the kernel stamped its own clock */
	observe_event(r, &ev);
	return 0;
}

/* --- DNS messages: the summary counters --- */

/* ldns_wire2pkt's view of one message, for the messages the in-place walk
 * (dnssum.c) leaves to it. Returns -1 when ldns rejects the message. */
static int ldns_summary(const __u8 *wire, __u32 n, struct xf_dns_sum *s)
{
	ldns_pkt *m = NULL;
	ldns_rr_list *an;

	memset(s, 0, sizeof(*s));
	if (ldns_wire2pkt(&m, wire, n) != LDNS_STATUS_OK)
		return -1;
	s->qr = ldns_pkt_qr(m);
	s->rcode = (uint8_t)ldns_pkt_get_rcode(m);
	s->tc = ldns_pkt_tc(m);
	s->ancount = ldns_pkt_ancount(m);
	an = ldns_pkt_answer(m);
	for (size_t i = 0; an && i < ldns_rr_list_rr_count(an); i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);

		for (size_t k = 0; k < ldns_rr_rd_count(rr); k++)
			s->answer_bytes += (uint32_t)ldns_rdf_size(ldns_rr_rdf(rr, k));
	}
	s->edns = ldns_pkt_edns(m);
	ldns_pkt_free(m);
	return 0;
}

int xf_dns_message(const __u8 *data, __u32 len, const struct xf_frame *f, int ldns_always,
		   struct xf_dns_tally *t)
{
	__u32 off = f->pkt.payload_off + (f->tcp ? 2 : 0), n;
	struct xf_dns_sum s;

	if (off >= len)
		return 0;
	n = len - off;
	if (n > f->pkt.payload_len - (f->tcp ? 2 : 0))
		n = f->pkt.payload_len - (f->tcp ? 2 : 0);
	if (f->tcp && (__u32)(data[off - 2] << 8 | data[off - 1]) < n)
		n = (__u32)(data[off - 2] << 8 | data[off - 1]); /* one message of a stream */
	/* the walk in place for what it covers; ldns for the rest (and with
	 * XF_REPLAY_LDNS set, for every message: tests compare the two) */
	if ((ldns_always || xf_dns_summary(data + off, n, &s)) && ldns_summary(data + off, n, &s))
		return -1;
	t->last = s;
	if (s.qr) {
		t->nxdomain += s.rcode == LDNS_RCODE_NXDOMAIN;
		t->answers += s.ancount;
		t->answer_bytes += s.answer_bytes;
	}
	t->edns += s.edns;
	return 0;
}

/* What the flow table reads of a response message (rcode, answers, answer
 * bytes, TC), from replay's summary: every replayed response carries its
 * whole message, as a live response event carries its copy. */
static int msg_of(const struct xf_dns_sum *s, struct xf_dnsmsg *m)
{
	if (!s->qr)
		return 0;
	memset(m, 0, sizeof(*m));
	m->qr = 1;
	m->rcode = s->rcode;
	m->tc = s->tc;
	m->edns = s->edns;
	m->ancount = s->ancount;
	m->answers = s->ancount;
	m->answer_bytes = m->down_bytes = s->answer_bytes;
	return 1;
}

/* --- one packet --- */

/* The packet as an Ethernet frame in r->frame; its length, or 0 when the
 * link type cannot carry IP. */
static __u32 to_ethernet(struct replay *r, int dlt, const __u8 *p, __u32 caplen)
{
	__u32 hl;
	__u16 proto;

	if (dlt == DLT_EN10MB) {
		memcpy(r->frame, p, caplen);
		return caplen;
	}
	switch (dlt) {
	case DLT_LINUX_SLL: /* 16 bytes, protocol last */
		hl = 16;
		if (caplen < hl)
			return 0;
		proto = (__u16)(p[14] << 8 | p[15]);
		break;
	case DLT_LINUX_SLL2: /* 20 bytes, protocol first */
		hl = 20;
		if (caplen < hl)
			return 0;
		proto = (__u16)(p[0] << 8 | p[1]);
		break;
	case DLT_NULL:
	case DLT_LOOP: /* a 4-byte address family, in either byte order: ask the IP header */
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		hl = dlt == DLT_NULL || dlt == DLT_LOOP ? 4 : 0;
		if (caplen <= hl)
			return 0;
		proto = (p[hl] >> 4) == 6 ? XF_ETH_P_IPV6 : XF_ETH_P_IP;
		break;
	default:
		return 0;
	}
	memset(r->frame, 0, 12);
	r->frame[12] = (__u8)(proto >> 8);
	r->frame[13] = (__u8)proto;
	memcpy(r->frame + XF_ETH_HLEN, p + hl, caplen - hl);
	return caplen - hl + XF_ETH_HLEN;
}

static void kernel_run(struct replay *r, __u32 len)
{
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = r->frame, .data_size_in = len, .repeat = 1);

	if (bpf_prog_test_run_opts(r->prog_fd, &t)) {
		r->rperr[RP_KRUN]++; /* too big for a test run (about a page) */
		return;
	}
	ring_buffer__consume(r->rb);
}

static void packet(struct replay *r, int dlt, const struct pcap_pkthdr *h, const __u8 *p)
{
	struct xf_frame f;
	struct xf_event ev;
	__u32 len;
	int rc, idx;

	r->packets++;
	r->msg_ok = 0;
	r->pkt_ns = (uint64_t)h->ts.tv_sec * 1000000000ULL + (uint64_t)h->ts.tv_usec * 1000ULL;
	clock_advance(r);
	len = to_ethernet(r, dlt, p,
			  h->caplen > FRAME_MAX - XF_ETH_HLEN ? FRAME_MAX - XF_ETH_HLEN
							      : h->caplen);
	if (!len) {
		r->rperr[RP_LINK]++;
		return;
	}
	/* the userspace parse counts for both paths; the kernel's agrees
	 * (tests/bpf checks the two parsers against each other) */
	rc = xf_frame_parse(r->frame, len, &r->cfg->kernel, xf_suffix_set_has, r->sfx, &f);
	if (rc < 0)
		r->perr[(-rc) & (XF_PERR_SLOTS - 1)]++;
	else if (rc == XF_OK) {
		r->queries += f.kind == XF_EV_DNS_QUERY;
		r->responses += f.kind == XF_EV_DNS_RESPONSE;
		r->sni += f.kind == XF_EV_SNI;
		r->hosts += f.kind == XF_EV_HOST;
		if (f.kind == XF_EV_DNS_QUERY || f.kind == XF_EV_DNS_RESPONSE) {
			if (xf_dns_message(r->frame, len, &f, r->ldns_always, &r->dns))
				r->rperr[RP_LDNS]++;
			else if (f.kind == XF_EV_DNS_RESPONSE)
				r->msg_ok = msg_of(&r->dns.last, &r->msg);
		}
	} else {
		r->skipped++;
	}
	if (r->o->kernel) {
		kernel_run(r, len);
		return;
	}
	if (rc != XF_OK)
		return;
	if (f.kind == XF_EV_DNS_RESPONSE && txn_response(r, r->frame, len, &f))
		return;
	xf_frame_event(r->frame, len, &f, &r->cfg->kernel, &r->lists, r->pkt_ns, &ev);
	idx = observe_event(r, &ev);
	if (f.kind == XF_EV_DNS_QUERY)
		txn_query(r, r->frame, len, &f, idx);
}

/* --- progress and summary --- */

static double since(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) + (double)(b.tv_nsec - a->tv_nsec) / 1e9;
}

static void progress(struct replay *r, uint64_t pos, int done)
{
	double f;
	int w = 30, k;

	if (!r->tty || (!done && since(&r->last_bar) < 0.2))
		return;
	clock_gettime(CLOCK_MONOTONIC, &r->last_bar);
	f = r->total_bytes ? (double)(r->done_bytes + pos) / (double)r->total_bytes : 1;
	if (f > 1 || done)
		f = 1;
	fputs("\r[", stderr);
	for (k = 0; k < w; k++)
		fputc(k < (int)(f * w) ? '#' : ' ', stderr);
	fprintf(stderr, "] %3d%%  %llu packets  %llu alerts", (int)(f * 100),
		(unsigned long long)r->packets, (unsigned long long)r->p.alerts);
	if (done)
		fputs("\r\033[K", stderr);
}

static void summary(struct replay *r)
{
	double secs = since(&r->t0);
	uint64_t errs = 0;
	int first = 1;

	for (int e = 1; e < XF_PERR_SLOTS; e++)
		errs += r->perr[e];
	for (int e = 0; e < RP_MAX; e++)
		errs += r->rperr[e];
	fprintf(stderr,
		"exfilter replay: %llu packets, %llu DNS (%llu queries, %llu responses, "
		"%llu NXDOMAIN, %llu answers, %llu answer bytes, %llu EDNS), %llu SNI, %llu Host, "
		"%llu parse errors",
		(unsigned long long)r->packets, (unsigned long long)(r->queries + r->responses),
		(unsigned long long)r->queries, (unsigned long long)r->responses,
		(unsigned long long)r->dns.nxdomain, (unsigned long long)r->dns.answers,
		(unsigned long long)r->dns.answer_bytes, (unsigned long long)r->dns.edns,
		(unsigned long long)r->sni, (unsigned long long)r->hosts, (unsigned long long)errs);
	for (int e = 1; e < XF_PERR_SLOTS; e++)
		if (r->perr[e]) {
			fprintf(stderr, "%s%s %llu", first ? " (" : ", ", xf_perr_name((unsigned)e),
				(unsigned long long)r->perr[e]);
			first = 0;
		}
	for (int e = 0; e < RP_MAX; e++)
		if (r->rperr[e]) {
			fprintf(stderr, "%s%s %llu", first ? " (" : ", ", rp_names[e],
				(unsigned long long)r->rperr[e]);
			first = 0;
		}
	fprintf(stderr,
		"%s, %llu events, %llu alerts (%llu updates, %llu would-block), %llu flows scored, "
		"%llu allowlist hits, %s path, %.2f s\n",
		first ? "" : ")", (unsigned long long)r->events, (unsigned long long)r->p.alerts,
		(unsigned long long)r->p.alert_updates, (unsigned long long)r->would_block,
		(unsigned long long)r->p.scored, (unsigned long long)r->p.allow_hits,
		r->o->kernel ? "kernel" : "userspace", secs);
}

/* --- lists: the config's allow and block entries, as kernel map keys --- */

/* The registered domain the kernel would key a domain target by: the same
 * rule as `exfilter block` (control.c), over the userspace suffix set. */
static const char *kernel_rd(const struct replay *r, const char *name)
{
	return xf_kernel_rd(name, xf_suffix_set_has, r->sfx);
}

static int list_keys(struct replay *r)
{
	const struct xf_sensor_cfg *c = r->cfg;
	struct xf_target t;

	r->allow = calloc((size_t)c->n_allow + 1, sizeof(*r->allow));
	r->block = calloc((size_t)c->n_block + 1, sizeof(*r->block));
	r->block_v = calloc((size_t)c->n_block + 1, sizeof(*r->block_v));
	if (!r->allow || !r->block || !r->block_v)
		return -1;
	for (int i = 0; i < c->n_allow; i++) {
		if (xf_target_parse(c->allow[i], &t) || t.kind != XF_T_DOMAIN) {
			fprintf(stderr, "exfilter: allow: cannot apply '%s'\n", c->allow[i]);
			return -1;
		}
		r->allow[r->lists.n_allow++] =
			(struct xf_vkey){ .hash = xf_name_hash_text(kernel_rd(r, t.name)),
					  .kind = XF_VK_DOMAIN };
	}
	for (int i = 0; i < c->n_block; i++) {
		struct xf_vkey *k = &r->block[r->lists.n_block];
		struct xf_verdict *v = &r->block_v[r->lists.n_block];

		if (xf_target_parse(c->block[i], &t)) {
			fprintf(stderr, "exfilter: block: cannot apply '%s'\n", c->block[i]);
			return -1;
		}
		if (t.kind == XF_T_CIDR)
			continue; /* IP blocks: not modelled in replay (see frame.h) */
		v->action = (__u8)c->verdict_action;
		if (t.kind == XF_T_DOMAIN) {
			k->hash = xf_name_hash_text(kernel_rd(r, t.name));
			k->kind = XF_VK_DOMAIN;
			v->reason = XF_R_VERDICT_DOMAIN;
		} else {
			k->hash = xf_name_hash_text(t.name);
			k->kind = t.kind == XF_T_SNI ? XF_VK_SNI : XF_VK_HOST;
			v->reason = t.kind == XF_T_SNI ? XF_R_VERDICT_SNI : XF_R_VERDICT_HOST;
		}
		r->lists.n_block++;
	}
	r->lists.allow = r->allow;
	r->lists.block = r->block;
	r->lists.block_v = r->block_v;
	return 0;
}

/* --- --kernel: the TC program, loaded and never attached --- */

static int pin_to_one_cpu(void)
{
	cpu_set_t set;
	int c = sched_getcpu();

	/* one CPU: the kernel's per-CPU flow counters then see every packet */
	CPU_ZERO(&set);
	CPU_SET(c < 0 ? 0 : c, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

static int kernel_setup(struct replay *r)
{
	struct xf_config kc = r->cfg->kernel;
	int vfd, afd;

	if (geteuid() != 0) {
		fprintf(stderr, "exfilter: replay --kernel needs root (it loads the BPF programs "
				"and runs them with BPF_PROG_TEST_RUN); without --kernel, replay "
				"needs no privilege\n");
		return -1;
	}
	if (pin_to_one_cpu())
		fprintf(stderr, "exfilter: note: cannot pin to one CPU: %s\n", strerror(errno));
	kc.mode = XF_MODE_MONITOR;
	kc.flags |= XF_CF_EVENTS_ALL; /* every packet gives an event, as replay observes all */
	snprintf(r->pin_dir, sizeof(r->pin_dir), "/sys/fs/bpf/xf-replay-%d-%ld", (int)getpid(),
		 (long)time(NULL));
	if (xf_loader__open_load(&r->l, r->pin_dir, &kc))
		return -1;
	vfd = bpf_map__fd(r->l.skel->maps.xf_verdicts);
	afd = bpf_map__fd(r->l.skel->maps.xf_allow);
	for (int i = 0; i < r->lists.n_block; i++)
		if (bpf_map_update_elem(vfd, &r->block[i], &r->block_v[i], BPF_ANY))
			goto map_err;
	for (int i = 0; i < r->lists.n_allow; i++) {
		__u8 one = 1;

		if (bpf_map_update_elem(afd, &r->allow[i], &one, BPF_ANY))
			goto map_err;
	}
	r->prog_fd = bpf_program__fd(r->l.skel->progs.xf_tc_ingress);
	r->rb = ring_buffer__new(bpf_map__fd(r->l.skel->maps.xf_events), on_kernel_event, r, NULL);
	if (!r->rb) {
		fprintf(stderr, "exfilter: ring buffer: %s\n", strerror(errno));
		return -1;
	}
	return 0;
map_err:
	fprintf(stderr, "exfilter: failed to write the kernel lists: %s\n", strerror(errno));
	return -1;
}

/* --- the run --- */

static int replay_file(struct replay *r, const char *path, volatile sig_atomic_t *stop)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	pcap_t *pc;
	int dlt, rc;

	/* libpcap reads through stdio: with its default 4 KiB buffer that is
	 * a read() every 30-odd DNS packets, a few percent of replay */
	if (strcmp(path, "-")) {
		FILE *fp = fopen(path, "rb");

		if (!fp) {
			fprintf(stderr, "exfilter: failed to open capture %s: %s\n", path,
				strerror(errno));
			return -1;
		}
		/* glibc ignores the size unless it is given the buffer; this one
		 * outlives fp (freed in teardown, after pcap_close) */
		if (!r->rbuf)
			r->rbuf = malloc(READ_BUF);
		if (r->rbuf)
			setvbuf(fp, r->rbuf, _IOFBF, READ_BUF);
		pc = pcap_fopen_offline(fp, err); /* pcap_close() closes fp */
		if (!pc)
			fclose(fp);
	} else {
		pc = pcap_open_offline(path, err);
	}
	if (!pc) {
		fprintf(stderr, "exfilter: failed to open capture %s: %s\n", path, err);
		return -1;
	}
	dlt = pcap_datalink(pc);
	if (dlt != DLT_EN10MB && dlt != DLT_LINUX_SLL && dlt != DLT_LINUX_SLL2 && dlt != DLT_RAW &&
	    dlt != DLT_IPV4 && dlt != DLT_IPV6 && dlt != DLT_NULL && dlt != DLT_LOOP) {
		fprintf(stderr,
			"exfilter: %s: link type %s is not supported (Ethernet, Linux "
			"SLL/SLL2, raw IP and loopback are)\n",
			path,
			pcap_datalink_val_to_name(dlt) ? pcap_datalink_val_to_name(dlt) : "?");
		pcap_close(pc);
		return -1;
	}
	while (!*stop && (rc = pcap_next_ex(pc, &h, &data)) == 1) {
		packet(r, dlt, h, data);
		if (r->tty && !(r->packets & 1023))
			progress(r, (uint64_t)ftell(pcap_file(pc)), 0);
	}
	if (!*stop && rc == PCAP_ERROR) {
		/* a capture cut short: what was read counts, the rest is named */
		fprintf(stderr, "exfilter: %s: %s (after %llu packets)\n", path, pcap_geterr(pc),
			(unsigned long long)r->packets);
	}
	pcap_close(pc);
	return 0;
}

static int setup(struct replay *r)
{
	static const struct xf_pipe_ops ops = { .alert = on_alert,
						.alert_domain = on_alert_domain };
	static const struct xf_pipe_ops ops_report = {
		.alert = on_alert,
		.alert_domain = on_alert_domain,
		.scored = on_scored,
		.allow_hit = on_allow_hit,
	};
	char err[512];

	r->sfx = xf_suffix_set_load(XF_PSL_PATH);
	if (!r->sfx) {
		fprintf(stderr,
			"exfilter: failed to read the public suffix list %s: %s "
			"(apt-get install publicsuffix)\n",
			XF_PSL_PATH, strerror(errno));
		return 1;
	}
	if (list_keys(r))
		return 2;
	if (r->o->report || r->o->eval) {
		r->report = xf_report_new();
		if (!r->report) {
			fprintf(stderr, "exfilter: out of memory for the report\n");
			return 1;
		}
		if (r->o->truth && xf_report_truth(r->report, r->o->truth, err, sizeof(err))) {
			fprintf(stderr, "exfilter: --truth: %s\n", err);
			return 2;
		}
	}
	if (xf_pipe_init(&r->p, r->cfg, r->report ? &ops_report : &ops, r, err, sizeof(err))) {
		fprintf(stderr, "exfilter: %s\n", err);
		return 2;
	}
	r->p.mode = XF_MODE_MONITOR; /* replay blocks nothing: it reports would-block */
	r->p.can_enforce = 0;
	if (r->o->db) {
		r->ob = xf_outbox_open(r->o->db, NULL, 0, r->cfg->memory_max, err, sizeof(err));
		if (!r->ob) {
			fprintf(stderr, "exfilter: --db: %s\n", err);
			return 1;
		}
	}
	if (r->o->kernel && kernel_setup(r))
		return 1;
	if (!r->o->kernel && !getenv("XF_REPLAY_NO_TXN")) {
		r->txn = calloc(TXN_SLOTS, sizeof(*r->txn));
		if (!r->txn) {
			fprintf(stderr, "exfilter: out of memory\n");
			return 1;
		}
	}
	return 0;
}

static int write_report(struct replay *r)
{
	uint64_t errs = 0;
	char err[512];
	struct xf_report_meta m = {
		.inputs = r->o->files,
		.n_inputs = r->o->n_files,
		.threshold = r->cfg->threshold,
		.packets = r->packets,
		.dns = r->queries + r->responses,
		.allowlist_version = xf_allowlist_version,
	};

	for (int e = 1; e < XF_PERR_SLOTS; e++)
		errs += r->perr[e];
	for (int e = 0; e < RP_MAX; e++)
		errs += r->rperr[e];
	m.parse_errors = errs;
	if (r->o->eval) {
		if (xf_report_write_eval(r->report, r->o->eval, &m, err, sizeof(err))) {
			fprintf(stderr, "exfilter: --eval: %s\n", err);
			return -1;
		}
		if (strcmp(r->o->eval, "-"))
			fprintf(stderr, "exfilter replay: evaluation written to %s\n", r->o->eval);
	}
	if (!r->o->report)
		return 0;
	if (xf_report_write(r->report, r->o->report, &m, err, sizeof(err))) {
		fprintf(stderr, "exfilter: --report: %s\n", err);
		return -1;
	}
	fprintf(stderr, "exfilter replay: report written to %s\n", r->o->report);
	return 0;
}

static void teardown(struct replay *r)
{
	if (r->rb)
		ring_buffer__free(r->rb);
	if (r->l.skel)
		xf_loader__destroy(&r->l, 0); /* unpins and removes the private pin dir */
	if (r->ob) {
		xf_outbox_commit(r->ob);
		xf_outbox_close(r->ob);
	}
	xf_report_free(r->report);
	xf_pipe_free(&r->p);
	xf_suffix_set_free(r->sfx);
	free(r->allow);
	free(r->block);
	free(r->block_v);
	free(r->rbuf);
	free(r->txn);
}

int xf_replay_run(struct xf_sensor_cfg *cfg, const struct xf_replay_opts *o,
		  volatile sig_atomic_t *stop)
{
	struct replay *r = calloc(1, sizeof(*r)); /* the frame buffer: off the stack */
	struct stat st;
	int rc;

	if (!r) {
		fprintf(stderr, "exfilter: out of memory\n");
		return 1;
	}
	r->cfg = cfg;
	r->o = o;
	for (int i = 0; i < o->n_files; i++) {
		if (stat(o->files[i], &st)) {
			fprintf(stderr, "exfilter: failed to open capture %s: %s\n", o->files[i],
				strerror(errno));
			free(r);
			return 1;
		}
		r->total_bytes += (uint64_t)st.st_size;
	}
	rc = setup(r);
	if (rc)
		goto out;
	r->tty = isatty(STDERR_FILENO);
	r->ldns_always = getenv("XF_REPLAY_LDNS") != NULL;
	clock_gettime(CLOCK_MONOTONIC, &r->t0);
	if (o->format == XF_RF_TABLE)
		printf("%-20s  %-15s  %-30s  %5s  %-8s  %-11s  %3s  %s\n", "time", "client",
		       "domain", "score", "severity", "action", "rev", "sample");
	for (int i = 0; i < o->n_files && !*stop; i++) {
		if (replay_file(r, o->files[i], stop)) {
			rc = 1;
			break;
		}
		r->done_bytes += (uint64_t)(stat(o->files[i], &st) ? 0 : st.st_size);
	}
	/* the last tick: what the capture's tail added */
	xf_pipe_tick(&r->p, r->last_ms);
	progress(r, 0, 1);
	fflush(stdout);
	summary(r);
	if (r->store_errors) {
		fprintf(stderr, "exfilter: --db: %llu alerts not stored: %s\n",
			(unsigned long long)r->store_errors, xf_outbox_errmsg(r->ob));
		rc = 1;
	}
	if (r->ob && xf_outbox_commit(r->ob) < 0) {
		fprintf(stderr, "exfilter: --db: commit failed: %s\n", xf_outbox_errmsg(r->ob));
		rc = 1;
	}
	if (!rc && r->report && write_report(r))
		rc = 1;
out:
	teardown(r);
	free(r);
	return rc;
}
