// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pipeline.c - observe, score, decide, build: the analysis the live loop
 * and replay share.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "allowlist.h"
#include "control.h"
#include "pipeline.h"
#include "hash.h"

/* First observation time of the flow held in each flow table slot. A slot
 * is reused after an eviction, so the owner's hash is kept with it. */
struct xf_pipe_first {
	uint64_t owner;
	uint64_t ms;
};

static int load_allowlist(struct xf_pipeline *p, char *err, size_t errlen);

static int parse_resolvers(struct xf_pipeline *p, char *err, size_t errlen)
{
	const struct xf_sensor_cfg *c = p->cfg;

	for (int i = 0; i < c->n_resolvers; i++) {
		struct in_addr a4;
		uint8_t *a = p->resolvers[p->n_resolvers];

		if (inet_pton(AF_INET, c->resolvers[i], &a4) == 1) {
			memset(a, 0, 10);
			a[10] = a[11] = 0xff;
			memcpy(a + 12, &a4, 4);
		} else if (inet_pton(AF_INET6, c->resolvers[i], a) != 1) {
			snprintf(err, errlen, "resolvers: invalid address '%s'", c->resolvers[i]);
			return -1;
		}
		p->n_resolvers++;
	}
	return 0;
}

static int set_weights(struct xf_pipeline *p, char *err, size_t errlen)
{
	const struct xf_sensor_cfg *c = p->cfg;

	for (int i = 0; i < xf_n_detectors; i++) {
		p->weights[i] = xf_detectors[i]->weight;
		for (int w = 0; w < c->n_weights; w++)
			if (!strcmp(c->weights[w].name, xf_detectors[i]->name))
				p->weights[i] = c->weights[w].weight;
	}
	for (int w = 0; w < c->n_weights; w++)
		if (!xf_detector_find(c->weights[w].name)) {
			snprintf(err, errlen, "detect.weights.%s: no such detector",
				 c->weights[w].name);
			return -1;
		}
	return 0;
}

int xf_pipe_init(struct xf_pipeline *p, const struct xf_sensor_cfg *cfg,
		 const struct xf_pipe_ops *ops, void *ctx, char *err, size_t errlen)
{
	static const struct xf_pipe_ops none;
	struct xf_ft_cfg fc = {
		.max_flows = cfg->max_flows,
		.max_details = cfg->max_flows / 16 + 1024,
		.window_s = cfg->window_s,
	};
	struct xf_dt_cfg dc = {
		.max_domains = cfg->max_domains,
		.window_s = cfg->window_s,
	};
	char gerr[512];

	memset(p, 0, sizeof(*p));
	p->cfg = cfg;
	p->ops = ops ? ops : &none;
	p->ctx = ctx;
	p->mode = cfg->mode;
	p->resolvers = calloc(XF_CFG_LIST_MAX, 16);
	p->ft = xf_ft_new(&fc);
	p->dt = xf_dt_new(&dc);
	/* calloc'd: pages of slots never used are never mapped */
	if (p->ops->scored)
		p->first = calloc((size_t)cfg->max_flows + 1, sizeof(*p->first));
	if (!p->resolvers || !p->ft || !p->dt || (p->ops->scored && !p->first)) {
		snprintf(err, errlen, "out of memory for %u flows and %u domains", cfg->max_flows,
			 cfg->max_domains);
		return -1;
	}
	if (parse_resolvers(p, err, errlen) || set_weights(p, err, errlen) ||
	    load_allowlist(p, err, errlen))
		return -1;
	p->params.resolver_scale = cfg->resolver_scale;
	p->params.window_s = cfg->window_s;
	p->params.have_resolvers = p->n_resolvers > 0;
	p->params.flood_names = cfg->flood_names;
	p->params.flood_clients = cfg->flood_clients;
	if (cfg->geoip_city[0] || cfg->geoip_asn[0]) {
		p->geo = xf_geoip_open(cfg->geoip_city, cfg->geoip_asn, gerr, sizeof(gerr));
		if (!p->geo) {
			snprintf(err, errlen, "geoip: %s", gerr);
			return -1;
		}
	}
	gethostname(p->host, sizeof(p->host) - 1);
	return 0;
}

void xf_pipe_free(struct xf_pipeline *p)
{
	xf_geoip_close(p->geo);
	xf_ft_free(p->ft);
	xf_dt_free(p->dt);
	p->dt = NULL;
	xf_allowlist_free(p->al);
	p->al = NULL;
	xf_sb_free(&p->sb);
	free(p->resolvers);
	free(p->first);
	p->geo = NULL;
	p->ft = NULL;
	p->resolvers = NULL;
	p->first = NULL;
}

int xf_pipe_is_resolver(const struct xf_pipeline *p, const __u8 *a)
{
	for (int i = 0; i < p->n_resolvers; i++)
		if (!memcmp(p->resolvers[i], a, 16))
			return 1;
	return 0;
}

/*
 * The allowlist: the shipped list plus the config's domain entries
 * (sensor/allowlist.c). A flow is exempt when an entry covers its
 * registered domain; an entry for one domain never covers another.
 */
const char *xf_pipe_allowed(const struct xf_pipeline *p, const char *domain, const char **source)
{
	const struct xf_allow_entry *e = xf_allowlist_match(p->al, domain, domain);

	if (!e)
		return NULL;
	if (source)
		*source = e->source;
	return e->pattern;
}

static int load_allowlist(struct xf_pipeline *p, char *err, size_t errlen)
{
	const struct xf_sensor_cfg *c = p->cfg;

	p->al = xf_allowlist_new();
	if (!p->al) {
		snprintf(err, errlen, "out of memory for the allowlist");
		return -1;
	}
	for (int i = 0; i < c->n_allow; i++) {
		struct xf_target t;
		char why[160];

		/* addresses and sni:/host: entries live in the kernel maps only */
		if (xf_target_parse(c->allow[i], &t) || t.kind != XF_T_DOMAIN)
			continue;
		if (xf_allowlist_add(p->al, t.name, "config")) {
			if (xf_allowlist_check(t.name, why, sizeof(why)))
				snprintf(err, errlen, "allow: '%s': %s", c->allow[i], why);
			else
				snprintf(err, errlen, "allow: '%s': cannot add", c->allow[i]);
			return -1;
		}
	}
	return 0;
}

static uint64_t owner_of(const __u8 *client, const char *domain)
{
	/* never 0: 0 is an empty slot */
	return xf_pair_key(xf_hash_bytes(client, 16), xf_hash_bytes(domain, strlen(domain))) | 1;
}

static void mark_obs(struct xf_pipeline *p, struct xf_obs *o)
{
	o->resolver = xf_pipe_is_resolver(p, o->client);
	o->bypass = p->n_resolvers && !o->response && !o->resolver && o->server &&
		    (o->kind == XF_EV_DNS_QUERY || !o->kind) && !xf_pipe_is_resolver(p, o->server);
}

static void observed(struct xf_pipeline *p, const struct xf_obs *o, int idx)
{
	p->observed++;
	if (o->kaction && !o->response && !xf_ft_alert_at(p->ft, (uint32_t)idx)->rev)
		p->urgent = 1;
}

int xf_pipe_observe_at(struct xf_pipeline *p, uint32_t idx, uint64_t gen, struct xf_obs *o)
{
	int r;

	mark_obs(p, o);
	r = xf_ft_observe_at(p->ft, idx, gen, o);
	if (r < 0)
		return r;
	xf_dt_observe(p->dt, o);
	observed(p, o, r);
	/* p->first[idx] needs nothing: the slot still holds the flow whose
	 * first observation set it (no eviction since gen) */
	return r;
}

int xf_pipe_observe(struct xf_pipeline *p, struct xf_obs *o)
{
	int idx;

	mark_obs(p, o);
	xf_dt_observe(p->dt, o);
	idx = xf_ft_observe(p->ft, o);
	if (idx < 0) {
		p->obs_errors++;
		return idx;
	}
	observed(p, o, idx);
	if (p->first && (uint32_t)idx <= p->cfg->max_flows) {
		struct xf_pipe_first *f = &p->first[idx];
		uint64_t owner = owner_of(o->client, o->domain);
		uint64_t ms = o->ts_ms ? o->ts_ms : (uint64_t)o->now_s * 1000;

		if (f->owner != owner) {
			f->owner = owner;
			f->ms = ms;
		}
	}
	return idx;
}

static uint64_t first_ms(const struct xf_pipeline *p, const struct xf_ft_flow *f)
{
	if (!p->first || f->idx > p->cfg->max_flows ||
	    p->first[f->idx].owner != owner_of(f->client, f->domain))
		return 0;
	return p->first[f->idx].ms;
}

/* A verdict blocks the whole registered domain for every client, so a DNS
 * flow needs more than one odd name behind its score (detect.block_min_names);
 * the kernel's single-query limits still drop that one name. SNI and Host
 * flows name one server each and carry no such count. */
static int enough_names(const struct xf_sensor_cfg *c, const struct xf_ft_flow *f)
{
	if (f->kind == XF_EV_SNI || f->kind == XF_EV_HOST)
		return 1;
	return f->view.distinct + 0.5 >= (double)c->block_min_names;
}

/*
 * The kernel acted on evidence of its own: a single-query limit, a rate
 * limit, an IP block. A query dropped by a verdict is that verdict at work,
 * and the alert that wrote it stands; an alert for every client that still
 * asks would let spoofed sources turn one blocked domain into thousands
 * (the kernel counts those drops, and a flow's own score still alerts).
 */
static int kernel_evidence(const struct xf_ft_flow *f)
{
	return f->kaction && f->kreason != XF_R_VERDICT_DOMAIN && f->kreason != XF_R_VERDICT_SNI &&
	       f->kreason != XF_R_VERDICT_HOST;
}

static enum xf_alert_action decide(struct xf_pipeline *p, struct xf_ft_flow *f,
				   const struct xf_score *sc)
{
	const struct xf_sensor_cfg *c = p->cfg;
	int kernel = kernel_evidence(f);
	/* once scored for a verdict in this window, the flow stays so: a switch
	 * to enforce blocks what monitor mode called would-block, even when a
	 * flood evicted the flow and its counters restarted (flowtab ghosts) */
	int block = (sc->score >= c->block_threshold && enough_names(c, f)) || f->alert->blockable;

	f->alert->blockable = block;

	/* a tap alone sees copies: it can only say what it would have blocked */
	if (p->mode == XF_MODE_ENFORCE && p->can_enforce && block) {
		if (f->alert->action < XF_AA_BLOCKED && p->ops->enforce &&
		    !p->ops->enforce(p->ctx, f->domain))
			p->enforced++;
		return XF_AA_BLOCKED;
	}
	if (kernel && f->kenforced)
		return XF_AA_BLOCKED;
	if (kernel || block)
		return XF_AA_WOULD_BLOCK;
	return XF_AA_ALERTED;
}

static void on_flow(void *ctx, struct xf_ft_flow *f)
{
	struct xf_pipeline *p = ctx;
	const struct xf_sensor_cfg *c = p->cfg;
	const char *entry, *source = "config";
	struct xf_score sc;
	struct xf_alert_rec rec;
	struct xf_geo geo, *g = NULL;
	enum xf_alert_action act;
	struct xf_alert_in in;
	int kernel = kernel_evidence(f), sev;

	if (f->rolled && p->ops->rolled)
		p->ops->rolled(p->ctx, f);
	entry = xf_pipe_allowed(p, f->domain, &source);
	if (entry) {
		p->allow_hits++;
		if (p->ops->allow_hit)
			p->ops->allow_hit(p->ctx, f->domain, entry, source);
		return;
	}
	/* every kind of flow: DNS, and TLS SNI or HTTP Host ones */
	xf_score_flow(&f->view, &p->params, p->weights, &sc);
	p->scored++;
	if (p->ops->scored)
		p->ops->scored(p->ctx, f, &sc, p->now_ms, first_ms(p, f));
	if (sc.score < c->threshold && !kernel && !f->alert->blockable)
		return;
	act = decide(p, f, &sc);
	sev = kernel && sc.severity < XF_SEV_HIGH ? XF_SEV_HIGH : sc.severity;
	/* one alert per client x domain per window: update only when it got
	 * worse, so more evidence of the same does not spam */
	if (f->alert->rev && sev <= f->alert->severity && act <= f->alert->action)
		return;
	if (f->server && p->geo) {
		char ip[48];

		xf_addr_text(f->server, ip, sizeof(ip));
		if (xf_geoip_lookup(p->geo, ip, &geo) > 0)
			g = &geo;
	}
	in = (struct xf_alert_in){
		.flow = f,
		.score = &sc,
		.action = act,
		.rev = f->alert->rev + 1u,
		.now_ms = (int64_t)p->now_ms,
		.window_s = c->window_s,
		.mode = p->mode == XF_MODE_ENFORCE ? "enforce" : "monitor",
		.observer = p->host,
		.geo = g,
	};
	if (xf_alert_build(&in, &p->sb, &rec))
		return;
	if (p->ops->alert && p->ops->alert(p->ctx, &rec, f, &sc) < 0)
		return;
	if (f->alert->rev)
		p->alert_updates++;
	else
		p->alerts++;
	f->alert->rev++;
	f->alert->severity = (uint8_t)sev;
	f->alert->action = (uint8_t)act;
}

/*
 * A domain alert: one per registered domain per window, across every
 * client. It blocks only with detect.flood_block: a flood names its victim,
 * and dropping every query for the victim's domain finishes what the
 * attacker started; by default it is reported, and the kernel's own limits
 * keep acting on each query.
 */
static enum xf_alert_action decide_domain(struct xf_pipeline *p, const struct xf_dt_domain *d)
{
	if (!p->cfg->flood_block)
		return XF_AA_ALERTED;
	if (p->mode == XF_MODE_ENFORCE && p->can_enforce) {
		if (d->alert->action < XF_AA_BLOCKED && p->ops->enforce &&
		    !p->ops->enforce(p->ctx, d->domain))
			p->enforced++;
		return XF_AA_BLOCKED;
	}
	return XF_AA_WOULD_BLOCK;
}

static void on_domain(void *ctx, struct xf_dt_domain *d)
{
	struct xf_pipeline *p = ctx;
	const char *entry, *source = "config";
	struct xf_alert_dom_in in;
	struct xf_alert_rec rec;
	enum xf_alert_action act;
	struct xf_score sc;

	xf_score_domain(&d->view, &p->params, p->weights, &sc);
	if (sc.score <= 0 || sc.score < p->cfg->threshold)
		return;
	/* looked up only for a domain that would alert: most never do */
	entry = xf_pipe_allowed(p, d->domain, &source);
	if (entry) {
		p->allow_hits++;
		if (p->ops->allow_hit)
			p->ops->allow_hit(p->ctx, d->domain, entry, source);
		return;
	}
	act = decide_domain(p, d);
	if (d->alert->rev && sc.severity <= d->alert->severity && act <= d->alert->action)
		return;
	in = (struct xf_alert_dom_in){
		.dom = d,
		.score = &sc,
		.action = act,
		.rev = d->alert->rev + 1u,
		.now_ms = (int64_t)p->now_ms,
		.window_s = p->cfg->window_s,
		.mode = p->mode == XF_MODE_ENFORCE ? "enforce" : "monitor",
		.observer = p->host,
	};
	if (xf_alert_build_domain(&in, &p->sb, &rec))
		return;
	if (p->ops->alert_domain && p->ops->alert_domain(p->ctx, &rec, d, &sc) < 0)
		return;
	if (d->alert->rev)
		p->alert_updates++;
	else
		p->alerts++;
	p->domain_alerts++;
	d->alert->rev++;
	d->alert->severity = (uint8_t)sc.severity;
	d->alert->action = (uint8_t)act;
}

void xf_pipe_tick(struct xf_pipeline *p, uint64_t now_ms)
{
	p->now_ms = now_ms;
	p->urgent = 0;
	xf_ft_tick(p->ft, on_flow, p);
	xf_dt_tick(p->dt, on_domain, p);
}

uint32_t xf_pipe_tick_budget(struct xf_pipeline *p, uint64_t now_ms, uint32_t max)
{
	uint32_t left;

	p->now_ms = now_ms;
	p->urgent = 0;
	left = xf_ft_tick_budget(p->ft, on_flow, p, max);
	xf_dt_tick(p->dt, on_domain, p);
	return left;
}
