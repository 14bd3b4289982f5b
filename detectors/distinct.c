// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * distinct.c - many distinct names under one registered domain. Every
 * tunnel query is a new name (the payload is in it), so a tunnel's distinct
 * count grows with its traffic; a client browsing a site or a CDN reuses a
 * handful. A resolver aggregates many clients: its thresholds are scaled.
 *
 * Many distinct names alone are not a tunnel: a mail server's DNSBL
 * lookups, reverse lookups and a cluster's search-domain expansion all make
 * thousands. So the weight keeps this detector below the alert threshold on
 * its own (0.4 x 100 < 60, with room for the small scores other
 * detectors give such traffic): it confirms what shape detectors see.
 */
#include "detector.h"

static void distinct_score(const struct xf_flow_view *f, const struct xf_det_params *p,
			   struct xf_det_result *r)
{
	double s = f->resolver && p->resolver_scale > 0 ? p->resolver_scale : 1.0, ratio;

	if (!f->queries)
		return;
	ratio = f->distinct / (double)f->queries;
	if (ratio > 1)
		ratio = 1; /* the sketch can overshoot a small exact count */
	r->score = 100.0 * xf_ramp(f->distinct, 20 * s, 200 * s) *
		   (0.5 + 0.5 * xf_ramp(ratio, 0.3, 0.9));
	xf_ev_add(r, "distinct_names", f->distinct);
	xf_ev_add(r, "distinct_ratio", ratio);
	xf_ev_add(r, "queries", (double)f->queries);
	xf_ev_add(r, "threshold_scale", s);
}

const struct xf_detector xf_det_distinct = {
	.name = "distinct",
	.rule = "DNS tunnel: many distinct names",
	.weight = 0.4,
	.score = distinct_score,
};
