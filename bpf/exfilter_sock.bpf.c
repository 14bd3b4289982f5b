// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * exfilter_sock.bpf.c - the passive data path: a socket filter on an
 * AF_PACKET socket bound to a mirror port. It runs the same pipeline as the
 * TC programs but can never drop (would-drops are counted), and it returns 0
 * so no packet is ever queued to its socket: the maps and the ring buffer
 * carry everything userspace needs.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "exfilter.h"
#include "process.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("socket")
int xf_sock(struct __sk_buff *skb)
{
	struct xf_config *cfg;
	struct xf_ctx *x = NULL;
	__u64 *st;

	if (!xf_lookup_common(&cfg, &st))
		xf_process(skb, cfg, st, 0, 0, &x);
	return 0;
}
