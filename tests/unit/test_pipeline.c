// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_pipeline.c - sensor/pipeline.c: the resolver and bypass marks on
 * observations, the detector parameters it fills, and what a tick does
 * with a flow: scored (before the threshold), skipped by the allowlist, an
 * alert once, updated only when it got worse, would-block in monitor mode,
 * enforce called once in enforce mode on an inline sensor. And the domain
 * scope: a random-subdomain flood from many clients, a few names each, is
 * one domain alert (no source.ip); the same names over many domains, or
 * under an allowlisted one, are none; detect.flood_block decides whether
 * it blocks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pipeline.h"

static struct xf_sensor_cfg cfg;
static int n_scored, n_alerts, n_allow, n_enforce, n_dom_alerts;
static char last_dom_json[8192], last_dom_domain[256], last_dom_id[64];
static uint32_t last_dom_rev;
static uint64_t last_first_ms, last_now_ms;
static char last_action[16], last_entry[256];

static void on_scored(void *ctx, const struct xf_ft_flow *f, const struct xf_score *sc,
		      uint64_t now_ms, uint64_t first_ms)
{
	(void)ctx;
	(void)f;
	(void)sc;
	n_scored++;
	last_now_ms = now_ms;
	last_first_ms = first_ms;
}

static int on_alert(void *ctx, const struct xf_alert_rec *rec, const struct xf_ft_flow *f,
		    const struct xf_score *sc)
{
	(void)ctx;
	(void)f;
	(void)sc;
	n_alerts++;
	snprintf(last_action, sizeof(last_action), "%s", rec->action);
	return 0;
}

static void on_allow(void *ctx, const char *domain, const char *entry, const char *source)
{
	(void)ctx;
	(void)domain;
	assert_string_equal(source, "config");
	snprintf(last_entry, sizeof(last_entry), "%s", entry);
	n_allow++;
}

static int on_enforce(void *ctx, const char *domain)
{
	(void)ctx;
	(void)domain;
	n_enforce++;
	return 0;
}

static int on_alert_domain(void *ctx, const struct xf_alert_rec *rec, const struct xf_dt_domain *d,
			   const struct xf_score *sc)
{
	(void)ctx;
	(void)d;
	(void)sc;
	n_dom_alerts++;
	snprintf(last_action, sizeof(last_action), "%s", rec->action);
	snprintf(last_dom_json, sizeof(last_dom_json), "%.*s", (int)rec->json_len, rec->json);
	snprintf(last_dom_domain, sizeof(last_dom_domain), "%s", rec->domain);
	snprintf(last_dom_id, sizeof(last_dom_id), "%s", rec->id);
	assert_string_equal(rec->client, "*");
	last_dom_rev = rec->rev;
	return 0;
}

static const struct xf_pipe_ops ops = {
	.enforce = on_enforce,
	.alert = on_alert,
	.alert_domain = on_alert_domain,
	.scored = on_scored,
	.allow_hit = on_allow,
};

static const __u8 client[16] = { [10] = 0xff, [11] = 0xff, 10, 0, 0, 2 };
static const __u8 resolver[16] = { [10] = 0xff, [11] = 0xff, 10, 0, 0, 53 };
static const __u8 other[16] = { [10] = 0xff, [11] = 0xff, 192, 0, 2, 1 };

static int setup(void **state)
{
	(void)state;
	xf_sensor_cfg_defaults(&cfg);
	n_scored = n_alerts = n_allow = n_enforce = n_dom_alerts = 0;
	last_dom_json[0] = last_dom_domain[0] = last_dom_id[0] = 0;
	last_dom_rev = 0;
	last_first_ms = last_now_ms = 0;
	last_action[0] = last_entry[0] = 0;
	return 0;
}

/* An encoded-looking query: long base32 label, distinct each time. */
static void query(struct xf_pipeline *p, const __u8 *cl, const __u8 *srv, const char *domain, int i,
		  uint64_t ms)
{
	struct xf_name_feat feat = { 0 };
	char name[128];
	struct xf_obs o = { 0 };

	snprintf(name, sizeof(name), "m%02dzq7xk2vt5lp3nd9ry6wh4bc8fg.%s", i, domain);
	feat.name_len = (__u16)strlen(name);
	feat.labels = 3;
	feat.longest = 30;
	feat.enc_longest = 30;
	feat.b32_labels = 1;
	feat.entropy = 4500;
	feat.qtype = 16;
	feat.name_hash = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1);
	o.client = cl;
	o.server = srv;
	o.domain = domain;
	o.name = name;
	o.feat = &feat;
	o.kind = XF_EV_DNS_QUERY;
	o.now_s = (uint32_t)(ms / 1000);
	o.ts_ms = ms;
	o.long_qname = 100;
	assert_true(xf_pipe_observe(p, &o) > 0);
}

static void test_marks(void **state)
{
	struct xf_pipeline p;
	struct xf_name_feat feat = { 0 };
	struct xf_obs o = { .client = client,
			    .server = other,
			    .domain = "example.com",
			    .name = "www.example.com",
			    .feat = &feat,
			    .kind = XF_EV_DNS_QUERY,
			    .now_s = 1000 };
	char err[256];

	(void)state;
	/* no resolvers configured: bypass means nothing */
	assert_int_equal(xf_pipe_init(&p, &cfg, &ops, NULL, err, sizeof(err)), 0);
	assert_int_equal(p.params.window_s, cfg.window_s);
	assert_int_equal(p.params.have_resolvers, 0);
	xf_pipe_observe(&p, &o);
	assert_int_equal(o.bypass, 0);
	assert_int_equal(o.resolver, 0);
	xf_pipe_free(&p);

	assert_int_equal(xf_sensor_cfg_set(&cfg, "resolvers", "10.0.0.53", err, sizeof(err)), 0);
	assert_int_equal(xf_pipe_init(&p, &cfg, &ops, NULL, err, sizeof(err)), 0);
	assert_int_equal(p.params.have_resolvers, 1);
	xf_pipe_observe(&p, &o); /* client to another server */
	assert_int_equal(o.bypass, 1);
	o.server = resolver; /* client to its resolver */
	xf_pipe_observe(&p, &o);
	assert_int_equal(o.bypass, 0);
	o.client = resolver; /* the resolver itself, upstream */
	o.server = other;
	xf_pipe_observe(&p, &o);
	assert_int_equal(o.resolver, 1);
	assert_int_equal(o.bypass, 0);
	o.client = other; /* a response from elsewhere is no bypass */
	o.server = client;
	o.response = 1;
	xf_pipe_observe(&p, &o);
	assert_int_equal(o.bypass, 0);
	xf_pipe_free(&p);
}

static void test_bad_config(void **state)
{
	struct xf_pipeline p;
	char err[256];

	(void)state;
	snprintf(cfg.resolvers[0], sizeof(cfg.resolvers[0]), "not-an-ip");
	cfg.n_resolvers = 1;
	assert_int_equal(xf_pipe_init(&p, &cfg, &ops, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "resolvers: invalid address 'not-an-ip'"));
	xf_pipe_free(&p);
	cfg.n_resolvers = 0;
	snprintf(cfg.weights[0].name, sizeof(cfg.weights[0].name), "nosuch");
	cfg.n_weights = 1;
	assert_int_equal(xf_pipe_init(&p, &cfg, &ops, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "detect.weights.nosuch"));
	xf_pipe_free(&p);
}

static void test_alert_once_then_worse(void **state)
{
	struct xf_pipeline p;
	char err[256];
	int i;

	(void)state;
	assert_int_equal(xf_pipe_init(&p, &cfg, &ops, NULL, err, sizeof(err)), 0);
	for (i = 0; i < 40; i++)
		query(&p, client, other, "tunnel.example", i, 5000000 + (uint64_t)i * 50);
	xf_pipe_tick(&p, 5003000);
	assert_int_equal(n_scored, 1);
	assert_int_equal(last_first_ms, 5000000); /* the flow's first packet */
	assert_int_equal(last_now_ms, 5003000);
	assert_int_equal(n_alerts, 1);
	assert_int_equal(p.alerts, 1);
	/* monitor mode: over block_threshold is would-block, nothing enforced */
	assert_string_equal(last_action, "would-block");
	assert_int_equal(n_enforce, 0);
	/* the same evidence again: scored, not re-alerted */
	for (; i < 45; i++)
		query(&p, client, other, "tunnel.example", i, 5004000 + (uint64_t)i);
	xf_pipe_tick(&p, 5005000);
	assert_int_equal(n_scored, 2);
	assert_int_equal(n_alerts, 1);
	/* enforce on an inline sensor: blocked, once */
	p.mode = XF_MODE_ENFORCE;
	p.can_enforce = 1;
	query(&p, client, other, "tunnel.example", i++, 5006000);
	xf_pipe_tick(&p, 5007000);
	assert_int_equal(n_enforce, 1);
	assert_int_equal(n_alerts, 2);
	assert_int_equal(p.alert_updates, 1);
	assert_string_equal(last_action, "blocked");
	query(&p, client, other, "tunnel.example", i++, 5008000);
	xf_pipe_tick(&p, 5009000);
	assert_int_equal(n_enforce, 1);
	xf_pipe_free(&p);
}

/* One odd name, however high it scores, does not block its whole domain
 * (detect.block_min_names); three distinct names do. */
static void test_block_min_names(void **state)
{
	struct xf_pipeline p;
	char err[256];
	int i;

	(void)state;
	cfg.threshold = 10;
	cfg.block_threshold = 10;
	assert_int_equal(cfg.block_min_names, 3);
	assert_int_equal(xf_pipe_init(&p, &cfg, &ops, NULL, err, sizeof(err)), 0);
	p.mode = XF_MODE_ENFORCE;
	p.can_enforce = 1;
	for (i = 0; i < 5; i++) /* the same name, retried */
		query(&p, client, other, "odd.example", 0, 6000000 + (uint64_t)i * 100);
	xf_pipe_tick(&p, 6001000);
	assert_int_equal(n_alerts, 1);
	assert_string_equal(last_action, "alerted");
	assert_int_equal(n_enforce, 0);
	query(&p, client, other, "odd.example", 1, 6002000);
	xf_pipe_tick(&p, 6003000);
	assert_int_equal(n_enforce, 0);
	query(&p, client, other, "odd.example", 2, 6004000);
	xf_pipe_tick(&p, 6005000);
	assert_int_equal(n_enforce, 1);
	assert_string_equal(last_action, "blocked");
	xf_pipe_free(&p);
}

/* Would-block in monitor mode, then a flood evicts the flow: switched to
 * enforce, its next query blocks the domain although the flow's counters
 * restarted (the alert came back with the flow: flowtab ghosts). */
static void test_would_block_survives_eviction(void **state)
{
	struct xf_pipeline p;
	char err[256];
	int i;

	(void)state;
	cfg.max_flows = 1;
	assert_int_equal(xf_pipe_init(&p, &cfg, &ops, NULL, err, sizeof(err)), 0);
	for (i = 0; i < 40; i++)
		query(&p, client, other, "tunnel.example", i, 7000000 + (uint64_t)i * 50);
	xf_pipe_tick(&p, 7003000);
	assert_string_equal(last_action, "would-block");
	assert_int_equal(n_alerts, 1);
	query(&p, resolver, other, "noise.example", 0, 7004000); /* evicts it */
	p.mode = XF_MODE_ENFORCE;
	p.can_enforce = 1;
	query(&p, client, other, "tunnel.example", 99, 7005000);
	xf_pipe_tick(&p, 7006000);
	assert_int_equal(n_enforce, 1);
	assert_string_equal(last_action, "blocked");
	assert_int_equal(p.alert_updates, 1); /* the same alert, not a second */
	xf_pipe_free(&p);
}

/* A plain query the kernel dropped: on its own evidence (a single-query
 * limit) it alerts; dropped by a verdict (the domain is blocked already)
 * it does not, or spoofed clients would each raise one. */
static void kernel_drop(struct xf_pipeline *p, const __u8 *cl, const char *domain, __u8 reason)
{
	struct xf_name_feat feat = {
		.name_len = 15, .labels = 3, .longest = 3, .qtype = 1, .name_hash = 0x1234
	};
	struct xf_obs o = { .client = cl,
			    .server = other,
			    .domain = domain,
			    .name = "www.x.example",
			    .feat = &feat,
			    .kind = XF_EV_DNS_QUERY,
			    .now_s = 8000,
			    .ts_ms = 8000000,
			    .long_qname = 100,
			    .kaction = XF_ACT_DROP,
			    .kreason = reason,
			    .kenforced = 1 };

	assert_true(xf_pipe_observe(p, &o) > 0);
}

static void test_verdict_hits_not_alerted(void **state)
{
	struct xf_pipeline p;
	char err[256];

	(void)state;
	assert_int_equal(xf_pipe_init(&p, &cfg, &ops, NULL, err, sizeof(err)), 0);
	kernel_drop(&p, client, "blocked.example", XF_R_VERDICT_DOMAIN);
	kernel_drop(&p, resolver, "blocked.example", XF_R_VERDICT_DOMAIN);
	xf_pipe_tick(&p, 8001000);
	assert_int_equal(n_alerts, 0);
	kernel_drop(&p, client, "enc.example", XF_R_ENC_LABEL);
	xf_pipe_tick(&p, 8002000);
	assert_int_equal(n_alerts, 1);
	assert_string_equal(last_action, "blocked");
	xf_pipe_free(&p);
}

static void test_allowlist(void **state)
{
	struct xf_pipeline p;
	char err[256];
	const char *src = NULL;

	(void)state;
	/* a single label could cover a whole TLD: refused, naming the key */
	assert_int_not_equal(xf_sensor_cfg_set(&cfg, "allow", "example", err, sizeof(err)), 0);
	assert_non_null(strstr(err, "allow"));
	assert_int_not_equal(xf_sensor_cfg_set(&cfg, "allow", "co.uk", err, sizeof(err)), 0);
	cfg.n_allow = 0;
	assert_int_equal(xf_sensor_cfg_set(&cfg, "allow", "tunnel.example", err, sizeof(err)), 0);
	assert_int_equal(xf_pipe_init(&p, &cfg, &ops, NULL, err, sizeof(err)), 0);
	assert_string_equal(xf_pipe_allowed(&p, "tunnel.example", &src), "tunnel.example");
	assert_string_equal(src, "config");
	assert_null(xf_pipe_allowed(&p, "nottunnel.example", NULL));
	assert_null(xf_pipe_allowed(&p, "tunnel.example.evil", NULL));
	/* the shipped list is there too */
	assert_non_null(xf_pipe_allowed(&p, "in-addr.arpa", &src));
	assert_non_null(strstr(src, "shipped:"));
	for (int i = 0; i < 40; i++) {
		query(&p, client, other, "tunnel.example", i, 1000000 + (uint64_t)i);
		query(&p, client, other, "tunnel.other", i, 1000000 + (uint64_t)i);
	}
	xf_pipe_tick(&p, 1001000);
	assert_int_equal(n_allow, 1);
	assert_string_equal(last_entry, "tunnel.example");
	/* the entry hides its own domain only */
	assert_int_equal(n_scored, 1);
	assert_int_equal(n_alerts, 1);
	xf_pipe_free(&p);
}

/* A short random name, as a flood sends: nothing a flow detector scores. */
static void flood_query(struct xf_pipeline *p, uint32_t cl, const char *domain, uint32_t n,
			uint64_t ms)
{
	struct xf_name_feat feat = { 0 };
	__u8 addr[16] = { [10] = 0xff, [11] = 0xff, 10, 203 };
	struct xf_obs o = { 0 };
	char name[64];

	addr[14] = (__u8)(cl >> 8);
	addr[15] = (__u8)cl;
	snprintf(name, sizeof(name), "r%07x.%s", n, domain);
	feat.name_len = (__u16)strlen(name);
	feat.labels = 3;
	feat.longest = 8;
	feat.entropy = 2800;
	feat.qtype = 1;
	feat.name_hash = 0x9e3779b97f4a7c15ULL * (uint64_t)(n + 1) + 0x632be59bd9b4e019ULL;
	o.client = addr;
	o.server = resolver;
	o.domain = domain;
	o.name = name;
	o.feat = &feat;
	o.kind = XF_EV_DNS_QUERY;
	o.now_s = (uint32_t)(ms / 1000);
	o.ts_ms = ms;
	o.long_qname = 100;
	assert_true(xf_pipe_observe(p, &o) > 0);
	/* the resolver's answer: NXDOMAIN */
	o.response = 1;
	o.kind = XF_EV_DNS_RESPONSE;
	o.client = addr;
	o.server = resolver;
	feat.dns_flags = 0x8183;
	assert_true(xf_pipe_observe(p, &o) > 0);
}

#define FLOOD_CLIENTS 2500
#define FLOOD_PER_CLIENT 10 /* 25000 names: over detect.flood_names (20000) */

/* Each of FLOOD_CLIENTS clients asks FLOOD_PER_CLIENT fresh names, under
 * domain(c) for client c, all within 2.5 s from t0_ms. */
static void flood(struct xf_pipeline *p, const char *(*domain)(uint32_t c), uint64_t t0_ms,
		  uint32_t base)
{
	for (uint32_t k = 0; k < FLOOD_PER_CLIENT; k++)
		for (uint32_t c = 0; c < FLOOD_CLIENTS; c++) {
			uint32_t i = k * FLOOD_CLIENTS + c;

			flood_query(p, c, domain(c), base + i, t0_ms + i / 10);
		}
}

static const char *one_domain(uint32_t c)
{
	(void)c;
	return "victim.example";
}

static const char *many_domains(uint32_t c)
{
	static char d[100][32];

	snprintf(d[c % 100], sizeof(d[0]), "site%02u.example", c % 100);
	return d[c % 100];
}

static void test_flood_one_alert(void **state)
{
	struct xf_pipeline p;
	char err[256];

	(void)state;
	assert_int_equal(cfg.flood_names, 20000);
	assert_int_equal(cfg.flood_clients, 20);
	assert_int_equal(xf_pipe_init(&p, &cfg, &ops, NULL, err, sizeof(err)), 0);
	flood(&p, one_domain, 7000000, 0);
	xf_pipe_tick(&p, 7030000);
	/* one alert, for the domain; none per client x domain flow */
	assert_int_equal(n_dom_alerts, 1);
	assert_int_equal(n_alerts, 0);
	assert_int_equal(p.alerts, 1);
	assert_int_equal(p.domain_alerts, 1);
	assert_int_equal(n_scored, FLOOD_CLIENTS);
	assert_string_equal(last_dom_domain, "victim.example");
	assert_string_equal(last_action, "alerted");
	assert_null(strstr(last_dom_json, "\"source\""));
	assert_non_null(strstr(last_dom_json, "\"scope\":\"domain\""));
	{
		/* the sketches: 2500 clients and 25000 names, within 3 standard
		 * errors (13 % and 6.5 %) */
		const char *c = strstr(last_dom_json, "\"clients\":{\"estimated\":");
		const char *n = strstr(last_dom_json, "\"distinct_names\":");
		double est;

		assert_non_null(c);
		assert_non_null(n);
		est = strtod(c + strlen("\"clients\":{\"estimated\":"), NULL);
		assert_true(est > 2500 * 0.6 && est < 2500 * 1.4);
		est = strtod(n + strlen("\"distinct_names\":"), NULL);
		assert_true(est > 25000 * 0.8 && est < 25000 * 1.2);
	}
	assert_non_null(strstr(last_dom_json, "\"samples\":[\"10.203.0.0\",\"10.203.0.1\""));
	assert_non_null(strstr(last_dom_json, "\"name\":\"DNS flood: random-subdomain flood\""));
	assert_non_null(strstr(last_dom_json, "\"registered_domain\":\"victim.example\""));
	assert_non_null(strstr(last_dom_json, "\"queries\":25000,"));
	assert_non_null(strstr(last_dom_json, "\"nxdomain\":25000}"));
	/* more of the same in the window: no second alert; the same id */
	{
		char id[64];

		snprintf(id, sizeof(id), "%s", last_dom_id);
		flood(&p, one_domain, 7031000, 25000);
		xf_pipe_tick(&p, 7062000);
		assert_int_equal(n_dom_alerts, 1);
		/* ten times the names: critical, an update under the same id */
		for (uint32_t b = 50000; b < 250000; b += 25000)
			flood(&p, one_domain, 7063000, b);
		xf_pipe_tick(&p, 7100000);
		assert_int_equal(n_dom_alerts, 2);
		assert_int_equal(last_dom_rev, 2);
		assert_string_equal(last_dom_id, id);
		assert_int_equal(p.alert_updates, 1);
		/* the next window: a new alert, a new id */
		flood(&p, one_domain, 7000000 + 301000, 300000);
		xf_pipe_tick(&p, 7000000 + 340000);
		assert_int_equal(n_dom_alerts, 3);
		assert_int_equal(last_dom_rev, 1);
		assert_string_not_equal(last_dom_id, id);
	}
	assert_int_equal(n_alerts, 0);
	assert_int_equal(n_enforce, 0);
	xf_pipe_free(&p);
}

/* The same names and clients over 100 domains: 250 names each, no flood. */
static void test_flood_spread(void **state)
{
	struct xf_pipeline p;
	char err[256];

	(void)state;
	assert_int_equal(xf_pipe_init(&p, &cfg, &ops, NULL, err, sizeof(err)), 0);
	flood(&p, many_domains, 7000000, 0);
	xf_pipe_tick(&p, 7030000);
	assert_int_equal(n_dom_alerts, 0);
	assert_int_equal(n_alerts, 0);
	assert_int_equal(p.alerts, 0);
	xf_pipe_free(&p);
	/* and lower thresholds make each of them one (the test can fail);
	 * with room for the sketches' error */
	cfg.flood_names = 150;
	cfg.flood_clients = 10;
	assert_int_equal(xf_pipe_init(&p, &cfg, &ops, NULL, err, sizeof(err)), 0);
	flood(&p, many_domains, 7000000, 0);
	xf_pipe_tick(&p, 7030000);
	assert_int_equal(n_dom_alerts, 100);
	xf_pipe_free(&p);
}

static void test_flood_allowlisted(void **state)
{
	struct xf_pipeline p;
	char err[256];

	(void)state;
	assert_int_equal(xf_sensor_cfg_set(&cfg, "allow", "victim.example", err, sizeof(err)), 0);
	assert_int_equal(xf_pipe_init(&p, &cfg, &ops, NULL, err, sizeof(err)), 0);
	flood(&p, one_domain, 7000000, 0);
	xf_pipe_tick(&p, 7030000);
	assert_int_equal(n_dom_alerts, 0);
	assert_int_equal(p.alerts, 0);
	assert_string_equal(last_entry, "victim.example");
	xf_pipe_free(&p);
}

/* detect.flood_block: off, a flood in enforce mode is only alerted; on, it
 * is blocked (once), and would-block in monitor mode. */
static void test_flood_block(void **state)
{
	struct xf_pipeline p;
	char err[256];

	(void)state;
	assert_int_equal(xf_pipe_init(&p, &cfg, &ops, NULL, err, sizeof(err)), 0);
	p.mode = XF_MODE_ENFORCE;
	p.can_enforce = 1;
	flood(&p, one_domain, 7000000, 0);
	xf_pipe_tick(&p, 7030000);
	assert_int_equal(n_dom_alerts, 1);
	assert_string_equal(last_action, "alerted");
	assert_int_equal(n_enforce, 0);
	xf_pipe_free(&p);

	assert_int_equal(xf_sensor_cfg_set(&cfg, "detect.flood_block", "true", err, sizeof(err)),
			 0);
	assert_int_equal(xf_pipe_init(&p, &cfg, &ops, NULL, err, sizeof(err)), 0);
	flood(&p, one_domain, 7000000, 0);
	xf_pipe_tick(&p, 7030000);
	assert_int_equal(n_dom_alerts, 2);
	assert_string_equal(last_action, "would-block");
	p.mode = XF_MODE_ENFORCE;
	p.can_enforce = 1;
	flood(&p, one_domain, 7031000, 25000);
	xf_pipe_tick(&p, 7062000);
	assert_int_equal(n_dom_alerts, 3);
	assert_string_equal(last_action, "blocked");
	assert_int_equal(n_enforce, 1);
	flood(&p, one_domain, 7063000, 50000);
	xf_pipe_tick(&p, 7094000);
	assert_int_equal(n_enforce, 1);
	xf_pipe_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_marks, setup),
		cmocka_unit_test_setup(test_bad_config, setup),
		cmocka_unit_test_setup(test_alert_once_then_worse, setup),
		cmocka_unit_test_setup(test_block_min_names, setup),
		cmocka_unit_test_setup(test_would_block_survives_eviction, setup),
		cmocka_unit_test_setup(test_verdict_hits_not_alerted, setup),
		cmocka_unit_test_setup(test_allowlist, setup),
		cmocka_unit_test_setup(test_flood_one_alert, setup),
		cmocka_unit_test_setup(test_flood_spread, setup),
		cmocka_unit_test_setup(test_flood_allowlisted, setup),
		cmocka_unit_test_setup(test_flood_block, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
