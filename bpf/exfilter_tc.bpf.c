// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * exfilter_tc.bpf.c - the inline data path: TC clsact ingress and egress.
 * Runs the shared pipeline and, in enforce mode, applies its verdict: drop,
 * or answer a UDP DNS query with REFUSED in place so the client fails fast.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "exfilter.h"
#include "process.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Swap n bytes at a and b in the packet (n <= 16). */
static __always_inline int xf_swap(struct __sk_buff *skb, __u32 a, __u32 b, __u32 n)
{
	__u8 x[16], y[16];

	if (n > 16 || bpf_skb_load_bytes(skb, a, x, n & 31) || bpf_skb_load_bytes(skb, b, y, n & 31))
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

static __always_inline int xf_tc(struct __sk_buff *skb, int ingress)
{
	struct xf_ctx *x = NULL;
	int act;

	act = xf_process(skb, ingress ? XF_EF_INGRESS : 0, 1, &x);
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
