// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_pipeline.c - sensor/pipeline.c: the resolver and bypass marks on
 * observations, the detector parameters it fills, and what a tick does
 * with a flow: scored (before the threshold), skipped by the allowlist, an
 * alert once, updated only when it got worse, would-block in monitor mode,
 * enforce called once in enforce mode on an inline sensor.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "pipeline.h"

static struct xf_sensor_cfg cfg;
static int n_scored, n_alerts, n_allow, n_enforce;
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

static const struct xf_pipe_ops ops = {
	.enforce = on_enforce,
	.alert = on_alert,
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
	n_scored = n_alerts = n_allow = n_enforce = 0;
	last_first_ms = last_now_ms = 0;
	last_action[0] = last_entry[0] = 0;
	return 0;
}

/* An encoded-looking query: long base32 label, distinct each time. */
static void query(struct xf_pipeline *p, const __u8 *cl, const __u8 *srv, const char *domain,
		  int i, uint64_t ms)
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
	struct xf_obs o = { .client = client, .server = other, .domain = "example.com",
			    .name = "www.example.com", .feat = &feat, .kind = XF_EV_DNS_QUERY,
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_marks, setup),
		cmocka_unit_test_setup(test_bad_config, setup),
		cmocka_unit_test_setup(test_alert_once_then_worse, setup),
		cmocka_unit_test_setup(test_block_min_names, setup),
		cmocka_unit_test_setup(test_allowlist, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
