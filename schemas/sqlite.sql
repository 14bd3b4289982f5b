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
