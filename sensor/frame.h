/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * frame.h - the userspace twin of the kernel's per-packet parsing: the same
 * parsers (bpf/parse_*.h) over the same header and payload windows, so that
 * offline replay and tests get exactly the features the kernel computes.
 */
#ifndef XF_FRAME_H
#define XF_FRAME_H

#include <linux/types.h>
#include "exfilter.h"
#include "parse_pkt.h"
#include "parse_dns.h"
#include "parse_tls.h"
#include "parse_http.h"

/* A set of two-label public suffix hashes: the userspace xf_suffixes map. */
struct xf_suffix_set;

/* Is this two-label suffix hash in the set? NULL set: never. */
typedef int (*xf_suffix_fn)(const void *set, __u64 hash);

/* What one frame yielded. kind 0: nothing to report (see err). */
struct xf_frame {
	struct xf_pkt pkt;
	struct xf_name_feat feat;
	__u32 kind; /* enum xf_ev_kind, or 0 */
	int err; /* -enum xf_perr when parsing failed, else 0 */
	__u32 name_off; /* from the start of the frame */
	__u32 name_len;
	__u8 tcp;
};

/*
 * Parse one Ethernet frame as the kernel does. Returns 0 when a name was
 * found, XF_SKIP when the frame is not one exfilter looks at, or -enum
 * xf_perr (also left in f->err).
 */
int xf_frame_parse(const __u8 *data, __u32 len, const struct xf_config *cfg, xf_suffix_fn sfx,
		   const void *sfx_set, struct xf_frame *f);

/* Hash of a dotted name, as the kernel folds it (lower-cases ASCII). */
__u64 xf_name_hash_text(const char *name);

/* Fill a config with the defaults the sensor ships. */
void xf_config_defaults(struct xf_config *cfg);

#endif /* XF_FRAME_H */
