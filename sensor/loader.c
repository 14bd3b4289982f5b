// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * loader.c - the kernel side's lifecycle: open the skeleton, write the
 * config, load, pin every map where the control commands find it, attach TC
 * clsact ingress and egress, and tear down only what this process created.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/socket.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "loader.h"
#include "control.h"
#include "frame.h"
#include "exfilter_tc.skel.h"
#include "exfilter_sock.skel.h"

int xf_bpffs_ensure(void)
{
	struct statfs st;

	if (!statfs("/sys/fs/bpf", &st) && st.f_type == BPF_FS_MAGIC)
		return 0;
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
		fprintf(stderr, "failed to mount bpffs on /sys/fs/bpf: %s\n", strerror(errno));
		return -errno;
	}
	return 0;
}

int xf_pinned_map(const char *pin_dir, const char *name)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", pin_dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		fprintf(stderr,
			"failed to open pinned map %s: %s (is 'exfilter run' running with "
			"--pin-dir %s?)\n",
			path, strerror(errno), pin_dir);
		return -errno;
	}
	return fd;
}

/*
 * Two-label rules of the public suffix list (co.uk, com.au, ...). Their
 * registered domains have three labels; libpsl gives userspace the exact
 * answer for the rarer deeper and wildcard rules.
 */
static int map_add(void *ctx, const char *rule)
{
	__u64 h = xf_name_hash_text(rule);
	__u8 one = 1;

	/* a rule the map cannot take is skipped: libpsl still has it */
	bpf_map_update_elem(*(int *)ctx, &h, &one, BPF_ANY);
	return 0;
}

int xf_suffixes_load(int map_fd, const char *psl_path)
{
	int n = xf_psl_two_label_rules(psl_path, map_add, &map_fd);

	if (n < 0)
		fprintf(stderr,
			"failed to load public suffix list %s: %s (apt-get install publicsuffix)\n",
			psl_path, strerror(-n));
	return n;
}

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

void xf_loader__heartbeat(struct xf_loader *l, __u64 now)
{
	/* one aligned 8-byte store: the programs never see half of it */
	if (l->cfg_mm)
		__atomic_store_n(&l->cfg_mm->heartbeat_ns, now, __ATOMIC_RELAXED);
}

/* Map the config map's one entry (BPF_F_MMAPABLE): offset 0 of the data. */
static int config_mmap(struct xf_loader *l)
{
	long page = sysconf(_SC_PAGESIZE);
	void *p = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED,
		       bpf_map__fd(l->skel->maps.xf_config), 0);

	if (p == MAP_FAILED) {
		fprintf(stderr, "failed to mmap xf_config: %s\n", strerror(errno));
		return -errno;
	}
	l->cfg_mm = p;
	return 0;
}

int xf_loader__open_load(struct xf_loader *l, const char *pin_dir, const struct xf_config *cfg)
{
	return xf_loader__open_load_sized(l, pin_dir, cfg, NULL);
}

static int set_sizes(struct xf_loader *l, const struct xf_map_sizes *sz)
{
	int err = 0;

	if (sz && sz->flows)
		err = bpf_map__set_max_entries(l->skel->maps.xf_flows, sz->flows);
	if (!err && sz && sz->ring_bytes)
		err = bpf_map__set_max_entries(l->skel->maps.xf_events, sz->ring_bytes);
	if (err) {
		fprintf(stderr, "failed to size the kernel maps: %s\n", strerror(-err));
		return err;
	}
	{
		/* xf_rb_wake(): wake the sensor once a quarter of the ring is
		 * unread, looked at every 16 events unless 16 of the largest
		 * records would already pass that quarter (a small ring) */
		__u32 quarter = bpf_map__max_entries(l->skel->maps.xf_events) / 4;

		l->skel->rodata->xf_ring_quarter = quarter;
		l->skel->rodata->xf_wake_mask =
			quarter >= 16 * sizeof(struct xf_event_msg) ? 15 : 0;
	}
	return 0;
}

int xf_loader__open_load_sized(struct xf_loader *l, const char *pin_dir,
			       const struct xf_config *cfg, const struct xf_map_sizes *sz)
{
	struct xf_config kc = *cfg;
	__u32 zero = 0;
	int err;

	memset(l, 0, sizeof(*l));
	l->tap_fd = -1;
	snprintf(l->pin_dir, sizeof(l->pin_dir), "%s", pin_dir);
	err = xf_bpffs_ensure();
	if (err)
		return err;
	l->skel = exfilter_tc_bpf__open();
	if (!l->skel) {
		fprintf(stderr, "failed to open BPF object: %s\n", strerror(errno));
		return -errno;
	}
	err = set_sizes(l, sz);
	if (err)
		return err;
	mkdir(pin_dir, 0700);
	{
		/* maps pinned by a sensor that was killed are adopted, not
		 * replaced: its verdicts, allowlist and counters carry over */
		struct bpf_map *m;
		char path[512];

		bpf_object__for_each_map(m, l->skel->obj) {
			if (!strchr(bpf_map__name(m), '.')) { /* skip .rodata/.bss */
				snprintf(path, sizeof(path), "%s/%s", pin_dir, bpf_map__name(m));
				bpf_map__set_pin_path(m, path);
			}
		}
	}
	err = exfilter_tc_bpf__load(l->skel);
	if (err) {
		fprintf(stderr,
			"failed to load BPF object: %s (run as root on a kernel with BTF%s)\n",
			strerror(-err),
			err == -EINVAL
				? "; maps pinned under this pin_dir by another exfilter "
				  "version or with other kernel.max_flows/ring_kib cannot be "
				  "adopted: stop it and remove the pin_dir"
				: "");
		return err;
	}
	/* fresh from the first packet: fail open must not fire before our first tick */
	kc.heartbeat_ns = mono_ns();
	/*
	 * Adopted verdicts and IP blocks stay looked up: the flags go in with
	 * this write, not after it, because a restarted sensor writes the map
	 * that the old, still attached program reads, and a write without them
	 * would let blocked names through until the sync below.
	 */
	kc.flags |= xf_config_hints_want(bpf_map__fd(l->skel->maps.xf_verdicts),
					 bpf_map__fd(l->skel->maps.xf_ipblock));
	err = bpf_map_update_elem(bpf_map__fd(l->skel->maps.xf_config), &zero, &kc, BPF_ANY);
	if (err)
		return -errno;
	err = config_mmap(l);
	if (err)
		return err;
	/* and once more, for a verdict written while we were writing */
	err = xf_config_hints_sync(bpf_map__fd(l->skel->maps.xf_config),
				   bpf_map__fd(l->skel->maps.xf_verdicts),
				   bpf_map__fd(l->skel->maps.xf_ipblock));
	if (err)
		return err;
	err = xf_suffixes_load(bpf_map__fd(l->skel->maps.xf_suffixes), XF_PSL_PATH);
	if (err < 0)
		return err;
	return 0;
}

int xf_loader__attach(struct xf_loader *l, const char *ifname)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	/* REPLACE: a restarted sensor swaps its program in atomically, with no
	 * moment where the interface has none */
	LIBBPF_OPTS(bpf_tc_opts, in, .handle = 1, .priority = 1, .flags = BPF_TC_F_REPLACE);
	LIBBPF_OPTS(bpf_tc_opts, eg, .handle = 1, .priority = 1, .flags = BPF_TC_F_REPLACE);
	struct xf_attach *a;
	int err;

	if (l->n_ifs >= XF_IFACES_MAX)
		return -E2BIG;
	a = &l->ifs[l->n_ifs];
	a->ifindex = (int)if_nametoindex(ifname);
	if (!a->ifindex) {
		fprintf(stderr, "failed to find interface %s: %s\n", ifname, strerror(errno));
		return -ENODEV;
	}
	snprintf(a->name, sizeof(a->name), "%s", ifname);
	hook.ifindex = a->ifindex;
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		fprintf(stderr, "failed to create clsact on %s: %s\n", ifname, strerror(-err));
		return err;
	}
	a->created = err != -EEXIST;
	hook.attach_point = BPF_TC_INGRESS;
	in.prog_fd = bpf_program__fd(l->skel->progs.xf_tc_ingress);
	err = bpf_tc_attach(&hook, &in);
	if (!err) {
		hook.attach_point = BPF_TC_EGRESS;
		eg.prog_fd = bpf_program__fd(l->skel->progs.xf_tc_egress);
		err = bpf_tc_attach(&hook, &eg);
	}
	if (err) {
		fprintf(stderr, "failed to attach TC programs to %s: %s\n", ifname, strerror(-err));
		l->n_ifs++;
		return err;
	}
	l->n_ifs++;
	return 0;
}

int xf_loader__tap(struct xf_loader *l, const char *ifname)
{
	struct packet_mreq mr = { .mr_type = PACKET_MR_PROMISC };
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	struct bpf_map *m;
	int err, prog_fd;

	sll.sll_ifindex = (int)if_nametoindex(ifname);
	if (!sll.sll_ifindex) {
		fprintf(stderr, "failed to find tap interface %s: %s\n", ifname, strerror(errno));
		return -ENODEV;
	}
	l->sock = exfilter_sock_bpf__open();
	if (!l->sock)
		return -errno;
	/* one set of maps: the tap's events land in the same ring buffer and
	 * its counters in the same flows as the inline path's */
	bpf_object__for_each_map(m, l->sock->obj) {
		struct bpf_map *tc = bpf_object__find_map_by_name(l->skel->obj, bpf_map__name(m));

		if (tc && !strchr(bpf_map__name(m), '.') &&
		    (err = bpf_map__reuse_fd(m, bpf_map__fd(tc)))) {
			fprintf(stderr, "failed to share map %s with the tap: %s\n",
				bpf_map__name(m), strerror(-err));
			return err;
		}
	}
	l->sock->rodata->xf_ring_quarter = l->skel->rodata->xf_ring_quarter;
	l->sock->rodata->xf_wake_mask = l->skel->rodata->xf_wake_mask;
	err = exfilter_sock_bpf__load(l->sock);
	if (err) {
		fprintf(stderr, "failed to load the socket filter: %s\n", strerror(-err));
		return err;
	}
	l->tap_fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (l->tap_fd < 0)
		goto fail;
	prog_fd = bpf_program__fd(l->sock->progs.xf_sock);
	/* attach before bind: no packet is seen unfiltered */
	if (setsockopt(l->tap_fd, SOL_SOCKET, SO_ATTACH_BPF, &prog_fd, sizeof(prog_fd)) ||
	    bind(l->tap_fd, (struct sockaddr *)&sll, sizeof(sll)))
		goto fail;
	mr.mr_ifindex = sll.sll_ifindex;
	if (setsockopt(l->tap_fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)))
		goto fail;
	snprintf(l->tap, sizeof(l->tap), "%s", ifname);
	return 0;
fail:
	err = -errno;
	fprintf(stderr, "failed to open the tap on %s: %s\n", ifname, strerror(errno));
	return err;
}

static void detach_one(struct xf_attach *a)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = a->ifindex);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = 1, .priority = 1);

	if (a->created) {
		/* we made the qdisc: removing it removes our filters too */
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&hook);
		return;
	}
	hook.attach_point = BPF_TC_INGRESS;
	bpf_tc_detach(&hook, &opts);
	hook.attach_point = BPF_TC_EGRESS;
	bpf_tc_detach(&hook, &opts);
}

void xf_loader__destroy(struct xf_loader *l, int keep)
{
	int i;

	if (!keep) {
		for (i = 0; i < l->n_ifs; i++)
			detach_one(&l->ifs[i]);
		if (l->skel) {
			bpf_object__unpin_maps(l->skel->obj, l->pin_dir);
			rmdir(l->pin_dir);
		}
	}
	if (l->tap_fd >= 0)
		close(l->tap_fd);
	l->tap_fd = -1;
	exfilter_sock_bpf__destroy(l->sock);
	l->sock = NULL;
	if (l->cfg_mm)
		munmap(l->cfg_mm, (size_t)sysconf(_SC_PAGESIZE));
	l->cfg_mm = NULL;
	exfilter_tc_bpf__destroy(l->skel);
	l->skel = NULL;
}
