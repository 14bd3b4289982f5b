// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * loop.c - one wake-up of the live event loop (see loop.h), shared by the
 * sensor and its benchmark so the benchmark measures the sensor's code.
 */
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "loop.h"
#include "control.h"

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void slice(struct xf_loop *L)
{
	int64_t t0 = mono_ns(), d;

	L->tick_left = xf_pipe_tick_budget(L->p, wall_ms(), XF_LOOP_SLICE);
	d = mono_ns() - t0;
	L->slices++;
	L->score_ns += d;
	if (d > L->slice_max_ns)
		L->slice_max_ns = d;
}

/* One step of the merge of the kernel's counters; the first slice when it is done. */
static void merge_step(struct xf_loop *L)
{
	int64_t t0 = mono_ns(), d;
	long n = xf_kmerge_step(L->km, L->p->ft, XF_LOOP_MERGE_BATCHES);

	if (n > 0)
		L->merged += (uint64_t)n;
	d = mono_ns() - t0;
	L->merge_ns += d;
	if (d > L->merge_max_ns)
		L->merge_max_ns = d;
	L->merging = L->km->more;
	if (!L->merging)
		slice(L);
}

static void tick_begin(struct xf_loop *L, int64_t now_ns)
{
	struct xf_config kc;
	__u32 zero = 0;

	if (!bpf_map_lookup_elem(L->config_fd, &zero, &kc))
		L->p->mode = kc.mode; /* `exfilter mode` may have changed it */
	/* a whole-config write racing a first verdict may have put back flags
	 * without XF_CF_VERDICTS: repair it */
	if (L->verdicts_fd >= 0 && L->ipblock_fd >= 0)
		xf_config_hints_sync(L->config_fd, L->verdicts_fd, L->ipblock_fd);
	L->ticks++;
	L->last_tick_ns = now_ns;
	L->km->more = 0; /* a new walk of the kernel's map */
	merge_step(L);
}

void xf_loop_tick(struct xf_loop *L, int64_t now_ns)
{
	tick_begin(L, now_ns);
	while (L->merging)
		merge_step(L);
}

static void flush(struct xf_loop *L, int64_t now_ns)
{
	int64_t t0 = mono_ns(), d;

	L->raised_at_flush = L->p->alerts + L->p->alert_updates;
	L->last_flush_ns = now_ns;
	if (L->flush)
		L->flush(L->ctx, now_ns);
	d = mono_ns() - t0;
	L->flushes++;
	L->flush_ns += d;
	if (d > L->flush_max_ns)
		L->flush_max_ns = d;
}

void xf_loop_start(struct xf_loop *L, int64_t now_ns)
{
	L->last_tick_ns = L->last_flush_ns = now_ns;
	L->raised_at_flush = L->p->alerts + L->p->alert_updates;
}

int xf_loop_wake(struct xf_loop *L, int64_t now_ns)
{
	int got = ring_buffer__consume(L->rb);

	/* the rest of a merge, of a sliced tick, or a kernel-flagged flow not
	 * alerted yet: now, not at the next tick */
	if (L->merging)
		merge_step(L);
	else if (L->tick_left || L->p->urgent)
		slice(L);
	if (!L->merging && now_ns - L->last_tick_ns >= (int64_t)L->tick_ms * 1000000LL)
		tick_begin(L, now_ns);
	/* batched: every store.flush_ms, or sooner when store.batch alerts wait */
	if (L->p->alerts + L->p->alert_updates - L->raised_at_flush >= L->batch ||
	    now_ns - L->last_flush_ns >= (int64_t)L->flush_ms * 1000000LL)
		flush(L, now_ns);
	return got;
}

int xf_loop_timeout_ms(const struct xf_loop *L)
{
	return L->tick_left || L->merging ? 0 : 200;
}
