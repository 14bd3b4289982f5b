// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * domtab.c - the domain table: registered domain -> window aggregate across
 * clients, LRU-bounded, for the domain-scope detectors (detectors/flood.c).
 *
 * Entries live in one array allocated at the bound (calloc'd: pages are
 * mapped as entries are used) and are addressed by 32-bit indexes (0 =
 * none); chained hashing over a bucket array sized once; an intrusive LRU
 * list, whose head end is also the tick's work list: every observation
 * moves its entry to the head and stamps it with the tick generation, so
 * the entries touched since the last tick are exactly the run at the head
 * with the current generation. Written by hand for the same reason as
 * flowtab.c: no Debian library has an index-based LRU with a hard bound.
 *
 * The sketches are HyperLogLogs of 256 registers for names (about 6.5 %
 * standard error, where thresholds are thousands of names) and 64 for
 * clients (the kernel's size, about 13 %).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "domtab.h"
#include "hash.h"

#define DT_NAME_BITS 8
#define DT_NAME_REGS (1u << DT_NAME_BITS)
#define DT_CLIENT_BITS 6
#define DT_CLIENT_REGS (1u << DT_CLIENT_BITS)
#define DT_DOMAIN_MAX 254 /* a presentation name with its NUL */

struct dt_entry {
	uint32_t hnext, prev, next;
	uint32_t gen; /* tick generation of the latest observation */
	uint64_t h; /* hash of the name; 0 = free */
	uint64_t first_ms, last_ms;
	uint64_t qname_bytes;
	uint32_t win_start_s;
	uint32_t queries, responses, nxdomain;
	uint16_t last_qtype;
	uint8_t n_clients, n_names;
	struct xf_ft_alert alert;
	uint8_t names[DT_NAME_REGS];
	uint8_t clients[DT_CLIENT_REGS];
	uint8_t client_samples[XF_DT_CLIENT_SAMPLES][16];
	char samples[XF_DT_NAME_SAMPLES][XF_DT_NAME_LEN];
	char domain[DT_DOMAIN_MAX];
};

struct xf_dt {
	struct xf_dt_cfg cfg;
	struct dt_entry *e;
	uint32_t *buckets, mask;
	uint32_t used, head, tail;
	uint32_t gen;
	struct xf_dt_stats st;
};

struct xf_dt *xf_dt_new(const struct xf_dt_cfg *cfg)
{
	struct xf_dt *dt;
	uint32_t nb = 16;

	if (!cfg->max_domains || !cfg->window_s) {
		errno = EINVAL;
		return NULL;
	}
	dt = calloc(1, sizeof(*dt));
	if (!dt)
		return NULL;
	dt->cfg = *cfg;
	while (nb < cfg->max_domains && nb < (1u << 30))
		nb <<= 1;
	dt->mask = nb - 1;
	dt->buckets = calloc(nb, sizeof(*dt->buckets));
	dt->e = calloc((size_t)cfg->max_domains + 1, sizeof(*dt->e));
	if (!dt->buckets || !dt->e) {
		xf_dt_free(dt);
		errno = ENOMEM;
		return NULL;
	}
	dt->gen = 1;
	return dt;
}

void xf_dt_free(struct xf_dt *dt)
{
	if (!dt)
		return;
	free(dt->buckets);
	free(dt->e);
	free(dt);
}

static void lru_unlink(struct xf_dt *dt, uint32_t i)
{
	struct dt_entry *e = &dt->e[i];

	if (e->prev)
		dt->e[e->prev].next = e->next;
	else
		dt->head = e->next;
	if (e->next)
		dt->e[e->next].prev = e->prev;
	else
		dt->tail = e->prev;
	e->prev = e->next = 0;
}

static void lru_push(struct xf_dt *dt, uint32_t i)
{
	struct dt_entry *e = &dt->e[i];

	e->prev = 0;
	e->next = dt->head;
	if (dt->head)
		dt->e[dt->head].prev = i;
	dt->head = i;
	if (!dt->tail)
		dt->tail = i;
}

static void bucket_remove(struct xf_dt *dt, uint32_t i)
{
	uint32_t *p = &dt->buckets[dt->e[i].h & dt->mask];

	while (*p && *p != i)
		p = &dt->e[*p].hnext;
	if (*p)
		*p = dt->e[i].hnext;
}

/* A fresh window: counts, sketches, samples and the alert start over. */
static void window_reset(struct dt_entry *e, uint32_t now_s)
{
	e->win_start_s = now_s;
	e->first_ms = e->last_ms = 0;
	e->qname_bytes = 0;
	e->queries = e->responses = e->nxdomain = 0;
	e->n_clients = e->n_names = 0;
	e->last_qtype = 0;
	memset(&e->alert, 0, sizeof(e->alert));
	memset(e->names, 0, sizeof(e->names));
	memset(e->clients, 0, sizeof(e->clients));
}

static uint32_t entry_get(struct xf_dt *dt, const char *domain, uint32_t now_s)
{
	size_t len = strlen(domain);
	/* never 0: 0 marks a free entry (not for the sketches: their low bits
	 * are the rank) */
	uint64_t h = xf_hash_bytes(domain, len) | 1;
	uint32_t i;

	for (i = dt->buckets[h & dt->mask]; i; i = dt->e[i].hnext)
		if (dt->e[i].h == h && !strcmp(dt->e[i].domain, domain))
			return i;
	if (dt->used < dt->cfg.max_domains) {
		i = ++dt->used;
	} else {
		i = dt->tail; /* the least recently observed domain goes */
		lru_unlink(dt, i);
		bucket_remove(dt, i);
		dt->st.evicted++;
	}
	memset(&dt->e[i], 0, sizeof(dt->e[i]));
	dt->e[i].h = h;
	memcpy(dt->e[i].domain, domain, len + 1);
	window_reset(&dt->e[i], now_s);
	dt->e[i].hnext = dt->buckets[h & dt->mask];
	dt->buckets[h & dt->mask] = i;
	lru_push(dt, i);
	return i;
}

static void hll_add(uint8_t *regs, unsigned bits, uint64_t h)
{
	uint32_t r = (uint32_t)(h >> (64 - bits));
	/* the sentinel bit caps the rank at 64 - bits + 1 */
	uint8_t rank = (uint8_t)(__builtin_ctzll(h | (1ULL << (64 - bits))) + 1);

	if (regs[r] < rank)
		regs[r] = rank;
}

static double hll_estimate(const uint8_t *regs, unsigned m)
{
	double alpha = m >= 128 ? 0.7213 / (1 + 1.079 / m) : 0.709, sum = 0;
	unsigned zeros = 0;

	for (unsigned i = 0; i < m; i++) {
		sum += ldexp(1.0, -(int)regs[i]);
		zeros += !regs[i];
	}
	sum = alpha * m * m / sum;
	/* small range: linear counting is exact enough and unbiased */
	if (sum <= 2.5 * m && zeros)
		return m * log((double)m / zeros);
	return sum;
}

static void samples_add(struct dt_entry *e, const struct xf_obs *o)
{
	int seen = 0;

	for (int k = 0; k < e->n_clients && !seen; k++)
		seen = !memcmp(e->client_samples[k], o->client, 16);
	if (!seen && e->n_clients < XF_DT_CLIENT_SAMPLES)
		memcpy(e->client_samples[e->n_clients++], o->client, 16);
	if (!o->response && o->name && *o->name && e->n_names < XF_DT_NAME_SAMPLES) {
		snprintf(e->samples[e->n_names], XF_DT_NAME_LEN, "%s", o->name);
		e->n_names++;
	}
}

uint32_t xf_dt_observe(struct xf_dt *dt, const struct xf_obs *o)
{
	const struct xf_name_feat *x = o->feat;
	int dns = o->response || !o->kind || o->kind == XF_EV_DNS_QUERY;
	uint64_t ms = o->ts_ms ? o->ts_ms : (uint64_t)o->now_s * 1000;
	struct dt_entry *e;
	uint32_t i;

	if (!dns || !x || !o->domain || !*o->domain || strlen(o->domain) >= DT_DOMAIN_MAX)
		return 0;
	i = entry_get(dt, o->domain, o->now_s);
	e = &dt->e[i];
	dt->st.observed++;
	if (o->now_s - e->win_start_s >= dt->cfg.window_s && o->now_s > e->win_start_s)
		window_reset(e, o->now_s);
	if (dt->head != i) {
		lru_unlink(dt, i);
		lru_push(dt, i);
	}
	e->gen = dt->gen;
	if (!e->first_ms || ms < e->first_ms)
		e->first_ms = ms;
	if (ms > e->last_ms)
		e->last_ms = ms;
	hll_add(e->clients, DT_CLIENT_BITS, xf_hash_bytes(o->client, 16));
	/* a response names its question: with sampled query events, the
	 * NXDOMAIN answers (always events) still count the names */
	if (x->name_hash)
		hll_add(e->names, DT_NAME_BITS, xf_mix64(x->name_hash));
	if (o->response) {
		e->responses++;
		e->nxdomain += (x->dns_flags & 0xf) == 3;
	} else {
		e->queries++;
		e->qname_bytes += x->name_len;
		e->last_qtype = x->qtype;
	}
	samples_add(e, o);
	return i;
}

static void view_of(struct xf_dt *dt, uint32_t i, struct xf_dt_domain *d)
{
	struct dt_entry *e = &dt->e[i];

	memset(d, 0, sizeof(*d));
	d->idx = i;
	d->domain = e->domain;
	d->win_start_s = e->win_start_s;
	d->last_s = (uint32_t)(e->last_ms / 1000);
	if (d->last_s < d->win_start_s)
		d->last_s = d->win_start_s;
	d->qname_bytes = e->qname_bytes;
	d->last_qtype = e->last_qtype;
	d->alert = &e->alert;
	for (int k = 0; k < e->n_clients; k++)
		d->clients[k] = e->client_samples[k];
	for (int k = 0; k < e->n_names; k++)
		d->samples[k] = e->samples[k];
	d->view = (struct xf_domain_view){
		.domain = e->domain,
		.queries = e->queries,
		.responses = e->responses,
		.nxdomain = e->nxdomain,
		.distinct = hll_estimate(e->names, DT_NAME_REGS),
		.clients = hll_estimate(e->clients, DT_CLIENT_REGS),
		.span_s = (double)(e->last_ms - e->first_ms) / 1000.0,
	};
}

void xf_dt_tick(struct xf_dt *dt, xf_dt_fn fn, void *ctx)
{
	uint32_t gen = dt->gen;
	struct xf_dt_domain d;

	/* callbacks observe nothing, so the run at the head stays put */
	dt->gen++;
	if (!dt->gen)
		dt->gen = 1;
	for (uint32_t i = dt->head; i && dt->e[i].gen == gen; i = dt->e[i].next) {
		view_of(dt, i, &d);
		fn(ctx, &d);
	}
}

void xf_dt_stats(const struct xf_dt *dt, struct xf_dt_stats *st)
{
	*st = dt->st;
	st->domains = dt->used;
	st->bytes = (uint64_t)dt->used * sizeof(struct dt_entry) +
		    (uint64_t)(dt->mask + 1) * sizeof(uint32_t) + sizeof(*dt);
}
