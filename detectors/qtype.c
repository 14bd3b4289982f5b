// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * qtype.c - record types that carry data back. A tunnel wants the largest
 * answer it can get: NULL (iodine's default, any bytes up to 64 KiB),
 * PRIVATE 65399 and KEY (iodine, dns2tcp), TXT (dns2tcp, dnscat2, most
 * scripts), CNAME and MX (a name's worth each: dnscat2, iodine's fallbacks).
 * Clients ask for A, AAAA and HTTPS; NULL is never used by anything else,
 * while TXT, MX and SRV have daily uses (SPF, mail routing, Active
 * Directory) that ask for few names many times. So the carrier share is
 * weighted by how unusual each type is, and counts only on unique names.
 */
#include <linux/types.h>
#include "exfilter.h"
#include "detector.h"

static void qtype_score(const struct xf_flow_view *f, const struct xf_det_params *p,
			struct xf_det_result *r)
{
	double q, carrier, uniq;
	const uint32_t *t = f->qtypes;

	(void)p;
	if (!f->queries)
		return;
	q = (double)f->queries;
	/* NULL and the rare carriers (KEY, SRV, PRIVATE, ANY) outweigh TXT,
	 * which outweighs CNAME and MX */
	carrier = (1.0 * t[XF_QT_NULL] + 0.9 * t[XF_QT_CARRIER] + 0.7 * t[XF_QT_TXT] +
		   0.6 * t[XF_QT_CNAME] + 0.6 * t[XF_QT_MX]) /
		  q;
	if (carrier > 1)
		carrier = 1; /* bucket counts and queries come from different sums */
	uniq = xf_unique_ratio(f);
	r->score =
		100.0 * xf_ramp(carrier, 0.15, 0.85) * xf_ramp(uniq, 0.3, 0.8) * xf_ramp(q, 3, 12);
	xf_ev_add(r, "carrier_ratio", carrier);
	xf_ev_add(r, "null_ratio", t[XF_QT_NULL] / q);
	xf_ev_add(r, "rare_ratio", t[XF_QT_CARRIER] / q);
	xf_ev_add(r, "txt_ratio", t[XF_QT_TXT] / q);
	xf_ev_add(r, "cname_mx_ratio", (t[XF_QT_CNAME] + (double)t[XF_QT_MX]) / q);
	xf_ev_add(r, "unique_ratio", uniq);
	xf_ev_add(r, "queries", q);
}

const struct xf_detector xf_det_qtype = {
	.name = "qtype",
	.rule = "DNS tunnel: data-carrying record types",
	.weight = 0.65,
	.score = qtype_score,
};
