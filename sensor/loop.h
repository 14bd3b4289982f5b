/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * loop.h - one wake-up of the live sensor's event loop: drain the ring
 * buffer; go on with a tick in progress (the next step of the merge of the
 * kernel's counters, then the next slice of scoring); start a tick every
 * flows.tick_ms (mode, first merge step); flush (commit and export) every
 * store.flush_ms or store.batch alerts. No step holds the loop for long,
 * so the ring buffer is drained often whatever a tick has to do.
 * sensor.c runs it around epoll; tests/bench/bench_sensor.c runs the very
 * same code to measure what the sensor sustains.
 */
#ifndef XF_LOOP_H
#define XF_LOOP_H

#include <stdint.h>
#include "ingest.h"
#include "pipeline.h"

struct ring_buffer;

/*
 * A tick scores every flow touched since the last one, and a merge of the
 * kernel's counters touches every busy flow: thousands at once. Scored in
 * slices with the ring buffer drained between them, a burst of alerts never
 * stalls the consumer long enough to fill the ring: 512 flows that all
 * raise an alert are about 5 ms (xf_alert_build is ~9 us), and the 1 MiB ring
 * holds about 14 ms of events at 200k/s.
 */
#define XF_LOOP_SLICE 512
/* The merge of the kernel's counters goes in steps too: 2 x 1024 flows
 * (~2.5 ms) per wake-up, the ring drained in between. */
#define XF_LOOP_MERGE_BATCHES 2

struct xf_loop {
	/* set by the caller */
	struct xf_pipeline *p;
	struct ring_buffer *rb;
	struct xf_kmerge *km;
	int config_fd; /* the pinned config map: `exfilter mode` changes it */
	int verdicts_fd, ipblock_fd; /* < 0: no flag repair (xf_config_hints_sync) */
	uint32_t tick_ms, flush_ms, batch;
	/* commit the outbox and pump the sinks */
	void (*flush)(void *ctx, int64_t now_ns);
	void *ctx;
	/* state */
	int merging; /* a tick's merge is under way; its slices come after */
	uint32_t tick_left; /* touched flows a sliced tick has yet to score */
	int64_t last_tick_ns, last_flush_ns;
	uint64_t raised_at_flush; /* p->alerts + p->alert_updates at the last flush */
	/* where the time goes (CLOCK_MONOTONIC ns) */
	uint64_t ticks, slices, flushes, merged; /* merged: kernel entries read */
	int64_t merge_ns, score_ns, flush_ns;
	int64_t merge_max_ns, slice_max_ns, flush_max_ns;
};

/* Start the clocks at now_ns (CLOCK_MONOTONIC). */
void xf_loop_start(struct xf_loop *L, int64_t now_ns);

/* One wake-up at now_ns; returns the events consumed from the ring. */
int xf_loop_wake(struct xf_loop *L, int64_t now_ns);

/* How long epoll may wait: 0 while a tick has slices left. */
int xf_loop_timeout_ms(const struct xf_loop *L);

/* A tick now (mode, the whole merge, first slice), whatever the clock says. */
void xf_loop_tick(struct xf_loop *L, int64_t now_ns);

#endif /* XF_LOOP_H */
