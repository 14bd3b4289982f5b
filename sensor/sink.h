/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * sink.h - where alerts go after the outbox: one interface, one file per
 * sink (sink_kafka.c, sink_jsonl.c). A sink takes committed rows without
 * blocking and reports each delivery through the ack callback; the outbox
 * marks acknowledged rows exported and re-sends the rest.
 */
#ifndef XF_SINK_H
#define XF_SINK_H

#include <stddef.h>
#include <stdint.h>
#include "outbox.h"

/* err 0: durably delivered. err != 0: failed, the outbox sends it again.
 * The non-zero value is the sink's own code: an rd_kafka_resp_err_t for
 * kafka, an errno for jsonl. Acks are handed out by poll/flush, never by send. */
typedef void (*xf_sink_ack_fn)(void *ctx, int sink, int64_t seq, int err);

struct xf_sink;

struct xf_sink_ops {
	const char *name; /* "kafka", "jsonl" */
	/* Queue one row without blocking; -EAGAIN when the sink is full. */
	int (*send)(struct xf_sink *s, const struct xf_out_row *row);
	/* Serve delivery reports (calls ack). */
	int (*poll)(struct xf_sink *s, int timeout_ms);
	/* Wait up to timeout_ms for in-flight rows; returns how many remain. */
	int (*flush)(struct xf_sink *s, int timeout_ms);
	/* Rows sent and not yet acknowledged. */
	long (*inflight)(const struct xf_sink *s);
	/* Is the far end reachable as far as the sink knows (1), or not (0)? */
	int (*up)(const struct xf_sink *s);
	void (*close)(struct xf_sink *s);
};

struct xf_sink {
	const struct xf_sink_ops *ops;
	int index; /* the outbox sink number, passed back in ack */
	xf_sink_ack_fn ack;
	void *ack_ctx;
	void *priv;
};

/* A librdkafka property from config, passed through untouched. */
struct xf_kv {
	char *key;
	char *value;
};

struct xf_kafka_cfg {
	const char *topic;
	const struct xf_kv *props; /* bootstrap.servers, security.protocol, sasl.*, ... */
	int nprops;
	long max_inflight; /* rows in flight before send returns -EAGAIN */
};

/* Idempotent producer, acks=all, key = registered domain, value = json,
 * headers "alert_id" = id and "alert_rev" = rev (decimal). librdkafka never
 * expires a message (message.timeout.ms=0 unless props set it); max_inflight
 * <= 0 means 100000. Errors (bad property, ...) go to err. */
/*
 * Would librdkafka take this property (name and value, as rd_kafka_conf_set
 * checks them: enums such as security.protocol, numbers, known names)? For
 * the config loader, so a bad one names its key before anything starts.
 * 0, or -EINVAL with librdkafka's reason in why. Files a property names are
 * only read when the producer starts.
 */
int xf_kafka_prop_check(const char *key, const char *value, char *why, size_t whylen);

struct xf_sink *xf_sink_kafka_new(const struct xf_kafka_cfg *cfg, int index, xf_sink_ack_fn ack,
				  void *ack_ctx, char *err, size_t errlen);

/* One JSON document per line to path ("-" = stdout), acked once written. */
struct xf_sink *xf_sink_jsonl_new(const char *path, int index, xf_sink_ack_fn ack, void *ack_ctx,
				  char *err, size_t errlen);

static inline void xf_sink_close(struct xf_sink *s)
{
	if (s)
		s->ops->close(s);
}

#endif /* XF_SINK_H */
