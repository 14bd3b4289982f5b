// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bypass.c - DNS sent past the configured resolvers. When an operator has
 * listed the network's resolvers, a client that sends queries elsewhere is
 * skipping the resolver's logs and policy: tunnel clients do it to talk to
 * their server directly (iodine probes for a direct path and uses it), and
 * so do scripts that carry their own resolver. Without a resolver list
 * every server is as good as another and this detector stays silent; a
 * resolver client talks to authoritative servers by design.
 *
 * Some devices have a resolver built in (media players, IoT): they would
 * raise one alert per domain they resolve, so the weight keeps bypass
 * alone below the alert threshold (0.45 x 100 < 60). It lifts a flow that
 * looks like a tunnel; set detect.weights.bypass to 0.6 or more to be told
 * of every bypassing flow.
 */
#include "detector.h"

static void bypass_score(const struct xf_flow_view *f, const struct xf_det_params *p,
			 struct xf_det_result *r)
{
	if (!p->have_resolvers || f->resolver || !f->bypass || !f->queries)
		return;
	r->score = 100.0 * xf_ramp(f->bypass, 0, 3);
	xf_ev_add(r, "bypass_queries", f->bypass);
	xf_ev_add(r, "bypass_ratio",
		  f->bypass >= f->queries ? 1.0 : f->bypass / (double)f->queries);
	xf_ev_add(r, "queries", (double)f->queries);
}

const struct xf_detector xf_det_bypass = {
	.name = "bypass",
	.rule = "DNS resolver bypass",
	.weight = 0.45,
	.score = bypass_score,
};
