// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * config.c - the YAML config file (libyaml document API) and the --set
 * overrides. One table holds every key with its type, field, range, default
 * and doc line; the file walker, the command-line setter and the docs test
 * all read it, so they cannot drift apart. Both entry points work on a copy
 * and commit only when everything was valid, so a bad file or override
 * leaves the running config as it was.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "config.h"
#include "detector.h"
#include "allowlist.h"
#include "control.h"
#include "frame.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define XF_CFG_FILE_MAX (1 << 20) /* a full config is ~150 KiB at most */
#define PATH_LEN 320 /* a key path in a message: sections + a map entry name */
#define SHOWN_MAX 64 /* characters of a bad value quoted in a message */
#define U32_MAX 4294967295.0

enum kt {
	KT_SECTION, /* a mapping of more keys */
	KT_BOOL, /* int or __u32 field, 0 or 1 */
	KT_FLAG, /* one bit of kernel.flags */
	KT_UINT, /* unsigned field of 2, 4 or 8 bytes */
	KT_NUM, /* double */
	KT_ENUM, /* unsigned field, one of enums */
	KT_STR, /* char[size], checked by check */
	KT_LIST, /* char[max_n][size] and an int count at n_off */
	KT_PORTS, /* __u16[max_n], 0 = unused slot */
	KT_WEIGHTS, /* detect.weights: name -> number >= 0 */
	KT_PROPS, /* sinks.kafka.properties: name -> text */
};

struct enum_val {
	const char *name;
	unsigned int value;
};

struct key {
	struct xf_cfg_key_info info;
	enum kt type;
	size_t off, size; /* the field; for KT_LIST and KT_PORTS one entry */
	size_t n_off; /* KT_LIST: the count */
	unsigned int max_n; /* KT_LIST, KT_PORTS: capacity */
	double min, max; /* KT_UINT, KT_NUM */
	const struct enum_val *enums; /* KT_ENUM, NULL-terminated */
	__u32 flag; /* KT_FLAG */
	int (*check)(const char *s); /* KT_STR, KT_LIST: is the text acceptable? */
	void (*canon)(char *s, size_t size); /* KT_LIST: an accepted entry in canonical form */
	const char *what; /* KT_STR, KT_LIST: what check accepts, for messages */
};

static const struct enum_val modes[] = {
	{ "monitor", XF_MODE_MONITOR },
	{ "enforce", XF_MODE_ENFORCE },
	{ NULL, 0 },
};

static const struct enum_val on_crash[] = {
	{ "closed", 0 },
	{ "open", 1 },
	{ NULL, 0 },
};

static const struct enum_val actions[] = {
	{ "drop", XF_ACT_DROP },
	{ "refuse", XF_ACT_REFUSE },
	{ NULL, 0 },
};

/* The kernel's dev_valid_name(): what `ip link` would accept. */
static int check_ifname(const char *s)
{
	size_t n = strlen(s), i;

	if (!n || n >= 16 || !strcmp(s, ".") || !strcmp(s, ".."))
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] == '/' || s[i] == ':' || isspace((unsigned char)s[i]))
			return 0;
	return 1;
}

static int check_tap(const char *s)
{
	return !*s || check_ifname(s);
}

static int check_abspath(const char *s)
{
	return s[0] == '/';
}

static int check_nonempty(const char *s)
{
	return s[0] != 0;
}

/* Resolved again at start-up (sensor/privs.c); here so a typo is a config
 * error naming the key. */
static int check_user(const char *s)
{
	return !*s || getpwnam(s) != NULL;
}

/* Kafka's legal topic characters; "." and ".." are reserved. */
static int check_topic(const char *s)
{
	static const char legal[] = "abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";

	return *s && strspn(s, legal) == strlen(s) && strcmp(s, ".") && strcmp(s, "..");
}

static int check_ip(const char *s)
{
	unsigned char a[16];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

/* The allow map is keyed by name: addresses cannot be allowed. */
static int check_allow(const char *s)
{
	struct xf_target t;

	if (xf_target_parse(s, &t) || t.kind == XF_T_CIDR)
		return 0;
	/* a domain must not cover a whole public suffix (sensor/allowlist.c) */
	return t.kind != XF_T_DOMAIN || !xf_allowlist_check(t.name, NULL, 0);
}

static int check_block(const char *s)
{
	struct xf_target t;

	return !xf_target_parse(s, &t);
}

/* Names lower-case without the trailing dot, as the maps key them. */
static void canon_target(char *s, size_t size)
{
	struct xf_target t;

	if (xf_target_parse(s, &t) || t.kind == XF_T_CIDR)
		return;
	snprintf(s, size, "%s%s",
		 t.kind == XF_T_SNI    ? "sni:"
		 : t.kind == XF_T_HOST ? "host:"
				       : "",
		 t.name);
}

#define FIELD(f)                                                                                   \
	.off = offsetof(struct xf_sensor_cfg, f), .size = sizeof(((struct xf_sensor_cfg *)0)->f)
#define ENTRIES(f)                                                                                 \
	.off = offsetof(struct xf_sensor_cfg, f),                                                  \
	.size = sizeof(((struct xf_sensor_cfg *)0)->f[0]),                                         \
	.max_n = ARRAY_SIZE(((struct xf_sensor_cfg *)0)->f)
#define COUNT(n) .n_off = offsetof(struct xf_sensor_cfg, n)
#define INFO(k, d, doc) .info = { (k), (d), (doc) }

/*
 * Every key. Defaults here are documentation (docs/config.md, --help) and
 * are checked against xf_sensor_cfg_defaults() by tests/unit/test_config.c.
 */
static const struct key keys[] = {
	{ INFO("mode", "monitor", "monitor alerts only; enforce also drops or refuses"),
	  .type = KT_ENUM, FIELD(mode), .enums = modes },
	{ INFO("interfaces", "[]", "interfaces to attach inline (TC clsact ingress and egress)"),
	  .type = KT_LIST, ENTRIES(ifaces), COUNT(n_ifaces), .check = check_ifname,
	  .what = "an interface name (1-15 characters, no '/', ':' or white space)" },
	{ INFO("tap", "", "mirror-port interface for the passive socket filter; \"\" = none"),
	  .type = KT_STR, FIELD(tap), .check = check_tap,
	  .what = "an interface name or \"\" (none)" },
	{ INFO("pin_dir", "/sys/fs/bpf/exfilter", "bpffs directory of the pinned maps and links"),
	  .type = KT_STR, FIELD(pin_dir), .check = check_abspath, .what = "an absolute path" },
	{ INFO("keep_pinned", "false", "leave programs and maps pinned and attached on exit"),
	  .type = KT_BOOL, FIELD(keep_pinned) },
	{ INFO("run_as", "",
	       "user to run as once attached (capabilities are dropped either "
	       "way); \"\" = stay root"),
	  .type = KT_STR, FIELD(run_as), .check = check_user,
	  .what = "an existing user name, or \"\" (stay root)" },
	{ INFO("resolvers", "[]", "recursive resolvers among the clients: scaled thresholds"),
	  .type = KT_LIST, ENTRIES(resolvers), COUNT(n_resolvers), .check = check_ip,
	  .what = "an IPv4 or IPv6 address" },
	{ INFO("allow", "[]", "user allowlist: never dropped or refused"), .type = KT_LIST,
	  ENTRIES(allow), COUNT(n_allow), .check = check_allow, .canon = canon_target,
	  .what = "a domain of two or more labels that is not a public suffix, sni:NAME or "
		  "host:NAME" },
	{ INFO("block", "[]", "blocked at start in enforce mode"), .type = KT_LIST, ENTRIES(block),
	  COUNT(n_block), .check = check_block, .canon = canon_target,
	  .what = "a domain, IP, IP/CIDR, sni:NAME or host:NAME" },

	{ INFO("kernel", NULL, "the kernel's config map"), .type = KT_SECTION },
	{ INFO("kernel.enc_label_min", "16", "a label this long in an encoded alphabet counts"),
	  .type = KT_UINT, FIELD(kernel.enc_label_min), .min = 1, .max = 63 },
	{ INFO("kernel.enc_label_drop", "40",
	       "hard limit: drop a query with an encoded label this "
	       "long; 0 = off"),
	  .type = KT_UINT, FIELD(kernel.enc_label_drop), .min = 0, .max = 63 },
	{ INFO("kernel.long_qname", "100", "a query name this long counts as long"),
	  .type = KT_UINT, FIELD(kernel.long_qname), .min = 1, .max = 255 },
	{ INFO("kernel.event_gap_ms", "1000",
	       "an event for a flow's query when this long has "
	       "passed since its last query event on this CPU; 0 = off"),
	  .type = KT_UINT, FIELD(kernel.event_gap_ms), .min = 0, .max = 3600000 },
	{ INFO("kernel.msg_bytes", "512",
	       "a DNS response event carries this many bytes of the "
	       "message, for ldns; 0 = off"),
	  .type = KT_UINT, FIELD(kernel.msg_bytes), .min = 0, .max = XF_MSG_MAX },
	{ INFO("kernel.drop_bad_bytes", "true",
	       "hard limit: drop names with bytes never legal "
	       "in a hostname"),
	  .type = KT_BOOL, FIELD(kernel.drop_bad_bytes) },
	{ INFO("kernel.window_ms", "10000", "window of the per-CPU rate limits"), .type = KT_UINT,
	  FIELD(kernel.kwin_ms), .min = 100, .max = 3600000 },
	{ INFO("kernel.query_limit", "0", "per-CPU queries per flow per window; 0 = off"),
	  .type = KT_UINT, FIELD(kernel.kq_limit), .min = 0, .max = U32_MAX },
	{ INFO("kernel.enc_limit", "200", "per-CPU encoded queries per flow per window; 0 = off"),
	  .type = KT_UINT, FIELD(kernel.kenc_limit), .min = 0, .max = U32_MAX },
	{ INFO("kernel.limit_action", "drop", "action of the hard and rate limits"),
	  .type = KT_ENUM, FIELD(kernel.limit_action), .enums = actions },
	{ INFO("kernel.sample_every", "0", "an event for 1 in N unremarkable queries; 0 = none"),
	  .type = KT_UINT, FIELD(kernel.sample_every), .min = 0, .max = U32_MAX },
	{ INFO("kernel.events_all", "false", "an event for every query (replay-grade, costly)"),
	  .type = KT_FLAG, FIELD(kernel.flags), .flag = XF_CF_EVENTS_ALL },
	{ INFO("kernel.dns_port", "53", "UDP and TCP port parsed as DNS"), .type = KT_UINT,
	  FIELD(kernel.dns_port), .min = 1, .max = 65535 },
	{ INFO("kernel.tls_ports", "[443]", "TCP ports parsed for a TLS ClientHello SNI"),
	  .type = KT_PORTS, ENTRIES(kernel.tls_ports), .min = 1, .max = 65535 },
	{ INFO("kernel.http_ports", "[80]", "TCP ports parsed for an HTTP Host header"),
	  .type = KT_PORTS, ENTRIES(kernel.http_ports), .min = 1, .max = 65535 },
	{ INFO("kernel.max_flows", "65536", "client x domain counters held in the kernel (LRU)"),
	  .type = KT_UINT, FIELD(kflows_max), .min = 256, .max = 16777216 },
	{ INFO("kernel.ring_kib", "1024", "events ring buffer in KiB, a power of two"),
	  .type = KT_UINT, FIELD(kring_kib), .min = 4, .max = 1048576 },

	{ INFO("failsafe", NULL, "what enforcement does when the sensor dies"),
	  .type = KT_SECTION },
	{ INFO("failsafe.on_crash", "closed",
	       "closed: the kernel keeps enforcing without a sensor; "
	       "open: it stops once the heartbeat is stale"),
	  .type = KT_ENUM, FIELD(failsafe_open), .enums = on_crash },
	{ INFO("failsafe.heartbeat_ms", "3000",
	       "with on_crash: open, the heartbeat age at which "
	       "the kernel stops enforcing"),
	  .type = KT_UINT, FIELD(heartbeat_ms), .min = 1000, .max = 3600000 },

	{ INFO("flows", NULL, "the userspace flow table"), .type = KT_SECTION },
	{ INFO("flows.max_flows", "1000000", "client x domain flows held (LRU)"), .type = KT_UINT,
	  FIELD(max_flows), .min = 1, .max = 100000000 },
	{ INFO("flows.tick_ms", "1000", "how often the kernel counters are summed and scored"),
	  .type = KT_UINT, FIELD(tick_ms), .min = 10, .max = 60000 },
	{ INFO("flows.window_s", "300", "alert window: one alert per client x domain per window"),
	  .type = KT_UINT, FIELD(window_s), .min = 1, .max = 86400 },
	{ INFO("flows.max_domains", "16384", "registered domains aggregated across clients (LRU)"),
	  .type = KT_UINT, FIELD(max_domains), .min = 16, .max = 10000000 },

	{ INFO("detect", NULL, "scoring and verdicts"), .type = KT_SECTION },
	{ INFO("detect.threshold", "60", "score (0-100) that raises an alert"), .type = KT_NUM,
	  FIELD(threshold), .min = 0, .max = 100 },
	{ INFO("detect.block_threshold", "80", "score at which enforce mode writes a verdict"),
	  .type = KT_NUM, FIELD(block_threshold), .min = 0, .max = 100 },
	{ INFO("detect.block_min_names", "3",
	       "distinct names a DNS flow needs before a verdict "
	       "blocks its whole domain"),
	  .type = KT_UINT, FIELD(block_min_names), .min = 1, .max = 1000000 },
	{ INFO("detect.verdict_ttl_s", "3600", "lifetime of a verdict in the kernel"),
	  .type = KT_UINT, FIELD(verdict_ttl_s), .min = 1, .max = 31536000 },
	{ INFO("detect.verdict_action", "drop", "what a verdict does to later queries"),
	  .type = KT_ENUM, FIELD(verdict_action), .enums = actions },
	{ INFO("detect.resolver_scale", "4",
	       "thresholds for a resolver client are this many "
	       "times higher"),
	  .type = KT_NUM, FIELD(resolver_scale), .min = 1, .max = 1000 },
	{ INFO("detect.flood_names", "20000",
	       "random-subdomain flood: distinct names under one "
	       "domain in a window, all clients"),
	  .type = KT_UINT, FIELD(flood_names), .min = 1, .max = 1000000000 },
	{ INFO("detect.flood_clients", "20",
	       "random-subdomain flood: distinct clients asking "
	       "them"),
	  .type = KT_UINT, FIELD(flood_clients), .min = 1, .max = 1000000000 },
	{ INFO("detect.flood_block", "false",
	       "a flood alert in enforce mode writes a verdict "
	       "for the flooded domain"),
	  .type = KT_BOOL, FIELD(flood_block) },
	{ INFO("detect.weights", "{}",
	       "detector name -> weight in the score; 0 = off, "
	       "unnamed detectors keep their built-in weight"),
	  .type = KT_WEIGHTS },

	{ INFO("store", NULL, "the SQLite outbox"), .type = KT_SECTION },
	{ INFO("store.path", "/var/lib/exfilter/alerts.db", "SQLite database of alerts"),
	  .type = KT_STR, FIELD(db_path), .check = check_nonempty, .what = "a file path" },
	{ INFO("store.batch", "1000", "rows per transaction at most"), .type = KT_UINT,
	  FIELD(batch), .min = 1, .max = 1000000 },
	{ INFO("store.flush_ms", "100", "commit at least this often"), .type = KT_UINT,
	  FIELD(flush_ms), .min = 1, .max = 60000 },
	{ INFO("store.memory_max", "100000", "alerts held in memory while the disk fails"),
	  .type = KT_UINT, FIELD(memory_max), .min = 0, .max = 100000000 },

	{ INFO("sinks", NULL, "where alerts go after the store"), .type = KT_SECTION },
	{ INFO("sinks.kafka", NULL, "Kafka producer (librdkafka)"), .type = KT_SECTION },
	{ INFO("sinks.kafka.enabled", "false", "send alerts to Kafka"), .type = KT_BOOL,
	  FIELD(kafka_enabled) },
	{ INFO("sinks.kafka.topic", "exfilter-alerts", "topic of the alerts"), .type = KT_STR,
	  FIELD(kafka_topic), .check = check_topic,
	  .what = "a Kafka topic name (a-z A-Z 0-9 . _ -)" },
	{ INFO("sinks.kafka.properties", "{}", "librdkafka properties, passed through as text"),
	  .type = KT_PROPS },
	{ INFO("sinks.kafka.max_inflight", "100000", "alerts sent and not yet acknowledged"),
	  .type = KT_UINT, FIELD(kafka_max_inflight), .min = 1, .max = 10000000 },
	{ INFO("sinks.jsonl", NULL, "one JSON alert per line"), .type = KT_SECTION },
	{ INFO("sinks.jsonl.enabled", "true", "write alerts as JSON lines"), .type = KT_BOOL,
	  FIELD(jsonl_enabled) },
	{ INFO("sinks.jsonl.path", "-", "file to append to; \"-\" = stdout"), .type = KT_STR,
	  FIELD(jsonl_path), .check = check_nonempty, .what = "a file path or \"-\" (stdout)" },

	{ INFO("geoip", NULL, "enrichment with libmaxminddb"), .type = KT_SECTION },
	{ INFO("geoip.city_db", "", "GeoLite2-City style database; \"\" = off"), .type = KT_STR,
	  FIELD(geoip_city), .what = "a file path or \"\" (off)" },
	{ INFO("geoip.asn_db", "", "GeoLite2-ASN style database; \"\" = off"), .type = KT_STR,
	  FIELD(geoip_asn), .what = "a file path or \"\" (off)" },
};

void xf_sensor_cfg_defaults(struct xf_sensor_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->mode = XF_MODE_MONITOR;
	xf_config_defaults(&c->kernel);
	c->kernel.mode = c->mode;
	snprintf(c->pin_dir, sizeof(c->pin_dir), "/sys/fs/bpf/exfilter");
	c->failsafe_open = 0;
	c->heartbeat_ms = 3000;
	c->kflows_max = 65536;
	c->kring_kib = 1024;
	c->max_flows = 1000000;
	c->tick_ms = 1000;
	c->window_s = 300;
	c->threshold = 60;
	c->block_threshold = 80;
	c->block_min_names = 3;
	c->verdict_ttl_s = 3600;
	c->verdict_action = XF_ACT_DROP;
	c->resolver_scale = 4;
	c->max_domains = 16384;
	c->flood_names = 20000;
	c->flood_clients = 20;
	c->flood_block = 0;
	snprintf(c->db_path, sizeof(c->db_path), "/var/lib/exfilter/alerts.db");
	c->batch = 1000;
	c->flush_ms = 100;
	c->memory_max = 100000;
	snprintf(c->kafka_topic, sizeof(c->kafka_topic), "exfilter-alerts");
	c->kafka_max_inflight = 100000;
	c->jsonl_enabled = 1;
	snprintf(c->jsonl_path, sizeof(c->jsonl_path), "-");
}

static void props_clear(struct xf_sensor_cfg *c)
{
	int i;

	for (i = 0; i < c->n_kafka_props; i++) {
		free(c->kafka_props[i].key);
		free(c->kafka_props[i].value);
	}
	memset(c->kafka_props, 0, sizeof(c->kafka_props));
	c->n_kafka_props = 0;
}

void xf_sensor_cfg_free(struct xf_sensor_cfg *c)
{
	if (c)
		props_clear(c);
}

const struct xf_cfg_key_info *xf_sensor_cfg_key(unsigned int i)
{
	return i < ARRAY_SIZE(keys) ? &keys[i].info : NULL;
}

/* A working copy with its own property strings. NULL and errno on failure. */
static struct xf_sensor_cfg *cfg_dup(const struct xf_sensor_cfg *c)
{
	struct xf_sensor_cfg *w = malloc(sizeof(*w));
	int i;

	if (!w)
		return NULL;
	memcpy(w, c, sizeof(*w));
	for (i = 0; i < c->n_kafka_props; i++) {
		w->kafka_props[i].key = strdup(c->kafka_props[i].key);
		w->kafka_props[i].value = strdup(c->kafka_props[i].value);
		if (!w->kafka_props[i].key || !w->kafka_props[i].value) {
			w->n_kafka_props = i + 1;
			props_clear(w);
			free(w);
			errno = ENOMEM;
			return NULL;
		}
	}
	return w;
}

/* Replace c by the validated copy w (which is consumed). */
static void cfg_commit(struct xf_sensor_cfg *c, struct xf_sensor_cfg *w)
{
	w->kernel.mode = w->mode; /* mode is one key, also in the kernel's map */
	props_clear(c);
	memcpy(c, w, sizeof(*c));
	free(w);
}

static void cfg_discard(struct xf_sensor_cfg *w)
{
	if (w) {
		props_clear(w);
		free(w);
	}
}

/* What is being applied, and where the messages say it came from. */
struct ctx {
	struct xf_sensor_cfg *c;
	const char *where; /* the file, "command line", or NULL */
	int line; /* of the node at hand; 0 = none */
	char *err;
	size_t errlen;
	int lines[ARRAY_SIZE(keys)]; /* where each key was set, for the rules between keys */
};

/* Text as it appears in a message: at most max characters, controls as '?'. */
static const char *shown(const char *s, char *buf, size_t size, size_t max)
{
	size_t i, n = 0;

	for (i = 0; s[i] && n + 4 < size; i++) {
		if (i == max) {
			memcpy(buf + n, "...", 3);
			n += 3;
			break;
		}
		buf[n++] = isprint((unsigned char)s[i]) ? s[i] : '?';
	}
	buf[n] = 0;
	return buf;
}

static void say(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int fail(struct ctx *x, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "WHERE:LINE: KEY: msg", leaving out what is not known. Returns -EINVAL. */
static int fail(struct ctx *x, const char *path, const char *fmt, ...)
{
	char msg[512], key[PATH_LEN + 8], loc[PATH_MAX + 16] = "";
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (x->where && x->line)
		snprintf(loc, sizeof(loc), "%s:%d: ", x->where, x->line);
	else if (x->where)
		snprintf(loc, sizeof(loc), "%s: ", x->where);
	if (path)
		say(x->err, x->errlen, "%s%s: %s", loc, shown(path, key, sizeof(key), PATH_LEN),
		    msg);
	else
		say(x->err, x->errlen, "%s%s", loc, msg);
	return -EINVAL;
}

static int fail_got(struct ctx *x, const char *path, const char *what, const char *s)
{
	char buf[SHOWN_MAX + 8];

	return fail(x, path, "expected %s, got '%s'", what, shown(s, buf, sizeof(buf), SHOWN_MAX));
}

static int fail_nomem(struct ctx *x, const char *path)
{
	fail(x, path, "%s", strerror(ENOMEM));
	return -ENOMEM;
}

/* What a scalar key takes, for messages: "an integer 1..65535". */
static const char *describe(const struct key *k, char *buf, size_t size)
{
	const struct enum_val *e;
	size_t n = 0;

	switch (k->type) {
	case KT_BOOL:
	case KT_FLAG:
		return "true or false";
	case KT_UINT:
	case KT_PORTS:
		snprintf(buf, size, "an integer %.0f..%.0f", k->min, k->max);
		return buf;
	case KT_NUM:
		snprintf(buf, size, "a number %g..%g", k->min, k->max);
		return buf;
	case KT_ENUM:
		buf[0] = 0;
		for (e = k->enums; e->name && n < size; e++)
			n += snprintf(buf + n, size - n, "%s%s",
				      e == k->enums ? ""
				      : e[1].name   ? ", "
						    : " or ",
				      e->name);
		return buf;
	case KT_STR:
	case KT_LIST:
		return k->what;
	default:
		return "a mapping";
	}
}

static int parse_bool(const char *s, int *b)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(s, yes[i]) || !strcasecmp(s, no[i])) {
			*b = !strcasecmp(s, yes[i]);
			return 1;
		}
	}
	return 0;
}

/* Decimal digits only: no sign, no base prefix, no fraction. */
static int parse_uint(const char *s, unsigned long long *v)
{
	char *end;

	if (!*s || strspn(s, "0123456789") != strlen(s))
		return 0;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return !errno && !*end;
}

/* A finite decimal number: no hex floats, no inf or nan. */
static int parse_num(const char *s, double *v)
{
	char *end;

	if (!*s || strspn(s, "0123456789.eE+-") != strlen(s))
		return 0;
	errno = 0;
	*v = strtod(s, &end);
	return !errno && !*end && isfinite(*v);
}

static void *field(struct ctx *x, const struct key *k)
{
	return (char *)x->c + k->off;
}

static void put_uint(void *p, size_t size, unsigned long long v)
{
	if (size == sizeof(__u16)) {
		__u16 u = (__u16)v;

		memcpy(p, &u, sizeof(u));
	} else if (size == sizeof(__u32)) {
		__u32 u = (__u32)v;

		memcpy(p, &u, sizeof(u));
	} else {
		__u64 u = v;

		memcpy(p, &u, sizeof(u));
	}
}

static int put_str(struct ctx *x, const char *path, const struct key *k, char *dst, const char *s)
{
	char buf[SHOWN_MAX + 8];

	if (strlen(s) >= k->size)
		return fail(x, path, "expected at most %zu characters, got '%s'", k->size - 1,
			    shown(s, buf, sizeof(buf), SHOWN_MAX));
	if (k->check && !k->check(s))
		return fail_got(x, path, k->what, s);
	memset(dst, 0, k->size);
	memcpy(dst, s, strlen(s));
	return 0;
}

/* Apply one scalar key from its text. */
static int set_scalar(struct ctx *x, const struct key *k, const char *path, const char *s)
{
	const struct enum_val *e;
	unsigned long long u;
	char what[128];
	__u32 flags;
	double d;
	int b;

	switch (k->type) {
	case KT_BOOL:
		if (!parse_bool(s, &b))
			return fail_got(x, path, describe(k, what, sizeof(what)), s);
		put_uint(field(x, k), k->size, (unsigned int)b);
		return 0;
	case KT_FLAG:
		if (!parse_bool(s, &b))
			return fail_got(x, path, describe(k, what, sizeof(what)), s);
		memcpy(&flags, field(x, k), sizeof(flags));
		flags = b ? flags | k->flag : flags & ~k->flag;
		memcpy(field(x, k), &flags, sizeof(flags));
		return 0;
	case KT_UINT:
		if (!parse_uint(s, &u) || u < k->min || u > k->max)
			return fail_got(x, path, describe(k, what, sizeof(what)), s);
		put_uint(field(x, k), k->size, u);
		return 0;
	case KT_NUM:
		if (!parse_num(s, &d) || d < k->min || d > k->max)
			return fail_got(x, path, describe(k, what, sizeof(what)), s);
		memcpy(field(x, k), &d, sizeof(d));
		return 0;
	case KT_ENUM:
		for (e = k->enums; e->name; e++) {
			if (!strcmp(s, e->name)) {
				put_uint(field(x, k), k->size, e->value);
				return 0;
			}
		}
		return fail_got(x, path, describe(k, what, sizeof(what)), s);
	case KT_STR:
		return put_str(x, path, k, field(x, k), s);
	default:
		return fail(x, path, "not a scalar key");
	}
}

static int list_len(struct ctx *x, const struct key *k)
{
	const __u16 *ports = field(x, k);
	int n;

	if (k->type == KT_LIST) {
		memcpy(&n, (char *)x->c + k->n_off, sizeof(n));
		return n;
	}
	for (n = 0; n < (int)k->max_n && ports[n]; n++)
		;
	return n;
}

static void list_clear(struct ctx *x, const struct key *k)
{
	int zero = 0;

	memset(field(x, k), 0, k->size * k->max_n);
	if (k->type == KT_LIST)
		memcpy((char *)x->c + k->n_off, &zero, sizeof(zero));
}

/* Append one entry; path names the entry ("interfaces[2]"). */
static int list_add(struct ctx *x, const struct key *k, const char *path, const char *s)
{
	char *base = field(x, k), what[64], buf[SHOWN_MAX + 8];
	int n = list_len(x, k), i, err;
	unsigned long long port;
	__u16 *ports = field(x, k);

	if (n >= (int)k->max_n)
		return fail(x, k->info.key, "expected at most %u entries, got more", k->max_n);
	if (k->type == KT_PORTS) {
		if (!parse_uint(s, &port) || port < k->min || port > k->max)
			return fail_got(x, path, describe(k, what, sizeof(what)), s);
		for (i = 0; i < n; i++)
			if (ports[i] == port)
				return fail(x, path, "%llu is listed twice", port);
		ports[n] = (__u16)port;
		return 0;
	}
	err = put_str(x, path, k, base + n * k->size, s);
	if (err)
		return err;
	if (k->canon)
		k->canon(base + n * k->size, k->size);
	for (i = 0; i < n; i++) {
		if (!strcmp(base + i * k->size, base + n * k->size)) {
			memset(base + n * k->size, 0, k->size);
			return fail(x, path, "'%s' is listed twice",
				    shown(s, buf, sizeof(buf), SHOWN_MAX));
		}
	}
	n++;
	memcpy((char *)x->c + k->n_off, &n, sizeof(n));
	return 0;
}

static int weight_put(struct ctx *x, const struct key *k, const char *path, const char *name,
		      const char *s)
{
	struct xf_sensor_cfg *c = x->c;
	size_t len = strlen(name), j;
	double w;
	int i;

	for (j = 0; j < len; j++)
		if (!isgraph((unsigned char)name[j]))
			break;
	if (!len || len >= sizeof(c->weights[0].name) || j < len)
		return fail(x, path, "expected a detector name of 1-%zu printable characters",
			    sizeof(c->weights[0].name) - 1);
	if (!xf_detector_find(name))
		return fail(x, path, "no such detector (docs/detectors.md lists them)");
	if (!parse_num(s, &w) || w < 0)
		return fail_got(x, path, "a number >= 0", s);
	for (i = 0; i < c->n_weights; i++)
		if (!strcmp(c->weights[i].name, name))
			break;
	if (i == c->n_weights) {
		if (i >= XF_CFG_WEIGHTS_MAX)
			return fail(x, k->info.key, "expected at most %d entries, got more",
				    XF_CFG_WEIGHTS_MAX);
		memset(&c->weights[i], 0, sizeof(c->weights[i]));
		memcpy(c->weights[i].name, name, len);
		c->n_weights++;
	}
	c->weights[i].weight = w;
	return 0;
}

static int prop_put(struct ctx *x, const struct key *k, const char *path, const char *name,
		    const char *s)
{
	struct xf_sensor_cfg *c = x->c;
	char *v, why[512];
	int i;

	if (!*name)
		return fail(x, path, "expected a librdkafka property name");
	/* TLS, SASL and the rest: librdkafka's own check, now, with the key */
	if (xf_kafka_prop_check(name, s, why, sizeof(why)))
		return fail(x, path, "%s", why);
	for (i = 0; i < c->n_kafka_props; i++)
		if (!strcmp(c->kafka_props[i].key, name))
			break;
	if (i == c->n_kafka_props && i >= XF_CFG_PROPS_MAX)
		return fail(x, k->info.key, "expected at most %d entries, got more",
			    XF_CFG_PROPS_MAX);
	v = strdup(s);
	if (!v)
		return fail_nomem(x, path);
	if (i == c->n_kafka_props) {
		c->kafka_props[i].key = strdup(name);
		if (!c->kafka_props[i].key) {
			free(v);
			return fail_nomem(x, path);
		}
		c->n_kafka_props++;
	} else {
		free(c->kafka_props[i].value);
	}
	c->kafka_props[i].value = v;
	return 0;
}

static int map_put(struct ctx *x, const struct key *k, const char *path, const char *name,
		   const char *s)
{
	if (k->type == KT_WEIGHTS)
		return weight_put(x, k, path, name, s);
	return prop_put(x, k, path, name, s);
}

static void map_clear(struct ctx *x, const struct key *k)
{
	if (k->type == KT_WEIGHTS) {
		memset(x->c->weights, 0, sizeof(x->c->weights));
		x->c->n_weights = 0;
	} else {
		props_clear(x->c);
	}
}

static const struct key *key_find(const char *path)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(keys); i++)
		if (!strcmp(keys[i].info.key, path))
			return &keys[i];
	return NULL;
}

static int edit_distance(const char *a, const char *b)
{
	int prev[PATH_LEN], cur[PATH_LEN];
	size_t la = strlen(a), lb = strlen(b), i, j;

	if (la >= PATH_LEN || lb >= PATH_LEN)
		return PATH_LEN;
	for (j = 0; j <= lb; j++)
		prev[j] = (int)j;
	for (i = 1; i <= la; i++) {
		cur[0] = (int)i;
		for (j = 1; j <= lb; j++) {
			int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			int del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, (lb + 1) * sizeof(int));
	}
	return prev[lb];
}

static const char *leaf(const char *path)
{
	const char *dot = strrchr(path, '.');

	return dot ? dot + 1 : path;
}

/* A typo (two edits at most), else the same name in another section. */
static const struct key *key_suggest(const char *path)
{
	const struct key *best = NULL;
	int d, best_d = 3;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(keys); i++) {
		d = edit_distance(path, keys[i].info.key);
		if (d < best_d) {
			best_d = d;
			best = &keys[i];
		}
	}
	for (i = 0; i < ARRAY_SIZE(keys) && !best; i++)
		if (!strcmp(leaf(path), leaf(keys[i].info.key)))
			best = &keys[i];
	return best;
}

static int fail_unknown(struct ctx *x, const char *path)
{
	const struct key *k = key_suggest(path);

	if (k)
		return fail(x, path, "unknown key (did you mean %s?)", k->info.key);
	return fail(x, path, "unknown key (docs/config.md lists every key)");
}

/*
 * The YAML file, through libyaml's document API: the whole tree in memory
 * with a line mark on every node. Aliases are shared nodes, so a bounded
 * walk of a bounded schema stays bounded whatever the anchors do.
 */

static int node_line(const yaml_node_t *n)
{
	return (int)n->start_mark.line + 1;
}

static const char *node_kind(const yaml_node_t *n)
{
	return n->type == YAML_SEQUENCE_NODE  ? "a list"
	       : n->type == YAML_MAPPING_NODE ? "a mapping"
					      : "a scalar";
}

static const char *scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* A plain ~, null or nothing: an empty list, map or section, or "". */
static int is_null(const yaml_node_t *n)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
	size_t i;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	for (i = 0; i < ARRAY_SIZE(nulls); i++)
		if (!strcmp(scalar(n), nulls[i]))
			return 1;
	return 0;
}

/* A scalar usable as C text ("\0" escapes would cut it short). */
static int scalar_ok(struct ctx *x, const char *path, const yaml_node_t *n)
{
	x->line = node_line(n);
	if (strlen(scalar(n)) != n->data.scalar.length)
		return fail(x, path, "contains a NUL byte");
	return 0;
}

/* The line of an earlier key of map equal to pair p's, or 0. */
static int dup_line(yaml_document_t *d, const yaml_node_t *map, const yaml_node_pair_t *p)
{
	const yaml_node_t *k = yaml_document_get_node(d, p->key), *q;
	const yaml_node_pair_t *e;

	for (e = map->data.mapping.pairs.start; e < p; e++) {
		q = yaml_document_get_node(d, e->key);
		if (q->type == YAML_SCALAR_NODE && !strcmp(scalar(q), scalar(k)))
			return node_line(q);
	}
	return 0;
}

/*
 * For each pair of a mapping: the key must be a unique scalar; path gets
 * "prefix.key". Calls fn(x, d, k, path, key text, value node).
 */
typedef int (*pair_fn)(struct ctx *x, yaml_document_t *d, const struct key *k, const char *path,
		       const char *name, yaml_node_t *v);

static int walk_pairs(struct ctx *x, yaml_document_t *d, yaml_node_t *map, const char *prefix,
		      const struct key *k, pair_fn fn)
{
	yaml_node_pair_t *p;
	char path[PATH_LEN];
	yaml_node_t *kn;
	int err, first;

	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		kn = yaml_document_get_node(d, p->key);
		x->line = node_line(kn);
		if (kn->type != YAML_SCALAR_NODE)
			return fail(x, prefix, "expected a scalar as a key, got %s", node_kind(kn));
		if (snprintf(path, sizeof(path), "%s%s%s", prefix ? prefix : "", prefix ? "." : "",
			     scalar(kn)) >= (int)sizeof(path))
			return fail(x, prefix, "key '%.40s...' is too long", scalar(kn));
		err = scalar_ok(x, path, kn);
		if (err)
			return err;
		first = dup_line(d, map, p);
		if (first)
			return fail(x, path, "duplicate key (first given on line %d)", first);
		err = fn(x, d, k, path, scalar(kn), yaml_document_get_node(d, p->value));
		if (err)
			return err;
	}
	return 0;
}

static int apply_entry(struct ctx *x, yaml_document_t *d, const struct key *k, const char *path,
		       const char *name, yaml_node_t *v)
{
	(void)d;

	if (v->type != YAML_SCALAR_NODE) {
		x->line = node_line(v);
		return fail(x, path, "expected %s, got %s",
			    k->type == KT_WEIGHTS ? "a number >= 0" : "a scalar", node_kind(v));
	}
	return scalar_ok(x, path, v) ?: map_put(x, k, path, name, scalar(v));
}

static int apply_list(struct ctx *x, yaml_document_t *d, const struct key *k, const char *path,
		      yaml_node_t *v)
{
	char what[64], ipath[PATH_LEN + 16];
	yaml_node_item_t *it;
	yaml_node_t *e;
	int i = 0, err;

	list_clear(x, k);
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++, i++) {
		e = yaml_document_get_node(d, *it);
		snprintf(ipath, sizeof(ipath), "%s[%d]", path, i);
		x->line = node_line(e);
		if (e->type != YAML_SCALAR_NODE)
			return fail(x, ipath, "expected %s, got %s",
				    describe(k, what, sizeof(what)), node_kind(e));
		err = scalar_ok(x, ipath, e) ?: list_add(x, k, ipath, scalar(e));
		if (err)
			return err;
	}
	return 0;
}

static int apply_key(struct ctx *x, yaml_document_t *d, const struct key *unused, const char *path,
		     const char *name, yaml_node_t *v);

/* The value node v of key k (at path) in the file. */
static int apply_node(struct ctx *x, yaml_document_t *d, const struct key *k, const char *path,
		      yaml_node_t *v)
{
	char what[128];

	x->lines[k - keys] = x->line;
	switch (k->type) {
	case KT_SECTION:
	case KT_WEIGHTS:
	case KT_PROPS:
		if (k->type != KT_SECTION && (v->type == YAML_MAPPING_NODE || is_null(v)))
			map_clear(x, k);
		if (is_null(v))
			return 0;
		if (v->type != YAML_MAPPING_NODE)
			break;
		return walk_pairs(x, d, v, path, k,
				  k->type == KT_SECTION ? apply_key : apply_entry);
	case KT_LIST:
	case KT_PORTS:
		if (is_null(v)) {
			list_clear(x, k);
			return 0;
		}
		if (v->type != YAML_SEQUENCE_NODE)
			break;
		return apply_list(x, d, k, path, v);
	default:
		if (v->type != YAML_SCALAR_NODE)
			break;
		if (k->type == KT_STR && is_null(v))
			return set_scalar(x, k, path, "");
		return scalar_ok(x, path, v) ?: set_scalar(x, k, path, scalar(v));
	}
	x->line = node_line(v);
	if (k->type == KT_SECTION || k->type == KT_WEIGHTS || k->type == KT_PROPS)
		return fail(x, path, "expected a mapping, got %s", node_kind(v));
	if (k->type == KT_LIST || k->type == KT_PORTS)
		return fail(x, path, "expected a list, got %s", node_kind(v));
	return fail(x, path, "expected %s, got %s", describe(k, what, sizeof(what)), node_kind(v));
}

static int apply_key(struct ctx *x, yaml_document_t *d, const struct key *unused, const char *path,
		     const char *name, yaml_node_t *v)
{
	const struct key *k = key_find(path);
	(void)unused;

	/* "sinks.kafka.enabled: true" would dodge the duplicate check. */
	if (strchr(name, '.'))
		return fail(x, path, "unknown key (write a dotted path as nested mappings)");
	if (!k)
		return fail_unknown(x, path);
	return apply_node(x, d, k, path, v);
}

static int line_at(const char *buf, size_t off)
{
	int line = 1;
	size_t i;

	for (i = 0; i < off && buf[i]; i++)
		line += buf[i] == '\n';
	return line;
}

static int fail_yaml(struct ctx *x, const yaml_parser_t *p, const char *buf, size_t len)
{
	const char *problem = p->problem ? p->problem : "unknown error";

	if (p->error == YAML_MEMORY_ERROR) {
		say(x->err, x->errlen, "%s: out of memory parsing YAML", x->where);
		return -ENOMEM;
	}
	x->line = p->error == YAML_READER_ERROR
			  ? line_at(buf, p->problem_offset < len ? p->problem_offset : len)
			  : (int)p->problem_mark.line + 1;
	if (p->context)
		return fail(x, NULL, "invalid YAML: %s (%s on line %d)", problem, p->context,
			    (int)p->context_mark.line + 1);
	return fail(x, NULL, "invalid YAML: %s", problem);
}

static int load_doc(struct ctx *x, const char *buf, size_t len)
{
	yaml_parser_t p;
	yaml_document_t d;
	yaml_node_t *root;
	int err = 0;

	if (!yaml_parser_initialize(&p))
		return fail_nomem(x, NULL);
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&p, &d)) {
		err = fail_yaml(x, &p, buf, len);
		goto out;
	}
	root = yaml_document_get_root_node(&d);
	if (root && !is_null(root)) {
		x->line = node_line(root);
		if (root->type == YAML_MAPPING_NODE)
			err = walk_pairs(x, &d, root, NULL, NULL, apply_key);
		else
			err = fail(x, NULL, "expected a mapping of keys at the top level, got %s",
				   node_kind(root));
	}
	yaml_document_delete(&d);
	if (err)
		goto out;
	/* A second document would be ignored silently: refuse it. */
	if (!yaml_parser_load(&p, &d)) {
		err = fail_yaml(x, &p, buf, len);
		goto out;
	}
	root = yaml_document_get_root_node(&d);
	if (root) {
		x->line = node_line(root);
		err = fail(x, NULL, "expected one YAML document, found a second one");
	}
	yaml_document_delete(&d);
out:
	yaml_parser_delete(&p);
	return err;
}

/* Least privilege: whoever can write the config decides what is blocked. */
static int check_file(const char *path, const struct stat *st, char *err, size_t errlen)
{
	if (!S_ISREG(st->st_mode)) {
		say(err, errlen, "config file %s is not a regular file", path);
		return -EINVAL;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		say(err, errlen, "config file %s is writable by %s (mode %04o); chmod go-w %s",
		    path, st->st_mode & S_IWOTH ? "others" : "its group",
		    (unsigned int)(st->st_mode & 07777), path);
		return -EPERM;
	}
	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		say(err, errlen,
		    "config file %s is owned by uid %u, not by root or the current user (uid %u); "
		    "chown root %s",
		    path, (unsigned int)st->st_uid, (unsigned int)geteuid(), path);
		return -EPERM;
	}
	if (st->st_size > XF_CFG_FILE_MAX) {
		say(err, errlen, "config file %s is too large (%lld bytes, at most %d)", path,
		    (long long)st->st_size, XF_CFG_FILE_MAX);
		return -EFBIG;
	}
	return 0;
}

/* The whole file, NUL-terminated; checks made on the open descriptor. */
static int read_config(const char *path, char **out, size_t *outlen, char *err, size_t errlen)
{
	size_t len = 0;
	struct stat st;
	char *buf = NULL;
	ssize_t n;
	int fd, ret;

	/* O_NONBLOCK: a FIFO must not hang the open before fstat refuses it. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		say(err, errlen, "failed to open config file %s: %s", path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st)) {
		ret = -errno;
		say(err, errlen, "failed to stat config file %s: %s", path, strerror(errno));
		goto out;
	}
	ret = check_file(path, &st, err, errlen);
	if (ret)
		goto out;
	buf = malloc(XF_CFG_FILE_MAX + 1);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	while (len <= XF_CFG_FILE_MAX) {
		n = read(fd, buf + len, XF_CFG_FILE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			say(err, errlen, "failed to read config file %s: %s", path,
			    strerror(errno));
			goto out;
		}
		if (!n)
			break;
		len += (size_t)n;
	}
	if (len > XF_CFG_FILE_MAX) {
		say(err, errlen, "config file %s is too large (at most %d bytes)", path,
		    XF_CFG_FILE_MAX);
		ret = -EFBIG;
		goto out;
	}
	buf[len] = 0;
	*out = buf;
	*outlen = len;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return ret;
}

static int prop_has(const struct xf_sensor_cfg *c, const char *name)
{
	int i;

	for (i = 0; i < c->n_kafka_props; i++)
		if (!strcmp(c->kafka_props[i].key, name))
			return 1;
	return 0;
}

/* The line where the file set a key, or 0. */
static int line_of(const struct ctx *x, const char *path)
{
	const struct key *k = key_find(path);

	return k ? x->lines[k - keys] : 0;
}

/* A port given twice across dns_port, tls_ports and http_ports. */
static int check_ports(struct ctx *x, const struct xf_config *kc)
{
	const __u16 *lists[] = { kc->tls_ports, kc->http_ports };
	static const char *const names[] = { "kernel.tls_ports", "kernel.http_ports" };
	int i, j;

	for (i = 0; i < XF_PORTS_MAX; i++) {
		for (j = 0; j < 2; j++) {
			if (!lists[j][i])
				continue;
			x->line = line_of(x, names[j]);
			if (lists[j][i] == kc->dns_port)
				return fail(x, names[j], "port %u is kernel.dns_port already",
					    lists[j][i]);
		}
		if (!kc->http_ports[i])
			continue;
		for (j = 0; j < XF_PORTS_MAX; j++) {
			if (kc->tls_ports[j] == kc->http_ports[i]) {
				x->line = line_of(x, "kernel.http_ports");
				return fail(x, "kernel.http_ports",
					    "port %u is in kernel.tls_ports already",
					    kc->http_ports[i]);
			}
		}
	}
	return 0;
}

static int check_rules(struct ctx *x, const struct xf_sensor_cfg *c)
{
	const struct xf_config *kc = &c->kernel;

	if (kc->enc_label_drop && kc->enc_label_drop < kc->enc_label_min) {
		x->line = line_of(x, "kernel.enc_label_drop") ?: line_of(x, "kernel.enc_label_min");
		return fail(x, "kernel.enc_label_drop",
			    "expected 0 (off) or at least kernel.enc_label_min (%u), got %u",
			    kc->enc_label_min, kc->enc_label_drop);
	}
	if (c->kring_kib & (c->kring_kib - 1)) {
		/* the kernel takes a ring buffer of a power-of-two number of pages */
		x->line = line_of(x, "kernel.ring_kib");
		return fail(x, "kernel.ring_kib",
			    "expected a power of two (4, 8, ... 1048576), got %u", c->kring_kib);
	}
	if (c->block_threshold < c->threshold) {
		x->line = line_of(x, "detect.block_threshold") ?: line_of(x, "detect.threshold");
		return fail(x, "detect.block_threshold",
			    "expected at least detect.threshold (%g), got %g", c->threshold,
			    c->block_threshold);
	}
	if (c->kafka_enabled && !prop_has(c, "bootstrap.servers") &&
	    !prop_has(c, "metadata.broker.list")) {
		x->line = line_of(x, "sinks.kafka.properties") ?: line_of(x, "sinks.kafka.enabled");
		return fail(x, "sinks.kafka.properties",
			    "bootstrap.servers is required when sinks.kafka.enabled is true");
	}
	return check_ports(x, kc);
}

int xf_sensor_cfg_check(const struct xf_sensor_cfg *c, char *err, size_t errlen)
{
	struct ctx x = { .err = err, .errlen = errlen };

	return check_rules(&x, c);
}

int xf_sensor_cfg_load(struct xf_sensor_cfg *c, const char *path, char *err, size_t errlen)
{
	struct ctx *x = NULL;
	struct xf_sensor_cfg *w = NULL;
	size_t len = 0;
	char *buf = NULL;
	int ret;

	ret = read_config(path, &buf, &len, err, errlen);
	if (ret)
		return ret;
	x = calloc(1, sizeof(*x));
	w = cfg_dup(c);
	if (!x || !w) {
		say(err, errlen, "failed to load config file %s: %s", path, strerror(ENOMEM));
		ret = -ENOMEM;
		goto out;
	}
	x->c = w;
	x->where = path;
	x->err = err;
	x->errlen = errlen;
	ret = load_doc(x, buf, len) ?: check_rules(x, w);
	if (!ret) {
		cfg_commit(c, w);
		w = NULL;
	}
out:
	cfg_discard(w);
	free(x);
	free(buf);
	return ret;
}

/* "a, b" or "[a, b]" into entries; "" and "[]" are the empty list. */
static int set_list(struct ctx *x, const struct key *k, const char *value)
{
	char *copy = strdup(value), *s, *e, *item, ipath[PATH_LEN + 16];
	int i = 0, err = 0;

	if (!copy)
		return fail_nomem(x, k->info.key);
	for (s = copy; isspace((unsigned char)*s); s++)
		;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	if (*s == '[' && e > s && e[-1] == ']') {
		*--e = 0;
		s++;
	}
	list_clear(x, k);
	if (strspn(s, " \t") == strlen(s))
		goto out;
	while ((item = strsep(&s, ",")) && !err) {
		snprintf(ipath, sizeof(ipath), "%s[%d]", k->info.key, i);
		while (isspace((unsigned char)*item))
			item++;
		e = item + strlen(item);
		while (e > item && isspace((unsigned char)e[-1]))
			*--e = 0;
		err = list_add(x, k, ipath, item);
		i++;
	}
out:
	free(copy);
	return err;
}

/* detect.weights.NAME and sinks.kafka.properties.NAME. */
static const struct key *map_find(const char *path, const char **name)
{
	size_t i, n;

	for (i = 0; i < ARRAY_SIZE(keys); i++) {
		if (keys[i].type != KT_WEIGHTS && keys[i].type != KT_PROPS)
			continue;
		n = strlen(keys[i].info.key);
		if (!strncmp(path, keys[i].info.key, n) && path[n] == '.') {
			*name = path + n + 1;
			return &keys[i];
		}
	}
	return NULL;
}

static int set_key(struct ctx *x, const char *path, const char *value)
{
	const struct key *k = key_find(path);
	const char *name;

	if (!k) {
		k = map_find(path, &name);
		return k ? map_put(x, k, path, name, value) : fail_unknown(x, path);
	}
	switch (k->type) {
	case KT_SECTION:
		return fail(x, path, "is a section: set one of its keys (%s.KEY=VALUE)", path);
	case KT_WEIGHTS:
	case KT_PROPS:
		return fail(x, path, "is a mapping: set one entry (%s.NAME=VALUE)", path);
	case KT_LIST:
	case KT_PORTS:
		return set_list(x, k, value);
	default:
		return set_scalar(x, k, path, value);
	}
}

int xf_sensor_cfg_set(struct xf_sensor_cfg *c, const char *key, const char *value, char *err,
		      size_t errlen)
{
	struct ctx *x = NULL;
	struct xf_sensor_cfg *w = NULL;
	int ret;

	if (!key) {
		say(err, errlen, "command line: no key given");
		return -EINVAL;
	}
	x = calloc(1, sizeof(*x));
	w = cfg_dup(c);
	if (!x || !w) {
		say(err, errlen, "failed to set %s: %s", key, strerror(ENOMEM));
		ret = -ENOMEM;
		goto out;
	}
	x->c = w;
	x->where = "command line";
	x->err = err;
	x->errlen = errlen;
	ret = set_key(x, key, value ? value : "");
	if (!ret) {
		cfg_commit(c, w);
		w = NULL;
	}
out:
	cfg_discard(w);
	free(x);
	return ret;
}
