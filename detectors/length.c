// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * length.c - long names and long labels. Tunnels pack as many bytes into
 * each query as DNS allows (labels near 63, names well past 100), while
 * ordinary names, CDN names included, average under 40 characters.
 */
#include "detector.h"

static void length_score(const struct xf_flow_view *f, const struct xf_det_params *p,
			 struct xf_det_result *r)
{
	double mean, conf;

	(void)p;
	if (!f->queries)
		return;
	mean = (double)f->qname_bytes / (double)f->queries;
	/* one long name is a CDN or an antivirus lookup; a stream of them is not */
	conf = xf_ramp((double)f->queries, 2, 12);
	r->score = 100.0 * conf *
		   (0.7 * xf_ramp(mean, 45, 110) + 0.3 * xf_ramp(f->max_label, 30, 60));
	xf_ev_add(r, "mean_qname_len", mean);
	xf_ev_add(r, "max_qname_len", f->max_name_len);
	xf_ev_add(r, "max_label_len", f->max_label);
	xf_ev_add(r, "long_ratio", (double)f->long_queries / (double)f->queries);
	xf_ev_add(r, "queries", (double)f->queries);
}

const struct xf_detector xf_det_length = {
	.name = "length",
	.rule = "DNS tunnel: long names",
	.weight = 0.8,
	.score = length_score,
};
