// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * outbox.c - the alert outbox on SQLite (schema: schemas/sqlite.sql).
 *
 * Puts and acks collect in an in-memory batch that xf_outbox_commit() writes
 * in one transaction (several past XF_OUTBOX_TXN_ROWS puts). Keeping the
 * batch outside SQLite until commit means pending() and query() only ever
 * see committed rows, and the same batch is what a failed commit (disk
 * full, read-only, I/O error) keeps and replays on the next commit, up to
 * memory_max rows. The batch arrays are reused, so a put costs a copy into
 * them and no allocation once they have grown.
 *
 * Two batches and two connections: the open batch takes puts and acks; a
 * commit swaps it into the job batch, which a transaction on the writer's
 * connection (db) stores, while reads (pending, backlog, query) go through
 * their own connection (rdb): WAL lets one writer and readers work at once.
 * Without a writer thread the job runs in xf_outbox_commit(), as it always
 * did. With one (xf_outbox_writer_start, the live sensor) the job runs on
 * that thread and commit() only hands it over and takes back the result of
 * the one before, so a slow, full or hung disk never holds the caller: the
 * job batch is read by both threads and written by neither while it runs.
 *
 * One row per alert id without an index on a hash (schema 3): the writer
 * finds the newest rows' ids in a map of its own (the tail) and the others
 * through the ids table, which takes the tail's keys in bulk.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>

#include "outbox.h"

#define XF_OUTBOX_APP_ID 0x78666f62 /* "xfob", PRAGMA application_id */
#define XF_OUTBOX_BUSY_MS 5000 /* `exfilter alerts` may hold a read; writers wait */
#define XF_OUTBOX_RETRY_ROWS 2000 /* held rows per commit after a failure, without a writer */
/* A job the writer has not finished after this long counts as a failure
 * for the caller: its rows are held (exported from memory, bounded by
 * memory_max) until the disk answers. */
#define XF_OUTBOX_STALL_NS 1000000000LL
/* Rows above ids_upto (the tail) before a commit copies their keys into
 * ids (migration 3): 65536 entries of the tail map take about 4 MiB. */
#define XF_OUTBOX_TAIL_ROWS 65536
/* Puts per transaction at most: 8192 rows of 1.4 KB stay well inside the
 * page cache (cache_size) and commit in tens of milliseconds. */
#define XF_OUTBOX_TXN_ROWS 8192

/*
 * What each setting means for "no alert lost":
 * - journal_mode WAL (wal_on): a commit appends to the -wal file; a crash
 *   of the process at any point leaves every committed batch readable and
 *   the file intact.
 * - synchronous NORMAL: in WAL mode commits do not fsync; the WAL is synced
 *   at checkpoints. A process crash (or kill -9) loses nothing committed,
 *   because the data is in the kernel's page cache; a power cut or kernel
 *   crash may roll back the commits since the last sync, never corrupts.
 *   FULL would fsync every commit, which costs more than the whole insert
 *   on most disks. Decision: NORMAL, so "no alert lost" holds for sensor
 *   crashes and restarts, not for power loss.
 * - cache_size 32 MiB: keeps the hot leaves of the indexes (and the
 *   pages a commit is filling) from being read back.
 * - wal_autocheckpoint about 40 MiB of pages (set from the page size at
 *   open, XF_OUTBOX_WAL_CKPT_BYTES): fewer, larger checkpoints copy each
 *   hot page to the database once for many commits; no effect on what
 *   survives a crash.
 * - journal_size_limit: trims a WAL that a long reader let grow.
 * - page_size 16 KiB for a new store (XF_OUTBOX_PAGE_SIZE): a row is about
 *   1.4 KB, so a 4 KiB page holds two and leaves a third of it empty, and
 *   every byte of it is written twice (WAL, then checkpoint). 16 KiB pages
 *   hold eleven rows: 19% fewer bytes written per alert and half the WAL
 *   frames, 1.3-1.6x the alerts/s (BENCHMARKS.md, session 5). A store
 *   created with other pages keeps them (SQLite cannot change the page
 *   size of a WAL database in place; see schemas/sqlite.sql to convert).
 */
static const char tuning_sql[] = "PRAGMA synchronous = NORMAL;"
				 "PRAGMA cache_size = -32768;"
				 "PRAGMA journal_size_limit = 67108864;";

#define XF_OUTBOX_PAGE_SIZE 16384
#define XF_OUTBOX_WAL_CKPT_BYTES (40 << 20)

/*
 * migrations[n] takes user_version n-1 to n and sets it. Append only: a shipped
 * migration is never edited. schemas/sqlite.sql must say the same
 * (tests/unit/test_outbox.c compares them).
 */
static const char *const migrations[] = {
	NULL,
	"CREATE TABLE alerts (\n"
	"	seq INTEGER PRIMARY KEY,\n"
	"	id TEXT NOT NULL UNIQUE,\n"
	"	rev INTEGER NOT NULL,\n"
	"	ts_ms INTEGER NOT NULL,\n"
	"	client TEXT NOT NULL,\n"
	"	domain TEXT NOT NULL,\n"
	"	score REAL NOT NULL,\n"
	"	severity TEXT NOT NULL,\n"
	"	action TEXT NOT NULL,\n"
	"	json TEXT NOT NULL\n"
	");\n"
	"CREATE INDEX alerts_ts ON alerts (ts_ms);\n"
	"CREATE TABLE sinks (\n"
	"	sink INTEGER PRIMARY KEY,\n"
	"	name TEXT NOT NULL UNIQUE\n"
	");\n"
	"CREATE TABLE pending (\n"
	"	sink INTEGER NOT NULL REFERENCES sinks (sink),\n"
	"	seq INTEGER NOT NULL,\n"
	"	PRIMARY KEY (sink, seq)\n"
	") WITHOUT ROWID;\n"
	"CREATE TRIGGER alerts_deleted AFTER DELETE ON alerts BEGIN\n"
	"	DELETE FROM pending WHERE sink IN (SELECT sink FROM sinks) AND seq = OLD.seq;\n"
	"END;\n"
	"CREATE TRIGGER alerts_moved AFTER UPDATE OF seq ON alerts WHEN OLD.seq <> NEW.seq BEGIN\n"
	"	DELETE FROM pending WHERE sink IN (SELECT sink FROM sinks) AND seq = OLD.seq;\n"
	"END;\n"
	"PRAGMA application_id = 2019979106;\n"
	"PRAGMA user_version = 1;\n",
	"CREATE TABLE alerts_v2 (\n"
	"	seq INTEGER PRIMARY KEY,\n"
	"	idkey INTEGER NOT NULL,\n"
	"	id TEXT NOT NULL,\n"
	"	rev INTEGER NOT NULL,\n"
	"	ts_ms INTEGER NOT NULL,\n"
	"	client TEXT NOT NULL,\n"
	"	domain TEXT NOT NULL,\n"
	"	score REAL NOT NULL,\n"
	"	severity TEXT NOT NULL,\n"
	"	action TEXT NOT NULL,\n"
	"	json TEXT NOT NULL\n"
	");\n"
	"INSERT INTO alerts_v2 (seq, idkey, id, rev, ts_ms, client, domain, score, severity, "
	"action, json)\n"
	"	SELECT seq,\n"
	"		((instr('0123456789abcdef', substr(id, 1, 1)) - 1) << 60) |\n"
	"		((instr('0123456789abcdef', substr(id, 2, 1)) - 1) << 56) |\n"
	"		((instr('0123456789abcdef', substr(id, 3, 1)) - 1) << 52) |\n"
	"		((instr('0123456789abcdef', substr(id, 4, 1)) - 1) << 48) |\n"
	"		((instr('0123456789abcdef', substr(id, 5, 1)) - 1) << 44) |\n"
	"		((instr('0123456789abcdef', substr(id, 6, 1)) - 1) << 40) |\n"
	"		((instr('0123456789abcdef', substr(id, 7, 1)) - 1) << 36) |\n"
	"		((instr('0123456789abcdef', substr(id, 8, 1)) - 1) << 32) |\n"
	"		((instr('0123456789abcdef', substr(id, 25, 1)) - 1) << 28) |\n"
	"		((instr('0123456789abcdef', substr(id, 26, 1)) - 1) << 24) |\n"
	"		((instr('0123456789abcdef', substr(id, 27, 1)) - 1) << 20) |\n"
	"		((instr('0123456789abcdef', substr(id, 28, 1)) - 1) << 16) |\n"
	"		((instr('0123456789abcdef', substr(id, 29, 1)) - 1) << 12) |\n"
	"		((instr('0123456789abcdef', substr(id, 30, 1)) - 1) << 8) |\n"
	"		((instr('0123456789abcdef', substr(id, 31, 1)) - 1) << 4) |\n"
	"		((instr('0123456789abcdef', substr(id, 32, 1)) - 1) << 0)\n"
	"		, id, rev, ts_ms, client, domain, score, severity, action, json\n"
	"	FROM alerts;\n"
	"DROP TRIGGER alerts_deleted;\n"
	"DROP TRIGGER alerts_moved;\n"
	"DROP TABLE alerts;\n"
	"ALTER TABLE alerts_v2 RENAME TO alerts;\n"
	"CREATE INDEX alerts_ts ON alerts (ts_ms);\n"
	"CREATE INDEX alerts_idkey ON alerts (idkey);\n"
	"CREATE TRIGGER alerts_deleted AFTER DELETE ON alerts BEGIN\n"
	"	DELETE FROM pending WHERE sink IN (SELECT sink FROM sinks) AND seq = OLD.seq;\n"
	"END;\n"
	"CREATE TRIGGER alerts_moved AFTER UPDATE OF seq ON alerts WHEN OLD.seq <> NEW.seq BEGIN\n"
	"	DELETE FROM pending WHERE sink IN (SELECT sink FROM sinks) AND seq = OLD.seq;\n"
	"END;\n"
	"PRAGMA user_version = 2;\n",
	"CREATE TABLE ids (\n"
	"	idkey INTEGER NOT NULL,\n"
	"	seq INTEGER NOT NULL,\n"
	"	PRIMARY KEY (idkey, seq)\n"
	") WITHOUT ROWID;\n"
	"INSERT INTO ids (idkey, seq) SELECT idkey, seq FROM alerts ORDER BY idkey, seq;\n"
	"CREATE TABLE ids_upto (\n"
	"	seq INTEGER NOT NULL\n"
	");\n"
	"INSERT INTO ids_upto (seq) SELECT coalesce(max(seq), 0) FROM alerts;\n"
	"DROP INDEX alerts_idkey;\n"
	"DROP TRIGGER alerts_deleted;\n"
	"DROP TRIGGER alerts_moved;\n"
	"CREATE TRIGGER alerts_deleted AFTER DELETE ON alerts BEGIN\n"
	"	DELETE FROM pending WHERE sink IN (SELECT sink FROM sinks) AND seq = OLD.seq;\n"
	"	DELETE FROM ids WHERE idkey = OLD.idkey AND seq = OLD.seq;\n"
	"END;\n"
	"CREATE TRIGGER alerts_moved AFTER UPDATE OF seq ON alerts WHEN OLD.seq <> NEW.seq BEGIN\n"
	"	DELETE FROM pending WHERE sink IN (SELECT sink FROM sinks) AND seq = OLD.seq;\n"
	"	DELETE FROM ids WHERE idkey = OLD.idkey AND seq = OLD.seq;\n"
	"END;\n"
	"PRAGMA user_version = 3;\n",
};

#define XF_OUTBOX_SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])) - 1)

#define ROW_COLUMNS "seq, id, rev, ts_ms, client, domain, score, severity, action, json"

enum stmt {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_FIND,
	ST_INSERT,
	ST_MOVE,
	ST_PEND_ADD,
	ST_IDS_ADD,
	ST_IDS_UPTO,
	ST_ACK,
	ST_PENDING,
	ST_BACKLOG,
	ST_QUERY,
	ST_MAX,
};

/* Statements from here on read, through the reader's connection (rdb). */
#define ST_READ_FIRST ST_PENDING

static const char *const stmt_sql[ST_MAX] = {
	/* IMMEDIATE: take the write lock up front, so a busy database waits in
	 * busy_timeout instead of failing halfway through the batch. */
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	/* No UNIQUE (id) to upsert on (migrations 2 and 3 say why): a put
	 * looks the id up by its integer key, in the writer's tail map for
	 * rows above ids_upto and through ids for the others, compares the
	 * whole id, and then updates that row or inserts a new one, all under
	 * the batch's write lock. An update keeps the row (and its id) but
	 * moves it to the new seq; the alerts_moved trigger drops what was
	 * pending, and its ids entry, under the old seq. A plain INSERT, not
	 * REPLACE, so a seq collision is an error, not a silently deleted row.
	 * CROSS JOIN: ids drives, alerts is fetched by rowid. */
	[ST_FIND] = "SELECT a.seq FROM ids i CROSS JOIN alerts a ON a.seq = i.seq "
		    "WHERE i.idkey = ?1 AND a.id = ?2",
	[ST_INSERT] = "INSERT INTO alerts (seq, idkey, id, rev, ts_ms, client, domain, score, "
		      "severity, action, json) "
		      "VALUES (?1, ?11, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[ST_MOVE] = "UPDATE alerts SET seq = ?1, rev = ?3, ts_ms = ?4, client = ?5, domain = ?6, "
		    "score = ?7, severity = ?8, action = ?9, json = ?10 WHERE seq = ?12",
	/* Every row of a transaction pending for a sink, in one statement: a
	 * transaction's puts are the only rows with seqs from its first to its
	 * last (a row updated twice in it is only at the newer seq). */
	[ST_PEND_ADD] = "INSERT INTO pending (sink, seq) SELECT ?1, seq FROM alerts "
			"WHERE seq >= ?2 AND seq <= ?3",
	/* The tail's keys into ids in one sorted pass: each leaf of ids that
	 * the tail touches is written once for XF_OUTBOX_TAIL_ROWS rows. */
	[ST_IDS_ADD] = "INSERT INTO ids (idkey, seq) SELECT idkey, seq FROM alerts "
		       "WHERE seq > ?1 ORDER BY idkey, seq",
	[ST_IDS_UPTO] = "UPDATE ids_upto SET seq = ?1",
	/* Keyed by seq: after an update the old seq is gone, so this is a no-op. */
	[ST_ACK] = "DELETE FROM pending WHERE sink = ?1 AND seq = ?2",
	/* CROSS JOIN keeps pending as the outer loop: walk the sink's key range
	 * in seq order, then fetch each row by rowid. */
	[ST_PENDING] = "SELECT a.seq, a.id, a.rev, a.ts_ms, a.client, a.domain, a.score, "
		       "a.severity, a.action, a.json "
		       "FROM pending p CROSS JOIN alerts a ON a.seq = p.seq "
		       "WHERE p.sink = ?1 AND p.seq > ?2 ORDER BY p.seq LIMIT ?3",
	[ST_BACKLOG] = "SELECT count(*) FROM pending WHERE sink = ?1",
	/* substr() rather than LIKE: '_' is legal in names and a LIKE wildcard. */
	[ST_QUERY] = "SELECT " ROW_COLUMNS " FROM alerts "
		     "WHERE ts_ms >= ?1 "
		     "AND (?2 IS NULL OR domain = ?2 COLLATE NOCASE "
		     "OR substr(domain, -length(?2) - 1) = '.' || ?2 COLLATE NOCASE) "
		     "AND (?3 IS NULL OR client = ?3) "
		     "ORDER BY ts_ms, seq LIMIT ?4",
};

/* A put waiting for its commit. rec.json is unused: the text is in the arena. */
struct held_put {
	struct xf_alert_rec rec;
	int64_t seq;
	size_t json_off;
};

struct held_ack {
	int64_t seq;
	int sink;
};

/* Puts (json texts in the arena) and acks, in call order. */
struct batch {
	struct held_put *puts;
	size_t nputs, puts_cap;
	char *arena; /* json texts of puts[] */
	size_t arena_len, arena_cap;
	struct held_ack *acks;
	size_t nacks, acks_cap;
};

/*
 * The keys of the rows above ids_upto (the tail), which ids does not hold
 * yet: entries in seq order, chained per hash bucket newest first, so a
 * lookup meets the current seq of an id before any older one, and a failed
 * transaction pops what it added from the end. Only the writer's side
 * (apply_txn, and open before any writer) touches it.
 */
struct tail_ent {
	int64_t key, seq;
	uint32_t next; /* older entry in the bucket, or TAIL_NONE */
	char id[XF_ALERT_ID_LEN];
};

#define TAIL_NONE UINT32_MAX

struct id_tail {
	struct tail_ent *ent;
	size_t n, cap;
	uint32_t *head; /* nbuckets, a power of two >= cap */
	size_t nbuckets;
};

struct xf_outbox {
	sqlite3 *db; /* the writer's: transactions (the writer thread's once started) */
	sqlite3 *rdb; /* the caller's reads: pending, backlog, query */
	sqlite3_stmt *st[ST_MAX];
	int64_t sink_id[XF_OUTBOX_SINKS_MAX]; /* sinks.sink of each sink index */
	int nsinks;
	int64_t next_seq;
	int64_t stored_seq; /* every row up to this seq is in the store */
	int64_t ids_upto; /* ids_upto.seq: rows up to it have their key in ids */
	int64_t ids_max; /* no key in ids is above it (when ids_any) */
	int ids_any;
	struct id_tail tail; /* the keys of the rows above it */
	size_t memory_max;
	/* open: puts and acks since the last commit; job: what the running
	 * commit stores (its first job_k puts), or what failed commits left.
	 * Every seq in job is below every seq in open. */
	struct batch open, job;
	size_t job_k;
	int running; /* job handed over, result not taken back yet */
	int failing; /* a commit failed; the rows it held are not all stored yet */
	int stalled; /* the running job ended no transaction for XF_OUTBOX_STALL_NS */
	int64_t posted_ns;
	int64_t backlog[XF_OUTBOX_SINKS_MAX]; /* the last counted, while reads wait */
	uint64_t backlog_gen[XF_OUTBOX_SINKS_MAX]; /* gen + 1 when it was counted */
	uint64_t gen; /* + 1 per commit that ended, stored or not */
	struct xf_outbox_stats stats;
	char errmsg[512];
	/* the writer thread; w_* under mu */
	int threaded, mu_init;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int w_post, w_done, w_quit;
	int w_rc; /* the job's SQLite result code */
	size_t w_stored; /* puts of the job stored so far */
	uint64_t w_txns; /* and its transactions committed */
	int64_t w_progress_ns; /* when its last transaction ended */
	char w_err[512]; /* and its message, set by the writer */
};

static int hex_digit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int id_valid(const char *id)
{
	int i;

	for (i = 0; i < XF_ALERT_ID_LEN; i++)
		if (hex_digit(id[i]) < 0)
			return 0;
	return id[i] == 0;
}

/*
 * The id's first 8 and last 8 hex digits as one integer, exactly as
 * migration 2 computes it in SQL (the test compares them). The first 8 are
 * xf_alert_id()'s window start, so an index on the key keeps each window's
 * alerts together; the last 8 are hash bits. Two ids may share a key: the
 * lookup compares the whole id.
 */
int64_t xf_outbox_idkey(const char *id)
{
	uint64_t k = 0;
	int i;

	for (i = 0; i < 8; i++)
		k = k << 4 | (uint64_t)(hex_digit(id[i]) & 15);
	for (i = XF_ALERT_ID_LEN - 8; i < XF_ALERT_ID_LEN; i++)
		k = k << 4 | (uint64_t)(hex_digit(id[i]) & 15);
	return (int64_t)k;
}

static size_t tail_bucket(const struct id_tail *t, int64_t key)
{
	uint64_t h = (uint64_t)key * 0x9e3779b97f4a7c15ULL;

	return (size_t)(h >> 32) & (t->nbuckets - 1);
}

/* The seq of the newest tail entry of id, 0 if none. */
static int64_t tail_find(const struct id_tail *t, int64_t key, const char *id)
{
	uint32_t i;

	if (!t->n)
		return 0;
	for (i = t->head[tail_bucket(t, key)]; i != TAIL_NONE; i = t->ent[i].next)
		if (t->ent[i].key == key && !memcmp(t->ent[i].id, id, XF_ALERT_ID_LEN))
			return t->ent[i].seq;
	return 0;
}

static void tail_link(struct id_tail *t, uint32_t i)
{
	size_t b = tail_bucket(t, t->ent[i].key);

	t->ent[i].next = t->head[b];
	t->head[b] = i;
}

static int tail_add(struct id_tail *t, int64_t key, const char *id, int64_t seq)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		struct tail_ent *e = realloc(t->ent, cap * sizeof(*e));
		uint32_t *h;

		if (!e)
			return -ENOMEM;
		t->ent = e;
		if (cap > UINT32_MAX || !(h = malloc(cap * sizeof(*h))))
			return -ENOMEM;
		free(t->head);
		t->head = h;
		t->cap = t->nbuckets = cap;
		/* relink oldest first, so every chain stays newest first */
		memset(t->head, 0xff, cap * sizeof(*h));
		for (size_t i = 0; i < t->n; i++)
			tail_link(t, (uint32_t)i);
	}
	t->ent[t->n] = (struct tail_ent){ .key = key, .seq = seq };
	memcpy(t->ent[t->n].id, id, XF_ALERT_ID_LEN);
	tail_link(t, (uint32_t)t->n);
	t->n++;
	return 0;
}

/* Forget the entries from n on (a rolled back transaction's): the newest
 * entry is always the head of its chain. */
static void tail_truncate(struct id_tail *t, size_t n)
{
	while (t->n > n) {
		const struct tail_ent *e = &t->ent[--t->n];

		t->head[tail_bucket(t, e->key)] = e->next;
	}
}

static void tail_free(struct id_tail *t)
{
	free(t->ent);
	free(t->head);
}

const char *xf_outbox_schema_sql(int version)
{
	if (version < 1 || version > XF_OUTBOX_SCHEMA_VERSION)
		return NULL;
	return migrations[version];
}

static int sqlite_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
		return -EROFS;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
		return -EINVAL;
	default:
		return -EIO;
	}
}

/* What to do about the failures an operator can meet at open. */
static const char *sqlite_hint(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_NOTADB:
		return " (not an SQLite file: move it away or point the outbox elsewhere)";
	case SQLITE_CORRUPT:
		return " (the file is damaged: move it away, exfilter starts a new outbox; "
		       "sqlite3 .recover may save its rows)";
	case SQLITE_FULL:
		return " (the disk is full)";
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
		return " (check the permissions of the file and its directory)";
	default:
		return "";
	}
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t n = *cap ? *cap : 64;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	q = realloc(*p, n * elem);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

/* Step a statement that returns no rows and make it reusable. */
static int run(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* The record's strings are fixed arrays a caller may have filled to the brim. */
static void bind_str(sqlite3_stmt *st, int col, const char *s, size_t size)
{
	sqlite3_bind_text(st, col, s, (int)strnlen(s, size), SQLITE_STATIC);
}

static void col_str(sqlite3_stmt *st, int col, char *dst, size_t size)
{
	const unsigned char *s = sqlite3_column_text(st, col);
	size_t n = s ? (size_t)sqlite3_column_bytes(st, col) : 0;

	if (n >= size)
		n = size - 1;
	if (n)
		memcpy(dst, s, n);
	dst[n] = 0;
}

/* Columns in ROW_COLUMNS order; rec->json points into the statement. */
static void row_read(sqlite3_stmt *st, struct xf_out_row *row, struct xf_alert_rec *rec)
{
	row->seq = sqlite3_column_int64(st, 0);
	col_str(st, 1, rec->id, sizeof(rec->id));
	rec->rev = (uint32_t)sqlite3_column_int64(st, 2);
	rec->ts_ms = sqlite3_column_int64(st, 3);
	col_str(st, 4, rec->client, sizeof(rec->client));
	col_str(st, 5, rec->domain, sizeof(rec->domain));
	rec->score = sqlite3_column_double(st, 6);
	col_str(st, 7, rec->severity, sizeof(rec->severity));
	col_str(st, 8, rec->action, sizeof(rec->action));
	rec->json = (const char *)sqlite3_column_text(st, 9);
	rec->json_len = (size_t)sqlite3_column_bytes(st, 9);
	if (!rec->json)
		rec->json = "";
	row->rec = rec;
}

static int set_err(struct xf_outbox *ob, const char *what, int rc)
{
	snprintf(ob->errmsg, sizeof(ob->errmsg), "failed to %s: %s%s", what,
		 sqlite3_errmsg(ob->rdb), sqlite_hint(rc));
	return sqlite_errno(rc);
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* One-shot integer query for open: schema checks, sink ids, max(seq). */
static int query_int(sqlite3 *db, const char *sql, const char *arg, int64_t *out)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	if (arg)
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		*out = -1;
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

/*
 * Create the file ourselves so it is 0600 whatever the umask: alerts name
 * clients and the domains they used. SQLite gives -wal and -shm the mode
 * of the database file.
 */
static int create_private(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0)
		return errno == EEXIST ? 0 : -errno;
	if (fchmod(fd, 0600)) {
		int e = -errno;

		close(fd);
		unlink(path);
		return e;
	}
	close(fd);
	return 0;
}

/* journal_mode answers with the mode it ended up in, not an error. */
static int wal_on(sqlite3 *db)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rc = strcmp((const char *)sqlite3_column_text(st, 0), "wal") ? SQLITE_ERROR
									     : SQLITE_OK;
	sqlite3_finalize(st);
	return rc;
}

/* The PRAGMAs of tuning_sql, and for a store with no schema yet (fresh), the
 * page size: it can only change before the first table, and before WAL. */
static int tune(sqlite3 *db, int fresh)
{
	char sql[64];
	int64_t page;
	int rc = SQLITE_OK;

	if (fresh) {
		snprintf(sql, sizeof(sql), "PRAGMA page_size = %d", XF_OUTBOX_PAGE_SIZE);
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	}
	if (rc == SQLITE_OK)
		rc = wal_on(db);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, tuning_sql, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = query_int(db, "PRAGMA page_size", NULL, &page);
	if (rc != SQLITE_OK)
		return rc;
	snprintf(sql, sizeof(sql), "PRAGMA wal_autocheckpoint = %lld",
		 (long long)(XF_OUTBOX_WAL_CKPT_BYTES / (page > 0 ? page : 4096)));
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* Refuse what is not ours before anything writes to it. */
static int check_schema(sqlite3 *db, char *cause, size_t len, int *rc)
{
	int64_t objects, app_id, version;

	/* Reading sqlite_master parses the header and the whole schema, so a
	 * foreign or damaged file fails here with SQLite's own words. */
	*rc = query_int(db, "SELECT count(*) FROM sqlite_master", NULL, &objects);
	if (*rc == SQLITE_OK)
		*rc = query_int(db, "PRAGMA application_id", NULL, &app_id);
	if (*rc == SQLITE_OK)
		*rc = query_int(db, "PRAGMA user_version", NULL, &version);
	if (*rc != SQLITE_OK) {
		snprintf(cause, len, "%s%s", sqlite3_errmsg(db), sqlite_hint(*rc));
		return -1;
	}
	if (app_id && app_id != XF_OUTBOX_APP_ID) {
		snprintf(cause, len, "not an exfilter outbox (application_id %#llx)",
			 (unsigned long long)app_id);
		return -1;
	}
	if (version > XF_OUTBOX_SCHEMA_VERSION) {
		snprintf(cause, len,
			 "schema version %lld is newer than this exfilter knows (%d): "
			 "run the exfilter that wrote it, or use another file",
			 (long long)version, XF_OUTBOX_SCHEMA_VERSION);
		return -1;
	}
	if (!version && objects) {
		snprintf(cause, len,
			 "not an exfilter outbox (an SQLite file with %lld objects and no "
			 "schema version)",
			 (long long)objects);
		return -1;
	}
	return (int)version;
}

static int migrate(sqlite3 *db, char *cause, size_t len)
{
	int64_t v = 0;
	int rc, i;

	rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	/* Another sensor may have migrated while we waited for the lock. */
	if (rc == SQLITE_OK)
		rc = query_int(db, "PRAGMA user_version", NULL, &v);
	for (i = (int)v + 1; rc == SQLITE_OK && i <= XF_OUTBOX_SCHEMA_VERSION; i++)
		rc = sqlite3_exec(db, migrations[i], NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = query_int(db, "PRAGMA user_version", NULL, &v);
	if (rc == SQLITE_OK && v != XF_OUTBOX_SCHEMA_VERSION) {
		snprintf(cause, len, "migration left schema version %lld, not %d", (long long)v,
			 XF_OUTBOX_SCHEMA_VERSION);
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		snprintf(cause, len, "failed to migrate to schema version %d: %s%s",
			 XF_OUTBOX_SCHEMA_VERSION, sqlite3_errmsg(db), sqlite_hint(rc));
		if (!sqlite3_get_autocommit(db))
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

static int sinks_register(struct xf_outbox *ob, const char *const *sinks, int nsinks, char *cause,
			  size_t len)
{
	int rc = SQLITE_OK, i, j;
	int64_t id;

	for (i = 0; i < nsinks; i++) {
		if (!sinks[i] || !*sinks[i]) {
			snprintf(cause, len, "sink %d has no name", i);
			return -1;
		}
		for (j = 0; j < i; j++) {
			if (!strcmp(sinks[i], sinks[j])) {
				snprintf(cause, len, "sink name %s given twice", sinks[i]);
				return -1;
			}
		}
		rc = query_int(ob->db, "SELECT sink FROM sinks WHERE name = ?1", sinks[i], &id);
		if (rc == SQLITE_OK && id < 0) {
			rc = query_int(ob->db, "INSERT INTO sinks (name) VALUES (?1)", sinks[i],
				       &id);
			id = sqlite3_last_insert_rowid(ob->db);
		}
		if (rc != SQLITE_OK)
			break;
		ob->sink_id[i] = id;
	}
	if (rc != SQLITE_OK) {
		snprintf(cause, len, "failed to register sink %s: %s%s", sinks[i],
			 sqlite3_errmsg(ob->db), sqlite_hint(rc));
		return -1;
	}
	ob->nsinks = nsinks;
	return 0;
}

static void batch_free(struct batch *b)
{
	free(b->puts);
	free(b->arena);
	free(b->acks);
}

static void outbox_free(struct xf_outbox *ob)
{
	int i;

	for (i = 0; i < ST_MAX; i++)
		sqlite3_finalize(ob->st[i]);
	sqlite3_close_v2(ob->rdb);
	sqlite3_close_v2(ob->db);
	batch_free(&ob->open);
	batch_free(&ob->job);
	tail_free(&ob->tail);
	if (ob->mu_init) {
		pthread_mutex_destroy(&ob->mu);
		pthread_cond_destroy(&ob->cv);
	}
	free(ob);
}

/* Keys go into ids: a put of a larger key needs no probe of ids. */
static void ids_bound(struct xf_outbox *ob, int64_t key)
{
	if (!ob->ids_any || key > ob->ids_max)
		ob->ids_max = key;
	ob->ids_any = 1;
}

/* ids_upto, and the keys of the rows above it into the tail map. */
static int tail_load(struct xf_outbox *ob)
{
	sqlite3_stmt *st;
	int rc;

	rc = query_int(ob->db, "SELECT seq FROM ids_upto", NULL, &ob->ids_upto);
	if (rc != SQLITE_OK)
		return rc;
	if (ob->ids_upto < 0) /* the row is gone: index everything again */
		rc = sqlite3_exec(ob->db,
				  "BEGIN IMMEDIATE; DELETE FROM ids; "
				  "INSERT INTO ids (idkey, seq) SELECT idkey, seq FROM alerts "
				  "ORDER BY idkey, seq; INSERT INTO ids_upto (seq) "
				  "SELECT coalesce(max(seq), 0) FROM alerts; COMMIT",
				  NULL, NULL, NULL);
	if (rc == SQLITE_OK && ob->ids_upto < 0)
		rc = query_int(ob->db, "SELECT seq FROM ids_upto", NULL, &ob->ids_upto);
	if (rc != SQLITE_OK) {
		if (!sqlite3_get_autocommit(ob->db))
			sqlite3_exec(ob->db, "ROLLBACK", NULL, NULL, NULL);
		return rc;
	}
	rc = sqlite3_prepare_v2(ob->db, "SELECT max(idkey) FROM ids", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER)
		ids_bound(ob, sqlite3_column_int64(st, 0));
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return rc;
	rc = sqlite3_prepare_v2(ob->db,
				"SELECT idkey, seq, id FROM alerts WHERE seq > ?1 ORDER BY seq", -1,
				&st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(st, 1, ob->ids_upto);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 2);

		if (!id || sqlite3_column_bytes(st, 2) != XF_ALERT_ID_LEN)
			continue; /* never written by the sensor, never looked up */
		if (tail_add(&ob->tail, sqlite3_column_int64(st, 0), id,
			     sqlite3_column_int64(st, 1))) {
			rc = SQLITE_NOMEM;
			break;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* The reader's connection: the same file, opened once the schema is ours. */
static int open_reader(struct xf_outbox *ob, const char *path)
{
	int rc = sqlite3_open_v2(path, &ob->rdb, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);

	if (rc != SQLITE_OK)
		return rc;
	sqlite3_extended_result_codes(ob->rdb, 1);
	sqlite3_busy_timeout(ob->rdb, XF_OUTBOX_BUSY_MS);
	/* it only reads: a bug that made it write would take the write lock
	 * from the writer's transactions */
	return sqlite3_exec(ob->rdb, "PRAGMA query_only = 1", NULL, NULL, NULL);
}

struct xf_outbox *xf_outbox_open(const char *path, const char *const *sinks, int nsinks,
				 size_t memory_max, char *err, size_t errlen)
{
	char cause[384] = "";
	struct xf_outbox *ob;
	int rc = SQLITE_OK, version, e = -EINVAL, i;
	int64_t max_seq;

	if (!path || !*path || nsinks < 0 || nsinks > XF_OUTBOX_SINKS_MAX || (nsinks && !sinks)) {
		snprintf(err, errlen, "failed to open outbox %s: bad arguments (at most %d sinks)",
			 path ? path : "(null)", XF_OUTBOX_SINKS_MAX);
		errno = EINVAL;
		return NULL;
	}
	ob = calloc(1, sizeof(*ob));
	if (!ob) {
		snprintf(err, errlen, "failed to open outbox %s: %s", path, strerror(ENOMEM));
		errno = ENOMEM;
		return NULL;
	}
	ob->memory_max = memory_max ? memory_max : XF_OUTBOX_MEMORY_DEFAULT;
	e = create_private(path);
	if (e) {
		snprintf(cause, sizeof(cause), "%s", strerror(-e));
		goto fail;
	}
	e = -EIO;
	/* NOMUTEX: each connection is used by one thread at a time (the
	 * caller's, or the writer's once started), so SQLite's own locking
	 * would buy nothing. */
	rc = sqlite3_open_v2(path, &ob->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(cause, sizeof(cause), "%s%s",
			 ob->db ? sqlite3_errmsg(ob->db) : sqlite3_errstr(rc), sqlite_hint(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(ob->db, 1);
	sqlite3_busy_timeout(ob->db, XF_OUTBOX_BUSY_MS);
	e = -ENOTSUP; /* a foreign or newer schema */
	version = check_schema(ob->db, cause, sizeof(cause), &rc);
	if (version < 0)
		goto fail;
	e = -EIO;
	/* WAL: the sensor writes while `exfilter alerts` and sinks read. */
	rc = tune(ob->db, !version);
	if (rc != SQLITE_OK) {
		snprintf(cause, sizeof(cause), "failed to switch to WAL mode: %s%s",
			 rc == SQLITE_ERROR ? "the file system does not support it"
					    : sqlite3_errmsg(ob->db),
			 sqlite_hint(rc));
		goto fail;
	}
	if (version < XF_OUTBOX_SCHEMA_VERSION && migrate(ob->db, cause, sizeof(cause)))
		goto fail;
	rc = open_reader(ob, path);
	if (rc != SQLITE_OK) {
		snprintf(cause, sizeof(cause), "failed to open a reader: %s%s",
			 ob->rdb ? sqlite3_errmsg(ob->rdb) : sqlite3_errstr(rc), sqlite_hint(rc));
		goto fail;
	}
	for (i = 0; i < ST_MAX; i++) {
		rc = sqlite3_prepare_v3(i >= ST_READ_FIRST ? ob->rdb : ob->db, stmt_sql[i], -1,
					SQLITE_PREPARE_PERSISTENT, &ob->st[i], NULL);
		if (rc != SQLITE_OK) {
			/* The version says ours but the tables do not match. */
			snprintf(cause, sizeof(cause), "schema does not match version %d: %s%s",
				 XF_OUTBOX_SCHEMA_VERSION,
				 sqlite3_errmsg(i >= ST_READ_FIRST ? ob->rdb : ob->db),
				 sqlite_hint(rc));
			goto fail;
		}
	}
	e = -EINVAL;
	if (sinks_register(ob, sinks, nsinks, cause, sizeof(cause)))
		goto fail;
	rc = query_int(ob->db, "SELECT coalesce(max(seq), 0) FROM alerts", NULL, &max_seq);
	if (rc != SQLITE_OK) {
		snprintf(cause, sizeof(cause), "%s%s", sqlite3_errmsg(ob->db), sqlite_hint(rc));
		goto fail;
	}
	ob->next_seq = max_seq + 1;
	ob->stored_seq = max_seq;
	rc = tail_load(ob);
	if (rc != SQLITE_OK) {
		snprintf(cause, sizeof(cause), "failed to read the alert ids: %s%s",
			 sqlite3_errmsg(ob->db), sqlite_hint(rc));
		goto fail;
	}
	return ob;
fail:
	snprintf(err, errlen, "failed to open outbox %s: %s", path, cause);
	outbox_free(ob);
	errno = rc != SQLITE_OK ? -sqlite_errno(rc) : -e;
	return NULL;
}

int64_t xf_outbox_put(struct xf_outbox *ob, const struct xf_alert_rec *rec)
{
	size_t jlen = rec->json ? rec->json_len : 0;
	struct batch *b = &ob->open;
	struct held_put *h;

	if (!id_valid(rec->id) || jlen > INT_MAX)
		return -EINVAL;
	if (ob->job.nputs + b->nputs >= ob->memory_max) {
		/* A batch outgrew the bound with nothing failing: commit it early
		 * (with a writer thread this only hands it over: the rows stay in
		 * memory until it is done, so the newest are dropped below).
		 * While commits fail, retrying here would only repeat the failure
		 * for every put, so the newest rows are the ones dropped. */
		if (!ob->failing && !ob->running)
			xf_outbox_commit(ob);
		if (ob->job.nputs + b->nputs >= ob->memory_max) {
			ob->stats.lost++;
			return -ENOBUFS;
		}
	}
	if (grow((void **)&b->puts, &b->puts_cap, b->nputs + 1, sizeof(*b->puts)) ||
	    grow((void **)&b->arena, &b->arena_cap, b->arena_len + jlen + 1, 1)) {
		ob->stats.lost++;
		return -ENOMEM;
	}
	h = &b->puts[b->nputs++];
	h->rec = *rec;
	h->rec.json = NULL;
	h->rec.json_len = jlen;
	h->json_off = b->arena_len;
	if (jlen)
		memcpy(b->arena + b->arena_len, rec->json, jlen);
	b->arena_len += jlen;
	h->seq = ob->next_seq++;
	return h->seq;
}

int xf_outbox_acked(struct xf_outbox *ob, int sink, int64_t seq)
{
	struct batch *b = &ob->open;

	/* A dropped ack only means the row is sent again: at least once. */
	if (sink < 0 || sink >= ob->nsinks)
		return -EINVAL;
	if (ob->job.nacks + b->nacks >= ob->memory_max * XF_OUTBOX_SINKS_MAX ||
	    grow((void **)&b->acks, &b->acks_cap, b->nacks + 1, sizeof(*b->acks)))
		return -ENOBUFS;
	b->acks[b->nacks++] = (struct held_ack){ .seq = seq, .sink = sink };
	return 0;
}

/* The row of id in this transaction: its seq, 0 if none, < 0 on error. */
static int64_t find_row(struct xf_outbox *ob, const struct xf_alert_rec *r, int64_t key, int *rc)
{
	sqlite3_stmt *st = ob->st[ST_FIND];
	int64_t seq = 0;

	sqlite3_bind_int64(st, 1, key);
	bind_str(st, 2, r->id, sizeof(r->id));
	*rc = sqlite3_step(st);
	if (*rc == SQLITE_ROW)
		seq = sqlite3_column_int64(st, 0);
	*rc = *rc == SQLITE_ROW || *rc == SQLITE_DONE ? SQLITE_OK : *rc;
	sqlite3_reset(st);
	return seq;
}

static int apply_put(struct xf_outbox *ob, const struct batch *b, const struct held_put *h)
{
	const struct xf_alert_rec *r = &h->rec;
	int64_t key = xf_outbox_idkey(r->id), old;
	sqlite3_stmt *st;
	int rc;

	/* ids holds no key above ids_max: a new window's ids need no probe */
	old = tail_find(&ob->tail, key, r->id);
	if (!old && ob->ids_any && key <= ob->ids_max) {
		old = find_row(ob, r, key, &rc);
		if (rc != SQLITE_OK)
			return rc;
	}
	/* ?2 and ?11 are the insert's only, ?12 the update's */
	st = ob->st[old ? ST_MOVE : ST_INSERT];
	sqlite3_bind_int64(st, 1, h->seq);
	sqlite3_bind_int64(st, 3, r->rev);
	sqlite3_bind_int64(st, 4, r->ts_ms);
	bind_str(st, 5, r->client, sizeof(r->client));
	bind_str(st, 6, r->domain, sizeof(r->domain));
	sqlite3_bind_double(st, 7, r->score);
	bind_str(st, 8, r->severity, sizeof(r->severity));
	bind_str(st, 9, r->action, sizeof(r->action));
	sqlite3_bind_text(st, 10, r->json_len ? b->arena + h->json_off : "", (int)r->json_len,
			  SQLITE_STATIC);
	if (old) {
		sqlite3_bind_int64(st, 12, old);
	} else {
		bind_str(st, 2, r->id, sizeof(r->id));
		sqlite3_bind_int64(st, 11, key);
	}
	rc = run(st);
	if (rc == SQLITE_OK && tail_add(&ob->tail, key, r->id, h->seq))
		rc = SQLITE_NOMEM;
	return rc;
}

/* Acks that may go with a transaction of the first k puts of b: those of
 * rows committed before or in it, not of rows still held after it. */
static int ack_ready(const struct batch *b, const struct held_ack *a, size_t k)
{
	return k >= b->nputs || a->seq < b->puts[k].seq;
}

/* A tail grown past XF_OUTBOX_TAIL_ROWS goes into ids with this
 * transaction, every row up to upto (the transaction's last seq). */
static int ids_flush(struct xf_outbox *ob, int64_t upto)
{
	int rc;

	sqlite3_bind_int64(ob->st[ST_IDS_ADD], 1, ob->ids_upto);
	rc = run(ob->st[ST_IDS_ADD]);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(ob->st[ST_IDS_UPTO], 1, upto);
	return run(ob->st[ST_IDS_UPTO]);
}

/* One transaction: puts [from, to) of b, and the acks that go with them
 * (ready once the first `to` puts are stored, not before the first `from`). */
static int apply_txn(struct xf_outbox *ob, const struct batch *b, size_t from, size_t to)
{
	sqlite3_stmt *ack = ob->st[ST_ACK];
	size_t i, mark = ob->tail.n;
	int rc, flush = 0;

	rc = run(ob->st[ST_BEGIN]);
	for (i = from; rc == SQLITE_OK && i < to; i++)
		rc = apply_put(ob, b, &b->puts[i]);
	for (i = 0; rc == SQLITE_OK && to > from && i < (size_t)ob->nsinks; i++) {
		sqlite3_bind_int64(ob->st[ST_PEND_ADD], 1, ob->sink_id[i]);
		sqlite3_bind_int64(ob->st[ST_PEND_ADD], 2, b->puts[from].seq);
		sqlite3_bind_int64(ob->st[ST_PEND_ADD], 3, b->puts[to - 1].seq);
		rc = run(ob->st[ST_PEND_ADD]);
	}
	/* Acks name rows a sink was handed (committed, or held while commits
	 * fail), so applying them after the puts gives the same result as in
	 * call order. */
	for (i = 0; rc == SQLITE_OK && i < b->nacks; i++) {
		if (!ack_ready(b, &b->acks[i], to) || (from && ack_ready(b, &b->acks[i], from)))
			continue;
		sqlite3_bind_int64(ack, 1, ob->sink_id[b->acks[i].sink]);
		sqlite3_bind_int64(ack, 2, b->acks[i].seq);
		rc = run(ack);
	}
	if (rc == SQLITE_OK && to > from && ob->tail.n >= XF_OUTBOX_TAIL_ROWS) {
		flush = 1;
		rc = ids_flush(ob, b->puts[to - 1].seq);
	}
	if (rc == SQLITE_OK)
		rc = run(ob->st[ST_COMMIT]);
	if (rc != SQLITE_OK) {
		/* rolled back (job_run makes sure): what this one added is not
		 * in the store */
		tail_truncate(&ob->tail, mark);
	} else if (flush) {
		ob->ids_upto = b->puts[to - 1].seq;
		for (i = 0; i < ob->tail.n; i++)
			ids_bound(ob, ob->tail.ent[i].key);
		tail_truncate(&ob->tail, 0);
	}
	return rc;
}

/* The first k puts and the acks that went with them are durable: forget them. */
static void batch_drop(struct batch *b, size_t k)
{
	size_t i, j, off = k < b->nputs ? b->puts[k].json_off : b->arena_len;

	for (i = j = 0; i < b->nacks; i++)
		if (!ack_ready(b, &b->acks[i], k))
			b->acks[j++] = b->acks[i];
	b->nacks = j;
	b->nputs -= k;
	memmove(b->puts, b->puts + k, b->nputs * sizeof(*b->puts));
	for (i = 0; i < b->nputs; i++)
		b->puts[i].json_off -= off;
	b->arena_len -= off;
	memmove(b->arena, b->arena + off, b->arena_len);
}

/* Move everything in from to the end of to (from's seqs are the newer). */
static int batch_append(struct batch *to, struct batch *from)
{
	size_t i;

	if (grow((void **)&to->puts, &to->puts_cap, to->nputs + from->nputs, sizeof(*to->puts)) ||
	    grow((void **)&to->arena, &to->arena_cap, to->arena_len + from->arena_len + 1, 1) ||
	    grow((void **)&to->acks, &to->acks_cap, to->nacks + from->nacks, sizeof(*to->acks)))
		return -ENOMEM;
	for (i = 0; i < from->nputs; i++) {
		to->puts[to->nputs] = from->puts[i];
		to->puts[to->nputs++].json_off += to->arena_len;
	}
	memcpy(to->arena + to->arena_len, from->arena, from->arena_len);
	to->arena_len += from->arena_len;
	memcpy(to->acks + to->nacks, from->acks, from->nacks * sizeof(*to->acks));
	to->nacks += from->nacks;
	from->nputs = from->arena_len = from->nacks = 0;
	return 0;
}

/* --- the job: one transaction, on the writer thread or in the caller --- */

/*
 * The writer's side: store the first job_k puts of job and their acks, in
 * transactions of at most XF_OUTBOX_TXN_ROWS puts. A writer that fell
 * behind gets every put since its last job, which may be 100k rows: one
 * transaction of them outgrows the page cache (cache_size), and a disk
 * that answers slowly would look hung for the whole of it. w_stored says
 * how many puts are durable, w_progress_ns when the last transaction ended.
 */
static void job_run(struct xf_outbox *ob)
{
	size_t from = 0, to;
	uint64_t txns = 0;
	int rc;

	do {
		to = ob->job_k - from > XF_OUTBOX_TXN_ROWS ? from + XF_OUTBOX_TXN_ROWS : ob->job_k;
		rc = apply_txn(ob, &ob->job, from, to);
		if (rc == SQLITE_OK) {
			from = to;
			txns++;
		}
		if (ob->threaded)
			pthread_mutex_lock(&ob->mu);
		ob->w_stored = from;
		ob->w_txns = txns;
		ob->w_progress_ns = mono_ns();
		if (ob->threaded)
			pthread_mutex_unlock(&ob->mu);
	} while (rc == SQLITE_OK && from < ob->job_k);
	ob->w_rc = rc;
	if (rc == SQLITE_OK)
		return;
	snprintf(ob->w_err, sizeof(ob->w_err), "failed to commit outbox batch: %s%s",
		 sqlite3_errmsg(ob->db), sqlite_hint(rc));
	/* SQLite rolls back by itself on some of these (FULL, IOERR, NOMEM);
	 * a transaction still open must not swallow the next batch. */
	if (!sqlite3_get_autocommit(ob->db))
		run(ob->st[ST_ROLLBACK]);
}

static void *writer_main(void *arg)
{
	struct xf_outbox *ob = arg;

	pthread_mutex_lock(&ob->mu);
	for (;;) {
		while (!ob->w_post && !ob->w_quit)
			pthread_cond_wait(&ob->cv, &ob->mu);
		if (!ob->w_post)
			break;
		pthread_mutex_unlock(&ob->mu);
		job_run(ob);
		pthread_mutex_lock(&ob->mu);
		ob->w_post = 0;
		ob->w_done = 1;
		pthread_cond_broadcast(&ob->cv);
	}
	pthread_mutex_unlock(&ob->mu);
	return NULL;
}

int xf_outbox_writer_start(struct xf_outbox *ob)
{
	pthread_condattr_t ca;
	sigset_t all, old;
	int e;

	if (ob->threaded)
		return -EALREADY;
	/* timed waits (xf_outbox_flush_for) on the monotonic clock */
	e = -pthread_condattr_init(&ca);
	if (!e && !(e = -pthread_condattr_setclock(&ca, CLOCK_MONOTONIC)))
		e = -pthread_cond_init(&ob->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (!e && (e = -pthread_mutex_init(&ob->mu, NULL)))
		pthread_cond_destroy(&ob->cv);
	if (e)
		return e;
	ob->mu_init = 1;
	/* signals are the caller's business (the sensor's stop flag) */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = -pthread_create(&ob->thread, NULL, writer_main, ob);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e)
		return e;
	ob->threaded = 1;
	return 0;
}

/* Hand the open batch (behind what failed commits held) to the writer. */
static void job_post(struct xf_outbox *ob)
{
	struct batch t;

	if (!ob->job.nputs && !ob->job.nacks) {
		t = ob->job; /* empty: swap, so the arrays are reused */
		ob->job = ob->open;
		ob->open = t;
	} else {
		/* held rows first, then the new ones; out of memory, the new
		 * ones wait in open for the next post */
		batch_append(&ob->job, &ob->open);
	}
	ob->job_k = ob->job.nputs;
	/* After a failure, a chunk per call: a retry that fails again, or the
	 * drain of a large backlog once it succeeds, never holds the caller
	 * for long. The writer thread holds nobody: it goes whole. */
	if (ob->failing && !ob->threaded && ob->job_k > XF_OUTBOX_RETRY_ROWS)
		ob->job_k = XF_OUTBOX_RETRY_ROWS;
	ob->running = 1;
	ob->posted_ns = mono_ns();
	if (!ob->threaded) {
		job_run(ob);
		ob->w_done = 1;
		return;
	}
	pthread_mutex_lock(&ob->mu);
	ob->w_post = 1;
	pthread_cond_signal(&ob->cv);
	pthread_mutex_unlock(&ob->mu);
}

/* Wait for the running job until deadline_ns (CLOCK_MONOTONIC; < 0: for
 * ever): 0 when it is done, -ETIMEDOUT. Without a writer thread, 0: the job
 * ran in job_post(). */
static int job_wait(struct xf_outbox *ob, int64_t deadline_ns)
{
	struct timespec ts = { .tv_sec = deadline_ns / 1000000000LL,
			       .tv_nsec = deadline_ns % 1000000000LL };
	int done;

	if (!ob->threaded || !ob->running)
		return 0;
	pthread_mutex_lock(&ob->mu);
	while (!ob->w_done) {
		if (deadline_ns < 0)
			pthread_cond_wait(&ob->cv, &ob->mu);
		else if (pthread_cond_timedwait(&ob->cv, &ob->mu, &ts) == ETIMEDOUT)
			break;
	}
	done = ob->w_done;
	pthread_mutex_unlock(&ob->mu);
	return done ? 0 : -ETIMEDOUT;
}

/* Take back the result of a finished job: 1 while it runs, 0 when none ran
 * or it was stored, < 0 (a negative errno) when it failed. */
static int job_collect(struct xf_outbox *ob)
{
	int done;

	if (!ob->running)
		return 0;
	if (ob->threaded) {
		pthread_mutex_lock(&ob->mu);
		done = ob->w_done;
		pthread_mutex_unlock(&ob->mu);
		if (!done)
			return 1;
	}
	ob->w_done = 0;
	ob->running = 0;
	ob->stalled = 0;
	ob->gen++;
	ob->stats.commits += ob->w_txns;
	/* what the transactions before a failed one stored is durable */
	ob->stats.stored += ob->w_stored;
	if (ob->w_stored)
		ob->stored_seq = ob->job.puts[ob->w_stored - 1].seq;
	if (ob->w_rc == SQLITE_OK || ob->w_stored)
		batch_drop(&ob->job, ob->w_stored);
	if (ob->w_rc == SQLITE_OK) {
		if (!ob->job.nputs)
			ob->failing = 0;
		return 0;
	}
	snprintf(ob->errmsg, sizeof(ob->errmsg), "%s", ob->w_err);
	ob->stats.commit_errors++;
	ob->failing = 1;
	return sqlite_errno(ob->w_rc);
}

/* How long the running job has gone without a transaction ending: a job
 * of many transactions that keeps storing them is slow, not hung. */
static int64_t job_quiet_ns(struct xf_outbox *ob)
{
	int64_t last;

	pthread_mutex_lock(&ob->mu);
	last = ob->w_progress_ns > ob->posted_ns ? ob->w_progress_ns : ob->posted_ns;
	pthread_mutex_unlock(&ob->mu);
	return mono_ns() - last;
}

int xf_outbox_commit(struct xf_outbox *ob)
{
	int e = job_collect(ob);

	if (e > 0) {
		/* Still writing. Past XF_OUTBOX_STALL_NS the caller hears of it
		 * and its rows are held, as after a failure. */
		int64_t quiet = job_quiet_ns(ob);

		if (!ob->stalled && quiet >= XF_OUTBOX_STALL_NS) {
			ob->stalled = 1;
			snprintf(ob->errmsg, sizeof(ob->errmsg),
				 "failed to commit outbox batch: no answer from the store for "
				 "%lld ms (a hung disk?)",
				 (long long)(quiet / 1000000));
		}
		return ob->stalled ? -ETIMEDOUT : 0;
	}
	/* A failure is reported once; the caller chooses when to retry (the
	 * next call). Without a writer there is never one left to take. */
	if (e < 0)
		return e;
	if (!ob->open.nputs && !ob->open.nacks && !ob->job.nputs && !ob->job.nacks)
		return 0;
	job_post(ob);
	return ob->threaded ? 0 : job_collect(ob);
}

int xf_outbox_flush_for(struct xf_outbox *ob, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? -1 : mono_ns() + (int64_t)timeout_ms * 1000000LL;
	int e;

	for (;;) {
		if (job_wait(ob, deadline)) {
			ob->stalled = 1; /* its rows are held: pending hands them out */
			snprintf(ob->errmsg, sizeof(ob->errmsg),
				 "failed to commit outbox batch: no answer from the store for "
				 "%lld ms (a hung disk?)",
				 (long long)((mono_ns() - ob->posted_ns) / 1000000));
			return -ETIMEDOUT;
		}
		e = job_collect(ob);
		if (e < 0)
			return e;
		if (!ob->open.nputs && !ob->open.nacks && !ob->job.nputs && !ob->job.nacks)
			return 0;
		job_post(ob);
	}
}

int xf_outbox_flush(struct xf_outbox *ob)
{
	return xf_outbox_flush_for(ob, -1);
}

int xf_outbox_close_for(struct xf_outbox *ob, int timeout_ms)
{
	if (!ob)
		return 0;
	if (xf_outbox_flush_for(ob, timeout_ms) == -ETIMEDOUT) {
		/* The writer is stuck in SQLite and cannot be called off: leave
		 * it the outbox (never freed) and let the process exit. */
		pthread_detach(ob->thread);
		return -ETIMEDOUT;
	}
	if (ob->threaded) {
		pthread_mutex_lock(&ob->mu);
		ob->w_quit = 1;
		pthread_cond_signal(&ob->cv);
		pthread_mutex_unlock(&ob->mu);
		pthread_join(ob->thread, NULL);
	}
	outbox_free(ob);
	return 0;
}

void xf_outbox_close(struct xf_outbox *ob)
{
	xf_outbox_close_for(ob, -1);
}

static int visit(struct xf_outbox *ob, sqlite3_stmt *st, xf_outbox_row_fn fn, void *ctx,
		 const char *what)
{
	struct xf_alert_rec rec;
	struct xf_out_row row;
	int rc, n = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row_read(st, &row, &rec);
		n++;
		if (fn(ctx, &row)) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return set_err(ob, what, rc);
	return n;
}

struct visit_stop {
	xf_outbox_row_fn fn;
	void *ctx;
	int stopped;
};

static int visit_fn(void *ctx, const struct xf_out_row *row)
{
	struct visit_stop *v = ctx;

	v->stopped = v->fn(v->ctx, row);
	return v->stopped;
}

/* While commits fail (or the writer is stalled), rows held in memory are
 * handed out after the committed ones: every held seq is above every
 * committed one, and job's below open's. */
static int visit_held(const struct batch *b, int64_t after, int max, struct visit_stop *v)
{
	struct xf_alert_rec rec;
	struct xf_out_row row = { .rec = &rec };
	int n = 0;

	for (size_t i = 0; i < b->nputs && !v->stopped && (max <= 0 || n < max); i++) {
		const struct held_put *h = &b->puts[i];

		if (h->seq <= after)
			continue;
		rec = h->rec;
		rec.json = h->rec.json_len ? b->arena + h->json_off : "";
		row.seq = h->seq;
		n++;
		visit_fn(v, &row);
	}
	return n;
}

int xf_outbox_pending(struct xf_outbox *ob, int sink, int64_t after, int max, xf_outbox_row_fn fn,
		      void *ctx)
{
	sqlite3_stmt *st = ob->st[ST_PENDING];
	struct visit_stop v = { fn, ctx, 0 };
	int n;

	if (sink < 0 || sink >= ob->nsinks || !fn)
		return -EINVAL;
	/*
	 * No read while the writer thread holds a job: a read transaction may
	 * write the WAL index (-shm, mapped), and on a disk that hangs that
	 * write blocks the caller, the sensor's loop, as surely as a commit
	 * would. A sink that has taken every stored row gets the held ones
	 * from memory; one behind waits for the job, so rows go out in order.
	 */
	if (ob->threaded && ob->running) {
		if (after < ob->stored_seq)
			return 0;
		n = visit_held(&ob->job, after, max, &v);
		if (v.stopped || (max > 0 && n >= max))
			return n;
		return n + visit_held(&ob->open, after, max > 0 ? max - n : 0, &v);
	}
	/* A sink that took every stored row has nothing to read while nothing
	 * is held: no read, so an idle writer and a disk that hangs meanwhile
	 * cannot hold the caller either (the sensor pumps every loop). */
	if (!ob->failing && !ob->stalled && after >= ob->stored_seq)
		return 0;
	sqlite3_bind_int64(st, 1, ob->sink_id[sink]);
	sqlite3_bind_int64(st, 2, after);
	sqlite3_bind_int(st, 3, max > 0 ? max : -1);
	n = visit(ob, st, visit_fn, &v, "read pending alerts");
	/* A failing disk may fail reads too: the held rows still go out. */
	if (!(ob->failing || ob->stalled) || v.stopped || (n > 0 && max > 0 && n >= max))
		return n;
	if (n < 0)
		n = 0;
	n += visit_held(&ob->job, after, max > 0 ? max - n : 0, &v);
	if (v.stopped || (max > 0 && n >= max))
		return n;
	return n + visit_held(&ob->open, after, max > 0 ? max - n : 0, &v);
}

int64_t xf_outbox_backlog(struct xf_outbox *ob, int sink)
{
	sqlite3_stmt *st = ob->st[ST_BACKLOG];
	int64_t n;
	int rc;

	if (sink < 0 || sink >= ob->nsinks)
		return -EINVAL;
	/* No read meanwhile (see xf_outbox_pending()), nor when no commit has
	 * ended since the last count: only this outbox writes to the store. */
	if ((ob->threaded && ob->running) || ob->backlog_gen[sink] == ob->gen + 1)
		return ob->backlog[sink];
	sqlite3_bind_int64(st, 1, ob->sink_id[sink]);
	rc = sqlite3_step(st);
	n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return set_err(ob, "count the backlog", rc);
	ob->backlog[sink] = n;
	ob->backlog_gen[sink] = ob->gen + 1;
	return n;
}

void xf_outbox_stats(const struct xf_outbox *ob, struct xf_outbox_stats *st)
{
	*st = ob->stats;
	st->queued = ob->job.nputs + ob->open.nputs;
	/* puts since the failure too */
	st->held = ob->failing || ob->stalled ? st->queued : 0;
}

int xf_outbox_query(struct xf_outbox *ob, int64_t since_ms, const char *domain, const char *client,
		    int limit, xf_outbox_row_fn fn, void *ctx)
{
	sqlite3_stmt *st = ob->st[ST_QUERY];
	int n;

	if (!fn)
		return -EINVAL;
	sqlite3_bind_int64(st, 1, since_ms ? since_ms : INT64_MIN);
	if (domain && *domain)
		sqlite3_bind_text(st, 2, domain, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 2);
	if (client && *client)
		sqlite3_bind_text(st, 3, client, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 3);
	sqlite3_bind_int(st, 4, limit > 0 ? limit : -1);
	n = visit(ob, st, fn, ctx, "query alerts");
	/* The caller's strings are bound SQLITE_STATIC: do not keep them. */
	sqlite3_clear_bindings(st);
	return n;
}

const char *xf_outbox_errmsg(const struct xf_outbox *ob)
{
	return ob->errmsg;
}

struct sqlite3 *xf_outbox_db(struct xf_outbox *ob)
{
	return ob->db;
}
