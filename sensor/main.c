// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * main.c - the exfilter command line: git-style subcommands that run the
 * data path (run) and steer a running one through its pinned maps (mode,
 * block, allow, unblock, status).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "loader.h"
#include "frame.h"
#include "control.h"
#include "exfilter_tc.skel.h"

#define XF_VERSION "0.1.0"

/* Exit codes */
enum { XF_EXIT_OK = 0, XF_EXIT_FAIL = 1, XF_EXIT_USAGE = 2 };

static volatile sig_atomic_t stop;
static const char *pin_dir = XF_PIN_DIR_DEFAULT;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	/* libbpf is one level quieter than us: its warnings are our debug */
	if (level == LIBBPF_DEBUG || (level == LIBBPF_INFO && !getenv("XF_DEBUG")))
		return 0;
	return vfprintf(stderr, fmt, args);
}

static int parse_u32(const char *key, const char *s, __u32 max, __u32 *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || !*s || *end || v > max) {
		fprintf(stderr, "invalid value for %s: '%s' (expected 0..%u)\n", key, s, max);
		return -EINVAL;
	}
	*out = (__u32)v;
	return 0;
}

static int parse_mode(const char *s, __u32 *mode)
{
	if (!strcmp(s, "monitor"))
		*mode = XF_MODE_MONITOR;
	else if (!strcmp(s, "enforce"))
		*mode = XF_MODE_ENFORCE;
	else {
		fprintf(stderr, "invalid value for mode: '%s' (expected monitor or enforce)\n", s);
		return -EINVAL;
	}
	return 0;
}

static int handle_event(void *ctx, void *data, size_t len)
{
	char line[4096];

	(void)ctx;
	if (len < sizeof(struct xf_event))
		return 0;
	if (xf_event_json(data, line, sizeof(line)) > 0) {
		fputs(line, stdout);
		fputc('\n', stdout);
		fflush(stdout);
	}
	return 0;
}

static const char run_usage[] =
	"usage: exfilter run --iface IF[,IF...] [options]\n"
	"\n"
	"Load the exfilter BPF programs, attach them to TC clsact ingress and egress\n"
	"of each interface, pin the maps, and print one JSON line per kernel event\n"
	"until SIGINT or SIGTERM.\n"
	"\n"
	"  -i, --iface IF[,IF...]  interfaces to attach (required)\n"
	"  -m, --mode MODE         monitor (default: alert only) or enforce (drop)\n"
	"  -p, --pin-dir DIR       where maps are pinned (default " XF_PIN_DIR_DEFAULT ")\n"
	"      --events-all        an event for every query, not only notable ones\n"
	"      --enc-label-drop N  hard limit: drop a query with an encoded label of\n"
	"                          N or more bytes (0 = off, default 40)\n"
	"      --kenc-limit N      per-CPU encoded queries per flow per window before\n"
	"                          the kernel drops on its own (0 = off, default 200)\n"
	"      --keep              leave programs attached and maps pinned on exit, so\n"
	"                          enforcement survives a sensor restart\n";

static int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "iface", required_argument, 0, 'i' },
		{ "mode", required_argument, 0, 'm' },
		{ "pin-dir", required_argument, 0, 'p' },
		{ "events-all", no_argument, 0, 'E' },
		{ "enc-label-drop", required_argument, 0, 'L' },
		{ "kenc-limit", required_argument, 0, 'K' },
		{ "keep", no_argument, 0, 'k' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	struct xf_loader l;
	struct xf_config cfg;
	struct ring_buffer *rb = NULL;
	char *ifaces = NULL, *tok, *save;
	int c, err, keep = 0;

	xf_config_defaults(&cfg);
	while ((c = getopt_long(argc, argv, "i:m:p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			ifaces = optarg;
			break;
		case 'm':
			if (parse_mode(optarg, &cfg.mode))
				return XF_EXIT_USAGE;
			break;
		case 'p':
			pin_dir = optarg;
			break;
		case 'E':
			cfg.flags |= XF_CF_EVENTS_ALL;
			break;
		case 'L':
			if (parse_u32("--enc-label-drop", optarg, 255, &cfg.enc_label_drop))
				return XF_EXIT_USAGE;
			break;
		case 'K':
			if (parse_u32("--kenc-limit", optarg, UINT_MAX, &cfg.kenc_limit))
				return XF_EXIT_USAGE;
			break;
		case 'k':
			keep = 1;
			break;
		case 'h':
			fputs(run_usage, stdout);
			return XF_EXIT_OK;
		default:
			fputs(run_usage, stderr);
			return XF_EXIT_USAGE;
		}
	}
	if (!ifaces) {
		fprintf(stderr, "missing required option --iface\n%s", run_usage);
		return XF_EXIT_USAGE;
	}
	if (geteuid() != 0)
		fprintf(stderr, "warning: not root; loading BPF needs CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON\n");
	err = xf_loader__open_load(&l, pin_dir, &cfg);
	for (tok = strtok_r(ifaces, ",", &save); !err && tok; tok = strtok_r(NULL, ",", &save))
		err = xf_loader__attach(&l, tok);
	if (!err) {
		rb = ring_buffer__new(bpf_map__fd(l.skel->maps.xf_events), handle_event, NULL, NULL);
		if (!rb)
			err = -errno;
	}
	if (err) {
		xf_loader__destroy(&l, 0);
		return XF_EXIT_FAIL;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	fprintf(stderr, "exfilter: attached to %s in %s mode, maps pinned under %s\n", ifaces,
		cfg.mode == XF_MODE_ENFORCE ? "enforce" : "monitor", pin_dir);
	while (!stop) {
		err = ring_buffer__poll(rb, 200);
		if (err < 0 && err != -EINTR) {
			fprintf(stderr, "failed to poll ring buffer: %s\n", strerror(-err));
			break;
		}
	}
	ring_buffer__consume(rb);
	ring_buffer__free(rb);
	xf_loader__destroy(&l, keep);
	return XF_EXIT_OK;
}

static int cmd_mode(int argc, char **argv)
{
	struct xf_config cfg;
	__u32 zero = 0;
	int fd;

	if (argc < 2 || !strcmp(argv[1], "--help")) {
		fputs("usage: exfilter mode monitor|enforce\n\nSwitch the running sensor's mode "
		      "through its pinned config map: no restart, no packet lost.\n",
		      argc < 2 ? stderr : stdout);
		return argc < 2 ? XF_EXIT_USAGE : XF_EXIT_OK;
	}
	if (parse_mode(argv[1], &cfg.mode))
		return XF_EXIT_USAGE;
	fd = xf_pinned_map(pin_dir, "xf_config");
	if (fd < 0)
		return XF_EXIT_FAIL;
	{
		__u32 mode = cfg.mode;

		if (bpf_map_lookup_elem(fd, &zero, &cfg)) {
			fprintf(stderr, "failed to read config: %s\n", strerror(errno));
			return XF_EXIT_FAIL;
		}
		/* one word changes; every CPU sees it on its next packet */
		cfg.mode = mode;
	}
	if (bpf_map_update_elem(fd, &zero, &cfg, BPF_ANY)) {
		fprintf(stderr, "failed to write config: %s\n", strerror(errno));
		return XF_EXIT_FAIL;
	}
	printf("mode %s\n", argv[1]);
	return XF_EXIT_OK;
}

static const char list_usage[] =
	"usage: exfilter block|allow|unblock TARGET [--action drop|refuse] [--ttl SECONDS]\n"
	"\n"
	"TARGET is a registered domain (example.com: every name under it), sni:NAME\n"
	"(an exact TLS server_name), host:NAME (an exact HTTP Host), or an IP\n"
	"address or CIDR (IPv4 or IPv6). block writes a verdict, allow an allowlist\n"
	"entry (allowlisted domains are never dropped), unblock removes both.\n";

static int cmd_list(int argc, char **argv, const char *verb)
{
	static const struct option opts[] = {
		{ "action", required_argument, 0, 'a' },
		{ "ttl", required_argument, 0, 't' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	struct xf_target t;
	__u32 ttl = 0;
	int c, action = XF_ACT_DROP, err;

	optind = 1;
	while ((c = getopt_long(argc, argv, "a:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			if (!strcmp(optarg, "drop"))
				action = XF_ACT_DROP;
			else if (!strcmp(optarg, "refuse"))
				action = XF_ACT_REFUSE;
			else {
				fprintf(stderr, "invalid value for --action: '%s' (drop or refuse)\n",
					optarg);
				return XF_EXIT_USAGE;
			}
			break;
		case 't':
			if (parse_u32("--ttl", optarg, 10 * 365 * 86400, &ttl))
				return XF_EXIT_USAGE;
			break;
		case 'h':
			fputs(list_usage, stdout);
			return XF_EXIT_OK;
		default:
			fputs(list_usage, stderr);
			return XF_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fputs(list_usage, stderr);
		return XF_EXIT_USAGE;
	}
	if (xf_target_parse(argv[optind], &t)) {
		fprintf(stderr, "invalid target: '%s'\n%s", argv[optind], list_usage);
		return XF_EXIT_USAGE;
	}
	err = xf_target_apply(pin_dir, &t, verb, action, ttl);
	if (err)
		return XF_EXIT_FAIL;
	printf("%s %s\n", verb, argv[optind]);
	return XF_EXIT_OK;
}

static int cmd_status(int argc, char **argv)
{
	int fd, json = argc > 1 && !strcmp(argv[1], "--json");

	if (argc > 1 && !json) {
		fputs("usage: exfilter status [--json]\n\nPrint the running sensor's mode and "
		      "kernel counters (summed over CPUs).\n",
		      strcmp(argv[1], "--help") ? stderr : stdout);
		return strcmp(argv[1], "--help") ? XF_EXIT_USAGE : XF_EXIT_OK;
	}
	fd = xf_pinned_map(pin_dir, "xf_stats");
	if (fd < 0)
		return XF_EXIT_FAIL;
	return xf_status_print(pin_dir, fd, json) ? XF_EXIT_FAIL : XF_EXIT_OK;
}

static const char usage[] =
	"usage: exfilter [--pin-dir DIR] COMMAND [ARGS]\n"
	"\n"
	"Catch and stop data leaving through DNS tunnels, with TLS SNI and HTTP Host\n"
	"as second signals.\n"
	"\n"
	"commands:\n"
	"  run       attach to interfaces and report (see exfilter run --help)\n"
	"  mode      switch a running sensor: monitor or enforce\n"
	"  block     block a domain, sni:NAME, host:NAME or IP/CIDR\n"
	"  allow     allowlist a domain (never dropped)\n"
	"  unblock   remove a block or allow entry\n"
	"  status    mode and kernel counters\n"
	"  version   print the version\n";

int main(int argc, char **argv)
{
	int i = 1;

	libbpf_set_print(libbpf_print);
	if (i + 1 < argc && !strcmp(argv[i], "--pin-dir")) {
		pin_dir = argv[i + 1];
		i += 2;
	}
	if (i >= argc || !strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
		fputs(usage, i >= argc ? stderr : stdout);
		return i >= argc ? XF_EXIT_USAGE : XF_EXIT_OK;
	}
	argc -= i;
	argv += i;
	if (!strcmp(argv[0], "run"))
		return cmd_run(argc, argv);
	if (!strcmp(argv[0], "mode"))
		return cmd_mode(argc, argv);
	if (!strcmp(argv[0], "block") || !strcmp(argv[0], "allow") || !strcmp(argv[0], "unblock"))
		return cmd_list(argc, argv, argv[0]);
	if (!strcmp(argv[0], "status"))
		return cmd_status(argc, argv);
	if (!strcmp(argv[0], "version")) {
		printf("exfilter %s (event v%d)\n", XF_VERSION, XF_EVENT_VERSION);
		return XF_EXIT_OK;
	}
	fprintf(stderr, "unknown command '%s'\n%s", argv[0], usage);
	return XF_EXIT_USAGE;
}
