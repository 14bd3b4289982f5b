// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * control.c - list edits, the status report and event rendering for the
 * control commands. Everything goes through the maps a running sensor pinned.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "control.h"
#include "sensor.h"
#include "frame.h"
#include "loader.h"
#include "names.h"

static const char *const reason_names[XF_R_MAX] = {
	[XF_R_NONE] = "none",
	[XF_R_VERDICT_DOMAIN] = "verdict_domain",
	[XF_R_VERDICT_SNI] = "verdict_sni",
	[XF_R_VERDICT_HOST] = "verdict_host",
	[XF_R_IPBLOCK] = "ipblock",
	[XF_R_ENC_LABEL] = "encoded_label",
	[XF_R_BAD_BYTES] = "bad_bytes",
	[XF_R_RATE] = "kernel_rate",
	[XF_R_RATE_ENC] = "kernel_encoded_rate",
};

static const char *const stat_names[XF_S_MAX] = {
	[XF_S_PACKETS] = "packets",
	[XF_S_DNS_QUERIES] = "dns_queries",
	[XF_S_DNS_RESPONSES] = "dns_responses",
	[XF_S_SNI] = "sni",
	[XF_S_HOST] = "http_host",
	[XF_S_EVENTS] = "events",
	[XF_S_RING_FULL] = "ring_full",
	[XF_S_DROPS] = "drops",
	[XF_S_WOULD_DROPS] = "would_drops",
	[XF_S_REFUSED] = "refused",
	[XF_S_ALLOW_HITS] = "allow_hits",
	[XF_S_PARSE_ERRORS] = "parse_errors",
	[XF_S_FAILSAFE_OPEN] = "failsafe_open",
};

static const char *const perr_names[XF_PE_MAX] = {
	[XF_PE_NONE] = "none",
	[XF_PE_ETH_TRUNC] = "eth_trunc",
	[XF_PE_VLAN_TRUNC] = "vlan_trunc",
	[XF_PE_VLAN_DEPTH] = "vlan_depth",
	[XF_PE_IP4_TRUNC] = "ip4_trunc",
	[XF_PE_IP4_HDR] = "ip4_hdr",
	[XF_PE_IP_FRAG] = "ip_frag",
	[XF_PE_IP6_TRUNC] = "ip6_trunc",
	[XF_PE_IP6_EXT] = "ip6_ext",
	[XF_PE_L4_TRUNC] = "l4_trunc",
	[XF_PE_HDR_WINDOW] = "hdr_window",
	[XF_PE_DNS_TRUNC] = "dns_trunc",
	[XF_PE_DNS_QDCOUNT] = "dns_qdcount",
	[XF_PE_DNS_LABEL] = "dns_label",
	[XF_PE_DNS_PTR] = "dns_ptr",
	[XF_PE_DNS_LONG] = "dns_long",
	[XF_PE_DNS_TCPLEN] = "dns_tcplen",
	[XF_PE_TLS_TRUNC] = "tls_trunc",
	[XF_PE_TLS_BAD] = "tls_bad",
	[XF_PE_SNI_BAD] = "sni_bad",
	[XF_PE_HTTP_NOHOST] = "http_nohost",
	[XF_PE_HTTP_BAD] = "http_bad",
};

const char *xf_reason_name(unsigned int r)
{
	return r < XF_R_MAX && reason_names[r] ? reason_names[r] : "unknown";
}

const char *xf_stat_name(unsigned int s)
{
	return s < XF_S_MAX && stat_names[s] ? stat_names[s] : "unknown";
}

const char *xf_perr_name(unsigned int e)
{
	return e < XF_PE_MAX && perr_names[e] ? perr_names[e] : "unknown";
}

const char *xf_action_name(unsigned int a)
{
	return a == XF_ACT_DROP ? "drop" : a == XF_ACT_REFUSE ? "refuse" : "pass";
}

int xf_target_parse(const char *s, struct xf_target *t)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash;
	unsigned long plen;
	size_t i, n;

	memset(t, 0, sizeof(*t));
	if (!strncmp(s, "sni:", 4)) {
		t->kind = XF_T_SNI;
		s += 4;
	} else if (!strncmp(s, "host:", 5)) {
		t->kind = XF_T_HOST;
		s += 5;
	} else if (strlen(s) < sizeof(buf) &&
		   (strchr(s, ':') || strchr(s, '/') || strspn(s, "0123456789.") == strlen(s))) {
		int v6 = strchr(s, ':') != NULL;

		snprintf(buf, sizeof(buf), "%s", s);
		slash = strchr(buf, '/');
		plen = v6 ? 128 : 32;
		if (slash) {
			char *end;

			*slash = 0;
			plen = strtoul(slash + 1, &end, 10);
			if (*end || !slash[1] || plen > (v6 ? 128u : 32u))
				return -EINVAL;
		}
		t->kind = XF_T_CIDR;
		if (v6) {
			if (inet_pton(AF_INET6, buf, t->lpm.addr) != 1)
				return -EINVAL;
			t->lpm.prefixlen = (__u32)plen;
		} else {
			t->lpm.addr[10] = t->lpm.addr[11] = 0xff;
			if (inet_pton(AF_INET, buf, t->lpm.addr + 12) != 1)
				return -EINVAL;
			t->lpm.prefixlen = (__u32)plen + 96;
		}
		return 0;
	}
	n = strlen(s);
	if (n && s[n - 1] == '.')
		n--;
	if (!n || n > 253)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (s[i] == ' ' || !isprint((unsigned char)s[i]))
			return -EINVAL;
		t->name[i] = (char)tolower((unsigned char)s[i]);
	}
	t->name[n] = 0;
	return 0;
}

/*
 * The sensor's own fds for the maps it pinned. After it drops its
 * privileges it can no longer reopen them by path (the pins are root's, and
 * the pin directory 0700), so the live enforce path uses these, duplicated
 * so that callers close what they get either way. Bounded: one per map.
 */
#define HELD_MAX 32

static struct {
	char name[BPF_OBJ_NAME_LEN];
	int fd;
} held[HELD_MAX];
static int n_held;

int xf_control_hold(const char *name, int fd)
{
	if (n_held >= HELD_MAX)
		return -E2BIG;
	snprintf(held[n_held].name, sizeof(held[n_held].name), "%s", name);
	held[n_held++].fd = fd;
	return 0;
}

void xf_control_release(void)
{
	n_held = 0;
}

static int open_map(const char *pin_dir, const char *name)
{
	for (int i = 0; i < n_held; i++) {
		if (!strcmp(held[i].name, name)) {
			int fd = fcntl(held[i].fd, F_DUPFD_CLOEXEC, 0);

			return fd < 0 ? -errno : fd;
		}
	}
	return xf_pinned_map(pin_dir, name);
}

static int pinned_suffix_known(const void *ctx, __u64 h)
{
	int fd = *(const int *)ctx;
	__u8 v;

	return fd >= 0 && !bpf_map_lookup_elem(fd, &h, &v);
}

/*
 * The kernel keys domain verdicts by registered domain; cut a longer name to
 * it with the same rule the kernel uses, and the pinned suffixes map.
 */
static const char *registered_domain(const char *pin_dir, const char *name)
{
	int fd = open_map(pin_dir, "xf_suffixes");
	const char *rd = xf_kernel_rd(name, pinned_suffix_known, &fd);

	if (fd >= 0)
		close(fd);
	return rd;
}

static __u64 now_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

static int map_op(const char *pin_dir, const char *map, int del, const void *key, const void *val)
{
	int fd = open_map(pin_dir, map), err = 0;

	if (fd < 0)
		return fd;
	if (del ? bpf_map_delete_elem(fd, key) : bpf_map_update_elem(fd, key, val, BPF_ANY)) {
		if (!(del && errno == ENOENT)) {
			err = -errno;
			fprintf(stderr, "failed to update %s: %s\n", map, strerror(errno));
		}
	}
	close(fd);
	return err;
}

int xf_config_hint(int config_fd, __u32 flags)
{
	struct xf_config cfg;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(config_fd, &zero, &cfg))
		return -errno;
	if ((cfg.flags & flags) == flags)
		return 0; /* the common case: no write, nothing to race with */
	cfg.flags |= flags;
	return bpf_map_update_elem(config_fd, &zero, &cfg, BPF_ANY) ? -errno : 0;
}

static int map_has_entries(int fd, size_t key_size)
{
	__u8 key[64];

	if (key_size > sizeof(key))
		return 1; /* cannot tell: say yes, which is always safe */
	return !bpf_map_get_next_key(fd, NULL, key) || errno != ENOENT;
}

__u32 xf_config_hints_want(int verdicts_fd, int ipblock_fd)
{
	__u32 want = 0;

	if (verdicts_fd >= 0 && map_has_entries(verdicts_fd, sizeof(struct xf_vkey)))
		want |= XF_CF_VERDICTS;
	if (ipblock_fd >= 0 && map_has_entries(ipblock_fd, sizeof(struct xf_lpm_key)))
		want |= XF_CF_IPBLOCK;
	return want;
}

int xf_config_hints_sync(int config_fd, int verdicts_fd, int ipblock_fd)
{
	__u32 want = xf_config_hints_want(verdicts_fd, ipblock_fd);

	return want ? xf_config_hint(config_fd, want) : 0;
}

/*
 * Set flags in the pinned config map, then write the entry: the kernel looks
 * the map up from the moment the flag is set, so no packet misses the entry.
 * The config is one map value written whole, so a concurrent writer that
 * read it before this one (a mode switch) can put the old flags back; the
 * check after the write narrows that, and xf_config_hints_sync() on the
 * sensor's tick repairs it.
 */
static int map_put_hinted(const char *pin_dir, const char *map, __u32 flag, const void *key,
			  const void *val)
{
	int cfd = open_map(pin_dir, "xf_config"), err;

	if (cfd < 0)
		return cfd;
	err = xf_config_hint(cfd, flag);
	if (err)
		fprintf(stderr, "failed to update xf_config: %s\n", strerror(-err));
	else
		err = map_op(pin_dir, map, 0, key, val);
	if (!err)
		err = xf_config_hint(cfd, flag);
	close(cfd);
	return err;
}

int xf_target_apply(const char *pin_dir, const struct xf_target *t, const char *verb, int action,
		    __u32 ttl_s)
{
	struct xf_verdict v = { .action = (__u8)action };
	struct xf_vkey k = { 0 };
	int del = !strcmp(verb, "unblock"), err;
	__u8 one = 1;

	if (ttl_s)
		v.expires_ns = now_mono_ns() + (__u64)ttl_s * 1000000000ULL;
	if (t->kind == XF_T_CIDR) {
		if (!strcmp(verb, "allow")) {
			fprintf(stderr, "allow takes a domain, not an address\n");
			return -EINVAL;
		}
		v.reason = XF_R_IPBLOCK;
		if (del)
			return map_op(pin_dir, "xf_ipblock", 1, &t->lpm, NULL);
		return map_put_hinted(pin_dir, "xf_ipblock", XF_CF_IPBLOCK, &t->lpm, &v);
	}
	if (t->kind == XF_T_DOMAIN) {
		const char *rd = registered_domain(pin_dir, t->name);

		if (rd != t->name)
			fprintf(stderr, "note: %s applies to its registered domain %s\n", t->name,
				rd);
		k.kind = XF_VK_DOMAIN;
		k.hash = xf_name_hash_text(rd);
		v.reason = XF_R_VERDICT_DOMAIN;
	} else {
		k.kind = t->kind == XF_T_SNI ? XF_VK_SNI : XF_VK_HOST;
		k.hash = xf_name_hash_text(t->name);
		v.reason = t->kind == XF_T_SNI ? XF_R_VERDICT_SNI : XF_R_VERDICT_HOST;
	}
	if (del) {
		err = map_op(pin_dir, "xf_verdicts", 1, &k, NULL);
		return err ? err : map_op(pin_dir, "xf_allow", 1, &k, NULL);
	}
	if (!strcmp(verb, "allow"))
		return map_op(pin_dir, "xf_allow", 0, &k, &one);
	return map_put_hinted(pin_dir, "xf_verdicts", XF_CF_VERDICTS, &k, &v);
}

/*
 * The failsafe choice and the heartbeat's age (docs/failsafe.md). "open now"
 * is the kernel's own test (xf_failsafe_open()): enforce mode, fail open, and
 * a heartbeat older than failsafe_ms.
 */
static void failsafe_print(const struct xf_config *cfg, int json)
{
	__u64 now = now_mono_ns();
	long long age = -1;
	int open_now;

	if (cfg->heartbeat_ns)
		age = now > cfg->heartbeat_ns ? (long long)((now - cfg->heartbeat_ns) / 1000000)
					      : 0;
	open_now = cfg->mode == XF_MODE_ENFORCE && cfg->failsafe_ms &&
		   now > cfg->heartbeat_ns + (__u64)cfg->failsafe_ms * 1000000ULL;
	if (json) {
		printf(",\"failsafe\":{\"on_crash\":\"%s\",\"heartbeat_ms\":%u,",
		       cfg->failsafe_ms ? "open" : "closed", cfg->failsafe_ms);
		if (age < 0)
			printf("\"heartbeat_age_ms\":null,");
		else
			printf("\"heartbeat_age_ms\":%lld,", age);
		printf("\"open_now\":%s}", open_now ? "true" : "false");
		return;
	}
	if (cfg->failsafe_ms)
		printf("failsafe: open (enforcement stops %u ms after the last heartbeat)\n",
		       cfg->failsafe_ms);
	else
		printf("failsafe: closed (enforcement continues without a sensor)\n");
	if (age < 0)
		printf("heartbeat: never\n");
	else
		printf("heartbeat: %lld ms ago%s\n", age,
		       open_now ? " (stale: failing open, nothing is dropped)" : "");
}

int xf_status_print(const char *pin_dir, int stats_fd, int json)
{
	int ncpu = libbpf_num_possible_cpus(), cfd, i, c;
	__u64 sum[XF_STATS_LEN] = { 0 }, *vals;
	struct xf_config cfg = { 0 };
	__u32 zero = 0;

	if (ncpu <= 0)
		return -EINVAL;
	vals = calloc((size_t)ncpu, sizeof(sum));
	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(stats_fd, &zero, vals)) {
		fprintf(stderr, "failed to read stats: %s\n", strerror(errno));
		free(vals);
		return -errno;
	}
	for (c = 0; c < ncpu; c++)
		for (i = 0; i < XF_STATS_LEN; i++)
			sum[i] += vals[(size_t)c * XF_STATS_LEN + i];
	free(vals);
	cfd = xf_pinned_map(pin_dir, "xf_config");
	if (cfd >= 0) {
		bpf_map_lookup_elem(cfd, &zero, &cfg);
		close(cfd);
	}
	printf(json ? "{\"mode\":\"%s\"" : "mode: %s\n",
	       cfg.mode == XF_MODE_ENFORCE ? "enforce" : "monitor");
	failsafe_print(&cfg, json);
	for (i = 0; i < XF_S_MAX; i++)
		printf(json ? ",\"%s\":%llu" : "%-16s %llu\n", xf_stat_name(i),
		       (unsigned long long)sum[i]);
	printf(json ? ",\"parse_error\":{" : "parse errors by reason:\n");
	for (i = 1, c = 0; i < XF_PE_MAX; i++) {
		if (json)
			printf("%s\"%s\":%llu", c++ ? "," : "", xf_perr_name(i),
			       (unsigned long long)sum[XF_STAT_PERR(i)]);
		else if (sum[XF_STAT_PERR(i)])
			printf("  %-14s %llu\n", xf_perr_name(i),
			       (unsigned long long)sum[XF_STAT_PERR(i)]);
	}
	printf(json ? "}" : "");
	{
		/* the running sensor's own counters: alerts, exports, backlog */
		char path[4096], line[8192];
		FILE *f;

		xf_state_path(pin_dir, path, sizeof(path));
		f = fopen(path, "r");
		if (f && fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\n")] = 0;
			/* written by a sensor that may run as run_as: nothing but
			 * what it writes reaches root's terminal */
			if (!xf_json_line_ok(line, strlen(line)))
				printf(json ? ",\"sensor\":null"
					    : "sensor: %s has control or non-ASCII "
					      "bytes: not shown\n",
				       path);
			else
				printf(json ? ",\"sensor\":%s" : "sensor: %s\n", line);
		} else {
			printf(json ? ",\"sensor\":null" : "sensor: not running (no %s)\n", path);
		}
		if (f)
			fclose(f);
	}
	printf(json ? "}\n" : "");
	return 0;
}
