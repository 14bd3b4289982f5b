// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_detectors.c - detectors/: the registry, every detector and the
 * scorer. First on flow views typed in by hand (an iodine tunnel, dns2tcp,
 * slow hex exfiltration, browsing, a CDN client, a lone antivirus lookup, a
 * resolver), then on views built from names as the flow table builds them
 * (the shared parser, every tag hook, real gaps): iodine across record
 * types and encodings and dns2tcp within 20 queries, dnscat2, low-and-slow
 * exfiltration, beacons, and the benign traffic that must stay under the
 * alert threshold (CDN clients, resolvers, a DNSBL-heavy mail server, a
 * Kubernetes pod, reverse lookups, DKIM/DMARC/SPF). The tag hooks on the
 * captured names of ../shared/data/pcaps-external/. Evidence must carry
 * the very values the view holds; weights must work as documented; scores
 * stay in 0..100.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include <linux/types.h>
#include "exfilter.h"
#include "frame.h"
#include "detector.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define EPS 1e-9

/* ---- flow views ---- */

struct profile {
	const char *what;
	uint64_t queries;
	double mean_len; /* presentation bytes per query */
	double bits; /* mean entropy, bits per byte */
	double enc_ratio; /* queries with a long label in an encoded alphabet */
	double long_ratio; /* queries over the long-name threshold */
	uint32_t max_name, max_label, max_enc;
	double distinct;
	int qtype; /* enum xf_qt_bucket all queries fall in */
	int resolver;
};

static struct xf_flow_view view_of(const struct profile *p)
{
	struct xf_flow_view v;
	double q = (double)p->queries;

	memset(&v, 0, sizeof(v));
	v.domain = "xf.test";
	v.queries = p->queries;
	v.qname_bytes = (uint64_t)llround(p->mean_len * q);
	v.entropy_sum = (uint64_t)llround(p->bits * 1000.0 * q);
	v.enc_queries = (uint64_t)llround(p->enc_ratio * q);
	v.long_queries = (uint64_t)llround(p->long_ratio * q);
	v.responses = p->queries;
	v.qtypes[p->qtype] = (uint32_t)p->queries;
	v.max_name_len = p->max_name;
	v.max_label = p->max_label;
	v.max_enc_label = p->max_enc;
	v.distinct = p->distinct;
	v.span_s = 300;
	v.resolver = p->resolver;
	return v;
}

/* iodine: NULL/PRIVATE queries packed to the limit, base32/base128 labels */
static const struct profile iodine = {
	"iodine", 600, 200, 4.8, 0.95, 1.0, 253, 63, 63, 590, XF_QT_NULL, 0,
};
/* dns2tcp: base64 labels in TXT queries, shorter names */
static const struct profile dns2tcp = {
	"dns2tcp", 300, 80, 4.5, 0.9, 0.2, 120, 50, 50, 290, XF_QT_TXT, 0,
};
/* slow hex exfiltration: 40 queries in the window, 32-character hex labels;
 * hex is 16 symbols, so the entropy stays under 4 bits */
static const struct profile slowhex = {
	"slow hex", 40, 60, 3.8, 1.0, 0.0, 64, 32, 32, 40, XF_QT_A, 0,
};
/* browsing a site: www, static, api ... over and over */
static const struct profile browsing = {
	"browsing", 30, 18, 3.0, 0.0, 0.0, 24, 7, 0, 5, XF_QT_A, 0,
};
/* a CDN client: many short, distinct-ish names (e6858.dsce9.akamaiedge.net,
 * scontent-lhr8-1.xx.fbcdn.net); short names have 3.6-4.0 bits per byte */
static const struct profile cdn = {
	"cdn", 150, 35, 3.8, 0.0, 0.0, 48, 20, 0, 60, XF_QT_AAAA, 0,
};
/* one antivirus hash lookup: 90 characters of hex */
static const struct profile avlookup = {
	"av lookup", 1, 90, 4.0, 1.0, 0.0, 90, 32, 32, 1, XF_QT_A, 0,
};

static const struct xf_det_params params = { .resolver_scale = 4 };

static int det_index(const char *name)
{
	for (int i = 0; i < xf_n_detectors; i++)
		if (!strcmp(xf_detectors[i]->name, name))
			return i;
	fail_msg("no detector %s", name);
	return -1;
}

static struct xf_score score_of(const struct profile *p, const double *weights)
{
	struct xf_flow_view v = view_of(p);
	struct xf_score sc;

	xf_score_flow(&v, &params, weights, &sc);
	print_message("%-10s score %5.1f (%s):", p->what, sc.score, xf_severity_name(sc.severity));
	for (int i = 0; i < xf_n_detectors; i++)
		print_message(" %s %.1f", xf_detectors[i]->name, sc.det[i].score);
	print_message("\n");
	return sc;
}

static double det_score(const struct xf_score *sc, const char *name)
{
	return sc->det[det_index(name)].score;
}

static int ev_get(const struct xf_det_result *r, const char *key, double *out)
{
	for (int k = 0; k < r->n; k++)
		if (!strcmp(r->ev[k].key, key)) {
			*out = r->ev[k].value;
			return 1;
		}
	return 0;
}

static void ev_expect(const struct xf_det_result *r, const char *key, double want)
{
	double got = 0;

	if (!ev_get(r, key, &got))
		fail_msg("no evidence \"%s\"", key);
	if (fabs(got - want) > EPS * (1 + fabs(want)))
		fail_msg("evidence %s = %g, want %g", key, got, want);
}

/* ---- the registry ---- */

static void test_registry(void **state)
{
	static const char *const names[] = { "length",	  "entropy", "distinct", "volume",
					     "timing",	  "qtype",   "nxdomain", "bypass",
					     "signature", "sni",     "host",	 "flood" };

	(void)state;
	assert_true(xf_n_detectors >= (int)ARRAY_SIZE(names));
	assert_true(xf_n_detectors <= (int)ARRAY_SIZE(((struct xf_score *)0)->det));
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		const struct xf_detector *d = xf_detector_find(names[i]);

		assert_non_null(d);
		assert_string_equal(d->name, names[i]);
		assert_ptr_equal(d, xf_detectors[det_index(names[i])]);
	}
	for (int i = 0; i < xf_n_detectors; i++) {
		const struct xf_detector *d = xf_detectors[i];

		/* one scope each: a flow hook or a domain hook */
		assert_true(!d->score != !d->score_domain);
		assert_true(d->rule && *d->rule);
		assert_true(d->weight > 0 && d->weight <= 1);
		assert_ptr_equal(xf_detector_find(d->name), d);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(xf_detectors[j]->name, d->name);
	}
	assert_null(xf_detector_find("nope"));
	assert_null(xf_detector_find(""));
	assert_null(xf_detector_find("Length"));
	assert_null(xf_detector_find("lengthy"));
}

/* ---- traffic ---- */

static void test_iodine(void **state)
{
	struct xf_score sc = score_of(&iodine, NULL);

	(void)state;
	assert_true(sc.score >= 60);
	assert_true(sc.severity >= XF_SEV_HIGH);
	/* every detector has something to say about it */
	assert_true(det_score(&sc, "length") >= 80);
	assert_true(det_score(&sc, "entropy") >= 80);
	assert_true(det_score(&sc, "distinct") >= 80);
}

static void test_dns2tcp(void **state)
{
	struct xf_score sc = score_of(&dns2tcp, NULL);

	(void)state;
	assert_true(sc.score >= 60);
	assert_true(sc.severity >= XF_SEV_HIGH);
	/* mean 80 is past the ordinary but short of the limit */
	assert_true(det_score(&sc, "length") > 20 && det_score(&sc, "length") < 90);
}

/* hex caps entropy at 4 bits: the encoded-label share must carry it */
static void test_slow_hex(void **state)
{
	struct profile plain = slowhex;
	struct xf_score sc = score_of(&slowhex, NULL), nocls;

	(void)state;
	assert_true(sc.score >= 60);
	assert_true(sc.severity >= XF_SEV_HIGH);
	assert_true(det_score(&sc, "entropy") >= 90);
	/* without the encoded classes, entropy alone would not catch it */
	plain.what = "hex, plain";
	plain.enc_ratio = 0;
	nocls = score_of(&plain, NULL);
	assert_true(det_score(&nocls, "entropy") <= 50);
	assert_true(nocls.score < 60);
}

static void test_browsing(void **state)
{
	struct xf_score sc = score_of(&browsing, NULL);

	(void)state;
	assert_true(sc.score < 20);
	assert_int_equal(sc.severity, XF_SEV_NONE);
}

/* short names have high per-byte entropy: a CDN client must still not
 * alert (detect.threshold defaults to 60) and stays far below a tunnel */
static void test_cdn(void **state)
{
	struct xf_score sc = score_of(&cdn, NULL), tun = score_of(&iodine, NULL);

	(void)state;
	assert_true(sc.score < 60);
	assert_true(sc.severity <= XF_SEV_MEDIUM);
	assert_true(det_score(&sc, "length") == 0); /* mean 35 is ordinary */
	assert_true(tun.score - sc.score >= 40);
}

/* one long hex lookup is an antivirus query; twelve of them are a stream */
static void test_single_lookup(void **state)
{
	struct profile stream = avlookup;
	struct xf_score sc = score_of(&avlookup, NULL), many;

	(void)state;
	assert_true(sc.score < 20);
	assert_int_equal(sc.severity, XF_SEV_NONE);
	assert_true(det_score(&sc, "length") == 0);
	assert_true(det_score(&sc, "entropy") == 0);
	stream.what = "av x12";
	stream.queries = 12;
	stream.distinct = 12;
	many = score_of(&stream, NULL);
	assert_true(det_score(&many, "length") > 30);
	assert_true(det_score(&many, "entropy") >= 90);
}

/* a resolver speaks for many clients: the same distinct names count less */
static void test_resolver(void **state)
{
	struct profile p = { "client", 300, 30, 3.5, 0, 0, 40, 12, 0, 150, XF_QT_A, 0 };
	struct xf_flow_view v;
	struct xf_det_result rc = { 0 }, rr = { 0 }, r1 = { 0 };
	const struct xf_detector *d = xf_detector_find("distinct");
	const struct xf_det_params noscale = { .resolver_scale = 0 };

	(void)state;
	v = view_of(&p);
	d->score(&v, &params, &rc);
	v.resolver = 1;
	d->score(&v, &params, &rr);
	print_message("distinct: 150 names, client %.1f, resolver %.1f\n", rc.score, rr.score);
	assert_true(rc.score > 20);
	assert_true(rr.score < rc.score / 2);
	ev_expect(&rc, "threshold_scale", 1);
	ev_expect(&rr, "threshold_scale", 4);
	/* scale 0 (unset) means no scaling */
	d->score(&v, &noscale, &r1);
	assert_true(fabs(r1.score - rc.score) < EPS);
	ev_expect(&r1, "threshold_scale", 1);
	/* and the whole score follows */
	{
		struct xf_score a, b;

		v.resolver = 0;
		xf_score_flow(&v, &params, NULL, &a);
		v.resolver = 1;
		xf_score_flow(&v, &params, NULL, &b);
		assert_true(b.score < a.score);
	}
}

/* ---- evidence ---- */

static void test_evidence(void **state)
{
	struct xf_flow_view v = view_of(&dns2tcp);
	struct xf_score sc;
	const struct xf_det_result *len, *ent, *dis;

	(void)state;
	v.qname_bytes = 24001; /* a mean that is not round */
	v.long_queries = 61;
	v.distinct = 287.25;
	xf_score_flow(&v, &params, NULL, &sc);
	len = &sc.det[det_index("length")];
	ent = &sc.det[det_index("entropy")];
	dis = &sc.det[det_index("distinct")];
	ev_expect(len, "mean_qname_len", 24001.0 / 300);
	ev_expect(len, "max_qname_len", 120);
	ev_expect(len, "max_label_len", 50);
	ev_expect(len, "long_ratio", 61.0 / 300);
	ev_expect(len, "queries", 300);
	ev_expect(ent, "mean_entropy_bits", 4.5);
	ev_expect(ent, "encoded_ratio", 270.0 / 300);
	ev_expect(ent, "max_encoded_label", 50);
	ev_expect(ent, "queries", 300);
	ev_expect(dis, "distinct_names", 287.25);
	ev_expect(dis, "distinct_ratio", 287.25 / 300);
	ev_expect(dis, "queries", 300);
	ev_expect(dis, "threshold_scale", 1);
	/* every detector that scored says why; the ones judging DNS queries
	 * always do (bypass, signature, sni and host speak only when they have
	 * something: a bypassing query, a tool, a TLS name, a Host header) */
	for (int i = 0; i < xf_n_detectors; i++) {
		const char *nm = xf_detectors[i]->name;
		int quiet = !strcmp(nm, "bypass") || !strcmp(nm, "signature") ||
			    !strcmp(nm, "sni") || !strcmp(nm, "host") ||
			    !xf_detectors[i]->score; /* domain scope: never on a flow */

		assert_true(sc.det[i].n <= XF_EVIDENCE_MAX);
		if (sc.det[i].score > 0 || !quiet)
			assert_true(sc.det[i].n > 0);
		if (quiet)
			assert_int_equal(sc.det[i].n, 0);
		for (int k = 0; k < sc.det[i].n; k++)
			assert_true(sc.det[i].ev[k].key && *sc.det[i].ev[k].key);
	}
	/* the sketch overshooting a small exact count: the ratio is capped */
	v.distinct = 330;
	xf_score_flow(&v, &params, NULL, &sc);
	ev_expect(&sc.det[det_index("distinct")], "distinct_ratio", 1);
	ev_expect(&sc.det[det_index("distinct")], "distinct_names", 330);
}

/* ---- flood: the domain scope ---- */

static const struct xf_det_params fparams = { .flood_names = 20000, .flood_clients = 20 };

static double flood_of(double names, double clients, uint64_t queries, struct xf_score *sc)
{
	struct xf_domain_view d = { .domain = "victim.test",
				    .queries = queries,
				    .responses = queries,
				    .nxdomain = queries / 2,
				    .distinct = names,
				    .clients = clients };

	xf_score_domain(&d, &fparams, NULL, sc);
	return sc->score;
}

static void test_flood(void **state)
{
	int fl = det_index("flood");
	struct xf_score sc;

	(void)state;
	/* both thresholds crossed: high at the threshold, critical at 10x */
	assert_true(fabs(flood_of(20000, 20, 20000, &sc) - 70) < EPS);
	assert_int_equal(sc.severity, XF_SEV_HIGH);
	assert_int_equal(sc.top, fl);
	ev_expect(&sc.det[fl], "distinct_names", 20000);
	ev_expect(&sc.det[fl], "clients", 20);
	ev_expect(&sc.det[fl], "nxdomain_ratio", 0.5);
	ev_expect(&sc.det[fl], "threshold_names", 20000);
	assert_true(fabs(flood_of(400000, 20000, 400000, &sc) - 100) < EPS);
	assert_int_equal(sc.severity, XF_SEV_CRITICAL);
	assert_true(flood_of(110000, 500, 110000, &sc) > 70);
	/* either one short: nothing (a tunnel from one client, a popular site) */
	assert_true(flood_of(19999, 20000, 400000, &sc) == 0);
	assert_true(flood_of(400000, 19, 400000, &sc) == 0);
	assert_int_equal(sc.det[fl].n, 0);
	/* only domain detectors run on a domain; flood never runs on a flow */
	flood_of(400000, 20000, 400000, &sc);
	for (int i = 0; i < xf_n_detectors; i++)
		if (i != fl)
			assert_true(sc.det[i].score == 0 && sc.det[i].n == 0);
	{
		struct xf_flow_view v = view_of(&iodine);

		xf_score_flow(&v, &fparams, NULL, &sc);
		assert_true(sc.det[fl].score == 0 && sc.det[fl].n == 0);
		assert_true(sc.score > 0);
	}
}

/* an empty window: nothing to say, and nothing scores */
static void test_no_queries(void **state)
{
	struct xf_flow_view v = { .domain = "xf.test", .responses = 5, .distinct = 3 };
	struct xf_score sc;

	(void)state;
	xf_score_flow(&v, &params, NULL, &sc);
	assert_true(sc.score == 0);
	assert_int_equal(sc.severity, XF_SEV_NONE);
	for (int i = 0; i < xf_n_detectors; i++) {
		assert_true(sc.det[i].score == 0);
		assert_int_equal(sc.det[i].n, 0);
	}
}

static void test_ev_add_bound(void **state)
{
	struct xf_det_result r = { 0 };

	(void)state;
	for (int i = 0; i < XF_EVIDENCE_MAX + 4; i++)
		xf_ev_add(&r, "k", i);
	assert_int_equal(r.n, XF_EVIDENCE_MAX);
	assert_true(r.ev[XF_EVIDENCE_MAX - 1].value == XF_EVIDENCE_MAX - 1);
}

/* ---- the scorer ---- */

/* noisy OR over the detector results the scorer returned */
static double noisy_or(const struct xf_score *sc, const double *w)
{
	double keep = 1;

	for (int i = 0; i < xf_n_detectors; i++) {
		double b = sc->det[i].score * w[i] / 100.0;

		keep *= 1 - (b > 1 ? 1 : b);
	}
	return 100 * (1 - keep);
}

static void test_weights(void **state)
{
	const struct profile *all[] = { &iodine, &dns2tcp, &slowhex, &browsing, &cdn, &avlookup };
	double def[16], w[16];
	int ent = det_index("entropy");

	(void)state;
	for (int i = 0; i < xf_n_detectors; i++)
		def[i] = xf_detectors[i]->weight;
	for (size_t p = 0; p < ARRAY_SIZE(all); p++) {
		struct xf_flow_view v = view_of(all[p]);
		struct xf_score a, b, off;

		/* NULL: the built-in weights */
		xf_score_flow(&v, &params, NULL, &a);
		xf_score_flow(&v, &params, def, &b);
		assert_true(fabs(a.score - b.score) < EPS);
		for (int i = 0; i < xf_n_detectors; i++)
			assert_true(a.weight[i] == def[i]);
		assert_true(fabs(a.score - noisy_or(&a, def)) < EPS);
		/* the top detector contributes most */
		for (int i = 0; i < xf_n_detectors; i++)
			assert_true(a.det[a.top].score * def[a.top] >= a.det[i].score * def[i]);
		/* weight 0 turns entropy off: its score is kept, its vote is not */
		memcpy(w, def, sizeof(w));
		w[ent] = 0;
		xf_score_flow(&v, &params, w, &off);
		assert_true(fabs(off.det[ent].score - a.det[ent].score) < EPS);
		assert_true(off.weight[ent] == 0);
		assert_true(fabs(off.score - noisy_or(&off, w)) < EPS);
		assert_true(off.score <= a.score);
		if (a.det[ent].score > 0 && off.score < 100)
			assert_true(off.score < a.score);
	}
	/* all off: nothing scores, even a tunnel */
	{
		struct xf_flow_view v = view_of(&iodine);
		struct xf_score sc;

		for (int i = 0; i < xf_n_detectors; i++)
			w[i] = 0;
		xf_score_flow(&v, &params, w, &sc);
		assert_true(sc.score == 0);
		assert_int_equal(sc.severity, XF_SEV_NONE);
	}
}

/* only length speaks (iodine's length is 100): the score is its weight */
static void test_severity(void **state)
{
	static const struct {
		double w;
		enum xf_severity sev;
	} c[] = {
		{ 0.0, XF_SEV_NONE },	  { 0.199, XF_SEV_NONE },   { 0.201, XF_SEV_LOW },
		{ 0.399, XF_SEV_LOW },	  { 0.401, XF_SEV_MEDIUM }, { 0.649, XF_SEV_MEDIUM },
		{ 0.651, XF_SEV_HIGH },	  { 0.849, XF_SEV_HIGH },   { 0.851, XF_SEV_CRITICAL },
		{ 1.0, XF_SEV_CRITICAL },
	};
	struct xf_flow_view v = view_of(&iodine);
	int len = det_index("length");
	double w[16] = { 0 };
	struct xf_score sc;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		w[len] = c[i].w;
		xf_score_flow(&v, &params, w, &sc);
		assert_true(fabs(sc.score - 100 * c[i].w) < 1e-6);
		if (sc.severity != c[i].sev)
			fail_msg("score %.2f: severity %s, want %s", sc.score,
				 xf_severity_name(sc.severity), xf_severity_name(c[i].sev));
	}
	assert_string_equal(xf_severity_name(XF_SEV_NONE), "none");
	assert_string_equal(xf_severity_name(XF_SEV_LOW), "low");
	assert_string_equal(xf_severity_name(XF_SEV_MEDIUM), "medium");
	assert_string_equal(xf_severity_name(XF_SEV_HIGH), "high");
	assert_string_equal(xf_severity_name(XF_SEV_CRITICAL), "critical");
	assert_string_equal(xf_severity_name((enum xf_severity)99), "none");
}

/* random and extreme views, any weights: every score in 0..100 */
static void test_bounds(void **state)
{
	unsigned seed = 4242;
	static const double weights[] = { 0, 0.1, 0.5, 1, 2, 50 };

	(void)state;
	for (int iter = 0; iter < 20000; iter++) {
		struct xf_flow_view v = { .domain = "xf.test" };
		struct xf_det_params p = { .resolver_scale = (double)(rand_r(&seed) % 8) };
		double w[16];
		struct xf_score sc;

		v.queries = (uint64_t)(rand_r(&seed) % 4 ? rand_r(&seed) % 2000 : rand_r(&seed));
		v.qname_bytes = v.queries * (uint64_t)(rand_r(&seed) % 300);
		v.entropy_sum = v.queries * (uint64_t)(rand_r(&seed) % 9000);
		v.enc_queries = v.queries ? (uint64_t)rand_r(&seed) % (v.queries + 1) : 0;
		v.long_queries = v.queries ? (uint64_t)rand_r(&seed) % (v.queries + 1) : 0;
		v.max_name_len = (uint32_t)(rand_r(&seed) % 300);
		v.max_label = (uint32_t)(rand_r(&seed) % 256);
		v.max_enc_label = (uint32_t)(rand_r(&seed) % 256);
		v.distinct = (double)(rand_r(&seed) % 5000) / (1 + rand_r(&seed) % 3);
		v.resolver = rand_r(&seed) % 2;
		/* the timing, bypass, tag and second-signal fields too, NaN included */
		v.span_s = (double)(rand_r(&seed) % 4000) / (1 + rand_r(&seed) % 7);
		v.iat_n = (uint32_t)(rand_r(&seed) % 3 ? rand_r(&seed) % 500 : 0);
		v.iat_mean_s = (double)(rand_r(&seed) % 1000) / 10 - 5;
		v.iat_cv = rand_r(&seed) % 50 ? (double)(rand_r(&seed) % 300) / 100 : NAN;
		v.bypass = (uint32_t)(rand_r(&seed) % 4 ? 0 : rand_r(&seed) % 3000);
		v.tags = (uint32_t)rand_r(&seed);
		v.tagged = (uint32_t)(rand_r(&seed) % 100);
		v.sni = (uint32_t)(rand_r(&seed) % 5);
		v.hosts = (uint32_t)(rand_r(&seed) % 5);
		v.responses = (uint64_t)(rand_r(&seed) % 3000);
		v.nxdomain = (uint64_t)(rand_r(&seed) % 3000);
		for (int k = 0; k < XF_QTYPE_SLOTS; k++)
			v.qtypes[k] = (uint32_t)(rand_r(&seed) % 1000);
		v.domain =
			rand_r(&seed) % 2 ? "xf.test" : "a-rather-long-registered-domain.example";
		p.have_resolvers = rand_r(&seed) % 2;
		p.window_s = 300;
		for (int i = 0; i < xf_n_detectors; i++)
			w[i] = weights[rand_r(&seed) % ARRAY_SIZE(weights)];
		xf_score_flow(&v, &p, iter % 2 ? w : NULL, &sc);
		if (!(sc.score >= 0 && sc.score <= 100))
			fail_msg("score %g out of range", sc.score);
		assert_true(sc.top >= 0 && sc.top < xf_n_detectors);
		for (int i = 0; i < xf_n_detectors; i++)
			if (!(sc.det[i].score >= 0 && sc.det[i].score <= 100))
				fail_msg("%s: %g out of range", xf_detectors[i]->name,
					 sc.det[i].score);
	}
	/* every detector at full voice: exactly 100 */
	{
		struct xf_flow_view v = view_of(&iodine);
		struct xf_score sc;
		double w[16];

		for (int i = 0; i < xf_n_detectors; i++)
			w[i] = 1;
		xf_score_flow(&v, &params, w, &sc);
		assert_true(fabs(sc.score - 100) < EPS);
		assert_int_equal(sc.severity, XF_SEV_CRITICAL);
	}
}

/* ---- views built from names ----
 *
 * The views above are sums typed in by hand. Below, views are built the way
 * the flow table builds them: each name runs through the shared parser
 * (bpf/parse_name.h, as the kernel and replay do) and every detector's tag
 * hook, and the sums, the exact distinct count and the gaps between
 * queries are kept as the flow table keeps them. The names copy the shapes
 * of real tools (from the captures in ../shared/data/pcaps-external/ and
 * iodine's and dns2tcp's behaviour) and of real benign traffic.
 */

#define VB_SET 8192

struct vb {
	struct xf_flow_view v;
	char domain[128];
	uint64_t seen[VB_SET]; /* exact distinct set: FNV-1a of the lower-cased name */
	double first_t, last_t, gsum, gsq;
	int have_t;
	uint32_t ngaps;
};

static void vb_init(struct vb *b, const char *domain, int resolver)
{
	memset(b, 0, sizeof(*b));
	snprintf(b->domain, sizeof(b->domain), "%s", domain);
	b->v.domain = b->domain;
	b->v.resolver = resolver;
}

static uint64_t fnv_lower(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		h ^= c >= 'A' && c <= 'Z' ? c + 32 : c;
		h *= 1099511628211ull;
	}
	return h | 1; /* 0 marks an empty slot */
}

static void vb_distinct(struct vb *b, const char *name)
{
	uint64_t h = fnv_lower(name);

	for (uint32_t i = (uint32_t)h & (VB_SET - 1);; i = (i + 1) & (VB_SET - 1)) {
		if (b->seen[i] == h)
			return;
		if (!b->seen[i]) {
			b->seen[i] = h;
			b->v.distinct++;
			return;
		}
	}
}

/*
 * Features of a presentation name, as sensor/frame.c computes them from
 * the wire: \DDD escapes become the raw bytes they stand for first.
 */
static struct xf_name_feat feat_of(const char *name)
{
	struct xf_name_feat f;
	struct xf_name_state s;
	__u8 hist[256] __attribute__((aligned(8))) = { 0 };
	__u8 raw[XF_NAME_MAX];
	__u32 n = 0;
	struct xf_buf buf = { .p = raw };

	for (const char *c = name; *c && n < sizeof(raw); c++) {
		if (c[0] == '\\' && c[1] >= '0' && c[1] <= '9' && c[2] && c[3]) {
			raw[n++] = (__u8)((c[1] - '0') * 100 + (c[2] - '0') * 10 + (c[3] - '0'));
			c += 3;
		} else {
			raw[n++] = (__u8)*c;
		}
	}
	buf.len = n;
	struct xf_walk w = { .b = &buf, .s = &s, .f = &f, .hist = hist };

	xf_name_init(&s, &f, 16); /* kernel.enc_label_min default */
	xf_name_walk_text(&w, 0, buf.len);
	xf_name_finish(&s, &f, 0);
	return f;
}

static uint32_t tags_of(const char *name, int kind, uint16_t qtype, const char *domain)
{
	struct xf_name_feat f = feat_of(name);
	size_t len = strlen(name), dl = strlen(domain);
	struct xf_name_in in = {
		.kind = kind,
		.name = name,
		.len = len,
		.rd_off = len >= dl ? len - dl : len,
		.feat = &f,
		.qtype = qtype,
	};

	return xf_name_tags(&in);
}

static int qt_bucket(uint16_t qtype)
{
	return (int)xf_qtype_bucket(qtype);
}

/* rcode: -1 no response seen, else the response's rcode (3 = NXDOMAIN). */
static void vb_query(struct vb *b, const char *name, uint16_t qtype, double t, int rcode)
{
	struct xf_name_feat f = feat_of(name);
	uint32_t tags = tags_of(name, XF_EV_DNS_QUERY, qtype, b->domain);

	b->v.queries++;
	b->v.qname_bytes += f.name_len;
	b->v.entropy_sum += f.entropy;
	b->v.enc_queries += f.enc_longest > 0;
	b->v.long_queries += f.name_len >= 100; /* kernel.long_qname default */
	b->v.qtypes[qt_bucket(qtype)]++;
	if (f.name_len > b->v.max_name_len)
		b->v.max_name_len = f.name_len;
	if (f.longest > b->v.max_label)
		b->v.max_label = f.longest;
	if (f.enc_longest > b->v.max_enc_label)
		b->v.max_enc_label = f.enc_longest;
	b->v.tags |= tags;
	b->v.tagged += !!tags;
	b->v.tag_names++;
	vb_distinct(b, name);
	if (rcode >= 0) {
		b->v.responses++;
		b->v.nxdomain += rcode == 3;
	}
	if (b->have_t) {
		double g = t - b->last_t;

		b->gsum += g;
		b->gsq += g * g;
		b->ngaps++;
	} else {
		b->first_t = t;
		b->have_t = 1;
	}
	b->last_t = t;
}

/* A TLS server name or an HTTP Host: names the flow, counts no query. */
static void vb_name(struct vb *b, const char *name, int kind)
{
	uint32_t tags = tags_of(name, kind, 0, b->domain);

	if (kind == XF_EV_SNI)
		b->v.sni++;
	else
		b->v.hosts++;
	b->v.tags |= tags;
	b->v.tagged += !!tags;
	b->v.tag_names++;
}

static struct xf_flow_view *vb_view(struct vb *b)
{
	b->v.span_s = b->have_t ? b->last_t - b->first_t : 0;
	b->v.iat_n = b->ngaps;
	if (b->ngaps) {
		double m = b->gsum / b->ngaps, var = b->gsq / b->ngaps - m * m;

		b->v.iat_mean_s = m;
		b->v.iat_cv = m > 0 ? sqrt(var > 0 ? var : 0) / m : 0;
	}
	return &b->v;
}

static unsigned rng = 12345;

static double urand(void)
{
	return (double)rand_r(&rng) / ((double)RAND_MAX + 1);
}

/* n random characters of alphabet a into out (NUL-terminated). */
static void rnd_str(char *out, size_t n, const char *a)
{
	size_t k = strlen(a);

	for (size_t i = 0; i < n; i++)
		out[i] = a[(size_t)(urand() * (double)k)];
	out[n] = 0;
}

/* Split s into labels of at most lab characters, dotted, into out. */
static void dotted(char *out, size_t size, const char *s, size_t lab)
{
	size_t n = strlen(s), o = 0;

	for (size_t i = 0; i < n && o + 2 < size; i++) {
		if (i && i % lab == 0)
			out[o++] = '.';
		out[o++] = s[i];
	}
	out[o] = 0;
}

#define B32_IODINE "abcdefghijklmnopqrstuvwxyz012345"
#define B32_UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
#define B32_LOWER "abcdefghijklmnopqrstuvwxyz234567"
#define B64 "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
#define B64URL "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
#define B64_IODINE "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-+"
#define HEX "0123456789abcdef"

static const struct xf_det_params wparams = { .resolver_scale = 4, .window_s = 300 };
static const double THRESHOLD = 60; /* detect.threshold default (sensor/config.c) */

static struct xf_score score_vb(const char *what, struct vb *b, const struct xf_det_params *p)
{
	struct xf_flow_view *v = vb_view(b);
	struct xf_score sc;

	xf_score_flow(v, p ? p : &wparams, NULL, &sc);
	print_message("%-22s q %4llu d %5.0f span %6.1fs score %5.1f (%s):", what,
		      (unsigned long long)v->queries, v->distinct, v->span_s, sc.score,
		      xf_severity_name(sc.severity));
	for (int i = 0; i < xf_n_detectors; i++)
		if (sc.det[i].score > 0)
			print_message(" %s %.0f", xf_detectors[i]->name, sc.det[i].score);
	print_message("\n");
	return sc;
}

/*
 * iodine: the handshake from iodine.pcap, then data queries as fast as
 * the link goes (a query every ~50 ms): a user id hex digit, a 3-character
 * header, then upstream data, in base32 (a-z0-5), base64 (iodine's
 * alphabet ends "-+") or base128 (bytes 0xbc-0xfd, escaped as \DDD), in
 * labels of 63 up to a ~200-character name.
 */
static void iodine_flow(struct vb *b, uint16_t qtype, const char *alpha, int n_data)
{
	static const char *const hs[] = {
		"yrb0pe.t1.tunnel.test",
		"vaaaakaxj2u.t1.tunnel.test",
		"laczi1dwmfbaywb0fm5xhkrgz0heotzq.t1.tunnel.test",
		"z0piaA-Aaahhh-Drink-mal-ein-J\\228germeister-.t1.tunnel.test",
		"z0pkaAbBcCdDeEfFgGhHiIjJkKlLmMnNoOpPqQrRsStTuUvVwWxXyYzZ.t1.tunnel.test",
	};
	char data[256], lab[300], name[400];
	double t = 0;

	vb_init(b, "tunnel.test", 0);
	for (size_t i = 0; i < ARRAY_SIZE(hs); i++, t += 0.005)
		vb_query(b, hs[i], qtype, t, 0);
	for (int i = 0; i < n_data; i++, t += 0.03 + 0.04 * urand()) {
		rnd_str(data, 180, alpha);
		data[0] = '0';
		dotted(lab, sizeof(lab), data, 63);
		snprintf(name, sizeof(name), "%s.t1.tunnel.test", lab);
		vb_query(b, name, qtype, t, 0);
	}
}

/* The bar: bulk tunnels alert within 20 queries and 2 s. */
static void test_iodine_names(void **state)
{
	static const struct {
		const char *what;
		uint16_t qtype;
		const char *alpha;
	} c[] = {
		{ "iodine NULL base32", 10, B32_IODINE },
		{ "iodine PRIVATE b32", 65399, B32_IODINE },
		{ "iodine TXT base64", 16, B64_IODINE },
		{ "iodine CNAME base32", 5, B32_IODINE },
		{ "iodine MX base32", 15, B32_IODINE },
		{ "iodine A base32", 1, B32_IODINE },
	};
	static struct vb b;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		struct xf_score sc;

		iodine_flow(&b, c[i].qtype, c[i].alpha, 15); /* 20 queries */
		sc = score_vb(c[i].what, &b, NULL);
		assert_int_equal(b.v.queries, 20);
		assert_true(b.v.span_s < 2);
		assert_true(sc.score >= THRESHOLD);
		assert_true(sc.det[det_index("signature")].score == 100);
		assert_true(b.v.tags & XF_TAG_IODINE);
		if (c[i].qtype != 1)
			assert_true(sc.det[det_index("qtype")].score > 0);
		/* and over a full window it is beyond doubt */
		iodine_flow(&b, c[i].qtype, c[i].alpha, 600);
		sc = score_vb(c[i].what, &b, NULL);
		assert_true(sc.score >= 95);
		assert_true(sc.det[det_index("volume")].score == 100);
	}
}

/* base128: raw bytes in the names, never legal in a hostname */
static void test_iodine_base128(void **state)
{
	static struct vb b;
	char name[400], lab[80];
	double t = 0;
	struct xf_score sc;

	(void)state;
	vb_init(&b, "tunnel.test", 0);
	for (int i = 0; i < 20; i++, t += 0.05) {
		size_t o = 0;

		lab[o++] = '0';
		for (int k = 0; k < 12; k++) /* \188..\251, as iodine.pcap's "z0pl" test */
			o += (size_t)sprintf(lab + o, "\\%03d", 0xbc + (int)(urand() * 0x40));
		snprintf(name, sizeof(name), "%s%s.t1.tunnel.test", lab, "abcdefgh");
		vb_query(&b, name, 10, t, 0);
	}
	sc = score_vb("iodine base128", &b, NULL);
	assert_true(b.v.tags & XF_TAG_ENC_BIN);
	assert_true(sc.score >= THRESHOLD);
	{
		double v = -1;

		assert_true(ev_get(&sc.det[det_index("entropy")], "alphabet_bits", &v));
		assert_true(v == 8);
	}
}

/* dns2tcp over TXT and KEY: the handshake names of dns2tcp.pcap, then
 * base64 data in labels of 63 (the capture's "oncAAAA..." names) */
static void test_dns2tcp_names(void **state)
{
	static const char *const hs[] = {
		"AAAAAH7wQA.=auth.dns2tcp.tunnel.test",
		"oneFgAABADc0QUU3NjcyN0I4OUEzRENFQzg3OEE4QzEzQUI1NjJBOEEwNjY0QUY.=auth.dns2tcp."
		"tunnel.test",
		"ondy6K6cAHNzaA.=connect.dns2tcp.tunnel.test",
	};
	static const uint16_t qt[] = { 16, 25 };
	static struct vb b;
	char data[200], lab[260], name[320];

	(void)state;
	for (size_t q = 0; q < ARRAY_SIZE(qt); q++) {
		double t = 0;
		struct xf_score sc;

		vb_init(&b, "tunnel.test", 0);
		for (size_t i = 0; i < ARRAY_SIZE(hs); i++, t += 0.005)
			vb_query(&b, hs[i], qt[q], t, 0);
		for (int i = 0; i < 17; i++, t += 0.01) {
			/* polls ("oncAAAABBA") alternate with data */
			if (i % 2) {
				snprintf(name, sizeof(name), "oncAAAA%c%cBA.dns2tcp.tunnel.test",
					 'A' + i / 26, 'A' + i % 26);
			} else {
				rnd_str(data, 150, B64);
				memcpy(data, "oncAAAA", 7);
				dotted(lab, sizeof(lab), data, 63);
				snprintf(name, sizeof(name), "%s.dns2tcp.tunnel.test", lab);
			}
			vb_query(&b, name, qt[q], t, 0);
		}
		sc = score_vb(q ? "dns2tcp KEY" : "dns2tcp TXT", &b, NULL);
		assert_int_equal(b.v.queries, 20);
		assert_true(sc.score >= THRESHOLD);
		assert_true(b.v.tags & XF_TAG_DNS2TCP);
		assert_true(sc.det[det_index("qtype")].score > 50);
	}
}

/* dnscat2 as in dnscat2.pcap: 34 hex digits (id, type 01, session b8d3,
 * seq, ack, data), MX, TXT and CNAME in turn, one query a second */
static void test_dnscat2_names(void **state)
{
	static const uint16_t qt[] = { 15, 15, 16, 15, 16, 5 };
	static struct vb b;
	char hex[64], name[128];
	double t = 0;
	struct xf_score sc;

	(void)state;
	vb_init(&b, "c2.test", 0);
	for (int i = 0; i < 40; i++, t += 1.0 + 0.02 * urand()) {
		rnd_str(hex, 34, HEX);
		memcpy(hex + 4, "01b8d3", 6);
		snprintf(name, sizeof(name), "%s.c2.test", hex);
		vb_query(&b, name, qt[i % ARRAY_SIZE(qt)], t, 0);
	}
	sc = score_vb("dnscat2", &b, NULL);
	assert_true(sc.score >= THRESHOLD);
	assert_true(b.v.tags & XF_TAG_DNSCAT2);
	assert_true(b.v.tags & XF_TAG_ENC_HEX);
	/* a query a second like clockwork */
	assert_true(sc.det[det_index("timing")].score > 80);
}

/*
 * Low and slow: one query every 10-30 s, so a 300 s window holds about 15.
 * Hex, base32 and base64url, and the anchor of Ozery et al.: 0.7 B/s, one
 * 21-byte chunk (42 hex digits) every 30 s.
 */
static void slow_flow(struct vb *b, const char *alpha, size_t chars, double lo, double hi,
		      int rcode)
{
	char data[128], name[200];
	double t = 0;

	vb_init(b, "exfil.test", 0);
	while (t < 300) {
		rnd_str(data, chars, alpha);
		snprintf(name, sizeof(name), "%s.x.exfil.test", data);
		vb_query(b, name, 1, t, rcode);
		t += lo + (hi - lo) * urand();
	}
}

static void test_slow_exfil(void **state)
{
	static const struct {
		const char *what;
		const char *alpha;
		size_t chars;
		double lo, hi;
		int rcode;
	} c[] = {
		{ "slow hex 10-30s", HEX, 48, 10, 30, 0 },
		{ "slow base32 10-30s", B32_LOWER, 52, 10, 30, 3 },
		{ "slow base64url 10-30s", B64URL, 40, 10, 30, 3 },
		{ "slow hex 0.7 B/s", HEX, 42, 30, 30.5, -1 },
	};
	static struct vb b;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		struct xf_score sc;

		slow_flow(&b, c[i].alpha, c[i].chars, c[i].lo, c[i].hi, c[i].rcode);
		sc = score_vb(c[i].what, &b, NULL);
		assert_true(b.v.queries <= 31);
		assert_true(sc.score >= THRESHOLD);
		/* the timer shows: gaps within 10-30 s vary little */
		assert_true(sc.det[det_index("timing")].score > 20);
	}
}

/*
 * A beacon: an implant checking in every 10 s with 20% jitter, TXT, its id
 * and a nonce in hex. And one that says less (8 hex digits, A queries):
 * timing alone stays under the threshold, a bypass lifts it over.
 */
static void test_beacon(void **state)
{
	static struct vb b;
	char id[32], name[128];
	double t = 0;
	struct xf_score sc;
	struct xf_det_params wr = wparams;

	(void)state;
	vb_init(&b, "beacon.test", 0);
	for (int i = 0; i < 30; i++, t += 10 * (0.8 + 0.2 * urand())) {
		rnd_str(id, 12, HEX);
		snprintf(name, sizeof(name), "5f3a9c01%s.beacon.test", id);
		vb_query(&b, name, 16, t, 0);
	}
	sc = score_vb("beacon TXT", &b, NULL);
	assert_true(sc.score >= THRESHOLD);
	assert_true(b.v.iat_cv < 0.2);
	assert_true(sc.det[det_index("timing")].score > 90);

	t = 0;
	vb_init(&b, "beacon.test", 0);
	for (int i = 0; i < 30; i++, t += 10 * (0.8 + 0.2 * urand())) {
		rnd_str(id, 8, HEX);
		snprintf(name, sizeof(name), "%s.beacon.test", id);
		vb_query(&b, name, 1, t, 0);
	}
	/* a fresh short name on a timer, nothing else odd: the C2 shape, and
	 * enough to alert on its own once 20+ gaps back it */
	sc = score_vb("beacon short", &b, NULL);
	assert_true(sc.score >= THRESHOLD);
	assert_true(sc.score < 80);
	assert_true(sc.det[det_index("timing")].score > 90);
	/* the same, sent straight to a server that is not the resolver */
	b.v.bypass = (uint32_t)b.v.queries;
	wr.have_resolvers = 1;
	sc = score_vb("beacon short, bypass", &b, &wr);
	assert_true(sc.score >= THRESHOLD);
	assert_true(sc.det[det_index("bypass")].score == 100);
}

/* ---- benign traffic from names ---- */

/* A busy client of a CDN: page loads (bursts of 20-30 names in a second),
 * then idle; the edge names of fbcdn.net, repeated across loads. */
static void test_cdn_names(void **state)
{
	static const char *const pop[] = { "lhr8", "lhr6", "cdg4", "ams2", "fra3", "mad1" };
	static struct vb b;
	char name[128];
	double t = 0;
	struct xf_score sc;

	(void)state;
	vb_init(&b, "fbcdn.net", 0);
	for (int load = 0; load < 12; load++, t += 25) {
		for (int i = 0; i < 25; i++) {
			int r = (int)(urand() * 6), k = 1 + (int)(urand() * 2);

			snprintf(name, sizeof(name), "%s-%s-%d.xx.fbcdn.net",
				 i % 3 ? "scontent" : "video", pop[r], k);
			vb_query(&b, name, i % 2 ? 28 : 1, t + 0.04 * i, 0);
		}
	}
	sc = score_vb("cdn client fbcdn", &b, NULL);
	assert_true(sc.score < THRESHOLD);
	assert_true(sc.score < 20);

	/* akamaiedge: e<number>.<letter>.akamaiedge.net, many of them */
	vb_init(&b, "akamaiedge.net", 0);
	t = 0;
	for (int i = 0; i < 400; i++, t += 0.75 * urand()) {
		snprintf(name, sizeof(name), "e%d.%c.akamaiedge.net", (int)(urand() * 9000) + 1000,
			 "abdfg"[(int)(urand() * 5)]);
		vb_query(&b, name, i % 2 ? 28 : 1, t, 0);
	}
	sc = score_vb("cdn client akamaiedge", &b, NULL);
	assert_true(sc.score < THRESHOLD);
}

/* A resolver: every client's names of google.com and amazonaws.com
 * (ec2-a-b-c-d.compute-1 names are unique per instance) */
static void test_resolver_names(void **state)
{
	static const char *const g[] = { "www",	     "mail",	 "apis", "accounts", "clients1",
					 "clients2", "clients4", "play", "drive",    "docs",
					 "fonts",    "update",	 "ssl",	 "maps",     "news" };
	static struct vb b;
	char name[128];
	double t = 0;
	struct xf_score sc;

	(void)state;
	vb_init(&b, "google.com", 1);
	for (int i = 0; i < 3000; i++, t += 0.1 * urand()) {
		snprintf(name, sizeof(name), "%s.google.com", g[(int)(urand() * ARRAY_SIZE(g))]);
		vb_query(&b, name, i % 3 ? 1 : 28, t, 0);
	}
	sc = score_vb("resolver google.com", &b, NULL);
	assert_true(sc.score < THRESHOLD);

	vb_init(&b, "amazonaws.com", 1);
	t = 0;
	for (int i = 0; i < 3000; i++, t += 0.1 * urand()) {
		snprintf(name, sizeof(name), "ec2-%d-%d-%d-%d.%s.amazonaws.com",
			 (int)(urand() * 200) + 3, (int)(urand() * 255), (int)(urand() * 255),
			 (int)(urand() * 255), i % 2 ? "compute-1" : "us-west-2.compute");
		vb_query(&b, name, 1, t, 0);
	}
	sc = score_vb("resolver amazonaws", &b, NULL);
	assert_true(sc.score < THRESHOLD);
	/* the same flow from a plain client would look busier, still no tunnel */
	b.v.resolver = 0;
	sc = score_vb("client amazonaws", &b, NULL);
	assert_true(sc.score < THRESHOLD);
}

/* A mail server's DNSBL lookups: a reversed IPv4 address per connection
 * (zen), sender domains (dbl), 10 a second, most unlisted (NXDOMAIN) */
static void test_dnsbl_names(void **state)
{
	static const char *const dom[] = { "example.com", "mailer.example.net", "news.shop.example",
					   "bounce.example.org" };
	static struct vb b;
	char name[160];
	double t = 0;
	struct xf_score sc;

	(void)state;
	vb_init(&b, "spamhaus.org", 0);
	for (int i = 0; i < 3000; i++, t += 0.2 * urand()) {
		if (i % 4)
			snprintf(name, sizeof(name), "%d.%d.%d.%d.zen.spamhaus.org",
				 (int)(urand() * 255), (int)(urand() * 255), (int)(urand() * 255),
				 (int)(urand() * 220) + 1);
		else
			snprintf(name, sizeof(name), "%s%d.dbl.spamhaus.org",
				 dom[(int)(urand() * ARRAY_SIZE(dom))], (int)(urand() * 50));
		vb_query(&b, name, 1, t, urand() < 0.9 ? 3 : 0);
	}
	sc = score_vb("dnsbl mail server", &b, NULL);
	assert_true(b.v.distinct > 2000);
	assert_true(sc.score < THRESHOLD);
	/* distinct names do speak: they just cannot alert alone */
	assert_true(sc.det[det_index("distinct")].score > 90);
}

/* A pod in Kubernetes (ndots:5): every external name is tried under each
 * search domain first, all NXDOMAIN; in-cluster services are polled by
 * health checks every 10 s */
static void test_k8s_names(void **state)
{
	static const char *const ext[] = { "api.github.com",	 "registry-1.docker.io",
					   "sts.amazonaws.com",	 "login.microsoftonline.com",
					   "www.googleapis.com", "hooks.slack.com" };
	static const char *const sfx[] = { "default.svc.cluster.local", "svc.cluster.local",
					   "cluster.local" };
	static const char *const svc[] = { "redis.prod", "postgres.prod", "kube-dns.kube-system",
					   "metrics.monitoring" };
	static struct vb b;
	char name[200];
	double t = 0;
	struct xf_score sc;

	(void)state;
	vb_init(&b, "cluster.local", 0);
	for (int round = 0; round < 30; round++, t += 10.0 + 0.05 * urand()) {
		for (size_t s = 0; s < ARRAY_SIZE(svc); s++) {
			snprintf(name, sizeof(name), "%s.svc.cluster.local", svc[s]);
			vb_query(&b, name, 1, t + 0.001 * (double)s, 0);
		}
		for (int e = 0; e < 2; e++) {
			const char *x = ext[(int)(urand() * ARRAY_SIZE(ext))];

			for (size_t s = 0; s < ARRAY_SIZE(sfx); s++) {
				snprintf(name, sizeof(name), "%s.%s", x, sfx[s]);
				vb_query(&b, name, 1, t + 0.01 + 0.001 * (double)s, 3);
				vb_query(&b, name, 28, t + 0.0105 + 0.001 * (double)s, 3);
			}
		}
	}
	sc = score_vb("k8s search expansion", &b, NULL);
	assert_true(sc.score < THRESHOLD);
	assert_true(sc.det[det_index("nxdomain")].score < 10);
}

/* Reverse lookups of a busy subnet (PTR), half unnamed; and a receiving
 * mail server's DKIM, DMARC and SPF lookups of one sending domain */
static void test_reverse_and_mail_auth(void **state)
{
	static const char *const mail[] = {
		"20230601._domainkey.gmail.com", "_dmarc.gmail.com", "gmail.com", "_spf.google.com",
		"ug7nbtf4gccmlpwj322ax3p6ow6yfsug._domainkey.gmail.com"
	};
	static struct vb b;
	char name[160];
	double t = 0;
	struct xf_score sc;

	(void)state;
	vb_init(&b, "10.in-addr.arpa", 0);
	for (int i = 0; i < 2000; i++, t += 0.3 * urand()) {
		snprintf(name, sizeof(name), "%d.%d.%d.10.in-addr.arpa", (int)(urand() * 255),
			 (int)(urand() * 255), (int)(urand() * 255));
		vb_query(&b, name, 12, t, urand() < 0.5 ? 3 : 0);
	}
	sc = score_vb("reverse lookups", &b, NULL);
	assert_true(sc.score < THRESHOLD);

	vb_init(&b, "gmail.com", 0);
	t = 0;
	for (int i = 0; i < 500; i++, t += 1.2 * urand())
		vb_query(&b, mail[i % ARRAY_SIZE(mail)], 16, t, 0);
	sc = score_vb("dkim/dmarc/spf", &b, NULL);
	assert_true(sc.score < THRESHOLD);
	assert_true(sc.det[det_index("qtype")].score < 5);
}

/* ---- the tag hooks on single names ---- */

struct tag_case {
	const char *name;
	int kind;
	uint16_t qtype;
	const char *domain;
	uint32_t want; /* tags that must be set */
	uint32_t deny; /* tags that must not be */
};

static void test_tags(void **state)
{
	static const struct tag_case c[] = {
		/* iodine.pcap */
		{ "vaaaakaxj2u.t1.biillpi.com", XF_EV_DNS_QUERY, 10, "biillpi.com", XF_TAG_IODINE,
		  0 },
		{ "z0piaA-Aaahhh-Drink-mal-ein-J\\228germeister-.t1.biillpi.com", XF_EV_DNS_QUERY,
		  10, "biillpi.com", XF_TAG_IODINE, 0 },
		{ "z0pjaA-La-fl\\251te-na\\239ve-fran\\231aise-est-retir\\233-\\224-Cr\\232te"
		  ".t1.biillpi.com",
		  XF_EV_DNS_QUERY, 10, "biillpi.com", XF_TAG_IODINE | XF_TAG_ENC_BIN, 0 },
		{ "z0pkaAbBcCdDeEfFgGhHiIjJkKlLmMnNoOpPqQrRsStTuUvVwWxXyYzZ.t1.biillpi.com",
		  XF_EV_DNS_QUERY, 10, "biillpi.com", XF_TAG_IODINE | XF_TAG_ENC_B64, 0 },
		/* dns2tcp.pcap */
		{ "AAAAAH7wQA.=auth.dns2tcp.hsc.fr", XF_EV_DNS_QUERY, 16, "hsc.fr", XF_TAG_DNS2TCP,
		  XF_TAG_IODINE },
		{ "ondy6K6cAHNzaA.=connect.dns2tcp.hsc.fr", XF_EV_DNS_QUERY, 16, "hsc.fr",
		  XF_TAG_DNS2TCP, 0 },
		/* dnscat2.pcap */
		{ "147901b8d3df9cc46c59d600078b3316ce.biillpi.com", XF_EV_DNS_QUERY, 15,
		  "biillpi.com", XF_TAG_DNSCAT2 | XF_TAG_ENC_HEX, 0 },
		{ "dnscat.2cd4010000e4d2f5c0dc", XF_EV_DNS_QUERY, 16, "dnscat.2cd4010000e4d2f5c0dc",
		  XF_TAG_DNSCAT2, 0 },
		/* dnsextrator.pcap */
		{ "init.MRXHG5DBOAXGG33OMYXHI6DUPQYTG.base64.hsc.fr", XF_EV_DNS_QUERY, 16, "hsc.fr",
		  XF_TAG_DNSEXFILTRATOR, 0 },
		{ "0.r747Clg-tK5pUdkH0R12a7gJ9sFPi9Aackw0kGtq_DnFd7vNX5Cb3l1JQQJQmh3."
		  "nkI710RsrOCstxi1R8Do9_Odr3ocKGV3oal9Tch1xe9GGKsOwNaKSYwLn5T49zy.hsc.fr",
		  XF_EV_DNS_QUERY, 16, "hsc.fr", XF_TAG_DNSEXFILTRATOR | XF_TAG_ENC_B64, 0 },
		/* sods.pcap */
		{ "0-60451.id-1605.down.tun.hsc.fr", XF_EV_DNS_QUERY, 5, "hsc.fr", XF_TAG_SODS, 0 },
		{ "knjuqljsfyyc2t3qmvxfgu2il44c4olqgeqfkytvnz2hkljtovrhk3tuouyc4m.inbi.41953-0."
		  "id-1605.up.tun.hsc.fr",
		  XF_EV_DNS_QUERY, 1, "hsc.fr", XF_TAG_SODS | XF_TAG_ENC_B32, 0 },
		/* Cobalt Strike's default stager names */
		{ "aaa.stage.123456.c2.test", XF_EV_DNS_QUERY, 16, "c2.test", XF_TAG_COBALTSTRIKE,
		  0 },
		{ "baa.stage.8891234.ns1.c2.test", XF_EV_DNS_QUERY, 16, "c2.test",
		  XF_TAG_COBALTSTRIKE, 0 },
		/* ordinary names carry no tool's mark */
		{ "www.google.com", XF_EV_DNS_QUERY, 1, "google.com", 0, ~0u },
		{ "4.3.2.1.zen.spamhaus.org", XF_EV_DNS_QUERY, 1, "spamhaus.org", 0, ~0u },
		{ "stage.example.com", XF_EV_DNS_QUERY, 1, "example.com", 0, ~0u },
		{ "www.stage.example.com", XF_EV_DNS_QUERY, 1, "example.com", 0, ~0u },
		{ "id-123.example.com", XF_EV_DNS_QUERY, 1, "example.com", 0, ~0u },
		{ "id-123.upload.example.com", XF_EV_DNS_QUERY, 1, "example.com", 0, ~0u },
		{ "init.example.com", XF_EV_DNS_QUERY, 1, "example.com", 0, ~0u },
		{ "v1.api.example.com", XF_EV_DNS_QUERY, 1, "example.com", 0, ~0u },
		{ "vaaaaka.example.com", XF_EV_DNS_QUERY, 1, "example.com", 0, ~0u },
		{ "zoom.us", XF_EV_DNS_QUERY, 1, "zoom.us", 0, ~0u },
		{ "auth.example.com", XF_EV_DNS_QUERY, 1, "example.com", 0, ~0u },
		{ "_dmarc.example.com", XF_EV_DNS_QUERY, 16, "example.com", 0, ~0u },
		/* an MD5 in hex, type byte 0x7c: hex, but not dnscat2 */
		{ "9e107d7c9d7cbd9e1e6a0a8e5e0c4f52.avqs.mcafee.com", XF_EV_DNS_QUERY, 1,
		  "mcafee.com", XF_TAG_ENC_HEX, XF_TAG_SIG_MASK },
		/* SNI: DoH providers, on label boundaries only */
		{ "dns.google", XF_EV_SNI, 0, "dns.google", XF_TAG_DOH_PROVIDER, 0 },
		{ "mozilla.cloudflare-dns.com", XF_EV_SNI, 0, "cloudflare-dns.com",
		  XF_TAG_DOH_PROVIDER, 0 },
		{ "dns.quad9.net", XF_EV_SNI, 0, "quad9.net", XF_TAG_DOH_PROVIDER, 0 },
		{ "DNS.NextDNS.io", XF_EV_SNI, 0, "nextdns.io", XF_TAG_DOH_PROVIDER, 0 },
		{ "notcloudflare-dns.com", XF_EV_SNI, 0, "notcloudflare-dns.com", 0, ~0u },
		{ "cloudflare-dns.com.evil.test", XF_EV_SNI, 0, "evil.test", 0, ~0u },
		{ "www.google.com", XF_EV_SNI, 0, "google.com", 0, ~0u },
		{ "mjqxgzjtgi2tmnzyhe4dcmrtgq2tmnzy.c2.test", XF_EV_SNI, 0, "c2.test",
		  XF_TAG_SNI_RANDOM, XF_TAG_ENC_MASK },
		/* a DoH name asked over DNS is not DoH */
		{ "dns.google", XF_EV_DNS_QUERY, 1, "dns.google", 0, XF_TAG_DOH_PROVIDER },
		/* HTTP Host */
		{ "192.0.2.10", XF_EV_HOST, 0, "192.0.2.10", XF_TAG_HOST_IP, 0 },
		{ "192.0.2.10:8080", XF_EV_HOST, 0, "192.0.2.10", XF_TAG_HOST_IP, 0 },
		{ "[2001:db8::1]:80", XF_EV_HOST, 0, "2001:db8::1", XF_TAG_HOST_IP, 0 },
		{ "256.0.2.10", XF_EV_HOST, 0, "0.2.10", 0, XF_TAG_HOST_IP },
		{ "1.2.3", XF_EV_HOST, 0, "2.3", 0, XF_TAG_HOST_IP },
		{ "www.example.com", XF_EV_HOST, 0, "example.com", 0, ~0u },
		{ "a3f9e1c2b7d84f6e9a1c3b5d7e9f1a2b.c2.test", XF_EV_HOST, 0, "c2.test",
		  XF_TAG_HOST_RANDOM, 0 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		uint32_t t = tags_of(c[i].name, c[i].kind, c[i].qtype, c[i].domain);

		if ((t & c[i].want) != c[i].want || (t & c[i].deny))
			fail_msg("%s (kind %d): tags %#x, want %#x, deny %#x", c[i].name, c[i].kind,
				 t, c[i].want, c[i].deny);
	}
}

/* SNI and Host flows: no queries, only names */
static void test_second_signals(void **state)
{
	static struct vb b;
	struct xf_score sc;

	(void)state;
	/* Firefox's DoH: one alert per client and provider, medium */
	vb_init(&b, "cloudflare-dns.com", 0);
	vb_name(&b, "mozilla.cloudflare-dns.com", XF_EV_SNI);
	sc = score_vb("doh sni", &b, NULL);
	assert_true(sc.score >= THRESHOLD);
	assert_int_equal(sc.severity, XF_SEV_MEDIUM);
	ev_expect(&sc.det[det_index("sni")], "doh_provider", 1);
	/* a random SNI, or Hosts by IP: a second signal that never alerts alone */
	vb_init(&b, "c2.test", 0);
	for (int i = 0; i < 10; i++)
		vb_name(&b, "mjqxgzjtgi2tmnzyhe4dcmrtgq2tmnzy.c2.test", XF_EV_SNI);
	sc = score_vb("random sni", &b, NULL);
	assert_true(sc.det[det_index("sni")].score == 50);
	assert_true(sc.score < THRESHOLD);
	vb_init(&b, "192.0.2.10", 0);
	for (int i = 0; i < 10; i++)
		vb_name(&b, "192.0.2.10", XF_EV_HOST);
	vb_name(&b, "a3f9e1c2b7d84f6e9a1c3b5d7e9f1a2b.c2.test", XF_EV_HOST);
	sc = score_vb("hosts", &b, NULL);
	assert_true(sc.det[det_index("host")].score == 60);
	assert_true(sc.score < THRESHOLD);
	ev_expect(&sc.det[det_index("host")], "ip_literal", 1);
	ev_expect(&sc.det[det_index("host")], "host_names", 11);
}

/* bypass: only with a resolver list, never for a resolver client */
static void test_bypass(void **state)
{
	struct xf_flow_view v = view_of(&browsing);
	struct xf_det_params p = wparams;
	struct xf_det_result r = { 0 };
	const struct xf_detector *d = xf_detector_find("bypass");

	(void)state;
	v.bypass = 5;
	d->score(&v, &p, &r);
	assert_true(r.score == 0 && r.n == 0); /* no resolvers configured */
	p.have_resolvers = 1;
	d->score(&v, &p, &r);
	assert_true(r.score == 100);
	ev_expect(&r, "bypass_queries", 5);
	ev_expect(&r, "bypass_ratio", 5.0 / 30);
	memset(&r, 0, sizeof(r));
	v.resolver = 1;
	d->score(&v, &p, &r);
	assert_true(r.score == 0);
	/* alone it does not alert; see bypass.c */
	{
		struct xf_score sc;

		v.resolver = 0;
		xf_score_flow(&v, &p, NULL, &sc);
		assert_true(sc.score < THRESHOLD && sc.score > 40);
	}
}

/* volume: the registered domain is not payload */
static void test_volume_subdomain(void **state)
{
	struct xf_flow_view v = { .domain = "example.com", .queries = 100 };
	struct xf_det_result r = { 0 };
	const struct xf_detector *d = xf_detector_find("volume");

	(void)state;
	/* 100 x "<52 chars>.example.com" (64 bytes), all encoded and unique */
	v.qname_bytes = 100 * 64;
	v.enc_queries = 100;
	v.distinct = 100;
	v.entropy_sum = 100 * 4500;
	v.span_s = 100;
	d->score(&v, &wparams, &r);
	ev_expect(&r, "subdomain_bytes", 100 * 52);
	ev_expect(&r, "encoded_bytes", 100 * 52);
	ev_expect(&r, "bytes_per_s", 52);
	/* half of them repeats: half the information */
	memset(&r, 0, sizeof(r));
	v.distinct = 50;
	d->score(&v, &wparams, &r);
	ev_expect(&r, "encoded_bytes", 50 * 52);
	/* a bare-domain query cannot make it negative */
	memset(&r, 0, sizeof(r));
	v.qname_bytes = 100 * 11;
	d->score(&v, &wparams, &r);
	ev_expect(&r, "subdomain_bytes", 0);
	assert_true(r.score == 0);
}

/* ---- xf_ramp ---- */

/* Live, a busy flow's events are capped near one a second per CPU
 * (kernel.event_gap_ms): those gaps are regular but are not query gaps, so
 * they must not read as a beacon. The same gaps over every query do. */
static void test_timing_coverage(void **state)
{
	const struct xf_detector *d = xf_detector_find("timing");
	struct xf_flow_view v = {
		.domain = "cdn.example",
		.queries = 3000,
		.qname_bytes = 3000 * 30,
		.distinct = 2500,
		.span_s = 120,
		.iat_n = 119,
		.iat_mean_s = 1.0,
		.iat_cv = 0.05,
	};
	struct xf_det_result r = { 0 };

	(void)state;
	d->score(&v, &wparams, &r);
	assert_true(r.score < 1);
	v.queries = 120;
	v.qname_bytes = 120 * 30;
	v.distinct = 120;
	memset(&r, 0, sizeof(r));
	d->score(&v, &wparams, &r);
	assert_true(r.score > 90);
}

static void test_ramp(void **state)
{
	(void)state;
	assert_true(xf_ramp(-5, 10, 20) == 0);
	assert_true(xf_ramp(10, 10, 20) == 0);
	assert_true(xf_ramp(10.000001, 10, 20) > 0);
	assert_true(fabs(xf_ramp(15, 10, 20) - 0.5) < EPS);
	assert_true(fabs(xf_ramp(12.5, 10, 20) - 0.25) < EPS);
	assert_true(xf_ramp(19.999999, 10, 20) < 1);
	assert_true(xf_ramp(20, 10, 20) == 1);
	assert_true(xf_ramp(1e300, 10, 20) == 1);
	/* a step when lo == hi: 0 up to it, 1 beyond */
	assert_true(xf_ramp(4, 5, 5) == 0);
	assert_true(xf_ramp(5, 5, 5) == 0);
	assert_true(xf_ramp(6, 5, 5) == 1);
	/* monotone */
	for (double x = 0, last = 0; x <= 30; x += 0.25) {
		double y = xf_ramp(x, 10, 20);

		assert_true(y >= last && y >= 0 && y <= 1);
		last = y;
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_iodine),
		cmocka_unit_test(test_dns2tcp),
		cmocka_unit_test(test_slow_hex),
		cmocka_unit_test(test_browsing),
		cmocka_unit_test(test_cdn),
		cmocka_unit_test(test_single_lookup),
		cmocka_unit_test(test_resolver),
		cmocka_unit_test(test_evidence),
		cmocka_unit_test(test_no_queries),
		cmocka_unit_test(test_flood),
		cmocka_unit_test(test_ev_add_bound),
		cmocka_unit_test(test_weights),
		cmocka_unit_test(test_severity),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_ramp),
		cmocka_unit_test(test_timing_coverage),
		cmocka_unit_test(test_iodine_names),
		cmocka_unit_test(test_iodine_base128),
		cmocka_unit_test(test_dns2tcp_names),
		cmocka_unit_test(test_dnscat2_names),
		cmocka_unit_test(test_slow_exfil),
		cmocka_unit_test(test_beacon),
		cmocka_unit_test(test_cdn_names),
		cmocka_unit_test(test_resolver_names),
		cmocka_unit_test(test_dnsbl_names),
		cmocka_unit_test(test_k8s_names),
		cmocka_unit_test(test_reverse_and_mail_auth),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_second_signals),
		cmocka_unit_test(test_bypass),
		cmocka_unit_test(test_volume_subdomain),
	};

	return cmocka_run_group_tests_name("detectors", tests, NULL, NULL);
}
