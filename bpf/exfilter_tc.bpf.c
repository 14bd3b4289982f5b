// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * exfilter_tc.bpf.c - the inline data path: TC clsact ingress and egress.
 * Runs the shared pipeline and, in enforce mode, applies its verdict: drop,
 * or answer a UDP DNS query with REFUSED in place so the client fails fast.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "exfilter.h"
#include "process.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Swap n bytes at a and b in the packet (n <= 16). */
static __always_inline int xf_swap(struct __sk_buff *skb, __u32 a, __u32 b, __u32 n)
{
	__u8 x[16], y[16];

	if (n > 16 || bpf_skb_load_bytes(skb, a, x, n & 31) ||
	    bpf_skb_load_bytes(skb, b, y, n & 31))
		return -1;
	if (bpf_skb_store_bytes(skb, a, y, n & 31, 0) || bpf_skb_store_bytes(skb, b, x, n & 31, 0))
		return -1;
	return 0;
}

/*
 * Turn the query into a REFUSED answer and send it back the way it came.
 * Swapping addresses and ports leaves the IP and UDP checksums unchanged (the
 * sums commute); only the flags word changes, patched incrementally. The
 * question and any OPT record stay as they were: REFUSED echoes them.
 */
static __always_inline int xf_refuse(struct __sk_buff *skb, const struct xf_ctx *x, int ingress)
{
	const struct xf_pkt *p = &x->pkt;
	__u32 flags_off = p->payload_off + 2;
	__u16 oldf = x->feat.dns_flags, newf;
	__be16 o, n;

	newf = (oldf & 0x7900) | 0x8080 | XF_DNS_RCODE_REFUSED; /* QR, opcode, RD, RA */
	o = bpf_htons(oldf);
	n = bpf_htons(newf);
	if (xf_swap(skb, 0, 6, 6))
		return TC_ACT_SHOT;
	if (p->ipv6) {
		if (xf_swap(skb, p->l3_off + 8, p->l3_off + 24, 16))
			return TC_ACT_SHOT;
	} else if (xf_swap(skb, p->l3_off + 12, p->l3_off + 16, 4)) {
		return TC_ACT_SHOT;
	}
	if (xf_swap(skb, p->l4_off, p->l4_off + 2, 2))
		return TC_ACT_SHOT;
	if (bpf_l4_csum_replace(skb, p->csum_off, o, n, BPF_F_MARK_MANGLED_0 | sizeof(n)))
		return TC_ACT_SHOT;
	if (bpf_skb_store_bytes(skb, flags_off, &n, sizeof(n), 0))
		return TC_ACT_SHOT;
	return bpf_redirect(skb->ifindex, ingress ? 0 : BPF_F_INGRESS);
}

/*
 * Fast exit for the common case: an untagged IPv4 (no options) or IPv6 (no
 * extension headers) UDP/TCP packet on none of the configured ports. Read in
 * place, without copying; anything unusual goes down the full path, which
 * reaches the same answer for these and counts what it cannot parse.
 */
static __always_inline int xf_tc_not_ours(struct __sk_buff *skb, const struct xf_config *cfg)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	__u8 proto, *l4;
	__u16 sport, dport;

	if ((void *)(eth + 1) > end)
		return 0;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end || ip->ihl != 5 || (ip->frag_off & bpf_htons(0x1fff)))
			return 0;
		proto = ip->protocol;
		l4 = (void *)(ip + 1);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end)
			return 0;
		proto = ip6->nexthdr;
		l4 = (void *)(ip6 + 1);
	} else {
		return 0;
	}
	if (proto != IPPROTO_UDP && proto != IPPROTO_TCP)
		return proto != 0 && proto != 43 && proto != 44 && proto != 51 && proto != 60;
	if ((void *)(l4 + 4) > end)
		return 0;
	sport = (__u16)(l4[0] << 8 | l4[1]);
	dport = (__u16)(l4[2] << 8 | l4[3]);
	if (sport == cfg->dns_port || dport == cfg->dns_port)
		return 0;
	return proto == IPPROTO_UDP ||
	       (!xf_port_in(cfg->tls_ports, dport) && !xf_port_in(cfg->http_ports, dport));
}

static __always_inline int xf_tc(struct __sk_buff *skb, int ingress)
{
	struct xf_config *cfg;
	struct xf_ctx *x = NULL;
	__u64 *st;
	int act;

	if (xf_lookup_common(&cfg, &st) || xf_tc_not_ours(skb, cfg))
		return TC_ACT_OK;
	act = xf_process(skb, cfg, st, ingress ? XF_EF_INGRESS : 0, 1, &x);
	if (act == XF_ACT_DROP)
		return TC_ACT_SHOT;
	if (act == XF_ACT_REFUSE && x)
		return xf_refuse(skb, x, ingress);
	return TC_ACT_OK;
}

SEC("tc")
int xf_tc_ingress(struct __sk_buff *skb)
{
	return xf_tc(skb, 1);
}

SEC("tc")
int xf_tc_egress(struct __sk_buff *skb)
{
	return xf_tc(skb, 0);
}
