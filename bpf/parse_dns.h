/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * parse_dns.h - the DNS header and its single question, from the wire, with
 * the name features of parse_name.h. TCP messages carry a 2-byte length
 * prefix; only the first segment of a message is parsed.
 */
#ifndef XF_PARSE_DNS_H
#define XF_PARSE_DNS_H

#include "parse_name.h"

#define XF_DNS_HDR 12
#define XF_DNS_QR 0x8000
#define XF_DNS_RCODE_MASK 0x000f
#define XF_DNS_RCODE_NXDOMAIN 3
#define XF_DNS_RCODE_REFUSED 5

/*
 * The byte loop of a name of XF_HIST_SCAN_MIN bytes or more: the BPF build
 * runs it in a function of its own (process.bpf.h).
 */
#ifndef XF_DNS_BYTES_LONG
#define XF_DNS_BYTES_LONG(w, m) xf_dns_bytes(w, m, 0)
#endif

/* bytes per step of xf_dns_bytes(): divides XF_NAME_WALK - 1 */
#define XF_DNS_STEP 15

/* DNS message position inside a payload buffer. */
struct xf_dns_msg {
	__u32 off; /* message start: 0 for UDP, 2 for TCP */
	__u32 qname_off; /* off + 12 */
	__u32 qname_wire; /* wire length of the qname, root byte included */
	__u32 q_end; /* first byte after qtype and qclass */
};

/*
 * Check the wire-format question name at m->qname_off, a length byte at a
 * time, and set m->qname_wire. Every read is checked against the buffer
 * first; a length byte with the top bits set is a compression pointer (never
 * legal where the question starts) or a reserved label type.
 */
XF_INLINE int xf_dns_check_qname(const struct xf_buf *b, struct xf_dns_msg *m)
{
	__u32 pos = m->qname_off, len, i;
	__u8 c;

	/* a 255-byte name has at most 127 labels and the root */
	for (i = 0; i < XF_NAME_WALK / 2; i++) {
		if (!xf_has(b, pos, 1))
			return -XF_PE_DNS_TRUNC;
		c = xf_b8(b, pos);
		if (c == 0) {
			m->qname_wire = pos + 1 - m->qname_off;
			return XF_OK;
		}
		if ((c & 0xc0) == 0xc0)
			return -XF_PE_DNS_PTR;
		if (c & 0xc0)
			return -XF_PE_DNS_LABEL;
		len = c;
		/* this label and the root byte must fit in 255 bytes */
		if (pos + 1 + len + 1 - m->qname_off > 255)
			return -XF_PE_DNS_LONG;
		if (!xf_has(b, pos + 1, len))
			return -XF_PE_DNS_TRUNC;
		pos += 1 + len;
	}
	return -XF_PE_DNS_LONG;
}

/*
 * The bytes of a checked question name (at m->qname_off, not the root alone),
 * one a step: a length byte closes the label before it and opens the next
 * (the root closes the name). The first length byte is taken before the
 * loop, and nothing in the loop is known exactly to the BPF verifier (which
 * would otherwise walk each name shape apart).
 */
XF_INLINE void xf_dns_bytes(struct xf_walk *w, const struct xf_dns_msg *m, int delta)
{
	/* a local: the histogram stores alias nothing of it */
	const __u8 *q = xf_at(w->b, m->qname_off);
	const __u64 *cp = xf_cpack;
	const __u32 *cd = xf_clog2d;
	__u8 *hist = w->hist;
	struct xf_lab l = { 0 };
	__u64 g, k, d, end, len;

	/*
	 * Kept in registers: in BPF a table's address is a 64-bit constant
	 * that the compiler would otherwise load again at every byte.
	 */
	XF_HIDE(cp);
	XF_HIDE(cd);
	len = q[0] & XF_LABEL_MAX; /* checked: < 64; the mask bounds it for the verifier */
	end = 1 + len; /* where the next length byte is */
	for (g = 1; g < XF_NAME_WALK; g += XF_DNS_STEP) {
		const __u8 *p = q + g;

		/* p[k] and d != k: constant offsets and compares in the steps below */
		XF_HIDE(p);
		d = end - g;
		XF_UNROLL_FULL
		for (k = 0; k < XF_DNS_STEP; k++) {
			__u8 c = p[k];

			if (__builtin_expect(d != k, 1)) {
				xf_name_char_t(&l, hist, c, delta, cp, cd);
				continue;
			}
			/* the offset is read again here, not kept in a register through the loop */
			XF_FORGET();
			xf_name_rec(w->s, &l, m->qname_off + (__u32)(g + k - len), (__u32)len);
			if (c == 0)
				goto done;
			len = c & XF_LABEL_MAX;
			d = k + 1 + len;
		}
		end = g + d;
	}
done:
	xf_name_bytes_done(w->s, &l);
	if (delta)
		xf_name_hist_done(w->s, hist, 1);
	else
		xf_name_hist_sum(w->s, hist);
}

/*
 * The labels of a checked question name (at m->qname_off, not the root
 * alone), recorded with no byte loop: for a response. A response is counted
 * on its query's flow and is never judged by its own name, so only the
 * hashes (the registered domain keys the flow) and the label lengths are
 * worth computing; class counts and entropy stay 0, and the labels are
 * hashed case-folded, as a query's with capitals is (resolvers echo the
 * query's case). In the kernel, skipping the byte loop took a third off each
 * reply's cost under load (tests/bench/bench_dns.sh, BPF run-time stats).
 */
XF_INLINE void xf_dns_labels(struct xf_walk *w, const struct xf_dns_msg *m)
{
	struct xf_lab l = { 0 };
	__u32 pos = m->qname_off, i, len;

	w->s->hash_only = 1;
	for (i = 0; i < XF_NAME_WALK / 2; i++) {
		len = xf_b8(w->b, pos) & XF_LABEL_MAX; /* checked: < 64, the root ends it */
		if (!len)
			break;
		l.counts = 1ULL << XF_CP_UPPER; /* fold case when hashing (xf_name_labels()) */
		xf_name_rec(w->s, &l, pos + 1, len);
		pos += 1 + len;
	}
}

/*
 * xf_parse_dns() up to the name's byte loop: the label loop, xf_name_labels(),
 * is left to the caller (the BPF build shares one between DNS and text names).
 */
XF_INLINE int xf_parse_dns_bytes(struct xf_walk *w, struct xf_dns_msg *m)
{
	const struct xf_buf *b = w->b;
	struct xf_name_feat *f = w->f;
	__u32 off = m->off;
	int err;

	if (!xf_has(b, off, XF_DNS_HDR))
		return -XF_PE_DNS_TRUNC;
	if (xf_b16(b, off + 4) != 1)
		return -XF_PE_DNS_QDCOUNT;
	m->qname_off = off + XF_DNS_HDR;
	err = xf_dns_check_qname(b, m);
	if (err)
		return err;
	m->q_end = m->qname_off + m->qname_wire + 4;
	if (!xf_has(b, m->qname_off + m->qname_wire, 4))
		return -XF_PE_DNS_TRUNC;
	/*
	 * Header and question fields before the walk (xf_name_init() cleared f),
	 * so that nothing the check learned is still needed after it: the BPF
	 * verifier then walks the name once, not once per name length.
	 */
	f->dns_id = xf_b16(b, off);
	f->dns_flags = xf_b16(b, off + 2);
	f->qtype = xf_b16(b, m->qname_off + m->qname_wire);
	f->qclass = xf_b16(b, m->qname_off + m->qname_wire + 2);
	if (m->qname_wire == 1)
		return XF_OK; /* the root: no labels */
	if (f->dns_flags & XF_DNS_QR) {
		xf_dns_labels(w, m);
		return XF_OK;
	}
	/* the wire length bounds the label bytes: pick how the entropy is summed */
	if (m->qname_wire < XF_HIST_SCAN_MIN)
		xf_dns_bytes(w, m, 1);
	else
		XF_DNS_BYTES_LONG(w, m);
	return XF_OK;
}

/*
 * Parse the header and question of a DNS message that starts at m->off.
 * w->hist: 256 zeroed counters for the entropy (left zeroed). On success w->f
 * holds the features; the caller finishes them with xf_name_finish() once it
 * knows whether the suffix is public. Nothing is counted unless the whole
 * question checks out.
 */
XF_INLINE int xf_parse_dns(struct xf_walk *w, struct xf_dns_msg *m)
{
	int err = xf_parse_dns_bytes(w, m);

	if (err)
		return err;
	xf_name_labels(w->b, w->s, w->f);
	return XF_OK;
}

/* qtype -> bucket in struct xf_flow.qtypes */
XF_INLINE __u32 xf_qtype_bucket(__u16 qtype)
{
	switch (qtype) {
	case 1:
		return XF_QT_A;
	case 28:
		return XF_QT_AAAA;
	case 16:
		return XF_QT_TXT;
	case 10:
		return XF_QT_NULL;
	case 5:
		return XF_QT_CNAME;
	case 15:
		return XF_QT_MX;
	case 25: /* KEY */
	case 33: /* SRV */
	case 255: /* ANY */
	case 65399: /* PRIVATE, used by iodine */
		return XF_QT_CARRIER;
	default:
		return XF_QT_OTHER;
	}
}

#endif /* XF_PARSE_DNS_H */
