/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * control.h - what the control commands share: list targets (domain, sni:,
 * host:, IP/CIDR), the status report, and the names of the
 * ABI's codes.
 */
#ifndef XF_CONTROL_H
#define XF_CONTROL_H

#include <stddef.h>
#include <linux/types.h>
#include "exfilter.h"

enum xf_target_kind { XF_T_DOMAIN, XF_T_SNI, XF_T_HOST, XF_T_CIDR };

struct xf_target {
	enum xf_target_kind kind;
	char name[256]; /* lower-case, no trailing dot */
	struct xf_lpm_key lpm; /* XF_T_CIDR */
};

/* Parse "example.com", "sni:NAME", "host:NAME", "10.0.0.0/8", "2001:db8::/32". */
int xf_target_parse(const char *s, struct xf_target *t);

/*
 * Hand the maps' own fds (name as pinned, "xf_verdicts") to the list edits
 * below, which otherwise open the pins under pin_dir by path: a sensor that
 * dropped its privileges cannot. The fds stay the caller's; release before
 * closing them.
 */
int xf_control_hold(const char *name, int fd);
void xf_control_release(void);

/* block/allow/unblock a target in the pinned maps under pin_dir (or the
 * held fds, see xf_control_hold()). */
int xf_target_apply(const char *pin_dir, const struct xf_target *t, const char *verb, int action,
		    __u32 ttl_s);

/*
 * Set flags (XF_CF_VERDICTS, XF_CF_IPBLOCK: "this map may hold entries, look
 * it up") in the config map; never clears. No write when they are set.
 */
int xf_config_hint(int config_fd, __u32 flags);

/*
 * Set the hint flag of each of the verdicts and ipblock maps (fd, or -1 to
 * skip) that holds entries. For the loader (adopted pinned maps) and for any
 * writer of the whole config map: call it after such a write, and on the
 * sensor's tick, so a flag lost to a concurrent config write comes back.
 */
int xf_config_hints_sync(int config_fd, int verdicts_fd, int ipblock_fd);

/* The hint flags that the verdicts and ipblock maps (fd, or -1) call for. */
__u32 xf_config_hints_want(int verdicts_fd, int ipblock_fd);

/* Print mode and counters summed over CPUs, as text or one JSON object. */
int xf_status_print(const char *pin_dir, int stats_fd, int json);

/* Names of codes, stable: they appear in JSON and in schemas/reasons.md. */
const char *xf_reason_name(unsigned int r);
const char *xf_stat_name(unsigned int s);
const char *xf_perr_name(unsigned int e);
const char *xf_action_name(unsigned int a);

#endif /* XF_CONTROL_H */
