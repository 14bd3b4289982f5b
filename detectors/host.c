// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * host.c - cleartext HTTP Host headers as a second signal: an IP literal
 * (no name was resolved, so DNS policy never saw it: malware droppers and
 * C2 often skip DNS this way, and so do routers, printers and many
 * appliances) and a random-looking host name (a label of 24 or more
 * characters in an encoded alphabet). Both are common enough in benign
 * traffic that this detector never alerts alone (0.5 x 60 < 60): it lifts
 * a flow other detectors see.
 */
#include <linux/types.h>
#include "exfilter.h"
#include "detector.h"

#define XF_HOST_RANDOM_LABEL 24

/* "a.b.c.d" or "a.b.c.d:port" with each part 0-255, or "[v6]..." */
static int ip_literal(const char *s, size_t len)
{
	int parts = 0, digits = 0, v = 0;
	size_t i;

	if (len && s[0] == '[')
		return 1;
	for (i = 0; i < len && s[i] != ':'; i++) {
		if (s[i] == '.') {
			if (!digits)
				return 0;
			parts++;
			digits = v = 0;
			continue;
		}
		if (s[i] < '0' || s[i] > '9' || ++digits > 3)
			return 0;
		v = v * 10 + (s[i] - '0');
		if (v > 255)
			return 0;
	}
	return digits && parts == 3;
}

static uint32_t host_tag(const struct xf_name_in *n)
{
	uint32_t t = 0;

	if (n->kind != XF_EV_HOST || !n->name || !n->len)
		return 0;
	if (ip_literal(n->name, n->len))
		return XF_TAG_HOST_IP;
	if (n->feat && (n->feat->enc_longest >= XF_HOST_RANDOM_LABEL || n->feat->binary))
		t |= XF_TAG_HOST_RANDOM;
	return t;
}

static void host_score(const struct xf_flow_view *f, const struct xf_det_params *p,
		       struct xf_det_result *r)
{
	int ip = !!(f->tags & XF_TAG_HOST_IP), rnd = !!(f->tags & XF_TAG_HOST_RANDOM);

	(void)p;
	if (!f->hosts || !(ip || rnd))
		return;
	r->score = (rnd ? 60 : 40) * xf_ramp(f->hosts, 0, 3);
	xf_ev_add(r, "ip_literal", ip);
	xf_ev_add(r, "random_host", rnd);
	xf_ev_add(r, "host_names", f->hosts);
}

const struct xf_detector xf_det_host = {
	.name = "host",
	.rule = "HTTP Host: IP literal or random name",
	.weight = 0.5,
	.score = host_score,
	.tag = host_tag,
};
