/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * domtab.h - the domain table: one aggregate per registered domain across
 * every client, over a window, for the domain-scope detectors (a
 * random-subdomain flood shows here and in no single client x domain flow).
 *
 * An entry is a fixed-size record: query, response and NXDOMAIN counts, a
 * HyperLogLog of the query names, one of the clients, a few sample clients
 * and names. Nothing is allocated per name or per client, and the table
 * holds at most max_domains entries, least recently used evicted first: a
 * flooded domain is touched by every query, so it is never the one to go.
 *
 * Fed by the same observations as the flow table (sensor/pipeline.c), it
 * serves live and replay alike. It does no I/O.
 */
#ifndef XF_DOMTAB_H
#define XF_DOMTAB_H

#include <stdint.h>
#include "detector.h"
#include "flowtab.h"

#define XF_DT_CLIENT_SAMPLES 4
#define XF_DT_NAME_SAMPLES 3
#define XF_DT_NAME_LEN 256

struct xf_dt;

struct xf_dt_cfg {
	uint32_t max_domains; /* LRU bound */
	uint32_t window_s; /* counting window, and one alert per domain per window */
};

/* What a tick callback sees of one domain. */
struct xf_dt_domain {
	uint32_t idx; /* stable while the domain lives */
	const char *domain;
	uint32_t win_start_s;
	uint32_t last_s;
	struct xf_domain_view view;
	uint64_t qname_bytes; /* presentation bytes of the queries, summed */
	uint16_t last_qtype;
	const __u8 *clients[XF_DT_CLIENT_SAMPLES]; /* the first clients seen; NULL-terminated */
	const char *samples[XF_DT_NAME_SAMPLES]; /* the first names seen; NULL-terminated */
	struct xf_ft_alert *alert; /* writable by the callback */
};

typedef void (*xf_dt_fn)(void *ctx, struct xf_dt_domain *d);

struct xf_dt_stats {
	uint64_t domains; /* live entries */
	uint64_t evicted; /* entries evicted by the LRU bound */
	uint64_t observed;
	uint64_t bytes; /* memory the entries in use hold */
};

/* NULL with errno set on failure (max_domains 0: EINVAL). */
struct xf_dt *xf_dt_new(const struct xf_dt_cfg *cfg);
void xf_dt_free(struct xf_dt *dt);

/* Count one DNS query or response (other kinds are ignored: returns 0).
 * Returns the domain's idx (> 0), 0 when ignored. */
uint32_t xf_dt_observe(struct xf_dt *dt, const struct xf_obs *o);

/* Call fn for every domain observed since the last tick. */
void xf_dt_tick(struct xf_dt *dt, xf_dt_fn fn, void *ctx);

void xf_dt_stats(const struct xf_dt *dt, struct xf_dt_stats *st);

#endif /* XF_DOMTAB_H */
