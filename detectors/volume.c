// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * volume.c - information volume per registered domain per window, after
 * Paxson et al. ("Practical Comprehensive Bounds on Surreptitious
 * Communication Over DNS", USENIX Security 2013): what a client can leak
 * through one registered domain is bounded by the information in the names
 * it asks for, and that bound, not any one query, is what a tunnel cannot
 * keep small. Paxson et al. measure it by compressing each domain's names;
 * a flow view has sums, not names, so the estimate here is:
 *
 *   encoded bytes = subdomain bytes x unique ratio x payload share
 *
 * subdomain bytes being qname_bytes - queries x (strlen(domain) + 1) (every
 * name in a flow ends in the registered domain, which carries nothing),
 * the unique ratio discounting repeats (a cached or re-asked name carries
 * nothing new), and the payload share being the share of queries with an
 * encoded label or, when higher, how far the names' entropy is above
 * ordinary hostnames' (whole names of words and digits stay near 4 bits a
 * byte; base32 and base64 reach 4.5-5.5). A DNSBL lookup carries information too (an IPv4
 * address), but in digits and dots with little entropy and no encoded
 * label, so it counts for little here; its allowlist entry does the rest.
 *
 * Tunnels carry data down as well (iodine and dns2tcp answer in NULL, TXT,
 * CNAME or MX records), and Paxson et al. bound both directions. When the
 * sensor parsed responses whole (sensor/dnsmsg.c), their answer rdata
 * bytes, scaled to every response of the window (xf_down_bytes()), add to
 * the subdomain bytes, under the same unique ratio and payload share: an
 * answer to a repeated or ordinary name says nothing new, and names
 * nobody encoded (a CDN's long CNAME chain, a big TXT record) keep the
 * share near 0.
 */
#include "detector.h"

static void volume_score(const struct xf_flow_view *f, const struct xf_det_params *p,
			 struct xf_det_result *r)
{
	double sub, down, uniq, bits, enc, share, bytes, secs, rate, s;

	if (!f->queries)
		return;
	s = xf_volume_scale(f, p);
	sub = xf_sub_bytes(f);
	down = xf_down_bytes(f);
	uniq = xf_unique_ratio(f);
	bits = (double)f->entropy_sum / 1000.0 / (double)f->queries;
	enc = (double)f->enc_queries / (double)f->queries;
	share = xf_ramp(bits, 4.2, 5.0);
	if (enc > share)
		share = enc > 1 ? 1 : enc;
	bytes = (sub + down) * uniq * share;
	/* a burst has a short span: its rate over at least one second */
	secs = f->span_s > 1 ? f->span_s : 1;
	rate = bytes / secs;
	/* 8 KiB of encoded names in one window is a file, not lookups; a high
	 * rate counts once there is at least 1 KiB behind it */
	r->score = 100.0 * xf_ramp(bytes, 1024 * s, 8192 * s);
	if (100.0 * xf_ramp(rate, 64 * s, 512 * s) * xf_ramp(bytes, 256 * s, 1024 * s) > r->score)
		r->score =
			100.0 * xf_ramp(rate, 64 * s, 512 * s) * xf_ramp(bytes, 256 * s, 1024 * s);
	xf_ev_add(r, "encoded_bytes", bytes);
	xf_ev_add(r, "bytes_per_s", rate);
	xf_ev_add(r, "subdomain_bytes", sub);
	xf_ev_add(r, "answer_bytes", down);
	xf_ev_add(r, "unique_ratio", uniq);
	xf_ev_add(r, "payload_share", share);
	xf_ev_add(r, "queries", (double)f->queries);
	xf_ev_add(r, "threshold_scale", s);
}

const struct xf_detector xf_det_volume = {
	.name = "volume",
	.rule = "DNS exfiltration: information volume",
	.weight = 0.7,
	.score = volume_score,
};
