// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nxdomain.c - payload-sized names that go unanswered. One-way
 * exfiltration needs no answer: the attacker's server logs each name and
 * replies NXDOMAIN. Unanswered names are also every DNSBL lookup of a clean
 * address, reverse lookups of unnamed hosts and a cluster's search-domain
 * expansion; those names are short, or repeat. So the NXDOMAIN share counts
 * only when the names left of the registered domain are long enough to
 * carry data (16 bytes and up, fully from 40) and mostly unique.
 */
#include "detector.h"

static void nxdomain_score(const struct xf_flow_view *f, const struct xf_det_params *p,
			   struct xf_det_result *r)
{
	double ratio, sub_mean, uniq;

	(void)p;
	if (!f->queries || !f->responses)
		return;
	ratio = (double)f->nxdomain / (double)f->responses;
	if (ratio > 1)
		ratio = 1;
	sub_mean = xf_sub_bytes(f) / (double)f->queries;
	uniq = xf_unique_ratio(f);
	r->score = 100.0 * xf_ramp(ratio, 0.3, 0.9) * xf_ramp(sub_mean, 16, 40) *
		   xf_ramp(uniq, 0.5, 0.9) * xf_ramp((double)f->responses, 3, 10);
	xf_ev_add(r, "nxdomain_ratio", ratio);
	xf_ev_add(r, "nxdomain", (double)f->nxdomain);
	xf_ev_add(r, "responses", (double)f->responses);
	xf_ev_add(r, "mean_subdomain_len", sub_mean);
	xf_ev_add(r, "unique_ratio", uniq);
}

const struct xf_detector xf_det_nxdomain = {
	.name = "nxdomain",
	.rule = "DNS exfiltration: unanswered payload names",
	.weight = 0.5,
	.score = nxdomain_score,
};
