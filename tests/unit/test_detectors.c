// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_detectors.c - detectors/: the registry, the length, entropy and
 * distinct detectors and the scorer, on flow views built by hand to look
 * like real traffic: an iodine tunnel, dns2tcp, slow hex exfiltration,
 * browsing, a CDN client, a lone antivirus lookup, a resolver. Tunnels must
 * score high and benign flows low; evidence must carry the very values the
 * view holds; weights must work as documented; scores stay in 0..100.
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
	static const char *const names[] = { "length", "entropy", "distinct" };

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

		assert_non_null(d->score);
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
	for (int i = 0; i < xf_n_detectors; i++) {
		assert_true(sc.det[i].n > 0 && sc.det[i].n <= XF_EVIDENCE_MAX);
		for (int k = 0; k < sc.det[i].n; k++)
			assert_true(sc.det[i].ev[k].key && *sc.det[i].ev[k].key);
	}
	/* the sketch overshooting a small exact count: the ratio is capped */
	v.distinct = 330;
	xf_score_flow(&v, &params, NULL, &sc);
	ev_expect(&sc.det[det_index("distinct")], "distinct_ratio", 1);
	ev_expect(&sc.det[det_index("distinct")], "distinct_names", 330);
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

/* ---- xf_ramp ---- */

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
		cmocka_unit_test(test_registry),     cmocka_unit_test(test_iodine),
		cmocka_unit_test(test_dns2tcp),	     cmocka_unit_test(test_slow_hex),
		cmocka_unit_test(test_browsing),     cmocka_unit_test(test_cdn),
		cmocka_unit_test(test_single_lookup), cmocka_unit_test(test_resolver),
		cmocka_unit_test(test_evidence),     cmocka_unit_test(test_no_queries),
		cmocka_unit_test(test_ev_add_bound), cmocka_unit_test(test_weights),
		cmocka_unit_test(test_severity),     cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_ramp),
	};

	return cmocka_run_group_tests_name("detectors", tests, NULL, NULL);
}
