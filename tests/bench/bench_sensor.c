// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bench_sensor.c - what the sensor's userspace costs, each figure next to a
 * baseline measured in the same run:
 *
 *   outbox  alerts/s into SQLite through xf_outbox_put/commit (batches of
 *           1000 and 5000) vs a bare sqlite3 INSERT loop, same schema and
 *           PRAGMAs;
 *   kafka   alerts/s through the Kafka sink to librdkafka's in-process mock
 *           cluster vs a bare librdkafka producer loop, plus the outbox ->
 *           sink pump as sensor.c runs it;
 *   flows   RSS of the flow table for 1M client x domain flows, and under a
 *           5M-name random-subdomain flood with a 100k-flow bound;
 *   ring    the real TC program driven by BPF_PROG_TEST_RUN from a thread at
 *           paced rates, the ring buffer consumed by the sensor's own loop
 *           code (sensor/loop.c: decode, pipeline, merge and scoring in
 *           steps, alerts to the outbox), and the kernel's ring-full count
 *           at each rate, in steady state and under alert bursts.
 *
 * Medians of several interleaved runs; every run is bounded in count and
 * time. Prints numbers, never fails on them. ring needs root.
 *
 *   .output/tests/bench_sensor [--markdown] [--runs N] [--only outbox,kafka,flows,ring]
 *                              [--store-inline]   (ring: commits on the loop thread, as before)
 *                              [--alerts N]       (outbox, kafka: N alerts, all in one window,
 *                                                  100000 unless given)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <sys/timerfd.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sqlite3.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "exfilter.h"
#include "alert.h"
#include "config.h"
#include "detector.h"
#include "flowtab.h"
#include "ingest.h"
#include "frame.h"
#include "loader.h"
#include "loop.h"
#include "pipeline.h"
#include "names.h"
#include "outbox.h"
#include "sink.h"
#include "exfilter_tc.skel.h"
#include "pkt.h"

#define RUNS_DEFAULT 5
#define RUNS_MAX 15
#define N_ALERTS 100000
#define RUN_CAP_NS 15000000000LL /* no single run goes on longer than this */
#define T0 1700000000u
#define TOPIC "exfilter-alerts"
#define PARTITIONS 3

/* sensor.c's constants, mirrored: the pump and the tick run as it runs them */
#define ACKQ_MAX 65536
#define KAFKA_INFLIGHT 100000 /* sinks.kafka.max_inflight default: sizes sensor.c's ack queue */
#define PUMP_ROWS 512

enum { S_OUTBOX = 1, S_KAFKA = 2, S_FLOWS = 4, S_RING = 8 };

static int g_md, g_runs = RUNS_DEFAULT;
static size_t g_alerts = N_ALERTS; /* --alerts: one window's alerts, outbox and kafka */
static int g_store_inline; /* --store-inline: commits on the loop thread, as before the writer */
static volatile sig_atomic_t g_stop;

/* --- small helpers --- */

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
	double s[RUNS_MAX];

	if (n <= 0)
		return 0;
	memcpy(s, v, sizeof(double) * (size_t)n);
	qsort(s, (size_t)n, sizeof(s[0]), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static long rss_bytes(void)
{
	long size = 0, res = 0;
	FILE *fp = fopen("/proc/self/statm", "r");

	if (!fp)
		return -1;
	if (fscanf(fp, "%ld %ld", &size, &res) != 2)
		res = -1;
	fclose(fp);
	return res < 0 ? -1 : res * sysconf(_SC_PAGESIZE);
}

static void ip4_mapped(uint8_t *a, uint32_t v)
{
	memset(a, 0, 16);
	a[10] = a[11] = 0xff;
	a[12] = (uint8_t)(v >> 24);
	a[13] = (uint8_t)(v >> 16);
	a[14] = (uint8_t)(v >> 8);
	a[15] = (uint8_t)v;
}

/* A cell for the tables: a few rotating buffers are enough for one row. */
static const char *cell(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *cell(const char *fmt, ...)
{
	static char buf[24][128];
	static int k;
	char *b = buf[k++ % 24];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b, sizeof(buf[0]), fmt, ap);
	va_end(ap);
	return b;
}

static void t_row(int n, const char *const *c)
{
	for (int i = 0; i < n; i++) {
		if (g_md)
			printf("%s %s", i ? " |" : "|", c[i]);
		else
			printf(i ? "  %14s" : "%-50s", c[i]);
	}
	printf(g_md ? " |\n" : "\n");
}

static void t_head(int n, const char *const *c)
{
	printf("\n");
	t_row(n, c);
	if (g_md) {
		printf("|---");
		for (int i = 1; i < n; i++)
			printf("|---:");
		printf("|\n");
	}
}

#define ROW(...)                                                                                   \
	do {                                                                                       \
		const char *c_[] = { __VA_ARGS__ };                                                \
		t_row((int)(sizeof(c_) / sizeof(c_[0])), c_);                                      \
	} while (0)
#define HEAD(...)                                                                                  \
	do {                                                                                       \
		const char *c_[] = { __VA_ARGS__ };                                                \
		t_head((int)(sizeof(c_) / sizeof(c_[0])), c_);                                     \
	} while (0)

static void section(const char *title)
{
	printf(g_md ? "\n### %s\n" : "\n== %s ==\n", title);
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	va_list ap;

	printf(g_md ? "- " : "# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* Every run's figure, in both formats: the spread says how noisy the machine was. */
static void runs_list(const char *unit, const char *const *names, int nv,
		      const double (*v)[RUNS_MAX], int runs)
{
	printf(g_md ? "\n" : "\nruns (%s):\n", unit);
	for (int k = 0; k < nv; k++) {
		printf(g_md ? "- runs (%s), %s:" : "  %-48s", g_md ? unit : names[k],
		       g_md ? names[k] : "");
		for (int r = 0; r < runs; r++)
			printf(g_md ? " %.0f" : " %8.0f", v[k][r]);
		printf("\n");
	}
}

/* --- temporary directories --- */

static const char *tmp_base(void)
{
	const char *t = getenv("TMPDIR");

	return t && *t ? t : "/tmp";
}

static int tmpdir_make(char *out, size_t n)
{
	snprintf(out, n, "%s/xf-bench-XXXXXX", tmp_base());
	if (!mkdtemp(out)) {
		fprintf(stderr, "bench_sensor: failed to create a directory under %s: %s\n",
			tmp_base(), strerror(errno));
		return -errno;
	}
	return 0;
}

/* Remove a directory and the files in it (one level: ours hold no more). */
static void dir_remove(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/* ==================================================================== */
/* alerts: xf_alert_build on synthetic flows, built once                */
/* ==================================================================== */

struct alert_set {
	struct xf_alert_rec *rec;
	char *arena;
	size_t n, json_bytes, json_max;
	double build_ns; /* xf_score_flow + xf_alert_build, per alert */
};

static void label_b32(char *out, int len, uint64_t *rng)
{
	static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";

	for (int i = 0; i < len; i++)
		out[i] = b32[rng_next(rng) & 31];
	out[len] = 0;
}

/* A busy tunnel-like flow: three long encoded sample names, a scored view. */
static void synth_flow(size_t i, uint64_t *rng, uint8_t *client, uint8_t *server, char *domain,
		       char (*samples)[XF_SAMPLE_LEN], struct xf_ft_flow *f)
{
	struct xf_flow_view *v = &f->view;
	char l1[64];

	ip4_mapped(client, 0x0a000000u + (uint32_t)i);
	ip4_mapped(server, 0x0a000035u);
	snprintf(domain, 64, "d%03zu.test", i % 1000);
	/* a short encoded name (one 24-char label, one sample) and one reason: ~1 KiB of JSON */
	label_b32(l1, 24, rng);
	snprintf(samples[0], XF_SAMPLE_LEN, "%s.t.%s", l1, domain);
	f->samples[0] = samples[0];
	f->idx = (uint32_t)i + 1;
	f->client = client;
	f->server = server;
	f->domain = domain;
	f->kernel_rd = xf_name_hash_text(domain);
	f->win_start_s = T0;
	f->last_s = T0 + 250;
	f->last_qtype = 16;
	f->kind = XF_EV_DNS_QUERY;
	v->domain = domain;
	v->queries = 500 + i % 500;
	v->qname_bytes = v->queries * 40;
	v->entropy_sum = v->queries * 4500;
	v->enc_queries = v->queries - 10;
	v->responses = v->queries - 2;
	v->qtypes[XF_QT_TXT] = (uint32_t)v->queries;
	v->max_name_len = 41;
	v->max_label = 25;
	v->max_enc_label = 25;
	v->distinct = 12; /* one reason (entropy) in the document */
	v->span_s = 250;
}

static int alerts_build(struct alert_set *a, size_t n)
{
	static const double *weights = NULL;
	struct xf_det_params params = { .resolver_scale = 4 };
	char samples[XF_SAMPLES][XF_SAMPLE_LEN], domain[64];
	uint8_t client[16], server[16];
	size_t cap = n * 1536, *off;
	struct xf_sb sb = { 0 };
	uint64_t rng = 0x9e3779b97f4a7c15ULL;
	int err = -ENOMEM;

	memset(a, 0, sizeof(*a));
	a->rec = calloc(n, sizeof(*a->rec));
	a->arena = malloc(cap);
	off = calloc(n, sizeof(*off));
	if (!a->rec || !a->arena || !off)
		goto out;
	a->build_ns = (double)now_ns();
	for (size_t i = 0; i < n; i++) {
		struct xf_ft_alert al = { 0 };
		struct xf_ft_flow f = { .alert = &al };
		struct xf_score sc;
		struct xf_alert_in in;

		synth_flow(i, &rng, client, server, domain, samples, &f);
		xf_score_flow(&f.view, &params, weights, &sc);
		in = (struct xf_alert_in){ .flow = &f,
					   .score = &sc,
					   .action = sc.score >= 80 ? XF_AA_WOULD_BLOCK
								    : XF_AA_ALERTED,
					   .rev = 1,
					   .now_ms = (int64_t)T0 * 1000 + 260000 + (int64_t)i,
					   .window_s = 300,
					   .mode = "monitor",
					   .observer = "bench-sensor" };
		if (xf_alert_build(&in, &sb, &a->rec[i]))
			goto out;
		if (a->json_bytes + a->rec[i].json_len > cap) {
			char *p = realloc(a->arena, cap * 2);

			if (!p)
				goto out;
			a->arena = p;
			cap *= 2;
		}
		off[i] = a->json_bytes;
		memcpy(a->arena + off[i], a->rec[i].json, a->rec[i].json_len);
		a->json_bytes += a->rec[i].json_len;
		if (a->rec[i].json_len > a->json_max)
			a->json_max = a->rec[i].json_len;
	}
	a->build_ns = ((double)now_ns() - a->build_ns) / (double)n;
	for (size_t i = 0; i < n; i++)
		a->rec[i].json = a->arena + off[i];
	a->n = n;
	err = 0;
out:
	free(off);
	xf_sb_free(&sb);
	if (err)
		fprintf(stderr, "bench_sensor: failed to build the alerts: %s\n", strerror(-err));
	return err;
}

static void alerts_free(struct alert_set *a)
{
	free(a->rec);
	free(a->arena);
}

/* ==================================================================== */
/* 1. outbox into SQLite                                                */
/* ==================================================================== */

/* outbox.c's PRAGMAs (tuning() there): the baseline runs with the same,
 * after "PRAGMA page_size = N" (16384 as outbox.c creates a store, or 4096,
 * SQLite's default and the outbox's before session 5), with
 * wal_autocheckpoint set to 40 MiB of pages as outbox.c does */
static const char bare_pragmas[] = "PRAGMA journal_mode = WAL;"
				   "PRAGMA synchronous = NORMAL;"
				   "PRAGMA cache_size = -32768;"
				   "PRAGMA journal_size_limit = 67108864;";

struct ob_run {
	double rate; /* alerts/s */
	double commit_share; /* of the time, in xf_outbox_commit / COMMIT */
	double wbytes; /* bytes written (write(2) family) per alert */
	double cpu_us; /* this process's user + system CPU per alert */
	size_t done;
};

/*
 * What a run costs apart from wall time, which this shared machine makes
 * noisy: the bytes SQLite hands to write(2)/pwrite(2) (wchar in
 * /proc/self/io: WAL appends and checkpoint copies) and the CPU time.
 */
struct io_mark {
	int64_t wchar, cpu_ns;
};

static void io_mark(struct io_mark *m)
{
	char line[128];
	FILE *f = fopen("/proc/self/io", "r");

	m->wchar = 0;
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "wchar:", 6))
			m->wchar = strtoll(line + 6, NULL, 10);
	if (f)
		fclose(f);
	m->cpu_ns = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
}

static void io_since(const struct io_mark *m0, size_t rows, struct ob_run *r)
{
	struct io_mark m1;

	io_mark(&m1);
	r->wbytes = rows ? (double)(m1.wchar - m0->wchar) / (double)rows : 0;
	r->cpu_us = rows ? (double)(m1.cpu_ns - m0->cpu_ns) / 1e3 / (double)rows : 0;
}

/* threaded: commits on the outbox's writer thread (xf_outbox_writer_start),
 * as the live sensor runs them; the clock stops when the last one is done */
static int run_outbox(const struct alert_set *a, int batch, int nsinks, int threaded,
		      struct ob_run *r)
{
	static const char *const names[] = { "kafka", "jsonl" };
	char dir[PATH_MAX], path[PATH_MAX + 16], err[512];
	struct xf_outbox_stats st;
	struct xf_outbox *ob;
	struct io_mark m0;
	int64_t t0, t1, tc = 0;
	size_t i;
	int rc = -1;

	if (tmpdir_make(dir, sizeof(dir)))
		return -1;
	snprintf(path, sizeof(path), "%s/alerts.db", dir);
	/* memory_max: the writer thread may fall every alert behind */
	ob = xf_outbox_open(path, names, nsinks, a->n, err, sizeof(err));
	if (!ob) {
		fprintf(stderr, "bench_sensor: %s\n", err);
		goto out;
	}
	if (threaded && xf_outbox_writer_start(ob)) {
		fprintf(stderr, "bench_sensor: failed to start the outbox's writer\n");
		goto close;
	}
	io_mark(&m0);
	t0 = now_ns();
	for (i = 0; i < a->n && !g_stop; i++) {
		if (xf_outbox_put(ob, &a->rec[i]) < 0)
			goto fail;
		if ((i + 1) % (size_t)batch == 0 || i + 1 == a->n) {
			int64_t c0 = now_ns();

			if (xf_outbox_commit(ob))
				goto fail;
			tc += now_ns() - c0;
			if (now_ns() - t0 > RUN_CAP_NS) {
				i++;
				break;
			}
		}
	}
	if (threaded && xf_outbox_flush(ob))
		goto fail;
	t1 = now_ns();
	io_since(&m0, i, r);
	xf_outbox_stats(ob, &st);
	if (st.stored != i) {
		fprintf(stderr, "bench_sensor: outbox stored %llu of %zu\n",
			(unsigned long long)st.stored, i);
		goto close;
	}
	r->done = i;
	r->rate = (double)i * 1e9 / (double)(t1 - t0);
	r->commit_share = (double)tc / (double)(t1 - t0);
	rc = 0;
	goto close;
fail:
	fprintf(stderr, "bench_sensor: outbox: %s\n", xf_outbox_errmsg(ob));
close:
	xf_outbox_close(ob);
out:
	dir_remove(dir);
	return rc;
}

static int bare_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	fprintf(stderr, "bench_sensor: sqlite3: %s\n", msg ? msg : "?");
	sqlite3_free(msg);
	return -1;
}

static void bare_bind(sqlite3_stmt *st, int64_t seq, const struct xf_alert_rec *r)
{
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_text(st, 2, r->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, r->rev);
	sqlite3_bind_int64(st, 4, r->ts_ms);
	sqlite3_bind_text(st, 5, r->client, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, r->domain, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 7, r->score);
	sqlite3_bind_text(st, 8, r->severity, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, r->action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, r->json, (int)r->json_len, SQLITE_STATIC);
}

/*
 * The same rows with one prepared INSERT per row, BEGIN ... COMMIT per
 * batch, into schema 1 (UNIQUE index on the 32-character id: what the outbox
 * used before migration 2), schema 2 (an index on the integer idkey,
 * xf_outbox_idkey() computed per row as the outbox does) or schema 3 (no id
 * index in alerts: the outbox keeps the newest keys in memory and adds them
 * to its ids table in bulk, which a bare loop has no need for).
 */
static int run_bare(const struct alert_set *a, int batch, int schema, int page, struct ob_run *r)
{
	static const char ins1[] = "INSERT INTO alerts (seq, id, rev, ts_ms, client, domain, "
				   "score, severity, action, json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
				   "?7, ?8, ?9, ?10)";
	static const char ins2[] = "INSERT INTO alerts (seq, id, rev, ts_ms, client, domain, "
				   "score, severity, action, json, idkey) VALUES (?1, ?2, ?3, ?4, "
				   "?5, ?6, ?7, ?8, ?9, ?10, ?11)";
	char dir[PATH_MAX], path[PATH_MAX + 16], sql[128];
	sqlite3_stmt *st = NULL;
	sqlite3 *db = NULL;
	struct io_mark m0;
	int64_t t0, t1, tc = 0;
	size_t i = 0;
	int rc = -1;

	if (tmpdir_make(dir, sizeof(dir)))
		return -1;
	snprintf(path, sizeof(path), "%s/bare.db", dir);
	snprintf(sql, sizeof(sql), "PRAGMA page_size = %d; PRAGMA wal_autocheckpoint = %d;", page,
		 (40 << 20) / page);
	if (sqlite3_open_v2(path, &db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK ||
	    bare_exec(db, sql) || bare_exec(db, bare_pragmas))
		goto out;
	for (int v = 1; v <= schema; v++)
		if (bare_exec(db, xf_outbox_schema_sql(v)))
			goto out;
	if (sqlite3_prepare_v2(db, schema == 1 ? ins1 : ins2, -1, &st, NULL) != SQLITE_OK)
		goto out;
	io_mark(&m0);
	t0 = now_ns();
	while (i < a->n && !g_stop && now_ns() - t0 < RUN_CAP_NS) {
		size_t end = i + (size_t)batch < a->n ? i + (size_t)batch : a->n;
		int64_t c0;

		if (bare_exec(db, "BEGIN IMMEDIATE"))
			goto out;
		for (; i < end; i++) {
			bare_bind(st, (int64_t)i + 1, &a->rec[i]);
			if (schema > 1)
				sqlite3_bind_int64(st, 11, xf_outbox_idkey(a->rec[i].id));
			if (sqlite3_step(st) != SQLITE_DONE) {
				fprintf(stderr, "bench_sensor: sqlite3 insert: %s\n",
					sqlite3_errmsg(db));
				goto out;
			}
			sqlite3_reset(st);
		}
		c0 = now_ns();
		if (bare_exec(db, "COMMIT"))
			goto out;
		tc += now_ns() - c0;
	}
	t1 = now_ns();
	io_since(&m0, i, r);
	r->done = i;
	r->rate = (double)i * 1e9 / (double)(t1 - t0);
	r->commit_share = (double)tc / (double)(t1 - t0);
	rc = 0;
out:
	sqlite3_finalize(st);
	sqlite3_close_v2(db);
	dir_remove(dir);
	return rc;
}

enum {
	OB_1000,
	OB_5000,
	OB_THREAD,
	OB_0SINK,
	BARE_1000,
	BARE_5000,
	BARE2_1000,
	BARE4K_1000,
	BARE1_1000,
	OB_VARIANTS
};

static int bench_outbox(const struct alert_set *a)
{
	static const struct {
		const char *name;
		int batch, sinks, bare; /* bare: the schema version of a bare loop */
		int thread, page; /* page: the bare loop's page size */
	} v[OB_VARIANTS] = {
		[OB_1000] = { "xf_outbox_put+commit, batch 1000, 1 sink", 1000, 1, 0 },
		[OB_5000] = { "xf_outbox_put+commit, batch 5000, 1 sink", 5000, 1, 0 },
		[OB_THREAD] = { "xf_outbox_put+commit, batch 1000, 1 sink, writer thread", 1000, 1,
				0, 1 },
		[OB_0SINK] = { "xf_outbox_put+commit, batch 1000, 0 sinks", 1000, 0, 0 },
		[BARE_1000] = { "bare sqlite3 INSERT, batch 1000", 1000, 0, 3, 0, 16384 },
		[BARE_5000] = { "bare sqlite3 INSERT, batch 5000", 5000, 0, 3, 0, 16384 },
		[BARE2_1000] = { "bare sqlite3 INSERT, schema 2 (idkey index), batch 1000", 1000, 0,
				 2, 0, 16384 },
		[BARE4K_1000] = { "bare sqlite3 INSERT, schema 2, 4 KiB pages, batch 1000", 1000, 0,
				  2, 0, 4096 },
		[BARE1_1000] = { "bare sqlite3 INSERT, schema 1 (UNIQUE id), 4 KiB pages, batch "
				 "1000",
				 1000, 0, 1, 0, 4096 },
	};
	double rate[OB_VARIANTS][RUNS_MAX], share[OB_VARIANTS][RUNS_MAX];
	double wb[OB_VARIANTS][RUNS_MAX], cpu[OB_VARIANTS][RUNS_MAX];
	int runs = 0;

	for (int r = 0; r < g_runs && !g_stop; r++, runs++) {
		/* rotated, so that no case always runs after the same one */
		for (int j = 0; j < OB_VARIANTS; j++) {
			int k = (j + r) % OB_VARIANTS;
			struct ob_run o = { 0 };
			int e = v[k].bare ? run_bare(a, v[k].batch, v[k].bare, v[k].page, &o)
					  : run_outbox(a, v[k].batch, v[k].sinks, v[k].thread, &o);

			if (e)
				return -1;
			rate[k][r] = o.rate;
			share[k][r] = o.commit_share;
			wb[k][r] = o.wbytes;
			cpu[k][r] = o.cpu_us;
		}
	}
	section("1. Outbox into SQLite");
	note("%zu alerts per run from xf_alert_build (JSON mean %.0f B, max %zu B; building one "
	     "took %.1f us incl. xf_score_flow), distinct ids; "
	     "a new database in %s per run; open and close (final checkpoint) not timed; "
	     "median of %d interleaved runs (order rotated)",
	     a->n, (double)a->json_bytes / (double)a->n, a->json_max, a->build_ns / 1e3, tmp_base(),
	     runs);
	note("baseline: the same rows into the same schema (every xf_outbox_schema_sql(v)) with "
	     "one "
	     "prepared INSERT per row, BEGIN IMMEDIATE ... COMMIT per batch, outbox.c's PRAGMAs "
	     "(page_size=16384 unless the case says 4 KiB, WAL, synchronous=NORMAL, "
	     "cache_size=-32768, wal_autocheckpoint=40 MiB of pages)");
	note("written: bytes handed to write(2)/pwrite(2) per alert (wchar of /proc/self/io: WAL "
	     "appends and checkpoints during the run), CPU: this process's user+system time per "
	     "alert; both move far less with the machine's load than alerts/s");
	note("writer thread: the same puts, xf_outbox_commit() every 1000 hands the batch to the "
	     "outbox's writer thread (a batch grows while the one before is still being written), "
	     "timed until xf_outbox_flush() returns; time in commit is the caller's time in "
	     "xf_outbox_commit() only, what the sensor's loop would wait");
	HEAD("case", "alerts/s", "ratio to bare", "time in commit", "written B/alert",
	     "CPU us/alert", "target", "met");
	for (int k = 0; k < OB_VARIANTS; k++) {
		double m = median(rate[k], runs);
		double base = median(rate[v[k].batch == 5000 ? BARE_5000 : BARE_1000], runs);
		int tgt = k == OB_1000 || k == OB_5000 || k == OB_THREAD;

		ROW(v[k].name, cell("%.0f", m), cell("%.2f", base > 0 ? m / base : 0),
		    cell("%.0f%%", 100 * median(share[k], runs)), cell("%.0f", median(wb[k], runs)),
		    cell("%.1f", median(cpu[k], runs)), tgt ? ">= 100000/s" : "-",
		    tgt ? (m >= 100000 ? "met" : "not met") : "-");
	}
	{
		const char *names[OB_VARIANTS];

		for (int k = 0; k < OB_VARIANTS; k++)
			names[k] = v[k].name;
		runs_list("alerts/s", names, OB_VARIANTS, (const double(*)[RUNS_MAX])rate, runs);
	}
	return 0;
}

/* ==================================================================== */
/* 2. Kafka: the sink, a bare producer, and the outbox -> sink pump      */
/* ==================================================================== */

struct mock {
	rd_kafka_t *rk;
	rd_kafka_mock_cluster_t *mc;
	char boot[256];
};

static void quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	if (level <= LOG_ERR)
		fprintf(stderr, "bench-kafka: %s: %s\n", fac, buf);
}

static int mock_start(struct mock *m)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char errstr[512];

	memset(m, 0, sizeof(*m));
	rd_kafka_conf_set_log_cb(conf, quiet_log);
	m->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!m->rk) {
		rd_kafka_conf_destroy(conf);
		fprintf(stderr, "bench_sensor: failed to create the mock's handle: %s\n", errstr);
		return -1;
	}
	m->mc = rd_kafka_mock_cluster_new(m->rk, 1);
	if (!m->mc || rd_kafka_mock_topic_create(m->mc, TOPIC, PARTITIONS, 1)) {
		fprintf(stderr, "bench_sensor: failed to start the mock Kafka cluster\n");
		return -1;
	}
	snprintf(m->boot, sizeof(m->boot), "%s", rd_kafka_mock_cluster_bootstraps(m->mc));
	return 0;
}

static void mock_stop(struct mock *m)
{
	if (m->mc)
		rd_kafka_mock_cluster_destroy(m->mc);
	if (m->rk)
		rd_kafka_destroy(m->rk);
}

struct kcount {
	long acked, errs;
};

struct k_run {
	double rate;
	double share[3]; /* pump: pending+send, poll+acked, commit */
	long errs, dropped, left;
};

static void sink_ack(void *ctx, int sink, int64_t seq, int err)
{
	struct kcount *k = ctx;

	(void)sink;
	(void)seq;
	if (err)
		k->errs++;
	else
		k->acked++;
}

static struct xf_sink *bench_sink(const struct mock *m, xf_sink_ack_fn ack, void *ctx)
{
	struct xf_kv props[] = { { (char *)"bootstrap.servers", (char *)m->boot } };
	struct xf_kafka_cfg cfg = { .topic = TOPIC, .props = props, .nprops = 1 };
	char err[512];
	struct xf_sink *s = xf_sink_kafka_new(&cfg, 0, ack, ctx, err, sizeof(err));

	if (!s)
		fprintf(stderr, "bench_sensor: %s\n", err);
	return s;
}

/* Wait until want rows are acknowledged, serving delivery reports. */
static int sink_wait(struct xf_sink *s, const struct kcount *k, long want, int64_t deadline)
{
	while (k->acked + k->errs < want && now_ns() < deadline && !g_stop)
		s->ops->poll(s, 10);
	return k->acked + k->errs >= want ? 0 : -ETIMEDOUT;
}

/* The sink alone: send every row (poll on -EAGAIN and every 1000), wait for every ack. */
static int run_kafka_sink(const struct alert_set *a, struct k_run *r)
{
	struct kcount k = { 0 };
	struct mock m;
	struct xf_sink *s = NULL;
	struct xf_out_row row = { 0, &a->rec[0] };
	int64_t t0, t1;
	int rc = -1;

	if (mock_start(&m) || !(s = bench_sink(&m, sink_ack, &k)))
		goto out;
	/* warm-up: metadata, connection, InitProducerId */
	if (s->ops->send(s, &row) || sink_wait(s, &k, 1, now_ns() + 10000000000LL))
		goto out;
	t0 = now_ns();
	for (size_t i = 0; i < a->n && !g_stop; i++) {
		int e;

		row = (struct xf_out_row){ (int64_t)i + 1, &a->rec[i] };
		while ((e = s->ops->send(s, &row)) == -EAGAIN)
			s->ops->poll(s, 1);
		if (e) {
			fprintf(stderr, "bench_sensor: kafka sink send: %s\n", strerror(-e));
			goto out;
		}
		if (i % 1000 == 999)
			s->ops->poll(s, 0);
	}
	sink_wait(s, &k, (long)a->n + 1, t0 + RUN_CAP_NS);
	t1 = now_ns();
	r->rate = (double)(k.acked - 1) * 1e9 / (double)(t1 - t0);
	r->errs = k.errs;
	r->left = (long)a->n + 1 - k.acked - k.errs;
	rc = 0;
out:
	xf_sink_close(s);
	mock_stop(&m);
	return rc;
}

static void bare_dr(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
	struct kcount *k = opaque;

	(void)rk;
	if (msg->err)
		k->errs++;
	else
		k->acked++;
}

/* sink_kafka.c's defaults, set the same way */
static rd_kafka_t *bare_producer(const struct mock *m, struct kcount *k)
{
	static const char *const conf_kv[][2] = {
		{ "enable.idempotence", "true" }, { "acks", "all" },
		{ "message.timeout.ms", "0" },	  { "client.id", "exfilter" },
		{ "bootstrap.servers", NULL },
	};
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char errstr[512];
	rd_kafka_t *rk;

	for (size_t i = 0; i < sizeof(conf_kv) / sizeof(conf_kv[0]); i++)
		if (rd_kafka_conf_set(conf, conf_kv[i][0], conf_kv[i][1] ? conf_kv[i][1] : m->boot,
				      errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
			fprintf(stderr, "bench_sensor: kafka conf: %s\n", errstr);
			rd_kafka_conf_destroy(conf);
			return NULL;
		}
	rd_kafka_conf_set_opaque(conf, k);
	rd_kafka_conf_set_log_cb(conf, quiet_log);
	rd_kafka_conf_set_dr_msg_cb(conf, bare_dr);
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!rk) {
		rd_kafka_conf_destroy(conf);
		fprintf(stderr, "bench_sensor: rd_kafka_new: %s\n", errstr);
	}
	return rk;
}

/* The same message the sink makes: key, value, two headers, opaque = seq. */
static rd_kafka_resp_err_t bare_produce(rd_kafka_t *rk, rd_kafka_topic_t *rkt, int64_t seq,
					const struct xf_alert_rec *rec)
{
	size_t keylen = strlen(rec->domain);
	char rev[16];

	snprintf(rev, sizeof(rev), "%u", rec->rev);
	return rd_kafka_producev(rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
				 RD_KAFKA_V_KEY(rec->domain, keylen),
				 RD_KAFKA_V_VALUE((void *)rec->json, rec->json_len),
				 RD_KAFKA_V_HEADER("alert_id", rec->id, -1),
				 RD_KAFKA_V_HEADER("alert_rev", rev, -1),
				 RD_KAFKA_V_OPAQUE((void *)(intptr_t)seq), RD_KAFKA_V_END);
}

static int bare_wait(rd_kafka_t *rk, const struct kcount *k, long want, int64_t deadline)
{
	while (k->acked + k->errs < want && now_ns() < deadline && !g_stop)
		rd_kafka_poll(rk, 10);
	return k->acked + k->errs >= want ? 0 : -ETIMEDOUT;
}

static int run_kafka_bare(const struct alert_set *a, struct k_run *r)
{
	struct kcount k = { 0 };
	rd_kafka_topic_t *rkt = NULL;
	rd_kafka_t *rk = NULL;
	struct mock m;
	int64_t t0, t1;
	int rc = -1;

	if (mock_start(&m) || !(rk = bare_producer(&m, &k)) ||
	    !(rkt = rd_kafka_topic_new(rk, TOPIC, NULL)))
		goto out;
	if (bare_produce(rk, rkt, 0, &a->rec[0]) || bare_wait(rk, &k, 1, now_ns() + 10000000000LL))
		goto out;
	t0 = now_ns();
	for (size_t i = 0; i < a->n && !g_stop; i++) {
		rd_kafka_resp_err_t e;

		while ((e = bare_produce(rk, rkt, (int64_t)i + 1, &a->rec[i])) ==
		       RD_KAFKA_RESP_ERR__QUEUE_FULL)
			rd_kafka_poll(rk, 1);
		if (e) {
			fprintf(stderr, "bench_sensor: producev: %s\n", rd_kafka_err2str(e));
			goto out;
		}
		if (i % 1000 == 999)
			rd_kafka_poll(rk, 0);
	}
	bare_wait(rk, &k, (long)a->n + 1, t0 + RUN_CAP_NS);
	t1 = now_ns();
	r->rate = (double)(k.acked - 1) * 1e9 / (double)(t1 - t0);
	r->errs = k.errs;
	r->left = (long)a->n + 1 - k.acked - k.errs;
	rc = 0;
out:
	if (rkt)
		rd_kafka_topic_destroy(rkt);
	if (rk) {
		rd_kafka_flush(rk, 1000);
		rd_kafka_destroy(rk);
	}
	mock_stop(&m);
	return rc;
}

/* sensor.c's pump for one sink: struct ack, on_ack, apply_acks, send_row, pump */
struct ack {
	int64_t seq;
	int err;
};

struct pumper {
	struct xf_outbox *ob;
	struct xf_sink *sink;
	int64_t cursor;
	struct ack *ackq;
	int n_ack, ack_max, full;
	long delivered, errs, dropped, exported;
	int64_t ns_pending, ns_poll, ns_commit; /* where the pump's time goes */
};

static void pump_ack(void *ctx, int sink, int64_t seq, int err)
{
	struct pumper *p = ctx;

	(void)sink;
	p->delivered++;
	if (p->n_ack < p->ack_max)
		p->ackq[p->n_ack++] = (struct ack){ seq, err };
	else
		p->dropped++; /* sensor.c drops it too: the row stays pending */
}

static void pump_apply(struct pumper *p)
{
	for (int i = 0; i < p->n_ack; i++) {
		struct ack *a = &p->ackq[i];

		if (a->err) {
			p->errs++;
			if (a->seq - 1 < p->cursor)
				p->cursor = a->seq - 1;
			continue;
		}
		xf_outbox_acked(p->ob, 0, a->seq);
		p->exported++;
	}
	p->n_ack = 0;
}

static int pump_send_row(void *ctx, const struct xf_out_row *row)
{
	struct pumper *p = ctx;

	if (p->sink->ops->send(p->sink, row) < 0) {
		p->full = 1;
		return 1;
	}
	p->cursor = row->seq;
	return 0;
}

static int pump_once(struct pumper *p)
{
	int64_t t0 = now_ns(), t1, t2;
	int n, sent = 0;

	p->full = 0;
	p->sink->ops->poll(p->sink, 0);
	t1 = now_ns();
	do {
		n = xf_outbox_pending(p->ob, 0, p->cursor, PUMP_ROWS, pump_send_row, p);
		sent += n > 0 ? n : 0;
	} while (n == PUMP_ROWS && !p->full && sent < ACKQ_MAX);
	t2 = now_ns();
	p->sink->ops->poll(p->sink, 0);
	n = p->n_ack;
	pump_apply(p);
	p->ns_pending += t2 - t1;
	p->ns_poll += (t1 - t0) + (now_ns() - t2);
	return sent + n;
}

static int pump_fill(struct xf_outbox *ob, const struct alert_set *a, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		if (xf_outbox_put(ob, &a->rec[i]) < 0)
			return -1;
		if ((i + 1) % 5000 == 0 && xf_outbox_commit(ob))
			return -1;
	}
	return xf_outbox_commit(ob);
}

/*
 * A backlog of n committed rows drained through the sink as sensor.c does:
 * pump (pending -> send, delivery reports -> acked), then commit. cadence_ms
 * 0: back to back, waiting in poll only when a round moved nothing; else one
 * round per cadence_ms, as the live loop wakes on its flush timer.
 */
static int run_pump(const struct alert_set *a, int cadence_ms, struct k_run *r)
{
	static const char *const names[] = { "kafka" };
	struct pumper p = { 0 };
	char dir[PATH_MAX], path[PATH_MAX + 16], err[512];
	struct mock m;
	int64_t t0, t1, next;
	long want = (long)a->n;
	int rc = -1;

	if (tmpdir_make(dir, sizeof(dir)))
		return -1;
	snprintf(path, sizeof(path), "%s/alerts.db", dir);
	p.ack_max = KAFKA_INFLIGHT + 2 * ACKQ_MAX; /* as sensor.c sizes it */
	p.ackq = calloc((size_t)p.ack_max, sizeof(*p.ackq));
	p.ob = xf_outbox_open(path, names, 1, 0, err, sizeof(err));
	if (!p.ackq || !p.ob || mock_start(&m) || !(p.sink = bench_sink(&m, pump_ack, &p)))
		goto out;
	/* warm-up row, then the backlog, committed before the clock starts */
	if (pump_fill(p.ob, a, 0, 1))
		goto out;
	for (int64_t d = now_ns() + 10000000000LL; p.exported < 1 && now_ns() < d;)
		if (!pump_once(&p))
			p.sink->ops->poll(p.sink, 10);
	if (p.exported < 1 || xf_outbox_commit(p.ob) || pump_fill(p.ob, a, 1, a->n))
		goto out;
	p.exported = p.delivered = 0;
	t0 = next = now_ns();
	p.ns_pending = p.ns_poll = 0;
	while (p.delivered < want - 1 && now_ns() - t0 < RUN_CAP_NS && !g_stop) {
		int moved = pump_once(&p);
		int64_t c0 = now_ns();

		xf_outbox_commit(p.ob);
		p.ns_commit += now_ns() - c0;
		if (cadence_ms) {
			struct timespec ts;

			next += (int64_t)cadence_ms * 1000000;
			ts.tv_sec = next / 1000000000LL;
			ts.tv_nsec = next % 1000000000LL;
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		} else if (!moved) {
			p.sink->ops->poll(p.sink, 1);
		}
	}
	pump_once(&p);
	xf_outbox_commit(p.ob);
	t1 = now_ns();
	r->rate = (double)p.exported * 1e9 / (double)(t1 - t0);
	r->errs = p.errs;
	r->dropped = p.dropped;
	r->left = (long)xf_outbox_backlog(p.ob, 0);
	r->share[0] = (double)p.ns_pending / (double)(t1 - t0);
	r->share[1] = (double)p.ns_poll / (double)(t1 - t0);
	r->share[2] = (double)p.ns_commit / (double)(t1 - t0);
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "bench_sensor: pump set-up failed%s%s\n", p.ob ? ": " : "",
			p.ob ? xf_outbox_errmsg(p.ob) : "");
	xf_sink_close(p.sink);
	if (p.sink)
		mock_stop(&m);
	xf_outbox_close(p.ob);
	free(p.ackq);
	dir_remove(dir);
	return rc;
}

enum { K_SINK, K_BARE, K_PUMP, K_PUMP_TICK, K_VARIANTS };

static int bench_kafka(const struct alert_set *a)
{
	static const char *const name[K_VARIANTS] = {
		[K_SINK] = "kafka sink (xf_sink_kafka_new), send + acks",
		[K_BARE] = "bare librdkafka producer, producev + DRs",
		[K_PUMP] = "outbox -> sink pump, back to back",
		[K_PUMP_TICK] = "outbox -> sink pump, once per flush_ms (100 ms)",
	};
	double rate[K_VARIANTS][RUNS_MAX];
	long errs[K_VARIANTS] = { 0 }, dropped[K_VARIANTS] = { 0 }, left[K_VARIANTS] = { 0 };
	double share[3][RUNS_MAX];
	int runs = 0;

	for (int r = 0; r < g_runs && !g_stop; r++, runs++) {
		for (int j = 0; j < K_VARIANTS; j++) {
			int k = (j + r) % K_VARIANTS;
			struct k_run o = { 0 };
			int e = k == K_SINK   ? run_kafka_sink(a, &o)
				: k == K_BARE ? run_kafka_bare(a, &o)
					      : run_pump(a, k == K_PUMP_TICK ? 100 : 0, &o);

			if (e)
				return -1;
			rate[k][r] = o.rate;
			if (k == K_PUMP)
				for (int q = 0; q < 3; q++)
					share[q][r] = o.share[q];
			errs[k] += o.errs;
			dropped[k] += o.dropped;
			left[k] += o.left;
		}
	}
	section("2. Kafka: sink vs bare producer, and the outbox pump");
	note("librdkafka %s; in-process mock cluster (rd_kafka_mock_cluster_new, 1 broker, topic "
	     "with %d partitions), a new one per run; enable.idempotence=true, acks=all, "
	     "message.timeout.ms=0 on both producers; the same %zu alerts, key = registered "
	     "domain, value = JSON, headers alert_id and alert_rev; warm-up message acked "
	     "before the clock starts; timed until every delivery report is served; median of "
	     "%d interleaved runs (order rotated)",
	     rd_kafka_version_str(), PARTITIONS, a->n, runs);
	note("pump: the backlog is committed to a new outbox first (untimed), then sensor.c's "
	     "pump() (pending 512 at a time -> send, at most %d rows per pass; delivery reports "
	     "-> ack queue of %d -> xf_outbox_acked) and xf_outbox_commit() until all are "
	     "exported",
	     ACKQ_MAX, KAFKA_INFLIGHT + 2 * ACKQ_MAX);
	HEAD("case", "alerts/s", "ratio to bare", "target", "met");
	for (int k = 0; k < K_VARIANTS; k++) {
		double m = median(rate[k], runs), base = median(rate[K_BARE], runs);
		double ratio = base > 0 ? m / base : 0;

		ROW(name[k], cell("%.0f", m), cell("%.2f", ratio),
		    k == K_SINK ? ">= 0.50x bare" : "-",
		    k == K_SINK ? (ratio >= 0.5 ? "met" : "not met") : "-");
	}
	{
		double m[3] = { 0 };

		for (int q = 0; q < 3; q++) {
			for (int r = 0; r < runs; r++)
				m[q] += share[q][r];
			m[q] = runs ? 100 * m[q] / runs : 0;
		}
		note("pump, back to back, mean of the runs: %.0f%% of the time in "
		     "xf_outbox_pending + send, %.0f%% in sink poll + xf_outbox_acked, %.0f%% in "
		     "xf_outbox_commit (the acks' DELETEs), the rest waiting in poll",
		     m[0], m[1], m[2]);
	}
	for (int k = 0; k < K_VARIANTS; k++)
		if (errs[k] || dropped[k] || left[k])
			note("%s: %ld failed deliveries, %ld acks dropped by the ack queue bound, "
			     "%ld rows left pending/unacked (summed over runs)",
			     name[k], errs[k], dropped[k], left[k]);
	runs_list("alerts/s", name, K_VARIANTS, (const double(*)[RUNS_MAX])rate, runs);
	return 0;
}

/* ==================================================================== */
/* 3. flow table memory (each measurement in a child process)            */
/* ==================================================================== */

#define FLOOD_STEPS 5

struct mem_result {
	int ok;
	long rss0, rss_new, rss_full;
	long series[FLOOD_STEPS];
	double secs;
	struct xf_ft_stats st;
};

static void obs_init(struct xf_obs *o, struct xf_name_feat *feat)
{
	memset(o, 0, sizeof(*o));
	memset(feat, 0, sizeof(*feat));
	o->feat = feat;
	o->now_s = T0;
	o->long_qname = 100;
	o->kind = XF_EV_DNS_QUERY;
	feat->qtype = 1;
}

/* 1000 clients x 1000 domains, one plain query each, sized as sensor.c sizes it */
static void mem_million(struct mem_result *r)
{
	enum { FLOWS = 1000000, CLIENTS = 1000, DOMAINS = 1000 };
	struct xf_ft_cfg cfg = { .max_flows = FLOWS,
				 .max_details = FLOWS / 16 + 1024,
				 .window_s = 300 };
	static char doms[DOMAINS][24], names[DOMAINS][32];
	static __u64 khash[DOMAINS];
	struct xf_name_feat feat;
	struct xf_obs o;
	struct xf_ft *ft;
	uint8_t cl[16];
	int64_t t0;

	for (int d = 0; d < DOMAINS; d++) {
		snprintf(doms[d], sizeof(doms[d]), "dom%04d.test", d);
		snprintf(names[d], sizeof(names[d]), "www.dom%04d.test", d);
		khash[d] = xf_name_hash_text(doms[d]);
	}
	obs_init(&o, &feat);
	r->rss0 = rss_bytes();
	ft = xf_ft_new(&cfg);
	if (!ft)
		return;
	r->rss_new = rss_bytes();
	t0 = now_ns();
	for (int c = 0; c < CLIENTS; c++) {
		ip4_mapped(cl, 0x0a000000u + (uint32_t)c);
		o.client = cl;
		for (int d = 0; d < DOMAINS; d++) {
			o.domain = doms[d];
			o.name = names[d];
			o.kernel_rd = khash[d];
			feat.name_len = (__u16)strlen(names[d]);
			feat.name_hash = xf_name_hash_text(names[d]) ^ (uint64_t)c;
			if (xf_ft_observe(ft, &o) <= 0)
				return;
		}
	}
	r->secs = (double)(now_ns() - t0) / 1e9;
	r->rss_full = rss_bytes();
	xf_ft_stats(ft, &r->st);
	r->ok = 1;
	xf_ft_free(ft);
}

/* 5M distinct random names under 50 domains from 20k clients, 100k flows at most */
static void mem_flood(struct mem_result *r)
{
	enum { FLOWS = 100000, CLIENTS = 20000, DOMAINS = 50, PER_STEP = 1000000 };
	static const char hex[] = "0123456789abcdef";
	struct xf_ft_cfg cfg = { .max_flows = FLOWS,
				 .max_details = FLOWS / 16 + 1024,
				 .window_s = 300 };
	static char doms[DOMAINS][24];
	static __u64 khash[DOMAINS];
	uint64_t rng = 0x243f6a8885a308d3ULL;
	struct xf_name_feat feat;
	char name[64];
	struct xf_obs o;
	struct xf_ft *ft;
	uint8_t cl[16];
	int64_t t0;

	for (int d = 0; d < DOMAINS; d++) {
		snprintf(doms[d], sizeof(doms[d]), "victim%02d.test", d);
		khash[d] = xf_name_hash_text(doms[d]);
	}
	obs_init(&o, &feat);
	o.client = cl;
	o.name = name;
	r->rss0 = rss_bytes();
	ft = xf_ft_new(&cfg);
	if (!ft)
		return;
	r->rss_new = rss_bytes();
	t0 = now_ns();
	for (int s = 0; s < FLOOD_STEPS; s++) {
		for (int i = 0; i < PER_STEP; i++) {
			uint64_t x = rng_next(&rng), h = rng_next(&rng);
			int d = (int)(x % DOMAINS), len = 16 + (int)((x >> 8) & 7);

			ip4_mapped(cl, 0x0a100000u + (uint32_t)((x >> 16) % CLIENTS));
			for (int k = 0; k < len; k++)
				name[k] = hex[(h >> (4 * (k & 15))) & 15];
			name[len] = '.';
			strcpy(name + len + 1, doms[d]);
			o.domain = doms[d];
			o.kernel_rd = khash[d];
			feat.name_hash = h;
			feat.name_len = (__u16)strlen(name);
			feat.longest = (__u8)len;
			feat.enc_longest = (__u8)len; /* hex, >= enc_label_min */
			feat.hex_labels = 1;
			feat.entropy = 3800;
			if (xf_ft_observe(ft, &o) <= 0)
				return;
		}
		r->series[s] = rss_bytes();
	}
	r->secs = (double)(now_ns() - t0) / 1e9;
	r->rss_full = rss_bytes();
	xf_ft_stats(ft, &r->st);
	r->ok = 1;
	xf_ft_free(ft);
}

/* Run fn in a fresh child, so earlier sections' heap does not blur its RSS. */
static int in_child(void (*fn)(struct mem_result *), struct mem_result *out)
{
	int p[2], status;
	ssize_t n;
	pid_t pid;

	memset(out, 0, sizeof(*out));
	fflush(stdout);
	if (pipe(p))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		struct mem_result r = { 0 };

		close(p[0]);
		fn(&r);
		n = write(p[1], &r, sizeof(r));
		_exit(n == (ssize_t)sizeof(r) ? 0 : 1);
	}
	close(p[1]);
	n = read(p[0], out, sizeof(*out));
	close(p[0]);
	waitpid(pid, &status, 0);
	return n == (ssize_t)sizeof(*out) && out->ok ? 0 : -EIO;
}

static double mib(long b)
{
	return (double)b / 1048576.0;
}

static struct mem_result g_mem_million, g_mem_flood;

static int flows_measure(void)
{
	if (in_child(mem_million, &g_mem_million) || in_child(mem_flood, &g_mem_flood)) {
		fprintf(stderr, "bench_sensor: flow table child failed\n");
		return -1;
	}
	return 0;
}

static void flows_print(void)
{
	const struct mem_result m = g_mem_million, f = g_mem_flood;

	section("3. Flow table memory");
	note("RSS from /proc/self/statm in a fresh child process per case; baseline = RSS just "
	     "before xf_ft_new; max_details = max_flows/16 + 1024 as sensor.c sets it");
	HEAD("case", "flows", "details", "RSS growth (MiB)", "B/flow", "stats.bytes/flow", "obs/s",
	     "target", "met");
	ROW("1M flows: 1000 clients x 1000 domains, 1 query each",
	    cell("%llu", (unsigned long long)m.st.flows),
	    cell("%llu", (unsigned long long)m.st.details), cell("%.1f", mib(m.rss_full - m.rss0)),
	    cell("%.1f", (double)(m.rss_full - m.rss0) / (double)m.st.flows),
	    cell("%.1f", (double)m.st.bytes / (double)m.st.flows), cell("%.0f", 1e6 / m.secs),
	    "<= 64 MiB", mib(m.rss_full - m.rss0) <= 64 ? "met" : "not met");
	note("1M flows: RSS +%.1f MiB at xf_ft_new (entry arrays calloc'd at the bound, mapped "
	     "lazily; bucket arrays grow with the entries), +%.1f MiB more after filling; %llu "
	     "clients, %llu domains interned; the 64-byte entries alone (flowtab.h) are %.1f MiB "
	     "of it",
	     mib(m.rss_new - m.rss0), mib(m.rss_full - m.rss_new), (unsigned long long)m.st.clients,
	     (unsigned long long)m.st.domains, mib(64L * (long)m.st.flows));
	HEAD("random-subdomain flood, max_flows 100000", "observations", "RSS growth (MiB)",
	     "flows", "details", "evicted");
	for (int s = 0; s < FLOOD_STEPS; s++)
		ROW(cell("after %dM", s + 1), cell("%d000000", s + 1),
		    cell("%.1f", mib(f.series[s] - f.rss0)),
		    s == FLOOD_STEPS - 1 ? cell("%llu", (unsigned long long)f.st.flows) : "",
		    s == FLOOD_STEPS - 1 ? cell("%llu", (unsigned long long)f.st.details) : "",
		    s == FLOOD_STEPS - 1 ? cell("%llu", (unsigned long long)f.st.evicted) : "");
	note("flood: 5M observations of distinct 16-23 char hex labels under 50 domains from 20k "
	     "clients (1M possible client x domain pairs), each a detail-worthy encoded query; "
	     "%.0f obs/s (name generation included); RSS 1M -> 5M: %+.1f MiB (%s)",
	     5e6 / f.secs, mib(f.series[FLOOD_STEPS - 1] - f.series[0]),
	     f.series[FLOOD_STEPS - 1] - f.series[0] <= 1048576 ? "flat" : "grows");
}

/* ==================================================================== */
/* 4. ring buffer -> stored alerts, from the real TC program             */
/* ==================================================================== */

#define RING_CLIENTS 512
#define RING_DOMAINS 16
#define RING_FRAMES 32768
#define RING_BURST 4 /* identical packets per BPF_PROG_TEST_RUN call */
#define RING_STEP_NS 3000000000LL
#define CAPTURE_MAX 32768

struct frame {
	uint8_t d[600];
	uint16_t len;
};

/* What sensor.c keeps for the consume path, minus sinks, GeoIP and verdicts:
 * the same pipeline (pipeline.c) and the same loop (loop.c). */
struct ring {
	struct xf_sensor_cfg *cfg;
	struct xf_loader l;
	char pin_dir[64];
	struct ring_buffer *rb;
	struct xf_pipeline p;
	struct xf_loop loop;
	struct xf_outbox *ob;
	char dbdir[PATH_MAX];
	int flows_fd, config_fd, stats_fd, prog_fd, ncpus;
	int64_t mono_to_wall_ns;
	struct xf_kmerge km;
	struct xf_ingest_buf ibuf;
	uint64_t events, bad_events, store_errors;
	/* events kept for the per-stage breakdown */
	struct xf_event *cap;
	size_t ncap;
	int capture;
};

/* --- sensor.c's on_event: decode, then the pipeline --- */

static int ring_event(void *ctx, void *data, size_t len)
{
	struct ring *s = ctx;
	struct xf_obs o;

	if (xf_event_obs(data, len, s->mono_to_wall_ns, s->cfg->kernel.long_qname, &s->ibuf, &o)) {
		s->bad_events++;
		return 0;
	}
	if (s->capture && s->ncap < CAPTURE_MAX)
		memcpy(&s->cap[s->ncap++], data, sizeof(struct xf_event));
	s->events++;
	xf_pipe_observe(&s->p, &o);
	return 0;
}

/* --- sensor.c's pipeline callbacks in monitor mode, without sinks --- */

static int ring_alert(void *ctx, const struct xf_alert_rec *rec, const struct xf_ft_flow *f,
		      const struct xf_score *sc)
{
	struct ring *s = ctx;

	(void)f;
	(void)sc;
	if (xf_outbox_put(s->ob, rec) < 0) {
		s->store_errors++;
		return -1;
	}
	return 0;
}

static void ring_rolled(void *ctx, const struct xf_ft_flow *f)
{
	struct ring *s = ctx;
	struct xf_flow_key k = { .rd_hash = f->kernel_rd };

	memcpy(k.client, f->client, 16);
	bpf_map_delete_elem(s->flows_fd, &k);
}

static const struct xf_pipe_ops ring_ops = {
	.alert = ring_alert,
	.rolled = ring_rolled,
};

/* The loop's flush as sensor.c's on_flush, without sinks: commit, drain. */
static void ring_flush(void *ctx, int64_t now)
{
	struct ring *s = ctx;

	(void)now;
	xf_outbox_commit(s->ob);
	ring_buffer__consume(s->rb);
}

/* --- frames: encoded qnames, many client x domain flows --- */

static int frames_build(struct frame *fr, int client_base)
{
	static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
	uint64_t rng = 0x13198a2e03707344ULL;
	uint8_t dns[512];
	char name[300];

	for (int i = 0; i < RING_FRAMES; i++) {
		struct pkt_spec sp = { .sport = (uint16_t)(20000 + i % 40000), .dport = 53 };
		int c = client_base + i % RING_CLIENTS, d = (i / RING_CLIENTS) % RING_DOMAINS,
		    n = 0;
		int l1 = 20 + (int)(rng_next(&rng) % 40), l2 = 10 + (int)(rng_next(&rng) % 30);

		sp.src[0] = 10;
		sp.src[1] = 1;
		sp.src[2] = (uint8_t)(c >> 8);
		sp.src[3] = (uint8_t)c;
		sp.dst[0] = 10;
		sp.dst[3] = 53;
		for (int k = 0; k < l1; k++)
			name[n++] = b32[rng_next(&rng) & 31];
		name[n++] = '.';
		for (int k = 0; k < l2; k++)
			name[n++] = b32[rng_next(&rng) & 31];
		n += snprintf(name + n, sizeof(name) - (size_t)n, ".t.tun%02d.test", d);
		sp.payload = dns;
		sp.plen = pkt_dns_query(dns, (uint16_t)i, name, i % 3 ? 16 : 10, 0);
		fr[i].len = (uint16_t)pkt_build(fr[i].d, sizeof(fr[i].d), &sp);
		if (!fr[i].len)
			return -1;
	}
	return 0;
}

/* --- the producer thread --- */

struct producer {
	int prog_fd;
	const struct frame *fr;
	double rate; /* packets/s; 0 = as fast as it goes */
	int64_t dur_ns;
	long sent;
	int64_t t0, t1;
	int err;
	atomic_int done;
};

static void *producer_main(void *arg)
{
	static unsigned int idx;
	struct producer *p = arg;
	int64_t now;

	p->t0 = now_ns();
	while (!g_stop && (now = now_ns()) - p->t0 < p->dur_ns) {
		const struct frame *f = &p->fr[idx++ % RING_FRAMES];
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->d, .data_size_in = f->len,
			    .repeat = RING_BURST);

		if (p->rate > 0) {
			/* ahead of the schedule by more than 200 us: sleep it off */
			int64_t due = p->t0 + (int64_t)((double)p->sent * 1e9 / p->rate);

			if (due - now > 200000) {
				struct timespec ts = { (due - now) / 1000000000LL,
						       (due - now) % 1000000000LL };

				nanosleep(&ts, NULL);
			}
		}
		if (bpf_prog_test_run_opts(p->prog_fd, &o)) {
			p->err = -errno;
			break;
		}
		p->sent += RING_BURST;
	}
	p->t1 = now_ns();
	atomic_store(&p->done, 1);
	return NULL;
}

static int stats_sum(struct ring *s, __u64 *events, __u64 *full)
{
	__u64 *v = calloc((size_t)s->ncpus, sizeof(__u64) * XF_STATS_LEN);
	__u32 zero = 0;
	int err = -ENOMEM;

	*events = *full = 0;
	if (v && !(err = bpf_map_lookup_elem(s->stats_fd, &zero, v) ? -errno : 0)) {
		for (int c = 0; c < s->ncpus; c++) {
			*events += v[c * XF_STATS_LEN + XF_S_EVENTS];
			*full += v[c * XF_STATS_LEN + XF_S_RING_FULL];
		}
	}
	free(v);
	return err;
}

struct step {
	const char *label;
	double target, produced, consumed, cpu_us;
	uint64_t full, emitted, events, alerts;
	int64_t merge_max, slice_max, flush_max;
};

/*
 * One paced step: the producer thread runs for dur_ns while this thread runs
 * sensor.c's loop: epoll on the ring and a flush_ms timer, then
 * xf_loop_wake() (loop.c: consume, the next slice of a tick, a tick every
 * tick_ms, a flush every flush_ms), until the producer is done, the ring is
 * empty and no slice is left.
 */
static int ring_step(struct ring *s, const struct frame *fr, double rate, int64_t dur_ns,
		     struct step *out)
{
	struct producer p = { .prog_fd = s->prog_fd, .fr = fr, .rate = rate, .dur_ns = dur_ns };
	struct itimerspec its = { 0 };
	struct epoll_event ee = { .events = EPOLLIN }, evs[4];
	__u64 ev0, full0, ev1, full1;
	uint64_t events0 = s->events, alerts0 = s->p.alerts + s->p.alert_updates;
	int64_t cpu0, t_end;
	int tfd, epfd, rc = -1;
	pthread_t th;

	s->loop.merge_max_ns = s->loop.slice_max_ns = s->loop.flush_max_ns = 0;
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	its.it_interval.tv_nsec = (long)s->cfg->flush_ms * 1000000L;
	its.it_value = its.it_interval;
	ee.data.fd = tfd;
	if (tfd < 0 || epfd < 0 || timerfd_settime(tfd, 0, &its, NULL) ||
	    epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &ee))
		goto out;
	ee.data.fd = ring_buffer__epoll_fd(s->rb);
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, ee.data.fd, &ee) || stats_sum(s, &ev0, &full0))
		goto out;
	cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	xf_loop_start(&s->loop, now_ns());
	if (pthread_create(&th, NULL, producer_main, &p))
		goto out;
	for (;;) {
		int n = epoll_wait(epfd, evs, 4, xf_loop_timeout_ms(&s->loop)), got;
		uint64_t exp;

		if (n < 0 && errno != EINTR)
			break;
		if (read(tfd, &exp, sizeof(exp)) < 0 && errno != EAGAIN)
			break;
		got = xf_loop_wake(&s->loop, now_ns());
		if (atomic_load(&p.done) && got <= 0 && !s->loop.tick_left && !s->loop.merging &&
		    ring_buffer__consume(s->rb) <= 0)
			break;
	}
	t_end = now_ns();
	pthread_join(th, NULL);
	if (p.err) {
		fprintf(stderr, "bench_sensor: BPF_PROG_TEST_RUN: %s\n", strerror(-p.err));
		goto out;
	}
	if (stats_sum(s, &ev1, &full1))
		goto out;
	out->target = rate;
	out->produced = (double)p.sent * 1e9 / (double)(p.t1 - p.t0);
	out->events = s->events - events0;
	out->consumed = (double)out->events * 1e9 / (double)(t_end - p.t0);
	out->cpu_us = out->events ? (double)(clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0) / 1e3 /
					    (double)out->events
				  : 0;
	out->emitted = ev1 - ev0;
	out->full = full1 - full0;
	out->alerts = s->p.alerts + s->p.alert_updates - alerts0;
	out->merge_max = s->loop.merge_max_ns;
	out->slice_max = s->loop.slice_max_ns;
	out->flush_max = s->loop.flush_max_ns;
	rc = 0;
out:
	if (tfd >= 0)
		close(tfd);
	if (epfd >= 0)
		close(epfd);
	return rc;
}

static void ring_teardown(struct ring *s)
{
	if (!s)
		return;
	if (s->rb)
		ring_buffer__free(s->rb);
	if (s->ob)
		xf_outbox_close(s->ob);
	if (*s->dbdir)
		dir_remove(s->dbdir);
	if (s->l.skel)
		xf_loader__destroy(&s->l, 0);
	/* whatever is left (a load that failed half way): unpin it by hand */
	dir_remove(s->pin_dir);
	xf_pipe_free(&s->p);
	xf_kmerge_free(&s->km);
	free(s->cap);
	free(s->cfg);
	free(s);
}

/* Pins a killed run (SIGKILL) could not remove: xf-bench-PID of a PID that is gone. */
static void stale_pins_remove(void)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d = opendir("/sys/fs/bpf");
	int pid;

	while (d && (e = readdir(d))) {
		/* skip names not ours and processes still alive (EPERM: alive too) */
		if (sscanf(e->d_name, "xf-bench-%d", &pid) != 1 || pid <= 0 || !kill(pid, 0) ||
		    errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "/sys/fs/bpf/%s", e->d_name);
		dir_remove(path);
	}
	if (d)
		closedir(d);
}

static struct ring *ring_setup(void)
{
	struct ring *s = calloc(1, sizeof(*s));
	char err[512], path[PATH_MAX + 16];

	if (!s || !(s->cfg = calloc(1, sizeof(*s->cfg))))
		goto fail;
	stale_pins_remove();
	xf_sensor_cfg_defaults(s->cfg);
	s->cfg->kernel.flags |= XF_CF_EVENTS_ALL;
	snprintf(s->pin_dir, sizeof(s->pin_dir), "/sys/fs/bpf/xf-bench-%d", (int)getpid());
	s->ncpus = libbpf_num_possible_cpus();
	s->cap = calloc(CAPTURE_MAX, sizeof(*s->cap));
	if (s->ncpus <= 0 || !s->cap)
		goto fail;
	if (xf_pipe_init(&s->p, s->cfg, &ring_ops, s, err, sizeof(err))) {
		fprintf(stderr, "bench_sensor: %s\n", err);
		goto fail;
	}
	snprintf(s->p.host, sizeof(s->p.host), "bench-sensor");
	if (tmpdir_make(s->dbdir, sizeof(s->dbdir)))
		goto fail;
	snprintf(path, sizeof(path), "%s/alerts.db", s->dbdir);
	s->ob = xf_outbox_open(path, NULL, 0, s->cfg->memory_max, err, sizeof(err));
	if (!s->ob) {
		fprintf(stderr, "bench_sensor: %s\n", err);
		goto fail;
	}
	/* as sensor.c: commits on the outbox's writer thread */
	if (!g_store_inline && xf_outbox_writer_start(s->ob))
		goto fail;
	if (xf_loader__open_load(&s->l, s->pin_dir, &s->cfg->kernel))
		goto fail;
	s->p.mode = s->cfg->mode;
	s->flows_fd = bpf_map__fd(s->l.skel->maps.xf_flows);
	if (xf_kmerge_init(&s->km, s->flows_fd))
		goto fail;
	s->config_fd = bpf_map__fd(s->l.skel->maps.xf_config);
	s->stats_fd = bpf_map__fd(s->l.skel->maps.xf_stats);
	s->prog_fd = bpf_program__fd(s->l.skel->progs.xf_tc_ingress);
	s->rb = ring_buffer__new(bpf_map__fd(s->l.skel->maps.xf_events), ring_event, s, NULL);
	if (!s->rb)
		goto fail;
	s->mono_to_wall_ns = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC);
	s->loop = (struct xf_loop){
		.p = &s->p,
		.rb = s->rb,
		.km = &s->km,
		.config_fd = s->config_fd,
		.verdicts_fd = bpf_map__fd(s->l.skel->maps.xf_verdicts),
		.ipblock_fd = bpf_map__fd(s->l.skel->maps.xf_ipblock),
		.tick_ms = s->cfg->tick_ms,
		.flush_ms = s->cfg->flush_ms,
		.batch = s->cfg->batch,
		.flush = ring_flush,
		.ctx = s,
	};
	return s;
fail:
	fprintf(stderr, "bench_sensor: failed to set up the ring buffer bench: %s\n",
		strerror(errno));
	ring_teardown(s);
	return NULL;
}

/* --- where one event's userspace time goes, on events captured from the ring --- */

struct stage_ns {
	double decode, psl, psl_raw, observe, on_event, timer;
	struct xf_rd_stats rd; /* the cache over the timed passes */
};

static struct xf_ft *fresh_table(const struct ring *s)
{
	struct xf_ft_cfg fc = { .max_flows = s->cfg->max_flows,
				.max_details = s->cfg->max_flows / 16 + 1024,
				.window_s = s->cfg->window_s };

	return xf_ft_new(&fc);
}

/* One pass of on_event's steps over the captured events, each step timed. */
static void stages_pass(const struct ring *s, struct xf_ft *ft, double *ns)
{
	int64_t sum[4] = { 0 };

	for (size_t i = 0; i < s->ncap; i++) {
		const struct xf_event *ev = &s->cap[i];
		char name[XF_NAME_MAX * 4 + 1], lname[sizeof(name)], rdbuf[256], rdraw[256];
		struct xf_obs o = { 0 };
		int64_t a = now_ns(), b, c, d, e, f;
		const char *raw;
		int r = xf_wire_to_text(ev->name,
					ev->name_len < XF_NAME_MAX ? ev->name_len : XF_NAME_MAX, 0,
					name, sizeof(name));

		if (r <= 0)
			continue;
		for (int k = 0; k <= r; k++)
			lname[k] =
				(char)(name[k] >= 'A' && name[k] <= 'Z' ? name[k] + 32 : name[k]);
		b = now_ns();
		o.domain = xf_registered_domain(lname, rdbuf, sizeof(rdbuf));
		c = now_ns();
		/* libpsl alone, for the comparison: the same answer, never cached */
		raw = xf_registered_domain_psl(lname, rdraw, sizeof(rdraw));
		e = now_ns();
		if (strcmp(raw, o.domain))
			fprintf(stderr, "bench_sensor: %s: libpsl %s, cache %s\n", lname, raw,
				o.domain);
		f = now_ns();
		o.client = ev->saddr;
		o.server = ev->daddr;
		o.kernel_rd = ev->feat.rd_hash;
		o.name = name;
		o.feat = &ev->feat;
		o.now_s = (uint32_t)(((int64_t)ev->ts_ns + s->mono_to_wall_ns) / 1000000000LL);
		o.long_qname = s->cfg->kernel.long_qname;
		o.kind = ev->kind;
		o.kaction = ev->action;
		o.kreason = ev->reason;
		xf_ft_observe(ft, &o);
		d = now_ns();
		sum[0] += b - a;
		sum[1] += c - b;
		sum[2] += d - f;
		sum[3] += e - c;
	}
	for (int k = 0; k < 4; k++)
		ns[k] = (double)sum[k] / (double)s->ncap;
}

/* Each run: a fresh table, one warm pass (flows created), one timed pass. */
static int stages_measure(struct ring *s, struct stage_ns *out)
{
	double st[4][RUNS_MAX], all[RUNS_MAX], ns[4];
	struct xf_rd_stats rd0, rd1;
	int64_t t0 = now_ns();

	if (!s->ncap)
		return -1;
	for (int k = 0; k < 100000; k++)
		now_ns();
	out->timer = (double)(now_ns() - t0) / 1e5;
	xf_rd_stats(&rd0);
	for (int r = 0; r < g_runs; r++) {
		struct ring t = *s;
		struct xf_ft *ft = fresh_table(s);

		if (!ft)
			return -1;
		stages_pass(s, ft, ns);
		stages_pass(s, ft, ns);
		for (int k = 0; k < 4; k++)
			st[k][r] = ns[k];
		xf_ft_free(ft);
		/* the sensor's on_event on a copy of the pipeline with a fresh
		 * table (and no first-seen times, which are the real one's) */
		t.capture = 0;
		t.p.first = NULL;
		if (!(t.p.ft = fresh_table(s)))
			return -1;
		for (int pass = 0; pass < 2; pass++) {
			t0 = now_ns();
			for (size_t i = 0; i < s->ncap; i++)
				ring_event(&t, &s->cap[i], sizeof(s->cap[i]));
			all[r] = (double)(now_ns() - t0) / (double)s->ncap;
		}
		xf_ft_free(t.p.ft);
	}
	out->decode = median(st[0], g_runs);
	out->psl = median(st[1], g_runs);
	out->observe = median(st[2], g_runs);
	out->psl_raw = median(st[3], g_runs);
	xf_rd_stats(&rd1);
	out->rd = rd1;
	out->rd.hits -= rd0.hits;
	out->rd.misses -= rd0.misses;
	out->rd.direct -= rd0.direct;
	out->on_event = median(all, g_runs);
	return 0;
}

static void ring_print(const struct step *st, int n, const struct stage_ns *sg, double best,
		       double best_consumed, double burst_best, const struct ring *s)
{
	section("4. Ring buffer -> flow table -> stored alerts");
	note("real TC object (xf_loader__open_load, pins under /sys/fs/bpf/xf-bench-PID, removed "
	     "at exit), config = sensor defaults + XF_CF_EVENTS_ALL, monitor mode; one producer "
	     "thread runs BPF_PROG_TEST_RUN on %d DNS query frames (2 encoded labels of 20-59 and "
	     "10-39 base32 chars, %d clients x %d domains = %d flows), %d identical packets per "
	     "call, paced to the offered rate for %.0f s per step",
	     RING_FRAMES, RING_CLIENTS, RING_DOMAINS, RING_CLIENTS * RING_DOMAINS, RING_BURST,
	     RING_STEP_NS / 1e9);
	note("consumer = this thread running the sensor's own loop code: epoll on the ring fd + "
	     "a %u ms timerfd, then xf_loop_wake() (sensor/loop.c, as sensor.c calls it): "
	     "ring_buffer__consume -> xf_event_obs -> xf_pipe_observe; then the next step of a "
	     "tick "
	     "in progress: merge of the kernel's per-CPU flows (xf_kmerge_step, %d x 1024 flows), "
	     "then slices of at most %d flows (xf_pipe_tick_budget: score, alert, "
	     "xf_outbox_put); every %u ms a tick starts (config read, first merge step); every "
	     "%u ms or %u alerts a flush (xf_outbox_commit; no sinks) %s. The 1 MiB ring holds "
	     "about %zu events of %zu B",
	     s->cfg->flush_ms, XF_LOOP_MERGE_BATCHES, XF_LOOP_SLICE, s->cfg->tick_ms,
	     s->cfg->flush_ms, s->cfg->batch,
	     g_store_inline ? "running the commit on the loop thread (--store-inline: as before "
			      "the writer thread)"
			    : "handing the batch to the outbox's writer thread, which commits it "
			      "on its own connection (as sensor.c; its CPU is not in the consumer "
			      "column)",
	     (size_t)(1 << 20) / (sizeof(struct xf_event) + 8), sizeof(struct xf_event));
	HEAD("offered (events/s)", "produced/s", "consumed/s", "ring_full", "consumer CPU us/ev",
	     "new alerts+updates", "max merge step ms", "max slice ms", "max flush ms");
	for (int i = 0; i < n; i++)
		ROW(st[i].label	       ? cell("%.0f, %s", st[i].target, st[i].label)
		    : st[i].target > 0 ? cell("%.0f", st[i].target)
				       : "unpaced (producer max)",
		    cell("%.0f", st[i].produced), cell("%.0f", st[i].consumed),
		    cell("%llu", (unsigned long long)st[i].full), cell("%.2f", st[i].cpu_us),
		    cell("%llu", (unsigned long long)st[i].alerts),
		    cell("%.1f", (double)st[i].merge_max / 1e6),
		    cell("%.1f", (double)st[i].slice_max / 1e6),
		    cell("%.1f", (double)st[i].flush_max / 1e6));
	if (best > 0)
		note("steady state (flows already alerted in this window): highest paced rate with "
		     "zero ring_full: %.0f events/s offered, %.0f/s consumed",
		     best, best_consumed);
	else
		note("steady state: no paced rate ran without ring_full");
	if (burst_best > 0)
		note("alert bursts (%d new flows raising their first alert in one tick): highest "
		     "rate with zero ring_full: %.0f events/s offered",
		     RING_CLIENTS * RING_DOMAINS, burst_best);
	else
		note("alert bursts: no rate ran without ring_full");
	{
		const struct xf_loop *L = &s->loop;
		double t = L->ticks ? (double)L->ticks : 1;

		note("whole section: %llu events, %llu bad, %llu alerts + %llu updates stored, "
		     "%llu "
		     "ticks (merge mean %.1f ms in all for %.0f kernel flows), %llu slices (mean "
		     "%.1f ms), "
		     "%llu flushes (mean %.2f ms)",
		     (unsigned long long)s->events, (unsigned long long)s->bad_events,
		     (unsigned long long)s->p.alerts, (unsigned long long)s->p.alert_updates,
		     (unsigned long long)L->ticks, (double)L->merge_ns / 1e6 / t,
		     (double)L->merged / t, (unsigned long long)L->slices,
		     L->slices ? (double)L->score_ns / 1e6 / (double)L->slices : 0,
		     (unsigned long long)L->flushes,
		     L->flushes ? (double)L->flush_ns / 1e6 / (double)L->flushes : 0);
	}
	{
		struct xf_outbox_stats os;

		xf_outbox_flush(s->ob);
		xf_outbox_stats(s->ob, &os);
		note("store after a final xf_outbox_flush: %llu rows stored in %llu commits, %llu "
		     "lost, %llu commit errors, %llu still queued",
		     (unsigned long long)os.stored, (unsigned long long)os.commits,
		     (unsigned long long)os.lost, (unsigned long long)os.commit_errors,
		     (unsigned long long)os.queued);
	}
	if (!sg)
		return;
	HEAD("on_event stage (events captured from the ring)", "ns/event", "share");
	ROW("xf_wire_to_text + lower-case", cell("%.0f", sg->decode),
	    cell("%.0f%%", 100 * sg->decode / (sg->decode + sg->psl + sg->observe)));
	ROW("xf_registered_domain (libpsl behind the cache)", cell("%.0f", sg->psl),
	    cell("%.0f%%", 100 * sg->psl / (sg->decode + sg->psl + sg->observe)));
	ROW("for comparison: libpsl alone (xf_registered_domain_psl)", cell("%.0f", sg->psl_raw),
	    "-");
	ROW("xf_ft_observe (warm table)", cell("%.0f", sg->observe),
	    cell("%.0f%%", 100 * sg->observe / (sg->decode + sg->psl + sg->observe)));
	ROW("whole on_event, untimed inside (warm table)", cell("%.0f", sg->on_event), "-");
	note("%zu events captured during the warm-up step, replayed in userspace on a fresh "
	     "table (one warm pass, one timed); each stage includes about %.0f ns of clock "
	     "reading; median of %d runs",
	     s->ncap, sg->timer, g_runs);
	note("registered-domain cache over these passes: %llu hits, %llu misses, %llu names "
	     "answered by libpsl whole; the cache is %s",
	     (unsigned long long)sg->rd.hits, (unsigned long long)sg->rd.misses,
	     (unsigned long long)sg->rd.direct,
	     sg->rd.cache ? "on" : "OFF (no public_suffix_list.dat)");
}

#define RING_RATES 7
#define RING_BURSTS 5

/* The steady-state ladder, then two bisection steps between clean and full. */
static int ring_ladder(struct ring *s, const struct frame *fr, struct step *st, int *n, double *lo,
		       double *lo_consumed)
{
	static const double rates[RING_RATES] = {
		50000, 100000, 150000, 200000, 300000, 400000, 0
	};
	double hi = 0;

	for (int i = 0; i < RING_RATES && !g_stop; i++) {
		if (ring_step(s, fr, rates[i], RING_STEP_NS, &st[*n]))
			return -1;
		if (rates[i] > 0 && st[*n].full && (!hi || rates[i] < hi))
			hi = rates[i];
		if (rates[i] > 0 && !st[*n].full && (!hi || rates[i] < hi) && rates[i] > *lo) {
			*lo = rates[i];
			*lo_consumed = st[*n].consumed;
		}
		(*n)++;
	}
	for (int k = 0; k < 2 && hi > *lo + 10000 && !g_stop; k++) {
		double mid = (double)((long)((*lo + hi) / 2 / 10000) * 10000);

		if (ring_step(s, fr, mid, RING_STEP_NS, &st[*n]))
			return -1;
		if (!st[*n].full) {
			*lo = mid;
			*lo_consumed = st[*n].consumed;
		} else {
			hi = mid;
		}
		(*n)++;
	}
	return 0;
}

static int bench_ring(void)
{
	static char burst_label[64];
	static const double burst_rates[RING_BURSTS] = { 50000, 100000, 150000, 200000, 250000 };
	struct step st[RING_RATES + 4 + RING_BURSTS] = { 0 };
	struct stage_ns sg;
	double lo = 0, lo_consumed = 0, burst_best = 0;
	struct frame *fr = calloc(RING_FRAMES, sizeof(*fr));
	struct frame *fresh = calloc(RING_FRAMES, sizeof(*fresh));
	struct ring *s = NULL;
	int n = 0, rc = -1;

	snprintf(burst_label, sizeof(burst_label), "alert burst: %d new flows",
		 RING_CLIENTS * RING_DOMAINS);
	if (!fr || !fresh || frames_build(fr, 0) || !(s = ring_setup()))
		goto out;
	/* warm-up: more than one pass over the frames and three ticks, so every flow
	 * has raised its first alert; events captured for the stage breakdown */
	s->capture = 1;
	if (ring_step(s, fr, 50000, 3500000000LL, &st[n]))
		goto out;
	st[n++].label = "warm-up: first alerts of the flows";
	s->capture = 0;
	if (ring_ladder(s, fr, st, &n, &lo, &lo_consumed))
		goto out;
	/* the same rates, but new clients each time: every flow of the step
	 * raises its first alert at once, a burst of RING_CLIENTS x RING_DOMAINS */
	for (int i = 0; i < RING_BURSTS && !g_stop; i++) {
		if (frames_build(fresh, RING_CLIENTS * (i + 1)) ||
		    ring_step(s, fresh, burst_rates[i], RING_STEP_NS, &st[n]))
			goto out;
		st[n].label = burst_label;
		if (!st[n].full && burst_rates[i] > burst_best)
			burst_best = burst_rates[i];
		n++;
	}
	ring_print(st, n, stages_measure(s, &sg) ? NULL : &sg, lo, lo_consumed, burst_best, s);
	rc = 0;
out:
	ring_teardown(s);
	free(fr);
	free(fresh);
	return rc;
}

/* ==================================================================== */

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static void header(int argc, char **argv)
{
	char cpu[256] = "unknown", line[512], date[64];
	struct statfs sfs;
	struct sysinfo si;
	struct utsname un;
	time_t now = time(NULL);
	FILE *f = fopen("/proc/cpuinfo", "r");

	while (f && fgets(line, sizeof(line), f)) {
		char *c = strchr(line, ':');

		if (c && !strncmp(line, "model name", 10)) {
			c[strcspn(c, "\n")] = 0;
			snprintf(cpu, sizeof(cpu), "%s", c + 2);
			break;
		}
	}
	if (f)
		fclose(f);
	uname(&un);
	sysinfo(&si);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S %Z", localtime(&now));
	printf(g_md ? "- command: `" : "# command: ");
	for (int i = 0; i < argc; i++)
		printf("%s%s", i ? " " : "", argv[i]);
	printf(g_md ? "`\n" : "\n");
	note("date: %s", date);
	note("kernel: %s (uname -r); cpu: %s, %ld online; memory: %.1f GiB", un.release, cpu,
	     sysconf(_SC_NPROCESSORS_ONLN), (double)si.totalram * si.mem_unit / 1073741824.0);
	note("libraries: SQLite %s, librdkafka %s; temp dir %s on %s", sqlite3_libversion(),
	     rd_kafka_version_str(), tmp_base(),
	     !statfs(tmp_base(), &sfs) ? (sfs.f_type == 0x01021994 ? "tmpfs"
					  : sfs.f_type == 0xEF53   ? "ext2/3/4"
								   : "another file system")
				       : "?");
	note("runs: median of %d; the machine is shared: compare ratios within this run", g_runs);
	fflush(stdout);
}

static int parse_only(const char *arg)
{
	static const struct {
		const char *name;
		int bit;
	} names[] = { { "outbox", S_OUTBOX },
		      { "kafka", S_KAFKA },
		      { "flows", S_FLOWS },
		      { "ring", S_RING } };
	char buf[128], *tok, *save;
	int mask = 0;

	snprintf(buf, sizeof(buf), "%s", arg);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int bit = 0;

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (!strcmp(tok, names[i].name))
				bit = names[i].bit;
		if (!bit)
			return -1;
		mask |= bit;
	}
	return mask;
}

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [--markdown] [--runs N] [--only outbox,kafka,flows,ring] "
		"[--store-inline] [--alerts N]\n",
		argv0);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct alert_set alerts = { 0 };
	int only = S_OUTBOX | S_KAFKA | S_FLOWS | S_RING, err = 0;
	int64_t t0 = now_ns();

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--markdown")) {
			g_md = 1;
		} else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
			char *end;
			long v = strtol(argv[++i], &end, 10);

			if (*end || v < 1 || v > RUNS_MAX) {
				fprintf(stderr, "bench_sensor: --runs wants 1..%d\n", RUNS_MAX);
				return 2;
			}
			g_runs = (int)v;
		} else if (!strcmp(argv[i], "--alerts") && i + 1 < argc) {
			char *end;
			long v = strtol(argv[++i], &end, 10);

			if (*end || v < 1000 || v > 2000000) {
				fprintf(stderr, "bench_sensor: --alerts wants 1000..2000000\n");
				return 2;
			}
			g_alerts = (size_t)v;
		} else if (!strcmp(argv[i], "--store-inline")) {
			g_store_inline = 1;
		} else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
			only = parse_only(argv[++i]);
			if (only < 0) {
				usage(argv[0]);
				return 2;
			}
		} else {
			usage(argv[0]);
			return 2;
		}
	}
	if ((only & S_RING) && geteuid() != 0) {
		fprintf(stderr,
			"bench_sensor: the ring section loads BPF programs and needs root "
			"(sudo %s, or --only outbox,kafka,flows)\n",
			argv[0]);
		return 1;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	header(argc, argv);
	/* memory first, in children, before this process's heap has a history;
	 * printed in its place */
	if ((only & S_FLOWS) && flows_measure())
		err = 1;
	if ((only & (S_OUTBOX | S_KAFKA)) && alerts_build(&alerts, g_alerts))
		err = 1;
	if (!err && (only & S_OUTBOX) && !g_stop && bench_outbox(&alerts))
		err = 1;
	if (!err && (only & S_KAFKA) && !g_stop && bench_kafka(&alerts))
		err = 1;
	if (!err && (only & S_FLOWS))
		flows_print();
	if (!err && (only & S_RING) && !g_stop && bench_ring())
		err = 1;
	alerts_free(&alerts);
	printf("\n");
	note("whole run: %.1f s%s", (double)(now_ns() - t0) / 1e9, g_stop ? " (interrupted)" : "");
	return err || g_stop;
}
