// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * flowtab.c - the flow table: client x registered domain, LRU-bounded.
 *
 * Entries live in arrays allocated once at the bound and addressed by
 * 32-bit indexes (0 = none): no allocation per packet, and calloc'd arrays
 * are mapped lazily, so memory follows the flows actually held. Chained
 * hashing over power-of-two bucket arrays that double with the entries they
 * hold (a full array at the bound would be touched all over by hashing).
 * The tick's dirty list is threaded through the entries. The LRU is an intrusive doubly
 * linked list; eviction takes the tail. Written by hand because none of the
 * Debian libraries offers an index-based LRU with a hard memory bound.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <math.h>
#include "flowtab.h"
#include "hash.h"
#include "parse_common.h"
#include "parse_dns.h"

#define F_RESOLVER 0x01
#define F_ROLLED 0x02
#define F_DIRTY 0x04 /* touched since its last visit by a tick */
#define F_LISTED 0x08 /* the slot is on the dirty list (live or not) */
#define F_Q1 0x10 /* one query counted in this window that no detail holds */
#define F_R1 0x20 /* one response counted in this window that no detail holds */
#define F_R1NX 0x40 /* ... and it was NXDOMAIN */

/* Bucket arrays grow with what they hold (never with the bound): at most
 * FT_LOAD entries per bucket on average. Flows allow 2, which keeps a
 * million flows' buckets at 2 MiB; a hit then walks 1.5-2 entries. */
#define FT_LOAD_FLOWS 2
#define FT_LOAD_INTERN 1
#define FT_BUCKETS_MIN 16

struct ft_flow { /* 64 bytes: the memory bound is per flow */
	uint32_t hnext, prev, next;
	uint32_t client, dom;
	uint32_t win_start_s;
	uint32_t last_ms; /* latest observation, ms after win_start_s */
	uint32_t queries, qname_bytes;
	uint32_t entropy_cb; /* centi-bits summed: fits 5M queries of 8 bits */
	uint32_t enc, longq;
	uint32_t detail; /* F_Q1: the query's last_ms instead (detail_of()) */
	uint32_t dnext; /* the dirty list (F_LISTED) */
	uint8_t max_name, max_label, max_enc, flags;
	struct xf_ft_alert alert;
};
_Static_assert(sizeof(struct ft_flow) == 64, "flow entry size");

struct ft_detail {
	uint32_t owner, prev, next;
	uint32_t responses, nxdomain;
	/* responses' rcodes and, of those that came with the message, what
	 * ldns found in it (struct xf_flow_view) */
	uint32_t servfail, refused, answer_msgs, answers, answer_qt, msg_tc;
	uint64_t answer_bytes;
	uint32_t qtypes[XF_QT_BUCKETS];
	uint32_t tags, tagged, tag_names; /* struct xf_flow_view */
	uint32_t bypass, sni, hosts;
	/* query timing spans windows (a beacon every minute shows its period
	 * only over many): gaps of past windows whose every query was observed
	 * (iat_*), and of this window (w_*), with the queries observed in it */
	uint32_t iat_n, w_n, w_obs;
	double iat_sum, iat_sq; /* gaps between queries, ms and ms^2 */
	double w_sum, w_sq;
	uint64_t q_last_ms; /* the latest query, ms since the epoch; 0 = none yet */
	uint16_t last_qtype;
	uint8_t n_samples, has_server;
	uint8_t kind, kaction, kreason, kenforced;
	uint8_t server[16];
	uint8_t hll[XF_HLL_REGS];
	char samples[XF_SAMPLES][XF_SAMPLE_LEN];
};

struct ft_client {
	uint8_t addr[16];
	uint64_t h; /* xf_hash_bytes(addr) */
	uint32_t refs, hnext;
};

#define DOM_INLINE 28 /* names up to 27 bytes live in their entry */

struct ft_dom { /* 64 bytes, aligned: a lookup's compare stays in one line */
	char *name; /* inl, or its own allocation */
	uint64_t h, khash;
	uint32_t refs, hnext, knext;
	char inl[DOM_INLINE];
};
_Static_assert(sizeof(struct ft_dom) == 64, "domain entry size");

/*
 * An alerted flow evicted while its window runs (a flood fills the table)
 * leaves a ghost: its key, window start and alert state. A flow made again
 * for the same client x domain inside that window takes them back, so its
 * alert keeps its id (client, domain, window start) and later evidence
 * updates that alert instead of raising a second one. Alerted flows are few:
 * a small direct-mapped array, where a collision only forgets the older
 * ghost (a second alert for that pair, as before ghosts). Keys are 64-bit
 * flow hashes; a false match is a 2^-64 chance per new flow.
 */
#define FT_GHOSTS 2048

struct ft_ghost {
	uint64_t key; /* flow_key(); 0 = empty */
	uint32_t win_start_s;
	struct xf_ft_alert alert;
};

struct xf_ft {
	struct xf_ft_cfg cfg;
	struct ft_ghost ghosts[FT_GHOSTS];
	/* each array: a free list of recycled entries, then the never used ones
	 * above *used, handed out in order so untouched pages stay unmapped */
	struct ft_flow *flows; /* 64-byte aligned: one cache line per entry */
	void *flows_mem;
	uint32_t *fbuckets, fmask, ffree, fused, lru_head, lru_tail;
	struct ft_detail *details;
	uint32_t dfree, dused, dlru_head, dlru_tail;
	struct ft_client *clients;
	uint32_t *cbuckets, cmask, cfree, cused;
	struct ft_dom *doms; /* 64-byte aligned */
	void *doms_mem;
	uint32_t *dbuckets, *kbuckets, dmask, domfree, domused;
	/* flows to visit: a FIFO through ft_flow.dnext; n_dirty counts the
	 * live ones (an evicted flow's slot stays listed until popped) */
	uint32_t dirty_head, dirty_tail, n_dirty;
	struct xf_ft_stats st;
};

/* A flow's hash from its client's and domain's hashes (not their ids): an
 * observation has it before interning, so its bucket can be fetched while
 * the client and the domain are looked up. */
static uint64_t flow_key(uint64_t ch, uint64_t dh)
{
	return xf_pair_key(ch, dh);
}

struct xf_ft *xf_ft_new(const struct xf_ft_cfg *cfg)
{
	struct xf_ft *ft;
	uint32_t n;

	if (!cfg->max_flows) {
		errno = EINVAL;
		return NULL;
	}
	ft = calloc(1, sizeof(*ft));
	if (!ft)
		return NULL;
	ft->cfg = *cfg;
	if (!ft->cfg.max_details)
		ft->cfg.max_details = 1;
	n = cfg->max_flows;
	ft->fmask = ft->cmask = ft->dmask = FT_BUCKETS_MIN - 1;
	/* entry arrays at the bound: calloc'd, so mapped as they are used */
	/* one spare entry for the alignment: a hash chain walk then costs one
	 * cache miss per entry, not two (malloc aligns to 16 only) */
	ft->flows_mem = calloc((size_t)n + 2, sizeof(*ft->flows));
	ft->flows = (void *)(((uintptr_t)ft->flows_mem + 63) & ~(uintptr_t)63);
	ft->details = calloc((size_t)ft->cfg.max_details + 1, sizeof(*ft->details));
	ft->clients = calloc((size_t)n + 1, sizeof(*ft->clients));
	ft->doms_mem = calloc((size_t)n + 2, sizeof(*ft->doms));
	ft->doms = (void *)(((uintptr_t)ft->doms_mem + 63) & ~(uintptr_t)63);
	/* bucket arrays small: hashing touches every page of them */
	ft->fbuckets = calloc(FT_BUCKETS_MIN, sizeof(uint32_t));
	ft->cbuckets = calloc(FT_BUCKETS_MIN, sizeof(uint32_t));
	ft->dbuckets = calloc(FT_BUCKETS_MIN, sizeof(uint32_t));
	ft->kbuckets = calloc(FT_BUCKETS_MIN, sizeof(uint32_t));
	if (!ft->flows_mem || !ft->fbuckets || !ft->details || !ft->clients || !ft->cbuckets ||
	    !ft->doms_mem || !ft->dbuckets || !ft->kbuckets)
		goto fail;
	return ft;
fail:
	xf_ft_free(ft);
	return NULL;
}

void xf_ft_free(struct xf_ft *ft)
{
	if (!ft)
		return;
	if (ft->doms_mem)
		for (uint32_t i = 1; i <= ft->domused; i++)
			if (ft->doms[i].name != ft->doms[i].inl)
				free(ft->doms[i].name);
	free(ft->flows_mem);
	free(ft->fbuckets);
	free(ft->details);
	free(ft->clients);
	free(ft->cbuckets);
	free(ft->doms_mem);
	free(ft->dbuckets);
	free(ft->kbuckets);
	free(ft);
}

static uint64_t flow_hash(const struct xf_ft *ft, uint32_t c, uint32_t d)
{
	return flow_key(ft->clients[c].h, ft->doms[d].h);
}

/* --- growing the bucket arrays --- */

/*
 * Rehash into twice the buckets. The entries are walked in array order
 * (sequential reads), live ones told apart by a field that is zero when
 * free. On allocation failure the old array stays: chains get longer,
 * nothing is lost.
 */
static void flows_grow(struct xf_ft *ft)
{
	uint32_t nb = (ft->fmask + 1) * 2, *b = calloc(nb, sizeof(*b));

	if (!b)
		return;
	for (uint32_t i = 1; i <= ft->fused; i++) {
		struct ft_flow *f = &ft->flows[i];
		uint32_t k;

		if (!f->client)
			continue;
		k = flow_hash(ft, f->client, f->dom) & (nb - 1);
		f->hnext = b[k];
		b[k] = i;
	}
	free(ft->fbuckets);
	ft->fbuckets = b;
	ft->fmask = nb - 1;
}

static void clients_grow(struct xf_ft *ft)
{
	uint32_t nb = (ft->cmask + 1) * 2, *b = calloc(nb, sizeof(*b));

	if (!b)
		return;
	for (uint32_t i = 1; i <= ft->cused; i++) {
		struct ft_client *c = &ft->clients[i];
		uint32_t k;

		if (!c->refs)
			continue;
		k = c->h & (nb - 1);
		c->hnext = b[k];
		b[k] = i;
	}
	free(ft->cbuckets);
	ft->cbuckets = b;
	ft->cmask = nb - 1;
}

static void doms_grow(struct xf_ft *ft)
{
	uint32_t nb = (ft->dmask + 1) * 2, *b = calloc(nb, sizeof(*b)),
		 *kb = calloc(nb, sizeof(*kb));

	if (!b || !kb) {
		free(b);
		free(kb);
		return;
	}
	for (uint32_t i = 1; i <= ft->domused; i++) {
		struct ft_dom *d = &ft->doms[i];
		uint32_t k;

		if (!d->name)
			continue;
		k = d->h & (nb - 1);
		d->hnext = b[k];
		b[k] = i;
		k = xf_mix64(d->khash) & (nb - 1);
		d->knext = kb[k];
		kb[k] = i;
	}
	free(ft->dbuckets);
	free(ft->kbuckets);
	ft->dbuckets = b;
	ft->kbuckets = kb;
	ft->dmask = nb - 1;
}

/* --- free entries: recycled first, then the next never used one --- */

static uint32_t flow_take(struct xf_ft *ft)
{
	uint32_t i = ft->ffree;

	if (i)
		ft->ffree = ft->flows[i].next;
	else if (ft->fused < ft->cfg.max_flows)
		i = ++ft->fused;
	return i;
}

static uint32_t detail_take(struct xf_ft *ft)
{
	uint32_t i = ft->dfree;

	if (i)
		ft->dfree = ft->details[i].next;
	else if (ft->dused < ft->cfg.max_details)
		i = ++ft->dused;
	return i;
}

static uint32_t client_take(struct xf_ft *ft)
{
	uint32_t i = ft->cfree;

	if (i)
		ft->cfree = ft->clients[i].hnext;
	else if (ft->cused < ft->cfg.max_flows)
		i = ++ft->cused;
	return i;
}

static uint32_t dom_take(struct xf_ft *ft)
{
	uint32_t i = ft->domfree;

	if (i)
		ft->domfree = ft->doms[i].hnext;
	else if (ft->domused < ft->cfg.max_flows)
		i = ++ft->domused;
	return i;
}

/* --- interned clients and domains --- */

static uint32_t client_find(struct xf_ft *ft, const uint8_t *addr, uint64_t h)
{
	for (uint32_t i = ft->cbuckets[h & ft->cmask]; i; i = ft->clients[i].hnext)
		if (!memcmp(ft->clients[i].addr, addr, 16))
			return i;
	return 0;
}

/* Returns the client with one more reference, or 0. */
static uint32_t client_get(struct xf_ft *ft, const uint8_t *addr)
{
	uint64_t h = xf_hash_bytes(addr, 16);
	uint32_t i = client_find(ft, addr, h);
	struct ft_client *c;

	if (i) {
		ft->clients[i].refs++;
		return i;
	}
	/* grow before taking: free slots have no references, the rehash skips them */
	if (ft->st.clients + 1 > (uint64_t)FT_LOAD_INTERN * (ft->cmask + 1))
		clients_grow(ft);
	i = client_take(ft);
	if (!i)
		return 0;
	c = &ft->clients[i];
	memcpy(c->addr, addr, 16);
	c->h = h;
	c->refs = 1;
	c->hnext = ft->cbuckets[h & ft->cmask];
	ft->cbuckets[h & ft->cmask] = i;
	ft->st.clients++;
	return i;
}

static void client_put(struct xf_ft *ft, uint32_t i)
{
	struct ft_client *c = &ft->clients[i];
	uint32_t *pp;

	if (--c->refs)
		return;
	for (pp = &ft->cbuckets[c->h & ft->cmask]; *pp != i; pp = &ft->clients[*pp].hnext)
		;
	*pp = c->hnext;
	c->hnext = ft->cfree;
	ft->cfree = i;
	ft->st.clients--;
}

static uint32_t dom_find(struct xf_ft *ft, const char *name, uint64_t h)
{
	for (uint32_t i = ft->dbuckets[h & ft->dmask]; i; i = ft->doms[i].hnext)
		if (ft->doms[i].h == h && !strcmp(ft->doms[i].name, name))
			return i;
	return 0;
}

/* Returns the domain with one more reference, or 0. */
static uint32_t dom_get(struct xf_ft *ft, const char *name, uint64_t khash)
{
	size_t len = strlen(name);
	uint64_t h = xf_hash_bytes(name, len);
	struct ft_dom *d;
	uint32_t i = dom_find(ft, name, h);

	if (i) {
		ft->doms[i].refs++;
		return i;
	}
	/* grow before taking: free slots have no name, so the rehash skips them */
	if (ft->st.domains + 1 > (uint64_t)FT_LOAD_INTERN * (ft->dmask + 1))
		doms_grow(ft);
	i = dom_take(ft);
	if (!i)
		return 0;
	d = &ft->doms[i];
	/* most names fit the entry; a longer one takes the one allocation
	 * per new domain (shared by every client that queries it) */
	if (len < DOM_INLINE) {
		memcpy(d->inl, name, len + 1);
		d->name = d->inl;
	} else {
		d->name = strdup(name);
		ft->st.bytes += len + 1;
	}
	if (!d->name) {
		d->hnext = ft->domfree;
		ft->domfree = i;
		return 0;
	}
	d->h = h;
	d->khash = khash;
	d->refs = 1;
	d->hnext = ft->dbuckets[h & ft->dmask];
	ft->dbuckets[h & ft->dmask] = i;
	d->knext = ft->kbuckets[xf_mix64(khash) & ft->dmask];
	ft->kbuckets[xf_mix64(khash) & ft->dmask] = i;
	ft->st.domains++;
	return i;
}

static void dom_put(struct xf_ft *ft, uint32_t i)
{
	struct ft_dom *d = &ft->doms[i];
	uint32_t *pp;

	if (--d->refs)
		return;
	for (pp = &ft->dbuckets[d->h & ft->dmask]; *pp != i; pp = &ft->doms[*pp].hnext)
		;
	*pp = d->hnext;
	for (pp = &ft->kbuckets[xf_mix64(d->khash) & ft->dmask]; *pp != i;
	     pp = &ft->doms[*pp].knext)
		;
	*pp = d->knext;
	if (d->name != d->inl) {
		ft->st.bytes -= strlen(d->name) + 1;
		free(d->name);
	}
	d->name = NULL;
	d->hnext = ft->domfree;
	ft->domfree = i;
	ft->st.domains--;
}

/* --- details: their own LRU, so busy flows keep theirs --- */

static void dlru_unlink(struct xf_ft *ft, uint32_t i)
{
	struct ft_detail *d = &ft->details[i];

	if (d->prev)
		ft->details[d->prev].next = d->next;
	else
		ft->dlru_head = d->next;
	if (d->next)
		ft->details[d->next].prev = d->prev;
	else
		ft->dlru_tail = d->prev;
}

static void dlru_push(struct xf_ft *ft, uint32_t i)
{
	struct ft_detail *d = &ft->details[i];

	d->prev = 0;
	d->next = ft->dlru_head;
	if (ft->dlru_head)
		ft->details[ft->dlru_head].prev = i;
	ft->dlru_head = i;
	if (!ft->dlru_tail)
		ft->dlru_tail = i;
}

static uint32_t detail_of(const struct ft_flow *f);

static void detail_release(struct xf_ft *ft, uint32_t fi)
{
	uint32_t di = detail_of(&ft->flows[fi]);

	if (!di)
		return;
	dlru_unlink(ft, di);
	ft->details[di].next = ft->dfree;
	ft->dfree = di;
	ft->flows[fi].detail = 0;
	ft->st.details--;
}

/*
 * The flow's detail, or 0. A flow with F_Q1 has none (detail_get clears the
 * flag), and its detail field holds the time of that one query instead
 * (last_ms just after it): responses no longer take a detail, so last_ms
 * may have moved on by the time the second query needs the first's time.
 */
static uint32_t detail_of(const struct ft_flow *f)
{
	return f->flags & F_Q1 ? 0 : f->detail;
}

static struct ft_detail *detail_get(struct xf_ft *ft, uint32_t fi)
{
	struct ft_flow *f = &ft->flows[fi];
	struct ft_detail *d;
	uint32_t di = detail_of(f);

	if (di) {
		/* already the most recent: moving it would touch two other
		 * details (cache misses) to change nothing */
		if (ft->dlru_head != di) {
			dlru_unlink(ft, di);
			dlru_push(ft, di);
		}
		return &ft->details[di];
	}
	di = detail_take(ft);
	if (!di) {
		detail_release(ft, ft->details[ft->dlru_tail].owner);
		ft->st.details_evicted++;
		di = detail_take(ft);
	}
	d = &ft->details[di];
	memset(d, 0, offsetof(struct ft_detail, samples));
	d->owner = fi;
	/* the window's first query came without a detail: it was a name the
	 * tag hooks saw (and found nothing in), and the start of the timing */
	if (f->flags & F_Q1) {
		d->tag_names = 1;
		d->w_obs = 1;
		d->q_last_ms = (uint64_t)f->win_start_s * 1000 + f->detail;
		f->flags &= ~F_Q1;
	}
	/* and its first response */
	if (f->flags & F_R1) {
		d->responses = 1;
		d->nxdomain = !!(f->flags & F_R1NX);
		f->flags &= ~(F_R1 | F_R1NX);
	}
	f->detail = di;
	dlru_push(ft, di);
	ft->st.details++;
	return d;
}

/* --- flows --- */

static uint32_t flow_find(struct xf_ft *ft, uint32_t c, uint32_t d, uint64_t fh)
{
	for (uint32_t i = ft->fbuckets[fh & ft->fmask]; i; i = ft->flows[i].hnext)
		if (ft->flows[i].client == c && ft->flows[i].dom == d)
			return i;
	return 0;
}

static void lru_unlink(struct xf_ft *ft, uint32_t i)
{
	struct ft_flow *f = &ft->flows[i];

	if (f->prev)
		ft->flows[f->prev].next = f->next;
	else
		ft->lru_head = f->next;
	if (f->next)
		ft->flows[f->next].prev = f->prev;
	else
		ft->lru_tail = f->prev;
}

static void lru_push(struct xf_ft *ft, uint32_t i)
{
	struct ft_flow *f = &ft->flows[i];

	f->prev = 0;
	f->next = ft->lru_head;
	if (ft->lru_head)
		ft->flows[ft->lru_head].prev = i;
	ft->lru_head = i;
	if (!ft->lru_tail)
		ft->lru_tail = i;
}

/* Clear a slot but keep its place on the dirty list: the list is singly
 * linked, so a slot leaves it only when a tick pops it. */
static void flow_clear(struct ft_flow *f)
{
	uint32_t dnext = f->dnext;
	uint8_t listed = f->flags & F_LISTED;

	memset(f, 0, sizeof(*f));
	f->dnext = dnext;
	f->flags = listed;
}

static void flow_evict(struct xf_ft *ft, uint32_t i)
{
	struct ft_flow *f = &ft->flows[i];
	uint32_t *pp;

	for (pp = &ft->fbuckets[flow_hash(ft, f->client, f->dom) & ft->fmask]; *pp != i;
	     pp = &ft->flows[*pp].hnext)
		;
	*pp = f->hnext;
	if (f->alert.rev) {
		uint64_t key = flow_hash(ft, f->client, f->dom) | 1;
		struct ft_ghost *g = &ft->ghosts[key & (FT_GHOSTS - 1)];

		g->key = key;
		g->win_start_s = f->win_start_s;
		g->alert = f->alert;
	}
	lru_unlink(ft, i);
	detail_release(ft, i);
	client_put(ft, f->client);
	dom_put(ft, f->dom);
	if (f->flags & F_DIRTY)
		ft->n_dirty--;
	flow_clear(f);
	f->next = ft->ffree;
	ft->ffree = i;
	ft->st.flows--;
}

/*
 * One more query at ms. Identical timestamps (a retry, A and AAAA sent
 * together, several queries in one second of a packet clock) are one
 * arrival, not a gap of 0; an older one (events from several CPUs
 * interleave) moves nothing. So a beacon stays a beacon at any resolution.
 */
static void iat_add(struct ft_detail *d, uint64_t ms)
{
	d->w_obs++;
	if (ms <= d->q_last_ms)
		return;
	if (d->q_last_ms) {
		uint64_t gap = ms - d->q_last_ms;

		d->w_n++;
		d->w_sum += (double)gap;
		d->w_sq += (double)gap * (double)gap;
	}
	d->q_last_ms = ms;
}

/*
 * Gaps are gaps between queries only when every query was observed: live,
 * the kernel sends an event per query for slow flows, but caps a busy
 * flow's (kernel.event_gap_ms), and the gaps between capped events would
 * read as a perfect beacon. A window counts when its observed queries are
 * 90% of its counted ones (the kernel's merged count, live).
 */
static int iat_covered(const struct ft_detail *d, uint32_t queries)
{
	return queries && (uint64_t)d->w_obs * 10 >= (uint64_t)queries * 9;
}

#define IAT_KEEP 64 /* past gaps kept, halved beyond: recent ones weigh more */

/* At a window's end: keep its gaps if covered, else forget all timing. */
static void iat_roll(struct ft_detail *d, uint32_t queries)
{
	if (iat_covered(d, queries)) {
		d->iat_n += d->w_n;
		d->iat_sum += d->w_sum;
		d->iat_sq += d->w_sq;
		if (d->iat_n > IAT_KEEP) {
			/* scaled as a whole: mean and variance stay */
			double k = (double)IAT_KEEP / 2 / d->iat_n;

			d->iat_n = IAT_KEEP / 2;
			d->iat_sum *= k;
			d->iat_sq *= k;
		}
	} else {
		d->iat_n = 0;
		d->iat_sum = d->iat_sq = 0;
	}
}

static void window_reset(struct xf_ft *ft, uint32_t i, uint32_t now)
{
	struct ft_flow *f = &ft->flows[i];

	uint32_t queries = f->queries;

	f->win_start_s = now;
	f->last_ms = 0;
	f->queries = f->qname_bytes = f->entropy_cb = f->enc = f->longq = 0;
	f->max_name = f->max_label = f->max_enc = 0;
	if (f->flags & F_Q1)
		f->detail = 0;
	f->flags &= ~(F_Q1 | F_R1 | F_R1NX);
	memset(&f->alert, 0, sizeof(f->alert));
	if (f->detail) {
		/* everything starts again but the timing of past windows */
		struct ft_detail *d = &ft->details[f->detail];
		uint32_t n;
		uint64_t last;
		double sum, sq;

		iat_roll(d, queries);
		n = d->iat_n;
		sum = d->iat_sum;
		sq = d->iat_sq;
		last = d->q_last_ms;
		memset(&d->responses, 0,
		       offsetof(struct ft_detail, samples) - offsetof(struct ft_detail, responses));
		d->n_samples = 0;
		d->iat_n = n;
		d->iat_sum = sum;
		d->iat_sq = sq;
		d->q_last_ms = last;
	}
}

static void mark_dirty(struct xf_ft *ft, uint32_t i)
{
	struct ft_flow *f = &ft->flows[i];

	if (f->flags & F_DIRTY)
		return;
	f->flags |= F_DIRTY;
	ft->n_dirty++;
	if (f->flags & F_LISTED)
		return; /* an evicted flow's slot, reused before the tick popped it */
	f->flags |= F_LISTED;
	f->dnext = 0;
	if (ft->dirty_tail)
		ft->flows[ft->dirty_tail].dnext = i;
	else
		ft->dirty_head = i;
	ft->dirty_tail = i;
}

static uint32_t flow_get(struct xf_ft *ft, const struct xf_obs *o)
{
	uint64_t ch = xf_hash_bytes(o->client, 16),
		 dh = xf_hash_bytes(o->domain, strlen(o->domain));
	uint64_t fh = flow_key(ch, dh);
	uint32_t c, d, i, k;
	struct ft_flow *f;

	/* three lookups, each a likely cache miss in a big table: start the
	 * flow's bucket, then its first entry, while the others run */
	__builtin_prefetch(&ft->fbuckets[fh & ft->fmask]);
	c = client_find(ft, o->client, ch);
	if (c && ft->fbuckets[fh & ft->fmask])
		__builtin_prefetch(&ft->flows[ft->fbuckets[fh & ft->fmask]]);
	d = c ? dom_find(ft, o->domain, dh) : 0;
	i = d ? flow_find(ft, c, d, fh) : 0;
	if (i) {
		if (ft->lru_head != i) { /* as for details */
			lru_unlink(ft, i);
			lru_push(ft, i);
		}
		return i;
	}
	/* a new flow: evict first, so that interning below finds room (the
	 * pools hold max_flows entries) and nothing is left interned unused */
	i = flow_take(ft);
	if (!i) {
		flow_evict(ft, ft->lru_tail);
		ft->st.evicted++;
		i = flow_take(ft);
	}
	c = client_get(ft, o->client);
	if (!c)
		goto undo;
	d = dom_get(ft, o->domain, o->kernel_rd);
	if (!d) {
		client_put(ft, c);
		goto undo;
	}
	/* before linking: the new slot has no client yet, the rehash skips it */
	if (ft->st.flows + 1 > (uint64_t)FT_LOAD_FLOWS * (ft->fmask + 1))
		flows_grow(ft);
	f = &ft->flows[i];
	flow_clear(f);
	f->client = c;
	f->dom = d;
	f->win_start_s = o->now_s;
	{
		struct ft_ghost *g = &ft->ghosts[(fh | 1) & (FT_GHOSTS - 1)];

		if (g->key == (fh | 1)) {
			if (o->now_s >= g->win_start_s &&
			    o->now_s - g->win_start_s < ft->cfg.window_s) {
				f->win_start_s = g->win_start_s;
				f->alert = g->alert;
				ft->st.revived++;
			}
			g->key = 0;
		}
	}
	k = fh & ft->fmask;
	f->hnext = ft->fbuckets[k];
	ft->fbuckets[k] = i;
	lru_push(ft, i);
	ft->st.flows++;
	return i;
undo:
	ft->flows[i].next = ft->ffree;
	ft->ffree = i;
	return 0;
}

static void sample_add(struct ft_detail *d, const char *name)
{
	size_t len = strlen(name), shortest = 0;
	int k, slot = -1;

	if (len >= XF_SAMPLE_LEN)
		len = XF_SAMPLE_LEN - 1;
	for (k = 0; k < d->n_samples; k++) {
		if (!strncmp(d->samples[k], name, len) && !d->samples[k][len])
			return;
		if (slot < 0 || strlen(d->samples[k]) < shortest) {
			slot = k;
			shortest = strlen(d->samples[k]);
		}
	}
	/* keep the longest names: they carry the payload an analyst wants */
	if (d->n_samples < XF_SAMPLES)
		slot = d->n_samples++;
	else if (len <= shortest)
		return;
	memcpy(d->samples[slot], name, len);
	d->samples[slot][len] = 0;
}

static uint32_t bucket_of(uint16_t qtype)
{
	/* the kernel's buckets, from the shared parser */
	return xf_qtype_bucket(qtype) & (XF_QT_BUCKETS - 1);
}

/* enforced beats would-be; then a verdict or block (a decision) beats a
 * single-query or rate limit (a guess) */
static int kstrength(uint8_t enforced, uint8_t reason)
{
	return (enforced ? 2 : 0) + (reason >= XF_R_VERDICT_DOMAIN && reason <= XF_R_IPBLOCK);
}

/* The tag hooks' verdict on one observed name (a query, SNI or Host). */
static uint32_t name_tags(const struct xf_ft *ft, const struct xf_obs *o)
{
	struct xf_name_in n = {
		.kind = o->kind,
		.name = o->name,
		.len = strlen(o->name),
		.feat = o->feat,
		.qtype = o->feat ? o->feat->qtype : 0,
	};
	size_t dl = o->domain ? strlen(o->domain) : 0;

	/* o->domain is lower-case, the name as sent: compare without case */
	n.rd_off = n.len;
	if (dl && dl <= n.len && !strcasecmp(o->name + n.len - dl, o->domain) &&
	    (dl == n.len || o->name[n.len - dl - 1] == '.'))
		n.rd_off = n.len - dl;
	return ft->cfg.tag ? ft->cfg.tag(&n) : xf_name_tags(&n);
}

static void tags_add(struct ft_detail *d, uint32_t tags)
{
	d->tag_names++;
	if (tags) {
		d->tags |= tags;
		d->tagged++;
	}
}

/* Latest observation, in ms after the window start. The second comes from
 * now_s (late packets never rewind it), the milliseconds from ts_ms. */
static void touch_last(struct ft_flow *f, const struct xf_obs *o)
{
	int64_t off;

	if (o->now_s < f->win_start_s)
		return;
	off = (int64_t)(o->now_s - f->win_start_s) * 1000;
	if (o->ts_ms / 1000 == o->now_s)
		off += (int64_t)(o->ts_ms % 1000);
	if (off > UINT32_MAX)
		off = UINT32_MAX;
	if ((uint64_t)off > f->last_ms)
		f->last_ms = (uint32_t)off;
}

static void observe_query(struct xf_ft *ft, uint32_t i, const struct xf_obs *o, struct ft_detail *d,
			  uint32_t tags)
{
	const struct xf_name_feat *x = o->feat;
	struct ft_flow *f = &ft->flows[i];

	f->queries++;
	f->qname_bytes += x->name_len;
	f->entropy_cb += x->entropy / 10;
	f->enc += x->enc_longest > 0;
	f->longq += o->long_qname && x->name_len >= o->long_qname;
	if (x->name_len > f->max_name)
		f->max_name = x->name_len > 255 ? 255 : (uint8_t)x->name_len;
	if (x->longest > f->max_label)
		f->max_label = x->longest;
	if (x->enc_longest > f->max_enc)
		f->max_enc = x->enc_longest;
	/* a single plain query needs no sketch: details start with the second,
	 * or with the first that looks encoded, carries a tag or went around
	 * the resolvers; the flags remember it for when they do */
	if (!d && !detail_of(f) && f->queries < 2 && !x->enc_longest && !x->binary) {
		f->flags |= F_Q1; /* xf_ft_observe stores its time */
		return;
	}
	if (!d)
		d = detail_get(ft, i);
	tags_add(d, tags);
	iat_add(d, o->ts_ms ? o->ts_ms : (uint64_t)o->now_s * 1000);
	{
		uint32_t r = xf_hll_index(x->name_hash) & (XF_HLL_REGS - 1);
		uint8_t rank = xf_hll_rank(x->name_hash);

		if (d->hll[r] < rank)
			d->hll[r] = rank;
	}
	d->qtypes[bucket_of(x->qtype)]++;
	d->last_qtype = x->qtype;
	if (o->server) {
		memcpy(d->server, o->server, 16);
		d->has_server = 1;
	}
	if (o->name && *o->name)
		sample_add(d, o->name);
}

/* A response: its rcode, and what its message says when it came with one. */
static void response_add(struct ft_detail *d, const struct xf_obs *o)
{
	const struct xf_dnsmsg *m = o->msg;
	unsigned int rcode = m ? m->rcode & 0xf : o->feat ? o->feat->dns_flags & 0xf : 0;

	d->responses++;
	d->nxdomain += rcode == 3;
	d->servfail += rcode == 2;
	d->refused += rcode == 5; /* rcodes: RFC 1035 4.1.1 */
	if (!m)
		return;
	d->answer_msgs++;
	d->answers += m->answers;
	d->answer_bytes += m->down_bytes;
	d->answer_qt |= m->answer_qt;
	d->msg_tc += m->tc;
}

/* One observation of flow i, found (or made) for o. */
static int observe_flow(struct xf_ft *ft, uint32_t i, const struct xf_obs *o)
{
	struct ft_detail *d = NULL;
	struct ft_flow *f = &ft->flows[i];
	uint32_t tags = 0;
	int named = !o->response && o->name && *o->name;
	int second = o->kind == XF_EV_SNI || o->kind == XF_EV_HOST;

	ft->st.observed++;
	if (o->now_s - f->win_start_s >= ft->cfg.window_s && o->now_s > f->win_start_s) {
		window_reset(ft, i, o->now_s);
		f->flags |= F_ROLLED;
	}
	f->flags = (f->flags & ~F_RESOLVER) | (o->resolver ? F_RESOLVER : 0);
	mark_dirty(ft, i);
	if (named)
		tags = name_tags(ft, o);
	if (o->kaction || second || tags || o->bypass) {
		d = detail_get(ft, i);
		if (o->kind)
			d->kind = o->kind;
		/* keep the strongest: enforced over would-be, a verdict over a limit */
		if (o->kaction && (!d->kaction || kstrength(o->kenforced, o->kreason) >
							  kstrength(d->kenforced, d->kreason))) {
			d->kaction = o->kaction;
			d->kreason = o->kreason;
			d->kenforced = o->kenforced;
		}
		if (o->name && *o->name)
			sample_add(d, o->name);
		if (o->server) {
			memcpy(d->server, o->server, 16);
			d->has_server = 1;
		}
		d->bypass += !!o->bypass;
	}
	if (second) {
		if (named)
			tags_add(d, tags);
		d->sni += o->kind == XF_EV_SNI;
		d->hosts += o->kind == XF_EV_HOST;
	} else if (o->response) {
		unsigned int rcode = o->msg    ? o->msg->rcode & 0xf
				     : o->feat ? o->feat->dns_flags & 0xf
					       : 0;

		/* like queries, details start with the second response: a
		 * lookup and its answer need none. A response that brings its
		 * message (live events) or a SERVFAIL/REFUSED takes one. */
		if (!d && !o->msg && (rcode == 0 || rcode == 3) && !detail_of(f) &&
		    !(f->flags & F_R1)) {
			f->flags |= F_R1 | (rcode == 3 ? F_R1NX : 0);
		} else {
			if (!d)
				d = detail_get(ft, i);
			response_add(d, o);
		}
	} else {
		int q1 = f->flags & F_Q1;

		observe_query(ft, i, o, d, tags);
		touch_last(f, o);
		if (!q1 && (f->flags & F_Q1))
			f->detail = f->last_ms; /* detail_of() */
		return (int)i;
	}
	touch_last(f, o);
	return (int)i;
}

int xf_ft_observe(struct xf_ft *ft, const struct xf_obs *o)
{
	uint32_t i = flow_get(ft, o);

	return i ? observe_flow(ft, i, o) : -1;
}

uint64_t xf_ft_gen(const struct xf_ft *ft)
{
	return ft->st.evicted; /* evictions are the only way a flow slot changes hands */
}

int xf_ft_observe_at(struct xf_ft *ft, uint32_t idx, uint64_t gen, const struct xf_obs *o)
{
	if (gen != ft->st.evicted || !idx || idx > ft->fused || !ft->flows[idx].client)
		return -1;
	/* what flow_get does when it finds the flow */
	if (ft->lru_head != idx) {
		lru_unlink(ft, idx);
		lru_push(ft, idx);
	}
	return observe_flow(ft, idx, o);
}

int xf_ft_merge_kernel(struct xf_ft *ft, const __u8 *client, __u64 kernel_rd,
		       const struct xf_flow *k)
{
	uint64_t ch = xf_hash_bytes(client, 16);
	uint32_t c = client_find(ft, client, ch), d, i = 0;
	struct ft_detail *det;
	struct ft_flow *f;

	if (!c)
		return 0;
	for (d = ft->kbuckets[xf_mix64(kernel_rd) & ft->dmask]; d && !i; d = ft->doms[d].knext)
		if (ft->doms[d].khash == kernel_rd)
			i = flow_find(ft, c, d, flow_hash(ft, c, d));
	if (!i)
		return 0;
	f = &ft->flows[i];
	/* after a roll the kernel entry still holds the old window until the
	 * tick deletes it: merging it now would bring the old counts back */
	if (f->flags & F_ROLLED)
		return 0;
	if (k->queries > f->queries) {
		f->queries = (uint32_t)k->queries;
		f->qname_bytes = (uint32_t)k->qname_bytes;
		f->entropy_cb = (uint32_t)(k->entropy_sum / 10);
	}
	if (k->enc_queries > f->enc)
		f->enc = k->enc_queries;
	if (k->long_queries > f->longq)
		f->longq = k->long_queries;
	if (f->queries >= 2 || k->responses) {
		det = detail_get(ft, i);
		if (k->responses > det->responses)
			det->responses = k->responses;
		if (k->nxdomain > det->nxdomain)
			det->nxdomain = k->nxdomain;
		for (int q = 0; q < XF_QT_BUCKETS; q++)
			if (k->qtypes[q] > det->qtypes[q])
				det->qtypes[q] = k->qtypes[q];
		for (int r = 0; r < XF_HLL_REGS; r++)
			if (k->hll[r] > det->hll[r])
				det->hll[r] = k->hll[r];
	}
	ft->st.merged++;
	mark_dirty(ft, i);
	return 1;
}

/*
 * Registers of rank <= HLL_EXACT_RANK are summed as integers in units of
 * 2^-HLL_EXACT_RANK: every partial sum of up to 64 terms is then below 2^7
 * with its lowest bit at 2^-46, 53 bits, so the floating-point sum in
 * register order (the loop below) never rounds and both give the same
 * double. The integer sum has no dependency through an FP add (4 cycles
 * each) and no ldexp() call: the tick runs it for every flow it visits.
 */
#define HLL_EXACT_RANK 46
_Static_assert(XF_HLL_REGS <= 64, "the exact sum needs at most 64 registers");

double xf_hll_estimate(const __u8 *regs)
{
	const double m = XF_HLL_REGS, alpha = 0.709; /* alpha_64 */
	double sum = 0;
	uint64_t acc = 0;
	int zeros = 0, deep = 0;

	for (int i = 0; i < XF_HLL_REGS; i++) {
		deep |= regs[i] > HLL_EXACT_RANK;
		/* a deep register's term is garbage, and unused */
		acc += 1ULL << ((unsigned int)(HLL_EXACT_RANK - regs[i]) & 63);
		zeros += !regs[i];
	}
	if (!deep) {
		sum = ldexp((double)acc, -HLL_EXACT_RANK);
	} else {
		for (int i = 0; i < XF_HLL_REGS; i++)
			sum += ldexp(1.0, -(int)regs[i]);
	}
	sum = alpha * m * m / sum;
	/* small range: linear counting is exact enough and unbiased */
	if (sum <= 2.5 * m && zeros)
		return m * log(m / zeros);
	return sum;
}

static void iat_view(const struct ft_detail *d, uint32_t queries, struct xf_flow_view *v)
{
	double n, mean, var;

	/* this window's gaps only while its queries were all seen */
	if (!iat_covered(d, queries))
		return;
	v->iat_n = d->iat_n + d->w_n;
	if (!v->iat_n)
		return;
	n = v->iat_n;
	mean = (d->iat_sum + d->w_sum) / n;
	var = (d->iat_sq + d->w_sq) / n - mean * mean;
	v->iat_mean_s = mean / 1000.0;
	v->iat_cv = var > 0 && mean > 0 ? sqrt(var) / mean : 0.0;
}

static void flow_view(struct xf_ft *ft, uint32_t i, struct xf_ft_flow *out)
{
	struct ft_flow *f = &ft->flows[i];
	struct ft_detail *d = detail_of(f) ? &ft->details[f->detail] : NULL;
	struct xf_flow_view *v = &out->view;

	memset(out, 0, sizeof(*out));
	out->idx = i;
	out->client = ft->clients[f->client].addr;
	out->domain = ft->doms[f->dom].name;
	out->kernel_rd = ft->doms[f->dom].khash;
	out->win_start_s = f->win_start_s;
	out->last_s = f->win_start_s + f->last_ms / 1000;
	out->alert = &f->alert;
	out->rolled = !!(f->flags & F_ROLLED);
	v->domain = out->domain;
	v->queries = f->queries;
	v->qname_bytes = f->qname_bytes;
	v->entropy_sum = (uint64_t)f->entropy_cb * 10;
	v->enc_queries = f->enc;
	v->long_queries = f->longq;
	v->max_name_len = f->max_name;
	v->max_label = f->max_label;
	v->max_enc_label = f->max_enc;
	v->span_s = f->last_ms / 1000.0;
	v->resolver = !!(f->flags & F_RESOLVER);
	v->distinct = f->queries ? 1 : 0;
	v->tag_names = !!(f->flags & F_Q1);
	v->responses = !!(f->flags & F_R1);
	v->nxdomain = !!(f->flags & F_R1NX);
	if (d) {
		v->responses = d->responses;
		v->nxdomain = d->nxdomain;
		v->servfail = d->servfail;
		v->refused = d->refused;
		v->answer_msgs = d->answer_msgs;
		v->answers = d->answers;
		v->answer_bytes = d->answer_bytes;
		v->answer_qt = d->answer_qt;
		v->msg_tc = d->msg_tc;
		memcpy(v->qtypes, d->qtypes, sizeof(v->qtypes));
		v->distinct = xf_hll_estimate(d->hll);
		v->tags = d->tags;
		v->tagged = d->tagged;
		v->tag_names = d->tag_names;
		v->bypass = d->bypass;
		v->sni = d->sni;
		v->hosts = d->hosts;
		iat_view(d, f->queries, v);
		for (int k = 0; k < d->n_samples; k++)
			out->samples[k] = d->samples[k];
		out->last_qtype = d->last_qtype;
		out->server = d->has_server ? d->server : NULL;
		out->kind = d->kind;
		out->kaction = d->kaction;
		out->kreason = d->kreason;
		out->kenforced = d->kenforced;
	}
}

/* Take the next slot off the dirty list: its flow if live and touched, else 0. */
static uint32_t dirty_pop(struct xf_ft *ft)
{
	uint32_t i = ft->dirty_head;
	struct ft_flow *f = &ft->flows[i];

	ft->dirty_head = f->dnext;
	if (!ft->dirty_head)
		ft->dirty_tail = 0;
	f->dnext = 0;
	f->flags &= ~F_LISTED;
	if (!(f->flags & F_DIRTY))
		return 0; /* evicted since it was listed, slot not reused */
	f->flags &= ~F_DIRTY;
	ft->n_dirty--;
	return i;
}

uint32_t xf_ft_tick_budget(struct xf_ft *ft, xf_ft_fn fn, void *ctx, uint32_t max)
{
	struct xf_ft_flow v;
	uint32_t done = 0;

	/* oldest touch first; a flow touched again while it waits keeps its
	 * place, one touched after its visit goes to the back */
	while (done < max && ft->dirty_head) {
		uint32_t i = dirty_pop(ft);

		/* the flows to visit are scattered: fetch the next entry, and
		 * what the one after this reads, while this one is scored */
		if (ft->dirty_head) {
			const struct ft_flow *n = &ft->flows[ft->dirty_head];

			__builtin_prefetch(n);
			if (n->dnext)
				__builtin_prefetch(&ft->flows[n->dnext]);
			__builtin_prefetch(&ft->clients[n->client]);
			__builtin_prefetch(&ft->doms[n->dom]);
			if (detail_of(n))
				__builtin_prefetch(&ft->details[n->detail]);
		}
		if (!i)
			continue;
		flow_view(ft, i, &v);
		fn(ctx, &v);
		ft->flows[i].flags &= ~F_ROLLED;
		done++;
	}
	return ft->n_dirty;
}

void xf_ft_tick(struct xf_ft *ft, xf_ft_fn fn, void *ctx)
{
	/* what is dirty now: flows the callbacks touch wait for the next tick */
	xf_ft_tick_budget(ft, fn, ctx, ft->n_dirty);
}

const struct xf_ft_alert *xf_ft_alert_at(const struct xf_ft *ft, uint32_t idx)
{
	return &ft->flows[idx].alert;
}

uint32_t xf_ft_dirty(const struct xf_ft *ft)
{
	return ft->n_dirty;
}

void xf_ft_each(struct xf_ft *ft, xf_ft_fn fn, void *ctx)
{
	struct xf_ft_flow v;

	for (uint32_t i = ft->lru_head; i; i = ft->flows[i].next) {
		flow_view(ft, i, &v);
		fn(ctx, &v);
	}
}

void xf_ft_stats(const struct xf_ft *ft, struct xf_ft_stats *st)
{
	*st = ft->st;
	st->bytes +=
		ft->st.flows * sizeof(struct ft_flow) + ft->st.details * sizeof(struct ft_detail) +
		ft->st.clients * sizeof(struct ft_client) + ft->st.domains * sizeof(struct ft_dom) +
		((uint64_t)ft->fmask + 1 + ft->cmask + 1 + 2 * ((uint64_t)ft->dmask + 1)) *
			sizeof(uint32_t);
}
