// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_config.c - sensor/config.c: the defaults (xf_config_defaults() for the
 * kernel map), the shipped exfilter.example.yaml, every key set to a value
 * other than its default, one case per kind of error with its file, line and
 * key path, unsafe modes and owners, --set overrides and their errors, the
 * text of kafka properties, and the key table against docs/config.md and the
 * example. Temporary files live under /tmp and are removed by the teardown.
 * Run from the repository root.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <yaml.h>

#include "config.h"
#include "frame.h"
#include "sink.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define EXAMPLE "exfilter.example.yaml"
#define DOCS "docs/config.md"

/* Large (~150 KiB each): static, and reset by setup(). */
static struct xf_sensor_cfg cfg, def, work;
static char err[1024];
static char tmp_path[64];

static int setup(void **state)
{
	(void)state;
	xf_sensor_cfg_defaults(&cfg);
	xf_sensor_cfg_defaults(&def);
	xf_sensor_cfg_defaults(&work);
	err[0] = 0;
	return 0;
}

static void tmp_remove(void)
{
	if (tmp_path[0])
		unlink(tmp_path);
	tmp_path[0] = 0;
}

static int teardown(void **state)
{
	(void)state;
	xf_sensor_cfg_free(&cfg);
	xf_sensor_cfg_free(&work);
	tmp_remove();
	return 0;
}

/* text into a fresh file under /tmp with the given mode; its path. */
static const char *tmp_write(const char *text, size_t len, mode_t mode)
{
	int fd;

	tmp_remove();
	snprintf(tmp_path, sizeof(tmp_path), "/tmp/xf-test-config-XXXXXX");
	fd = mkstemp(tmp_path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	return tmp_path;
}

static int load_text(const char *text)
{
	tmp_write(text, strlen(text), 0600);
	return xf_sensor_cfg_load(&cfg, tmp_path, err, sizeof(err));
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = malloc(1 << 20);
	size_t n;

	assert_non_null(f); /* run from the repository root */
	assert_non_null(buf);
	n = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

/* The whole config but the kafka property pointers (heap addresses differ). */
static int same_cfg(const struct xf_sensor_cfg *a, const struct xf_sensor_cfg *b)
{
	size_t p = offsetof(struct xf_sensor_cfg, kafka_props);
	size_t q = offsetof(struct xf_sensor_cfg, n_kafka_props);
	int i;

	if (memcmp(a, b, p) || memcmp((const char *)a + q, (const char *)b + q, sizeof(*a) - q))
		return 0;
	for (i = 0; i < a->n_kafka_props; i++)
		if (strcmp(a->kafka_props[i].key, b->kafka_props[i].key) ||
		    strcmp(a->kafka_props[i].value, b->kafka_props[i].value))
			return 0;
	return 1;
}

static void cfg_copy(struct xf_sensor_cfg *dst, const struct xf_sensor_cfg *src)
{
	int i;

	memcpy(dst, src, sizeof(*dst));
	for (i = 0; i < src->n_kafka_props; i++) {
		dst->kafka_props[i].key = strdup(src->kafka_props[i].key);
		dst->kafka_props[i].value = strdup(src->kafka_props[i].value);
	}
}

static const char *prop(const struct xf_sensor_cfg *c, const char *key)
{
	int i;

	for (i = 0; i < c->n_kafka_props; i++)
		if (!strcmp(c->kafka_props[i].key, key))
			return c->kafka_props[i].value;
	return NULL;
}

static void test_defaults(void **state)
{
	struct xf_config k;

	(void)state;
	xf_config_defaults(&k);
	assert_memory_equal(&def.kernel, &k, sizeof(k));
	assert_int_equal(def.mode, XF_MODE_MONITOR);
	assert_int_equal(def.n_ifaces, 0);
	assert_string_equal(def.tap, "");
	assert_string_equal(def.pin_dir, "/sys/fs/bpf/exfilter");
	assert_int_equal(def.keep_pinned, 0);
	assert_int_equal(def.n_resolvers + def.n_allow + def.n_block, 0);
	assert_int_equal(def.kflows_max, 65536);
	assert_int_equal(def.kring_kib, 1024);
	assert_int_equal(def.max_flows, 1000000);
	assert_int_equal(def.tick_ms, 1000);
	assert_int_equal(def.window_s, 300);
	assert_true(def.threshold == 60 && def.block_threshold == 80);
	assert_int_equal(def.verdict_ttl_s, 3600);
	assert_int_equal(def.block_min_names, 3);
	assert_int_equal(def.verdict_action, XF_ACT_DROP);
	assert_true(def.resolver_scale == 4);
	assert_int_equal(def.max_domains, 16384);
	assert_int_equal(def.flood_names, 20000);
	assert_int_equal(def.flood_clients, 20);
	assert_int_equal(def.flood_block, 0);
	assert_int_equal(def.n_weights, 0);
	assert_string_equal(def.db_path, "/var/lib/exfilter/alerts.db");
	assert_int_equal(def.batch, 1000);
	assert_int_equal(def.flush_ms, 100);
	assert_int_equal(def.memory_max, 100000);
	assert_int_equal(def.kafka_enabled, 0);
	assert_string_equal(def.kafka_topic, "exfilter-alerts");
	assert_int_equal(def.n_kafka_props, 0);
	assert_int_equal(def.kafka_max_inflight, 100000);
	assert_int_equal(def.jsonl_enabled, 1);
	assert_string_equal(def.jsonl_path, "-");
	assert_string_equal(def.geoip_city, "");
	assert_string_equal(def.geoip_asn, "");
	assert_int_equal(xf_sensor_cfg_check(&def, err, sizeof(err)), 0);
}

/* The default the key table documents is the one the struct gets. */
static void test_table_defaults(void **state)
{
	const struct xf_cfg_key_info *ki;
	unsigned int i, n = 0;

	(void)state;
	for (i = 0; (ki = xf_sensor_cfg_key(i)); i++) {
		if (!ki->def || !strcmp(ki->def, "{}"))
			continue;
		xf_sensor_cfg_defaults(&work);
		if (xf_sensor_cfg_set(&work, ki->key, ki->def, err, sizeof(err))) {
			print_error("%s: default '%s' refused: %s\n", ki->key, ki->def, err);
			fail();
		}
		if (!same_cfg(&work, &def)) {
			print_error("%s: documented default '%s' differs from the struct's\n",
				    ki->key, ki->def);
			fail();
		}
		n++;
	}
	assert_true(n >= 40);
}

static void test_empty_file(void **state)
{
	static const char *const texts[] = { "",	  "# nothing\n\n",
					     "---\n",	  "~\n",
					     "kernel:\n", "detect: {}\nsinks:\n  kafka:\n" };
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(texts); i++) {
		cfg.threshold = 1; /* load must not reset to defaults either */
		assert_int_equal(load_text(texts[i]), 0);
		assert_true(cfg.threshold == 1);
		cfg.threshold = 60;
		assert_true(same_cfg(&cfg, &def));
	}
}

/* Every mapping key path of a YAML document ("detect.threshold"). */
static void collect(yaml_document_t *d, yaml_node_t *n, const char *prefix, char (*out)[96],
		    int *nout, int max)
{
	yaml_node_pair_t *p;

	if (n->type != YAML_MAPPING_NODE)
		return;
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(d, p->key);

		if (k->type != YAML_SCALAR_NODE || *nout >= max)
			continue;
		snprintf(out[*nout], 96, "%s%s%s", prefix, *prefix ? "." : "",
			 (const char *)k->data.scalar.value);
		collect(d, yaml_document_get_node(d, p->value), out[(*nout)++], out, nout, max);
	}
}

static void test_example(void **state)
{
	static char paths[256][96];
	const struct xf_cfg_key_info *ki;
	yaml_parser_t parser;
	yaml_document_t doc;
	char *text, *docs, want[128];
	unsigned int i;
	int n = 0, j;
	size_t len;

	(void)state;
	text = slurp(EXAMPLE, &len);
	/* A private copy: a checkout with a loose umask must not fail this. */
	tmp_write(text, len, 0600);
	if (xf_sensor_cfg_load(&cfg, tmp_path, err, sizeof(err))) {
		print_error("%s: %s\n", EXAMPLE, err);
		fail();
	}
	assert_true(same_cfg(&cfg, &def));

	assert_true(yaml_parser_initialize(&parser));
	yaml_parser_set_input_string(&parser, (unsigned char *)text, len);
	assert_true(yaml_parser_load(&parser, &doc));
	collect(&doc, yaml_document_get_root_node(&doc), "", paths, &n, ARRAY_SIZE(paths));
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);

	docs = slurp(DOCS, NULL);
	for (i = 0; (ki = xf_sensor_cfg_key(i)); i++) {
		for (j = 0; j < n && strcmp(paths[j], ki->key); j++)
			;
		if (j == n) {
			print_error("%s: not in %s\n", ki->key, EXAMPLE);
			fail();
		}
		snprintf(want, sizeof(want), "| `%s` |", ki->key);
		if (ki->def && !strstr(docs, want)) {
			print_error("%s: no row in %s\n", ki->key, DOCS);
			fail();
		}
	}
	free(docs);
	free(text);
}

static const char all_keys[] = "mode: enforce\n"
			       "interfaces: [eth0, \"veth-xf1\"]\n"
			       "tap: mirror0\n"
			       "pin_dir: /sys/fs/bpf/xf-test\n"
			       "keep_pinned: yes\n"
			       "run_as: nobody\n"
			       "resolvers: [10.0.0.53, \"2001:db8::53\"]\n"
			       "allow: [Corp.Example., \"sni:update.example.net\"]\n"
			       "block: [tunnel.example, 203.0.113.0/24, \"host:c2.example\"]\n"
			       "kernel:\n"
			       "  enc_label_min: 20\n"
			       "  enc_label_drop: 50\n"
			       "  long_qname: 120\n"
			       "  event_gap_ms: 2500\n"
			       "  msg_bytes: 300\n"
			       "  drop_bad_bytes: false\n"
			       "  window_ms: 5000\n"
			       "  query_limit: 4294967295\n"
			       "  enc_limit: 100\n"
			       "  limit_action: refuse\n"
			       "  sample_every: 100\n"
			       "  events_all: true\n"
			       "  dns_port: 5353\n"
			       "  tls_ports: [443, 8443]\n"
			       "  http_ports: [8080, 8000, 8008, 8888]\n"
			       "  max_flows: 4096\n"
			       "  ring_kib: 64\n"
			       "failsafe:\n"
			       "  on_crash: open\n"
			       "  heartbeat_ms: 1500\n"
			       "flows:\n"
			       "  max_flows: 200000\n"
			       "  tick_ms: 500\n"
			       "  window_s: 600\n"
			       "  max_domains: 4096\n"
			       "detect:\n"
			       "  threshold: 70.5\n"
			       "  block_threshold: 9e1\n"
			       "  block_min_names: 5\n"
			       "  verdict_ttl_s: 7200\n"
			       "  verdict_action: refuse\n"
			       "  resolver_scale: 8\n"
			       "  flood_names: 5000\n"
			       "  flood_clients: 100\n"
			       "  flood_block: true\n"
			       "  weights:\n"
			       "    entropy: 1.5\n"
			       "    length: 0\n"
			       "store:\n"
			       "  path: /srv/xf/alerts.db\n"
			       "  batch: 500\n"
			       "  flush_ms: 50\n"
			       "  memory_max: 0\n"
			       "sinks:\n"
			       "  kafka:\n"
			       "    enabled: true\n"
			       "    topic: soc.exfilter_alerts-1\n"
			       "    properties:\n"
			       "      bootstrap.servers: \"127.0.0.1:9092\"\n"
			       "      linger.ms: 5\n"
			       "    max_inflight: 50000\n"
			       "  jsonl:\n"
			       "    enabled: off\n"
			       "    path: /var/log/xf.jsonl\n"
			       "geoip:\n"
			       "  city_db: /usr/share/GeoIP/City.mmdb\n"
			       "  asn_db: /usr/share/GeoIP/ASN.mmdb\n";

static void test_all_keys(void **state)
{
	const struct xf_cfg_key_info *ki;
	const __u16 http[XF_PORTS_MAX] = { 8080, 8000, 8008, 8888 };
	const __u16 tls[XF_PORTS_MAX] = { 443, 8443 };
	unsigned int i;

	(void)state;
	if (load_text(all_keys)) {
		print_error("%s\n", err);
		fail();
	}
	assert_int_equal(cfg.mode, XF_MODE_ENFORCE);
	assert_int_equal(cfg.kernel.mode, XF_MODE_ENFORCE);
	assert_int_equal(cfg.n_ifaces, 2);
	assert_string_equal(cfg.ifaces[0], "eth0");
	assert_string_equal(cfg.ifaces[1], "veth-xf1");
	assert_string_equal(cfg.tap, "mirror0");
	assert_string_equal(cfg.pin_dir, "/sys/fs/bpf/xf-test");
	assert_int_equal(cfg.keep_pinned, 1);
	assert_string_equal(cfg.run_as, "nobody");
	assert_int_equal(cfg.n_resolvers, 2);
	assert_string_equal(cfg.resolvers[0], "10.0.0.53");
	assert_string_equal(cfg.resolvers[1], "2001:db8::53");
	assert_int_equal(cfg.n_allow, 2);
	assert_string_equal(cfg.allow[0], "corp.example"); /* as the maps key it */
	assert_string_equal(cfg.allow[1], "sni:update.example.net");
	assert_int_equal(cfg.n_block, 3);
	assert_string_equal(cfg.block[0], "tunnel.example");
	assert_string_equal(cfg.block[1], "203.0.113.0/24");
	assert_string_equal(cfg.block[2], "host:c2.example");
	assert_int_equal(cfg.kernel.enc_label_min, 20);
	assert_int_equal(cfg.kernel.enc_label_drop, 50);
	assert_int_equal(cfg.kernel.long_qname, 120);
	assert_int_equal(cfg.kernel.event_gap_ms, 2500);
	assert_int_equal(cfg.kernel.msg_bytes, 300);
	assert_int_equal(cfg.kernel.drop_bad_bytes, 0);
	assert_int_equal(cfg.kernel.kwin_ms, 5000);
	assert_int_equal(cfg.kernel.kq_limit, 4294967295u);
	assert_int_equal(cfg.kernel.kenc_limit, 100);
	assert_int_equal(cfg.kernel.limit_action, XF_ACT_REFUSE);
	assert_int_equal(cfg.kernel.sample_every, 100);
	assert_int_equal(cfg.kernel.flags, XF_CF_EVENTS_ALL);
	assert_int_equal(cfg.kernel.dns_port, 5353);
	assert_memory_equal(cfg.kernel.tls_ports, tls, sizeof(tls));
	assert_memory_equal(cfg.kernel.http_ports, http, sizeof(http));
	assert_int_equal(cfg.kflows_max, 4096);
	assert_int_equal(cfg.kring_kib, 64);
	assert_int_equal(cfg.failsafe_open, 1);
	assert_int_equal(cfg.heartbeat_ms, 1500);
	assert_int_equal(cfg.max_flows, 200000);
	assert_int_equal(cfg.tick_ms, 500);
	assert_int_equal(cfg.window_s, 600);
	assert_true(cfg.threshold == 70.5);
	assert_true(cfg.block_threshold == 90);
	assert_int_equal(cfg.verdict_ttl_s, 7200);
	assert_int_equal(cfg.block_min_names, 5);
	assert_int_equal(cfg.verdict_action, XF_ACT_REFUSE);
	assert_true(cfg.resolver_scale == 8);
	assert_int_equal(cfg.max_domains, 4096);
	assert_int_equal(cfg.flood_names, 5000);
	assert_int_equal(cfg.flood_clients, 100);
	assert_int_equal(cfg.flood_block, 1);
	assert_int_equal(cfg.n_weights, 2);
	assert_string_equal(cfg.weights[0].name, "entropy");
	assert_true(cfg.weights[0].weight == 1.5);
	assert_string_equal(cfg.weights[1].name, "length");
	assert_true(cfg.weights[1].weight == 0);
	assert_string_equal(cfg.db_path, "/srv/xf/alerts.db");
	assert_int_equal(cfg.batch, 500);
	assert_int_equal(cfg.flush_ms, 50);
	assert_int_equal(cfg.memory_max, 0);
	assert_int_equal(cfg.kafka_enabled, 1);
	assert_string_equal(cfg.kafka_topic, "soc.exfilter_alerts-1");
	assert_int_equal(cfg.n_kafka_props, 2);
	assert_string_equal(prop(&cfg, "bootstrap.servers"), "127.0.0.1:9092");
	assert_string_equal(prop(&cfg, "linger.ms"), "5");
	assert_int_equal(cfg.kafka_max_inflight, 50000);
	assert_int_equal(cfg.jsonl_enabled, 0);
	assert_string_equal(cfg.jsonl_path, "/var/log/xf.jsonl");
	assert_string_equal(cfg.geoip_city, "/usr/share/GeoIP/City.mmdb");
	assert_string_equal(cfg.geoip_asn, "/usr/share/GeoIP/ASN.mmdb");

	/* Coverage: putting any one key back to its default changes the config,
	 * so the text above sets every key of the table. */
	for (i = 0; (ki = xf_sensor_cfg_key(i)); i++) {
		if (!ki->def || !strcmp(ki->def, "{}"))
			continue;
		xf_sensor_cfg_free(&work);
		cfg_copy(&work, &cfg);
		assert_int_equal(xf_sensor_cfg_set(&work, ki->key, ki->def, err, sizeof(err)), 0);
		if (same_cfg(&work, &cfg)) {
			print_error("%s: not set to a non-default value by the test\n", ki->key);
			fail();
		}
	}
}

struct err_case {
	const char *yaml;
	int line;
	const char *msg; /* after "FILE:LINE: " */
};

static const struct err_case file_errors[] = {
	/* values */
	{ "detect:\n  threshold: high\n", 2,
	  "detect.threshold: expected a number 0..100, got 'high'" },
	{ "detect:\n  threshold: 100.5\n", 2, "detect.threshold: expected a number 0..100" },
	{ "detect:\n  threshold: .nan\n", 2, "detect.threshold: expected a number 0..100" },
	{ "detect:\n  resolver_scale: 0x10\n", 2,
	  "detect.resolver_scale: expected a number 1..1000" },
	{ "kernel:\n  dns_port: 0\n", 2, "kernel.dns_port: expected an integer 1..65535, got '0'" },
	{ "kernel:\n  dns_port: 65536\n", 2, "kernel.dns_port: expected an integer 1..65535" },
	{ "kernel:\n  max_flows: 255\n", 2,
	  "kernel.max_flows: expected an integer 256..16777216, got '255'" },
	{ "kernel:\n  ring_kib: 2\n", 2, "kernel.ring_kib: expected an integer 4..1048576" },
	{ "flows:\n  max_flows: -1\n", 2,
	  "flows.max_flows: expected an integer 1..100000000, got '-1'" },
	{ "flows:\n  tick_ms: 99999999999999999999999\n", 2, "flows.tick_ms: expected an integer" },
	{ "store:\n  batch: 10.5\n", 2, "store.batch: expected an integer 1..1000000, got '10.5'" },
	{ "kernel:\n  enc_label_min: 64\n", 2, "kernel.enc_label_min: expected an integer 1..63" },
	{ "kernel:\n  msg_bytes: 513\n", 2,
	  "kernel.msg_bytes: expected an integer 0..512, got '513'" },
	{ "mode: block\n", 1, "mode: expected monitor or enforce, got 'block'" },
	{ "kernel:\n  limit_action: pass\n", 2,
	  "kernel.limit_action: expected drop or refuse, got 'pass'" },
	{ "keep_pinned: maybe\n", 1, "keep_pinned: expected true or false, got 'maybe'" },
	{ "run_as: xf-no-such-user\n", 1,
	  "run_as: expected an existing user name, or \"\" (stay root), got 'xf-no-such-user'" },
	/* librdkafka's own checks, named by our key (TLS and SASL included) */
	{ "sinks:\n  kafka:\n    properties:\n      security.protocol: TLS\n", 4,
	  "sinks.kafka.properties.security.protocol: Invalid value \"TLS\"" },
	{ "sinks:\n  kafka:\n    properties:\n      sasl.mechanisms: PLAIN\n"
	  "      ssl.no.such.thing: x\n",
	  5, "sinks.kafka.properties.ssl.no.such.thing: No such configuration property" },
	{ "failsafe:\n  on_crash: ajar\n", 2,
	  "failsafe.on_crash: expected closed or open, got 'ajar'" },
	{ "failsafe:\n  heartbeat_ms: 999\n", 2,
	  "failsafe.heartbeat_ms: expected an integer 1000..3600000, got '999'" },
	{ "kernel:\n  events_all: 2\n", 2, "kernel.events_all: expected true or false, got '2'" },
	{ "pin_dir: relative/dir\n", 1, "pin_dir: expected an absolute path, got 'relative/dir'" },
	{ "pin_dir:\n", 1, "pin_dir: expected an absolute path, got ''" },
	{ "tap: \"eth0\\0x\"\n", 1, "tap: contains a NUL byte" },
	{ "sinks:\n  kafka:\n    topic: bad topic\n", 3,
	  "sinks.kafka.topic: expected a Kafka topic name" },
	{ "sinks:\n  jsonl:\n    path: \"\"\n", 3, "sinks.jsonl.path: expected a file path" },
	{ "detect:\n  weights:\n    entropy: -1\n", 3,
	  "detect.weights.entropy: expected a number >= 0, got '-1'" },
	{ "detect:\n  weights:\n    a_detector_name_that_is_far_too_long: 1\n", 3,
	  "detect.weights.a_detector_name_that_is_far_too_long: expected a detector name" },
	{ "detect:\n  weights:\n    entrophy: 1\n", 3,
	  "detect.weights.entrophy: no such detector" },
	/* list entries */
	{ "resolvers:\n  - 10.0.0.1\n  - 10.0.0.256\n", 3,
	  "resolvers[1]: expected an IPv4 or IPv6 address, got '10.0.0.256'" },
	{ "resolvers: [\"fe80::1%eth0\"]\n", 1, "resolvers[0]: expected an IPv4 or IPv6 address" },
	{ "interfaces: [averyveryverylongname]\n", 1, "interfaces[0]: expected an interface name" },
	{ "interfaces: [eth0, eth0]\n", 1, "interfaces[1]: 'eth0' is listed twice" },
	{ "block: [sni:A.example, \"sni:a.example.\"]\n", 1,
	  "block[1]: 'sni:a.example.' is listed twice" },
	{ "block: [\"10.0.0.0/33\"]\n", 1, "block[0]: expected a domain, IP, IP/CIDR" },
	{ "allow: [10.0.0.0/8]\n", 1,
	  "allow[0]: expected a domain of two or more labels that is not a public suffix, sni:NAME "
	  "or host:NAME" },
	{ "kernel:\n  tls_ports: [0]\n", 2, "kernel.tls_ports[0]: expected an integer 1..65535" },
	{ "kernel:\n  tls_ports: [443, 443]\n", 2, "kernel.tls_ports[1]: 443 is listed twice" },
	/* unknown keys */
	{ "detect:\n  treshold: 60\n", 2,
	  "detect.treshold: unknown key (did you mean detect.threshold?)" },
	{ "kernel:\n  mode: enforce\n", 2, "kernel.mode: unknown key (did you mean mode?)" },
	{ "mode: monitor\ncolour: blue\n", 2, "colour: unknown key" },
	{ "sinks:\n  kafka:\n    brokers: x\n", 3, "sinks.kafka.brokers: unknown key" },
	{ "sinks.kafka.enabled: true\n", 1,
	  "sinks.kafka.enabled: unknown key (write a dotted path as nested mappings)" },
	{ "sinks:\n  kafka.topic: x\n", 2, "sinks.kafka.topic: unknown key (write a dotted" },
	/* types */
	{ "interfaces: eth0\n", 1, "interfaces: expected a list, got a scalar" },
	{ "detect:\n  threshold: [60]\n", 2,
	  "detect.threshold: expected a number 0..100, got a list" },
	{ "tap: {a: b}\n", 1, "tap: expected an interface name or \"\" (none), got a mapping" },
	{ "kernel: 5\n", 1, "kernel: expected a mapping, got a scalar" },
	{ "detect:\n  weights: [a]\n", 2, "detect.weights: expected a mapping, got a list" },
	{ "interfaces:\n  - {a: b}\n", 2, "interfaces[0]: expected an interface name" },
	{ "kernel:\n  tls_ports: [[443]]\n", 2,
	  "kernel.tls_ports[0]: expected an integer 1..65535, got a list" },
	{ "sinks:\n  kafka:\n    properties:\n      linger.ms: [1]\n", 4,
	  "sinks.kafka.properties.linger.ms: expected a scalar, got a list" },
	{ "detect:\n  ? [a, b]\n  : c\n", 2, "detect: expected a scalar as a key, got a list" },
	/* duplicates */
	{ "detect:\n  threshold: 60\n  threshold: 70\n", 3,
	  "detect.threshold: duplicate key (first given on line 2)" },
	{ "detect: {}\nflows: {}\ndetect: {}\n", 3,
	  "detect: duplicate key (first given on line 1)" },
	{ "detect:\n  weights:\n    entropy: 1\n    entropy: 2\n", 4,
	  "detect.weights.entropy: duplicate key (first given on line 3)" },
	{ "sinks:\n  kafka:\n    properties:\n      linger.ms: 1\n      linger.ms: 2\n", 5,
	  "sinks.kafka.properties.linger.ms: duplicate key" },
	/* too many entries */
	{ "kernel:\n  tls_ports: [1, 2, 3, 4, 5]\n", 2,
	  "kernel.tls_ports: expected at most 4 entries, got more" },
	{ "interfaces: [a0, a1, a2, a3, a4, a5, a6, a7,\n  a8]\n", 2,
	  "interfaces: expected at most 8 entries, got more" },
	/* detect.weights: at most 16 entries can't be tested since names must be
	 * real detectors (fewer than 16), and a repeated name overwrites */
	/* YAML itself */
	{ "mode: monitor\ntap: a: b\n", 2,
	  "invalid YAML: mapping values are not allowed in this context" },
	{ "mode: monitor\ntap: [eth0\n", 3, "invalid YAML: did not find expected ',' or ']'" },
	{ "mode: monitor\ntap: \xff\n", 2, "invalid YAML: invalid leading UTF-8 octet" },
	{ "mode: monitor\ntap: *nowhere\n", 2, "invalid YAML: found undefined alias" },
	{ "- mode\n", 1, "expected a mapping of keys at the top level, got a list" },
	{ "mode: monitor\n---\nmode: enforce\n", 3,
	  "expected one YAML document, found a second one" },
	/* rules between keys */
	{ "detect:\n  threshold: 90\n", 2,
	  "detect.block_threshold: expected at least detect.threshold (90), got 80" },
	{ "kernel:\n  enc_label_min: 50\n", 2,
	  "kernel.enc_label_drop: expected 0 (off) or at least kernel.enc_label_min (50), got 40" },
	{ "sinks:\n  kafka:\n    enabled: true\n", 3,
	  "sinks.kafka.properties: bootstrap.servers is required when sinks.kafka.enabled is "
	  "true" },
	{ "kernel:\n  tls_ports: [53]\n", 2,
	  "kernel.tls_ports: port 53 is kernel.dns_port already" },
	{ "kernel:\n  http_ports: [443]\n", 2,
	  "kernel.http_ports: port 443 is in kernel.tls_ports already" },
	{ "kernel:\n  ring_kib: 96\n", 2,
	  "kernel.ring_kib: expected a power of two (4, 8, ... 1048576), got 96" },
};

static void test_file_errors(void **state)
{
	char want[512];
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(file_errors); i++) {
		const struct err_case *c = &file_errors[i];

		err[0] = 0;
		rc = load_text(c->yaml);
		snprintf(want, sizeof(want), "%s:%d: %s", tmp_path, c->line, c->msg);
		if (rc != -EINVAL || !strstr(err, want)) {
			print_error("case %zu: rc %d\n  got:  %s\n  want: %s\n", i, rc, err, want);
			fail();
		}
		/* all or nothing */
		if (!same_cfg(&cfg, &def)) {
			print_error("case %zu: the config changed on error\n", i);
			fail();
		}
	}
}

/* A file replaces the keys it names, lists whole, and keeps the rest. */
static void test_load_over(void **state)
{
	(void)state;
	assert_int_equal(xf_sensor_cfg_set(&cfg, "mode", "enforce", err, sizeof(err)), 0);
	assert_int_equal(xf_sensor_cfg_set(&cfg, "interfaces", "eth8,eth9", err, sizeof(err)), 0);
	assert_int_equal(load_text("interfaces: [eth0]\ndetect:\n  threshold: 70\n"), 0);
	assert_int_equal(cfg.mode, XF_MODE_ENFORCE);
	assert_int_equal(cfg.kernel.mode, XF_MODE_ENFORCE);
	assert_int_equal(cfg.n_ifaces, 1);
	assert_string_equal(cfg.ifaces[0], "eth0");
	assert_string_equal(cfg.ifaces[1], "");
	assert_true(cfg.threshold == 70);
	/* an error leaves the previous values */
	assert_int_equal(load_text("detect:\n  threshold: 75\nmode: bogus\n"), -EINVAL);
	assert_true(cfg.threshold == 70);
	assert_int_equal(cfg.mode, XF_MODE_ENFORCE);
	/* lists and maps given with no value are emptied */
	assert_int_equal(load_text("interfaces:\nkernel:\n  tls_ports: ~\n"), 0);
	assert_int_equal(cfg.n_ifaces, 0);
	assert_int_equal(cfg.kernel.tls_ports[0], 0);
}

static void test_missing_file(void **state)
{
	const char *path = "/tmp/xf-test-config-does-not-exist.yaml";
	char want[256];

	(void)state;
	unlink(path);
	assert_int_equal(xf_sensor_cfg_load(&cfg, path, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "%s: %s", path, strerror(ENOENT));
	assert_non_null(strstr(err, want));
	assert_int_equal(xf_sensor_cfg_load(&cfg, "/tmp", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "config file /tmp is not a regular file"));
	assert_true(same_cfg(&cfg, &def));
}

static void test_unsafe_mode(void **state)
{
	static const struct {
		mode_t mode;
		const char *msg; /* "%s" = the path */
	} cases[] = {
		{ 0666, "config file %s is writable by others (mode 0666); chmod go-w %s" },
		{ 0602, "config file %s is writable by others (mode 0602); chmod go-w %s" },
		{ 0660, "config file %s is writable by its group (mode 0660); chmod go-w %s" },
		{ 0644, NULL },
		{ 0400, NULL },
	};
	char want[256];
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		tmp_write("mode: enforce\n", 14, cases[i].mode);
		xf_sensor_cfg_defaults(&cfg);
		rc = xf_sensor_cfg_load(&cfg, tmp_path, err, sizeof(err));
		if (!cases[i].msg) {
			assert_int_equal(rc, 0);
			assert_int_equal(cfg.mode, XF_MODE_ENFORCE);
			continue;
		}
		snprintf(want, sizeof(want), cases[i].msg, tmp_path, tmp_path);
		assert_int_equal(rc, -EPERM);
		assert_string_equal(err, want);
		assert_int_equal(cfg.mode, XF_MODE_MONITOR);
	}
}

static void test_unsafe_owner(void **state)
{
	char want[256];

	(void)state;
	if (geteuid() != 0)
		skip(); /* giving a file away needs root */
	tmp_write("mode: enforce\n", 14, 0644);
	assert_int_equal(chown(tmp_path, 4242, 4242), 0);
	assert_int_equal(xf_sensor_cfg_load(&cfg, tmp_path, err, sizeof(err)), -EPERM);
	snprintf(want, sizeof(want), "config file %s is owned by uid 4242, not by root", tmp_path);
	assert_non_null(strstr(err, want));
	assert_int_equal(cfg.mode, XF_MODE_MONITOR);
}

static void test_set(void **state)
{
	const __u16 tls[XF_PORTS_MAX] = { 8443, 443 };

#define SET(k, v) assert_int_equal(xf_sensor_cfg_set(&cfg, k, v, err, sizeof(err)), 0)
	(void)state;
	SET("detect.threshold", "70");
	assert_true(cfg.threshold == 70);
	SET("mode", "enforce");
	assert_int_equal(cfg.mode, XF_MODE_ENFORCE);
	assert_int_equal(cfg.kernel.mode, XF_MODE_ENFORCE);
	SET("interfaces", " eth0 , eth1");
	assert_int_equal(cfg.n_ifaces, 2);
	assert_string_equal(cfg.ifaces[0], "eth0");
	assert_string_equal(cfg.ifaces[1], "eth1");
	SET("interfaces", "[eth2]");
	assert_int_equal(cfg.n_ifaces, 1);
	assert_string_equal(cfg.ifaces[0], "eth2");
	assert_string_equal(cfg.ifaces[1], "");
	SET("interfaces", "");
	assert_int_equal(cfg.n_ifaces, 0);
	SET("kernel.tls_ports", "8443,443");
	assert_memory_equal(cfg.kernel.tls_ports, tls, sizeof(tls));
	SET("kernel.events_all", "true");
	assert_int_equal(cfg.kernel.flags, XF_CF_EVENTS_ALL);
	SET("kernel.events_all", "false");
	assert_int_equal(cfg.kernel.flags, 0);
	SET("kernel.window_ms", "250");
	assert_int_equal(cfg.kernel.kwin_ms, 250);
	SET("detect.weights.entropy", "1.5");
	SET("detect.weights.length", "0.25");
	SET("detect.weights.entropy", "2");
	assert_int_equal(cfg.n_weights, 2);
	assert_string_equal(cfg.weights[0].name, "entropy");
	assert_true(cfg.weights[0].weight == 2);
	assert_true(cfg.weights[1].weight == 0.25);
	SET("sinks.kafka.properties.bootstrap.servers", "h1:9092");
	SET("sinks.kafka.properties.bootstrap.servers", "h2:9092");
	SET("sinks.kafka.properties.linger.ms", "5");
	assert_int_equal(cfg.n_kafka_props, 2);
	assert_string_equal(prop(&cfg, "bootstrap.servers"), "h2:9092");
	assert_string_equal(prop(&cfg, "linger.ms"), "5");
	SET("sinks.kafka.enabled", "on");
	assert_int_equal(cfg.kafka_enabled, 1);
	SET("tap", "");
	assert_string_equal(cfg.tap, "");
	SET("sinks.jsonl.path", "/tmp/a.jsonl");
	assert_string_equal(cfg.jsonl_path, "/tmp/a.jsonl");
	assert_int_equal(xf_sensor_cfg_check(&cfg, err, sizeof(err)), 0);

	/* set() leaves the rules between keys to xf_sensor_cfg_check() */
	SET("detect.threshold", "95");
	assert_int_equal(xf_sensor_cfg_check(&cfg, err, sizeof(err)), -EINVAL);
	assert_string_equal(
		err, "detect.block_threshold: expected at least detect.threshold (95), got 80");
#undef SET
}

static const struct {
	const char *key, *value, *msg;
} set_errors[] = {
	{ "sinks.kafka.properties.security.protocol", "bogus",
	  "command line: sinks.kafka.properties.security.protocol: Invalid value \"bogus\"" },
	{ "detect.threshold", "high",
	  "command line: detect.threshold: expected a number 0..100, got 'high'" },
	{ "detect.treshold", "60",
	  "command line: detect.treshold: unknown key (did you mean detect.threshold?)" },
	{ "threshold", "60",
	  "command line: threshold: unknown key (did you mean detect.threshold?)" },
	{ "detect", "x", "command line: detect: is a section" },
	{ "detect.weights", "1", "command line: detect.weights: is a mapping" },
	{ "detect.weights.", "1", "command line: detect.weights.: expected a detector name" },
	{ "detect.weights.entropy", "-1",
	  "command line: detect.weights.entropy: expected a number >= 0, got '-1'" },
	{ "sinks.kafka.properties.", "x",
	  "command line: sinks.kafka.properties.: expected a librdkafka property name" },
	{ "kernel.tls_ports", "1,2,3,4,5",
	  "command line: kernel.tls_ports: expected at most 4 entries, got more" },
	{ "kernel.http_ports", "80,x", "command line: kernel.http_ports[1]: expected an integer" },
	{ "resolvers", "10.0.0.1, bad",
	  "command line: resolvers[1]: expected an IPv4 or IPv6 address, got 'bad'" },
	{ "interfaces", "eth0,,eth1", "command line: interfaces[1]: expected an interface name" },
	{ "mode", "", "command line: mode: expected monitor or enforce, got ''" },
	{ "kernel.limit_action", "DROP",
	  "command line: kernel.limit_action: expected drop or refuse" },
	{ "flows.window_s", "0", "command line: flows.window_s: expected an integer 1..86400" },
	{ "store.path", "", "command line: store.path: expected a file path, got ''" },
};

static void test_set_errors(void **state)
{
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(set_errors); i++) {
		err[0] = 0;
		rc = xf_sensor_cfg_set(&cfg, set_errors[i].key, set_errors[i].value, err,
				       sizeof(err));
		if (rc != -EINVAL || !strstr(err, set_errors[i].msg)) {
			print_error("%s=%s: rc %d\n  got:  %s\n  want: %s\n", set_errors[i].key,
				    set_errors[i].value, rc, err, set_errors[i].msg);
			fail();
		}
		if (!same_cfg(&cfg, &def)) {
			print_error("%s=%s: the config changed on error\n", set_errors[i].key,
				    set_errors[i].value);
			fail();
		}
	}
}

/* TLS and SASL reach librdkafka through properties: a SASL_SSL config with
 * its usual companions is taken whole, as written. */
static void test_kafka_tls_sasl(void **state)
{
	static const char *const kv[][2] = {
		{ "bootstrap.servers", "kafka1:9093" },
		{ "security.protocol", "SASL_SSL" },
		{ "ssl.ca.location", "/etc/exfilter/kafka-ca.pem" },
		{ "ssl.endpoint.identification.algorithm", "https" },
		{ "sasl.mechanisms", "SCRAM-SHA-512" },
		{ "sasl.username", "exfilter" },
		{ "sasl.password", "s3cret: with \"quotes\"" },
	};
	char err[512];
	size_t i;

	(void)state;
	assert_int_equal(load_text("sinks:\n"
				   "  kafka:\n"
				   "    enabled: true\n"
				   "    properties:\n"
				   "      bootstrap.servers: kafka1:9093\n"
				   "      security.protocol: SASL_SSL\n"
				   "      ssl.ca.location: /etc/exfilter/kafka-ca.pem\n"
				   "      ssl.endpoint.identification.algorithm: https\n"
				   "      sasl.mechanisms: SCRAM-SHA-512\n"
				   "      sasl.username: exfilter\n"
				   "      sasl.password: 's3cret: with \"quotes\"'\n"),
			 0);
	assert_int_equal(cfg.n_kafka_props, (int)ARRAY_SIZE(kv));
	for (i = 0; i < ARRAY_SIZE(kv); i++) {
		assert_string_equal(prop(&cfg, kv[i][0]), kv[i][1]);
		assert_int_equal(xf_kafka_prop_check(kv[i][0], kv[i][1], err, sizeof(err)), 0);
	}
	/* and the same checks refuse what librdkafka would */
	assert_int_equal(xf_kafka_prop_check("security.protocol", "TLS", err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "security.protocol"));
	assert_int_equal(xf_kafka_prop_check("sasl.mechanisms", "SCRAM-SHA-512", err, sizeof(err)),
			 0);
}

/* librdkafka takes text: whatever YAML would read as a number or a bool
 * keeps the characters that were written (in string properties, since the
 * loader now has librdkafka check each value). */
static void test_kafka_props_text(void **state)
{
	static const char *const kv[][2] = {
		{ "bootstrap.servers", "kafka1:9092,kafka2:9092" },
		{ "linger.ms", "0005" },
		{ "enable.idempotence", "true" },
		{ "sasl.username", "1.50" },
		{ "sasl.password", "0x10" },
		{ "client.id", "~" },
		{ "acks", "all" },
		{ "client.rack", "yes" },
		{ "ssl.key.password", "-1" },
		{ "ssl.cipher.suites", "1e3" },
	};
	size_t i;

	(void)state;
	assert_int_equal(load_text("sinks:\n"
				   "  kafka:\n"
				   "    enabled: true\n"
				   "    properties:\n"
				   "      bootstrap.servers: kafka1:9092,kafka2:9092\n"
				   "      linger.ms: 0005\n"
				   "      enable.idempotence: true\n"
				   "      sasl.username: 1.50\n"
				   "      sasl.password: 0x10\n"
				   "      client.id: ~\n"
				   "      acks: \"all\"\n"
				   "      client.rack: yes\n"
				   "      ssl.key.password: -1\n"
				   "      ssl.cipher.suites: 1e3\n"),
			 0);
	assert_int_equal(cfg.n_kafka_props, (int)ARRAY_SIZE(kv));
	for (i = 0; i < ARRAY_SIZE(kv); i++) {
		assert_string_equal(cfg.kafka_props[i].key, kv[i][0]);
		assert_string_equal(cfg.kafka_props[i].value, kv[i][1]);
	}
	/* a second file replaces the map; free empties it */
	assert_int_equal(load_text("sinks:\n  kafka:\n    properties: {bootstrap.servers: b:1}\n"),
			 0);
	assert_int_equal(cfg.n_kafka_props, 1);
	assert_string_equal(prop(&cfg, "bootstrap.servers"), "b:1");
	xf_sensor_cfg_free(&cfg);
	assert_int_equal(cfg.n_kafka_props, 0);
	assert_null(cfg.kafka_props[0].key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_example, setup, teardown),
		cmocka_unit_test_setup_teardown(test_all_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_over, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsafe_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsafe_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kafka_props_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kafka_tls_sasl, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
