/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * loader.h - load the BPF objects, pin their maps, attach TC clsact, and
 * reach the pinned maps of a running sensor from the control commands.
 */
#ifndef XF_LOADER_H
#define XF_LOADER_H

#include <linux/types.h>
#include "exfilter.h"

#define XF_PIN_DIR_DEFAULT "/sys/fs/bpf/exfilter"
#define XF_IFACES_MAX 8

struct exfilter_tc_bpf;
struct exfilter_sock_bpf;

/* One attached interface; created says whether we made its clsact qdisc. */
struct xf_attach {
	int ifindex;
	int created;
	char name[32];
};

struct xf_loader {
	struct exfilter_tc_bpf *skel;
	char pin_dir[256];
	struct xf_attach ifs[XF_IFACES_MAX];
	int n_ifs;
	struct exfilter_sock_bpf *sock; /* the tap's socket filter, sharing our maps */
	int tap_fd; /* its AF_PACKET socket, -1 = none */
	char tap[32];
	/* the config map's entry, mapped: xf_loader__heartbeat() stores into it */
	struct xf_config *cfg_mm;
};

/* Mount bpffs on /sys/fs/bpf if it is not mounted. */
int xf_bpffs_ensure(void);

/* Open, configure, load, and pin the TC object's maps under pin_dir. */
int xf_loader__open_load(struct xf_loader *l, const char *pin_dir, const struct xf_config *cfg);

/* Map sizes set before load; 0 keeps the object's built-in size. */
struct xf_map_sizes {
	__u32 flows; /* xf_flows entries (kernel.max_flows) */
	__u32 ring_bytes; /* xf_events bytes, a power-of-two number of pages (kernel.ring_kib) */
};

/*
 * xf_loader__open_load() with the maps sized first. Adopting maps pinned
 * with another size fails (-EINVAL): libbpf refuses to reuse them.
 */
int xf_loader__open_load_sized(struct xf_loader *l, const char *pin_dir,
			       const struct xf_config *cfg, const struct xf_map_sizes *sz);

/*
 * Store now (CLOCK_MONOTONIC ns) as the config map's heartbeat_ns, that
 * field alone, through the map's mmap: no syscall, and a concurrent
 * `exfilter mode` or hint write is never undone. The kernel fails open when
 * it is older than failsafe_ms (docs/failsafe.md).
 */
void xf_loader__heartbeat(struct xf_loader *l, __u64 now);

/* Attach ingress and egress on ifname. */
int xf_loader__attach(struct xf_loader *l, const char *ifname);

/* Passive tap: the socket filter on an AF_PACKET socket bound to ifname
 * (promiscuous, for a mirror port), sharing the TC object's maps. */
int xf_loader__tap(struct xf_loader *l, const char *ifname);

/* Detach what we attached (and remove qdiscs we created); unpin unless keep. */
void xf_loader__destroy(struct xf_loader *l, int keep);

/* Open a pinned map of a running sensor: name like "xf_config". */
int xf_pinned_map(const char *pin_dir, const char *name);

/* Fill the suffixes map from a public suffix list file; returns entries added. */
int xf_suffixes_load(int map_fd, const char *psl_path);

#endif /* XF_LOADER_H */
