// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_outbox.c - the SQLite outbox on real files in a fresh /tmp directory
 * per test: persistence across reopen and crash, per-sink export state,
 * replacement of an alert by id, refusal of foreign, damaged and newer
 * files, schemas/sqlite.sql against the SQL the code runs, hold-and-retry
 * when commits fail, query filters, file mode, and a printed throughput
 * figure (never asserted). Run from the repository root.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "outbox.h"

#define SEEN_MAX 256

struct fx {
	char dir[64];
	char path[128];
};

struct seen {
	int n;
	int stop_at; /* 0: visit all */
	int64_t seq[SEEN_MAX];
	uint32_t rev[SEEN_MAX];
	int64_t ts[SEEN_MAX];
	char id[SEEN_MAX][XF_ALERT_ID_LEN + 1];
	struct xf_alert_rec last;
	char last_json[2048];
};

static const char *const two_sinks[] = { "kafka", "jsonl" };

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/xf-outbox-XXXXXX");
	if (!mkdtemp(fx->dir)) {
		free(fx);
		return -1;
	}
	snprintf(fx->path, sizeof(fx->path), "%s/outbox.db", fx->dir);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	struct dirent *de;
	char p[512];
	DIR *d = opendir(fx->dir);

	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", fx->dir, de->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

static struct xf_outbox *open_ok(const char *path, const char *const *sinks, int nsinks,
				 size_t memory_max)
{
	char err[512] = "";
	struct xf_outbox *ob = xf_outbox_open(path, sinks, nsinks, memory_max, err, sizeof(err));

	if (!ob)
		fail_msg("open %s: %s", path, err);
	return ob;
}

/* Open must fail, and say which file and why. */
static void open_fails(const char *path, const char *why)
{
	char err[512] = "";
	struct xf_outbox *ob = xf_outbox_open(path, two_sinks, 2, 0, err, sizeof(err));

	if (ob) {
		xf_outbox_close(ob);
		fail_msg("open %s succeeded, wanted: %s", path, why);
	}
	print_message("refused as it should be: %s\n", err);
	assert_non_null(strstr(err, path));
	if (!strstr(err, why))
		fail_msg("error \"%s\" does not say \"%s\"", err, why);
}

static void rec_make(struct xf_alert_rec *r, unsigned int n, int64_t ts, const char *client,
		     const char *domain, const char *json)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->id, sizeof(r->id), "%032x", n);
	r->rev = 1;
	r->ts_ms = ts;
	snprintf(r->client, sizeof(r->client), "%s", client);
	snprintf(r->domain, sizeof(r->domain), "%s", domain);
	r->score = 50 + n % 50;
	snprintf(r->severity, sizeof(r->severity), "high");
	snprintf(r->action, sizeof(r->action), "alerted");
	r->json = json;
	r->json_len = strlen(json);
}

static int64_t put_simple(struct xf_outbox *ob, unsigned int n, uint32_t rev)
{
	struct xf_alert_rec r;
	int64_t seq;

	rec_make(&r, n, 1700000000000LL + n, "10.0.0.1", "example.com", "{\"x\":1}");
	r.rev = rev;
	seq = xf_outbox_put(ob, &r);
	assert_true(seq > 0);
	return seq;
}

static int collect(void *ctx, const struct xf_out_row *row)
{
	struct seen *s = ctx;

	assert_true(s->n < SEEN_MAX);
	s->seq[s->n] = row->seq;
	s->rev[s->n] = row->rec->rev;
	s->ts[s->n] = row->rec->ts_ms;
	memcpy(s->id[s->n], row->rec->id, sizeof(s->id[0]));
	s->last = *row->rec;
	snprintf(s->last_json, sizeof(s->last_json), "%.*s", (int)row->rec->json_len,
		 row->rec->json);
	s->n++;
	return s->stop_at && s->n >= s->stop_at;
}

static int pending(struct xf_outbox *ob, int sink, int64_t after, int max, struct seen *s)
{
	memset(s, 0, sizeof(*s));
	return xf_outbox_pending(ob, sink, after, max, collect, s);
}

static int query(struct xf_outbox *ob, int64_t since, const char *domain, const char *client,
		 int limit, struct seen *s)
{
	memset(s, 0, sizeof(*s));
	return xf_outbox_query(ob, since, domain, client, limit, collect, s);
}

static int64_t pragma_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int newest_version(void)
{
	int v = 1;

	while (xf_outbox_schema_sql(v + 1))
		v++;
	return v;
}

/* Run SQL on the file through a connection of the test's own. */
static void raw_exec(const char *path, const char *sql)
{
	sqlite3 *db;
	char *msg = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(db);
}

static void test_create_reopen(void **state)
{
	struct fx *fx = *state;
	struct xf_alert_rec r;
	struct xf_outbox *ob;
	struct seen s;
	int64_t seq[3];
	char *jm = NULL;
	sqlite3_stmt *st;
	int i;

	ob = open_ok(fx->path, two_sinks, 2, 0);
	for (i = 0; i < 3; i++) {
		rec_make(&r, i + 1, 1000 + i, "192.0.2.7", "tunnel.example", "{\"n\":\"three\"}");
		seq[i] = xf_outbox_put(ob, &r);
		assert_true(seq[i] > 0);
		if (i)
			assert_true(seq[i] > seq[i - 1]);
	}
	/* An uncommitted batch is invisible. */
	assert_int_equal(query(ob, 0, NULL, NULL, 0, &s), 0);
	assert_int_equal(xf_outbox_backlog(ob, 0), 0);
	/* Close commits what is still open. */
	xf_outbox_close(ob);

	ob = open_ok(fx->path, two_sinks, 2, 0);
	assert_int_equal(pragma_int(xf_outbox_db(ob), "PRAGMA user_version"), newest_version());
	assert_int_equal(pragma_int(xf_outbox_db(ob), "PRAGMA application_id"), 0x78666f62);
	assert_int_equal(sqlite3_prepare_v2(xf_outbox_db(ob), "PRAGMA journal_mode", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	jm = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	assert_string_equal(jm, "wal");
	free(jm);
	assert_int_equal(pragma_int(xf_outbox_db(ob), "PRAGMA synchronous"), 1); /* NORMAL */

	assert_int_equal(query(ob, 0, NULL, NULL, 0, &s), 3);
	for (i = 0; i < 3; i++)
		assert_int_equal(s.seq[i], seq[i]);
	assert_string_equal(s.last.id, "00000000000000000000000000000003");
	assert_int_equal(s.last.rev, 1);
	assert_int_equal(s.last.ts_ms, 1002);
	assert_string_equal(s.last.client, "192.0.2.7");
	assert_string_equal(s.last.domain, "tunnel.example");
	assert_true(s.last.score == 53.0);
	assert_string_equal(s.last.severity, "high");
	assert_string_equal(s.last.action, "alerted");
	assert_string_equal(s.last_json, "{\"n\":\"three\"}");
	assert_int_equal(xf_outbox_backlog(ob, 0), 3);
	assert_int_equal(xf_outbox_backlog(ob, 1), 3);
	/* seq keeps growing across a reopen: a late ack can never hit a new row. */
	assert_true(put_simple(ob, 9, 1) > seq[2]);
	xf_outbox_close(ob);
}

/* A new store gets 16 KiB pages; one made with SQLite's 4 KiB (the schema
 * file through sqlite3, or an exfilter before session 5) keeps them and
 * works; wal_autocheckpoint is 40 MiB of either. */
static void test_page_size(void **state)
{
	struct fx *fx = *state;
	char old_path[192], sql[16384];
	struct xf_outbox *ob;
	struct seen s;
	sqlite3 *db;
	int v, i;

	ob = open_ok(fx->path, two_sinks, 2, 0);
	assert_int_equal(pragma_int(xf_outbox_db(ob), "PRAGMA page_size"), 16384);
	assert_int_equal(pragma_int(xf_outbox_db(ob), "PRAGMA wal_autocheckpoint"), 2560);
	xf_outbox_close(ob);

	snprintf(old_path, sizeof(old_path), "%s/old.db", fx->dir);
	sql[0] = 0;
	for (v = 1; v <= newest_version(); v++)
		strncat(sql, xf_outbox_schema_sql(v), sizeof(sql) - strlen(sql) - 1);
	assert_int_equal(sqlite3_open(old_path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA page_size = 4096", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ob = open_ok(old_path, two_sinks, 2, 0);
	assert_int_equal(pragma_int(xf_outbox_db(ob), "PRAGMA page_size"), 4096);
	assert_int_equal(pragma_int(xf_outbox_db(ob), "PRAGMA wal_autocheckpoint"), 10240);
	for (i = 1; i <= 50; i++)
		put_simple(ob, (unsigned int)i, 1);
	assert_int_equal(xf_outbox_commit(ob), 0);
	assert_int_equal(query(ob, 0, NULL, NULL, 0, &s), 50);
	xf_outbox_close(ob);
}

static void test_sinks_independent(void **state)
{
	static const char *const reversed[] = { "jsonl", "kafka" };
	static const char *const three[] = { "kafka", "jsonl", "new" };
	struct fx *fx = *state;
	struct xf_outbox *ob;
	struct seen s;
	int64_t seq[10], last;
	int i;

	ob = open_ok(fx->path, two_sinks, 2, 0);
	for (i = 0; i < 10; i++)
		seq[i] = put_simple(ob, i + 1, 1);
	assert_int_equal(xf_outbox_commit(ob), 0);
	assert_int_equal(xf_outbox_backlog(ob, 0), 10);
	assert_int_equal(xf_outbox_backlog(ob, 1), 10);

	/* Paging with the sink's cursor. */
	assert_int_equal(pending(ob, 0, 0, 4, &s), 4);
	for (i = 0; i < 4; i++)
		assert_int_equal(s.seq[i], seq[i]);
	last = s.seq[3];
	assert_int_equal(pending(ob, 0, last, 4, &s), 4);
	assert_int_equal(s.seq[0], seq[4]);
	assert_int_equal(pending(ob, 0, seq[9], 4, &s), 0);
	/* fn stops the walk. */
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	assert_int_equal(xf_outbox_pending(ob, 0, 0, 0, collect, &s), 2);

	for (i = 0; i < 6; i++)
		assert_int_equal(xf_outbox_acked(ob, 0, seq[i]), 0);
	assert_int_equal(xf_outbox_backlog(ob, 0), 10); /* acks wait for the commit */
	assert_int_equal(xf_outbox_commit(ob), 0);
	assert_int_equal(xf_outbox_backlog(ob, 0), 4);
	assert_int_equal(xf_outbox_backlog(ob, 1), 10);
	assert_int_equal(pending(ob, 0, 0, 0, &s), 4);
	assert_int_equal(s.seq[0], seq[6]);
	assert_int_equal(pending(ob, 1, 0, 0, &s), 10);

	for (i = 0; i < 10; i++)
		assert_int_equal(xf_outbox_acked(ob, 1, seq[i]), 0);
	assert_int_equal(xf_outbox_commit(ob), 0);
	assert_int_equal(xf_outbox_backlog(ob, 1), 0);
	assert_int_equal(xf_outbox_backlog(ob, 0), 4);
	assert_int_equal(xf_outbox_acked(ob, 2, seq[0]), -EINVAL);
	assert_true(xf_outbox_backlog(ob, 2) < 0);
	xf_outbox_close(ob);

	/* State follows the sink's name, not its index. */
	ob = open_ok(fx->path, reversed, 2, 0);
	assert_int_equal(xf_outbox_backlog(ob, 0), 0);
	assert_int_equal(xf_outbox_backlog(ob, 1), 4);
	xf_outbox_close(ob);

	/* A new sink starts from now, and sees what comes next. */
	ob = open_ok(fx->path, three, 3, 0);
	assert_int_equal(xf_outbox_backlog(ob, 2), 0);
	put_simple(ob, 100, 1);
	assert_int_equal(xf_outbox_commit(ob), 0);
	assert_int_equal(xf_outbox_backlog(ob, 0), 5);
	assert_int_equal(xf_outbox_backlog(ob, 1), 1);
	assert_int_equal(xf_outbox_backlog(ob, 2), 1);
	xf_outbox_close(ob);
}

static void test_replace(void **state)
{
	struct fx *fx = *state;
	struct xf_outbox *ob;
	struct seen s;
	int64_t a1, b, a2, a3, c1, c2;

	ob = open_ok(fx->path, two_sinks, 2, 0);
	a1 = put_simple(ob, 0xa, 1);
	b = put_simple(ob, 0xb, 1);
	assert_int_equal(xf_outbox_commit(ob), 0);
	/* Sink 0 has a1 in flight when the alert is updated. */
	assert_int_equal(pending(ob, 0, 0, 1, &s), 1);
	assert_int_equal(s.seq[0], a1);
	a2 = put_simple(ob, 0xa, 2);
	assert_true(a2 > b);
	assert_int_equal(xf_outbox_commit(ob), 0);
	assert_int_equal(xf_outbox_acked(ob, 0, a1), 0);
	assert_int_equal(xf_outbox_commit(ob), 0);
	/* The late ack of a1 did not export a2. */
	assert_int_equal(xf_outbox_backlog(ob, 0), 2);
	assert_int_equal(pending(ob, 0, 0, 0, &s), 2);
	assert_int_equal(s.seq[0], b);
	assert_int_equal(s.seq[1], a2);
	assert_int_equal(s.rev[1], 2);
	assert_int_equal(xf_outbox_backlog(ob, 1), 2);
	/* One row per id. */
	assert_int_equal(query(ob, 0, NULL, NULL, 0, &s), 2);

	/* Exported, then updated: pending again. */
	assert_int_equal(xf_outbox_acked(ob, 1, a2), 0);
	assert_int_equal(xf_outbox_acked(ob, 1, b), 0);
	assert_int_equal(xf_outbox_commit(ob), 0);
	assert_int_equal(xf_outbox_backlog(ob, 1), 0);
	a3 = put_simple(ob, 0xa, 3);
	assert_int_equal(xf_outbox_commit(ob), 0);
	assert_int_equal(xf_outbox_backlog(ob, 1), 1);
	assert_int_equal(pending(ob, 1, 0, 0, &s), 1);
	assert_int_equal(s.seq[0], a3);
	assert_int_equal(s.rev[0], 3);
	assert_int_equal(xf_outbox_backlog(ob, 0), 2);

	/* Twice in one batch: the last one wins. */
	c1 = put_simple(ob, 0xc, 1);
	c2 = put_simple(ob, 0xc, 2);
	assert_true(c2 > c1);
	assert_int_equal(xf_outbox_commit(ob), 0);
	assert_int_equal(query(ob, 0, NULL, NULL, 0, &s), 3);
	assert_int_equal(pending(ob, 1, a3, 0, &s), 1);
	assert_int_equal(s.seq[0], c2);
	assert_int_equal(s.rev[0], 2);
	xf_outbox_close(ob);
}

/* The child dies without closing: committed acks stay, uncommitted ones do not. */
static void crash_child(const char *path)
{
	char err[512];
	struct xf_outbox *ob = xf_outbox_open(path, two_sinks, 2, 0, err, sizeof(err));
	struct xf_alert_rec r;
	int64_t i;

	if (!ob)
		_exit(2);
	rec_make(&r, 0, 1, "10.0.0.1", "example.com", "{}");
	for (i = 1; i <= 10; i++) {
		snprintf(r.id, sizeof(r.id), "%032llx", (unsigned long long)i);
		if (xf_outbox_put(ob, &r) != i)
			_exit(3);
	}
	if (xf_outbox_commit(ob))
		_exit(4);
	for (i = 1; i <= 3; i++)
		xf_outbox_acked(ob, 0, i);
	if (xf_outbox_commit(ob))
		_exit(5);
	xf_outbox_acked(ob, 0, 4);
	xf_outbox_acked(ob, 0, 5);
	snprintf(r.id, sizeof(r.id), "%032x", 11);
	xf_outbox_put(ob, &r);
	_exit(0);
}

static void test_crash_reopen(void **state)
{
	struct fx *fx = *state;
	struct xf_outbox *ob;
	struct seen s;
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid)
		crash_child(fx->path);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	ob = open_ok(fx->path, two_sinks, 2, 0);
	assert_int_equal(xf_outbox_backlog(ob, 0), 7);
	assert_int_equal(xf_outbox_backlog(ob, 1), 10);
	assert_int_equal(pending(ob, 0, 0, 0, &s), 7);
	assert_int_equal(s.seq[0], 4);
	assert_int_equal(s.seq[1], 5);
	assert_int_equal(query(ob, 0, NULL, NULL, 0, &s), 10);
	xf_outbox_close(ob);
}

static void write_file(const char *path, const void *buf, size_t len, off_t at)
{
	int fd = open(path, O_WRONLY | O_CREAT, 0600);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, buf, len, at), (ssize_t)len);
	close(fd);
}

static void make_outbox(const char *path, int rows)
{
	struct xf_outbox *ob = open_ok(path, two_sinks, 2, 0);
	int i;

	for (i = 0; i < rows; i++)
		put_simple(ob, i + 1, 1);
	assert_int_equal(xf_outbox_commit(ob), 0);
	xf_outbox_close(ob);
}

static void test_not_a_database(void **state)
{
	struct fx *fx = *state;
	char text[4096], back[4096];
	int fd;

	memset(text, 'x', sizeof(text));
	memcpy(text, "hello, these are notes, not a database\n", 39);
	write_file(fx->path, text, sizeof(text), 0);
	open_fails(fx->path, "file is not a database");
	/* and it was left as it was */
	fd = open(fx->path, O_RDONLY);
	assert_int_equal(read(fd, back, sizeof(back)), (ssize_t)sizeof(back));
	close(fd);
	assert_memory_equal(text, back, sizeof(text));
}

static void test_future_version(void **state)
{
	struct fx *fx = *state;

	make_outbox(fx->path, 1);
	raw_exec(fx->path, "PRAGMA user_version = 99");
	open_fails(fx->path, "schema version 99 is newer");
}

static void test_corrupt(void **state)
{
	struct fx *fx = *state;
	char junk[4096 - 100];

	/* A schema entry that no longer parses. */
	make_outbox(fx->path, 3);
	raw_exec(fx->path, "PRAGMA writable_schema = ON;"
			   "UPDATE sqlite_master SET sql = 'CREATE TABLE alerts (' "
			   "WHERE name = 'alerts'");
	open_fails(fx->path, "malformed database schema");
	teardown(state);
	assert_int_equal(setup(state), 0);
	fx = *state;

	/* Garbage over the schema page, behind an intact header. */
	make_outbox(fx->path, 3);
	memset(junk, 0xa5, sizeof(junk));
	write_file(fx->path, junk, sizeof(junk), 100);
	open_fails(fx->path, "malformed");
}

static void test_foreign_sqlite(void **state)
{
	struct fx *fx = *state;

	raw_exec(fx->path, "CREATE TABLE notes (t TEXT)");
	open_fails(fx->path, "not an exfilter outbox");
	unlink(fx->path);
	raw_exec(fx->path, "PRAGMA application_id = 1234");
	open_fails(fx->path, "not an exfilter outbox (application_id 0x4d2)");
}

/* Without comments, whitespace collapsed: what the SQL says, not how. */
static void sql_normalize(const char *in, char *out, size_t size)
{
	size_t n = 0;
	int space = 0;

	while (*in && n + 2 < size) {
		if (in[0] == '-' && in[1] == '-') {
			while (*in && *in != '\n')
				in++;
			continue;
		}
		if (isspace((unsigned char)*in)) {
			space = 1;
			in++;
			continue;
		}
		if (space && n)
			out[n++] = ' ';
		space = 0;
		out[n++] = *in++;
	}
	out[n] = 0;
}

static void schema_dump(sqlite3 *db, char *out, size_t size)
{
	char sql[4096];
	sqlite3_stmt *st;
	size_t n = 0;

	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT type, name, tbl_name, coalesce(sql, '') "
					    "FROM sqlite_master ORDER BY type, name",
					    -1, &st, NULL),
			 SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		sql_normalize((const char *)sqlite3_column_text(st, 3), sql, sizeof(sql));
		n += snprintf(out + n, size - n, "%s %s %s: %s\n", sqlite3_column_text(st, 0),
			      sqlite3_column_text(st, 1), sqlite3_column_text(st, 2), sql);
		assert_true(n < size);
	}
	sqlite3_finalize(st);
	n += snprintf(out + n, size - n, "user_version %lld application_id %lld\n",
		      (long long)pragma_int(db, "PRAGMA user_version"),
		      (long long)pragma_int(db, "PRAGMA application_id"));
	assert_true(n < size);
}

static void test_schema_file(void **state)
{
	static char file[65536], want[32768], got[32768], one[16384];
	static char dump_code[32768], dump_file[32768];
	struct fx *fx = *state;
	struct xf_outbox *ob;
	char path2[192];
	size_t n = 0, len;
	sqlite3 *db;
	FILE *f;
	int v;

	f = fopen("schemas/sqlite.sql", "r");
	if (!f)
		fail_msg("schemas/sqlite.sql: %s (run from the repository root)", strerror(errno));
	len = fread(file, 1, sizeof(file) - 1, f);
	fclose(f);
	file[len] = 0;
	sql_normalize(file, got, sizeof(got));

	assert_null(xf_outbox_schema_sql(0));
	for (v = 1; xf_outbox_schema_sql(v); v++) {
		sql_normalize(xf_outbox_schema_sql(v), one, sizeof(one));
		n += snprintf(want + n, sizeof(want) - n, "%s%s", n ? " " : "", one);
		assert_true(n < sizeof(want));
	}
	assert_string_equal(got, want);

	/* The documented file builds the same database, and the sensor takes it. */
	assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, file, NULL, NULL, NULL), SQLITE_OK);
	schema_dump(db, dump_file, sizeof(dump_file));
	sqlite3_close(db);
	snprintf(path2, sizeof(path2), "%s/code.db", fx->dir);
	ob = open_ok(path2, NULL, 0, 0);
	schema_dump(xf_outbox_db(ob), dump_code, sizeof(dump_code));
	xf_outbox_close(ob);
	assert_string_equal(dump_file, dump_code);
	ob = open_ok(fx->path, two_sinks, 2, 0);
	put_simple(ob, 1, 1);
	assert_int_equal(xf_outbox_commit(ob), 0);
	assert_int_equal(xf_outbox_backlog(ob, 1), 1);
	xf_outbox_close(ob);
}

static void put_range(struct xf_outbox *ob, unsigned int from, unsigned int to, int *ok,
		      int *nobufs)
{
	static char json[1024];
	struct xf_alert_rec r;
	int64_t seq;

	memset(json, 'j', sizeof(json) - 1);
	for (; from < to; from++) {
		rec_make(&r, from, from, "10.0.0.1", "example.com", json);
		seq = xf_outbox_put(ob, &r);
		if (seq > 0)
			(*ok)++;
		else if (seq == -ENOBUFS)
			(*nobufs)++;
		else
			fail_msg("put %u: %lld", from, (long long)seq);
	}
}

static void test_commit_failure(void **state)
{
	struct fx *fx = *state;
	struct xf_outbox_stats st;
	struct xf_outbox *ob;
	int ok = 0, nobufs = 0, i;
	struct seen s;
	sqlite3 *db;

	ob = open_ok(fx->path, two_sinks, 2, 64);
	db = xf_outbox_db(ob);
	put_range(ob, 1, 21, &ok, &nobufs);
	assert_int_equal(xf_outbox_commit(ob), 0);

	/* Disk full: no page beyond what the file has now. */
	assert_int_equal(sqlite3_exec(db, "PRAGMA max_page_count = 1", NULL, NULL, NULL),
			 SQLITE_OK);
	put_range(ob, 21, 61, &ok, &nobufs);
	assert_int_equal(xf_outbox_commit(ob), -ENOSPC);
	assert_non_null(strstr(xf_outbox_errmsg(ob), "full"));
	xf_outbox_stats(ob, &st);
	assert_int_equal(st.commit_errors, 1);
	assert_int_equal(st.held, 40);
	assert_int_equal(st.stored, 20);
	assert_int_equal(st.lost, 0);
	assert_int_equal(xf_outbox_backlog(ob, 0), 20);

	/* Past memory_max (64 rows), the newest are dropped and counted. */
	put_range(ob, 61, 91, &ok, &nobufs);
	assert_int_equal(nobufs, 6);
	assert_int_equal(xf_outbox_commit(ob), -ENOSPC);
	xf_outbox_stats(ob, &st);
	assert_int_equal(st.commit_errors, 2);
	assert_int_equal(st.held, 64);
	assert_int_equal(st.lost, 6);

	/* Room again: the held rows land on the next commit. */
	assert_int_equal(sqlite3_exec(db, "PRAGMA max_page_count = 1000000", NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(xf_outbox_commit(ob), 0);
	xf_outbox_stats(ob, &st);
	assert_int_equal(st.stored, 84);
	assert_int_equal(st.held, 0);
	assert_int_equal(xf_outbox_backlog(ob, 0), 84);
	assert_int_equal(xf_outbox_backlog(ob, 1), 84);
	assert_int_equal(query(ob, 0, NULL, NULL, 0, &s), 84);
	for (i = 0; i < 84; i++)
		assert_int_equal(s.ts[i], i + 1); /* 1..84 landed, 85..90 lost */

	/* Read-only: acks are held and retried as well. */
	for (i = 0; i < 10; i++)
		assert_int_equal(xf_outbox_acked(ob, 0, s.seq[i]), 0);
	assert_int_equal(sqlite3_exec(db, "PRAGMA query_only = 1", NULL, NULL, NULL), SQLITE_OK);
	put_range(ob, 100, 105, &ok, &nobufs);
	assert_int_equal(xf_outbox_commit(ob), -EROFS);
	assert_int_equal(xf_outbox_backlog(ob, 0), 84);
	xf_outbox_stats(ob, &st);
	assert_int_equal(st.commit_errors, 3);
	assert_int_equal(st.held, 5);
	assert_int_equal(sqlite3_exec(db, "PRAGMA query_only = 0", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(xf_outbox_commit(ob), 0);
	assert_int_equal(xf_outbox_backlog(ob, 0), 84 + 5 - 10);
	assert_int_equal(xf_outbox_backlog(ob, 1), 84 + 5);
	xf_outbox_stats(ob, &st);
	assert_int_equal(st.stored, 89);
	assert_int_equal(st.lost, 6);
	xf_outbox_close(ob);
}

/* A store written by schema 1 (UNIQUE id) keeps its rows, seqs and export
 * state through migration 2, and dedup by id still holds on it. */
static void test_migrate_v1(void **state)
{
	struct fx *fx = *state;
	struct xf_alert_rec r;
	struct xf_outbox *ob;
	struct seen s;
	sqlite3_stmt *st;
	sqlite3 *db;
	int rows = 0;

	assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, xf_outbox_schema_sql(1), NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(
		sqlite3_exec(db,
			     "INSERT INTO sinks (sink, name) VALUES (1, 'kafka'), (2, 'jsonl');"
			     "INSERT INTO alerts VALUES (5, '6553f10000000000000000000000abcd', 2, "
			     "1000, '10.0.0.1', 'a.example', 90, 'high', 'blocked', '{\"a\":1}');"
			     "INSERT INTO alerts VALUES (7, 'f553f1000123456789abcdef0123ffff', 1, "
			     "2000, '10.0.0.2', 'b.example', 60, 'medium', 'alerted', '{\"b\":2}');"
			     "INSERT INTO pending VALUES (1, 7), (2, 5), (2, 7);",
			     NULL, NULL, NULL),
		SQLITE_OK);
	sqlite3_close(db);

	ob = open_ok(fx->path, two_sinks, 2, 0);
	db = xf_outbox_db(ob);
	assert_int_equal(pragma_int(db, "PRAGMA user_version"), newest_version());
	assert_int_equal(query(ob, 0, NULL, NULL, 0, &s), 2);
	assert_int_equal(s.seq[0], 5);
	assert_int_equal(s.seq[1], 7);
	assert_string_equal(s.id[0], "6553f10000000000000000000000abcd");
	assert_string_equal(s.last.action, "alerted");
	assert_string_equal(s.last_json, "{\"b\":2}");
	assert_int_equal(xf_outbox_backlog(ob, 0), 1);
	assert_int_equal(xf_outbox_backlog(ob, 1), 2);
	/* The SQL of migration 2 and xf_outbox_idkey() agree, sign bit included. */
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT id, idkey FROM alerts", -1, &st, NULL),
			 SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		assert_int_equal(sqlite3_column_int64(st, 1),
				 xf_outbox_idkey((const char *)sqlite3_column_text(st, 0)));
		rows++;
	}
	sqlite3_finalize(st);
	assert_int_equal(rows, 2);
	assert_true(xf_outbox_idkey("f553f1000123456789abcdef0123ffff") < 0);
	assert_int_equal(xf_outbox_idkey("6553f10000000000000000000000abcd"), 0x6553f1000000abcdLL);
	/* An update of a migrated alert replaces its row, and is pending again. */
	rec_make(&r, 0, 3000, "10.0.0.1", "a.example", "{\"a\":3}");
	snprintf(r.id, sizeof(r.id), "6553f10000000000000000000000abcd");
	r.rev = 3;
	assert_int_equal(xf_outbox_put(ob, &r), 8);
	assert_int_equal(xf_outbox_commit(ob), 0);
	assert_int_equal(query(ob, 0, NULL, NULL, 0, &s), 2);
	assert_int_equal(s.seq[0], 7);
	assert_int_equal(s.seq[1], 8);
	assert_int_equal(s.rev[1], 3);
	assert_int_equal(xf_outbox_backlog(ob, 0), 2);
	assert_int_equal(xf_outbox_backlog(ob, 1), 2);
	xf_outbox_close(ob);
}

/* Rows of one id in the store: dedup holds whichever way the id is found. */
static int64_t rows_of(sqlite3 *db, unsigned int n)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM alerts WHERE id = '%032x'", n);
	return pragma_int(db, sql);
}

/* A schema 2 store (an index on idkey) keeps its rows and export state
 * through migration 3; every key lands in ids, and updates find them. */
static void test_migrate_v2(void **state)
{
	struct fx *fx = *state;
	struct xf_outbox *ob;
	struct seen s;
	sqlite3 *db;
	int i;

	assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, xf_outbox_schema_sql(1), NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, xf_outbox_schema_sql(2), NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(
		sqlite3_exec(db,
			     "INSERT INTO sinks (sink, name) VALUES (1, 'kafka'), (2, 'jsonl');"
			     "INSERT INTO alerts VALUES (3, 1, '00000000000000000000000000000001', "
			     "1, 1000, '10.0.0.1', 'a.example', 90, 'high', 'blocked', '{}');"
			     "INSERT INTO alerts VALUES (4, 2, '00000000000000000000000000000002', "
			     "1, 2000, '10.0.0.2', 'b.example', 60, 'medium', 'alerted', '{}');"
			     "INSERT INTO pending VALUES (1, 4), (2, 3), (2, 4);",
			     NULL, NULL, NULL),
		SQLITE_OK);
	sqlite3_close(db);

	ob = open_ok(fx->path, two_sinks, 2, 0);
	db = xf_outbox_db(ob);
	assert_int_equal(pragma_int(db, "PRAGMA user_version"), newest_version());
	assert_int_equal(pragma_int(db, "SELECT count(*) FROM sqlite_master WHERE name = "
					"'alerts_idkey'"),
			 0);
	assert_int_equal(pragma_int(db, "SELECT count(*) FROM ids WHERE idkey = 1 AND seq = 3"), 1);
	assert_int_equal(pragma_int(db, "SELECT count(*) FROM ids WHERE idkey = 2 AND seq = 4"), 1);
	assert_int_equal(pragma_int(db, "SELECT seq FROM ids_upto"), 4);
	assert_int_equal(xf_outbox_backlog(ob, 0), 1);
	assert_int_equal(xf_outbox_backlog(ob, 1), 2);
	/* found through ids: replaced, its old key entry gone with the old seq */
	assert_int_equal(put_simple(ob, 1, 2), 5);
	assert_int_equal(xf_outbox_commit(ob), 0);
	assert_int_equal(rows_of(db, 1), 1);
	assert_int_equal(pragma_int(db, "SELECT count(*) FROM ids WHERE seq = 3"), 0);
	assert_int_equal(query(ob, 0, NULL, NULL, 0, &s), 2);
	assert_int_equal(s.seq[1], 5);
	assert_int_equal(s.rev[1], 2);
	assert_int_equal(xf_outbox_backlog(ob, 0), 2);
	/* new ids after the migration go to the tail, and are found there */
	for (i = 10; i < 20; i++)
		put_simple(ob, (unsigned int)i, 1);
	assert_int_equal(xf_outbox_commit(ob), 0);
	put_simple(ob, 15, 2);
	assert_int_equal(xf_outbox_commit(ob), 0);
	assert_int_equal(rows_of(db, 15), 1);
	assert_int_equal(pragma_int(db, "SELECT count(*) FROM alerts"), 12);
	xf_outbox_close(ob);

	/* ids_upto lost its row: open indexes every row again */
	raw_exec(fx->path, "DELETE FROM ids_upto; DELETE FROM ids");
	ob = open_ok(fx->path, two_sinks, 2, 0);
	db = xf_outbox_db(ob);
	assert_int_equal(pragma_int(db, "SELECT seq FROM ids_upto"), 16);
	assert_int_equal(pragma_int(db, "SELECT count(*) FROM ids"), 12);
	put_simple(ob, 2, 2);
	put_simple(ob, 12, 2);
	assert_int_equal(xf_outbox_commit(ob), 0);
	assert_int_equal(rows_of(db, 2), 1);
	assert_int_equal(rows_of(db, 12), 1);
	assert_int_equal(pragma_int(db, "SELECT count(*) FROM alerts"), 12);
	xf_outbox_close(ob);
}

/*
 * Past XF_OUTBOX_TAIL_ROWS (65536) rows above ids_upto, a commit moves the
 * tail's keys into ids. Updates find their row before, during and after
 * that, across a reopen (the tail is rebuilt from the store), and after a
 * failed commit (what it added to the tail is forgotten).
 */
static void test_id_tail(void **state)
{
	enum { ROWS = 70000 };
	struct fx *fx = *state;
	struct xf_outbox *ob;
	sqlite3 *db;
	int64_t upto, seq;
	int ok = 0, nobufs = 0;
	unsigned int i;
	char sql[64];

	ob = open_ok(fx->path, two_sinks, 1, 0);
	db = xf_outbox_db(ob);
	for (i = 1; i <= ROWS; i++) {
		put_simple(ob, i, 1);
		if (i % 10000 == 0)
			assert_int_equal(xf_outbox_commit(ob), 0);
	}
	assert_int_equal(xf_outbox_commit(ob), 0);
	upto = pragma_int(db, "SELECT seq FROM ids_upto");
	/* the transaction that passed 65536 (a commit may take several) */
	assert_true(upto >= 65536 && upto <= ROWS);
	assert_int_equal(pragma_int(db, "SELECT count(*) FROM ids"), upto);
	assert_int_equal(pragma_int(db, "SELECT max(seq) FROM ids"), upto);
	/* an indexed row, and again (now in the tail) */
	put_simple(ob, 7, 2);
	assert_int_equal(xf_outbox_commit(ob), 0);
	put_simple(ob, 7, 3);
	assert_int_equal(xf_outbox_commit(ob), 0);
	assert_int_equal(rows_of(db, 7), 1);
	assert_int_equal(pragma_int(db, "SELECT count(*) FROM ids"), upto - 1);
	/* new rows in the tail, then a reopen rebuilds it */
	for (i = ROWS + 1; i <= ROWS + 5; i++)
		put_simple(ob, i, 1);
	assert_int_equal(xf_outbox_commit(ob), 0);
	xf_outbox_close(ob);

	ob = open_ok(fx->path, two_sinks, 1, 0);
	db = xf_outbox_db(ob);
	put_simple(ob, ROWS + 3, 2);
	put_simple(ob, 7, 4);
	put_simple(ob, 8, 2);
	assert_int_equal(xf_outbox_commit(ob), 0);
	assert_int_equal(rows_of(db, ROWS + 3), 1);
	assert_int_equal(rows_of(db, 7), 1);
	assert_int_equal(rows_of(db, 8), 1);

	/* A commit of new ids that fails halfway (no page beyond the file's):
	 * once stored, they are found, not lost. */
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld",
		 (long long)pragma_int(db, "PRAGMA page_count"));
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	put_range(ob, ROWS + 10, ROWS + 50, &ok, &nobufs);
	assert_int_equal(xf_outbox_commit(ob), -ENOSPC);
	assert_int_equal(sqlite3_exec(db, "PRAGMA max_page_count = 1000000", NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(xf_outbox_commit(ob), 0);
	for (i = ROWS + 10; i < ROWS + 50; i++)
		assert_int_equal(rows_of(db, i), 1);
	seq = put_simple(ob, ROWS + 12, 2);
	assert_int_equal(xf_outbox_commit(ob), 0);
	assert_int_equal(rows_of(db, ROWS + 12), 1);
	assert_int_equal(pragma_int(db, "SELECT max(seq) FROM alerts"), seq);
	assert_int_equal(pragma_int(db, "SELECT count(*) FROM alerts"), ROWS + 5 + 40);
	xf_outbox_close(ob);
}

/*
 * A commit of more than XF_OUTBOX_TXN_ROWS (8192) puts goes in several
 * transactions; when a later one fails (disk full), what the ones before
 * stored stays stored and counted, the rest is held, and the retry stores
 * each row once.
 */
static void test_txn_split(void **state)
{
	enum { ROWS = 20000 };
	static char json[2048];
	struct fx *fx = *state;
	struct xf_outbox_stats st;
	struct xf_outbox *ob;
	struct xf_alert_rec r;
	char sql[64];
	sqlite3 *db;
	unsigned int i;
	int calls = 0;

	memset(json, 'j', sizeof(json) - 1);
	ob = open_ok(fx->path, two_sinks, 1, 30000);
	db = xf_outbox_db(ob);
	for (i = 1; i <= ROWS; i++) {
		rec_make(&r, i, i, "10.0.0.1", "example.com", "{}");
		assert_true(xf_outbox_put(ob, &r) > 0);
	}
	assert_int_equal(xf_outbox_commit(ob), 0);
	xf_outbox_stats(ob, &st);
	assert_int_equal(st.commits, 3); /* 8192 + 8192 + 3616 */
	assert_int_equal(st.stored, ROWS);

	/* about 1200 pages of 16 KiB take 8192 rows of 2 KiB; 1500 more,
	 * not 2900 */
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld",
		 (long long)pragma_int(db, "PRAGMA page_count") + 1500);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	for (i = ROWS + 1; i <= 2 * ROWS; i++) {
		rec_make(&r, i, i, "10.0.0.1", "example.com", json);
		assert_true(xf_outbox_put(ob, &r) > 0);
	}
	assert_int_equal(xf_outbox_commit(ob), -ENOSPC);
	xf_outbox_stats(ob, &st);
	assert_int_equal(st.stored, ROWS + 8192);
	assert_int_equal(st.held, ROWS - 8192);
	assert_int_equal(xf_outbox_backlog(ob, 0), ROWS + 8192);
	assert_int_equal(pragma_int(db, "SELECT count(*) FROM alerts"), ROWS + 8192);

	assert_int_equal(sqlite3_exec(db, "PRAGMA max_page_count = 1000000", NULL, NULL, NULL),
			 SQLITE_OK);
	do {
		assert_int_equal(xf_outbox_commit(ob), 0);
		xf_outbox_stats(ob, &st);
	} while (st.held && ++calls < 100);
	assert_int_equal(st.held, 0);
	assert_int_equal(st.stored, 2 * ROWS);
	assert_int_equal(pragma_int(db, "SELECT count(*) FROM alerts"), 2 * ROWS);
	assert_int_equal(pragma_int(db, "SELECT count(DISTINCT id) FROM alerts"), 2 * ROWS);
	assert_int_equal(xf_outbox_backlog(ob, 0), 2 * ROWS);
	xf_outbox_close(ob);
}

/* Ids that share the integer key are still different alerts. */
static void test_idkey_collision(void **state)
{
	static const char *const ids[] = {
		"6553f100aaaaaaaaaaaaaaaa00000001",
		"6553f100bbbbbbbbbbbbbbbb00000001",
		"6553f100cccccccccccccccc00000001",
	};
	struct fx *fx = *state;
	struct xf_alert_rec r;
	struct xf_outbox *ob;
	struct seen s;
	int i;

	ob = open_ok(fx->path, two_sinks, 2, 0);
	assert_int_equal(xf_outbox_idkey(ids[0]), xf_outbox_idkey(ids[1]));
	for (i = 0; i < 3; i++) {
		rec_make(&r, 0, 100 + i, "10.0.0.1", "example.com", "{}");
		snprintf(r.id, sizeof(r.id), "%s", ids[i]);
		assert_true(xf_outbox_put(ob, &r) > 0);
	}
	assert_int_equal(xf_outbox_commit(ob), 0);
	/* update the middle one twice, in two batches */
	for (i = 2; i <= 3; i++) {
		rec_make(&r, 0, 200 + i, "10.0.0.1", "example.com", "{}");
		snprintf(r.id, sizeof(r.id), "%s", ids[1]);
		r.rev = (uint32_t)i;
		assert_true(xf_outbox_put(ob, &r) > 0);
		assert_int_equal(xf_outbox_commit(ob), 0);
	}
	assert_int_equal(query(ob, 0, NULL, NULL, 0, &s), 3);
	assert_string_equal(s.id[0], ids[0]);
	assert_string_equal(s.id[1], ids[2]);
	assert_string_equal(s.id[2], ids[1]);
	assert_int_equal(s.rev[2], 3);
	assert_int_equal(s.ts[2], 203);
	assert_int_equal(xf_outbox_backlog(ob, 0), 3);

	/* Not 32 lower-case hex digits: refused, nothing stored. */
	snprintf(r.id, sizeof(r.id), "6553F100cccccccccccccccc00000001");
	assert_int_equal(xf_outbox_put(ob, &r), -EINVAL);
	snprintf(r.id, sizeof(r.id), "6553f100");
	assert_int_equal(xf_outbox_put(ob, &r), -EINVAL);
	assert_int_equal(xf_outbox_commit(ob), 0);
	assert_int_equal(query(ob, 0, NULL, NULL, 0, &s), 3);
	xf_outbox_close(ob);
}

static int count_rows(void *ctx, const struct xf_out_row *row)
{
	int64_t *last = ctx;

	assert_true(row->seq > *last);
	*last = row->seq;
	return 0;
}

/* While the disk is full, sinks still get every row (held ones from memory),
 * acks of held rows wait for them, and the retry goes 2000 rows a call. */
static void test_full_export_and_drain(void **state)
{
	struct fx *fx = *state;
	struct xf_outbox_stats st;
	struct xf_outbox *ob;
	int ok = 0, nobufs = 0, n, calls = 0;
	int64_t last = 0;
	sqlite3 *db;

	ob = open_ok(fx->path, two_sinks, 2, 6000);
	db = xf_outbox_db(ob);
	put_range(ob, 1, 11, &ok, &nobufs);
	assert_int_equal(xf_outbox_commit(ob), 0);
	assert_int_equal(sqlite3_exec(db, "PRAGMA max_page_count = 1", NULL, NULL, NULL),
			 SQLITE_OK);
	put_range(ob, 11, 5011, &ok, &nobufs);
	assert_int_equal(xf_outbox_commit(ob), -ENOSPC);
	xf_outbox_stats(ob, &st);
	assert_int_equal(st.held, 5000);
	assert_int_equal(xf_outbox_backlog(ob, 0), 10);
	/* 10 committed, then the 5000 held, in seq order, paged like sensor.c. */
	n = xf_outbox_pending(ob, 0, 0, 512, count_rows, &last);
	assert_int_equal(n, 512);
	while ((n = xf_outbox_pending(ob, 0, last, 512, count_rows, &last)) > 0)
		;
	assert_int_equal(n, 0);
	assert_int_equal(last, 5010);
	/* sink 0 acknowledged rows 1..3010, committed and held */
	for (int64_t q = 1; q <= 3010; q++)
		assert_int_equal(xf_outbox_acked(ob, 0, q), 0);
	assert_int_equal(xf_outbox_commit(ob), -ENOSPC);
	xf_outbox_stats(ob, &st);
	assert_int_equal(st.commit_errors, 2);
	assert_int_equal(st.stored, 10);

	assert_int_equal(sqlite3_exec(db, "PRAGMA max_page_count = 1000000", NULL, NULL, NULL),
			 SQLITE_OK);
	do {
		assert_int_equal(xf_outbox_commit(ob), 0);
		xf_outbox_stats(ob, &st);
		calls++;
		if (st.held)
			assert_int_equal(st.held, 5000 - 2000 * calls);
	} while (st.held);
	assert_int_equal(calls, 3);
	assert_int_equal(st.stored, 5010);
	assert_int_equal(st.lost, 0);
	/* every ack landed once its row did */
	assert_int_equal(xf_outbox_backlog(ob, 0), 5010 - 3010);
	assert_int_equal(xf_outbox_backlog(ob, 1), 5010);
	/* no longer failing: pending is the store again */
	last = 5010;
	assert_int_equal(xf_outbox_pending(ob, 0, last, 0, count_rows, &last), 0);
	xf_outbox_close(ob);
}

/* A batch larger than memory_max commits early when nothing is failing. */
static void test_batch_over_bound(void **state)
{
	struct fx *fx = *state;
	struct xf_outbox_stats st;
	struct xf_outbox *ob;
	int ok = 0, nobufs = 0;

	ob = open_ok(fx->path, two_sinks, 2, 16);
	put_range(ob, 1, 41, &ok, &nobufs);
	assert_int_equal(ok, 40);
	assert_int_equal(nobufs, 0);
	xf_outbox_stats(ob, &st);
	assert_int_equal(st.commits, 2);
	assert_int_equal(xf_outbox_commit(ob), 0);
	assert_int_equal(xf_outbox_backlog(ob, 0), 40);
	xf_outbox_stats(ob, &st);
	assert_int_equal(st.lost, 0);
	xf_outbox_close(ob);
}

static void test_query(void **state)
{
	static const struct {
		int64_t ts;
		const char *client, *domain;
	} rows[] = {
		{ 3000, "10.0.0.1", "example.com" },	 { 1000, "10.0.0.2", "example.com" },
		{ 2000, "10.0.0.1", "evil.co.uk" },	 { 4000, "10.0.0.1", "notexample.com" },
		{ 5000, "10.0.0.2", "a_b.example.com" }, { 1500, "10.0.0.1", "axb.example.com" },
	};
	static const struct {
		int64_t since;
		const char *domain, *client;
		int limit;
		int64_t want[6]; /* ts of the rows, oldest first; 0 ends */
	} cases[] = {
		{ 0, NULL, NULL, 0, { 1000, 1500, 2000, 3000, 4000, 5000 } },
		{ 0, "example.com", NULL, 0, { 1000, 1500, 3000, 5000 } },
		{ 0, "EXAMPLE.com", NULL, 0, { 1000, 1500, 3000, 5000 } },
		{ 0, "co.uk", NULL, 0, { 2000 } },
		{ 0, "uk", NULL, 0, { 2000 } },
		{ 0, "a_b.example.com", NULL, 0, { 5000 } },
		{ 0, "le.com", NULL, 0, { 0 } },
		{ 0, NULL, "10.0.0.2", 0, { 1000, 5000 } },
		{ 2000, NULL, NULL, 0, { 2000, 3000, 4000, 5000 } },
		{ 2000, "example.com", "10.0.0.1", 0, { 3000 } },
		{ 0, NULL, NULL, 2, { 1000, 1500 } },
		{ 1200, "example.com", NULL, 2, { 1500, 3000 } },
	};
	struct fx *fx = *state;
	struct xf_alert_rec r;
	struct xf_outbox *ob;
	struct seen s;
	size_t i;
	int j, n;

	ob = open_ok(fx->path, two_sinks, 2, 0);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		rec_make(&r, i + 1, rows[i].ts, rows[i].client, rows[i].domain, "{}");
		assert_true(xf_outbox_put(ob, &r) > 0);
	}
	assert_int_equal(xf_outbox_commit(ob), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (n = 0; n < 6 && cases[i].want[n]; n++)
			;
		if (query(ob, cases[i].since, cases[i].domain, cases[i].client, cases[i].limit,
			  &s) != n)
			fail_msg("case %zu: %d rows, want %d", i, s.n, n);
		for (j = 0; j < n; j++)
			if (s.ts[j] != cases[i].want[j])
				fail_msg("case %zu row %d: ts %lld, want %lld", i, j,
					 (long long)s.ts[j], (long long)cases[i].want[j]);
	}
	xf_outbox_close(ob);
}

static void test_mode_0600(void **state)
{
	struct fx *fx = *state;
	struct xf_outbox *ob;
	char wal[192];
	struct stat sb;
	mode_t old = umask(0);

	ob = open_ok(fx->path, two_sinks, 2, 0);
	put_simple(ob, 1, 1);
	assert_int_equal(xf_outbox_commit(ob), 0);
	umask(old);
	assert_int_equal(stat(fx->path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	snprintf(wal, sizeof(wal), "%s-wal", fx->path);
	assert_int_equal(stat(wal, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	xf_outbox_close(ob);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 100k puts of 1 KiB json in commits of 1000; prints alerts/s. */
static void throughput(const char *path, int hashed)
{
	enum { ROWS = 100000, BATCH = 1000 };
	static char json[1025];
	struct xf_outbox_stats st;
	struct xf_alert_rec r;
	struct xf_outbox *ob;
	uint64_t h;
	double t0, dt;
	int i;

	memset(json, 'a', sizeof(json) - 1);
	ob = open_ok(path, two_sinks, 2, 0);
	rec_make(&r, 0, 1700000000000LL, "10.0.0.1", "example.com", json);
	t0 = now_s();
	for (i = 0; i < ROWS; i++) {
		/* Hashed like xf_alert_id(): each put hits a random leaf of the
		 * id index, the realistic and slower case. */
		h = hashed ? (uint64_t)(i + 1) * 0x9e3779b97f4a7c15ULL : (uint64_t)i + 1;
		snprintf(r.id, sizeof(r.id), "%016llx%016llx", (unsigned long long)h,
			 (unsigned long long)i);
		r.ts_ms++;
		if (xf_outbox_put(ob, &r) < 0)
			fail_msg("put %d", i);
		if ((i + 1) % BATCH == 0 && xf_outbox_commit(ob))
			fail_msg("commit at %d: %s", i, xf_outbox_errmsg(ob));
	}
	dt = now_s() - t0;
	printf("outbox throughput: %d alerts, 1 KiB json, %d per commit, 2 sinks, %s ids: "
	       "%.3f s = %.0f alerts/s\n",
	       ROWS, BATCH, hashed ? "hashed" : "sequential", dt, ROWS / dt);
	xf_outbox_stats(ob, &st);
	assert_int_equal(st.stored, ROWS);
	assert_int_equal(st.commits, ROWS / BATCH);
	assert_int_equal(st.commit_errors, 0);
	assert_int_equal(xf_outbox_backlog(ob, 0), ROWS);
	assert_int_equal(xf_outbox_backlog(ob, 1), ROWS);
	xf_outbox_close(ob);
}

/* --- the writer thread (xf_outbox_writer_start) --- */

/* A connection of the test's own holding the write lock, as a long
 * `sqlite3` session or a slow disk would: the writer's BEGIN IMMEDIATE
 * waits for it (busy_timeout 5 s). */
static sqlite3 *lock_hold(const char *path)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	return db;
}

static void lock_release(sqlite3 *db)
{
	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static int64_t sql_count(const char *path, const char *sql)
{
	sqlite3 *db;
	int64_t n;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	n = pragma_int(db, sql);
	sqlite3_close(db);
	return n;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * While the write lock is held elsewhere, puts and commits go on without
 * waiting (a commit in the caller would wait 5 s and fail with -EBUSY),
 * reads see what was committed before, and once the lock is released
 * everything lands: one row per id with the later revision, acks applied.
 */
static void test_writer_slow(void **state)
{
	struct fx *fx = *state;
	struct xf_outbox_stats st;
	struct xf_outbox *ob;
	int64_t seq[101], t0, last;
	struct seen s;
	sqlite3 *lock;
	unsigned int n;

	ob = open_ok(fx->path, two_sinks, 2, 0);
	assert_int_equal(xf_outbox_writer_start(ob), 0);
	for (n = 1; n <= 100; n++)
		seq[n] = put_simple(ob, n, 1);
	assert_int_equal(xf_outbox_flush(ob), 0);
	xf_outbox_stats(ob, &st);
	assert_int_equal(st.stored, 100);
	assert_int_equal(xf_outbox_backlog(ob, 0), 100);

	lock = lock_hold(fx->path);
	t0 = mono_ms();
	for (n = 101; n <= 600; n++)
		put_simple(ob, n, 1);
	assert_int_equal(xf_outbox_commit(ob), 0); /* handed over, not waited for */
	for (n = 601; n <= 1098; n++)
		put_simple(ob, n, 1);
	put_simple(ob, 50, 2); /* committed before the lock */
	put_simple(ob, 300, 2); /* in the commit the lock holds up */
	for (n = 1; n <= 100; n++)
		assert_int_equal(xf_outbox_acked(ob, 0, seq[n]), 0);
	assert_int_equal(xf_outbox_commit(ob), 0); /* still writing: nothing to take back */
	print_message("1000 puts and 2 commits with the write lock held elsewhere: %lld ms\n",
		      (long long)(mono_ms() - t0));
	xf_outbox_stats(ob, &st);
	assert_int_equal(st.stored, 100);
	assert_int_equal(st.queued, 1000);
	assert_int_equal(st.held, 0);
	assert_int_equal(st.commit_errors, 0);
	/* no read while the job runs (a read may write the WAL index, which
	 * hangs with the disk): the backlog is the last counted; a sink behind
	 * the store waits, one that took every stored row gets the held ones */
	assert_int_equal(xf_outbox_backlog(ob, 0), 100);
	assert_int_equal(pending(ob, 1, 0, 0, &s), 0);
	last = 100;
	assert_int_equal(xf_outbox_pending(ob, 1, 100, 0, count_rows, &last), 1000);

	lock_release(lock);
	assert_int_equal(xf_outbox_flush(ob), 0);
	xf_outbox_stats(ob, &st);
	assert_int_equal(st.stored, 1100);
	assert_int_equal(st.queued, 0);
	assert_int_equal(st.commit_errors, 0);
	assert_int_equal(sql_count(fx->path, "SELECT count(*) FROM alerts"), 1098);
	assert_int_equal(sql_count(fx->path, "SELECT count(DISTINCT id) FROM alerts"), 1098);
	assert_int_equal(sql_count(fx->path, "SELECT count(*) FROM alerts WHERE rev = 2 AND id IN "
					     "(printf('%032x', 50), printf('%032x', 300))"),
			 2);
	/* the acks landed, except id 50's: its row moved to a new seq since */
	assert_int_equal(xf_outbox_backlog(ob, 0), 1098 - 99);
	assert_int_equal(xf_outbox_backlog(ob, 1), 1098);
	xf_outbox_close(ob);
}

/*
 * A commit that does not return for a second (a hung disk) is reported as
 * -ETIMEDOUT; its rows and later puts are held: pending hands them out
 * from memory, their acks wait for them, and all of it is stored once the
 * disk answers.
 */
static void test_writer_stalled(void **state)
{
	struct fx *fx = *state;
	struct xf_outbox_stats st;
	struct xf_outbox *ob;
	int64_t last = 0;
	unsigned int n;
	sqlite3 *lock;
	struct seen s;
	int i;

	ob = open_ok(fx->path, two_sinks, 1, 0);
	assert_int_equal(xf_outbox_writer_start(ob), 0);
	for (n = 1; n <= 10; n++)
		put_simple(ob, n, 1);
	assert_int_equal(xf_outbox_flush(ob), 0);
	assert_int_equal(pending(ob, 0, 0, 0, &s), 10); /* taken before the disk hangs */
	for (i = 0; i < 10; i++)
		assert_int_equal(xf_outbox_acked(ob, 0, s.seq[i]), 0);

	lock = lock_hold(fx->path);
	for (n = 11; n <= 30; n++)
		put_simple(ob, n, 1);
	assert_int_equal(xf_outbox_commit(ob), 0);
	usleep(1200 * 1000);
	assert_int_equal(xf_outbox_commit(ob), -ETIMEDOUT);
	assert_non_null(strstr(xf_outbox_errmsg(ob), "no answer"));
	for (n = 31; n <= 35; n++)
		put_simple(ob, n, 1);
	xf_outbox_stats(ob, &st);
	assert_int_equal(st.held, 25);
	assert_int_equal(st.stored, 10);
	/* no read beside the hung job: a sink behind the store waits (rows go
	 * out in order); one that took the 10 stored rows gets the 25 held
	 * from memory, in seq order */
	assert_int_equal(xf_outbox_pending(ob, 0, 0, 0, count_rows, &last), 0);
	assert_int_equal(xf_outbox_pending(ob, 0, 10, 0, count_rows, &last), 25);
	assert_int_equal(pending(ob, 0, 10, 0, &s), 25);
	for (i = 0; i < 25; i++)
		assert_int_equal(xf_outbox_acked(ob, 0, s.seq[i]), 0);
	/* a bounded flush gives up on the stuck writer, keeping every row */
	assert_int_equal(xf_outbox_flush_for(ob, 100), -ETIMEDOUT);
	xf_outbox_stats(ob, &st);
	assert_int_equal(st.held, 25);

	lock_release(lock);
	assert_int_equal(xf_outbox_flush(ob), 0);
	xf_outbox_stats(ob, &st);
	assert_int_equal(st.stored, 35);
	assert_int_equal(st.held, 0);
	assert_int_equal(st.queued, 0);
	assert_int_equal(st.commit_errors, 0);
	assert_int_equal(sql_count(fx->path, "SELECT count(*) FROM alerts"), 35);
	assert_int_equal(xf_outbox_backlog(ob, 0), 0);
	xf_outbox_close(ob);
}

/* A failed commit on the writer thread is reported by the commit after it,
 * holds its rows, and the next commit retries them. */
static void test_writer_failure(void **state)
{
	struct fx *fx = *state;
	struct xf_outbox_stats st;
	struct xf_outbox *ob;
	int64_t last = 0;
	unsigned int n;

	ob = open_ok(fx->path, two_sinks, 1, 0);
	assert_int_equal(xf_outbox_writer_start(ob), 0);
	for (n = 1; n <= 5; n++)
		put_simple(ob, n, 1);
	assert_int_equal(xf_outbox_flush(ob), 0);
	/* the writer is idle after a flush: its connection may be touched */
	assert_int_equal(sqlite3_exec(xf_outbox_db(ob), "PRAGMA query_only = 1", NULL, NULL, NULL),
			 SQLITE_OK);
	for (n = 6; n <= 10; n++)
		put_simple(ob, n, 1);
	assert_int_equal(xf_outbox_commit(ob), 0);
	assert_int_equal(xf_outbox_flush(ob), -EROFS);
	xf_outbox_stats(ob, &st);
	assert_int_equal(st.commit_errors, 1);
	assert_int_equal(st.held, 5);
	assert_int_equal(xf_outbox_pending(ob, 0, 0, 0, count_rows, &last), 10);
	assert_int_equal(sqlite3_exec(xf_outbox_db(ob), "PRAGMA query_only = 0", NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(xf_outbox_commit(ob), 0); /* the retry, handed over */
	assert_int_equal(xf_outbox_flush(ob), 0);
	xf_outbox_stats(ob, &st);
	assert_int_equal(st.stored, 10);
	assert_int_equal(st.held, 0);
	assert_int_equal(xf_outbox_backlog(ob, 0), 10);
	xf_outbox_close(ob);
}

/* Printed for the record; machines differ too much to assert on it. */
static void test_throughput(void **state)
{
	struct fx *fx = *state;
	char path2[192];

	snprintf(path2, sizeof(path2), "%s/hashed.db", fx->dir);
	throughput(fx->path, 0);
	throughput(path2, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_page_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sinks_independent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_database, setup, teardown),
		cmocka_unit_test_setup_teardown(test_future_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_sqlite, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_over_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_id_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn_split, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idkey_collision, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_export_and_drain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mode_0600, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_slow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_stalled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_throughput, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
