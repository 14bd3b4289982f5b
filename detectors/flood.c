// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * flood.c - random-subdomain flood ("water torture"): a registered domain
 * asked for a great many distinct names by many clients in one window.
 *
 * The attack sends fresh random names under a victim's domain, so no cache
 * answers them and every one goes to the victim's authoritative servers.
 * Spread over thousands of (often spoofed) sources, each client x domain
 * flow holds a handful of short names, which no flow detector can tell from
 * browsing. This detector works on the domain scope (struct
 * xf_domain_view): every client's names summed, so the flood shows as what
 * it is, and is reported once per domain per window, not per client.
 *
 * Both thresholds must be crossed (detect.flood_names distinct names and
 * detect.flood_clients distinct clients): many names from few clients is a
 * tunnel or a scanner, for the flow detectors to judge; many clients asking
 * a few names is a popular site. At the thresholds the score is 70 (high,
 * over the default detect.threshold), rising to 100 at ten times the names.
 * NXDOMAIN and the share of unique names are evidence, not conditions: a
 * victim that no longer answers gives SERVFAIL or nothing at all.
 */
#include "detector.h"

static void flood_score(const struct xf_domain_view *d, const struct xf_det_params *p,
			struct xf_det_result *r)
{
	double names = p->flood_names ? p->flood_names : 1;
	double clients = p->flood_clients ? p->flood_clients : 1;

	if (!d->queries && !d->responses)
		return;
	if (d->distinct < names || d->clients < clients)
		return;
	r->score = 70.0 + 30.0 * xf_ramp(d->distinct, names, 10 * names);
	xf_ev_add(r, "distinct_names", d->distinct);
	xf_ev_add(r, "clients", d->clients);
	xf_ev_add(r, "queries", (double)d->queries);
	xf_ev_add(r, "nxdomain_ratio",
		  d->responses ? (double)d->nxdomain / (double)d->responses : 0);
	xf_ev_add(r, "names_per_client", d->distinct / d->clients);
	xf_ev_add(r, "threshold_names", names);
	xf_ev_add(r, "threshold_clients", clients);
}

const struct xf_detector xf_det_flood = {
	.name = "flood",
	.rule = "DNS flood: random-subdomain flood",
	.weight = 1.0,
	.score_domain = flood_score,
};
