// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * entropy.c - random-looking names, aware of the encoding. Shannon entropy
 * per byte catches base32/base64/raw encodings, but an encoding caps it at
 * log2 of its alphabet: hex never passes 4 bits a character, base32 5. So
 * the detector also counts queries carrying a long label in an encoded
 * alphabet (hex, base32, base64/base64url, base128 or raw bytes: classified
 * by the shared parser, bpf/parse_name.h), and its tag hook records which
 * encodings a flow used: when a flow's only encoding is hex, entropy is
 * judged against hex's 4-bit ceiling rather than the general one.
 */
#include <linux/types.h>
#include "exfilter.h"
#include "detector.h"

_Static_assert(XF_TAG_ENC_HEX == 1u << 12 && XF_TAG_ENC_BIN == 1u << 15,
	       "the encodings evidence shifts the tags by 12");

/* Encodings (enum xf_tag) of one DNS query name, from the parser's classes. */
static uint32_t entropy_tag(const struct xf_name_in *n)
{
	const struct xf_name_feat *f = n->feat;
	uint32_t t = 0;

	if (!f || n->kind != XF_EV_DNS_QUERY)
		return 0;
	if (f->hex_labels)
		t |= XF_TAG_ENC_HEX;
	if (f->b32_labels)
		t |= XF_TAG_ENC_B32;
	if (f->b64_labels)
		t |= XF_TAG_ENC_B64;
	if (f->binary)
		t |= XF_TAG_ENC_BIN;
	return t;
}

/* log2 of the widest alphabet among the encodings seen; 0 for none. */
static double alphabet_bits(uint32_t tags)
{
	if (tags & XF_TAG_ENC_BIN)
		return 8;
	if (tags & XF_TAG_ENC_B64)
		return 6;
	if (tags & XF_TAG_ENC_B32)
		return 5;
	if (tags & XF_TAG_ENC_HEX)
		return 4;
	return 0;
}

static void entropy_score(const struct xf_flow_view *f, const struct xf_det_params *p,
			  struct xf_det_result *r)
{
	double bits, enc, conf, mean, sb, se, abits;
	uint32_t encs = f->tags & XF_TAG_ENC_MASK;

	(void)p;
	if (!f->queries)
		return;
	bits = (double)f->entropy_sum / 1000.0 / (double)f->queries;
	enc = (double)f->enc_queries / (double)f->queries;
	mean = (double)f->qname_bytes / (double)f->queries;
	abits = alphabet_bits(encs);
	conf = xf_ramp((double)f->queries, 2, 12);
	/* short names look random byte for byte (CDN hosts reach 3.6-4 bits),
	 * and so do long names mixing words, digits and hyphens
	 * (ec2-203-0-113-9.compute-1.amazonaws.com: 4.0-4.2); base32 and
	 * base64 payloads pass 4.5. Entropy only means payload when there are
	 * bytes to carry it. Hex alone cannot pass 4 bits: 32 hex characters
	 * give about 3.8, so a hex-only flow is judged below that ceiling */
	if (abits == 4)
		sb = xf_ramp(bits, 3.0, 3.7) * xf_ramp(mean, 24, 48);
	else
		sb = xf_ramp(bits, 4.0, 4.8) * xf_ramp(mean, 24, 48);
	se = xf_ramp(enc, 0.1, 0.6);
	/* bytes no hostname may hold (iodine's base128 and raw modes) are
	 * payload whatever their entropy */
	if ((encs & XF_TAG_ENC_BIN) && se < 0.9)
		se = 0.9;
	r->score = 100.0 * conf * (sb > se ? sb : se);
	xf_ev_add(r, "mean_entropy_bits", bits);
	xf_ev_add(r, "encoded_ratio", enc);
	xf_ev_add(r, "max_encoded_label", f->max_enc_label);
	xf_ev_add(r, "mean_qname_len", mean);
	xf_ev_add(r, "queries", (double)f->queries);
	/* 1 hex, 2 base32, 4 base64, 8 base128/raw: which encodings were seen */
	xf_ev_add(r, "encodings", (double)(encs >> 12));
	xf_ev_add(r, "alphabet_bits", abits);
}

const struct xf_detector xf_det_entropy = {
	.name = "entropy",
	.rule = "DNS tunnel: encoded names",
	.weight = 0.9,
	.score = entropy_score,
	.tag = entropy_tag,
};
