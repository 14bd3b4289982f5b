-- SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
--
-- sqlite.sql - the alert outbox schema (sensor/outbox.c).
--
-- Every alert is committed here before any sink sees it. A row in `pending`
-- means "this alert has not been exported to this sink yet": a put inserts
-- one per configured sink, a sink's delivery report deletes it. So the
-- pending-for-sink scan and the backlog count both walk the (sink, seq)
-- primary key of a table that only holds what is still owed, which stays
-- small while the sinks keep up, however large `alerts` grows.
--
-- seq is the outbox position, assigned by the sensor and never reused while
-- it runs: an update of an alert (same id) moves the row to a new seq, and
-- the triggers drop whatever was pending under the old one, so a late
-- delivery report for the old seq cannot mark the update exported; the
-- sensor then makes the new seq pending for every sink.
--
-- A sink is known by its name; a name seen for the first time starts with
-- the alerts stored from then on (no backfill of the history).
--
-- Versioning: PRAGMA user_version is the number of the last migration run,
-- PRAGMA application_id is 0x78666f62 ("xfob") so a foreign SQLite file is
-- refused rather than written into. Each "migration N" block below is one
-- entry of migrations[] in sensor/outbox.c, run in one transaction.
-- tests/unit/test_outbox.c checks that this file, without comments and with
-- whitespace collapsed, is exactly the SQL the sensor runs. Add a migration
-- for any change; never edit one that has shipped.
--
-- `sqlite3 outbox.db < schemas/sqlite.sql` creates a store the sensor opens.

-- migration 1: everything
CREATE TABLE alerts (
	seq INTEGER PRIMARY KEY, -- outbox position, grows with every insert or update
	id TEXT NOT NULL UNIQUE, -- 32 hex characters, stable across updates
	rev INTEGER NOT NULL, -- 1 when raised, +1 per update worth re-exporting
	ts_ms INTEGER NOT NULL, -- @timestamp, ms since the epoch
	client TEXT NOT NULL, -- source.ip
	domain TEXT NOT NULL, -- dns.question.registered_domain (or SNI / Host)
	score REAL NOT NULL, -- 0-100
	severity TEXT NOT NULL, -- low, medium, high, critical
	action TEXT NOT NULL, -- alerted, would-block, blocked
	json TEXT NOT NULL -- the whole ECS document (schemas/alert.schema.json)
);
-- `exfilter alerts --since`: the domain and client filters apply on top.
CREATE INDEX alerts_ts ON alerts (ts_ms);
CREATE TABLE sinks (
	sink INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE -- "kafka", "jsonl", ... as configured
);
-- Not a foreign key to alerts: the triggers keep it consistent without
-- needing PRAGMA foreign_keys on every connection (sqlite3 CLI included).
CREATE TABLE pending (
	sink INTEGER NOT NULL REFERENCES sinks (sink),
	seq INTEGER NOT NULL,
	PRIMARY KEY (sink, seq)
) WITHOUT ROWID;
-- `sink IN (...)` lets the (sink, seq) key find the rows of one seq.
CREATE TRIGGER alerts_deleted AFTER DELETE ON alerts BEGIN
	DELETE FROM pending WHERE sink IN (SELECT sink FROM sinks) AND seq = OLD.seq;
END;
CREATE TRIGGER alerts_moved AFTER UPDATE OF seq ON alerts WHEN OLD.seq <> NEW.seq BEGIN
	DELETE FROM pending WHERE sink IN (SELECT sink FROM sinks) AND seq = OLD.seq;
END;
PRAGMA application_id = 2019979106; -- 0x78666f62
PRAGMA user_version = 1;

-- migration 2: alerts found by a 64-bit integer key instead of a UNIQUE
-- index on the 32-character id. Ids are hashes, so every new alert lands on
-- a random leaf of an index on them, and each commit wrote every leaf it
-- touched to the WAL; an index of 8-byte integers has a third as many
-- leaves to touch. idkey is the id's first 8 hex digits (xf_alert_id() puts
-- the window start there, so the alerts of one window stay together) and
-- its last 8, as one integer (sensor/outbox.c: idkey()); it is not unique,
-- and the sensor compares the whole id on a match, so there is still one
-- row per id. The table is rebuilt to drop UNIQUE (id); rows, seq and the
-- pending and sinks tables are kept as they are.
CREATE TABLE alerts_v2 (
	seq INTEGER PRIMARY KEY,
	idkey INTEGER NOT NULL, -- first and last 8 hex digits of id, one integer
	id TEXT NOT NULL, -- 32 hex characters, one row per id (checked by the sensor)
	rev INTEGER NOT NULL,
	ts_ms INTEGER NOT NULL,
	client TEXT NOT NULL,
	domain TEXT NOT NULL,
	score REAL NOT NULL,
	severity TEXT NOT NULL,
	action TEXT NOT NULL,
	json TEXT NOT NULL
);
-- SQLite 3.40 has no unhex(): one hex digit at a time.
INSERT INTO alerts_v2 (seq, idkey, id, rev, ts_ms, client, domain, score, severity, action, json)
	SELECT seq,
		((instr('0123456789abcdef', substr(id, 1, 1)) - 1) << 60) |
		((instr('0123456789abcdef', substr(id, 2, 1)) - 1) << 56) |
		((instr('0123456789abcdef', substr(id, 3, 1)) - 1) << 52) |
		((instr('0123456789abcdef', substr(id, 4, 1)) - 1) << 48) |
		((instr('0123456789abcdef', substr(id, 5, 1)) - 1) << 44) |
		((instr('0123456789abcdef', substr(id, 6, 1)) - 1) << 40) |
		((instr('0123456789abcdef', substr(id, 7, 1)) - 1) << 36) |
		((instr('0123456789abcdef', substr(id, 8, 1)) - 1) << 32) |
		((instr('0123456789abcdef', substr(id, 25, 1)) - 1) << 28) |
		((instr('0123456789abcdef', substr(id, 26, 1)) - 1) << 24) |
		((instr('0123456789abcdef', substr(id, 27, 1)) - 1) << 20) |
		((instr('0123456789abcdef', substr(id, 28, 1)) - 1) << 16) |
		((instr('0123456789abcdef', substr(id, 29, 1)) - 1) << 12) |
		((instr('0123456789abcdef', substr(id, 30, 1)) - 1) << 8) |
		((instr('0123456789abcdef', substr(id, 31, 1)) - 1) << 4) |
		((instr('0123456789abcdef', substr(id, 32, 1)) - 1) << 0)
		, id, rev, ts_ms, client, domain, score, severity, action, json
	FROM alerts;
DROP TRIGGER alerts_deleted;
DROP TRIGGER alerts_moved;
DROP TABLE alerts;
ALTER TABLE alerts_v2 RENAME TO alerts;
CREATE INDEX alerts_ts ON alerts (ts_ms);
-- put: find the row of an id (idkey, then the whole id) to update it.
CREATE INDEX alerts_idkey ON alerts (idkey);
CREATE TRIGGER alerts_deleted AFTER DELETE ON alerts BEGIN
	DELETE FROM pending WHERE sink IN (SELECT sink FROM sinks) AND seq = OLD.seq;
END;
CREATE TRIGGER alerts_moved AFTER UPDATE OF seq ON alerts WHEN OLD.seq <> NEW.seq BEGIN
	DELETE FROM pending WHERE sink IN (SELECT sink FROM sinks) AND seq = OLD.seq;
END;
PRAGMA user_version = 2;

-- migration 3: no index on idkey in alerts. An index on a hash is written
-- at random leaves, so every commit wrote each leaf its rows touched (with
-- 100k alerts in one window and 16 KiB pages, a commit of 1000 rewrote most
-- of that window's part of the index; at 500k the store ran 3x slower). The
-- key moves to `ids`, which the sensor fills in bulk: the rows above
-- ids_upto.seq (the "tail", at most about 65536 of them) are found by a map
-- in the sensor's memory, rebuilt from alerts at open, and the commit that
-- takes the tail past that size also copies its keys into ids, sorted, and
-- raises ids_upto.seq, in the same transaction. So ids holds (idkey, seq)
-- for every row with seq <= ids_upto.seq, and the triggers drop the entry of
-- a row that moves or goes. The file creates new stores with 4 KiB pages
-- unless `PRAGMA page_size = 16384;` comes first: the sensor creates them
-- with 16 KiB (sensor/outbox.c: XF_OUTBOX_PAGE_SIZE), and an old store keeps
-- its size until converted offline (journal_mode DELETE, page_size, VACUUM,
-- journal_mode WAL).
CREATE TABLE ids (
	idkey INTEGER NOT NULL,
	seq INTEGER NOT NULL,
	PRIMARY KEY (idkey, seq)
) WITHOUT ROWID;
INSERT INTO ids (idkey, seq) SELECT idkey, seq FROM alerts ORDER BY idkey, seq;
-- one row: every alert with seq up to this one has its key in ids
CREATE TABLE ids_upto (
	seq INTEGER NOT NULL
);
INSERT INTO ids_upto (seq) SELECT coalesce(max(seq), 0) FROM alerts;
DROP INDEX alerts_idkey;
DROP TRIGGER alerts_deleted;
DROP TRIGGER alerts_moved;
CREATE TRIGGER alerts_deleted AFTER DELETE ON alerts BEGIN
	DELETE FROM pending WHERE sink IN (SELECT sink FROM sinks) AND seq = OLD.seq;
	DELETE FROM ids WHERE idkey = OLD.idkey AND seq = OLD.seq;
END;
CREATE TRIGGER alerts_moved AFTER UPDATE OF seq ON alerts WHEN OLD.seq <> NEW.seq BEGIN
	DELETE FROM pending WHERE sink IN (SELECT sink FROM sinks) AND seq = OLD.seq;
	DELETE FROM ids WHERE idkey = OLD.idkey AND seq = OLD.seq;
END;
PRAGMA user_version = 3;
