// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * main.c - the exfilter command line: git-style subcommands that run the
 * data path (run), replay captures through it (replay), and steer a running
 * one through its pinned maps (mode, block, allow, unblock, status).
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
#include "alert.h"
#include "frame.h"
#include "control.h"
#include "config.h"
#include "outbox.h"
#include "replay.h"
#include "sensor.h"
#include "exfilter_tc.skel.h"
#include <net/if.h>

#define XF_VERSION "0.1.0"

/* Exit codes */
enum { XF_EXIT_OK = 0, XF_EXIT_FAIL = 1, XF_EXIT_USAGE = 2 };

static volatile sig_atomic_t stop;
static const char *pin_dir = XF_PIN_DIR_DEFAULT;
static int pin_dir_set;

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

static const char run_usage[] =
	"usage: exfilter run [--config FILE] [--iface IF[,IF...]] [options]\n"
	"\n"
	"Load the exfilter BPF programs, attach them to TC clsact ingress and egress\n"
	"of each interface, pin the maps, and run the sensor: kernel events feed a\n"
	"flow table (client x registered domain) that is scored every tick; alerts\n"
	"are committed to SQLite, then exported (JSON lines, Kafka). In enforce mode\n"
	"a domain that scores over detect.block_threshold is blocked in the kernel.\n"
	"SIGINT or SIGTERM flush everything and detach.\n"
	"\n"
	"  -c, --config FILE       YAML config (see exfilter.example.yaml); options\n"
	"                          below override it\n"
	"  -i, --iface IF[,IF...]  interfaces to attach inline, TC (key: interfaces)\n"
	"  -T, --tap IF            a passive mirror port: socket filter on AF_PACKET,\n"
	"                          monitor only (key: tap)\n"
	"  -m, --mode MODE         monitor (alert only) or enforce (key: mode)\n"
	"  -p, --pin-dir DIR       where maps are pinned (default " XF_PIN_DIR_DEFAULT ")\n"
	"  -d, --db PATH           the SQLite alert store (key: store.path)\n"
	"  -j, --jsonl PATH        JSON lines sink: a file, or - for stdout\n"
	"  -s, --set KEY=VALUE     set any config key, e.g. --set detect.threshold=70\n"
	"      --events-all        an event for every query (key: kernel.events_all)\n"
	"      --enc-label-drop N  hard limit: drop a query with an encoded label of\n"
	"                          N or more bytes, 0 = off (key: kernel.enc_label_drop)\n"
	"      --kenc-limit N      per-CPU encoded queries per flow per window before\n"
	"                          the kernel drops on its own (key: kernel.enc_limit)\n"
	"      --keep              leave programs attached and maps pinned on exit, so\n"
	"                          enforcement survives a sensor restart (key: keep_pinned)\n"
	"      --user USER         once attached, drop every capability and run as USER\n"
	"                          (key: run_as; capabilities are dropped without it too)\n"
	"\n"
	"Exit status: 0 after a clean stop, 1 on a runtime error, 2 on a bad option\n"
	"or config value (the message names the key).\n";

static int set_key(struct xf_sensor_cfg *c, const char *key, const char *val)
{
	char err[512];

	if (xf_sensor_cfg_set(c, key, val, err, sizeof(err))) {
		fprintf(stderr, "exfilter: %s\n", err);
		return -1;
	}
	return 0;
}

/* --set KEY=VALUE */
static int set_pair(struct xf_sensor_cfg *c, char *arg)
{
	char *eq = strchr(arg, '=');
	int rc;

	if (!eq) {
		fprintf(stderr, "exfilter: --set: expected KEY=VALUE, got '%s'\n", arg);
		return -1;
	}
	*eq = 0;
	rc = set_key(c, arg, eq + 1);
	*eq = '=';
	return rc;
}

/*
 * The first pass over a subcommand's options: --config (the file goes first,
 * the other options over it, whatever their order) and --help. Returns -1 to
 * go on, or the exit status (help printed, or a bad option).
 */
static int config_pass(int argc, char **argv, const char *shortopts, const struct option *opts,
		       const char *usage, const char **config)
{
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		if (c == 'c') {
			*config = optarg;
		} else if (c == 'h') {
			fputs(usage, stdout);
			return XF_EXIT_OK;
		} else if (c == '?') {
			fputs(usage, stderr);
			return XF_EXIT_USAGE;
		}
	}
	return -1;
}

static int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, 0, 'c' },
		{ "iface", required_argument, 0, 'i' },
		{ "tap", required_argument, 0, 'T' },
		{ "mode", required_argument, 0, 'm' },
		{ "pin-dir", required_argument, 0, 'p' },
		{ "db", required_argument, 0, 'd' },
		{ "jsonl", required_argument, 0, 'j' },
		{ "set", required_argument, 0, 's' },
		{ "events-all", no_argument, 0, 'E' },
		{ "enc-label-drop", required_argument, 0, 'L' },
		{ "kenc-limit", required_argument, 0, 'K' },
		{ "keep", no_argument, 0, 'k' },
		{ "user", required_argument, 0, 'u' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	static struct xf_sensor_cfg cfg; /* large: keep it off the stack */
	char err[512];
	const char *config = NULL;
	int c, rc;

	rc = config_pass(argc, argv, "c:i:T:m:p:d:j:s:h", opts, run_usage, &config);
	if (rc >= 0)
		return rc;
	if (optind < argc) {
		fprintf(stderr, "exfilter run: unexpected argument '%s'\n", argv[optind]);
		return XF_EXIT_USAGE;
	}
	xf_sensor_cfg_defaults(&cfg);
	if (pin_dir_set)
		snprintf(cfg.pin_dir, sizeof(cfg.pin_dir), "%s", pin_dir);
	if (config && xf_sensor_cfg_load(&cfg, config, err, sizeof(err))) {
		fprintf(stderr, "exfilter: %s\n", err);
		return XF_EXIT_USAGE;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:i:T:m:p:d:j:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			rc = set_key(&cfg, "interfaces", optarg);
			break;
		case 'T':
			rc = set_key(&cfg, "tap", optarg);
			break;
		case 'm':
			rc = set_key(&cfg, "mode", optarg);
			break;
		case 'p':
			rc = set_key(&cfg, "pin_dir", optarg);
			break;
		case 'd':
			rc = set_key(&cfg, "store.path", optarg);
			break;
		case 'j':
			rc = set_key(&cfg, "sinks.jsonl.path", optarg);
			if (!rc)
				rc = set_key(&cfg, "sinks.jsonl.enabled", "true");
			break;
		case 's':
			rc = set_pair(&cfg, optarg);
			break;
		case 'E':
			rc = set_key(&cfg, "kernel.events_all", "true");
			break;
		case 'L':
			rc = set_key(&cfg, "kernel.enc_label_drop", optarg);
			break;
		case 'K':
			rc = set_key(&cfg, "kernel.enc_limit", optarg);
			break;
		case 'k':
			rc = set_key(&cfg, "keep_pinned", "true");
			break;
		case 'u':
			rc = set_key(&cfg, "run_as", optarg);
			break;
		default:
			rc = 0;
			break;
		}
		if (rc)
			return XF_EXIT_USAGE;
	}
	if (xf_sensor_cfg_check(&cfg, err, sizeof(err))) {
		fprintf(stderr, "exfilter: %s\n", err);
		return XF_EXIT_USAGE;
	}
	if (!cfg.n_ifaces && !cfg.tap[0]) {
		fprintf(stderr, "exfilter: interfaces: at least one interface is needed "
				"(--iface or the config key)\n");
		return XF_EXIT_USAGE;
	}
	if (cfg.tap[0] && !if_nametoindex(cfg.tap)) {
		fprintf(stderr, "exfilter: tap: no such interface '%s'\n", cfg.tap);
		return XF_EXIT_USAGE;
	}
	for (int i = 0; i < cfg.n_ifaces; i++)
		if (!if_nametoindex(cfg.ifaces[i])) {
			fprintf(stderr, "exfilter: interfaces: no such interface '%s'\n",
				cfg.ifaces[i]);
			return XF_EXIT_USAGE;
		}
	if (geteuid() != 0) {
		fprintf(stderr, "exfilter: run needs root (CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON "
				"and CAP_SYS_ADMIN to mount bpffs)\n");
		return XF_EXIT_FAIL;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	rc = xf_sensor_run(&cfg, &stop);
	xf_sensor_cfg_free(&cfg);
	return rc ? XF_EXIT_FAIL : XF_EXIT_OK;
}

static const char replay_usage[] =
	"usage: exfilter replay FILE... [--config F] [--set KEY=VALUE] [--format json|table]\n"
	"                       [--db FILE] [--report FILE.html] [--eval FILE.tsv]\n"
	"                       [--truth FILE] [--kernel]\n"
	"\n"
	"Run pcap and pcapng captures (Ethernet, Linux SLL and SLL2, raw IP, loopback)\n"
	"through the same parsers, flow table, detectors and scorer as `exfilter run`,\n"
	"with packet time as the clock: the flow table ticks every flows.tick_ms of\n"
	"capture time, and once at the end. Every packet is observed (live sees the\n"
	"kernel's events only). Files are read in the order given, as one stream.\n"
	"Alerts go to stdout; a progress bar and, at the end, a summary (packets,\n"
	"DNS, parse errors by reason, alerts) go to stderr. Replay never blocks\n"
	"anything: what enforce mode would block is reported as would-block.\n"
	"Without --kernel it needs no privilege.\n"
	"\n"
	"  -c, --config FILE       YAML config, as for run (detect.*, flows.*, kernel.*,\n"
	"                          resolvers, allow, block, geoip.*); options override it\n"
	"  -s, --set KEY=VALUE     set any config key, e.g. --set detect.threshold=70\n"
	"  -f, --format FMT        json: one ECS alert per line, the schema of live\n"
	"                          alerts (schemas/alert.schema.json), an updated alert\n"
	"                          again under the same id; table: one row per alert\n"
	"                          (default json)\n"
	"  -d, --db FILE           also store alerts in SQLite through the outbox, as\n"
	"                          the live sensor does (query with exfilter alerts --db)\n"
	"  -r, --report FILE.html  write the tuning report: per registered domain the\n"
	"                          score, detectors, queries, bytes and time to detect;\n"
	"                          a threshold sweep; the allowlist hits\n"
	"  -e, --eval FILE.tsv     write the evaluation summary for scripts: per\n"
	"                          registered domain queries, payload bytes, best\n"
	"                          score per detector, and the first alert's time,\n"
	"                          queries and payload bytes from the first query\n"
	"                          (docs/replay-report.md)\n"
	"  -t, --truth FILE        ground truth for the report: lines of\n"
	"                          \"registered-domain label\" (tunnel, exfil, beacon,\n"
	"                          benign); needs --report or --eval\n"
	"  -k, --kernel            push each packet through the real TC program with\n"
	"                          BPF_PROG_TEST_RUN (loaded, never attached, maps\n"
	"                          pinned in a private directory removed on exit) and\n"
	"                          take its events; needs root. The kernel's per-CPU\n"
	"                          rate limits then run on the kernel's clock\n"
	"\n"
	"Exit status: 0 when every file was replayed, 1 on a runtime error (an\n"
	"unreadable capture, an unsupported link type, a store or report failure),\n"
	"2 on a bad option or config value (the message names the key).\n";

static int cmd_replay(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, 0, 'c' }, { "set", required_argument, 0, 's' },
		{ "format", required_argument, 0, 'f' }, { "db", required_argument, 0, 'd' },
		{ "report", required_argument, 0, 'r' }, { "truth", required_argument, 0, 't' },
		{ "kernel", no_argument, 0, 'k' },	 { "help", no_argument, 0, 'h' },
		{ "eval", required_argument, 0, 'e' },	 { 0 },
	};
	static struct xf_sensor_cfg cfg; /* large: keep it off the stack */
	struct xf_replay_opts o = { .format = XF_RF_JSON };
	const char *config = NULL;
	char err[512];
	int c, rc;

	xf_sensor_cfg_defaults(&cfg);
	rc = config_pass(argc, argv, "c:s:f:d:r:e:t:kh", opts, replay_usage, &config);
	if (rc >= 0)
		return rc;
	if (config && xf_sensor_cfg_load(&cfg, config, err, sizeof(err))) {
		fprintf(stderr, "exfilter: %s\n", err);
		return XF_EXIT_USAGE;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:s:f:d:r:e:t:kh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (set_pair(&cfg, optarg))
				return XF_EXIT_USAGE;
			break;
		case 'f':
			if (!strcmp(optarg, "json"))
				o.format = XF_RF_JSON;
			else if (!strcmp(optarg, "table"))
				o.format = XF_RF_TABLE;
			else {
				fprintf(stderr,
					"invalid value for --format: '%s' (json or table)\n",
					optarg);
				return XF_EXIT_USAGE;
			}
			break;
		case 'd':
			o.db = optarg;
			break;
		case 'r':
			o.report = optarg;
			break;
		case 't':
			o.truth = optarg;
			break;
		case 'e':
			o.eval = optarg;
			break;
		case 'k':
			o.kernel = 1;
			break;
		default:
			break;
		}
	}
	if (xf_sensor_cfg_check(&cfg, err, sizeof(err))) {
		fprintf(stderr, "exfilter: %s\n", err);
		return XF_EXIT_USAGE;
	}
	if (optind >= argc) {
		fprintf(stderr, "exfilter replay: no capture file given\n%s", replay_usage);
		return XF_EXIT_USAGE;
	}
	if (o.truth && !o.report && !o.eval) {
		fprintf(stderr, "exfilter replay: --truth needs --report or --eval\n");
		return XF_EXIT_USAGE;
	}
	o.files = (const char *const *)argv + optind;
	o.n_files = argc - optind;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	rc = xf_replay_run(&cfg, &o, &stop);
	xf_sensor_cfg_free(&cfg);
	return rc;
}

static const char alerts_usage[] =
	"usage: exfilter alerts [--db PATH | --config FILE] [--since T] [--domain D]\n"
	"                       [--client IP] [--limit N] [--json]\n"
	"\n"
	"Query the local alert store, oldest first. T is seconds since the epoch,\n"
	"or a duration back from now: 90s, 15m, 2h, 1d. --domain matches the\n"
	"registered domain and every name under it. --json prints the stored ECS\n"
	"documents, one per line; otherwise a table.\n";

static int parse_since(const char *s, int64_t *ms)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -1;
	if (!*end) {
		*ms = (int64_t)(v * 1000);
		return 0;
	}
	if (end[1])
		return -1;
	switch (*end) {
	case 's':
		break;
	case 'm':
		v *= 60;
		break;
	case 'h':
		v *= 3600;
		break;
	case 'd':
		v *= 86400;
		break;
	default:
		return -1;
	}
	*ms = (int64_t)time(NULL) * 1000 - (int64_t)(v * 1000);
	return 0;
}

struct alerts_out {
	int json;
	unsigned long skipped; /* stored JSON that exfilter cannot have written */
};

static int print_alert(void *ctx, const struct xf_out_row *row)
{
	struct alerts_out *ao = ctx;
	const struct xf_alert_rec *r = row->rec;

	if (!ao->json) {
		xf_alert_table_row(stdout, r, -1, r->id);
		return 0;
	}
	/* ours is plain ASCII: anything else came from whoever wrote the
	 * file, and must not reach a terminal or a SIEM */
	if (!xf_json_line_ok(r->json, r->json_len)) {
		char id[sizeof(r->id) * 4];

		fprintf(stderr,
			"exfilter: alert %s: stored JSON has control or non-ASCII bytes: "
			"skipped\n",
			xf_term_str(r->id, id, sizeof(id)));
		ao->skipped++;
		return 0;
	}
	fwrite(r->json, 1, r->json_len, stdout);
	fputc('\n', stdout);
	return 0;
}

static int cmd_alerts(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, 0, 'd' },
		{ "config", required_argument, 0, 'c' },
		{ "since", required_argument, 0, 'S' },
		{ "domain", required_argument, 0, 'D' },
		{ "client", required_argument, 0, 'C' },
		{ "limit", required_argument, 0, 'n' },
		{ "json", no_argument, 0, 'J' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	static struct xf_sensor_cfg cfg;
	const char *db = NULL, *domain = NULL, *client = NULL;
	int64_t since = 0;
	__u32 limit = 1000;
	struct alerts_out ao = { 0 };
	int c, n;
	char err[512];
	struct xf_outbox *ob;

	xf_sensor_cfg_defaults(&cfg);
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			db = optarg;
			break;
		case 'c':
			if (xf_sensor_cfg_load(&cfg, optarg, err, sizeof(err))) {
				fprintf(stderr, "exfilter: %s\n", err);
				return XF_EXIT_USAGE;
			}
			break;
		case 'S':
			if (parse_since(optarg, &since)) {
				fprintf(stderr,
					"invalid value for --since: '%s' (seconds since the "
					"epoch, or 90s, 15m, 2h, 1d)\n",
					optarg);
				return XF_EXIT_USAGE;
			}
			break;
		case 'D':
			domain = optarg;
			break;
		case 'C':
			client = optarg;
			break;
		case 'n':
			if (parse_u32("--limit", optarg, 10000000, &limit))
				return XF_EXIT_USAGE;
			break;
		case 'J':
			ao.json = 1;
			break;
		case 'h':
			fputs(alerts_usage, stdout);
			return XF_EXIT_OK;
		default:
			fputs(alerts_usage, stderr);
			return XF_EXIT_USAGE;
		}
	}
	if (!db)
		db = cfg.db_path;
	if (access(db, R_OK)) {
		fprintf(stderr, "exfilter: store.path: cannot read %s: %s\n", db, strerror(errno));
		return XF_EXIT_FAIL;
	}
	ob = xf_outbox_open(db, NULL, 0, 0, err, sizeof(err));
	if (!ob) {
		fprintf(stderr, "exfilter: %s\n", err);
		return XF_EXIT_FAIL;
	}
	if (!ao.json)
		printf("%-20s  %-15s  %-30s  %5s  %-8s  %-11s  %s\n", "time", "client", "domain",
		       "score", "severity", "action", "id");
	n = xf_outbox_query(ob, since, domain, client, (int)limit, print_alert, &ao);
	xf_outbox_close(ob);
	return n < 0 || ao.skipped ? XF_EXIT_FAIL : XF_EXIT_OK;
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
		close(fd);
		return XF_EXIT_FAIL;
	}
	{
		/* the whole value was written back: a verdict written meanwhile may
		 * have set a flag this copy lacks, so set it again from the maps */
		int vfd = xf_pinned_map(pin_dir, "xf_verdicts");
		int ifd = xf_pinned_map(pin_dir, "xf_ipblock");

		if (vfd >= 0 && ifd >= 0)
			xf_config_hints_sync(fd, vfd, ifd);
		if (vfd >= 0)
			close(vfd);
		if (ifd >= 0)
			close(ifd);
	}
	close(fd);
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
				fprintf(stderr,
					"invalid value for --action: '%s' (drop or refuse)\n",
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
	"  replay    run pcap/pcapng captures through the same analysis\n"
	"  mode      switch a running sensor: monitor or enforce\n"
	"  block     block a domain, sni:NAME, host:NAME or IP/CIDR\n"
	"  allow     allowlist a domain (never dropped)\n"
	"  unblock   remove a block or allow entry\n"
	"  status    mode, kernel and sensor counters, export backlog\n"
	"  alerts    query the local alert store\n"
	"  version   print the version\n";

int main(int argc, char **argv)
{
	int i = 1;

	libbpf_set_print(libbpf_print);
	if (i + 1 < argc && !strcmp(argv[i], "--pin-dir")) {
		pin_dir = argv[i + 1];
		pin_dir_set = 1;
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
	if (!strcmp(argv[0], "replay"))
		return cmd_replay(argc, argv);
	if (!strcmp(argv[0], "mode"))
		return cmd_mode(argc, argv);
	if (!strcmp(argv[0], "block") || !strcmp(argv[0], "allow") || !strcmp(argv[0], "unblock"))
		return cmd_list(argc, argv, argv[0]);
	if (!strcmp(argv[0], "alerts"))
		return cmd_alerts(argc, argv);
	if (!strcmp(argv[0], "status"))
		return cmd_status(argc, argv);
	if (!strcmp(argv[0], "version")) {
		printf("exfilter %s (event v%d)\n", XF_VERSION, XF_EVENT_VERSION);
		return XF_EXIT_OK;
	}
	fprintf(stderr, "unknown command '%s'\n%s", argv[0], usage);
	return XF_EXIT_USAGE;
}
