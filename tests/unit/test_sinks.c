// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_sinks.c - the Kafka and JSON-lines sinks against real far ends:
 * librdkafka's in-process mock cluster (real Kafka protocol over loopback TCP,
 * no root) read back with a librdkafka consumer, and files in a temp dir.
 * Covers delivery and acks (exactly once per seq), key/value/headers, a broker
 * outage that delays and loses nothing, configuration errors, backpressure,
 * and the jsonl file, stdout and write-error paths.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "sink.h"

#define SINK_INDEX 2 /* any outbox sink number; must come back in every ack */
#define SEQ_MAX 2048 /* seqs used by the tests are 1 .. SEQ_MAX-1 */
#define BULK_ROWS 1000
#define DEADLINE_MS 30000
#define BROKERS_MAX 8

/* --- helpers: time, rows, acks --- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct row_buf {
	struct xf_alert_rec rec;
	char json[512];
	struct xf_out_row row;
};

/* The JSON carries escapes and a multi-byte character: sinks must pass it
 * through byte for byte. */
static const struct xf_out_row *make_row(struct row_buf *rb, int64_t seq)
{
	memset(rb, 0, sizeof(*rb));
	snprintf(rb->rec.id, sizeof(rb->rec.id), "%032" PRIx64, (uint64_t)seq);
	rb->rec.rev = 1 + (uint32_t)(seq % 3);
	rb->rec.ts_ms = 1700000000000LL + seq;
	snprintf(rb->rec.domain, sizeof(rb->rec.domain), "d%" PRId64 ".example.co.uk", seq % 37);
	snprintf(rb->json, sizeof(rb->json),
		 "{\"@timestamp\":\"2023-11-14T22:13:20Z\",\"exfilter\":{\"seq\":%" PRId64
		 "},\"dns\":{\"question\":{\"name\":\"a\\\"b\\\\c\\u0001.d%" PRId64
		 ".example.co.uk\"}},\"note\":\"caf\xc3\xa9\\n\"}",
		 seq, seq % 37);
	rb->rec.json = rb->json;
	rb->rec.json_len = strlen(rb->json);
	rb->row = (struct xf_out_row){ .seq = seq, .rec = &rb->rec };
	return &rb->row;
}

struct acks {
	int ok[SEQ_MAX];
	int failed[SEQ_MAX];
	int total_ok, total_failed;
	int strays; /* wrong sink index or a seq never sent */
	int last_err;
};

static void on_ack(void *ctx, int sink, int64_t seq, int err)
{
	struct acks *a = ctx;

	if (sink != SINK_INDEX || seq <= 0 || seq >= SEQ_MAX) {
		a->strays++;
		return;
	}
	if (err) {
		a->failed[seq]++;
		a->total_failed++;
		a->last_err = err;
	} else {
		a->ok[seq]++;
		a->total_ok++;
	}
}

/* Every seq in [lo, hi] acked with err 0 exactly once, nothing else. */
static void assert_acked_once(const struct acks *a, int64_t lo, int64_t hi)
{
	int64_t seq;

	for (seq = lo; seq <= hi; seq++) {
		if (a->ok[seq] != 1)
			fail_msg("seq %" PRId64 " acked %d times (err 0)", seq, a->ok[seq]);
		assert_int_equal(a->failed[seq], 0);
	}
	assert_int_equal(a->total_ok, hi - lo + 1);
	assert_int_equal(a->total_failed, 0);
	assert_int_equal(a->strays, 0);
}

/* Poll s until *count reaches want or the deadline passes. */
static int wait_acks(struct xf_sink *s, const int *count, int want, int deadline_ms)
{
	int64_t end = now_ms() + deadline_ms;

	while (*count < want && now_ms() < end)
		s->ops->poll(s, 50);
	return *count >= want ? 0 : -ETIMEDOUT;
}

static int wait_up(struct xf_sink *s, int want, int deadline_ms)
{
	int64_t end = now_ms() + deadline_ms;

	while (s->ops->up(s) != want && now_ms() < end)
		s->ops->poll(s, 50);
	return s->ops->up(s) == want ? 0 : -ETIMEDOUT;
}

static void send_rows(struct xf_sink *s, int64_t lo, int64_t hi)
{
	struct row_buf rb;
	int64_t seq;

	for (seq = lo; seq <= hi; seq++)
		assert_int_equal(s->ops->send(s, make_row(&rb, seq)), 0);
}

/* --- the mock cluster and a consumer to read it back --- */

static void quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	if (level <= LOG_ERR)
		fprintf(stderr, "test-kafka: %s: %s\n", fac, buf);
}

struct mock {
	rd_kafka_t *rk; /* the handle the cluster hangs off; never produces */
	rd_kafka_mock_cluster_t *mc;
	int brokers;
	char boot[512];
};

static void mock_start(struct mock *m, int brokers, const char *topic, int partitions)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char errstr[512];

	rd_kafka_conf_set_log_cb(conf, quiet_log);
	m->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!m->rk)
		fail_msg("rd_kafka_new: %s", errstr);
	m->mc = rd_kafka_mock_cluster_new(m->rk, brokers);
	assert_non_null(m->mc);
	m->brokers = brokers;
	snprintf(m->boot, sizeof(m->boot), "%s", rd_kafka_mock_cluster_bootstraps(m->mc));
	assert_int_equal(rd_kafka_mock_topic_create(m->mc, topic, partitions, 1), 0);
}

static void mock_stop(struct mock *m)
{
	rd_kafka_mock_cluster_destroy(m->mc);
	rd_kafka_destroy(m->rk);
}

static void mock_set(struct mock *m, int up)
{
	int id;

	for (id = 1; id <= m->brokers; id++)
		assert_int_equal(up ? rd_kafka_mock_broker_set_up(m->mc, id)
				    : rd_kafka_mock_broker_set_down(m->mc, id),
				 0);
}

static struct xf_sink *kafka_sink(const struct mock *m, const char *topic, long max_inflight,
				  struct acks *a, const char *extra_key, const char *extra_val)
{
	struct xf_kv props[2] = {
		{ (char *)"bootstrap.servers", (char *)m->boot },
		{ (char *)extra_key, (char *)extra_val },
	};
	struct xf_kafka_cfg cfg = {
		.topic = topic,
		.props = props,
		.nprops = extra_key ? 2 : 1,
		.max_inflight = max_inflight,
	};
	char err[512] = "";
	struct xf_sink *s = xf_sink_kafka_new(&cfg, SINK_INDEX, on_ack, a, err, sizeof(err));

	if (!s)
		fail_msg("xf_sink_kafka_new: %s", err);
	assert_string_equal(s->ops->name, "kafka");
	return s;
}

static int header_str(rd_kafka_headers_t *h, const char *name, char *out, size_t outlen)
{
	const void *val;
	size_t len;

	if (!h || rd_kafka_header_get_last(h, name, &val, &len) || len >= outlen)
		return -1;
	memcpy(out, val, len);
	out[len] = 0;
	return 0;
}

/* One consumed message must be exactly the row its alert_id names. */
static void check_message(rd_kafka_message_t *msg, int *seen)
{
	rd_kafka_headers_t *h = NULL;
	char id[64], rev[16];
	struct row_buf rb;
	int64_t seq;

	rd_kafka_message_headers(msg, &h);
	assert_int_equal(header_str(h, "alert_id", id, sizeof(id)), 0);
	assert_int_equal(header_str(h, "alert_rev", rev, sizeof(rev)), 0);
	seq = strtoll(id, NULL, 16);
	assert_true(seq > 0 && seq < SEQ_MAX);
	make_row(&rb, seq);
	assert_string_equal(id, rb.rec.id);
	assert_int_equal(strtoul(rev, NULL, 10), rb.rec.rev);
	assert_int_equal(msg->key_len, strlen(rb.rec.domain));
	assert_memory_equal(msg->key, rb.rec.domain, msg->key_len);
	assert_int_equal(msg->len, rb.rec.json_len);
	assert_memory_equal(msg->payload, rb.rec.json, msg->len);
	seen[seq]++;
}

/* Read every partition of topic from the beginning to its end; seen[seq]
 * counts the copies of each row. Returns the number of messages. */
static int consume_all(const struct mock *m, const char *topic, int partitions, int *seen)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_topic_partition_list_t *parts;
	int64_t end = now_ms() + DEADLINE_MS;
	char errstr[512];
	int eof[64] = { 0 }, neof = 0, n = 0, p;
	rd_kafka_t *rk;

	assert_true(partitions <= 64);
	assert_int_equal(
		rd_kafka_conf_set(conf, "bootstrap.servers", m->boot, errstr, sizeof(errstr)),
		RD_KAFKA_CONF_OK);
	assert_int_equal(rd_kafka_conf_set(conf, "group.id", "xf-test", errstr, sizeof(errstr)),
			 RD_KAFKA_CONF_OK);
	assert_int_equal(
		rd_kafka_conf_set(conf, "enable.partition.eof", "true", errstr, sizeof(errstr)),
		RD_KAFKA_CONF_OK);
	assert_int_equal(
		rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof(errstr)),
		RD_KAFKA_CONF_OK);
	rd_kafka_conf_set_log_cb(conf, quiet_log);
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	if (!rk)
		fail_msg("consumer: %s", errstr);
	parts = rd_kafka_topic_partition_list_new(partitions);
	for (p = 0; p < partitions; p++)
		rd_kafka_topic_partition_list_add(parts, topic, p)->offset =
			RD_KAFKA_OFFSET_BEGINNING;
	assert_int_equal(rd_kafka_assign(rk, parts), 0);
	rd_kafka_topic_partition_list_destroy(parts);

	while (neof < partitions && now_ms() < end) {
		rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 100);

		if (!msg)
			continue;
		if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			if (msg->partition >= 0 && msg->partition < partitions &&
			    !eof[msg->partition]++)
				neof++;
		} else if (msg->err) {
			print_message("consumer: %s\n", rd_kafka_message_errstr(msg));
		} else {
			check_message(msg, seen);
			n++;
		}
		rd_kafka_message_destroy(msg);
	}
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	assert_int_equal(neof, partitions);
	return n;
}

/* --- Kafka sink --- */

/* 1000 rows: every seq acked once with err 0, every message readable once. */
static void test_kafka_bulk(void **state)
{
	static struct acks a;
	static int seen[SEQ_MAX];
	struct xf_sink *s;
	struct mock m;
	int64_t t0;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(seen, 0, sizeof(seen));
	mock_start(&m, 3, "alerts", 4);
	s = kafka_sink(&m, "alerts", 0, &a, NULL, NULL);
	t0 = now_ms();
	send_rows(s, 1, BULK_ROWS);
	assert_int_equal(s->ops->inflight(s), BULK_ROWS);
	assert_int_equal(wait_acks(s, &a.total_ok, BULK_ROWS, DEADLINE_MS), 0);
	print_message("kafka: %d rows acked in %" PRId64 " ms\n", BULK_ROWS, now_ms() - t0);
	assert_int_equal(s->ops->flush(s, 1000), 0);
	assert_int_equal(s->ops->inflight(s), 0);
	assert_int_equal(s->ops->up(s), 1);
	assert_acked_once(&a, 1, BULK_ROWS);
	xf_sink_close(s);

	assert_int_equal(consume_all(&m, "alerts", 4, seen), BULK_ROWS);
	for (int i = 1; i <= BULK_ROWS; i++)
		assert_int_equal(seen[i], 1);
	mock_stop(&m);
}

/*
 * All brokers down: rows wait (no ack, neither ok nor failed), up() drops to
 * 0; brokers back: every row acked once and stored once (idempotence).
 */
static void test_kafka_outage(void **state)
{
	static struct acks a;
	static int seen[SEQ_MAX];
	struct xf_sink *s;
	struct mock m;
	int64_t t0;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(seen, 0, sizeof(seen));
	mock_start(&m, 3, "outage", 3);
	s = kafka_sink(&m, "outage", 0, &a, NULL, NULL);
	send_rows(s, 1, 10);
	assert_int_equal(wait_acks(s, &a.total_ok, 10, DEADLINE_MS), 0);
	assert_int_equal(s->ops->up(s), 1);

	mock_set(&m, 0);
	t0 = now_ms();
	send_rows(s, 11, 200);
	assert_int_equal(wait_up(s, 0, 10000), 0);
	print_message("kafka: all brokers down noticed after %" PRId64 " ms\n", now_ms() - t0);
	/* Give librdkafka time to retry and (if it were going to) give up. */
	while (now_ms() < t0 + 3000)
		s->ops->poll(s, 100);
	assert_int_equal(a.total_ok, 10);
	assert_int_equal(a.total_failed, 0);
	assert_int_equal(s->ops->inflight(s), 190);
	assert_int_equal(s->ops->up(s), 0);

	mock_set(&m, 1);
	t0 = now_ms();
	assert_int_equal(wait_acks(s, &a.total_ok, 200, DEADLINE_MS), 0);
	print_message("kafka: backlog of 190 drained %" PRId64 " ms after brokers came up\n",
		      now_ms() - t0);
	assert_int_equal(s->ops->up(s), 1);
	assert_int_equal(s->ops->inflight(s), 0);
	/* Late duplicates or failures would show up here. */
	s->ops->flush(s, 500);
	assert_acked_once(&a, 1, 200);
	xf_sink_close(s);

	assert_int_equal(consume_all(&m, "outage", 3, seen), 200);
	for (int i = 1; i <= 200; i++)
		assert_int_equal(seen[i], 1);
	mock_stop(&m);
}

/* With nothing to send, up() still follows the brokers down and back up. */
static void test_kafka_idle_up(void **state)
{
	static struct acks a;
	struct xf_sink *s;
	struct mock m;
	int64_t t0;

	(void)state;
	memset(&a, 0, sizeof(a));
	mock_start(&m, 2, "idle", 2);
	s = kafka_sink(&m, "idle", 0, &a, NULL, NULL);
	send_rows(s, 1, 1);
	assert_int_equal(wait_acks(s, &a.total_ok, 1, DEADLINE_MS), 0);
	assert_int_equal(s->ops->up(s), 1);

	mock_set(&m, 0);
	t0 = now_ms();
	assert_int_equal(wait_up(s, 0, 10000), 0);
	print_message("kafka: idle, all brokers down noticed after %" PRId64 " ms\n",
		      now_ms() - t0);
	mock_set(&m, 1);
	t0 = now_ms();
	assert_int_equal(wait_up(s, 1, 20000), 0);
	print_message("kafka: idle, brokers back noticed after %" PRId64 " ms\n", now_ms() - t0);
	assert_int_equal(a.total_ok, 1);
	xf_sink_close(s);
	mock_stop(&m);
}

/* Closing during an outage returns promptly and acks nothing it dropped. */
static void test_kafka_close_while_down(void **state)
{
	static struct acks a;
	struct xf_sink *s;
	struct mock m;
	int64_t t0;

	(void)state;
	memset(&a, 0, sizeof(a));
	mock_start(&m, 1, "closing", 1);
	s = kafka_sink(&m, "closing", 0, &a, NULL, NULL);
	send_rows(s, 1, 1);
	assert_int_equal(wait_acks(s, &a.total_ok, 1, DEADLINE_MS), 0);
	mock_set(&m, 0);
	send_rows(s, 2, 21);
	t0 = now_ms();
	xf_sink_close(s);
	assert_true(now_ms() - t0 < 5000);
	assert_int_equal(a.total_ok, 1);
	assert_int_equal(a.total_failed, 0);
	mock_stop(&m);
}

/* max_inflight bounds rows without a delivery report; so does librdkafka's
 * own queue (QUEUE_FULL). Both are -EAGAIN, and clear once acks are served. */
static void test_kafka_backpressure(void **state)
{
	static struct acks a;
	struct xf_sink *s;
	struct row_buf rb;
	struct mock m;

	(void)state;
	memset(&a, 0, sizeof(a));
	mock_start(&m, 1, "bp", 1);

	s = kafka_sink(&m, "bp", 5, &a, NULL, NULL);
	send_rows(s, 1, 5);
	assert_int_equal(s->ops->send(s, make_row(&rb, 6)), -EAGAIN);
	assert_int_equal(s->ops->inflight(s), 5);
	assert_int_equal(wait_acks(s, &a.total_ok, 5, DEADLINE_MS), 0);
	assert_int_equal(s->ops->inflight(s), 0);
	send_rows(s, 6, 6);
	assert_int_equal(wait_acks(s, &a.total_ok, 6, DEADLINE_MS), 0);
	assert_acked_once(&a, 1, 6);
	xf_sink_close(s);

	memset(&a, 0, sizeof(a));
	s = kafka_sink(&m, "bp", 0, &a, "queue.buffering.max.messages", "3");
	send_rows(s, 1, 3);
	assert_int_equal(s->ops->send(s, make_row(&rb, 4)), -EAGAIN);
	assert_int_equal(wait_acks(s, &a.total_ok, 3, DEADLINE_MS), 0);
	send_rows(s, 4, 4);
	assert_int_equal(wait_acks(s, &a.total_ok, 4, DEADLINE_MS), 0);
	assert_acked_once(&a, 1, 4);
	xf_sink_close(s);
	mock_stop(&m);
}

struct bad_cfg {
	const char *what;
	const char *topic;
	struct xf_kv props[3];
	int nprops;
	const char *want[2]; /* substrings the error must contain */
};

/* A bad configuration is a NULL sink and an error that names the culprit. */
static void test_kafka_bad_config(void **state)
{
	static const struct bad_cfg cases[] = {
		{ "unknown property",
		  "t",
		  { { "bootstrap.servers", "127.0.0.1:9" }, { "no.such.property", "1" } },
		  2,
		  { "no.such.property", "No such configuration property" } },
		{ "invalid value",
		  "t",
		  { { "bootstrap.servers", "127.0.0.1:9" }, { "acks", "sometimes" } },
		  2,
		  { "'acks'", "Invalid value" } },
		{ "conflicting values",
		  "t",
		  { { "bootstrap.servers", "127.0.0.1:9" }, { "acks", "1" } },
		  2,
		  { "failed to create kafka producer", "acks" } },
		{ "no bootstrap", "t", { { "linger.ms", "5" } }, 1, { "bootstrap.servers", "" } },
		{ "no topic", "", { { "bootstrap.servers", "127.0.0.1:9" } }, 1, { "topic", "" } },
	};
	struct acks a;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bad_cfg *c = &cases[i];
		struct xf_kafka_cfg cfg = { .topic = c->topic,
					    .props = c->props,
					    .nprops = c->nprops };
		char err[512] = "";
		struct xf_sink *s;

		errno = 0;
		s = xf_sink_kafka_new(&cfg, SINK_INDEX, on_ack, &a, err, sizeof(err));
		if (s)
			fail_msg("%s: sink created", c->what);
		assert_int_equal(errno, EINVAL);
		if (!strstr(err, c->want[0]) || !strstr(err, c->want[1]))
			fail_msg("%s: error '%s' lacks '%s' / '%s'", c->what, err, c->want[0],
				 c->want[1]);
	}
}

/* --- JSON-lines sink --- */

static char tmpdir[64];

static int jsonl_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/xf-test-sinks.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int jsonl_teardown(void **state)
{
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/alerts.jsonl", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/stdout.jsonl", tmpdir);
	unlink(path);
	return rmdir(tmpdir);
}

static char *slurp(const char *path, size_t *len)
{
	static char buf[64 * 1024];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = 0;
	*len = (size_t)n;
	return buf;
}

static size_t expect_lines(char *out, size_t outlen, int64_t lo, int64_t hi)
{
	struct row_buf rb;
	size_t n = 0;

	for (int64_t seq = lo; seq <= hi; seq++) {
		make_row(&rb, seq);
		n += snprintf(out + n, outlen - n, "%s\n", rb.json);
	}
	return n;
}

static struct xf_sink *jsonl_sink(const char *path, struct acks *a)
{
	char err[512] = "";
	struct xf_sink *s = xf_sink_jsonl_new(path, SINK_INDEX, on_ack, a, err, sizeof(err));

	if (!s)
		fail_msg("xf_sink_jsonl_new: %s", err);
	assert_string_equal(s->ops->name, "jsonl");
	return s;
}

/* Exactly the lines, in order, acked at poll; reopening appends; mode 0600. */
static void test_jsonl_file(void **state)
{
	static char want[16 * 1024];
	static struct acks a;
	char path[128];
	struct xf_sink *s;
	struct stat st;
	size_t len, wantlen;
	char *got;

	(void)state;
	memset(&a, 0, sizeof(a));
	snprintf(path, sizeof(path), "%s/alerts.jsonl", tmpdir);
	s = jsonl_sink(path, &a);
	send_rows(s, 1, 3);
	assert_int_equal(a.total_ok, 0); /* acks come from poll, not from send */
	assert_int_equal(s->ops->inflight(s), 3);
	assert_int_equal(s->ops->poll(s, 0), 3);
	assert_int_equal(s->ops->inflight(s), 0);
	assert_acked_once(&a, 1, 3);
	assert_int_equal(s->ops->up(s), 1);
	xf_sink_close(s);

	s = jsonl_sink(path, &a);
	send_rows(s, 4, 5);
	assert_int_equal(s->ops->flush(s, 0), 0);
	xf_sink_close(s);
	assert_acked_once(&a, 1, 5);

	got = slurp(path, &len);
	wantlen = expect_lines(want, sizeof(want), 1, 5);
	assert_int_equal(len, wantlen);
	assert_memory_equal(got, want, len);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

/* "-" writes to file descriptor 1, after anything stdio had buffered. */
static void test_jsonl_stdout(void **state)
{
	static char want[16 * 1024];
	static struct acks a;
	char path[128];
	struct xf_sink *s;
	size_t len, wantlen;
	int saved, fd;
	char *got;

	(void)state;
	memset(&a, 0, sizeof(a));
	snprintf(path, sizeof(path), "%s/stdout.jsonl", tmpdir);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, STDOUT_FILENO);
	close(fd);
	printf("before\n");
	s = jsonl_sink("-", &a);
	send_rows(s, 7, 8);
	s->ops->poll(s, 0);
	xf_sink_close(s);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);

	assert_acked_once(&a, 7, 8);
	got = slurp(path, &len);
	wantlen = (size_t)snprintf(want, sizeof(want), "before\n");
	wantlen += expect_lines(want + wantlen, sizeof(want) - wantlen, 7, 8);
	assert_int_equal(len, wantlen);
	assert_memory_equal(got, want, len);
}

/* Paths that cannot be opened are clear errors naming the path. */
static void test_jsonl_bad_path(void **state)
{
	struct acks a;
	char err[512] = "", path[128];
	struct xf_sink *s;

	(void)state;
	s = xf_sink_jsonl_new(tmpdir, SINK_INDEX, on_ack, &a, err, sizeof(err));
	assert_null(s);
	assert_int_equal(errno, EISDIR);
	assert_non_null(strstr(err, tmpdir));
	assert_non_null(strstr(err, strerror(EISDIR)));

	snprintf(path, sizeof(path), "%s/no/such/dir/a.jsonl", tmpdir);
	s = xf_sink_jsonl_new(path, SINK_INDEX, on_ack, &a, err, sizeof(err));
	assert_null(s);
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(err, path));

	s = xf_sink_jsonl_new("", SINK_INDEX, on_ack, &a, err, sizeof(err));
	assert_null(s);
	assert_int_equal(errno, EINVAL);
}

/* A failing write (here: /dev/full) is acked with the errno, and up() says so. */
static void test_jsonl_write_error(void **state)
{
	static struct acks a;
	struct xf_sink *s;

	(void)state;
	assert_int_equal(access("/dev/full", W_OK), 0);
	memset(&a, 0, sizeof(a));
	s = jsonl_sink("/dev/full", &a);
	send_rows(s, 1, 2);
	assert_int_equal(s->ops->poll(s, 0), 2);
	assert_int_equal(a.total_ok, 0);
	assert_int_equal(a.failed[1], 1);
	assert_int_equal(a.failed[2], 1);
	assert_int_equal(a.last_err, ENOSPC);
	assert_int_equal(s->ops->up(s), 0);
	xf_sink_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kafka_bad_config),
		cmocka_unit_test(test_kafka_bulk),
		cmocka_unit_test(test_kafka_backpressure),
		cmocka_unit_test(test_kafka_outage),
		cmocka_unit_test(test_kafka_idle_up),
		cmocka_unit_test(test_kafka_close_while_down),
		cmocka_unit_test(test_jsonl_file),
		cmocka_unit_test(test_jsonl_stdout),
		cmocka_unit_test(test_jsonl_bad_path),
		cmocka_unit_test(test_jsonl_write_error),
	};

	return cmocka_run_group_tests(tests, jsonl_setup, jsonl_teardown);
}
