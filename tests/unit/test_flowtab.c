// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_flowtab.c - sensor/flowtab.c: counting into client x registered
 * domain flows (IPv4 and IPv6 apart), the LRU bound on flows and on details
 * with interned clients and domains released, the window roll, the tick's
 * dirty list (once per tick, never when untouched), merging the kernel's
 * per-CPU sums, samples, responses and NXDOMAIN, SNI and Host names, kernel
 * actions (the strongest one stays), the HyperLogLog estimate against the
 * truth over the kernel's name hashes, per-name tags (what the hook is
 * given, what the flow keeps), query timing (beacons against jitter),
 * bypass, SNI and Host counts, the bounded tick, and the memory of a million
 * quiet flows (RSS printed; bytes per flow asserted).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <unistd.h>
#include <cmocka.h>

#include "flowtab.h"
#include "frame.h"
#include "parse_common.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define SEEN_MAX 64
#define T0 1700000000u

/* ---- observations ---- */

struct q {
	struct xf_name_feat feat;
	struct xf_obs o;
	char name[300];
	char domain[128];
	__u8 client[16];
	__u8 server[16];
};

static void ip4(__u8 *a, __u32 host)
{
	memset(a, 0, 10);
	a[10] = a[11] = 0xff;
	a[12] = (__u8)(host >> 24);
	a[13] = (__u8)(host >> 16);
	a[14] = (__u8)(host >> 8);
	a[15] = (__u8)host;
}

/* 2001:db8::<low> */
static void ip6(__u8 *a, __u32 low)
{
	memset(a, 0, 16);
	a[0] = 0x20;
	a[1] = 0x01;
	a[2] = 0x0d;
	a[3] = 0xb8;
	a[12] = (__u8)(low >> 24);
	a[13] = (__u8)(low >> 16);
	a[14] = (__u8)(low >> 8);
	a[15] = (__u8)low;
}

static __u8 longest_label(const char *name)
{
	size_t best = 0, cur = 0;

	for (; *name; name++) {
		cur = *name == '.' ? 0 : cur + 1;
		if (cur > best)
			best = cur;
	}
	return (__u8)best;
}

/* A plain DNS query for name under domain, from client, at now. The name
 * hash is the kernel's (xf_name_hash_text folds labels as the walker does). */
static void q_set(struct q *q, const __u8 *client, const char *domain, const char *name,
		  uint32_t now)
{
	memset(q, 0, sizeof(*q));
	memcpy(q->client, client, 16);
	ip4(q->server, 0xc6336407); /* 198.51.100.7 */
	snprintf(q->name, sizeof(q->name), "%s", name);
	snprintf(q->domain, sizeof(q->domain), "%s", domain);
	q->feat.rd_hash = xf_name_hash_text(domain);
	q->feat.name_hash = xf_name_hash_text(name);
	q->feat.name_len = (__u16)strlen(name);
	q->feat.longest = longest_label(name);
	q->feat.entropy = 3000;
	q->feat.qtype = 1;
	q->feat.qclass = 1;
	q->feat.dns_flags = 0x0100;
	q->o.client = q->client;
	q->o.server = q->server;
	q->o.domain = q->domain;
	q->o.kernel_rd = q->feat.rd_hash;
	q->o.name = q->name;
	q->o.feat = &q->feat;
	q->o.now_s = now;
	q->o.long_qname = 100;
	q->o.kind = XF_EV_DNS_QUERY;
}

static int observe(struct xf_ft *ft, const __u8 *client, const char *domain, const char *name,
		   uint32_t now)
{
	struct q q;

	q_set(&q, client, domain, name, now);
	return xf_ft_observe(ft, &q.o);
}

static struct xf_ft *ft_new(uint32_t max_flows, uint32_t max_details, uint32_t window_s)
{
	struct xf_ft_cfg c = { .max_flows = max_flows,
			       .max_details = max_details,
			       .window_s = window_s };
	struct xf_ft *ft = xf_ft_new(&c);

	assert_non_null(ft);
	return ft;
}

static struct xf_ft_stats stats(const struct xf_ft *ft)
{
	struct xf_ft_stats st;

	xf_ft_stats(ft, &st);
	return st;
}

/* ---- what the callbacks saw, copied out ---- */

struct seen_flow {
	uint32_t idx;
	__u8 client[16];
	char domain[128];
	__u64 kernel_rd;
	struct xf_flow_view view;
	char samples[XF_SAMPLES][XF_SAMPLE_LEN];
	int n_samples;
	int rolled;
	uint32_t win_start_s, last_s;
	__u16 last_qtype;
	int has_server;
	__u8 server[16];
	__u8 kind, kaction, kreason, kenforced;
	struct xf_ft_alert alert;
};

struct seen {
	int n;
	struct xf_ft_alert set_alert; /* written into every flow when rev != 0 */
	struct seen_flow f[SEEN_MAX];
};

static void collect(void *ctx, struct xf_ft_flow *f)
{
	struct seen *s = ctx;
	struct seen_flow *c;

	if (s->n >= SEEN_MAX)
		fail_msg("more than %d flows visited", SEEN_MAX);
	c = &s->f[s->n++];
	memset(c, 0, sizeof(*c));
	c->idx = f->idx;
	memcpy(c->client, f->client, 16);
	snprintf(c->domain, sizeof(c->domain), "%s", f->domain);
	assert_string_equal(f->view.domain, f->domain);
	c->kernel_rd = f->kernel_rd;
	c->view = f->view;
	c->view.domain = NULL;
	for (int k = 0; k < XF_SAMPLES && f->samples[k]; k++) {
		snprintf(c->samples[k], XF_SAMPLE_LEN, "%s", f->samples[k]);
		c->n_samples++;
	}
	c->rolled = f->rolled;
	c->win_start_s = f->win_start_s;
	c->last_s = f->last_s;
	c->last_qtype = f->last_qtype;
	c->has_server = f->server != NULL;
	if (f->server)
		memcpy(c->server, f->server, 16);
	c->kind = f->kind;
	c->kaction = f->kaction;
	c->kreason = f->kreason;
	c->kenforced = f->kenforced;
	c->alert = *f->alert;
	if (s->set_alert.rev)
		*f->alert = s->set_alert;
}

static struct seen *seen_each(struct xf_ft *ft, struct seen *s)
{
	memset(s, 0, sizeof(*s));
	xf_ft_each(ft, collect, s);
	return s;
}

static struct seen *seen_tick(struct xf_ft *ft, struct seen *s)
{
	memset(s, 0, sizeof(*s));
	xf_ft_tick(ft, collect, s);
	return s;
}

static struct seen_flow *seen_find(struct seen *s, const __u8 *client, const char *domain)
{
	for (int i = 0; i < s->n; i++)
		if (!memcmp(s->f[i].client, client, 16) && !strcmp(s->f[i].domain, domain))
			return &s->f[i];
	return NULL;
}

static struct seen_flow *must_find(struct seen *s, const __u8 *client, const char *domain)
{
	struct seen_flow *f = seen_find(s, client, domain);

	if (!f)
		fail_msg("no flow for %s", domain);
	return f;
}

static int seen_count(struct seen *s, const __u8 *client, const char *domain)
{
	int n = 0;

	for (int i = 0; i < s->n; i++)
		n += !memcmp(s->f[i].client, client, 16) && !strcmp(s->f[i].domain, domain);
	return n;
}

static int has_sample(const struct seen_flow *f, const char *name)
{
	for (int k = 0; k < f->n_samples; k++)
		if (!strcmp(f->samples[k], name))
			return 1;
	return 0;
}

/* ---- counting ---- */

static void test_counts_per_flow(void **state)
{
	struct xf_ft *ft = ft_new(64, 64, 300);
	__u8 a[16], b[16];
	struct seen s;
	struct seen_flow *f;
	struct q q;
	int ia, ib;

	(void)state;
	ip4(a, 0xc0000201);
	ip4(b, 0xc0000202);
	/* a -> x.test: three queries with chosen features */
	q_set(&q, a, "x.test", "www.x.test", T0);
	q.feat.entropy = 3000;
	ia = xf_ft_observe(ft, &q.o);
	assert_true(ia > 0);
	q_set(&q, a, "x.test", "0123456789abcdef0123.x.test", T0 + 5);
	q.feat.entropy = 4000;
	q.feat.enc_longest = 20;
	assert_int_equal(xf_ft_observe(ft, &q.o), ia);
	q_set(&q, a, "x.test",
	      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	      "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.x.test",
	      T0 + 9);
	q.feat.entropy = 3500;
	q.feat.enc_longest = 0;
	assert_int_equal(xf_ft_observe(ft, &q.o), ia);
	/* a -> y.test twice, b -> x.test once */
	assert_int_not_equal(observe(ft, a, "y.test", "m.y.test", T0), ia);
	observe(ft, a, "y.test", "n.y.test", T0 + 1);
	ib = observe(ft, b, "x.test", "www.x.test", T0 + 2);
	assert_true(ib > 0 && ib != ia);

	seen_each(ft, &s);
	assert_int_equal(s.n, 3);
	f = must_find(&s, a, "x.test");
	assert_int_equal(f->idx, ia);
	assert_int_equal(f->view.queries, 3);
	assert_int_equal(f->view.qname_bytes, 10 + 27 + 111);
	assert_int_equal(f->view.entropy_sum, 3000 + 4000 + 3500);
	assert_int_equal(f->view.enc_queries, 1);
	assert_int_equal(f->view.long_queries, 1); /* 111 >= long_qname 100 */
	assert_int_equal(f->view.max_name_len, 111);
	assert_int_equal(f->view.max_label, 63);
	assert_int_equal(f->view.max_enc_label, 20);
	assert_int_equal(f->win_start_s, T0);
	assert_int_equal(f->last_s, T0 + 9);
	assert_int_equal((int)f->view.span_s, 9);
	assert_int_equal(f->kernel_rd, xf_name_hash_text("x.test"));
	assert_int_equal(must_find(&s, a, "y.test")->view.queries, 2);
	f = must_find(&s, b, "x.test");
	assert_int_equal(f->idx, ib);
	assert_int_equal(f->view.queries, 1);
	assert_int_equal(f->view.qname_bytes, 10);
	assert_int_equal(f->view.distinct, 1);

	assert_int_equal(stats(ft).flows, 3);
	assert_int_equal(stats(ft).clients, 2);
	assert_int_equal(stats(ft).domains, 2);
	assert_int_equal(stats(ft).observed, 6);
	xf_ft_free(ft);
}

/* ::ffff:192.0.2.1, ::c000:201 and 2001:db8::c000:201 end in the same bytes */
static void test_ipv4_ipv6_apart(void **state)
{
	struct xf_ft *ft = ft_new(16, 16, 300);
	__u8 v4[16], compat[16], v6[16];
	struct seen s;

	(void)state;
	ip4(v4, 0xc0000201);
	memset(compat, 0, 16);
	memcpy(compat + 12, v4 + 12, 4);
	ip6(v6, 0xc0000201);
	observe(ft, v4, "x.test", "a.x.test", T0);
	observe(ft, compat, "x.test", "a.x.test", T0);
	observe(ft, v6, "x.test", "a.x.test", T0);
	observe(ft, v6, "x.test", "b.x.test", T0);
	seen_each(ft, &s);
	assert_int_equal(s.n, 3);
	assert_int_equal(must_find(&s, v4, "x.test")->view.queries, 1);
	assert_int_equal(must_find(&s, compat, "x.test")->view.queries, 1);
	assert_int_equal(must_find(&s, v6, "x.test")->view.queries, 2);
	assert_int_equal(stats(ft).clients, 3);
	assert_int_equal(stats(ft).domains, 1);
	xf_ft_free(ft);
}

/* ---- the LRU bound ---- */

enum vary { VARY_DOMAIN, VARY_CLIENT };

/*
 * N flows, the oldest touched again, then k new ones: N stay, k went, and
 * the ones that went are the least recently used. Flows differ by domain
 * (one client) or by client (one domain): both interned pools are full when
 * the new flows arrive.
 */
static void lru_case(enum vary vary)
{
	enum { N = 8, K = 3 };
	struct xf_ft *ft = ft_new(N, N, 300);
	__u8 cl[N + K][16];
	char dom[N + K][32];
	struct seen s;
	int i;

	for (i = 0; i < N + K; i++) {
		ip4(cl[i], vary == VARY_CLIENT ? 0x0a000001u + (__u32)i : 0x0a000001u);
		snprintf(dom[i], sizeof(dom[i]), "d%d.test", vary == VARY_DOMAIN ? i : 0);
	}
	for (i = 0; i < N; i++)
		assert_true(observe(ft, cl[i], dom[i], "www.d.test", T0 + (uint32_t)i) > 0);
	/* flow 0 is the oldest: touch it, so 1, 2, 3 are the least recently used */
	assert_true(observe(ft, cl[0], dom[0], "www.d.test", T0 + 20) > 0);
	for (i = N; i < N + K; i++)
		if (observe(ft, cl[i], dom[i], "www.d.test", T0 + 30) <= 0)
			fail_msg("new flow %d refused with the table full", i);
	assert_int_equal(stats(ft).flows, N);
	assert_int_equal(stats(ft).evicted, K);
	seen_each(ft, &s);
	assert_int_equal(s.n, N);
	for (i = 1; i <= K; i++)
		if (seen_find(&s, cl[i], dom[i]))
			fail_msg("flow %d should have been evicted", i);
	assert_int_equal(must_find(&s, cl[0], dom[0])->view.queries, 2);
	for (i = K + 1; i < N + K; i++)
		assert_int_equal(must_find(&s, cl[i], dom[i])->view.queries, 1);
	/* interned: exactly what live flows use */
	assert_int_equal(stats(ft).clients, vary == VARY_CLIENT ? N : 1);
	assert_int_equal(stats(ft).domains, vary == VARY_DOMAIN ? N : 1);
	/* an evicted flow comes back fresh */
	observe(ft, cl[1], dom[1], "www.d.test", T0 + 40);
	seen_each(ft, &s);
	assert_int_equal(must_find(&s, cl[1], dom[1])->view.queries, 1);
	assert_int_equal(stats(ft).flows, N);
	assert_int_equal(stats(ft).evicted, K + 1);
	xf_ft_free(ft);
}

static void test_lru_domains(void **state)
{
	(void)state;
	lru_case(VARY_DOMAIN);
}

static void test_lru_clients(void **state)
{
	(void)state;
	lru_case(VARY_CLIENT);
}

/* a table of one flow: every new pair evicts the last */
static void test_lru_one(void **state)
{
	struct xf_ft *ft = ft_new(1, 1, 300);
	__u8 a[16], b[16];
	struct seen s;

	(void)state;
	ip4(a, 0x0a000001);
	ip6(b, 1);
	assert_true(observe(ft, a, "x.test", "a.x.test", T0) > 0);
	assert_true(observe(ft, a, "y.test", "a.y.test", T0) > 0);
	assert_true(observe(ft, b, "y.test", "a.y.test", T0) > 0);
	assert_true(observe(ft, b, "y.test", "b.y.test", T0) > 0);
	seen_each(ft, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(must_find(&s, b, "y.test")->view.queries, 2);
	assert_int_equal(stats(ft).evicted, 2);
	assert_int_equal(stats(ft).clients, 1);
	assert_int_equal(stats(ft).domains, 1);
	xf_ft_free(ft);
}

/* An alerted flow evicted inside its window comes back, when made again,
 * with its window start and alert: one alert per client x domain per window
 * even when a flood turns the table over. Past its window it starts anew. */
static void test_evicted_alert_revived(void **state)
{
	struct xf_ft *ft = ft_new(1, 1, 300);
	__u8 a[16], b[16];
	struct seen s;
	struct seen_flow *f;

	(void)state;
	ip4(a, 0x0a000001);
	ip4(b, 0x0a000002);
	assert_true(observe(ft, a, "x.test", "a.x.test", T0) > 0);
	memset(&s, 0, sizeof(s));
	s.set_alert = (struct xf_ft_alert){ .rev = 3, .severity = 2, .action = 1 };
	xf_ft_each(ft, collect, &s);
	/* b's flow evicts a's, then a's evicts b's (not alerted: no ghost) */
	assert_true(observe(ft, b, "x.test", "a.x.test", T0 + 10) > 0);
	assert_true(observe(ft, a, "x.test", "b.x.test", T0 + 20) > 0);
	f = must_find(seen_each(ft, &s), a, "x.test");
	assert_int_equal(f->win_start_s, T0);
	assert_int_equal(f->alert.rev, 3);
	assert_int_equal(f->alert.severity, 2);
	assert_int_equal(f->alert.action, 1);
	assert_int_equal(stats(ft).revived, 1);
	assert_true(observe(ft, b, "x.test", "b.x.test", T0 + 30) > 0);
	assert_int_equal(must_find(seen_each(ft, &s), b, "x.test")->alert.rev, 0);

	/* evicted again by b and back once more; then evicted and back after
	 * its window: a new window, no alert */
	assert_true(observe(ft, a, "x.test", "c.x.test", T0 + 40) > 0);
	f = must_find(seen_each(ft, &s), a, "x.test");
	assert_int_equal(f->win_start_s, T0);
	assert_int_equal(f->alert.rev, 3);
	assert_int_equal(stats(ft).revived, 2);
	assert_true(observe(ft, b, "x.test", "c.x.test", T0 + 50) > 0);
	assert_true(observe(ft, a, "x.test", "d.x.test", T0 + 300) > 0);
	f = must_find(seen_each(ft, &s), a, "x.test");
	assert_int_equal(f->win_start_s, T0 + 300);
	assert_int_equal(f->alert.rev, 0);
	assert_int_equal(stats(ft).revived, 2);
	xf_ft_free(ft);
}

/* clients and domains are released with the last flow that used them */
static void test_intern_released(void **state)
{
	struct xf_ft *ft = ft_new(4, 4, 300);
	/* longer than an entry holds: each takes its own string */
	static const char *const da[] = { "alpha-domain-with-a-long-name.test",
					  "bravo-domain-with-a-long-name.test",
					  "charlie-domain-with-a-long-name.test",
					  "delta-domain-with-a-long-name.test" };
	static const char *const db[] = { "e.test", "f.test", "g.test", "h.test" };
	__u8 a[16], b[16];
	struct xf_ft_stats full, after;
	uint64_t base;
	struct seen s;

	(void)state;
	ip4(a, 0x0a000001);
	ip4(b, 0x0a000002);
	base = stats(ft).bytes;
	for (int i = 0; i < 4; i++)
		observe(ft, a, da[i], "www.a.test", T0);
	full = stats(ft);
	assert_int_equal(full.clients, 1);
	assert_int_equal(full.domains, 4);
	/* b's four flows push every one of a's out */
	for (int i = 0; i < 4; i++)
		observe(ft, b, db[i], "www.b.test", T0 + 1);
	after = stats(ft);
	assert_int_equal(after.flows, 4);
	assert_int_equal(after.evicted, 4);
	assert_int_equal(after.clients, 1);
	assert_int_equal(after.domains, 4);
	/* shorter domain names now: the strings of a's went with them */
	assert_true(after.bytes < full.bytes);
	seen_each(ft, &s);
	for (int i = 0; i < 4; i++)
		must_find(&s, b, db[i]);
	/* one of a's comes back: a and its domain are interned again, one of
	 * b's domains goes, b stays (three flows still use it) */
	observe(ft, a, da[2], "www.a.test", T0 + 2);
	after = stats(ft);
	assert_int_equal(after.clients, 2);
	assert_int_equal(after.domains, 4);
	/* empty the table of b: only a's flows, one query each (no details) */
	for (int i = 0; i < 4; i++)
		if (i != 2)
			observe(ft, a, da[i], "www.a.test", T0 + 3);
	after = stats(ft);
	assert_int_equal(after.clients, 1);
	assert_int_equal(after.domains, 4);
	assert_int_equal(after.bytes, full.bytes);
	assert_true(base < full.bytes);
	xf_ft_free(ft);
}

/* ---- details ---- */

static void busy_flow(struct xf_ft *ft, const __u8 *client, const char *domain, int n, uint32_t now)
{
	char name[64];

	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "n%d.%s", i, domain);
		assert_true(observe(ft, client, domain, name, now) > 0);
	}
}

static void test_details_bound(void **state)
{
	struct xf_ft *ft = ft_new(16, 2, 300);
	__u8 a[16];
	struct seen s;
	struct seen_flow *f;

	(void)state;
	ip4(a, 0x0a000001);
	/* one query: no detail needed */
	observe(ft, a, "solo.test", "www.solo.test", T0);
	assert_int_equal(stats(ft).details, 0);
	busy_flow(ft, a, "one.test", 3, T0);
	busy_flow(ft, a, "two.test", 3, T0);
	assert_int_equal(stats(ft).details, 2);
	assert_int_equal(stats(ft).details_evicted, 0);
	busy_flow(ft, a, "three.test", 3, T0);
	assert_int_equal(stats(ft).details, 2);
	assert_int_equal(stats(ft).details_evicted, 1);
	assert_int_equal(stats(ft).flows, 4);
	assert_int_equal(stats(ft).evicted, 0);
	seen_each(ft, &s);
	/* one.test lost its detail (the least recently used), not its counts */
	f = must_find(&s, a, "one.test");
	assert_int_equal(f->view.queries, 3);
	assert_int_equal(f->view.qname_bytes, 3 * strlen("n0.one.test"));
	assert_int_equal(f->n_samples, 0);
	assert_int_equal(f->view.distinct, 1);
	f = must_find(&s, a, "three.test");
	assert_int_equal(f->n_samples, 2); /* the first plain query has no detail */
	assert_true(has_sample(f, "n2.three.test"));
	assert_int_equal(must_find(&s, a, "two.test")->n_samples, 2);
	/* one.test busy again: a new detail, two.test's goes */
	observe(ft, a, "one.test", "n9.one.test", T0 + 1);
	seen_each(ft, &s);
	f = must_find(&s, a, "one.test");
	assert_int_equal(f->view.queries, 4);
	assert_int_equal(f->n_samples, 1);
	assert_int_equal(must_find(&s, a, "two.test")->n_samples, 0);
	assert_int_equal(must_find(&s, a, "three.test")->n_samples, 2);
	assert_int_equal(stats(ft).details_evicted, 2);
	/* evicting a flow frees its detail */
	xf_ft_free(ft);
}

/* a flow evicted by the flow LRU gives its detail back */
static void test_details_freed_with_flow(void **state)
{
	struct xf_ft *ft = ft_new(2, 8, 300);
	__u8 a[16];

	(void)state;
	ip4(a, 0x0a000001);
	busy_flow(ft, a, "one.test", 3, T0);
	busy_flow(ft, a, "two.test", 3, T0);
	assert_int_equal(stats(ft).details, 2);
	observe(ft, a, "three.test", "www.three.test", T0);
	assert_int_equal(stats(ft).flows, 2);
	assert_int_equal(stats(ft).details, 1);
	assert_int_equal(stats(ft).details_evicted, 0);
	xf_ft_free(ft);
}

/* ---- the window ---- */

static void test_window_roll(void **state)
{
	struct xf_ft *ft = ft_new(16, 16, 60);
	struct xf_flow k = { 0 };
	__u8 a[16];
	struct seen s;
	struct seen_flow *f;

	(void)state;
	ip4(a, 0x0a000001);
	busy_flow(ft, a, "x.test", 3, T0);
	/* the tick raises an alert on the flow */
	memset(&s, 0, sizeof(s));
	s.set_alert = (struct xf_ft_alert){ .rev = 1, .severity = 3, .action = 2 };
	xf_ft_tick(ft, collect, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.f[0].rolled, 0);
	assert_int_equal(s.f[0].alert.rev, 0);
	/* 59 s later: the same window */
	observe(ft, a, "x.test", "n3.x.test", T0 + 59);
	seen_tick(ft, &s);
	f = must_find(&s, a, "x.test");
	assert_int_equal(f->rolled, 0);
	assert_int_equal(f->view.queries, 4);
	assert_int_equal(f->alert.rev, 1);
	assert_int_equal(f->alert.severity, 3);
	assert_int_equal(f->alert.action, 2);
	assert_int_equal(f->win_start_s, T0);
	/* 60 s after the start: a new window */
	observe(ft, a, "x.test", "www.x.test", T0 + 60);
	/* the kernel entry still holds the old window: not merged back */
	k.queries = 4;
	k.qname_bytes = 40;
	assert_int_equal(xf_ft_merge_kernel(ft, a, xf_name_hash_text("x.test"), &k), 0);
	observe(ft, a, "x.test", "www2.x.test", T0 + 70);
	seen_tick(ft, &s);
	assert_int_equal(s.n, 1);
	f = must_find(&s, a, "x.test");
	assert_int_equal(f->rolled, 1);
	assert_int_equal(f->view.queries, 2);
	assert_int_equal(f->view.qname_bytes, strlen("www.x.test") + strlen("www2.x.test"));
	assert_int_equal(f->alert.rev, 0);
	assert_int_equal(f->alert.severity, 0);
	assert_int_equal(f->alert.action, 0);
	assert_int_equal(f->win_start_s, T0 + 60);
	assert_int_equal(f->last_s, T0 + 70);
	assert_false(has_sample(f, "n3.x.test")); /* the old window's samples went */
	/* once: the next tick sees the same window */
	observe(ft, a, "x.test", "www3.x.test", T0 + 80);
	seen_tick(ft, &s);
	assert_int_equal(must_find(&s, a, "x.test")->rolled, 0);
	assert_int_equal(must_find(&s, a, "x.test")->view.queries, 3);
	/* after that tick the kernel counts the new window: merged again */
	assert_int_equal(xf_ft_merge_kernel(ft, a, xf_name_hash_text("x.test"), &k), 1);
	seen_tick(ft, &s);
	assert_int_equal(must_find(&s, a, "x.test")->view.queries, 4);
	/* far later, two windows on: one roll */
	observe(ft, a, "x.test", "www.x.test", T0 + 1000);
	seen_tick(ft, &s);
	f = must_find(&s, a, "x.test");
	assert_int_equal(f->rolled, 1);
	assert_int_equal(f->view.queries, 1);
	assert_int_equal(f->win_start_s, T0 + 1000);
	/* a late packet (older clock) never rolls or rewinds */
	observe(ft, a, "x.test", "www.x.test", T0 + 10);
	seen_tick(ft, &s);
	f = must_find(&s, a, "x.test");
	assert_int_equal(f->rolled, 0);
	assert_int_equal(f->view.queries, 2);
	assert_int_equal(f->last_s, T0 + 1000);
	xf_ft_free(ft);
}

/* ---- the tick ---- */

static void test_tick_once(void **state)
{
	struct xf_ft *ft = ft_new(16, 16, 300);
	struct xf_flow k = { 0 };
	__u8 a[16];
	struct seen s;

	(void)state;
	ip4(a, 0x0a000001);
	for (int i = 0; i < 100; i++)
		observe(ft, a, "busy.test", "www.busy.test", T0);
	observe(ft, a, "quiet.test", "www.quiet.test", T0);
	seen_tick(ft, &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(seen_count(&s, a, "busy.test"), 1);
	assert_int_equal(seen_count(&s, a, "quiet.test"), 1);
	assert_int_equal(must_find(&s, a, "busy.test")->view.queries, 100);
	/* nothing touched: nothing visited, twice */
	seen_tick(ft, &s);
	assert_int_equal(s.n, 0);
	seen_tick(ft, &s);
	assert_int_equal(s.n, 0);
	/* only what was touched */
	observe(ft, a, "quiet.test", "www.quiet.test", T0 + 1);
	observe(ft, a, "quiet.test", "www.quiet.test", T0 + 2);
	seen_tick(ft, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(must_find(&s, a, "quiet.test")->view.queries, 3);
	/* a kernel merge counts as a touch */
	k.queries = 500;
	assert_int_equal(xf_ft_merge_kernel(ft, a, xf_name_hash_text("busy.test"), &k), 1);
	assert_int_equal(xf_ft_merge_kernel(ft, a, xf_name_hash_text("busy.test"), &k), 1);
	observe(ft, a, "busy.test", "www.busy.test", T0 + 3);
	seen_tick(ft, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(must_find(&s, a, "busy.test")->view.queries, 501);
	/* xf_ft_each sees every live flow, dirty or not */
	seen_each(ft, &s);
	assert_int_equal(s.n, 2);
	xf_ft_free(ft);
}

/* churn inside one tick: evicted flows are not visited, live ones once */
static void test_tick_churn(void **state)
{
	struct xf_ft *ft = ft_new(4, 4, 300);
	char dom[32];
	__u8 a[16];
	struct seen s;

	(void)state;
	ip4(a, 0x0a000001);
	for (int i = 0; i < 10; i++) {
		snprintf(dom, sizeof(dom), "d%d.test", i);
		observe(ft, a, dom, "www.d.test", T0);
		observe(ft, a, dom, "www.d.test", T0);
	}
	seen_tick(ft, &s);
	assert_int_equal(s.n, 4);
	for (int i = 6; i < 10; i++) {
		snprintf(dom, sizeof(dom), "d%d.test", i);
		assert_int_equal(seen_count(&s, a, dom), 1);
		assert_int_equal(must_find(&s, a, dom)->view.queries, 2);
	}
	xf_ft_free(ft);
}

/*
 * A merge marks a flow dirty without making it recent, so a dirty flow can
 * be the LRU tail: evicted, its slot reused by a new flow in the same tick.
 * Every flow touched in the tick must still be visited.
 */
static void test_tick_merge_evict(void **state)
{
	struct xf_ft *ft = ft_new(2, 2, 300);
	struct xf_flow k = { .queries = 1 };
	__u8 a[16];
	struct seen s;

	(void)state;
	ip4(a, 0x0a000001);
	observe(ft, a, "a.test", "www.a.test", T0);
	observe(ft, a, "b.test", "www.b.test", T0);
	seen_tick(ft, &s);
	assert_int_equal(s.n, 2);
	/* a is the tail and dirty; c evicts it and takes its slot */
	assert_int_equal(xf_ft_merge_kernel(ft, a, xf_name_hash_text("a.test"), &k), 1);
	observe(ft, a, "c.test", "www.c.test", T0 + 1);
	/* then b */
	observe(ft, a, "b.test", "www.b.test", T0 + 1);
	seen_tick(ft, &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(seen_count(&s, a, "b.test"), 1);
	assert_int_equal(seen_count(&s, a, "c.test"), 1);
	assert_int_equal(must_find(&s, a, "b.test")->view.queries, 2);
	xf_ft_free(ft);
}

/* the bounded tick: at most max flows a call, oldest touch first, each once */
static void test_tick_budget(void **state)
{
	struct xf_ft *ft = ft_new(8, 8, 300);
	char dom[32];
	__u8 a[16];
	struct seen s;

	(void)state;
	ip4(a, 0x0a000001);
	for (int i = 0; i < 6; i++) {
		snprintf(dom, sizeof(dom), "d%d.test", i);
		observe(ft, a, dom, "www.d.test", T0);
	}
	/* touched again while waiting: keeps its place, visited once */
	observe(ft, a, "d1.test", "www.d.test", T0 + 1);
	assert_int_equal(xf_ft_dirty(ft), 6);
	memset(&s, 0, sizeof(s));
	assert_int_equal(xf_ft_tick_budget(ft, collect, &s, 0), 6);
	assert_int_equal(s.n, 0);
	assert_int_equal(xf_ft_tick_budget(ft, collect, &s, 2), 4);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.f[0].domain, "d0.test");
	assert_string_equal(s.f[1].domain, "d1.test");
	assert_int_equal(s.f[1].view.queries, 2);
	/* d0 touched after its visit goes to the back; d3 evicted while it
	 * waits is never visited, and its slot's new flow is */
	observe(ft, a, "d0.test", "www.d.test", T0 + 2);
	observe(ft, a, "d6.test", "www.d.test", T0 + 2);
	observe(ft, a, "d7.test", "www.d.test", T0 + 2);
	assert_int_equal(xf_ft_dirty(ft), 7);
	for (int i = 2; i < 6; i++) { /* make d3 the LRU tail: refresh the others */
		snprintf(dom, sizeof(dom), "d%d.test", i);
		if (i != 3)
			observe(ft, a, dom, "www.d.test", T0 + 3);
	}
	observe(ft, a, "d1.test", "www.d.test", T0 + 3);
	observe(ft, a, "d0.test", "www.d.test", T0 + 3);
	observe(ft, a, "d6.test", "www.d.test", T0 + 3);
	observe(ft, a, "d7.test", "www.d.test", T0 + 3);
	observe(ft, a, "d8.test", "www.d.test", T0 + 3); /* evicts d3 */
	assert_int_equal(stats(ft).evicted, 1);
	/* waiting: d2 d4 d5 (d3 gone), d0 d6 d7 d1, d8 in d3's slot */
	assert_int_equal(xf_ft_dirty(ft), 8);
	memset(&s, 0, sizeof(s));
	assert_int_equal(xf_ft_tick_budget(ft, collect, &s, 3), 5);
	assert_int_equal(s.n, 3);
	assert_int_equal(seen_count(&s, a, "d3.test"), 0);
	assert_int_equal(xf_ft_tick_budget(ft, collect, &s, 100), 0);
	assert_int_equal(s.n, 8);
	for (int i = 0; i < 9; i++) {
		snprintf(dom, sizeof(dom), "d%d.test", i);
		assert_int_equal(seen_count(&s, a, dom), i == 3 ? 0 : 1);
	}
	assert_int_equal(xf_ft_dirty(ft), 0);
	/* nothing left: nothing visited; the unbounded tick still visits all */
	assert_int_equal(xf_ft_tick_budget(ft, collect, &s, 100), 0);
	assert_int_equal(s.n, 8);
	for (int i = 0; i < 8; i++) {
		snprintf(dom, sizeof(dom), "d%d.test", i + 1);
		observe(ft, a, dom, "www.d.test", T0 + 4);
	}
	seen_tick(ft, &s);
	assert_int_equal(s.n, 8);
	assert_int_equal(xf_ft_dirty(ft), 0);
	xf_ft_free(ft);
}

/* a bounded tick's callback touching flows: they wait for the next call */
static void touch_cb(void *ctx, struct xf_ft_flow *f)
{
	struct xf_ft *ft = ctx;
	__u8 a[16];

	ip4(a, 0x0a000001);
	observe(ft, a, f->domain, "www.again.test", T0 + 1);
}

static void test_tick_touch_in_callback(void **state)
{
	struct xf_ft *ft = ft_new(8, 8, 300);
	__u8 a[16];

	(void)state;
	ip4(a, 0x0a000001);
	observe(ft, a, "a.test", "www.a.test", T0);
	observe(ft, a, "b.test", "www.b.test", T0);
	xf_ft_tick(ft, touch_cb, ft);
	assert_int_equal(xf_ft_dirty(ft), 2);
	assert_int_equal(xf_ft_tick_budget(ft, touch_cb, ft, 1), 2);
	xf_ft_free(ft);
}

/* ---- the kernel's counters ---- */

static void hll_add(__u8 *regs, __u64 h)
{
	__u32 r = xf_hll_index(h) & (XF_HLL_REGS - 1);
	__u8 rank = xf_hll_rank(h);

	if (regs[r] < rank)
		regs[r] = rank;
}

static void test_merge_kernel(void **state)
{
	struct xf_ft *ft = ft_new(16, 16, 300);
	__u8 a[16], b[16], c[16], table_hll[XF_HLL_REGS] = { 0 }, want[XF_HLL_REGS];
	__u64 krd = xf_name_hash_text("x.test");
	struct xf_flow k = { 0 };
	char name[64];
	struct seen s;
	struct seen_flow *f;

	(void)state;
	ip4(a, 0x0a000001);
	ip4(b, 0x0a000002);
	ip6(c, 0x0a000001);
	/* the table has 3 queries; names n0 n1 n2 (n0 opens the flow: no sketch) */
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "n%d.x.test", i);
		observe(ft, a, "x.test", name, T0);
		if (i)
			hll_add(table_hll, xf_name_hash_text(name));
	}
	observe(ft, b, "y.test", "www.y.test", T0);
	/* the kernel saw more, over other names */
	k.queries = 10;
	k.qname_bytes = 500;
	k.entropy_sum = 45000;
	k.enc_queries = 7;
	k.long_queries = 5;
	k.responses = 4;
	k.nxdomain = 2;
	k.qtypes[XF_QT_TXT] = 9;
	k.qtypes[XF_QT_A] = 1;
	for (int i = 100; i < 110; i++) {
		snprintf(name, sizeof(name), "k%d.x.test", i);
		hll_add(k.hll, xf_name_hash_text(name));
	}
	for (int r = 0; r < XF_HLL_REGS; r++)
		want[r] = k.hll[r] > table_hll[r] ? k.hll[r] : table_hll[r];
	assert_int_equal(xf_ft_merge_kernel(ft, a, krd, &k), 1);
	seen_each(ft, &s);
	f = must_find(&s, a, "x.test");
	assert_int_equal(f->view.queries, 10);
	assert_int_equal(f->view.qname_bytes, 500);
	assert_int_equal(f->view.entropy_sum, 45000);
	assert_int_equal(f->view.enc_queries, 7);
	assert_int_equal(f->view.long_queries, 5);
	assert_int_equal(f->view.responses, 4);
	assert_int_equal(f->view.nxdomain, 2);
	assert_int_equal(f->view.qtypes[XF_QT_TXT], 9);
	/* the table's own 2 A queries beat the kernel's 1 */
	assert_int_equal(f->view.qtypes[XF_QT_A], 2);
	assert_true(fabs(f->view.distinct - xf_hll_estimate(want)) < 1e-9);
	assert_true(f->view.distinct > 9 && f->view.distinct < 16);
	/* the table counted more than a smaller kernel sum: the larger stays */
	for (int i = 0; i < 20; i++)
		observe(ft, a, "x.test", "www.x.test", T0 + 1);
	hll_add(want, xf_name_hash_text("www.x.test"));
	memset(&k, 0, sizeof(k));
	k.queries = 25;
	k.qname_bytes = 1;
	k.enc_queries = 1;
	assert_int_equal(xf_ft_merge_kernel(ft, a, krd, &k), 1);
	seen_each(ft, &s);
	f = must_find(&s, a, "x.test");
	assert_int_equal(f->view.queries, 30);
	assert_int_equal(f->view.qname_bytes, 500 + 20 * strlen("www.x.test"));
	assert_int_equal(f->view.enc_queries, 7);
	assert_int_equal(f->view.responses, 4);
	assert_int_equal(f->view.qtypes[XF_QT_A], 22);
	assert_true(fabs(f->view.distinct - xf_hll_estimate(want)) < 1e-9);
	/* no match: unknown client, unknown domain, or a known pair that is no flow */
	assert_int_equal(xf_ft_merge_kernel(ft, c, krd, &k), 0);
	assert_int_equal(xf_ft_merge_kernel(ft, a, krd ^ 1, &k), 0);
	assert_int_equal(xf_ft_merge_kernel(ft, a, xf_name_hash_text("y.test"), &k), 0);
	assert_int_equal(xf_ft_merge_kernel(ft, b, krd, &k), 0);
	assert_int_equal(stats(ft).merged, 2);
	assert_int_equal(stats(ft).flows, 2);
	/* b's flow matches on its own pair */
	assert_int_equal(xf_ft_merge_kernel(ft, b, xf_name_hash_text("y.test"), &k), 1);
	seen_each(ft, &s);
	assert_int_equal(must_find(&s, b, "y.test")->view.queries, 25);
	xf_ft_free(ft);
}

/* the kernel's rd hash is not the libpsl domain's text hash: match by the former */
static void test_merge_by_kernel_rd(void **state)
{
	struct xf_ft *ft = ft_new(16, 16, 300);
	struct xf_flow k = { .queries = 42 };
	__u8 a[16];
	struct q q;
	struct seen s;

	(void)state;
	ip4(a, 0x0a000001);
	/* the kernel did not know co.uk: its rd is the hash of co.uk */
	q_set(&q, a, "example.co.uk", "www.example.co.uk", T0);
	q.o.kernel_rd = xf_name_hash_text("co.uk");
	xf_ft_observe(ft, &q.o);
	assert_int_equal(xf_ft_merge_kernel(ft, a, xf_name_hash_text("example.co.uk"), &k), 0);
	assert_int_equal(xf_ft_merge_kernel(ft, a, xf_name_hash_text("co.uk"), &k), 1);
	seen_each(ft, &s);
	assert_int_equal(must_find(&s, a, "example.co.uk")->view.queries, 42);
	xf_ft_free(ft);
}

/* ---- samples ---- */

static void test_samples(void **state)
{
	struct xf_ft *ft = ft_new(16, 16, 300);
	char longname[400];
	__u8 a[16];
	struct seen s;
	struct seen_flow *f;
	struct q q;
	/* lengths 20, 30, 20 again, 10, 40, 25 */
	static const char *const names[] = {
		"aaaaaaaaaaaaa.x.test",
		"bbbbbbbbbbbbbbbbbbbbbbb.x.test",
		"aaaaaaaaaaaaa.x.test",
		"ccc.x.test",
		"dddddddddddddddddddddddddddddddddd.x.test",
		"eeeeeeeeeeeeeeeeee.x.test",
	};

	(void)state;
	ip4(a, 0x0a000001);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		q_set(&q, a, "x.test", names[i], T0);
		q.feat.enc_longest = 16; /* encoded: sampled from the first */
		xf_ft_observe(ft, &q.o);
	}
	seen_each(ft, &s);
	f = must_find(&s, a, "x.test");
	assert_int_equal(f->n_samples, 3);
	/* the three longest distinct names */
	assert_true(has_sample(f, names[1]));
	assert_true(has_sample(f, names[4]));
	assert_true(has_sample(f, names[5]));
	/* shorter names never push out longer ones */
	observe(ft, a, "x.test", "z.x.test", T0);
	observe(ft, a, "x.test", "aaaaaaaaaaaaaaaaaa.x.test", T0); /* 25: ties lose */
	seen_each(ft, &s);
	f = must_find(&s, a, "x.test");
	assert_true(has_sample(f, names[1]) && has_sample(f, names[4]) && has_sample(f, names[5]));
	/* an over-long name is cut to the slot; seen again, it is the same */
	memset(longname, 'L', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	observe(ft, a, "x.test", longname, T0);
	observe(ft, a, "x.test", longname, T0);
	seen_each(ft, &s);
	f = must_find(&s, a, "x.test");
	assert_int_equal(f->n_samples, 3);
	longname[XF_SAMPLE_LEN - 1] = 0;
	assert_true(has_sample(f, longname));
	assert_true(has_sample(f, names[4]));
	assert_true(has_sample(f, names[1]));
	xf_ft_free(ft);
}

/* ---- responses, SNI and Host ---- */

static void test_responses(void **state)
{
	struct xf_ft *ft = ft_new(16, 16, 300);
	static const __u16 flags[] = { 0x8183, 0x8583, 0x8180, 0x8185, 0x81a3, 0x8182 };
	__u8 a[16];
	struct seen s;
	struct seen_flow *f;
	struct q q;

	(void)state;
	ip4(a, 0x0a000001);
	observe(ft, a, "x.test", "a.x.test", T0);
	observe(ft, a, "x.test", "b.x.test", T0);
	for (size_t i = 0; i < ARRAY_SIZE(flags); i++) {
		q_set(&q, a, "x.test", "a.x.test", T0 + 1);
		q.o.response = 1;
		q.o.kind = XF_EV_DNS_RESPONSE;
		q.feat.dns_flags = flags[i];
		assert_true(xf_ft_observe(ft, &q.o) > 0);
	}
	seen_each(ft, &s);
	f = must_find(&s, a, "x.test");
	assert_int_equal(f->view.responses, ARRAY_SIZE(flags));
	assert_int_equal(f->view.nxdomain, 3); /* rcode 3 in the low 4 bits */
	assert_int_equal(f->view.queries, 2);
	assert_int_equal(f->view.qname_bytes, 16);
	/* a response alone opens a flow with no query */
	q_set(&q, a, "r.test", "www.r.test", T0);
	q.o.response = 1;
	q.feat.dns_flags = 0x8183;
	xf_ft_observe(ft, &q.o);
	seen_each(ft, &s);
	f = must_find(&s, a, "r.test");
	assert_int_equal(f->view.queries, 0);
	assert_int_equal(f->view.responses, 1);
	assert_int_equal(f->view.nxdomain, 1);
	xf_ft_free(ft);
}

static void test_sni_host(void **state)
{
	struct xf_ft *ft = ft_new(16, 16, 300);
	__u8 a[16], srv[16];
	struct seen s;
	struct seen_flow *f;
	struct q q;

	(void)state;
	ip4(a, 0x0a000001);
	ip6(srv, 0x443);
	for (int i = 0; i < 3; i++) {
		q_set(&q, a, "x.test", i ? "api.x.test" : "www.x.test", T0 + (uint32_t)i);
		q.o.kind = XF_EV_SNI;
		q.o.server = srv;
		assert_true(xf_ft_observe(ft, &q.o) > 0);
	}
	q_set(&q, a, "h.test", "www.h.test", T0);
	q.o.kind = XF_EV_HOST;
	xf_ft_observe(ft, &q.o);
	seen_each(ft, &s);
	f = must_find(&s, a, "x.test");
	assert_int_equal(f->view.queries, 0);
	assert_int_equal(f->view.qname_bytes, 0);
	assert_int_equal(f->kind, XF_EV_SNI);
	assert_int_equal(f->n_samples, 2);
	assert_true(has_sample(f, "www.x.test") && has_sample(f, "api.x.test"));
	assert_true(f->has_server);
	assert_memory_equal(f->server, srv, 16);
	assert_int_equal(f->last_s, T0 + 2);
	f = must_find(&s, a, "h.test");
	assert_int_equal(f->view.queries, 0);
	assert_int_equal(f->kind, XF_EV_HOST);
	assert_true(has_sample(f, "www.h.test"));
	assert_int_equal(stats(ft).observed, 4);
	xf_ft_free(ft);
}

/* ---- kernel actions ---- */

struct kact {
	__u8 action, reason, enforced;
};

static struct seen_flow kact_run(const struct kact *k, size_t n)
{
	struct xf_ft *ft = ft_new(16, 16, 300);
	struct seen_flow out;
	__u8 a[16];
	struct seen s;
	struct q q;

	ip4(a, 0x0a000001);
	for (size_t i = 0; i < n; i++) {
		q_set(&q, a, "x.test", "0123456789abcdef0123.x.test", T0);
		q.o.kaction = k[i].action;
		q.o.kreason = k[i].reason;
		q.o.kenforced = k[i].enforced;
		xf_ft_observe(ft, &q.o);
	}
	seen_each(ft, &s);
	out = *must_find(&s, a, "x.test");
	assert_int_equal(out.view.queries, n);
	xf_ft_free(ft);
	return out;
}

static void kact_expect(const struct kact *k, size_t n, struct kact want)
{
	struct seen_flow f = kact_run(k, n);

	assert_int_equal(f.kaction, want.action);
	assert_int_equal(f.kreason, want.reason);
	assert_int_equal(f.kenforced, want.enforced);
}

static void test_kernel_action(void **state)
{
	const struct kact would = { XF_ACT_DROP, XF_R_RATE, 0 };
	const struct kact enf = { XF_ACT_REFUSE, XF_R_ENC_LABEL, 1 };
	const struct kact verdict = { XF_ACT_DROP, XF_R_VERDICT_DOMAIN, 0 };
	const struct kact none = { 0, 0, 0 };

	(void)state;
	/* none at all */
	kact_expect(&none, 1, none);
	/* a plain query after an action does not clear it */
	kact_expect((struct kact[]){ would, none }, 2, would);
	/* enforced beats would-be, in either order */
	kact_expect((struct kact[]){ would, enf }, 2, enf);
	kact_expect((struct kact[]){ enf, would }, 2, enf);
	kact_expect((struct kact[]){ enf, verdict, none }, 3, enf);
	/* among would-be actions, a verdict beats a limit, in either order */
	kact_expect((struct kact[]){ would, verdict }, 2, verdict);
	kact_expect((struct kact[]){ verdict, would }, 2, verdict);
}

/* ---- per-name tags ---- */

#define TAG_SEEN_MAX 16

/* What the tag hook was given, and a judgement: names whose first label
 * starts with "t-" carry XF_TAG_IODINE, SNI names starting "doh" carry
 * XF_TAG_DOH_PROVIDER. */
static struct {
	int n;
	struct {
		int kind;
		char name[300];
		size_t len, rd_off;
		uint16_t qtype;
		int has_feat;
	} in[TAG_SEEN_MAX];
} g_tag;

static uint32_t test_tagger(const struct xf_name_in *n)
{
	if (g_tag.n < TAG_SEEN_MAX) {
		g_tag.in[g_tag.n].kind = n->kind;
		snprintf(g_tag.in[g_tag.n].name, sizeof(g_tag.in[0].name), "%s", n->name);
		g_tag.in[g_tag.n].len = n->len;
		g_tag.in[g_tag.n].rd_off = n->rd_off;
		g_tag.in[g_tag.n].qtype = n->qtype;
		g_tag.in[g_tag.n].has_feat = n->feat != NULL;
	}
	g_tag.n++;
	if (!strncmp(n->name, "t-", 2))
		return XF_TAG_IODINE;
	if (n->kind == XF_EV_SNI && !strncmp(n->name, "doh", 3))
		return XF_TAG_DOH_PROVIDER;
	return 0;
}

static struct xf_ft *ft_new_tagged(uint32_t window_s)
{
	struct xf_ft_cfg c = {
		.max_flows = 16, .max_details = 16, .window_s = window_s, .tag = test_tagger
	};
	struct xf_ft *ft = xf_ft_new(&c);

	assert_non_null(ft);
	memset(&g_tag, 0, sizeof(g_tag));
	return ft;
}

static void test_tags(void **state)
{
	struct xf_ft *ft = ft_new_tagged(60);
	struct seen_flow *f;
	__u8 a[16];
	struct seen s;
	struct q q;

	(void)state;
	ip4(a, 0x0a000001);
	/* one plain untagged query: no detail, but a name the hooks looked at;
	 * the name as sent (case kept), the registered domain found without case */
	q_set(&q, a, "evil.test", "WWW.Evil.Test", T0);
	q.feat.qtype = 16;
	xf_ft_observe(ft, &q.o);
	assert_int_equal(g_tag.n, 1);
	assert_string_equal(g_tag.in[0].name, "WWW.Evil.Test");
	assert_int_equal(g_tag.in[0].kind, XF_EV_DNS_QUERY);
	assert_int_equal(g_tag.in[0].len, 13);
	assert_int_equal(g_tag.in[0].rd_off, 4);
	assert_int_equal(g_tag.in[0].qtype, 16);
	assert_true(g_tag.in[0].has_feat);
	assert_int_equal(stats(ft).details, 0);
	seen_tick(ft, &s);
	f = must_find(&s, a, "evil.test");
	assert_int_equal(f->view.tag_names, 1);
	assert_int_equal(f->view.tagged, 0);
	assert_int_equal(f->view.tags, 0);
	/* a tagged one, then a plain one: 3 looked at, 1 tagged */
	observe(ft, a, "evil.test", "t-abc.evil.test", T0 + 1);
	observe(ft, a, "evil.test", "www.evil.test", T0 + 2);
	assert_int_equal(g_tag.in[1].rd_off, strlen("t-abc."));
	seen_tick(ft, &s);
	f = must_find(&s, a, "evil.test");
	assert_int_equal(f->view.tag_names, 3);
	assert_int_equal(f->view.tagged, 1);
	assert_int_equal(f->view.tags, XF_TAG_IODINE);
	/* the name is the registered domain itself: rd_off 0; a name that does
	 * not end in its domain (a caller's mistake) gets len */
	observe(ft, a, "evil.test", "evil.test", T0 + 3);
	assert_int_equal(g_tag.in[3].rd_off, 0);
	observe(ft, a, "evil.test", "xevil.test", T0 + 3);
	assert_int_equal(g_tag.in[4].rd_off, g_tag.in[4].len);
	/* responses are not names to judge */
	q_set(&q, a, "evil.test", "t-abc.evil.test", T0 + 4);
	q.o.response = 1;
	xf_ft_observe(ft, &q.o);
	assert_int_equal(g_tag.n, 5);
	/* a tagged first query makes its own detail */
	observe(ft, a, "other.test", "t-x.other.test", T0 + 4);
	assert_int_equal(g_tag.in[5].rd_off, 4);
	seen_tick(ft, &s);
	f = must_find(&s, a, "other.test");
	assert_int_equal(f->view.tag_names, 1);
	assert_int_equal(f->view.tagged, 1);
	assert_int_equal(f->view.tags, XF_TAG_IODINE);
	f = must_find(&s, a, "evil.test");
	assert_int_equal(f->view.tag_names, 5);
	/* SNI and Host names are judged and counted too */
	q_set(&q, a, "dns.test", "doh.dns.test", T0 + 5);
	q.o.kind = XF_EV_SNI;
	xf_ft_observe(ft, &q.o);
	q_set(&q, a, "dns.test", "www.dns.test", T0 + 5);
	q.o.kind = XF_EV_SNI;
	xf_ft_observe(ft, &q.o);
	q_set(&q, a, "dns.test", "t-h.dns.test", T0 + 6);
	q.o.kind = XF_EV_HOST;
	xf_ft_observe(ft, &q.o);
	seen_tick(ft, &s);
	f = must_find(&s, a, "dns.test");
	assert_int_equal(f->view.sni, 2);
	assert_int_equal(f->view.hosts, 1);
	assert_int_equal(f->view.queries, 0);
	assert_int_equal(f->view.tag_names, 3);
	assert_int_equal(f->view.tagged, 2);
	assert_int_equal(f->view.tags, XF_TAG_DOH_PROVIDER | XF_TAG_IODINE);
	assert_int_equal(g_tag.in[6].kind, XF_EV_SNI);
	assert_int_equal(g_tag.in[8].kind, XF_EV_HOST);
	/* a new window starts from nothing */
	observe(ft, a, "dns.test", "www.dns.test", T0 + 100);
	observe(ft, a, "evil.test", "www.evil.test", T0 + 100);
	seen_tick(ft, &s);
	f = must_find(&s, a, "dns.test");
	assert_int_equal(f->rolled, 1);
	assert_int_equal(f->view.tags, 0);
	assert_int_equal(f->view.tagged, 0);
	assert_int_equal(f->view.tag_names, 1);
	assert_int_equal(f->view.sni, 0);
	assert_int_equal(f->view.hosts, 0);
	f = must_find(&s, a, "evil.test");
	assert_int_equal(f->view.tags, 0);
	assert_int_equal(f->view.tag_names, 1);
	xf_ft_free(ft);
}

/* without a tagger of its own the table asks the registry's hooks */
static void test_tags_registry(void **state)
{
	struct xf_ft *ft = ft_new(16, 16, 60);
	__u8 a[16];
	struct seen s;
	uint32_t want = 0;
	const char *name = "aGVsbG8gd29ybGQ.t.evil.test";
	struct xf_name_in in = { .kind = XF_EV_DNS_QUERY,
				 .name = name,
				 .len = strlen(name),
				 .rd_off = strlen(name) - strlen("evil.test") };

	(void)state;
	ip4(a, 0x0a000001);
	observe(ft, a, "evil.test", name, T0);
	observe(ft, a, "evil.test", name, T0 + 1);
	seen_tick(ft, &s);
	want = xf_name_tags(&in);
	assert_int_equal(must_find(&s, a, "evil.test")->view.tags, want);
	assert_int_equal(must_find(&s, a, "evil.test")->view.tagged, want ? 2 : 0);
	assert_int_equal(must_find(&s, a, "evil.test")->view.tag_names, 2);
	xf_ft_free(ft);
}

/* ---- query timing ---- */

static void query_at(struct xf_ft *ft, const __u8 *a, const char *domain, const char *name,
		     uint64_t ts_ms)
{
	struct q q;

	q_set(&q, a, domain, name, (uint32_t)(ts_ms / 1000));
	q.o.ts_ms = ts_ms;
	xf_ft_observe(ft, &q.o);
}

static struct seen_flow view_of(struct xf_ft *ft, const __u8 *a, const char *domain)
{
	struct seen s;

	seen_each(ft, &s);
	return *must_find(&s, a, domain);
}

/* A lookup and its answer take no detail; a second query still measures
 * its gap from the first query, not from the answer in between. */
static void test_response_no_detail(void **state)
{
	struct xf_ft *ft = ft_new(16, 16, 3600);
	const uint64_t t0 = (uint64_t)T0 * 1000;
	struct seen_flow f;
	__u8 a[16];
	struct q q;

	(void)state;
	ip4(a, 0x0a000001);
	query_at(ft, a, "x.test", "www.x.test", t0 + 100);
	q_set(&q, a, "x.test", "www.x.test", T0 + 5);
	q.o.ts_ms = t0 + 5250;
	q.o.response = 1;
	q.o.kind = XF_EV_DNS_RESPONSE;
	q.feat.dns_flags = 0x8183;
	assert_true(xf_ft_observe(ft, &q.o) > 0);
	assert_int_equal(stats(ft).details, 0);
	f = view_of(ft, a, "x.test");
	assert_int_equal(f.view.responses, 1);
	assert_int_equal(f.view.nxdomain, 1);
	assert_true(fabs(f.view.span_s - 5.25) < 1e-9);
	/* the second query takes the detail, with the first's time and the
	 * answer's counts */
	query_at(ft, a, "x.test", "api.x.test", t0 + 10100);
	assert_int_equal(stats(ft).details, 1);
	query_at(ft, a, "x.test", "cdn.x.test", t0 + 20100);
	f = view_of(ft, a, "x.test");
	assert_int_equal(f.view.queries, 3);
	assert_int_equal(f.view.responses, 1);
	assert_int_equal(f.view.nxdomain, 1);
	assert_int_equal(f.view.iat_n, 2);
	assert_true(fabs(f.view.iat_mean_s - 10.0) < 1e-9);
	assert_true(f.view.iat_cv < 1e-9);
	/* a second answer, with no query, takes a detail for both */
	q_set(&q, a, "y.test", "www.y.test", T0);
	q.o.response = 1;
	q.o.kind = XF_EV_DNS_RESPONSE;
	q.feat.dns_flags = 0x8180;
	xf_ft_observe(ft, &q.o);
	assert_int_equal(stats(ft).details, 1);
	q.feat.dns_flags = 0x8183;
	xf_ft_observe(ft, &q.o);
	assert_int_equal(stats(ft).details, 2);
	f = view_of(ft, a, "y.test");
	assert_int_equal(f.view.responses, 2);
	assert_int_equal(f.view.nxdomain, 1);
	xf_ft_free(ft);
}

/* xf_ft_observe_at counts as xf_ft_observe does, and refuses once any
 * flow was evicted since its generation. */
static void test_observe_at(void **state)
{
	struct xf_ft *a = ft_new(4, 4, 300), *b = ft_new(4, 4, 300);
	struct seen sa, sb;
	struct seen_flow *fa, *fb;
	__u8 c[16], c2[16];
	struct q q;
	uint64_t gen;
	int ia, ib;

	(void)state;
	ip4(c, 0x0a000001);
	ip4(c2, 0x0a000002);
	for (int k = 0; k < 3; k++) {
		q_set(&q, c, "x.test", k ? "api.x.test" : "www.x.test", T0 + (uint32_t)k);
		ia = xf_ft_observe(a, &q.o);
		ib = xf_ft_observe(b, &q.o);
		assert_true(ia > 0 && ib > 0);
		gen = xf_ft_gen(b);
		q.o.response = 1;
		q.o.kind = XF_EV_DNS_RESPONSE;
		q.feat.dns_flags = k == 1 ? 0x8183 : 0x8180;
		assert_int_equal(xf_ft_observe(a, &q.o), ia);
		assert_int_equal(xf_ft_observe_at(b, (uint32_t)ib, gen, &q.o), ib);
	}
	seen_each(a, &sa);
	seen_each(b, &sb);
	fa = must_find(&sa, c, "x.test");
	fb = must_find(&sb, c, "x.test");
	assert_int_equal(fa->view.queries, fb->view.queries);
	assert_int_equal(fb->view.responses, 3);
	assert_int_equal(fb->view.nxdomain, 1);
	assert_int_equal(fa->view.responses, fb->view.responses);
	assert_int_equal(fa->view.iat_n, fb->view.iat_n);
	assert_true(fa->view.span_s == fb->view.span_s);
	assert_int_equal(stats(a).observed, stats(b).observed);
	/* fill b past its bound: an eviction makes the old generation stale */
	gen = xf_ft_gen(b);
	for (int k = 0; k < 4; k++) {
		char dom[32];

		snprintf(dom, sizeof(dom), "d%d.test", k);
		observe(b, c2, dom, dom, T0 + 10);
	}
	assert_true(xf_ft_gen(b) != gen);
	q_set(&q, c, "x.test", "www.x.test", T0 + 11);
	q.o.response = 1;
	q.o.kind = XF_EV_DNS_RESPONSE;
	assert_int_equal(xf_ft_observe_at(b, (uint32_t)ib, gen, &q.o), -1);
	assert_int_equal(xf_ft_observe_at(b, 0, xf_ft_gen(b), &q.o), -1);
	xf_ft_free(a);
	xf_ft_free(b);
}

static void test_iat(void **state)
{
	struct xf_ft *ft = ft_new(16, 16, 3600);
	const uint64_t t0 = (uint64_t)T0 * 1000;
	uint64_t lcg = 12345, t;
	struct seen_flow f;
	__u8 a[16];
	struct q q;

	(void)state;
	ip4(a, 0x0a000001);
	/* a beacon every 30 s on the packet clock (ts_ms 0): the first query
	 * has no detail, its time still starts the first gap */
	for (int i = 0; i < 10; i++) {
		q_set(&q, a, "beacon.test", "www.beacon.test", T0 + 30 * (uint32_t)i);
		xf_ft_observe(ft, &q.o);
		if (!i)
			assert_int_equal(stats(ft).details, 0);
	}
	f = view_of(ft, a, "beacon.test");
	assert_int_equal(f.view.iat_n, 9);
	assert_true(fabs(f.view.iat_mean_s - 30.0) < 1e-9);
	assert_true(f.view.iat_cv < 1e-6);
	assert_int_equal((int)f.view.span_s, 270);
	/* a beacon with millisecond jitter (+-50 ms), each query sent as A and
	 * AAAA at the same millisecond: one arrival each, cv near 0 */
	for (int i = 0; i < 20; i++) {
		lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
		t = t0 + 30000 * (uint64_t)i + (lcg >> 33) % 101;
		query_at(ft, a, "jb.test", "www.jb.test", t);
		query_at(ft, a, "jb.test", "www.jb.test", t);
	}
	f = view_of(ft, a, "jb.test");
	assert_int_equal(f.view.queries, 40);
	assert_int_equal(f.view.iat_n, 19);
	assert_true(fabs(f.view.iat_mean_s - 30.0) < 0.01);
	assert_true(f.view.iat_cv < 0.01);
	/* jittered traffic: gaps of 1 to 120 s */
	t = t0;
	for (int i = 0; i < 30; i++) {
		lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
		t += 1000 + (lcg >> 33) % 119000;
		query_at(ft, a, "human.test", "www.human.test", t);
	}
	f = view_of(ft, a, "human.test");
	assert_int_equal(f.view.iat_n, 29);
	assert_true(f.view.iat_cv > 0.4);
	/* exact figures: gaps 10, 20, 30 s -> mean 20, population sd 8.165 */
	query_at(ft, a, "exact.test", "www.exact.test", t0);
	query_at(ft, a, "exact.test", "www.exact.test", t0 + 10000);
	query_at(ft, a, "exact.test", "www.exact.test", t0 + 30000);
	/* late (another CPU's event): no gap, nothing moves */
	query_at(ft, a, "exact.test", "www.exact.test", t0 + 20000);
	query_at(ft, a, "exact.test", "www.exact.test", t0 + 60000);
	f = view_of(ft, a, "exact.test");
	assert_int_equal(f.view.queries, 5);
	assert_int_equal(f.view.iat_n, 3);
	assert_true(fabs(f.view.iat_mean_s - 20.0) < 1e-9);
	assert_true(fabs(f.view.iat_cv - sqrt(200.0 / 3.0) / 20.0) < 1e-9);
	/* responses, SNI and Host are not queries: no gaps */
	q_set(&q, a, "exact.test", "www.exact.test", T0 + 100);
	q.o.response = 1;
	xf_ft_observe(ft, &q.o);
	q_set(&q, a, "exact.test", "www.exact.test", T0 + 200);
	q.o.kind = XF_EV_SNI;
	xf_ft_observe(ft, &q.o);
	assert_int_equal(view_of(ft, a, "exact.test").view.iat_n, 3);
	/* a new window: timing goes on across the roll (a beacon every few
	 * minutes shows its period only over many windows), counting the gap
	 * across it: 10, 20, 30 and 3540 s */
	query_at(ft, a, "exact.test", "www.exact.test", t0 + 3600000);
	f = view_of(ft, a, "exact.test");
	assert_int_equal(f.rolled, 1);
	assert_int_equal(f.view.queries, 1);
	assert_int_equal(f.view.iat_n, 4);
	assert_true(fabs(f.view.iat_mean_s - 900.0) < 1e-9);
	query_at(ft, a, "exact.test", "www.exact.test", t0 + 3605000);
	f = view_of(ft, a, "exact.test");
	assert_int_equal(f.view.iat_n, 5);
	assert_true(fabs(f.view.iat_mean_s - 721.0) < 1e-9);
	/* the kernel counted queries no event showed (a busy flow, live): the
	 * gaps between the events are not gaps between queries, so no timing */
	{
		struct xf_flow k = { .queries = 50, .qname_bytes = 50 * 14 };
		static struct seen sn;

		seen_tick(ft, &sn); /* the roll is done: merges apply again */
		assert_int_equal(xf_ft_merge_kernel(ft, a, xf_name_hash_text("exact.test"), &k), 1);
	}
	f = view_of(ft, a, "exact.test");
	assert_int_equal(f.view.queries, 50);
	assert_int_equal(f.view.iat_n, 0);
	assert_true(f.view.iat_mean_s == 0 && f.view.iat_cv == 0);
	/* and that window's end forgets the past gaps too */
	query_at(ft, a, "exact.test", "www.exact.test", t0 + 7300000);
	f = view_of(ft, a, "exact.test");
	assert_int_equal(f.rolled, 1);
	assert_int_equal(f.view.iat_n, 1);
	/* many windows of a covered beacon: the past is kept, halved beyond 64 */
	for (int i = 0; i < 200; i++)
		query_at(ft, a, "long.test", "www.long.test", t0 + 1200000 * (uint64_t)i);
	f = view_of(ft, a, "long.test");
	assert_true(f.view.iat_n >= 32 && f.view.iat_n <= 66);
	assert_true(fabs(f.view.iat_mean_s - 1200.0) < 1e-6);
	assert_true(f.view.iat_cv < 1e-6);
	xf_ft_free(ft);
}

/* ---- queries around the resolvers ---- */

static void test_bypass(void **state)
{
	struct xf_ft *ft = ft_new(16, 16, 60);
	struct seen_flow f;
	__u8 a[16];
	struct q q;

	(void)state;
	ip4(a, 0x0a000001);
	/* the first query already counts: it makes a detail */
	q_set(&q, a, "x.test", "www.x.test", T0);
	q.o.bypass = 1;
	xf_ft_observe(ft, &q.o);
	assert_int_equal(stats(ft).details, 1);
	observe(ft, a, "x.test", "www.x.test", T0 + 1);
	q_set(&q, a, "x.test", "www.x.test", T0 + 2);
	q.o.bypass = 1;
	xf_ft_observe(ft, &q.o);
	q.o.response = 1; /* its answer, from the same server */
	xf_ft_observe(ft, &q.o);
	f = view_of(ft, a, "x.test");
	assert_int_equal(f.view.queries, 3);
	assert_int_equal(f.view.bypass, 3);
	assert_int_equal(f.view.responses, 1);
	/* none through the resolvers */
	observe(ft, a, "y.test", "www.y.test", T0);
	observe(ft, a, "y.test", "www.y.test", T0 + 1);
	assert_int_equal(view_of(ft, a, "y.test").view.bypass, 0);
	/* the window roll clears it */
	observe(ft, a, "x.test", "www.x.test", T0 + 61);
	assert_int_equal(view_of(ft, a, "x.test").view.bypass, 0);
	xf_ft_free(ft);
}

/* ---- HyperLogLog ---- */

/* a tunnel-like name: 32 hex characters of an LCG, then the domain */
static void hex_name(char *out, size_t size, uint64_t *lcg, const char *domain)
{
	uint64_t x, y;

	*lcg = *lcg * 6364136223846793005ULL + 1442695040888963407ULL;
	x = *lcg;
	*lcg = *lcg * 6364136223846793005ULL + 1442695040888963407ULL;
	y = *lcg;
	snprintf(out, size, "%016llx%016llx.%s", (unsigned long long)x, (unsigned long long)y,
		 domain);
}

/*
 * One 64-register sketch has a standard error of 1.04/8 = 13%, so a single
 * name set lands outside 25% about one time in fifteen whatever the code.
 * Over 16 name sets per count and shape: every estimate within 50%, the RMS
 * error and the bias small, and nearly all within 25%. A wrong alpha, a
 * missing small-range correction or a wrong rank would fail these.
 */
#define HLL_SETS 16

static void test_hll_estimate(void **state)
{
	static const int counts[] = { 10, 100, 1000, 10000 };
	__u8 zero[XF_HLL_REGS] = { 0 };
	char name[128], dom[32];

	(void)state;
	assert_true(xf_hll_estimate(zero) == 0);
	for (size_t c = 0; c < ARRAY_SIZE(counts); c++) {
		/* two name shapes: hex payloads, and a counter in a fixed name */
		for (int shape = 0; shape < 2; shape++) {
			double sum = 0, sq = 0, worst = 0;
			int within = 0;

			for (int set = 0; set < HLL_SETS; set++) {
				__u8 regs[XF_HLL_REGS] = { 0 };
				uint64_t lcg = 7 + (uint64_t)set * 1000 + c;
				double est, err;

				snprintf(dom, sizeof(dom), "t%d.xf.test", set);
				for (int i = 0; i < counts[c]; i++) {
					if (shape)
						snprintf(name, sizeof(name), "host%d.%s", i, dom);
					else
						hex_name(name, sizeof(name), &lcg, dom);
					hll_add(regs, xf_name_hash_text(name));
					/* repeats change nothing */
					hll_add(regs, xf_name_hash_text(name));
				}
				est = xf_hll_estimate(regs);
				err = (est - counts[c]) / counts[c];
				sum += err;
				sq += err * err;
				within += fabs(err) <= 0.25;
				if (fabs(err) > fabs(worst))
					worst = err;
			}
			print_message("hll: %5d distinct (%-7s): bias %+5.1f%%, rms %4.1f%%, "
				      "worst %+5.1f%%, %d/%d within 25%%\n",
				      counts[c], shape ? "counter" : "hex", 100 * sum / HLL_SETS,
				      100 * sqrt(sq / HLL_SETS), 100 * worst, within, HLL_SETS);
			assert_true(fabs(worst) <= 0.5);
			assert_true(fabs(sum / HLL_SETS) <= 0.10);
			assert_true(sqrt(sq / HLL_SETS) <= 0.20);
			assert_true(within >= HLL_SETS - 3);
		}
	}
}

/* The fast sum gives the very double of the reference: 2^-r summed in
 * register order through ldexp(), shallow and deep registers alike. */
static double hll_reference(const __u8 *regs)
{
	const double m = XF_HLL_REGS;
	double sum = 0;
	int zeros = 0;

	for (int i = 0; i < XF_HLL_REGS; i++) {
		sum += ldexp(1.0, -(int)regs[i]);
		zeros += !regs[i];
	}
	sum = 0.709 * m * m / sum;
	if (sum <= 2.5 * m && zeros)
		return m * log(m / zeros);
	return sum;
}

static void test_hll_exact(void **state)
{
	uint64_t lcg = 99;

	(void)state;
	for (int n = 0; n < 200000; n++) {
		__u8 regs[XF_HLL_REGS];
		/* mostly the ranks hashes give; sometimes deep ones (> 46) */
		int top = n % 50 ? 20 : 47 + n / 50 % 18;

		for (int i = 0; i < XF_HLL_REGS; i++) {
			lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
			regs[i] = (__u8)((lcg >> 33) % (uint64_t)(top + 1));
			if (n % 3 == 0 && (lcg >> 20) % 4)
				regs[i] = 0; /* sparse: the linear-counting range */
		}
		/* exact equality: a rounding difference would change scores */
		assert_true(xf_hll_estimate(regs) == hll_reference(regs));
	}
}

/* the same through the table: many queries over few names count as few */
static void test_hll_in_table(void **state)
{
	struct xf_ft *ft = ft_new(16, 16, 300);
	char name[128];
	uint64_t lcg = 99;
	__u8 a[16];
	struct seen s;
	struct seen_flow *f;
	struct q q;

	(void)state;
	ip4(a, 0x0a000001);
	for (int i = 0; i < 1000; i++) {
		hex_name(name, sizeof(name), &lcg, "t.xf.test");
		q_set(&q, a, "xf.test", name, T0);
		q.feat.enc_longest = 32;
		xf_ft_observe(ft, &q.o);
	}
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "w%d.few.test", i % 10);
		observe(ft, a, "few.test", name, T0);
	}
	seen_each(ft, &s);
	f = must_find(&s, a, "xf.test");
	print_message("hll: table flow of 1000 distinct: %.1f\n", f->view.distinct);
	assert_true(fabs(f->view.distinct - 1000) < 250);
	f = must_find(&s, a, "few.test");
	print_message("hll: table flow of 1000 queries over 10 names: %.1f\n", f->view.distinct);
	assert_int_equal(f->view.queries, 1000);
	assert_true(f->view.distinct >= 8 && f->view.distinct <= 12.5);
	xf_ft_free(ft);
}

/* ---- memory ---- */

static long rss_bytes(void)
{
	long size = 0, res = 0;
	FILE *fp = fopen("/proc/self/statm", "r");

	if (!fp)
		return -1;
	if (fscanf(fp, "%ld %ld", &size, &res) != 2)
		res = -1;
	fclose(fp);
	return res < 0 ? -1 : res * sysconf(_SC_PAGESIZE);
}

static void test_memory_million(void **state)
{
	enum { FLOWS = 1000000, CLIENTS = 1000, DOMAINS = 1000 };
	struct xf_ft_cfg cfg = { .max_flows = FLOWS,
				 .max_details = FLOWS / 16 + 1024, /* as the sensor sizes it */
				 .window_s = 300 };
	static char doms[DOMAINS][24], names[DOMAINS][32];
	long rss0, rss1, rss2;
	struct xf_ft_stats st;
	struct xf_ft *ft;
	__u8 cl[16];
	struct q q;

	(void)state;
	for (int d = 0; d < DOMAINS; d++) {
		snprintf(doms[d], sizeof(doms[d]), "dom%04d.test", d);
		snprintf(names[d], sizeof(names[d]), "www.dom%04d.test", d);
	}
	rss0 = rss_bytes();
	ft = xf_ft_new(&cfg);
	assert_non_null(ft);
	rss1 = rss_bytes();
	q_set(&q, (const __u8[16]){ 0 }, doms[0], names[0], T0);
	for (int c = 0; c < CLIENTS; c++) {
		ip4(cl, 0x0a000000u + (__u32)c);
		q.o.client = cl;
		for (int d = 0; d < DOMAINS; d++) {
			q.o.domain = doms[d];
			q.o.name = names[d];
			q.o.kernel_rd = (__u64)d * 0x9e3779b97f4a7c15ULL;
			q.feat.name_len = (__u16)strlen(names[d]);
			if (xf_ft_observe(ft, &q.o) <= 0)
				fail_msg("observe %d x %d failed", c, d);
		}
	}
	rss2 = rss_bytes();
	st = stats(ft);
	print_message("memory: %llu flows, %llu clients, %llu domains, %llu details\n",
		      (unsigned long long)st.flows, (unsigned long long)st.clients,
		      (unsigned long long)st.domains, (unsigned long long)st.details);
	print_message("memory: stats.bytes %llu (%.1f B/flow)\n", (unsigned long long)st.bytes,
		      (double)st.bytes / (double)st.flows);
	print_message("memory: RSS +%.1f MiB at xf_ft_new, +%.1f MiB after 1M flows "
		      "(%.1f B/flow in all)\n",
		      (double)(rss1 - rss0) / 1048576.0, (double)(rss2 - rss1) / 1048576.0,
		      (double)(rss2 - rss0) / (double)st.flows);
	assert_int_equal(st.flows, FLOWS);
	assert_int_equal(st.evicted, 0);
	assert_true((double)st.bytes / (double)st.flows < 100.0);
	xf_ft_free(ft);
}

/* ---- construction ---- */

static void test_new_rejects_zero(void **state)
{
	struct xf_ft_cfg c = { .max_flows = 0, .max_details = 4, .window_s = 60 };

	(void)state;
	errno = 0;
	assert_null(xf_ft_new(&c));
	assert_int_equal(errno, EINVAL);
	xf_ft_free(NULL);
	/* max_details 0 still works: one detail */
	c.max_flows = 4;
	c.max_details = 0;
	{
		struct xf_ft *ft = xf_ft_new(&c);
		__u8 a[16];

		assert_non_null(ft);
		ip4(a, 0x0a000001);
		busy_flow(ft, a, "one.test", 3, T0);
		busy_flow(ft, a, "two.test", 3, T0);
		assert_int_equal(stats(ft).details, 1);
		assert_int_equal(stats(ft).flows, 2);
		xf_ft_free(ft);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts_per_flow),
		cmocka_unit_test(test_response_no_detail),
		cmocka_unit_test(test_observe_at),
		cmocka_unit_test(test_hll_exact),
		cmocka_unit_test(test_ipv4_ipv6_apart),
		cmocka_unit_test(test_lru_domains),
		cmocka_unit_test(test_lru_clients),
		cmocka_unit_test(test_lru_one),
		cmocka_unit_test(test_evicted_alert_revived),
		cmocka_unit_test(test_intern_released),
		cmocka_unit_test(test_details_bound),
		cmocka_unit_test(test_details_freed_with_flow),
		cmocka_unit_test(test_window_roll),
		cmocka_unit_test(test_tick_once),
		cmocka_unit_test(test_tick_churn),
		cmocka_unit_test(test_tick_merge_evict),
		cmocka_unit_test(test_tick_budget),
		cmocka_unit_test(test_tick_touch_in_callback),
		cmocka_unit_test(test_merge_kernel),
		cmocka_unit_test(test_merge_by_kernel_rd),
		cmocka_unit_test(test_samples),
		cmocka_unit_test(test_responses),
		cmocka_unit_test(test_sni_host),
		cmocka_unit_test(test_kernel_action),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_tags_registry),
		cmocka_unit_test(test_iat),
		cmocka_unit_test(test_bypass),
		cmocka_unit_test(test_hll_estimate),
		cmocka_unit_test(test_hll_in_table),
		cmocka_unit_test(test_new_rejects_zero),
		cmocka_unit_test(test_memory_million),
	};

	return cmocka_run_group_tests_name("flowtab", tests, NULL, NULL);
}
