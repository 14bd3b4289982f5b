/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * pipeline.h - the analysis shared by the live sensor and offline replay:
 * observations into the flow table (with the resolver and bypass marks),
 * then on each tick every touched flow is scored through detectors/, the
 * allowlist is applied, the alert decision is made (one alert per client x
 * domain per window, updated only when it gets worse) and the alert built.
 * The same observations feed the domain table (sensor/domtab.c): each tick
 * also scores every touched registered domain across all its clients with
 * the domain-scope detectors (a random-subdomain flood), one alert per
 * domain per window, with no single client.
 *
 * What happens to a decision is the caller's: live writes verdicts to the
 * kernel and puts alerts in the outbox, replay prints and stores them and
 * feeds the tuning report. The clock is the caller's too: wall time live,
 * packet time in replay. No I/O here beyond the callbacks.
 */
#ifndef XF_PIPELINE_H
#define XF_PIPELINE_H

#include <stdint.h>
#include "alert.h"
#include "config.h"
#include "detector.h"
#include "domtab.h"
#include "flowtab.h"
#include "geoip.h"
#include "names.h"

/* Callbacks; any may be NULL. ctx is xf_pipeline.ctx. */
struct xf_pipe_ops {
	/* Enforce mode on an inline sensor, a score over detect.block_threshold:
	 * block the registered domain. Called once per alert; return 0 when done. */
	int (*enforce)(void *ctx, const char *domain);
	/* A new or updated alert, rec valid during the call. Return 0 when taken;
	 * < 0 leaves the flow's alert state as it was (the next tick retries). */
	int (*alert)(void *ctx, const struct xf_alert_rec *rec, const struct xf_ft_flow *f,
		     const struct xf_score *sc);
	/* Every scored flow, before the threshold: now_ms is the tick's clock,
	 * first_ms the flow's first observation (0 when unknown). */
	void (*scored)(void *ctx, const struct xf_ft_flow *f, const struct xf_score *sc,
		       uint64_t now_ms, uint64_t first_ms);
	/* A flow skipped because an allowlist entry matched its domain. */
	void (*allow_hit)(void *ctx, const char *domain, const char *entry, const char *source);
	/* The flow's window restarted since the last tick (live: reset the
	 * kernel's counters for it). */
	void (*rolled)(void *ctx, const struct xf_ft_flow *f);
	/* A new or updated domain alert (every client of one registered domain,
	 * e.g. a flood), as `alert`: 0 when taken, < 0 retries at the next tick
	 * that touches the domain. */
	int (*alert_domain)(void *ctx, const struct xf_alert_rec *rec, const struct xf_dt_domain *d,
			    const struct xf_score *sc);
};

struct xf_allowlist;
struct xf_pipe_first; /* first observation time per flow, for `scored` */

struct xf_pipeline {
	const struct xf_sensor_cfg *cfg;
	const struct xf_pipe_ops *ops;
	void *ctx;
	struct xf_ft *ft;
	struct xf_dt *dt; /* registered domain across clients */
	struct xf_allowlist *al; /* shipped entries plus the config's domains */
	struct xf_geoip *geo;
	double weights[16];
	struct xf_det_params params;
	uint8_t (*resolvers)[16];
	int n_resolvers;
	__u32 mode; /* enum xf_mode: the caller keeps it current */
	int can_enforce; /* inline (TC) attached: a verdict can block */
	char host[64]; /* observer.hostname */
	struct xf_sb sb;
	struct xf_pipe_first *first;
	uint64_t now_ms; /* the clock of the tick in progress */
	/* counters */
	/* a flow not yet alerted in its window had a query the kernel acted on
	 * (or would have): tick now, not at the next flows.tick_ms, so a bulk
	 * tunnel is reported at the query that gave it away */
	int urgent;
	uint64_t observed, obs_errors, scored, alerts, alert_updates, allow_hits, enforced;
	uint64_t domain_alerts; /* of alerts and alert_updates, the domain ones */
};

/*
 * Set up from the config: the flow table, detector weights (an unknown
 * detector in detect.weights is an error), resolver addresses, GeoIP.
 * ops and ctx may be NULL. Returns 0, or -1 with "KEY: what is wrong" (or
 * "out of memory ...") in err. xf_pipe_free() is safe after a failure.
 */
int xf_pipe_init(struct xf_pipeline *p, const struct xf_sensor_cfg *cfg,
		 const struct xf_pipe_ops *ops, void *ctx, char *err, size_t errlen);
void xf_pipe_free(struct xf_pipeline *p);

/* Is this 16-byte address a configured resolver? */
int xf_pipe_is_resolver(const struct xf_pipeline *p, const __u8 *addr);

/*
 * Count one observation. Sets o->resolver (the client is a configured
 * resolver) and o->bypass (a query to a server that is not a configured
 * resolver, from a client that is not one, when resolvers are configured).
 * Returns the flow's idx, or -1 (out of memory).
 */
int xf_pipe_observe(struct xf_pipeline *p, struct xf_obs *o);

/* The same for an observation of the flow idx that xf_pipe_observe returned
 * for this client and registered domain, while no flow was evicted since gen
 * (xf_ft_gen()). Returns idx, or -1 having counted nothing: the caller then
 * calls xf_pipe_observe. */
int xf_pipe_observe_at(struct xf_pipeline *p, uint32_t idx, uint64_t gen, struct xf_obs *o);

/* Score every flow and every domain touched since the last tick and raise
 * or update alerts. now_ms stamps them (wall clock live, packet time in
 * replay). */
void xf_pipe_tick(struct xf_pipeline *p, uint64_t now_ms);

/* The same in slices: at most max flows (and every touched domain: a few
 * per tick); returns how many flows wait for the next call (live, the ring
 * buffer is drained between slices). */
uint32_t xf_pipe_tick_budget(struct xf_pipeline *p, uint64_t now_ms, uint32_t max);

/*
 * The allowlist entry (shipped, or a domain from the config's `allow`)
 * covering this registered domain, with its source ("shipped:VERSION" or
 * "config") in *source; NULL when none does.
 */
const char *xf_pipe_allowed(const struct xf_pipeline *p, const char *domain, const char **source);

#endif /* XF_PIPELINE_H */
