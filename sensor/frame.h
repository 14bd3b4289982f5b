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

/* Debian's copy of the public suffix list (package publicsuffix). */
#define XF_PSL_PATH "/usr/share/publicsuffix/public_suffix_list.dat"

/*
 * Call fn for every plain two-label rule of a public suffix list file: the
 * rules the kernel's xf_suffixes map holds (wildcards, exceptions and
 * deeper rules are libpsl's business). fn returns 0 to go on. Returns the
 * rules passed to fn, or -errno (the file cannot be read, or fn's error).
 */
int xf_psl_two_label_rules(const char *psl_path, int (*fn)(void *ctx, const char *rule), void *ctx);

/*
 * The registered domain the kernel keys a presentation name by: its last
 * two labels, or three when the last two are a known suffix. Points into
 * name (the name itself when it has fewer than three labels).
 */
const char *xf_kernel_rd(const char *name, xf_suffix_fn known, const void *set);

/* The two-label public suffixes of a public suffix list file, as the
 * loader puts them in the kernel's xf_suffixes map. NULL and errno on error. */
struct xf_suffix_set *xf_suffix_set_load(const char *psl_path);
void xf_suffix_set_free(struct xf_suffix_set *s);
/* An xf_suffix_fn over such a set. */
int xf_suffix_set_has(const void *set, __u64 hash);

/* The verdicts and allow entries the kernel would hold (keys as in its maps). */
struct xf_frame_lists {
	const struct xf_vkey *block;
	const struct xf_verdict *block_v; /* one per block key */
	int n_block;
	const struct xf_vkey *allow;
	int n_allow;
};

/*
 * Twin of the kernel's decision for a parsed frame (xf_decide() and
 * xf_allow_check() in bpf/process.bpf.h): verdict entries, the single-query
 * hard limits, the allowlist, REFUSE only for UDP queries. The per-CPU rate
 * limits (kernel.q_limit, kernel.enc_limit) and IP blocks are not modelled.
 */
void xf_frame_decide(const struct xf_config *cfg, const struct xf_frame_lists *l,
		     const struct xf_frame *f, __u8 *action, __u8 *reason, __u8 *flags);

/*
 * The ring buffer record the kernel emits for a frame that parsed (f from
 * xf_frame_parse() over data), stamped ts_ns; action, reason and flags from
 * xf_frame_decide() with l (NULL: no lists) in cfg's mode, never enforced.
 */
void xf_frame_event(const __u8 *data, __u32 len, const struct xf_frame *f,
		    const struct xf_config *cfg, const struct xf_frame_lists *l, __u64 ts_ns,
		    struct xf_event *ev);

/* Hash of a dotted name, as the kernel folds it (lower-cases ASCII). */
__u64 xf_name_hash_text(const char *name);

/* Fill a config with the defaults the sensor ships. */
void xf_config_defaults(struct xf_config *cfg);

#endif /* XF_FRAME_H */
