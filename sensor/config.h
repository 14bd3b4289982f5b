/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * config.h - the sensor's one YAML config file (libyaml). Every key is
 * documented in docs/config.md and in exfilter.example.yaml. An unknown key,
 * a wrong type or a value out of range is an error naming the key's full
 * path (for example "detect.threshold") and the sensor exits non-zero.
 * Command-line options override the file.
 */
#ifndef XF_CONFIG_H
#define XF_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "exfilter.h"
#include "sink.h"

#define XF_CFG_IFACES_MAX 8
#define XF_CFG_LIST_MAX 256
#define XF_CFG_PROPS_MAX 64
#define XF_CFG_WEIGHTS_MAX 16

struct xf_weight {
	char name[32]; /* a detector name */
	double weight;
};

struct xf_sensor_cfg {
	/* top level */
	__u32 mode; /* mode: monitor | enforce */
	char ifaces[XF_CFG_IFACES_MAX][32]; /* interfaces: [IF, ...] (TC inline) */
	int n_ifaces;
	char tap[32]; /* tap: IF (socket filter on AF_PACKET), "" = none */
	char pin_dir[256]; /* pin_dir */
	int keep_pinned; /* keep_pinned: leave programs and maps on exit */
	char run_as[64]; /* run_as: user to switch to after start-up, "" = stay root */
	char resolvers[XF_CFG_LIST_MAX][48]; /* resolvers: [IP, ...] */
	int n_resolvers;
	char allow[XF_CFG_LIST_MAX][256]; /* allow: [DOMAIN, ...] user allowlist */
	int n_allow;
	char block[XF_CFG_LIST_MAX][256]; /* block: [DOMAIN|IP/CIDR|sni:NAME|host:NAME] */
	int n_block;

	/* kernel: the xf_config map (ports, limits, sampling) */
	struct xf_config kernel;
	/* kernel: map sizes, set before load (not in the config map) */
	uint32_t kflows_max; /* kernel.max_flows: entries of the xf_flows LRU */
	uint32_t kring_kib; /* kernel.ring_kib: size of the xf_events ring buffer */

	/* failsafe: (docs/failsafe.md) */
	__u32 failsafe_open; /* failsafe.on_crash: closed (0) | open (1) */
	uint32_t heartbeat_ms; /* failsafe.heartbeat_ms: heartbeat age that fails open */

	/* flows: */
	uint32_t max_flows; /* flows.max_flows: LRU bound of the userspace table */
	uint32_t tick_ms; /* flows.tick_ms: flow table tick */
	uint32_t window_s; /* flows.window_s: alert window, one alert per client x domain */
	uint32_t max_domains; /* flows.max_domains: LRU bound of the domain table */

	/* detect: */
	double threshold; /* detect.threshold: score that raises an alert (0-100) */
	double block_threshold; /* detect.block_threshold: enforce writes a verdict */
	uint32_t block_min_names; /* detect.block_min_names */
	uint32_t verdict_ttl_s; /* detect.verdict_ttl_s */
	__u32 verdict_action; /* detect.verdict_action: drop | refuse */
	double resolver_scale; /* detect.resolver_scale: resolver thresholds x this */
	uint32_t flood_names; /* detect.flood_names: distinct names per domain and window */
	uint32_t flood_clients; /* detect.flood_clients: distinct clients per domain and window */
	int flood_block; /* detect.flood_block: a flood alert writes a verdict in enforce mode */
	struct xf_weight weights[XF_CFG_WEIGHTS_MAX]; /* detect.weights: {name: w} */
	int n_weights;

	/* store: */
	char db_path[256]; /* store.path */
	uint32_t batch; /* store.batch: rows per transaction at most */
	uint32_t flush_ms; /* store.flush_ms: commit at least this often */
	uint32_t memory_max; /* store.memory_max: alerts held while the disk fails */

	/* sinks.kafka: */
	int kafka_enabled; /* sinks.kafka.enabled */
	char kafka_topic[128]; /* sinks.kafka.topic */
	struct xf_kv kafka_props[XF_CFG_PROPS_MAX]; /* sinks.kafka.properties: {k: v} */
	int n_kafka_props;
	long kafka_max_inflight; /* sinks.kafka.max_inflight */

	/* sinks.jsonl: */
	int jsonl_enabled; /* sinks.jsonl.enabled */
	char jsonl_path[256]; /* sinks.jsonl.path: "-" = stdout */

	/* geoip: */
	char geoip_city[256]; /* geoip.city_db: GeoLite2-City style mmdb, "" = off */
	char geoip_asn[256]; /* geoip.asn_db: GeoLite2-ASN style mmdb, "" = off */
};

/* Fill every key with its documented default. */
void xf_sensor_cfg_defaults(struct xf_sensor_cfg *c);

/*
 * Load path over the current values. On error returns -EINVAL (or -errno for
 * I/O, -EPERM for a file that is writable by group or others or owned by
 * someone other than root or the current user) and writes
 * "PATH:LINE: KEY: what is wrong" to err. All or nothing: on error *c is
 * unchanged. A key given in the file replaces its value, lists and maps
 * whole. Ends with xf_sensor_cfg_check().
 */
int xf_sensor_cfg_load(struct xf_sensor_cfg *c, const char *path, char *err, size_t errlen);

/* Set one key from a string, as the file would ("detect.threshold", "70").
 * Used by CLI overrides (--set KEY=VALUE). Same errors as the loader. Lists
 * are comma-separated ("eth0,eth1", brackets optional, "" = empty); a map
 * takes one entry per call ("detect.weights.NAME", "sinks.kafka.properties.
 * NAME"), added or replaced. On error *c is unchanged. Does not run
 * xf_sensor_cfg_check(): call it once after the last override. */
int xf_sensor_cfg_set(struct xf_sensor_cfg *c, const char *key, const char *value, char *err,
		      size_t errlen);

/* Rules between keys (enc_label_drop >= enc_label_min, block_threshold >=
 * threshold, no port in two roles, kafka needs bootstrap.servers). Returns
 * 0 or -EINVAL with "KEY: what is wrong" in err. */
int xf_sensor_cfg_check(const struct xf_sensor_cfg *c, char *err, size_t errlen);

/* One documented key, for help output and the docs test. */
struct xf_cfg_key_info {
	const char *key; /* full path: "detect.threshold"; a section: "detect" */
	const char *def; /* default as xf_sensor_cfg_set() takes it; NULL for a section */
	const char *doc; /* one line */
};

/* The i-th key of the table, sections included; NULL past the last. */
const struct xf_cfg_key_info *xf_sensor_cfg_key(unsigned int i);

/* Free what the loader allocated (kafka property strings). */
void xf_sensor_cfg_free(struct xf_sensor_cfg *c);

#endif /* XF_CONFIG_H */
