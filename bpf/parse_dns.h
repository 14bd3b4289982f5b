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

/* DNS message position inside a payload buffer. */
struct xf_dns_msg {
	__u32 off; /* message start: 0 for UDP, 2 for TCP */
	__u32 qname_off; /* off + 12 */
	__u32 qname_wire; /* wire length of the qname, root byte included */
	__u32 q_end; /* first byte after qtype and qclass */
};

/*
 * Walk the wire-format question name at m->qname_off, a label at a time.
 * Every read is checked against the buffer first; a length byte with the top
 * bits set is a compression pointer (never legal where the question starts)
 * or a reserved label type.
 */
XF_INLINE int xf_dns_walk_qname(struct xf_walk *w, struct xf_dns_msg *m)
{
	__u32 pos = m->qname_off, len, i;
	__u8 c;

	/* a 255-byte name has at most 127 labels and the root */
	for (i = 0; i < XF_NAME_WALK / 2; i++) {
		if (!xf_has(w->b, pos, 1))
			return -XF_PE_DNS_TRUNC;
		c = xf_b8(w->b, pos);
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
		if (!xf_has(w->b, pos + 1, len))
			return -XF_PE_DNS_TRUNC;
		XF_NAME_LABEL(w, pos + 1, len);
		pos += 1 + len;
	}
	return -XF_PE_DNS_LONG;
}

/*
 * Parse the header and question of a DNS message that starts at m->off.
 * w->hist: 256 zeroed counters for the entropy. On success w->f holds the
 * features; the caller finishes them with xf_name_finish() once it knows
 * whether the suffix is public.
 */
XF_INLINE int xf_parse_dns(struct xf_walk *w, struct xf_dns_msg *m)
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
	err = xf_dns_walk_qname(w, m);
	if (err)
		return err;
	m->q_end = m->qname_off + m->qname_wire + 4;
	if (!xf_has(b, m->qname_off + m->qname_wire, 4))
		return -XF_PE_DNS_TRUNC;
	/* header fields last: xf_name_init() cleared f before the walk */
	f->dns_id = xf_b16(b, off);
	f->dns_flags = xf_b16(b, off + 2);
	f->qtype = xf_b16(b, m->qname_off + m->qname_wire);
	f->qclass = xf_b16(b, m->qname_off + m->qname_wire + 2);
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
