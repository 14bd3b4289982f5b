// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * timing.c - query rate and periodicity. A beacon asks on a timer: its gaps
 * vary little (a low coefficient of variation over enough gaps), where
 * people and programs asking on demand give gaps that vary about as much as
 * they last (cv near 1 or above). Jitter of +-50% of the period, the most
 * common beacon setting, still gives a cv under 0.2; one query every 10 to
 * 30 s at random gives 0.29. A bulk tunnel instead asks as fast as it can:
 * several long unique names a second to one domain.
 *
 * Both need unique names: a health check or an update poll asks for the
 * same name on a timer, and a page load fires a burst of short ones.
 * A regular beacon with a fresh name each time (a nonce, a session id) is
 * the C2 shape itself, and alerts alone once 20 gaps back it (0.7 x 100):
 * the flow table carries gaps across windows, so a one-minute beacon
 * alerts after about 20 minutes. A burst alone stays below the threshold
 * (0.7 x 0.8 x 100 = 56): it raises what the shape detectors see.
 *
 * Gaps only mean something when they are gaps between queries. Live, the
 * kernel sends an event per query only for slow flows (kernel.event_gap_ms
 * caps a busy flow at about one a second per CPU), and those capped events
 * would look like a perfect one-second beacon. So periodicity counts only
 * when the gaps cover most of the flow's queries (iat_n + 1 of queries).
 */
#include "detector.h"

static void timing_score(const struct xf_flow_view *f, const struct xf_det_params *p,
			 struct xf_det_result *r)
{
	double uniq, qps, sub_mean, periodic, burst, s, cv, cover;

	if (!f->queries)
		return;
	s = xf_volume_scale(f, p);
	uniq = xf_unique_ratio(f);
	qps = (double)f->queries / (f->span_s > 1 ? f->span_s : 1);
	sub_mean = xf_sub_bytes(f) / (double)f->queries;
	periodic = cv = 0;
	/* (a NaN cv fails the test: no gaps to judge) */
	if (f->iat_n && f->iat_mean_s > 0 && f->iat_cv >= 0) {
		cv = f->iat_cv;
		cover = (double)(f->iat_n + 1) / (double)f->queries;
		periodic = xf_ramp(f->iat_n, 5, 20) * (1 - xf_ramp(cv, 0.3, 0.6)) *
			   xf_ramp(uniq, 0.3, 0.8) * xf_ramp(cover, 0.5, 0.9);
	}
	burst = xf_ramp(qps, 2 * s, 20 * s) * xf_ramp(sub_mean, 24, 60) * xf_ramp(uniq, 0.5, 0.9) *
		xf_ramp((double)f->queries, 5, 20);
	burst *= 0.8;
	r->score = 100.0 * (periodic > burst ? periodic : burst);
	xf_ev_add(r, "queries_per_s", qps);
	xf_ev_add(r, "iat_mean_s", f->iat_n && f->iat_mean_s > 0 ? f->iat_mean_s : 0);
	xf_ev_add(r, "iat_cv", cv);
	xf_ev_add(r, "iat_n", f->iat_n);
	xf_ev_add(r, "unique_ratio", uniq);
	xf_ev_add(r, "mean_subdomain_len", sub_mean);
	xf_ev_add(r, "periodic", periodic);
	xf_ev_add(r, "threshold_scale", s);
}

const struct xf_detector xf_det_timing = {
	.name = "timing",
	.rule = "DNS beacon: periodic or bulk queries",
	.weight = 0.7,
	.score = timing_score,
};
