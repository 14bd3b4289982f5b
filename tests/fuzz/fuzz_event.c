// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_event.c - libFuzzer target: ring buffer records, as the live loop
 * takes them (sensor/sensor.c on_event()): each decoded by xf_event_obs()
 * (sensor/ingest.c) and, when valid, counted in a fresh pipeline (flow
 * table, detectors, scorer, alert JSON) that ticks on its own clock, in
 * enforce mode on an inline sensor, so every alert and verdict path runs.
 *
 * The input is a run of records of any length, each behind a 2-byte length
 * (fuzz_formats.h); records are copied to buffers of exactly their length,
 * so a read past a short record is caught. Checked beyond the sanitizers: a
 * record shorter than struct xf_event or of another version is refused,
 * and an alert is one JSON object.
 */
#include "fuzz.h"
#include "fuzz_formats.h"
#include "ingest.h"
#include "pipeline.h"

#define WALL_MS 1700000000000ULL /* the tick clock's start */
#define MONO_TO_WALL_NS 1699990000000000000LL /* a host up for about 3 hours */

static struct xf_sensor_cfg cfg;
static struct xf_ingest_buf ibuf;
static unsigned long alerts, verdicts;

static int on_alert(void *ctx, const struct xf_alert_rec *rec, const struct xf_ft_flow *f,
		    const struct xf_score *sc)
{
	(void)ctx;
	(void)f;
	(void)sc;
	XF_FUZZ_CHECK(rec->json_len >= 2 && strlen(rec->json) == rec->json_len);
	XF_FUZZ_CHECK(rec->json[0] == '{' && rec->json[rec->json_len - 1] == '}');
	alerts++;
	return 0;
}

static int on_enforce(void *ctx, const char *domain)
{
	(void)ctx;
	XF_FUZZ_CHECK(domain && *domain);
	verdicts++;
	return 0;
}

static void on_scored(void *ctx, const struct xf_ft_flow *f, const struct xf_score *sc,
		      uint64_t now_ms, uint64_t first_ms)
{
	(void)ctx;
	(void)f;
	(void)now_ms;
	(void)first_ms;
	XF_FUZZ_CHECK(sc->score >= 0 && sc->score <= 100);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	xf_fuzz_quiet();
	xf_sensor_cfg_defaults(&cfg);
	xf_fuzz_cfg_set(&cfg, "flows.max_flows", "64"); /* small: eviction runs too */
	xf_fuzz_cfg_set(&cfg, "resolvers", "10.0.0.53,2001:db8::53");
	xf_fuzz_cfg_set(&cfg, "allow", "ok.test");
	xf_fuzz_cfg_set(&cfg, "mode", "enforce");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct xf_pipe_ops ops = { .alert = on_alert,
						.enforce = on_enforce,
						.scored = on_scored };
	struct xf_pipeline p;
	uint64_t now = WALL_MS;
	const uint8_t *rec;
	char err[512];
	size_t off = 0, n;

	if (xf_pipe_init(&p, &cfg, &ops, NULL, err, sizeof(err))) {
		dprintf(2, "fuzz_event: %s\n", err);
		abort();
	}
	p.can_enforce = 1;
	while (xf_fz_events_next(data, size, &off, &rec, &n) == 0) {
		void *copy = malloc(n ? n : 1); /* exactly the record: ASan sees past it */
		struct xf_obs o;
		int rc;

		if (!copy)
			abort();
		memcpy(copy, rec, n);
		rc = xf_event_obs(copy, n, MONO_TO_WALL_NS, cfg.kernel.long_qname, &ibuf, &o);
		if (n < sizeof(struct xf_event) || rec[0] != XF_EVENT_VERSION || rec[1] != 0)
			XF_FUZZ_CHECK(rc == -EINVAL);
		if (rc == 0) {
			XF_FUZZ_CHECK(o.name && strlen(o.name) < sizeof(ibuf.name));
			xf_pipe_observe(&p, &o);
			if (p.urgent)
				xf_pipe_tick(&p, now);
		}
		free(copy);
		now += 250;
	}
	xf_pipe_tick(&p, now + 1000);
	xf_pipe_free(&p);
	return 0;
}
