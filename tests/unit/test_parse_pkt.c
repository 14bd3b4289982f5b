// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_parse_pkt.c - bpf/parse_pkt.h: Ethernet and VLAN tags, IPv4 and its
 * options and fragments, IPv6 and its extension chain, UDP and TCP, the
 * header window, and truncation at every byte of valid frames. The parser
 * reads a copy of the header window that ends at an inaccessible page, so a
 * read past the buffer crashes the test instead of passing silently.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "frame.h"
#include "fixtures.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const __u8 payload10[10] = "0123456789";

/* Run xf_parse_pkt over the header window of a frame, as the kernel does. */
static int parse(const __u8 *data, __u32 len, struct xf_pkt *p)
{
	__u32 win = len < XF_HDR_WIN ? len : XF_HDR_WIN;
	__u8 *g = fx_guard_copy(data, win);
	struct xf_buf b = { .p = g, .len = win };
	int rc;

	memset(p, 0, sizeof(*p));
	rc = xf_parse_pkt(&b, len, p);
	fx_guard_free(g, win);
	return rc;
}

/* ---- frame builders for the table ---- */

static void ip4_udp_body(struct fx_frame *f, __u8 opt_words)
{
	fx_ip4(f, FX_IPPROTO_UDP, FX_IP4_CLIENT, FX_IP4_SERVER, opt_words);
	fx_udp(f, 1111, 53);
	fx_bytes(f, payload10, sizeof(payload10));
	fx_finish(f);
}

static void ip6_udp_tail(struct fx_frame *f)
{
	fx_udp(f, 1111, 53);
	fx_bytes(f, payload10, sizeof(payload10));
	fx_finish(f);
}

static void b_ip4_udp(struct fx_frame *f)
{
	fx_eth(f, FX_ETH_P_IP);
	ip4_udp_body(f, 0);
}

static void b_vlan1(struct fx_frame *f)
{
	fx_eth(f, FX_ETH_P_8021Q);
	fx_vlan(f, 100, FX_ETH_P_IP);
	ip4_udp_body(f, 0);
}

static void b_vlan1_ad(struct fx_frame *f)
{
	fx_eth(f, FX_ETH_P_8021AD);
	fx_vlan(f, 100, FX_ETH_P_IP);
	ip4_udp_body(f, 0);
}

static void b_vlan2_qinq(struct fx_frame *f)
{
	fx_eth(f, FX_ETH_P_8021AD);
	fx_vlan(f, 100, FX_ETH_P_8021Q);
	fx_vlan(f, 200, FX_ETH_P_IP);
	ip4_udp_body(f, 0);
}

static void b_vlan2_qq(struct fx_frame *f)
{
	fx_eth(f, FX_ETH_P_8021Q);
	fx_vlan(f, 100, FX_ETH_P_8021Q);
	fx_vlan(f, 200, FX_ETH_P_IP);
	ip4_udp_body(f, 0);
}

static void b_vlan2_ip6(struct fx_frame *f)
{
	fx_eth(f, FX_ETH_P_8021AD);
	fx_vlan(f, 100, FX_ETH_P_8021Q);
	fx_vlan(f, 200, FX_ETH_P_IPV6);
	fx_ip6(f, FX_IPPROTO_UDP, fx_ip6_client, fx_ip6_server);
	ip6_udp_tail(f);
}

static void b_vlan3(struct fx_frame *f)
{
	fx_eth(f, FX_ETH_P_8021Q);
	fx_vlan(f, 1, FX_ETH_P_8021Q);
	fx_vlan(f, 2, FX_ETH_P_8021Q);
	fx_vlan(f, 3, FX_ETH_P_IP);
	ip4_udp_body(f, 0);
}

static void b_vlan3_ad(struct fx_frame *f)
{
	fx_eth(f, FX_ETH_P_8021AD);
	fx_vlan(f, 1, FX_ETH_P_8021Q);
	fx_vlan(f, 2, FX_ETH_P_8021AD);
	fx_vlan(f, 3, FX_ETH_P_IP);
	ip4_udp_body(f, 0);
}

static void b_vlan_trunc(struct fx_frame *f)
{
	fx_eth(f, FX_ETH_P_8021Q);
	fx_u16(f, 100); /* TCI, no inner type */
}

static void b_vlan2_trunc(struct fx_frame *f)
{
	fx_eth(f, FX_ETH_P_8021AD);
	fx_vlan(f, 100, FX_ETH_P_8021Q);
	fx_u8(f, 0);
	fx_u8(f, 200);
	fx_u8(f, 0x08); /* half the inner type */
}

static void b_eth_trunc(struct fx_frame *f)
{
	fx_eth(f, FX_ETH_P_IP);
	f->len = 13;
}

static void b_eth_only(struct fx_frame *f)
{
	fx_eth(f, FX_ETH_P_IP);
}

static void b_arp(struct fx_frame *f)
{
	fx_eth(f, FX_ETH_P_ARP);
	fx_bytes(f, NULL, 28);
}

static void b_vlan_arp(struct fx_frame *f)
{
	fx_eth(f, FX_ETH_P_8021Q);
	fx_vlan(f, 7, FX_ETH_P_ARP);
	fx_bytes(f, NULL, 28);
}

static void b_lldp(struct fx_frame *f)
{
	fx_eth(f, 0x88cc);
	fx_bytes(f, NULL, 46);
}

static void b_ip4_opts1(struct fx_frame *f)
{
	fx_eth(f, FX_ETH_P_IP);
	ip4_udp_body(f, 1);
}

static void b_ip4_opts10(struct fx_frame *f)
{
	fx_eth(f, FX_ETH_P_IP);
	ip4_udp_body(f, 10); /* IHL 15: 40 bytes of options */
}

static void b_ip4_ver6(struct fx_frame *f)
{
	b_ip4_udp(f);
	fx_set8(f, 14, 0x65);
}

static void b_ip4_ver0(struct fx_frame *f)
{
	b_ip4_udp(f);
	fx_set8(f, 14, 0x05);
}

static void b_ip4_ihl4(struct fx_frame *f)
{
	b_ip4_udp(f);
	fx_set8(f, 14, 0x44);
}

static void b_ip4_ihl0(struct fx_frame *f)
{
	b_ip4_udp(f);
	fx_set8(f, 14, 0x40);
}

static void b_ip4_tot_lt_ihl(struct fx_frame *f)
{
	b_ip4_opts1(f);
	fx_set16(f, 16, 20); /* IHL says 24 */
}

static void b_ip4_trunc(struct fx_frame *f)
{
	b_ip4_udp(f);
	f->len = 14 + 19;
}

static void b_ip4_opts_trunc(struct fx_frame *f)
{
	b_ip4_opts10(f);
	f->len = 14 + 40; /* fixed header present, options cut */
}

static void b_ip4_frag_first(struct fx_frame *f)
{
	b_ip4_udp(f);
	fx_ip4_frag(f, FX_IP4_MF); /* offset 0, more fragments: has the UDP header */
}

static void b_ip4_frag_later(struct fx_frame *f)
{
	b_ip4_udp(f);
	fx_ip4_frag(f, FX_IP4_MF | 185);
}

static void b_ip4_frag_last(struct fx_frame *f)
{
	b_ip4_udp(f);
	fx_ip4_frag(f, 1); /* offset 8 bytes, no MF */
}

static void b_ip4_frag_max(struct fx_frame *f)
{
	b_ip4_udp(f);
	fx_ip4_frag(f, FX_IP4_DF | 0x1fff);
}

static void b_ip4_icmp(struct fx_frame *f)
{
	fx_eth(f, FX_ETH_P_IP);
	fx_ip4(f, FX_IPPROTO_ICMP, FX_IP4_CLIENT, FX_IP4_SERVER, 0);
	fx_bytes(f, NULL, 8);
	fx_finish(f);
}

static void b_ip4_tot_short(struct fx_frame *f)
{
	b_ip4_udp(f);
	fx_set16(f, 16, 20 + 4); /* IP payload shorter than a UDP header */
}

static void b_ip4_eth_pad(struct fx_frame *f)
{
	fx_eth(f, FX_ETH_P_IP);
	fx_ip4(f, FX_IPPROTO_UDP, FX_IP4_CLIENT, FX_IP4_SERVER, 0);
	fx_udp(f, 1111, 53);
	fx_bytes(f, "ab", 2);
	fx_finish(f);
	fx_bytes(f, NULL, 60 - f->len); /* minimum frame padding: not payload */
}

static void b_ip4_tot_long(struct fx_frame *f)
{
	b_ip4_udp(f);
	fx_set16(f, 16, 20 + 8 + 10 + 100); /* claims 100 bytes the frame lacks */
}

static void b_ip4_udp_trunc(struct fx_frame *f)
{
	b_ip4_udp(f);
	f->len = 34 + 4;
}

static void b_ip6_udp(struct fx_frame *f)
{
	fx_eth(f, FX_ETH_P_IPV6);
	fx_ip6(f, FX_IPPROTO_UDP, fx_ip6_client, fx_ip6_server);
	ip6_udp_tail(f);
}

static void b_ip6_exts(struct fx_frame *f)
{
	fx_eth(f, FX_ETH_P_IPV6);
	fx_ip6(f, FX_IPPROTO_HOPOPTS, fx_ip6_client, fx_ip6_server);
	fx_ip6_ext(f, FX_IPPROTO_DSTOPTS, 0); /* 8 */
	fx_ip6_ext(f, FX_IPPROTO_ROUTING, 1); /* 16 */
	fx_ip6_ext(f, FX_IPPROTO_FRAGMENT, 2); /* 24 */
	fx_ip6_frag(f, FX_IPPROTO_UDP, 0, 1); /* first fragment */
	ip6_udp_tail(f);
}

static void b_ip6_frag_atomic(struct fx_frame *f)
{
	fx_eth(f, FX_ETH_P_IPV6);
	fx_ip6(f, FX_IPPROTO_FRAGMENT, fx_ip6_client, fx_ip6_server);
	fx_ip6_frag(f, FX_IPPROTO_UDP, 0, 0);
	ip6_udp_tail(f);
}

static void b_ip6_frag_later(struct fx_frame *f)
{
	fx_eth(f, FX_ETH_P_IPV6);
	fx_ip6(f, FX_IPPROTO_HOPOPTS, fx_ip6_client, fx_ip6_server);
	fx_ip6_ext(f, FX_IPPROTO_FRAGMENT, 0);
	fx_ip6_frag(f, FX_IPPROTO_UDP, 100, 1);
	ip6_udp_tail(f);
}

static void b_ip6_frag_last(struct fx_frame *f)
{
	fx_eth(f, FX_ETH_P_IPV6);
	fx_ip6(f, FX_IPPROTO_FRAGMENT, fx_ip6_client, fx_ip6_server);
	fx_ip6_frag(f, FX_IPPROTO_UDP, 1, 0);
	ip6_udp_tail(f);
}

static void b_ip6_ah(struct fx_frame *f)
{
	fx_eth(f, FX_ETH_P_IPV6);
	fx_ip6(f, FX_IPPROTO_AH, fx_ip6_client, fx_ip6_server);
	fx_ip6_ah(f, FX_IPPROTO_UDP, 4); /* 24 bytes */
	ip6_udp_tail(f);
}

static void ip6_chain(struct fx_frame *f, int n)
{
	int i;

	fx_eth(f, FX_ETH_P_IPV6);
	fx_ip6(f, FX_IPPROTO_DSTOPTS, fx_ip6_client, fx_ip6_server);
	for (i = 0; i < n; i++)
		fx_ip6_ext(f, i + 1 < n ? FX_IPPROTO_DSTOPTS : FX_IPPROTO_UDP, 0);
	ip6_udp_tail(f);
}

static void b_ip6_ext_max(struct fx_frame *f)
{
	ip6_chain(f, XF_IP6_EXT_MAX);
}

static void b_ip6_ext_over(struct fx_frame *f)
{
	ip6_chain(f, XF_IP6_EXT_MAX + 1);
}

static void b_ip6_to_icmp6(struct fx_frame *f)
{
	fx_eth(f, FX_ETH_P_IPV6);
	fx_ip6(f, FX_IPPROTO_HOPOPTS, fx_ip6_client, fx_ip6_server);
	fx_ip6_ext(f, FX_IPPROTO_ICMPV6, 0);
	fx_bytes(f, NULL, 8);
	fx_finish(f);
}

static void b_ip6_no_next(struct fx_frame *f)
{
	fx_eth(f, FX_ETH_P_IPV6);
	fx_ip6(f, FX_IPPROTO_NONE, fx_ip6_client, fx_ip6_server);
	fx_finish(f);
}

static void b_ip6_ext_trunc(struct fx_frame *f)
{
	b_ip6_exts(f);
	f->len = 54 + 8 + 4; /* inside the destination options header */
}

static void b_ip6_ext_over_plen(struct fx_frame *f)
{
	b_ip6_exts(f);
	fx_set16(f, 18, 16); /* payload length ends inside the chain */
}

static void b_ip6_ver4(struct fx_frame *f)
{
	b_ip6_udp(f);
	fx_set8(f, 14, 0x40);
}

static void b_ip6_trunc(struct fx_frame *f)
{
	b_ip6_udp(f);
	f->len = 14 + 39;
}

/* hop-by-hop of 168 bytes: the UDP header starts at 222, past the window */
static void b_ip6_window(struct fx_frame *f)
{
	fx_eth(f, FX_ETH_P_IPV6);
	fx_ip6(f, FX_IPPROTO_HOPOPTS, fx_ip6_client, fx_ip6_server);
	fx_ip6_ext(f, FX_IPPROTO_UDP, 20);
	ip6_udp_tail(f);
}

/* the same frame cut before the window ends: a short frame, not the window */
static void b_ip6_window_short(struct fx_frame *f)
{
	b_ip6_window(f);
	f->len = 150;
}

/* headers end at 190 (they always end at 2 mod 4): inside the window */
static void b_window_190(struct fx_frame *f)
{
	fx_eth(f, FX_ETH_P_IPV6);
	fx_ip6(f, FX_IPPROTO_AH, fx_ip6_client, fx_ip6_server);
	fx_ip6_ah(f, FX_IPPROTO_TCP, 17); /* 76 bytes */
	fx_tcp(f, 2222, 443, 10); /* 60 bytes */
	fx_bytes(f, payload10, sizeof(payload10));
	fx_finish(f);
}

/* four bytes more of AH: headers end at 194, past the window */
static void b_window_194(struct fx_frame *f)
{
	fx_eth(f, FX_ETH_P_IPV6);
	fx_ip6(f, FX_IPPROTO_AH, fx_ip6_client, fx_ip6_server);
	fx_ip6_ah(f, FX_IPPROTO_TCP, 18); /* 80 bytes */
	fx_tcp(f, 2222, 443, 10);
	fx_bytes(f, payload10, sizeof(payload10));
	fx_finish(f);
}

static void b_tcp(struct fx_frame *f)
{
	fx_eth(f, FX_ETH_P_IP);
	fx_ip4(f, FX_IPPROTO_TCP, FX_IP4_CLIENT, FX_IP4_SERVER, 0);
	fx_tcp(f, 40000, 443, 0);
	fx_bytes(f, payload10, sizeof(payload10));
	fx_finish(f);
}

static void b_tcp_opts3(struct fx_frame *f)
{
	fx_eth(f, FX_ETH_P_IP);
	fx_ip4(f, FX_IPPROTO_TCP, FX_IP4_CLIENT, FX_IP4_SERVER, 0);
	fx_tcp(f, 40000, 80, 3); /* data offset 8 */
	fx_bytes(f, payload10, sizeof(payload10));
	fx_finish(f);
}

static void b_tcp_doff15(struct fx_frame *f)
{
	fx_eth(f, FX_ETH_P_IPV6);
	fx_ip6(f, FX_IPPROTO_TCP, fx_ip6_client, fx_ip6_server);
	fx_tcp(f, 40000, 53, 10); /* data offset 15 */
	fx_bytes(f, payload10, sizeof(payload10));
	fx_finish(f);
}

static void b_tcp_doff4(struct fx_frame *f)
{
	b_tcp(f);
	fx_set8(f, 34 + 12, 0x40);
}

static void b_tcp_doff0(struct fx_frame *f)
{
	b_tcp(f);
	fx_set8(f, 34 + 12, 0x00);
}

static void b_tcp_bare(struct fx_frame *f)
{
	fx_eth(f, FX_ETH_P_IP);
	fx_ip4(f, FX_IPPROTO_TCP, FX_IP4_CLIENT, FX_IP4_SERVER, 0);
	fx_tcp(f, 40000, 443, 0);
	fx_finish(f);
}

static void b_tcp_opts_trunc(struct fx_frame *f)
{
	b_tcp_opts3(f);
	f->len = 34 + 24; /* fixed header present, options cut */
}

static void b_tcp_doff_past_ip(struct fx_frame *f)
{
	b_tcp_opts3(f);
	fx_set16(f, 16, 20 + 20); /* IP length covers only 20 of the 32 TCP bytes */
}

static void b_tcp_trunc(struct fx_frame *f)
{
	b_tcp(f);
	f->len = 34 + 19;
}

struct pkt_case {
	const char *name;
	void (*build)(struct fx_frame *f);
	int rc;
	/* checked on XF_OK */
	__u32 l3_off, l4_off, payload_off, payload_len;
	__u8 l4proto, ipv6;
	__u16 sport, dport;
};

#define UDP XF_IPPROTO_UDP
#define TCP XF_IPPROTO_TCP

static const struct pkt_case cases[] = {
	/* Ethernet and VLAN */
	{ "eth_ip4_udp", b_ip4_udp, XF_OK, 14, 34, 42, 10, UDP, 0, 1111, 53 },
	{ "vlan1_8021q", b_vlan1, XF_OK, 18, 38, 46, 10, UDP, 0, 1111, 53 },
	{ "vlan1_8021ad", b_vlan1_ad, XF_OK, 18, 38, 46, 10, UDP, 0, 1111, 53 },
	{ "vlan2_88a8_8100", b_vlan2_qinq, XF_OK, 22, 42, 50, 10, UDP, 0, 1111, 53 },
	{ "vlan2_8100_8100", b_vlan2_qq, XF_OK, 22, 42, 50, 10, UDP, 0, 1111, 53 },
	{ "vlan2_ip6", b_vlan2_ip6, XF_OK, 22, 62, 70, 10, UDP, 1, 1111, 53 },
	{ .name = "vlan3_depth", .build = b_vlan3, .rc = -XF_PE_VLAN_DEPTH },
	{ .name = "vlan3_88a8_depth", .build = b_vlan3_ad, .rc = -XF_PE_VLAN_DEPTH },
	{ .name = "vlan_trunc", .build = b_vlan_trunc, .rc = -XF_PE_VLAN_TRUNC },
	{ .name = "vlan2_trunc", .build = b_vlan2_trunc, .rc = -XF_PE_VLAN_TRUNC },
	{ .name = "eth_trunc_13", .build = b_eth_trunc, .rc = -XF_PE_ETH_TRUNC },
	{ .name = "eth_only", .build = b_eth_only, .rc = -XF_PE_IP4_TRUNC },
	{ .name = "arp_skip", .build = b_arp, .rc = XF_SKIP },
	{ .name = "vlan_arp_skip", .build = b_vlan_arp, .rc = XF_SKIP },
	{ .name = "lldp_skip", .build = b_lldp, .rc = XF_SKIP },
	/* IPv4 */
	{ "ip4_opts_ihl6", b_ip4_opts1, XF_OK, 14, 38, 46, 10, UDP, 0, 1111, 53 },
	{ "ip4_opts_ihl15", b_ip4_opts10, XF_OK, 14, 74, 82, 10, UDP, 0, 1111, 53 },
	{ .name = "ip4_version6", .build = b_ip4_ver6, .rc = -XF_PE_IP4_HDR },
	{ .name = "ip4_version0", .build = b_ip4_ver0, .rc = -XF_PE_IP4_HDR },
	{ .name = "ip4_ihl4", .build = b_ip4_ihl4, .rc = -XF_PE_IP4_HDR },
	{ .name = "ip4_ihl0", .build = b_ip4_ihl0, .rc = -XF_PE_IP4_HDR },
	{ .name = "ip4_totlen_lt_ihl", .build = b_ip4_tot_lt_ihl, .rc = -XF_PE_IP4_HDR },
	{ .name = "ip4_trunc", .build = b_ip4_trunc, .rc = -XF_PE_IP4_TRUNC },
	{ .name = "ip4_opts_trunc", .build = b_ip4_opts_trunc, .rc = -XF_PE_L4_TRUNC },
	{ "ip4_first_fragment", b_ip4_frag_first, XF_OK, 14, 34, 42, 10, UDP, 0, 1111, 53 },
	{ .name = "ip4_later_fragment", .build = b_ip4_frag_later, .rc = -XF_PE_IP_FRAG },
	{ .name = "ip4_last_fragment", .build = b_ip4_frag_last, .rc = -XF_PE_IP_FRAG },
	{ .name = "ip4_max_offset_df", .build = b_ip4_frag_max, .rc = -XF_PE_IP_FRAG },
	{ .name = "ip4_icmp_skip", .build = b_ip4_icmp, .rc = XF_SKIP },
	{ .name = "ip4_totlen_short", .build = b_ip4_tot_short, .rc = -XF_PE_L4_TRUNC },
	{ "ip4_eth_padding", b_ip4_eth_pad, XF_OK, 14, 34, 42, 2, UDP, 0, 1111, 53 },
	{ "ip4_totlen_long_clamped", b_ip4_tot_long, XF_OK, 14, 34, 42, 10, UDP, 0, 1111, 53 },
	{ .name = "ip4_udp_trunc", .build = b_ip4_udp_trunc, .rc = -XF_PE_L4_TRUNC },
	/* IPv6 */
	{ "ip6_udp", b_ip6_udp, XF_OK, 14, 54, 62, 10, UDP, 1, 1111, 53 },
	{ "ip6_hbh_dst_rt_frag", b_ip6_exts, XF_OK, 14, 110, 118, 10, UDP, 1, 1111, 53 },
	{ "ip6_atomic_fragment", b_ip6_frag_atomic, XF_OK, 14, 62, 70, 10, UDP, 1, 1111, 53 },
	{ .name = "ip6_later_fragment", .build = b_ip6_frag_later, .rc = -XF_PE_IP_FRAG },
	{ .name = "ip6_last_fragment", .build = b_ip6_frag_last, .rc = -XF_PE_IP_FRAG },
	{ "ip6_ah", b_ip6_ah, XF_OK, 14, 78, 86, 10, UDP, 1, 1111, 53 },
	{ "ip6_ext_chain_max", b_ip6_ext_max, XF_OK, 14, 54 + 8 * XF_IP6_EXT_MAX,
	  62 + 8 * XF_IP6_EXT_MAX, 10, UDP, 1, 1111, 53 },
	{ .name = "ip6_ext_chain_too_long", .build = b_ip6_ext_over, .rc = -XF_PE_IP6_EXT },
	{ .name = "ip6_ext_to_icmp6_skip", .build = b_ip6_to_icmp6, .rc = XF_SKIP },
	{ .name = "ip6_no_next_header_skip", .build = b_ip6_no_next, .rc = XF_SKIP },
	{ .name = "ip6_ext_trunc", .build = b_ip6_ext_trunc, .rc = -XF_PE_IP6_EXT },
	{ .name = "ip6_ext_past_payload_len", .build = b_ip6_ext_over_plen, .rc = -XF_PE_IP6_EXT },
	{ .name = "ip6_version4", .build = b_ip6_ver4, .rc = -XF_PE_IP6_TRUNC },
	{ .name = "ip6_trunc", .build = b_ip6_trunc, .rc = -XF_PE_IP6_TRUNC },
	{ .name = "ip6_l4_past_window", .build = b_ip6_window, .rc = -XF_PE_HDR_WINDOW },
	{ .name = "ip6_l4_short_frame", .build = b_ip6_window_short, .rc = -XF_PE_L4_TRUNC },
	{ "headers_end_190_in_window", b_window_190, XF_OK, 14, 130, 190, 10, TCP, 1, 2222, 443 },
	{ .name = "headers_end_194_past_window", .build = b_window_194, .rc = -XF_PE_HDR_WINDOW },
	/* TCP */
	{ "tcp_doff5", b_tcp, XF_OK, 14, 34, 54, 10, TCP, 0, 40000, 443 },
	{ "tcp_doff8", b_tcp_opts3, XF_OK, 14, 34, 66, 10, TCP, 0, 40000, 80 },
	{ "tcp_doff15_ip6", b_tcp_doff15, XF_OK, 14, 54, 114, 10, TCP, 1, 40000, 53 },
	{ .name = "tcp_doff4", .build = b_tcp_doff4, .rc = -XF_PE_L4_TRUNC },
	{ .name = "tcp_doff0", .build = b_tcp_doff0, .rc = -XF_PE_L4_TRUNC },
	{ "tcp_bare_segment", b_tcp_bare, XF_OK, 14, 34, 54, 0, TCP, 0, 40000, 443 },
	{ .name = "tcp_opts_trunc", .build = b_tcp_opts_trunc, .rc = -XF_PE_L4_TRUNC },
	{ .name = "tcp_doff_past_ip_len", .build = b_tcp_doff_past_ip, .rc = -XF_PE_L4_TRUNC },
	{ .name = "tcp_trunc", .build = b_tcp_trunc, .rc = -XF_PE_L4_TRUNC },
};

static void run_case(void **state)
{
	const struct pkt_case *c = *state;
	struct fx_frame f;
	struct xf_pkt p;
	int rc;

	fx_init(&f);
	c->build(&f);
	rc = parse(f.d, f.len, &p);
	assert_int_equal(rc, c->rc);
	if (rc != XF_OK)
		return;
	assert_int_equal(p.l3_off, c->l3_off);
	assert_int_equal(p.l4_off, c->l4_off);
	assert_int_equal(p.payload_off, c->payload_off);
	assert_int_equal(p.payload_len, c->payload_len);
	assert_int_equal(p.l4proto, c->l4proto);
	assert_int_equal(p.ipv6, c->ipv6);
	assert_int_equal(p.sport, c->sport);
	assert_int_equal(p.dport, c->dport);
	assert_int_equal(p.csum_off, c->l4proto == UDP ? c->l4_off + 6 : 0);
	assert_true(p.payload_off + p.payload_len <= f.len);
}

/* IPv4 addresses land as ::ffff:a.b.c.d, IPv6 ones verbatim */
static void test_addr_layout(void **state)
{
	static const __u8 v4s[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1 };
	static const __u8 v4d[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 7 };
	struct fx_frame f;
	struct xf_pkt p;

	(void)state;
	fx_init(&f);
	b_vlan2_qinq(&f);
	assert_int_equal(parse(f.d, f.len, &p), XF_OK);
	assert_memory_equal(p.saddr, v4s, 16);
	assert_memory_equal(p.daddr, v4d, 16);

	fx_init(&f);
	b_ip6_exts(&f);
	assert_int_equal(parse(f.d, f.len, &p), XF_OK);
	assert_memory_equal(p.saddr, fx_ip6_client, 16);
	assert_memory_equal(p.daddr, fx_ip6_server, 16);
}

/* ::ffff:a.b.c.d from the helper itself, with bytes that would show sign bugs */
static void test_addr_v4_helper(void **state)
{
	static const __u8 src[4] = { 0xff, 0x80, 0x7f, 0x01 };
	static const __u8 want[16] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x80, 0x7f, 1
	};
	struct xf_buf b = { .p = src, .len = 4 };
	__u8 out[16];

	(void)state;
	memset(out, 0xaa, sizeof(out));
	xf_addr_v4(out, &b, 0);
	assert_memory_equal(out, want, 16);
}

/* xf_parse_eth returns the ethertype and the L3 offset directly */
static void test_parse_eth_direct(void **state)
{
	struct fx_frame f;
	struct xf_buf b;
	__u32 off = 0;

	(void)state;
	fx_init(&f);
	b_vlan2_ip6(&f);
	b.p = f.d;
	b.len = f.len;
	assert_int_equal(xf_parse_eth(&b, &off), XF_ETH_P_IPV6);
	assert_int_equal(off, 22);

	fx_init(&f);
	b_arp(&f);
	b.len = f.len;
	assert_int_equal(xf_parse_eth(&b, &off), FX_ETH_P_ARP);
	assert_int_equal(off, 14);
}

/*
 * Every prefix of a valid frame: shorter than the headers -> an error code
 * (never a crash, never a read past the prefix); at least the headers -> OK
 * with the payload clamped to what the prefix holds.
 */
static void (*const trunc_frames[])(struct fx_frame *) = {
	b_ip4_udp, b_vlan1,	b_vlan2_qinq, b_vlan2_ip6,  b_ip4_opts10,  b_ip6_exts,
	b_ip6_ah,  b_tcp_opts3, b_tcp_doff15, b_window_190, b_ip6_ext_max,
};

static void test_truncate_every_offset(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(trunc_frames); i++) {
		struct fx_frame f;
		struct xf_pkt full, p;
		__u32 len;

		fx_init(&f);
		trunc_frames[i](&f);
		assert_int_equal(parse(f.d, f.len, &full), XF_OK);
		for (len = 0; len < f.len; len++) {
			int rc = parse(f.d, len, &p);

			if (len < full.payload_off) {
				if (rc >= 0 || rc <= -XF_PE_MAX)
					fail_msg("frame %zu prefix %u: rc %d, want an error", i,
						 len, rc);
				if (len < XF_ETH_HLEN)
					assert_int_equal(rc, -XF_PE_ETH_TRUNC);
				continue;
			}
			if (rc != XF_OK)
				fail_msg("frame %zu prefix %u: rc %d, want OK", i, len, rc);
			assert_int_equal(p.payload_off, full.payload_off);
			assert_int_equal(p.payload_len, len - full.payload_off);
			assert_int_equal(p.l4_off, full.l4_off);
		}
	}
}

/* frames longer than the window parse from the window alone */
static void test_long_frame_window(void **state)
{
	struct fx_frame f;
	struct xf_pkt p;
	__u8 big[1400];

	(void)state;
	memset(big, 'x', sizeof(big));
	fx_udp4_frame(&f, 53, big, sizeof(big));
	assert_int_equal(parse(f.d, f.len, &p), XF_OK);
	assert_int_equal(p.payload_off, 42);
	assert_int_equal(p.payload_len, sizeof(big));
}

int main(void)
{
	struct CMUnitTest t[ARRAY_SIZE(cases) + 8];
	size_t i, n = 0;

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		t[n++] = (struct CMUnitTest){ cases[i].name, run_case, NULL, NULL,
					      (void *)&cases[i] };
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_addr_layout);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_addr_v4_helper);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_parse_eth_direct);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_truncate_every_offset);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_long_frame_window);
	return _cmocka_run_group_tests("parse_pkt", t, n, NULL, NULL);
}
