/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * flowtab.h - the userspace flow table: one entry per client x registered
 * domain, memory-bounded with LRU eviction, counting over a window.
 *
 * Entries are 64 bytes: clients and domains are interned (a flow holds two
 * 32-bit ids), and the parts only busy flows need (the HyperLogLog, qtype
 * buckets, sample names, last destination, tags, query timing) live in a
 * separately bounded pool of details. Hash buckets grow with what they hold
 * and the tick's list is threaded through the entries, so a million quiet
 * flows fit in 64 MiB (BENCHMARKS.md).
 *
 * The same table serves live (fed by kernel events, merged with the
 * kernel's per-CPU counters each tick) and replay (fed by every packet,
 * packet time as the clock). It does no I/O.
 */
#ifndef XF_FLOWTAB_H
#define XF_FLOWTAB_H

#include <stdint.h>
#include <linux/types.h>
#include "exfilter.h"
#include "detector.h"
#include "dnsmsg.h"

#define XF_SAMPLES 3
#define XF_SAMPLE_LEN 256

struct xf_ft;

struct xf_ft_cfg {
	uint32_t max_flows; /* LRU bound of flows */
	uint32_t max_details; /* LRU bound of details (HLL, samples) */
	uint32_t window_s; /* counting window, and one alert per flow per window */
	/* tags for one observed name (query, SNI, Host); NULL = xf_name_tags(),
	 * every detector's tag hook. Tests and tools may pass their own. */
	uint32_t (*tag)(const struct xf_name_in *n);
};

/* One query or response: from a kernel event, or a replayed packet. */
struct xf_obs {
	const __u8 *client; /* 16 bytes, IPv4 as ::ffff:a.b.c.d */
	const __u8 *server; /* 16 bytes: destination of the query */
	const char *domain; /* registered domain (libpsl), lower-case */
	__u64 kernel_rd; /* the kernel's rd_hash for this name */
	const char *name; /* presentation name, already escaped: a sample */
	const struct xf_name_feat *feat;
	int response; /* a DNS response (counts responses and NXDOMAIN) */
	int resolver; /* the client is a configured resolver */
	uint32_t now_s; /* wall-clock (or packet) seconds */
	uint64_t ts_ms; /* the same in milliseconds, for query timing; 0 = now_s */
	int bypass; /* a query to a server that is not a configured resolver */
	uint32_t long_qname; /* the kernel config's long-name threshold */
	__u8 kind; /* enum xf_ev_kind: SNI and Host name a flow, count no query */
	__u8 kaction; /* enum xf_action the kernel took or would take */
	__u8 kreason; /* enum xf_reason behind it */
	__u8 kenforced; /* the kernel applied it (enforce mode) */
	/* a response's whole message (sensor/dnsmsg.c), when it came with one */
	const struct xf_dnsmsg *msg;
};

/* Alert state kept with a flow, set by the caller. */
struct xf_ft_alert {
	uint16_t rev; /* 0 = not alerted in this window */
	uint8_t severity;
	uint8_t action : 7; /* enum xf_alert_action */
	/* scored for a verdict in this window (the pipeline's block rule), in
	 * monitor mode or before an eviction reset the flow's counters */
	uint8_t blockable : 1;
};

/* What a tick callback sees of one flow. */
struct xf_ft_flow {
	uint32_t idx; /* stable while the flow lives */
	const __u8 *client;
	const char *domain;
	__u64 kernel_rd;
	uint32_t win_start_s;
	uint32_t last_s;
	struct xf_flow_view view;
	const char *samples[XF_SAMPLES]; /* NULL-terminated when fewer */
	__u16 last_qtype;
	const __u8 *server; /* NULL when unknown */
	struct xf_ft_alert *alert; /* writable by the callback */
	int rolled; /* the window restarted since the last tick */
	__u8 kind; /* the flow's last name kind (enum xf_ev_kind) */
	__u8 kaction, kreason, kenforced; /* strongest kernel action in the window */
};

typedef void (*xf_ft_fn)(void *ctx, struct xf_ft_flow *f);

struct xf_ft_stats {
	uint64_t flows; /* live flows */
	uint64_t details; /* live details */
	uint64_t clients, domains; /* interned */
	uint64_t evicted; /* flows evicted by the LRU bound */
	uint64_t revived; /* evicted alerted flows made again in their window */
	uint64_t details_evicted;
	uint64_t observed; /* observations */
	uint64_t merged; /* kernel counter merges applied */
	uint64_t bytes; /* memory held by the table, approximately */
};

struct xf_ft *xf_ft_new(const struct xf_ft_cfg *cfg);
void xf_ft_free(struct xf_ft *ft);

/* Count one observation. Returns the flow's idx, or -1 (out of memory). */
int xf_ft_observe(struct xf_ft *ft, const struct xf_obs *o);

/*
 * The same for an observation of the flow at idx (as xf_ft_observe returned
 * it for the same client and registered domain), without looking it up:
 * replay counts a DNS answer on its query's flow. Valid only while no flow
 * was evicted since gen (xf_ft_gen() taken with idx): returns -1, having
 * done nothing, when one was; the caller then calls xf_ft_observe.
 */
int xf_ft_observe_at(struct xf_ft *ft, uint32_t idx, uint64_t gen, const struct xf_obs *o);
uint64_t xf_ft_gen(const struct xf_ft *ft);

/* Merge the kernel's counters for (client, kernel_rd), summed over CPUs
 * with HLL registers merged by max. Counters take the larger of the kernel's
 * and the table's own. Returns 1 when a flow took them, 0 when none matched. */
int xf_ft_merge_kernel(struct xf_ft *ft, const __u8 *client, __u64 kernel_rd,
		       const struct xf_flow *sum);

/* Call fn for every flow observed or merged since the last tick (flows the
 * callbacks touch wait for the next one). */
void xf_ft_tick(struct xf_ft *ft, xf_ft_fn fn, void *ctx);

/* The same, bounded: visit at most max touched flows, oldest touch first,
 * and leave the rest for the next call, so a loop can drain its ring buffer
 * between slices of a burst. Returns how many touched flows remain. */
uint32_t xf_ft_tick_budget(struct xf_ft *ft, xf_ft_fn fn, void *ctx, uint32_t max);

/* Touched flows waiting for a tick. */
uint32_t xf_ft_dirty(const struct xf_ft *ft);

/* Call fn for every live flow (reports, shutdown). */
void xf_ft_each(struct xf_ft *ft, xf_ft_fn fn, void *ctx);

void xf_ft_stats(const struct xf_ft *ft, struct xf_ft_stats *st);

/* The alert state of the flow at idx (as xf_ft_observe returned it). */
const struct xf_ft_alert *xf_ft_alert_at(const struct xf_ft *ft, uint32_t idx);

/* HyperLogLog estimate of 2^XF_HLL_BITS registers (the kernel's layout). */
double xf_hll_estimate(const __u8 *regs);

#endif /* XF_FLOWTAB_H */
