// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sink_kafka.c - the Kafka sink: an idempotent librdkafka producer (acks=all)
 * that sends each outbox row as one message (key = registered domain, value =
 * the alert JSON, headers alert_id and alert_rev) and turns librdkafka's
 * delivery reports into outbox acks. Every librdkafka property from the config
 * passes through untouched.
 *
 * The outbox is the durable copy, so librdkafka never gives up on a message by
 * itself (message.timeout.ms=0 unless the user sets it): during an outage rows
 * wait in librdkafka's queue, bounded by max_inflight, and drain when a broker
 * returns. A failed delivery is acked with the rd_kafka_resp_err_t and the
 * outbox sends the row again.
 *
 * Single-threaded: send, poll, flush and close run on the caller's thread and
 * the callbacks below (but log_cb) run inside its rd_kafka_poll/flush.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <librdkafka/rdkafka.h>

#include "sink.h"

#define XF_KAFKA_INFLIGHT_DEFAULT 100000 /* librdkafka's own queue default */
#define XF_KAFKA_CLOSE_FLUSH_MS 2000

struct kafka_sink {
	struct xf_sink base;
	rd_kafka_t *rk;
	rd_kafka_topic_t *rkt;
	long inflight; /* produced, delivery report not yet served */
	long max_inflight;
	int up;
	int fatal; /* the idempotent producer hit a fatal error: it stays down */
	int last_err; /* last error printed, to print each kind once in a row */
};

/*
 * The message opaque carries the seq. Where a pointer holds 64 bits it is the
 * seq itself; elsewhere a small allocation that the delivery report frees.
 */
#if UINTPTR_MAX >= UINT64_MAX
static int seq_pack(int64_t seq, void **op)
{
	*op = (void *)(intptr_t)seq;
	return 0;
}

static int64_t seq_unpack(void *op)
{
	return (int64_t)(intptr_t)op;
}
#else
static int seq_pack(int64_t seq, void **op)
{
	int64_t *p = malloc(sizeof(*p));

	if (!p)
		return -ENOMEM;
	*p = seq;
	*op = p;
	return 0;
}

static int64_t seq_unpack(void *op)
{
	int64_t seq = *(int64_t *)op;

	free(op);
	return seq;
}
#endif

/* librdkafka logs from its own threads; keep warnings and worse only. */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	if (level <= LOG_WARNING)
		fprintf(stderr, "kafka: %s: %s\n", fac, buf);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct kafka_sink *ks = opaque;
	char fatal[512];

	switch (err) {
	case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
		if (ks->up)
			fprintf(stderr, "kafka: all brokers down (%s); alerts wait in the outbox\n",
				reason);
		ks->up = 0;
		break;
	case RD_KAFKA_RESP_ERR__TRANSPORT:
		/* One broker connection failed: log_cb has already said which. */
		break;
	case RD_KAFKA_RESP_ERR__FATAL:
		rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
		fprintf(stderr, "kafka: fatal producer error: %s (restart the sensor)\n", fatal);
		ks->fatal = 1;
		ks->up = 0;
		break;
	default:
		if (err != ks->last_err)
			fprintf(stderr, "kafka: %s: %s\n", rd_kafka_err2name(err), reason);
		ks->last_err = err;
		break;
	}
}

static void mark_up(struct kafka_sink *ks)
{
	if (ks->fatal)
		return;
	if (!ks->up)
		fprintf(stderr, "kafka: broker reachable again\n");
	ks->up = 1;
}

/*
 * Statistics are the only word librdkafka gives on a broker coming back while
 * nothing is being sent. They only raise up(): going down is the error
 * callback's call, so a slow first connect is not reported as an outage.
 */
static int stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
	struct kafka_sink *ks = opaque;

	(void)rk;
	(void)len;
	if (strstr(json, "\"state\":\"UP\""))
		mark_up(ks);
	return 0; /* librdkafka frees json */
}

static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct kafka_sink *ks = opaque;
	int64_t seq = seq_unpack(m->_private);

	(void)rk;
	ks->inflight--;
	if (!ks->base.ack) /* closing: the row stays pending in the outbox */
		return;
	if (!m->err) {
		mark_up(ks);
		ks->last_err = 0;
	} else if ((int)m->err != ks->last_err) {
		fprintf(stderr, "kafka: failed to deliver alert seq %" PRId64 ": %s (will retry)\n",
			seq, rd_kafka_err2str(m->err));
		ks->last_err = m->err;
	}
	ks->base.ack(ks->base.ack_ctx, ks->base.index, seq, m->err);
}

static int produce_errno(rd_kafka_resp_err_t err)
{
	switch (err) {
	case RD_KAFKA_RESP_ERR__QUEUE_FULL:
		return -EAGAIN;
	case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
		return -EMSGSIZE;
	case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
	case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
		return -ENOENT;
	default:
		return -EIO;
	}
}

static int kafka_send(struct xf_sink *s, const struct xf_out_row *row)
{
	struct kafka_sink *ks = s->priv;
	const struct xf_alert_rec *rec = row->rec;
	size_t keylen = strlen(rec->domain);
	rd_kafka_resp_err_t err;
	char rev[16];
	void *op;

	if (ks->inflight >= ks->max_inflight)
		return -EAGAIN;
	if (seq_pack(row->seq, &op))
		return -ENOMEM;
	snprintf(rev, sizeof(rev), "%" PRIu32, rec->rev);
	/* An empty domain is a null key: spread over partitions, not all on one. */
	err = rd_kafka_producev(
		ks->rk, RD_KAFKA_V_RKT(ks->rkt), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
		RD_KAFKA_V_KEY(keylen ? rec->domain : NULL, keylen),
		RD_KAFKA_V_VALUE((void *)rec->json, rec->json_len),
		RD_KAFKA_V_HEADER("alert_id", rec->id, -1), RD_KAFKA_V_HEADER("alert_rev", rev, -1),
		RD_KAFKA_V_OPAQUE(op), RD_KAFKA_V_END);
	if (err) {
		seq_unpack(op);
		if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			fprintf(stderr, "kafka: failed to queue alert seq %" PRId64 ": %s\n",
				row->seq, rd_kafka_err2str(err));
		return produce_errno(err);
	}
	ks->inflight++;
	return 0;
}

static int kafka_poll(struct xf_sink *s, int timeout_ms)
{
	struct kafka_sink *ks = s->priv;

	return rd_kafka_poll(ks->rk, timeout_ms);
}

static int kafka_flush(struct xf_sink *s, int timeout_ms)
{
	struct kafka_sink *ks = s->priv;

	rd_kafka_flush(ks->rk, timeout_ms);
	return ks->inflight > INT32_MAX ? INT32_MAX : (int)ks->inflight;
}

static long kafka_inflight(const struct xf_sink *s)
{
	const struct kafka_sink *ks = s->priv;

	return ks->inflight;
}

static int kafka_up(const struct xf_sink *s)
{
	const struct kafka_sink *ks = s->priv;

	return ks->up;
}

/*
 * Give in-flight rows a short chance, then drop the rest without acking them:
 * they are still pending in the outbox and go out again after a restart.
 */
static void kafka_close(struct xf_sink *s)
{
	struct kafka_sink *ks = s->priv;

	if (ks->inflight && ks->up)
		rd_kafka_flush(ks->rk, XF_KAFKA_CLOSE_FLUSH_MS);
	ks->base.ack = NULL;
	if (ks->inflight) {
		rd_kafka_purge(ks->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
		/* Serve the purge reports, which free the seq opaques. */
		rd_kafka_flush(ks->rk, 500);
		if (ks->inflight)
			fprintf(stderr,
				"kafka: %ld alert(s) left unsent; they stay in the outbox\n",
				ks->inflight);
	}
	rd_kafka_topic_destroy(ks->rkt);
	rd_kafka_destroy(ks->rk);
	free(ks);
}

static const struct xf_sink_ops kafka_ops = {
	.name = "kafka",
	.send = kafka_send,
	.poll = kafka_poll,
	.flush = kafka_flush,
	.inflight = kafka_inflight,
	.up = kafka_up,
	.close = kafka_close,
};

static int conf_set(rd_kafka_conf_t *conf, const char *key, const char *value, char *err,
		    size_t errlen)
{
	char why[512];

	if (rd_kafka_conf_set(conf, key, value, why, sizeof(why)) == RD_KAFKA_CONF_OK)
		return 0;
	snprintf(err, errlen, "failed to set kafka property '%s': %s", key, why);
	return -EINVAL;
}

int xf_kafka_prop_check(const char *key, const char *value, char *why, size_t whylen)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	int ok;

	if (!conf) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	ok = rd_kafka_conf_set(conf, key, value, why, whylen) == RD_KAFKA_CONF_OK;
	rd_kafka_conf_destroy(conf);
	return ok ? 0 : -EINVAL;
}

/* Is a property at its default ("" for unset strings)? */
static int conf_is(const rd_kafka_conf_t *conf, const char *key, const char *unset)
{
	char val[1024] = "";
	size_t len = sizeof(val);

	/* An unset string property comes back OK with no value written. */
	if (rd_kafka_conf_get(conf, key, val, &len) != RD_KAFKA_CONF_OK || len <= 1)
		return !unset[0];
	return !strcmp(val, unset);
}

/* Our defaults first, so that every user property overrides them. */
static rd_kafka_conf_t *conf_build(const struct xf_kafka_cfg *cfg, char *err, size_t errlen)
{
	static const char *const defaults[][2] = {
		{ "enable.idempotence", "true" },
		{ "acks", "all" },
		{ "message.timeout.ms", "0" }, /* infinite: the outbox owns retries */
		{ "client.id", "exfilter" },
		{ "statistics.interval.ms", "1000" }, /* for up(), see stats_cb */
	};
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	size_t i;

	for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
		if (conf_set(conf, defaults[i][0], defaults[i][1], err, errlen))
			goto fail;
	for (i = 0; i < (size_t)cfg->nprops; i++) {
		if (!cfg->props[i].key || !cfg->props[i].value) {
			snprintf(err, errlen, "kafka property %zu has no %s", i,
				 cfg->props[i].key ? "value" : "name");
			goto fail;
		}
		if (conf_set(conf, cfg->props[i].key, cfg->props[i].value, err, errlen))
			goto fail;
	}
	/* Without brokers librdkafka would queue forever without a word. */
	if (conf_is(conf, "bootstrap.servers", "") && conf_is(conf, "test.mock.num.brokers", "0")) {
		snprintf(err, errlen, "kafka property 'bootstrap.servers' is not set");
		goto fail;
	}
	return conf;
fail:
	rd_kafka_conf_destroy(conf);
	return NULL;
}

struct xf_sink *xf_sink_kafka_new(const struct xf_kafka_cfg *cfg, int index, xf_sink_ack_fn ack,
				  void *ack_ctx, char *err, size_t errlen)
{
	struct kafka_sink *ks = NULL;
	rd_kafka_conf_t *conf;
	char why[512];
	int ret = -EINVAL;

	if (!cfg->topic || !cfg->topic[0]) {
		snprintf(err, errlen, "kafka topic is not set");
		goto fail;
	}
	ks = calloc(1, sizeof(*ks));
	if (!ks) {
		ret = -ENOMEM;
		snprintf(err, errlen, "failed to create kafka sink: %s", strerror(ENOMEM));
		goto fail;
	}
	conf = conf_build(cfg, err, errlen);
	if (!conf)
		goto fail;
	rd_kafka_conf_set_opaque(conf, ks);
	rd_kafka_conf_set_log_cb(conf, log_cb);
	rd_kafka_conf_set_error_cb(conf, error_cb);
	rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
	rd_kafka_conf_set_stats_cb(conf, stats_cb);
	ks->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why));
	if (!ks->rk) {
		rd_kafka_conf_destroy(conf);
		snprintf(err, errlen, "failed to create kafka producer: %s", why);
		goto fail;
	}
	ks->rkt = rd_kafka_topic_new(ks->rk, cfg->topic, NULL);
	if (!ks->rkt) {
		snprintf(err, errlen, "failed to create kafka topic '%s': %s", cfg->topic,
			 rd_kafka_err2str(rd_kafka_last_error()));
		goto fail;
	}
	ks->max_inflight = cfg->max_inflight > 0 ? cfg->max_inflight : XF_KAFKA_INFLIGHT_DEFAULT;
	ks->up = 1; /* until librdkafka says otherwise */
	ks->base = (struct xf_sink){
		.ops = &kafka_ops,
		.index = index,
		.ack = ack,
		.ack_ctx = ack_ctx,
		.priv = ks,
	};
	return &ks->base;
fail:
	if (ks && ks->rk)
		rd_kafka_destroy(ks->rk);
	free(ks);
	errno = -ret;
	return NULL;
}
