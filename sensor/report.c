// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * report.c - the HTML tuning report of `exfilter replay --report`.
 *
 * Collecting: three hash tables, keyed by registered domain, by client x
 * domain, and by (domain, allowlist entry, source). A pair keeps its best
 * score and the packet times at which its running best first crossed each
 * whole point (at most 101 steps), so the time to detect at any threshold,
 * and at every threshold of the sweep, is known when writing without
 * keeping any per-packet history. Replay also feeds every query
 * (xf_report_query: cumulative queries and payload bytes per pair) and every
 * alert (xf_report_alert), for bytes to detect and the evaluation summary
 * (xf_report_write_eval, a TSV for scripts such as `make eval`).
 *
 * Writing: one HTML5 file with inline CSS and inline SVG charts drawn here
 * (no script, no external resource, and a Content-Security-Policy that
 * forbids both, so a name that slipped past escaping still could not run).
 *
 * The hash tables are hand-rolled: none of the libraries already linked
 * offers one with iteration, and libc's hsearch has a fixed size and no
 * way to walk it.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "names.h"
#include "report.h"

#define RP_FLOOR 5.0 /* a detector "fired" above this score */
#define RP_ROWS 1000 /* default rows in the long tables */
#define RP_STEP 5 /* sweep step, points */
#define RP_NSTEP (100 / RP_STEP + 1)
#define RP_NAME_MAX 1024 /* longest name kept: DNS names are <= 1010 escaped */
#define RP_TAB_MIN 256

enum rp_label { RP_NONE, RP_TUNNEL, RP_EXFIL, RP_BEACON, RP_BENIGN };

static const char *const rp_label_names[] = { "", "tunnel", "exfil", "beacon", "benign" };

static int is_attack(int label)
{
	return label == RP_TUNNEL || label == RP_EXFIL || label == RP_BEACON;
}

/* ---- hash tables ---- */

struct rp_node {
	struct rp_node *next;
	uint64_t hash;
};

struct rp_tab {
	struct rp_node **b;
	size_t nb, n;
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

#define FNV0 0xcbf29ce484222325ull

static int tab_add(struct rp_tab *t, struct rp_node *n)
{
	if (t->n >= t->nb) {
		size_t nb = t->nb ? t->nb * 2 : RP_TAB_MIN;
		struct rp_node **b = calloc(nb, sizeof(*b));

		if (!b)
			return -1;
		for (size_t i = 0; i < t->nb; i++) {
			for (struct rp_node *e = t->b[i], *next; e; e = next) {
				next = e->next;
				e->next = b[e->hash & (nb - 1)];
				b[e->hash & (nb - 1)] = e;
			}
		}
		free(t->b);
		t->b = b;
		t->nb = nb;
	}
	n->next = t->b[n->hash & (t->nb - 1)];
	t->b[n->hash & (t->nb - 1)] = n;
	t->n++;
	return 0;
}

static struct rp_node *tab_first(const struct rp_tab *t, uint64_t hash)
{
	return t->nb ? t->b[hash & (t->nb - 1)] : NULL;
}

/* Every node, in a flat array (for sorting); NULL when empty or no memory. */
static struct rp_node **tab_list(const struct rp_tab *t)
{
	struct rp_node **a = malloc((t->n ? t->n : 1) * sizeof(*a));
	size_t k = 0;

	if (!a)
		return NULL;
	for (size_t i = 0; i < t->nb; i++)
		for (struct rp_node *e = t->b[i]; e; e = e->next)
			a[k++] = e;
	return a;
}

static void tab_free(struct rp_tab *t, void (*fn)(struct rp_node *))
{
	for (size_t i = 0; i < t->nb; i++) {
		for (struct rp_node *e = t->b[i], *next; e; e = next) {
			next = e->next;
			fn(e);
		}
	}
	free(t->b);
	memset(t, 0, sizeof(*t));
}

/* ---- what is kept ---- */

struct rp_fired {
	double score; /* best score of this detector on the domain */
	int n;
	struct xf_evidence ev[XF_EVIDENCE_MAX]; /* keys are the detectors' literals */
};

struct rp_dom {
	struct rp_node node;
	char *name;
	int label, truth_line, seen;
	double max;
	int sev;
	uint64_t q_at_max, b_at_max, first_ms;
	struct rp_fired *fired; /* xf_n_detectors entries, NULL until one fires */
	float *best; /* every detector's best score, NULL until one scores */
	int queried; /* fed by xf_report_query */
	uint64_t last_q_ms; /* its last query fed */
	/* computed by the writer */
	uint32_t clients, alerts;
	int64_t ttd_ms; /* -1: not detected */
	uint64_t q_detect, q_total, b_total;
	uint64_t allow_hits;
	uint64_t b_detect; /* payload bytes to detect (fed pairs) */
	/* computed by the evaluation writer: first alerts */
	uint32_t e_alerts;
	int64_t e_ttd_ms; /* -1: no alert */
	uint64_t e_alert_ms, e_q, e_b, e_qtot, e_btot;
	int64_t k_ttd_ms; /* first kernel action, the soonest pair; -1: none */
	uint64_t k_q, k_b;
};

struct rp_point { /* 24 bytes: a pair holds up to 101 */
	float score;
	uint32_t queries; /* in the window, by then */
	uint64_t ts_ms;
	uint32_t cum_q, cum_b; /* queries and payload bytes fed since the first (capped) */
};

struct rp_pair {
	struct rp_node node;
	struct rp_dom *dom;
	uint8_t client[16];
	double max;
	uint64_t first_ms;
	uint64_t last_q, last_b, base_q, base_b; /* totals across window rolls */
	struct rp_point *pts; /* running best at each whole point it crossed */
	unsigned npts, cap;
	struct rp_point last; /* the latest rise of the best, whole point or not */
	/* from xf_report_query and xf_report_alert */
	uint64_t q_first_ms; /* first query fed; UINT64_MAX: none */
	uint64_t cum_q, cum_b; /* queries and payload bytes fed */
	uint64_t alert_ms, alert_q, alert_b; /* first alert; alert_ms UINT64_MAX: none */
	uint64_t k_ms, k_q, k_b; /* first query the kernel acts on; k_ms likewise */
};

struct rp_allow {
	struct rp_node node;
	const char *domain, *entry, *source; /* into key */
	size_t keylen;
	uint64_t hits;
	char key[]; /* "domain\0entry\0source\0" */
};

struct xf_report {
	struct rp_tab doms, pairs, allows;
	uint64_t flows, lost, allow_total;
	unsigned rows;
	int fed; /* xf_report_query was called */
};

static void dom_free(struct rp_node *n)
{
	struct rp_dom *d = (struct rp_dom *)n;

	free(d->fired);
	free(d->best);
	free(d->name);
	free(d);
}

static void pair_free(struct rp_node *n)
{
	free(((struct rp_pair *)n)->pts);
	free(n);
}

static void allow_free(struct rp_node *n)
{
	free(n);
}

struct xf_report *xf_report_new(void)
{
	struct xf_report *r = calloc(1, sizeof(*r));

	if (r)
		r->rows = RP_ROWS;
	return r;
}

void xf_report_free(struct xf_report *r)
{
	if (!r)
		return;
	tab_free(&r->pairs, pair_free);
	tab_free(&r->doms, dom_free);
	tab_free(&r->allows, allow_free);
	free(r);
}

void xf_report_set_rows(struct xf_report *r, unsigned rows)
{
	r->rows = rows;
}

void xf_report_stats(const struct xf_report *r, struct xf_report_stats *st)
{
	st->flows = r->flows;
	st->domains = r->doms.n;
	st->pairs = r->pairs.n;
	st->allow_rows = r->allows.n;
	st->lost = r->lost;
}

/* The domain entry for name, created when create is set; NULL otherwise or
 * when out of memory. */
static struct rp_dom *dom_get(struct xf_report *r, const char *name, int create)
{
	size_t len = strnlen(name, RP_NAME_MAX);
	uint64_t h = fnv(FNV0, name, len);
	struct rp_dom *d;

	for (struct rp_node *e = tab_first(&r->doms, h); e; e = e->next) {
		d = (struct rp_dom *)e;
		if (e->hash == h && !strncmp(d->name, name, len) && !d->name[len])
			return d;
	}
	if (!create)
		return NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->name = strndup(name, len);
	d->node.hash = h;
	d->max = -1;
	d->first_ms = UINT64_MAX;
	if (!d->name || tab_add(&r->doms, &d->node)) {
		free(d->name);
		free(d);
		return NULL;
	}
	return d;
}

static struct rp_pair *pair_get(struct xf_report *r, struct rp_dom *d, const uint8_t *client)
{
	uint64_t h = fnv(d->node.hash ^ 0x9e3779b97f4a7c15ull, client, 16);
	struct rp_pair *p;

	for (struct rp_node *e = tab_first(&r->pairs, h); e; e = e->next) {
		p = (struct rp_pair *)e;
		if (e->hash == h && p->dom == d && !memcmp(p->client, client, 16))
			return p;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->node.hash = h;
	p->dom = d;
	memcpy(p->client, client, 16);
	p->max = -1;
	p->first_ms = UINT64_MAX;
	p->q_first_ms = UINT64_MAX;
	p->alert_ms = UINT64_MAX;
	p->k_ms = UINT64_MAX;
	if (tab_add(&r->pairs, &p->node)) {
		free(p);
		return NULL;
	}
	return p;
}

/* The (client, domain) pair a call is about, created as needed; counted as
 * lost when there is no domain or no memory. */
static struct rp_pair *pair_of(struct xf_report *r, const char *domain, const uint8_t *client,
			       struct rp_dom **dp)
{
	static const uint8_t none[16];
	struct rp_dom *d = domain && *domain ? dom_get(r, domain, 1) : NULL;
	struct rp_pair *p = d ? pair_get(r, d, client ? client : none) : NULL;

	if (!p)
		r->lost++;
	*dp = d;
	return p;
}

/* ---- collecting ---- */

/* A score as a float no larger than it: scores and thresholds both go
 * through here, so score >= threshold still holds after. */
static float down(double x)
{
	float f = (float)x;

	return (double)f > x ? nextafterf(f, -INFINITY) : f;
}

/* Record the pair's new best when it crosses a whole point: at most 101
 * steps, exact times for integer thresholds. */
static uint32_t cap32(uint64_t x)
{
	return x > UINT32_MAX ? UINT32_MAX : (uint32_t)x;
}

static int pair_step(struct rp_pair *p, double score, uint64_t ts_ms, uint64_t queries)
{
	double prev = p->max;

	if (score <= prev)
		return 0;
	p->max = score;
	p->last = (struct rp_point){
		.score = down(score),
		.queries = cap32(queries),
		.ts_ms = ts_ms,
		.cum_q = cap32(p->cum_q),
		.cum_b = cap32(p->cum_b),
	};
	if (prev >= 0 && floor(score) <= floor(prev))
		return 0;
	if (p->npts == p->cap) {
		unsigned cap = p->cap ? p->cap * 2 : 4;
		struct rp_point *pts = realloc(p->pts, cap * sizeof(*pts));

		if (!pts)
			return -1;
		p->pts = pts;
		p->cap = cap;
	}
	p->pts[p->npts++] = p->last;
	return 0;
}

static void dom_fired(struct rp_dom *d, const struct xf_score *sc)
{
	int n = xf_n_detectors < 16 ? xf_n_detectors : 16;

	for (int i = 0; i < n; i++) {
		const struct xf_det_result *res = &sc->det[i];

		if (res->score > 0 && !d->best)
			d->best = calloc((size_t)n, sizeof(*d->best));
		if (d->best && res->score > d->best[i])
			d->best[i] = (float)res->score;
		if (!(res->score > RP_FLOOR))
			continue;
		if (!d->fired) {
			d->fired = calloc((size_t)n, sizeof(*d->fired));
			if (!d->fired)
				return;
		}
		if (res->score > d->fired[i].score) {
			d->fired[i].score = res->score;
			d->fired[i].n = res->n < XF_EVIDENCE_MAX ? res->n : XF_EVIDENCE_MAX;
			memcpy(d->fired[i].ev, res->ev, sizeof(res->ev));
		}
	}
}

void xf_report_flow(struct xf_report *r, const struct xf_ft_flow *f, const struct xf_score *sc,
		    uint64_t ts_ms, uint64_t first_ms)
{
	const struct xf_flow_view *v = &f->view;
	double score = sc->score;
	struct rp_dom *d;
	struct rp_pair *p;

	r->flows++;
	p = pair_of(r, f->domain, f->client, &d);
	if (!p)
		return;
	if (!(score >= 0)) /* NaN too */
		score = 0;
	if (score > 100)
		score = 100;
	if (!first_ms || first_ms > ts_ms)
		first_ms = ts_ms;
	d->seen = 1;
	if (first_ms < d->first_ms)
		d->first_ms = first_ms;
	if (first_ms < p->first_ms)
		p->first_ms = first_ms;
	/* counts restart with each window: carry what the last one had */
	if (v->queries < p->last_q || v->qname_bytes < p->last_b) {
		p->base_q += p->last_q;
		p->base_b += p->last_b;
	}
	p->last_q = v->queries;
	p->last_b = v->qname_bytes;
	if (score > d->max) {
		d->max = score;
		d->sev = sc->severity;
		d->q_at_max = v->queries;
		d->b_at_max = v->qname_bytes;
	}
	dom_fired(d, sc);
	if (pair_step(p, score, ts_ms, v->queries))
		r->lost++;
}

void xf_report_query(struct xf_report *r, const uint8_t *client, const char *domain,
		     uint64_t payload_bytes, int kernel_acts, uint64_t ts_ms)
{
	struct rp_dom *d;
	struct rp_pair *p;

	p = pair_of(r, domain, client, &d);
	if (!p)
		return;
	r->fed = 1;
	d->queried = 1;
	if (ts_ms > d->last_q_ms)
		d->last_q_ms = ts_ms;
	if (ts_ms < d->first_ms)
		d->first_ms = ts_ms;
	if (ts_ms < p->first_ms)
		p->first_ms = ts_ms;
	if (ts_ms < p->q_first_ms)
		p->q_first_ms = ts_ms;
	p->cum_q++;
	p->cum_b += payload_bytes;
	if (kernel_acts && p->k_ms == UINT64_MAX) {
		p->k_ms = ts_ms;
		p->k_q = p->cum_q;
		p->k_b = p->cum_b;
	}
}

void xf_report_alert(struct xf_report *r, const struct xf_ft_flow *f, uint64_t ts_ms)
{
	struct rp_dom *d;
	struct rp_pair *p;

	p = pair_of(r, f->domain, f->client, &d);
	if (!p)
		return;
	if (p->alert_ms != UINT64_MAX)
		return;
	p->alert_ms = ts_ms;
	/* fed: every query so far; else the window's, the best there is */
	p->alert_q = r->fed ? p->cum_q : f->view.queries;
	p->alert_b = p->cum_b;
}

void xf_report_allow_hit(struct xf_report *r, const char *domain, const char *entry,
			 const char *source)
{
	size_t ld, le, ls;
	uint64_t h;
	struct rp_allow *a;

	domain = domain ? domain : "";
	entry = entry ? entry : "";
	source = source ? source : "";
	ld = strnlen(domain, RP_NAME_MAX);
	le = strnlen(entry, RP_NAME_MAX);
	ls = strnlen(source, RP_NAME_MAX);
	h = fnv(fnv(fnv(FNV0, domain, ld + 1), entry, le + 1), source, ls + 1);
	r->allow_total++;
	for (struct rp_node *e = tab_first(&r->allows, h); e; e = e->next) {
		a = (struct rp_allow *)e;
		if (e->hash == h && a->keylen == ld + le + ls + 3 &&
		    !strncmp(a->domain, domain, ld) && !strncmp(a->entry, entry, le) &&
		    !strncmp(a->source, source, ls)) {
			a->hits++;
			return;
		}
	}
	a = malloc(sizeof(*a) + ld + le + ls + 3);
	if (!a) {
		r->lost++;
		return;
	}
	a->node.hash = h;
	a->keylen = ld + le + ls + 3;
	a->hits = 1;
	memcpy(a->key, domain, ld);
	a->key[ld] = 0;
	memcpy(a->key + ld + 1, entry, le);
	a->key[ld + 1 + le] = 0;
	memcpy(a->key + ld + le + 2, source, ls);
	a->key[ld + le + 2 + ls] = 0;
	a->domain = a->key;
	a->entry = a->key + ld + 1;
	a->source = a->key + ld + le + 2;
	if (tab_add(&r->allows, &a->node)) {
		free(a);
		r->lost++;
	}
}

/* ---- ground truth ---- */

static int label_of(const char *s)
{
	for (int i = RP_TUNNEL; i <= RP_BENIGN; i++)
		if (!strcmp(s, rp_label_names[i]))
			return i;
	return RP_NONE;
}

/* Check and normalise one domain field: lower case, no trailing dot, then
 * its registered domain. Returns NULL with why set when it is no name. */
static const char *truth_domain(char *s, char *buf, size_t size, const char **why)
{
	size_t n = strlen(s);

	if (n && s[n - 1] == '.')
		s[--n] = 0;
	if (!n || n > 253) {
		*why = "a domain name is 1 to 253 characters";
		return NULL;
	}
	for (char *c = s; *c; c++) {
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c + 32);
		if ((unsigned char)*c < 0x21 || (unsigned char)*c >= 0x7f || *c == '/') {
			*why = "a domain name has no control, space, '/' or non-ASCII bytes";
			return NULL;
		}
	}
	return xf_registered_domain(s, buf, size);
}

static int truth_line(struct xf_report *r, char *line, const char *path, int ln, char *err,
		      size_t errlen)
{
	char *save = NULL, *dom, *lab, *extra, buf[300];
	const char *rd, *why = NULL;
	struct rp_dom *d;
	int label;

	line[strcspn(line, "#\r\n")] = 0;
	dom = strtok_r(line, " \t", &save);
	if (!dom)
		return 0;
	lab = strtok_r(NULL, " \t", &save);
	extra = strtok_r(NULL, " \t", &save);
	if (!lab || extra) {
		snprintf(err, errlen, "%s:%d: expected \"registered-domain label\", got %s", path,
			 ln, lab ? "more than two fields" : "one field");
		return -1;
	}
	label = label_of(lab);
	if (label == RP_NONE) {
		snprintf(err, errlen,
			 "%s:%d: unknown label '%.40s' (expected tunnel, exfil, beacon or benign)",
			 path, ln, lab);
		return -1;
	}
	rd = truth_domain(dom, buf, sizeof(buf), &why);
	if (!rd) {
		snprintf(err, errlen, "%s:%d: bad domain: %s", path, ln, why);
		return -1;
	}
	d = dom_get(r, rd, 1);
	if (!d) {
		snprintf(err, errlen, "%s:%d: failed to add domain: out of memory", path, ln);
		return -1;
	}
	if (d->label && d->label != label) {
		snprintf(err, errlen, "%s:%d: '%.100s' already labelled %s (line %d)", path, ln, rd,
			 rp_label_names[d->label], d->truth_line);
		return -1;
	}
	d->label = label;
	if (!d->truth_line)
		d->truth_line = ln;
	return 0;
}

int xf_report_truth(struct xf_report *r, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	int ln = 0, ret = 0;

	if (!f) {
		snprintf(err, errlen, "failed to open truth file %s: %s", path, strerror(errno));
		return -1;
	}
	while (getline(&line, &cap, f) >= 0) {
		if (truth_line(r, line, path, ++ln, err, errlen)) {
			ret = -1;
			break;
		}
	}
	if (!ret && ferror(f)) {
		snprintf(err, errlen, "failed to read truth file %s: %s", path, strerror(errno));
		ret = -1;
	}
	free(line);
	fclose(f);
	return ret;
}

/* ---- the numbers behind the page ---- */

struct rp_sum {
	struct rp_dom **doms; /* seen domains, by score */
	size_t ndoms;
	uint64_t alerts[RP_NSTEP], dalerts[RP_NSTEP], hits[RP_NSTEP], fps[RP_NSTEP],
		other[RP_NSTEP];
	uint64_t n_attack, n_benign; /* labelled domains */
	uint64_t a_alerts, a_doms, a_hits, a_fps; /* at the threshold */
};

static int dom_cmp(const void *a, const void *b)
{
	const struct rp_dom *x = *(struct rp_dom *const *)a, *y = *(struct rp_dom *const *)b;

	if (x->max != y->max)
		return x->max > y->max ? -1 : 1;
	if (is_attack(x->label) != is_attack(y->label))
		return is_attack(x->label) ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* When the pair first reached thr: the first whole-point step at or over
 * it; for a fractional threshold between two steps, the latest rise of the
 * best (the crossing was then or before). */
static void pair_detect(const struct rp_pair *p, double thr, int fed)
{
	const struct rp_point *pt = &p->last;
	struct rp_dom *d = p->dom;
	int64_t ttd;

	for (unsigned j = 0; j < p->npts; j++) {
		if (p->pts[j].score >= down(thr)) {
			pt = &p->pts[j];
			break;
		}
	}
	ttd = pt->ts_ms > p->first_ms ? (int64_t)(pt->ts_ms - p->first_ms) : 0;
	if (d->ttd_ms < 0 || ttd < d->ttd_ms) {
		d->ttd_ms = ttd;
		d->q_detect = fed ? pt->cum_q : pt->queries;
		d->b_detect = pt->cum_b;
	}
}

static void sum_pairs(struct xf_report *r, double thr, struct rp_sum *s)
{
	for (size_t i = 0; i < r->pairs.nb; i++) {
		for (struct rp_node *e = r->pairs.b[i]; e; e = e->next) {
			struct rp_pair *p = (struct rp_pair *)e;
			struct rp_dom *d = p->dom;

			d->clients++;
			d->q_total += p->base_q + p->last_q;
			d->b_total += p->base_b + p->last_b;
			for (int k = 0; k < RP_NSTEP; k++)
				s->alerts[k] += p->max >= k * RP_STEP;
			if (p->max < thr)
				continue;
			d->alerts++;
			s->a_alerts++;
			pair_detect(p, thr, r->fed);
		}
	}
}

static int summarise(struct xf_report *r, double thr, struct rp_sum *s)
{
	struct rp_node **all = tab_list(&r->doms);

	memset(s, 0, sizeof(*s));
	if (!all)
		return -1;
	for (size_t i = 0; i < r->doms.n; i++) {
		struct rp_dom *d = (struct rp_dom *)all[i];

		d->clients = d->alerts = d->allow_hits = 0;
		d->ttd_ms = -1;
		d->q_detect = d->q_total = d->b_total = d->b_detect = 0;
		s->n_attack += is_attack(d->label);
		s->n_benign += d->label == RP_BENIGN;
		if (d->seen)
			all[s->ndoms++] = &d->node;
	}
	s->doms = (struct rp_dom **)all;
	qsort(s->doms, s->ndoms, sizeof(*s->doms), dom_cmp);
	sum_pairs(r, thr, s);
	for (size_t i = 0; i < s->ndoms; i++) {
		const struct rp_dom *d = s->doms[i];

		for (int k = 0; k < RP_NSTEP; k++) {
			int on = d->max >= k * RP_STEP;

			s->dalerts[k] += on;
			s->hits[k] += on && is_attack(d->label);
			s->fps[k] += on && d->label == RP_BENIGN;
			s->other[k] += on && d->label == RP_NONE;
		}
		if (d->max >= thr) {
			s->a_doms++;
			s->a_hits += is_attack(d->label);
			s->a_fps += d->label == RP_BENIGN;
		}
	}
	for (size_t i = 0; i < r->allows.nb; i++) {
		for (struct rp_node *e = r->allows.b[i]; e; e = e->next) {
			struct rp_dom *d = dom_get(r, ((struct rp_allow *)e)->domain, 0);

			if (d)
				d->allow_hits += ((struct rp_allow *)e)->hits;
		}
	}
	return 0;
}

/* ---- HTML ---- */

/* Text for HTML content and attribute values. Bytes outside printable
 * ASCII are shown as \DDD, the form names already use. */
static void esc(FILE *o, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '&':
			fputs("&amp;", o);
			break;
		case '<':
			fputs("&lt;", o);
			break;
		case '>':
			fputs("&gt;", o);
			break;
		case '"':
			fputs("&quot;", o);
			break;
		case '\'':
			fputs("&#39;", o);
			break;
		default:
			if (*p < 0x20 || *p >= 0x7f)
				fprintf(o, "\\%03u", *p);
			else
				fputc(*p, o);
		}
	}
}

static void put_time(FILE *o, uint64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char buf[40];

	if (ms == UINT64_MAX || !gmtime_r(&t, &tm) || !strftime(buf, sizeof(buf), "%F %T", &tm)) {
		fputs("-", o);
		return;
	}
	fprintf(o, "%s.%03uZ", buf, (unsigned)(ms % 1000));
}

static const char rp_head[] =
	"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	"style-src 'unsafe-inline'\">\n"
	"<title>exfilter replay report</title>\n<style>\n"
	"body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}\n"
	"table{border-collapse:collapse;margin:.5em 0 1.5em}\n"
	"th,td{border:1px solid #ccc;padding:2px 6px;vertical-align:top}\n"
	"th{background:#f0f0f0;text-align:left}\n"
	"td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
	"td.dom{font-family:monospace;word-break:break-all;max-width:32em}\n"
	"tr.tunnel,tr.exfil,tr.beacon{background:#fde8e8}\n"
	"tr.benign{background:#eef6ee}\n"
	"tr.cur{font-weight:bold}\n"
	".ev{color:#666;font-size:12px}\n"
	".warn{background:#fff3cd;border:1px solid #e0c060;padding:.5em}\n"
	"svg{display:block;margin:.5em 0}\n"
	"svg text{font:12px sans-serif;fill:#333}\n"
	"dl{display:grid;grid-template-columns:max-content auto;gap:2px 1em}\n"
	"dt{font-weight:bold}dd{margin:0}\n"
	"</style>\n</head>\n<body>\n<h1>exfilter replay report</h1>\n";

static void put_summary(FILE *o, const struct xf_report *r, const struct xf_report_meta *m,
			const struct rp_sum *s)
{
	fputs("<h2 id=\"run\">Run</h2>\n<dl>\n<dt>inputs</dt><dd>", o);
	for (int i = 0; i < m->n_inputs; i++) {
		fputs(i ? "<br>" : "", o);
		esc(o, m->inputs[i] ? m->inputs[i] : "");
	}
	fprintf(o, "</dd>\n<dt>threshold</dt><dd>%g</dd>\n", m->threshold);
	fprintf(o, "<dt>packets</dt><dd>%llu</dd>\n<dt>DNS messages</dt><dd>%llu</dd>\n",
		(unsigned long long)m->packets, (unsigned long long)m->dns);
	fprintf(o, "<dt>parse errors</dt><dd>%llu</dd>\n", (unsigned long long)m->parse_errors);
	fputs("<dt>allowlist version</dt><dd>", o);
	esc(o, m->allowlist_version ? m->allowlist_version : "none");
	fprintf(o, "</dd>\n<dt>flows scored</dt><dd>%llu</dd>\n", (unsigned long long)r->flows);
	fprintf(o, "<dt>registered domains</dt><dd>%zu</dd>\n", s->ndoms);
	fprintf(o, "<dt>client &#215; domain pairs</dt><dd>%zu</dd>\n", r->pairs.n);
	fprintf(o, "<dt>alerts at threshold</dt><dd id=\"alerts\">%llu (on %llu domains)</dd>\n",
		(unsigned long long)s->a_alerts, (unsigned long long)s->a_doms);
	if (s->n_attack || s->n_benign) {
		fprintf(o, "<dt>known tunnels detected</dt><dd id=\"recall\">%llu of %llu</dd>\n",
			(unsigned long long)s->a_hits, (unsigned long long)s->n_attack);
		fprintf(o, "<dt>false positives</dt><dd id=\"fp\">%llu of %llu benign</dd>\n",
			(unsigned long long)s->a_fps, (unsigned long long)s->n_benign);
	} else {
		fputs("<dt>ground truth</dt><dd>none given</dd>\n", o);
	}
	if (r->lost)
		fprintf(o,
			"<dt>lost</dt><dd>%llu flows or hits (no domain, or out of memory)</dd>\n",
			(unsigned long long)r->lost);
	fprintf(o, "<dt>allowlist skips</dt><dd>%llu</dd>\n</dl>\n",
		(unsigned long long)r->allow_total);
}

/* ---- SVG line chart ---- */

struct rp_series {
	const char *name;
	const char *color;
	const uint64_t *v; /* RP_NSTEP values, one per sweep threshold */
};

#define SVG_W 680
#define SVG_H 320
#define SVG_L 64
#define SVG_R 190
#define SVG_T 32
#define SVG_B 46
#define SVG_PW (SVG_W - SVG_L - SVG_R)
#define SVG_PH (SVG_H - SVG_T - SVG_B)

/* A round tick step (1, 2 or 5 x 10^k) giving at most about 6 ticks. */
static double nice_step(double max)
{
	double x = max / 5, p, m;

	if (x <= 1)
		return 1;
	p = pow(10, floor(log10(x)));
	m = x / p;
	return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

static double sx(double t)
{
	return SVG_L + t / 100.0 * SVG_PW;
}

static double sy(double v, double top)
{
	return SVG_T + SVG_PH - v / top * SVG_PH;
}

static void svg_axes(FILE *o, double top, double step, const char *ylab)
{
	fprintf(o,
		"<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fff\" "
		"stroke=\"#999\"/>\n",
		SVG_L, SVG_T, SVG_PW, SVG_PH);
	for (double v = 0; v <= top + step / 2; v += step) {
		fprintf(o,
			"<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n",
			SVG_L, SVG_L + SVG_PW, sy(v, top), sy(v, top));
		fprintf(o, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.0f</text>\n", SVG_L - 6,
			sy(v, top) + 4, v);
	}
	for (int t = 0; t <= 100; t += 10)
		fprintf(o, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%d</text>\n", sx(t),
			SVG_T + SVG_PH + 16, t);
	fprintf(o, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">threshold (score)</text>\n",
		SVG_L + SVG_PW / 2, SVG_H - 8);
	fprintf(o, "<text transform=\"translate(16 %d) rotate(-90)\" text-anchor=\"middle\">",
		SVG_T + SVG_PH / 2);
	esc(o, ylab);
	fputs("</text>\n", o);
}

static void svg_series(FILE *o, const struct rp_series *s, int idx, double top)
{
	fprintf(o, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", s->color);
	for (int k = 0; k < RP_NSTEP; k++)
		fprintf(o, "%s%.1f,%.1f", k ? " " : "", sx(k * RP_STEP), sy((double)s->v[k], top));
	fputs("\"/>\n", o);
	for (int k = 0; k < RP_NSTEP; k++) {
		fprintf(o, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"><title>",
			sx(k * RP_STEP), sy((double)s->v[k], top), s->color);
		esc(o, s->name);
		fprintf(o, " at %d: %llu</title></circle>\n", k * RP_STEP,
			(unsigned long long)s->v[k]);
	}
	fprintf(o,
		"<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"%s\" "
		"stroke-width=\"2\"/>\n",
		SVG_L + SVG_PW + 12, SVG_L + SVG_PW + 32, SVG_T + 10 + idx * 20,
		SVG_T + 10 + idx * 20, s->color);
	fprintf(o, "<text x=\"%d\" y=\"%d\">", SVG_L + SVG_PW + 38, SVG_T + 14 + idx * 20);
	esc(o, s->name);
	fputs("</text>\n", o);
}

static void svg_legend_dash(FILE *o, int idx, const char *dash, const char *color, const char *name)
{
	fprintf(o,
		"<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"%s\" "
		"stroke-dasharray=\"%s\"/>\n",
		SVG_L + SVG_PW + 12, SVG_L + SVG_PW + 32, SVG_T + 10 + idx * 20,
		SVG_T + 10 + idx * 20, color, dash);
	fprintf(o, "<text x=\"%d\" y=\"%d\">", SVG_L + SVG_PW + 38, SVG_T + 14 + idx * 20);
	esc(o, name);
	fputs("</text>\n", o);
}

/* One line chart over the sweep; ref > 0 draws a dashed level (e.g. how
 * many tunnels there are to find). */
static void svg_chart(FILE *o, const char *id, const char *title, const char *ylab,
		      const struct rp_series *s, int ns, double thr, uint64_t ref)
{
	double max = (double)ref, step, top;
	int i;

	for (i = 0; i < ns; i++)
		for (int k = 0; k < RP_NSTEP; k++)
			if ((double)s[i].v[k] > max)
				max = (double)s[i].v[k];
	step = nice_step(max);
	top = step * ceil(max / step);
	if (top <= 0)
		top = step;
	fprintf(o,
		"<svg id=\"%s\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"",
		id, SVG_W, SVG_H, SVG_W, SVG_H);
	esc(o, title);
	fputs("\">\n<title>", o);
	esc(o, title);
	fputs("</title>\n", o);
	fprintf(o, "<text x=\"%d\" y=\"18\" font-weight=\"bold\">", SVG_L);
	esc(o, title);
	fputs("</text>\n", o);
	svg_axes(o, top, step, ylab);
	if (ref)
		fprintf(o,
			"<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#777\" "
			"stroke-dasharray=\"2 3\"><title>to find: %llu</title></line>\n",
			SVG_L, SVG_L + SVG_PW, sy((double)ref, top), sy((double)ref, top),
			(unsigned long long)ref);
	if (thr >= 0 && thr <= 100)
		fprintf(o,
			"<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#555\" "
			"stroke-dasharray=\"5 4\"><title>threshold %g</title></line>\n",
			sx(thr), sx(thr), SVG_T, SVG_T + SVG_PH, thr);
	for (i = 0; i < ns; i++)
		svg_series(o, &s[i], i, top);
	svg_legend_dash(o, ns, "5 4", "#555", "threshold");
	if (ref)
		svg_legend_dash(o, ns + 1, "2 3", "#777", "labelled tunnels");
	fputs("</svg>\n", o);
}

static void put_sweep(FILE *o, const struct rp_sum *s, double thr)
{
	const struct rp_series a[] = {
		{ "alerts (client x domain)", "#1f5fbf", s->alerts },
		{ "domains alerted", "#8a8a8a", s->dalerts },
	};
	const struct rp_series b[] = {
		{ "known-tunnel hits", "#c62828", s->hits },
		{ "false positives", "#ef8f00", s->fps },
	};

	fputs("<h2 id=\"sweep\">Threshold sweep</h2>\n", o);
	svg_chart(o, "chart-alerts", "Alerts by threshold", "alerts", a, 2, thr, 0);
	if (s->n_attack || s->n_benign)
		svg_chart(o, "chart-truth", "Known tunnels and false positives by threshold",
			  "registered domains", b, 2, thr, s->n_attack);
	else
		fputs("<p>No ground truth given: known-tunnel hits and false positives need a "
		      "labels file.</p>\n",
		      o);
	fputs("<table id=\"sweep-table\">\n<tr><th>threshold</th><th>alerts (client &#215; "
	      "domain)</th><th>domains alerted</th><th>known-tunnel hits</th><th>recall</th>"
	      "<th>false positives (benign)</th><th>unlabelled domains alerted</th></tr>\n",
	      o);
	for (int k = 0; k < RP_NSTEP; k++) {
		int t = k * RP_STEP;
		int cur = thr >= t && thr < t + RP_STEP;

		fprintf(o,
			"<tr id=\"sweep-%d\"%s><td class=\"n\">%d</td><td class=\"n\">%llu</td>"
			"<td class=\"n\">%llu</td><td class=\"n\">%llu</td><td class=\"n\">",
			t, cur ? " class=\"cur\"" : "", t, (unsigned long long)s->alerts[k],
			(unsigned long long)s->dalerts[k], (unsigned long long)s->hits[k]);
		if (s->n_attack)
			fprintf(o, "%.1f%%", 100.0 * (double)s->hits[k] / (double)s->n_attack);
		else
			fputs("-", o);
		fprintf(o, "</td><td class=\"n\">%llu</td><td class=\"n\">%llu</td></tr>\n",
			(unsigned long long)s->fps[k], (unsigned long long)s->other[k]);
	}
	fputs("</table>\n", o);
}

static void put_fired(FILE *o, const struct rp_dom *d)
{
	int order[16], n = 0, lim = xf_n_detectors < 16 ? xf_n_detectors : 16;

	if (!d->fired)
		return;
	/* insertion sort, best first: at most 16 detectors */
	for (int i = 0; i < lim; i++) {
		int j = n;

		if (!(d->fired[i].score > 0))
			continue;
		while (j > 0 && d->fired[order[j - 1]].score < d->fired[i].score) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
		n++;
	}
	for (int k = 0; k < n; k++) {
		const struct rp_fired *fd = &d->fired[order[k]];

		fputs(k ? "<br>" : "", o);
		esc(o, xf_detectors[order[k]]->name);
		fprintf(o, " <b>%.0f</b> <span class=\"ev\">", fd->score);
		for (int e = 0; e < fd->n; e++) {
			fputs(e ? ", " : "", o);
			esc(o, fd->ev[e].key ? fd->ev[e].key : "?");
			fprintf(o, "=%.4g", fd->ev[e].value);
		}
		fputs("</span>", o);
	}
}

static void put_dom_row(FILE *o, const struct rp_dom *d, size_t rank, int fed)
{
	fprintf(o, "<tr class=\"%s\"><td class=\"n\">%zu</td><td class=\"dom\">",
		d->label ? rp_label_names[d->label] : "u", rank);
	esc(o, d->name);
	fprintf(o, "</td><td>%s</td><td class=\"n\">%.1f</td><td>%s</td><td>",
		d->label ? rp_label_names[d->label] : "", d->max,
		xf_severity_name((enum xf_severity)d->sev));
	put_fired(o, d);
	fprintf(o,
		"</td><td class=\"n\">%u</td><td class=\"n\">%u</td><td class=\"n\">%llu</td>"
		"<td class=\"n\">%llu</td><td class=\"n\">%llu</td><td class=\"n\">%llu</td><td>",
		d->clients, d->alerts, (unsigned long long)d->q_at_max,
		(unsigned long long)d->b_at_max, (unsigned long long)d->q_total,
		(unsigned long long)d->b_total);
	put_time(o, d->first_ms);
	if (d->ttd_ms >= 0)
		fprintf(o, "</td><td class=\"n ttd\">%lld.%03lld s</td><td class=\"n\">%llu</td>",
			(long long)(d->ttd_ms / 1000), (long long)(d->ttd_ms % 1000),
			(unsigned long long)d->q_detect);
	else
		fputs("</td><td class=\"n ttd\">not detected</td><td class=\"n\">-</td>", o);
	if (d->ttd_ms >= 0 && fed)
		fprintf(o, "<td class=\"n\">%llu</td>", (unsigned long long)d->b_detect);
	else
		fputs("<td class=\"n\">-</td>", o);
	fprintf(o, "<td class=\"n\">%llu</td></tr>\n", (unsigned long long)d->allow_hits);
}

static void put_domains(FILE *o, const struct xf_report *r, const struct rp_sum *s)
{
	size_t shown = 0, hidden = 0;
	double below = -1;

	fputs("<h2 id=\"domains\">Registered domains</h2>\n"
	      "<p>By best score over every client. <i>Alerts</i> counts clients whose flow "
	      "reached the threshold; <i>time to detect</i> is from a client's first packet "
	      "to the packet at which its score first reached the threshold (the fastest "
	      "client), with its queries and payload bytes (name bytes before the "
	      "registered domain) from its first query by then (replay counts every "
	      "query; without that, the window's queries).</p>\n"
	      "<table id=\"domain-table\">\n<tr><th>#</th><th>registered domain</th>"
	      "<th>label</th><th>score</th><th>severity</th><th>detectors fired "
	      "(best score, evidence)</th><th>clients</th><th>alerts</th><th>queries at "
	      "max</th><th>qname bytes at max</th><th>queries</th><th>qname bytes</th>"
	      "<th>first seen (UTC)</th><th>time to detect</th><th>queries to detect</th>"
	      "<th>payload bytes to detect</th><th>allowlist hits</th></tr>\n",
	      o);
	for (size_t i = 0; i < s->ndoms; i++) {
		const struct rp_dom *d = s->doms[i];

		if (!r->rows || shown < r->rows || is_attack(d->label)) {
			put_dom_row(o, d, i + 1, r->fed);
			shown++;
		} else {
			hidden++;
			if (below < 0)
				below = d->max;
		}
	}
	fputs("</table>\n", o);
	if (hidden)
		fprintf(o, "<p>%zu more domains with scores of %.1f or less not shown.</p>\n",
			hidden, below);
}

static void put_unseen(FILE *o, const struct xf_report *r)
{
	struct rp_node **all = tab_list(&r->doms);
	size_t n = 0, benign = 0;

	if (!all)
		return;
	for (size_t i = 0; i < r->doms.n; i++) {
		const struct rp_dom *d = (const struct rp_dom *)all[i];

		if (d->seen || !d->label)
			continue;
		if (d->label == RP_BENIGN) {
			benign++;
			continue;
		}
		all[n++] = all[i];
	}
	if (n) {
		qsort(all, n, sizeof(*all), dom_cmp);
		fputs("<h3 id=\"unseen\">Labelled tunnels never scored</h3>\n<p class=\"warn\">"
		      "These labelled domains never reached the detectors: not in the capture, "
		      "or skipped (see the allowlist hits).</p>\n<ul>\n",
		      o);
		for (size_t i = 0; i < n; i++) {
			const struct rp_dom *d = (const struct rp_dom *)all[i];

			fputs("<li>", o);
			esc(o, d->name);
			fprintf(o, " (%s)</li>\n", rp_label_names[d->label]);
		}
		fputs("</ul>\n", o);
	}
	if (benign)
		fprintf(o, "<p>%zu labelled benign domains were never scored.</p>\n", benign);
	free(all);
}

static int allow_cmp_hits(const void *a, const void *b)
{
	const struct rp_allow *x = *(struct rp_allow *const *)a, *y = *(struct rp_allow *const *)b;

	if (x->hits != y->hits)
		return x->hits > y->hits ? -1 : 1;
	return strcmp(x->domain, y->domain);
}

static int allow_cmp_entry(const void *a, const void *b)
{
	const struct rp_allow *x = *(struct rp_allow *const *)a, *y = *(struct rp_allow *const *)b;
	int c = strcmp(x->entry, y->entry);

	return c ? c : strcmp(x->source, y->source);
}

static void put_allow_entries(FILE *o, struct rp_allow **a, size_t n)
{
	fputs("<table id=\"allow-entries\">\n<tr><th>entry</th><th>source</th><th>skips</th>"
	      "<th>domains</th></tr>\n",
	      o);
	qsort(a, n, sizeof(*a), allow_cmp_entry);
	for (size_t i = 0, j; i < n; i = j) {
		uint64_t hits = 0;

		for (j = i; j < n && !allow_cmp_entry(&a[i], &a[j]); j++)
			hits += a[j]->hits;
		fputs("<tr><td class=\"dom\">", o);
		esc(o, a[i]->entry);
		fputs("</td><td>", o);
		esc(o, a[i]->source);
		fprintf(o, "</td><td class=\"n\">%llu</td><td class=\"n\">%zu</td></tr>\n",
			(unsigned long long)hits, j - i);
	}
	fputs("</table>\n", o);
}

static void put_allow(FILE *o, struct xf_report *r)
{
	struct rp_allow **a = (struct rp_allow **)tab_list(&r->allows);
	size_t n = r->allows.n, warned = 0;

	fputs("<h2 id=\"allowlist\">Allowlist hits</h2>\n", o);
	if (!a || !n) {
		fputs("<p>No flow was skipped by the allowlist.</p>\n", o);
		free(a);
		return;
	}
	qsort(a, n, sizeof(*a), allow_cmp_hits);
	for (size_t i = 0; i < n; i++) {
		const struct rp_dom *d = dom_get(r, a[i]->domain, 0);

		if (!d || !is_attack(d->label))
			continue;
		fputs(warned++ ? "<br>" : "<p class=\"warn\" id=\"allow-warn\">", o);
		fputs("Allowlist entry <code>", o);
		esc(o, a[i]->entry);
		fputs("</code> (", o);
		esc(o, a[i]->source);
		fputs(") skipped flows of <code>", o);
		esc(o, a[i]->domain);
		fprintf(o, "</code>, labelled %s.", rp_label_names[d->label]);
	}
	if (warned)
		fputs("</p>\n", o);
	fputs("<table id=\"allow-table\">\n<tr><th>registered domain</th><th>entry</th>"
	      "<th>source</th><th>skips</th></tr>\n",
	      o);
	for (size_t i = 0; i < n && (!r->rows || i < r->rows); i++) {
		fputs("<tr><td class=\"dom\">", o);
		esc(o, a[i]->domain);
		fputs("</td><td class=\"dom\">", o);
		esc(o, a[i]->entry);
		fputs("</td><td>", o);
		esc(o, a[i]->source);
		fprintf(o, "</td><td class=\"n\">%llu</td></tr>\n", (unsigned long long)a[i]->hits);
	}
	fputs("</table>\n", o);
	if (r->rows && n > r->rows)
		fprintf(o, "<p>%zu more rows not shown.</p>\n", n - r->rows);
	fputs("<h3>By entry</h3>\n", o);
	put_allow_entries(o, a, n);
	free(a);
}

int xf_report_write(struct xf_report *r, const char *path, const struct xf_report_meta *m,
		    char *err, size_t errlen)
{
	int to_stdout = !strcmp(path, "-");
	struct rp_sum s;
	FILE *o;
	int bad;

	if (summarise(r, m->threshold, &s)) {
		snprintf(err, errlen, "failed to write report %s: out of memory", path);
		return -1;
	}
	o = to_stdout ? stdout : fopen(path, "w");
	if (!o) {
		snprintf(err, errlen, "failed to write report %s: %s", path, strerror(errno));
		free(s.doms);
		return -1;
	}
	fputs(rp_head, o);
	put_summary(o, r, m, &s);
	put_sweep(o, &s, m->threshold);
	put_domains(o, r, &s);
	put_unseen(o, r);
	put_allow(o, r);
	fputs("</body>\n</html>\n", o);
	free(s.doms);
	bad = fflush(o) != 0 || ferror(o);
	if (!to_stdout && fclose(o))
		bad = 1;
	if (bad) {
		snprintf(err, errlen, "failed to write report %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- the evaluation summary (TSV) ---- */

/* A field that cannot break a TSV line: control bytes, space, DEL and bytes
 * >= 0x80 as \DDD (the form names already use), "-" when empty. */
static void tsv_str(FILE *o, const char *s)
{
	if (!s || !*s) {
		fputc('-', o);
		return;
	}
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p <= 0x20 || *p >= 0x7f)
			fprintf(o, "\\%03u", *p);
		else
			fputc(*p, o);
	}
}

static int dom_cmp_name(const void *a, const void *b)
{
	return strcmp((*(struct rp_dom *const *)a)->name, (*(struct rp_dom *const *)b)->name);
}

/* First alerts, totals and allowlist skips per domain. */
static void eval_sum(struct xf_report *r)
{
	for (size_t i = 0; i < r->pairs.nb; i++) {
		for (struct rp_node *e = r->pairs.b[i]; e; e = e->next) {
			struct rp_pair *p = (struct rp_pair *)e;
			struct rp_dom *d = p->dom;
			uint64_t start = p->q_first_ms != UINT64_MAX ? p->q_first_ms : p->first_ms;
			int64_t ttd;

			d->clients++;
			d->e_qtot += p->cum_q;
			d->e_btot += p->cum_b;
			if (p->k_ms != UINT64_MAX) {
				ttd = p->k_ms > start ? (int64_t)(p->k_ms - start) : 0;
				if (d->k_ttd_ms < 0 || ttd < d->k_ttd_ms) {
					d->k_ttd_ms = ttd;
					d->k_q = p->k_q;
					d->k_b = p->k_b;
				}
			}
			if (p->alert_ms == UINT64_MAX)
				continue;
			d->e_alerts++;
			ttd = start != UINT64_MAX && p->alert_ms > start
				      ? (int64_t)(p->alert_ms - start)
				      : 0;
			if (d->e_ttd_ms < 0 || ttd < d->e_ttd_ms) {
				d->e_ttd_ms = ttd;
				d->e_alert_ms = p->alert_ms;
				d->e_q = p->alert_q;
				d->e_b = p->alert_b;
			}
		}
	}
	for (size_t i = 0; i < r->allows.nb; i++) {
		for (struct rp_node *e = r->allows.b[i]; e; e = e->next) {
			struct rp_dom *d = dom_get(r, ((struct rp_allow *)e)->domain, 0);

			if (d)
				d->allow_hits += ((struct rp_allow *)e)->hits;
		}
	}
}

static void eval_detectors(FILE *o, const struct rp_dom *d)
{
	int n = xf_n_detectors < 16 ? xf_n_detectors : 16, k = 0;

	for (int i = 0; d->best && i < n; i++) {
		if (!(d->best[i] > 0))
			continue;
		fprintf(o, "%s%s=%.1f", k++ ? "," : "", xf_detectors[i]->name, d->best[i]);
	}
	if (!k)
		fputc('-', o);
}

static void eval_evidence(FILE *o, const struct rp_dom *d)
{
	int n = xf_n_detectors < 16 ? xf_n_detectors : 16, k = 0;

	for (int i = 0; d->fired && i < n; i++) {
		const struct rp_fired *fd = &d->fired[i];

		if (!(fd->score > 0))
			continue;
		fprintf(o, "%s%s:", k++ ? ";" : "", xf_detectors[i]->name);
		for (int e = 0; e < fd->n; e++) {
			fputs(e ? "," : "", o);
			tsv_str(o, fd->ev[e].key ? fd->ev[e].key : "?");
			fprintf(o, "=%.4g", fd->ev[e].value);
		}
	}
	if (!k)
		fputc('-', o);
}

static void eval_row(FILE *o, const struct rp_dom *d)
{
	tsv_str(o, d->name);
	fprintf(o, "\t%s\t%u\t%llu\t%llu\t", d->label ? rp_label_names[d->label] : "-", d->clients,
		(unsigned long long)d->e_qtot, (unsigned long long)d->e_btot);
	if (d->max >= 0)
		fprintf(o, "%.1f\t%s", d->max, xf_severity_name((enum xf_severity)d->sev));
	else
		fputs("-\t-", o);
	fprintf(o, "\t%llu\t%u\t%d\t", (unsigned long long)d->allow_hits, d->e_alerts,
		d->e_ttd_ms >= 0);
	if (d->first_ms != UINT64_MAX)
		fprintf(o, "%llu", (unsigned long long)d->first_ms);
	else
		fputc('-', o);
	if (d->queried)
		fprintf(o, "\t%llu", (unsigned long long)d->last_q_ms);
	else
		fputs("\t-", o);
	if (d->e_ttd_ms >= 0)
		fprintf(o, "\t%llu\t%lld\t%llu\t%llu\t", (unsigned long long)d->e_alert_ms,
			(long long)d->e_ttd_ms, (unsigned long long)d->e_q,
			(unsigned long long)d->e_b);
	else
		fputs("\t-\t-\t-\t-\t", o);
	if (d->k_ttd_ms >= 0)
		fprintf(o, "%lld\t%llu\t%llu\t", (long long)d->k_ttd_ms, (unsigned long long)d->k_q,
			(unsigned long long)d->k_b);
	else
		fputs("-\t-\t-\t", o);
	eval_detectors(o, d);
	fputc('\t', o);
	eval_evidence(o, d);
	fputc('\n', o);
}

static void eval_meta(FILE *o, const struct xf_report *r, const struct xf_report_meta *m)
{
	fputs("# exfilter replay --eval 1\n# inputs", o);
	for (int i = 0; i < m->n_inputs; i++) {
		fputc('\t', o);
		tsv_str(o, m->inputs[i]);
	}
	fprintf(o, "\n# threshold\t%g\n# packets\t%llu\n# dns\t%llu\n# parse_errors\t%llu\n",
		m->threshold, (unsigned long long)m->packets, (unsigned long long)m->dns,
		(unsigned long long)m->parse_errors);
	fputs("# allowlist\t", o);
	tsv_str(o, m->allowlist_version);
	fprintf(o, "\n# queries_fed\t%d\n# lost\t%llu\n", r->fed, (unsigned long long)r->lost);
	fputs("domain\tlabel\tclients\tqueries\tpayload_bytes\tmax_score\tseverity\tallowlisted"
	      "\talerts\tdetected\tfirst_ms\tlast_query_ms\talert_ms\tttd_ms\tqueries_to_detect"
	      "\tbytes_to_detect\tkernel_ttd_ms\tkernel_queries\tkernel_bytes\tdetectors"
	      "\tevidence\n",
	      o);
}

int xf_report_write_eval(struct xf_report *r, const char *path, const struct xf_report_meta *m,
			 char *err, size_t errlen)
{
	int to_stdout = !strcmp(path, "-"), bad;
	struct rp_node **all;
	size_t n = 0;
	FILE *o;

	/* a domain only ever skipped by the allowlist gets its row too */
	for (size_t i = 0; i < r->allows.nb; i++)
		for (struct rp_node *e = r->allows.b[i]; e; e = e->next)
			if (!dom_get(r, ((struct rp_allow *)e)->domain, 1))
				r->lost++;
	all = tab_list(&r->doms);
	if (!all) {
		snprintf(err, errlen, "failed to write evaluation %s: out of memory", path);
		return -1;
	}
	for (size_t i = 0; i < r->doms.n; i++) {
		struct rp_dom *d = (struct rp_dom *)all[i];

		d->clients = d->e_alerts = 0;
		d->allow_hits = d->e_q = d->e_b = d->e_qtot = d->e_btot = d->e_alert_ms = 0;
		d->e_ttd_ms = d->k_ttd_ms = -1;
		d->k_q = d->k_b = 0;
	}
	eval_sum(r);
	for (size_t i = 0; i < r->doms.n; i++) {
		struct rp_dom *d = (struct rp_dom *)all[i];

		if (d->seen || d->queried || d->allow_hits)
			all[n++] = all[i];
	}
	qsort(all, n, sizeof(*all), dom_cmp_name);
	o = to_stdout ? stdout : fopen(path, "w");
	if (!o) {
		snprintf(err, errlen, "failed to write evaluation %s: %s", path, strerror(errno));
		free(all);
		return -1;
	}
	eval_meta(o, r, m);
	for (size_t i = 0; i < n; i++)
		eval_row(o, (const struct rp_dom *)all[i]);
	free(all);
	bad = fflush(o) != 0 || ferror(o);
	if (!to_stdout && fclose(o))
		bad = 1;
	if (bad) {
		snprintf(err, errlen, "failed to write evaluation %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}
