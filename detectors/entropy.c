// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * entropy.c - random-looking names. Shannon entropy per byte catches
 * base32/base64/raw encodings, but hex caps it at 4 bits per character, so
 * the share of queries carrying a long label in an encoded alphabet (hex,
 * base32, base64, raw bytes: counted by the shared parser) scores too.
 */
#include "detector.h"

static void entropy_score(const struct xf_flow_view *f, const struct xf_det_params *p,
			  struct xf_det_result *r)
{
	double bits, enc, conf, mean, sb, se;

	(void)p;
	if (!f->queries)
		return;
	bits = (double)f->entropy_sum / 1000.0 / (double)f->queries;
	enc = (double)f->enc_queries / (double)f->queries;
	mean = (double)f->qname_bytes / (double)f->queries;
	conf = xf_ramp((double)f->queries, 2, 12);
	/* short names look random byte for byte (CDN hosts reach 3.6-4 bits);
	 * entropy only means payload when there are bytes to carry it */
	sb = xf_ramp(bits, 3.4, 4.4) * xf_ramp(mean, 24, 48);
	se = xf_ramp(enc, 0.1, 0.6);
	r->score = 100.0 * conf * (sb > se ? sb : se);
	xf_ev_add(r, "mean_entropy_bits", bits);
	xf_ev_add(r, "encoded_ratio", enc);
	xf_ev_add(r, "max_encoded_label", f->max_enc_label);
	xf_ev_add(r, "mean_qname_len", mean);
	xf_ev_add(r, "queries", (double)f->queries);
}

const struct xf_detector xf_det_entropy = {
	.name = "entropy",
	.rule = "DNS tunnel: encoded names",
	.weight = 0.9,
	.score = entropy_score,
};
