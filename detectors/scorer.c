// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * scorer.c - combine detector scores into one 0-100 score and a severity.
 *
 * Scores combine as independent evidence ("noisy OR"): each weighted score
 * s_i*w_i/100 is a probability-like belief, and the flow's score is
 * 100 * (1 - prod(1 - b_i)). Two medium signals then outrank one, no
 * single weak detector can reach the top alone, and the result stays in
 * 0-100 without renormalising when detectors are added.
 */
#include <string.h>
#include "detector.h"

const char *xf_severity_name(enum xf_severity s)
{
	static const char *const n[] = { "none", "low", "medium", "high", "critical" };

	return s <= XF_SEV_CRITICAL ? n[s] : "none";
}

static enum xf_severity severity_of(double score)
{
	if (score >= 85)
		return XF_SEV_CRITICAL;
	if (score >= 65)
		return XF_SEV_HIGH;
	if (score >= 40)
		return XF_SEV_MEDIUM;
	if (score >= 20)
		return XF_SEV_LOW;
	return XF_SEV_NONE;
}

/*
 * Noisy OR over the detectors of one scope: run(d, r) fills r for a
 * detector of that scope and returns 0, or returns -1 for one of the other
 * scope (its slot stays at score 0, weight kept, so slots match the registry).
 */
typedef int (*run_fn)(const struct xf_detector *d, const void *view,
		      const struct xf_det_params *p, struct xf_det_result *r);

static void combine(run_fn run, const void *view, const struct xf_det_params *p,
		    const double *weights, struct xf_score *out)
{
	double keep = 1.0, best = -1.0;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < xf_n_detectors; i++) {
		const struct xf_detector *d = xf_detectors[i];
		struct xf_det_result *r = &out->det[i];
		double w = weights ? weights[i] : d->weight, b;

		out->weight[i] = w;
		if (run(d, view, p, r))
			continue;
		if (r->score < 0)
			r->score = 0;
		if (r->score > 100)
			r->score = 100;
		b = r->score * w / 100.0;
		if (b > 1)
			b = 1;
		keep *= 1.0 - b;
		if (b > best) {
			best = b;
			out->top = i;
		}
	}
	out->score = 100.0 * (1.0 - keep);
	out->severity = severity_of(out->score);
}

static int run_flow(const struct xf_detector *d, const void *view, const struct xf_det_params *p,
		    struct xf_det_result *r)
{
	if (!d->score)
		return -1;
	d->score(view, p, r);
	return 0;
}

static int run_domain(const struct xf_detector *d, const void *view,
		      const struct xf_det_params *p, struct xf_det_result *r)
{
	if (!d->score_domain)
		return -1;
	d->score_domain(view, p, r);
	return 0;
}

void xf_score_flow(const struct xf_flow_view *f, const struct xf_det_params *p,
		   const double *weights, struct xf_score *out)
{
	combine(run_flow, f, p, weights, out);
}

void xf_score_domain(const struct xf_domain_view *d, const struct xf_det_params *p,
		     const double *weights, struct xf_score *out)
{
	combine(run_domain, d, p, weights, out);
}
