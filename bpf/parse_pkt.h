/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * parse_pkt.h - Ethernet (up to two VLAN tags), IPv4 (with options), IPv6
 * (a bounded walk over extension headers), UDP and TCP, read from the header
 * window: the first XF_HDR_WIN bytes of a frame. Fields are read byte by
 * byte from the buffer, never through struct casts, so the same code runs
 * on a BPF scratch copy and on a userspace packet.
 */
#ifndef XF_PARSE_PKT_H
#define XF_PARSE_PKT_H

#include "parse_common.h"

#define XF_ETH_HLEN 14
#define XF_ETH_P_IP 0x0800
#define XF_ETH_P_IPV6 0x86dd
#define XF_ETH_P_8021Q 0x8100
#define XF_ETH_P_8021AD 0x88a8
#define XF_VLAN_MAX 2
#define XF_IP6_EXT_MAX 6 /* extension headers walked before giving up */

#define XF_IPPROTO_HOPOPTS 0
#define XF_IPPROTO_TCP 6
#define XF_IPPROTO_UDP 17
#define XF_IPPROTO_ROUTING 43
#define XF_IPPROTO_FRAGMENT 44
#define XF_IPPROTO_AH 51
#define XF_IPPROTO_DSTOPTS 60

/* What the header walk found. Addresses: IPv4 as ::ffff:a.b.c.d. */
struct xf_pkt {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport; /* host byte order */
	__u16 dport;
	__u8 ipv6;
	__u8 l4proto; /* XF_IPPROTO_UDP or XF_IPPROTO_TCP */
	__u8 pad[2];
	__u32 l3_off;
	__u32 l4_off;
	__u32 payload_off; /* from the start of the frame */
	__u32 payload_len; /* per the IP lengths, clamped to the frame */
	__u32 csum_off; /* UDP checksum field, from the start of the frame */
};

XF_INLINE void xf_addr_v4(__u8 *dst, const struct xf_buf *b, __u32 off)
{
	__builtin_memset(dst, 0, 10);
	dst[10] = 0xff;
	dst[11] = 0xff;
	dst[12] = xf_b8(b, off);
	dst[13] = xf_b8(b, off + 1);
	dst[14] = xf_b8(b, off + 2);
	dst[15] = xf_b8(b, off + 3);
}

XF_INLINE void xf_addr_v6(__u8 *dst, const struct xf_buf *b, __u32 off)
{
	__u32 i;

	for (i = 0; i < 16; i++)
		dst[i] = xf_b8(b, off + i);
}

/* Ethernet and VLAN tags: returns the ethertype, sets *off to the L3 header. */
XF_INLINE int xf_parse_eth(const struct xf_buf *b, __u32 *off)
{
	__u16 proto;
	__u32 i;

	if (!xf_has(b, 0, XF_ETH_HLEN))
		return -XF_PE_ETH_TRUNC;
	proto = xf_b16(b, 12);
	*off = XF_ETH_HLEN;
	for (i = 0; i < XF_VLAN_MAX; i++) {
		if (proto != XF_ETH_P_8021Q && proto != XF_ETH_P_8021AD)
			return proto;
		if (!xf_has(b, *off, 4))
			return -XF_PE_VLAN_TRUNC;
		proto = xf_b16(b, *off + 2);
		*off += 4;
	}
	if (proto == XF_ETH_P_8021Q || proto == XF_ETH_P_8021AD)
		return -XF_PE_VLAN_DEPTH;
	return proto;
}

/* IPv4: returns the L4 protocol; *l4_len is the IP payload length. */
XF_INLINE int xf_parse_ip4(const struct xf_buf *b, struct xf_pkt *p, __u32 *l4_len)
{
	__u32 off = p->l3_off, ihl, tot;
	__u8 vihl;

	if (!xf_has(b, off, 20))
		return -XF_PE_IP4_TRUNC;
	vihl = xf_b8(b, off);
	ihl = (__u32)(vihl & 0xf) * 4;
	tot = xf_b16(b, off + 2);
	if ((vihl >> 4) != 4 || ihl < 20 || tot < ihl)
		return -XF_PE_IP4_HDR;
	if (xf_b16(b, off + 6) & 0x1fff)
		return -XF_PE_IP_FRAG; /* no L4 header in a later fragment */
	xf_addr_v4(p->saddr, b, off + 12);
	xf_addr_v4(p->daddr, b, off + 16);
	p->l4_off = off + ihl;
	*l4_len = tot - ihl;
	return xf_b8(b, off + 9);
}

/* IPv6 and its extension headers, at most XF_IP6_EXT_MAX of them. */
XF_INLINE int xf_parse_ip6(const struct xf_buf *b, struct xf_pkt *p, __u32 *l4_len)
{
	__u32 off = p->l3_off, i, plen;
	__u8 nh;

	if (!xf_has(b, off, 40))
		return -XF_PE_IP6_TRUNC;
	if ((xf_b8(b, off) >> 4) != 6)
		return -XF_PE_IP6_TRUNC;
	plen = xf_b16(b, off + 4);
	nh = xf_b8(b, off + 6);
	xf_addr_v6(p->saddr, b, off + 8);
	xf_addr_v6(p->daddr, b, off + 24);
	off += 40;
	for (i = 0; i < XF_IP6_EXT_MAX; i++) {
		__u32 hlen;

		if (nh != XF_IPPROTO_HOPOPTS && nh != XF_IPPROTO_ROUTING &&
		    nh != XF_IPPROTO_DSTOPTS && nh != XF_IPPROTO_FRAGMENT && nh != XF_IPPROTO_AH)
			break;
		if (!xf_has(b, off, 8))
			return -XF_PE_IP6_EXT;
		if (nh == XF_IPPROTO_FRAGMENT) {
			if (xf_b16(b, off + 2) & 0xfff8)
				return -XF_PE_IP_FRAG;
			hlen = 8;
		} else if (nh == XF_IPPROTO_AH) {
			hlen = ((__u32)xf_b8(b, off + 1) + 2) * 4;
		} else {
			hlen = ((__u32)xf_b8(b, off + 1) + 1) * 8;
		}
		nh = xf_b8(b, off);
		off += hlen;
	}
	if (nh == XF_IPPROTO_HOPOPTS || nh == XF_IPPROTO_ROUTING || nh == XF_IPPROTO_DSTOPTS ||
	    nh == XF_IPPROTO_FRAGMENT || nh == XF_IPPROTO_AH)
		return -XF_PE_IP6_EXT;
	if (off - p->l3_off - 40 > plen)
		return -XF_PE_IP6_EXT;
	p->ipv6 = 1;
	p->l4_off = off;
	*l4_len = plen - (off - p->l3_off - 40);
	return nh;
}

/* L4 header not in the buffer: a short frame, or headers past the window */
XF_INLINE int xf_l4_short(const struct xf_buf *b)
{
	return b->len >= XF_HDR_WIN ? -XF_PE_HDR_WINDOW : -XF_PE_L4_TRUNC;
}

/*
 * Parse a frame's headers up to the L4 payload. b is the header window;
 * frame_len is the whole frame's length. Returns XF_OK for UDP and TCP,
 * XF_SKIP for anything else, or -enum xf_perr.
 */
XF_INLINE int xf_parse_pkt(const struct xf_buf *b, __u32 frame_len, struct xf_pkt *p)
{
	__u32 l4_len = 0, hl;
	int proto;

	proto = xf_parse_eth(b, &p->l3_off);
	if (proto < 0)
		return proto;
	if (proto == XF_ETH_P_IP)
		proto = xf_parse_ip4(b, p, &l4_len);
	else if (proto == XF_ETH_P_IPV6)
		proto = xf_parse_ip6(b, p, &l4_len);
	else
		return XF_SKIP;
	if (proto < 0)
		return proto;
	if (proto != XF_IPPROTO_UDP && proto != XF_IPPROTO_TCP)
		return XF_SKIP;
	hl = proto == XF_IPPROTO_UDP ? 8 : 20;
	if (!xf_has(b, p->l4_off, hl))
		return xf_l4_short(b);
	p->l4proto = (__u8)proto;
	p->sport = xf_b16(b, p->l4_off);
	p->dport = xf_b16(b, p->l4_off + 2);
	if (proto == XF_IPPROTO_TCP) {
		hl = (__u32)(xf_b8(b, p->l4_off + 12) >> 4) * 4;
		if (hl < 20)
			return -XF_PE_L4_TRUNC;
		if (!xf_has(b, p->l4_off, hl))
			return xf_l4_short(b);
	} else {
		p->csum_off = p->l4_off + 6;
	}
	if (l4_len < hl)
		return -XF_PE_L4_TRUNC;
	p->payload_off = p->l4_off + hl;
	p->payload_len = l4_len - hl;
	if (p->payload_off > frame_len)
		return -XF_PE_L4_TRUNC;
	if (p->payload_len > frame_len - p->payload_off)
		p->payload_len = frame_len - p->payload_off;
	return XF_OK;
}

#endif /* XF_PARSE_PKT_H */
