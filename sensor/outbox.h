/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * outbox.h - the alert outbox: every alert is committed to SQLite first
 * (WAL, batched transactions, schemas/sqlite.sql, PRAGMA user_version with
 * migrations), then handed to each sink; a sink's delivery report marks the
 * row exported for that sink. What was never acknowledged is sent again
 * after a restart, so a broker outage delays alerts and loses none.
 */
#ifndef XF_OUTBOX_H
#define XF_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#define XF_OUTBOX_SINKS_MAX 4
#define XF_ALERT_ID_LEN 32 /* hex characters */
#define XF_OUTBOX_MEMORY_DEFAULT 100000 /* rows held when memory_max is 0 */

/* One alert as stored. json is the whole ECS document. */
struct xf_alert_rec {
	char id[XF_ALERT_ID_LEN + 1]; /* stable across updates of the same alert */
	uint32_t rev; /* 1 when raised, +1 per update worth re-exporting */
	int64_t ts_ms; /* @timestamp, ms since the epoch */
	char client[48]; /* source.ip */
	char domain[256]; /* dns.question.registered_domain (or SNI / Host) */
	double score; /* 0-100 */
	char severity[16]; /* low, medium, high, critical */
	char action[16]; /* alerted, would-block, blocked */
	const char *json;
	size_t json_len;
};

/* A committed row handed to a sink. */
struct xf_out_row {
	int64_t seq; /* outbox position: grows with every insert or update */
	const struct xf_alert_rec *rec;
};

typedef int (*xf_outbox_row_fn)(void *ctx, const struct xf_out_row *row);

struct xf_outbox_stats {
	uint64_t stored; /* rows committed */
	uint64_t commits; /* transactions */
	uint64_t commit_errors; /* failed commits (disk full, read-only, I/O) */
	uint64_t held; /* rows waiting in memory for a commit that failed */
	uint64_t lost; /* rows dropped: memory bound reached, or held at close */
	uint64_t queued; /* rows put and not committed yet (held or not) */
};

struct xf_outbox;

/*
 * Open or create the store at path, create or migrate the schema, and
 * register the sinks by name (their export state is kept per name).
 * A corrupt or foreign file, or a newer schema, is an error naming the
 * path and the cause, written to err. memory_max bounds the rows in memory
 * not committed yet (waiting for a commit, or held while commits fail or
 * hang): a put beyond it is dropped and counted lost. Returns NULL on error.
 */
struct xf_outbox *xf_outbox_open(const char *path, const char *const *sinks, int nsinks,
				 size_t memory_max, char *err, size_t errlen);
void xf_outbox_close(struct xf_outbox *ob);

/* Close, waiting at most timeout_ms for the writer thread (< 0: no bound).
 * A writer that has not answered by then is stuck in the disk and cannot be
 * called off: the outbox is left to it, never freed, and -ETIMEDOUT says
 * its rows were not stored. For a process about to exit. */
int xf_outbox_close_for(struct xf_outbox *ob, int timeout_ms);

/*
 * Insert an alert, or replace the row with the same id (the replacement gets
 * a new seq and is pending again for every sink). Buffered in the open batch;
 * xf_outbox_commit() makes it durable. Returns the new seq, or < 0 (-EINVAL
 * for an id that is not XF_ALERT_ID_LEN lower-case hex characters).
 */
int64_t xf_outbox_put(struct xf_outbox *ob, const struct xf_alert_rec *rec);

/* Commit the open batch (puts and acks). On a failed commit the rows stay in
 * memory (up to memory_max, then counted as lost) and are retried on the next
 * commit, at most 2000 of them per call until all are stored, so a retry
 * never stalls the caller for long; returns < 0 but the outbox stays usable.
 * While rows are held, xf_outbox_pending() hands them out too.
 *
 * With a writer thread (xf_outbox_writer_start) it never waits: it takes
 * back the result of the commit handed over before, returning its error if
 * it failed (nothing new is handed over then: the next call retries, so the
 * caller paces retries), and hands the open batch over when the writer is
 * idle. A batch is stored in transactions of at most 8192 rows; a commit
 * with no transaction ending for more than a second returns -ETIMEDOUT and
 * holds its rows (and later puts) like a failed one until it ends. */
int xf_outbox_commit(struct xf_outbox *ob);

/* Commit until nothing is held or a commit fails (close does this). With a
 * writer thread, this waits for it. */
int xf_outbox_flush(struct xf_outbox *ob);

/* The same, waiting at most timeout_ms (< 0: no bound) for the writer
 * thread in all: -ETIMEDOUT when it has not answered by then (a hung disk);
 * its rows stay queued. */
int xf_outbox_flush_for(struct xf_outbox *ob, int timeout_ms);

/*
 * Run commits on a thread of their own, with the outbox's write connection,
 * from now on; reads (pending, backlog, query) stay on the caller's thread
 * with a connection of their own, so WAL lets both work at once. The
 * caller still makes every call (put, acked, commit, pending, ...) from one
 * thread. Start it after any privilege drop that wants a single thread
 * (sensor/privs.c). xf_outbox_close() flushes and stops it.
 */
int xf_outbox_writer_start(struct xf_outbox *ob);

/* Call fn for up to max (<= 0: all) committed rows pending for sink with
 * seq > after, oldest first, and while commits fail, the rows held in memory
 * after them: a sink keeps exporting while the disk is full or read-only.
 * fn returning non-zero stops early. Returns rows visited. */
int xf_outbox_pending(struct xf_outbox *ob, int sink, int64_t after, int max, xf_outbox_row_fn fn,
		      void *ctx);

/* Mark row seq exported to sink (batched with the next commit). A seq that
 * was replaced meanwhile stays pending under its new seq. */
int xf_outbox_acked(struct xf_outbox *ob, int sink, int64_t seq);

/* Committed rows not yet exported to sink. */
int64_t xf_outbox_backlog(struct xf_outbox *ob, int sink);

void xf_outbox_stats(const struct xf_outbox *ob, struct xf_outbox_stats *st);

/* Query for `exfilter alerts`: since_ms 0, domain NULL, client NULL, limit 0 = any.
 * domain matches the registered domain or any name under it. Oldest first. */
int xf_outbox_query(struct xf_outbox *ob, int64_t since_ms, const char *domain, const char *client,
		    int limit, xf_outbox_row_fn fn, void *ctx);

/* The integer key the store finds an id by: its first and last 8 hex digits
 * (id: XF_ALERT_ID_LEN lower-case hex characters). */
int64_t xf_outbox_idkey(const char *id);

/* The SQL of schema migration `version` (1 creates everything), as
 * schemas/sqlite.sql documents it; NULL outside 1..newest. */
const char *xf_outbox_schema_sql(int version);

/* What the last failed commit, pending, backlog or query said ("" if none). */
const char *xf_outbox_errmsg(const struct xf_outbox *ob);

/* The SQLite connection commits go through, for tests and maintenance
 * (PRAGMA max_page_count, query_only, ...). The outbox still owns it; with
 * a writer thread, touch it only while no commit runs. */
struct sqlite3;
struct sqlite3 *xf_outbox_db(struct xf_outbox *ob);

#endif /* XF_OUTBOX_H */
