// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sensor.c - the live event loop.
 *
 * One loop thread. The ring buffer's epoll fd and a timerfd drive it: events are
 * decoded and counted into the flow table as they arrive (no syscall per
 * event beyond the ring buffer's own); every flows.tick_ms the kernel's
 * per-CPU flow counters are merged in with batched map reads and the shared
 * pipeline (pipeline.c) scores touched flows: its alerts go to the outbox,
 * and in enforce mode its verdicts go to the kernel map at once. Merge and
 * scoring go in steps with the ring drained in between (loop.c, which the
 * benchmark runs too). This file is only the live plumbing around that
 * analysis. Every store.flush_ms the outbox hands what came since to its
 * writer thread, which commits it on its own SQLite connection (the loop
 * never waits for the disk), and the sinks are pumped with what is
 * committed; acknowledgements come back through poll. A store that fails
 * (disk full, read-only) or hangs is retried once a second while alerts wait in
 * memory up to store.memory_max, still exported; beyond, they are counted
 * lost and said so, and the sensor goes on enforcing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sensor.h"
#include "alert.h"
#include "control.h"
#include "detector.h"
#include "flowtab.h"
#include "frame.h"
#include "geoip.h"
#include "ingest.h"
#include "loader.h"
#include "loop.h"
#include "names.h"
#include "outbox.h"
#include "pipeline.h"
#include "privs.h"
#include "sink.h"
#include "exfilter_tc.skel.h"

#define ACKQ_MAX 65536

struct ack {
	int sink;
	int64_t seq;
	int err;
};

struct sensor {
	struct xf_sensor_cfg *cfg;
	struct xf_loader l;
	struct ring_buffer *rb;
	struct xf_pipeline p; /* the analysis: flow table, scoring, alerts */
	struct xf_outbox *ob;
	struct xf_sink *sinks[XF_OUTBOX_SINKS_MAX];
	int nsinks;
	int64_t cursor[XF_OUTBOX_SINKS_MAX]; /* last seq handed to each sink */
	uint64_t exported[XF_OUTBOX_SINKS_MAX];
	struct ack *ackq;
	int n_ack, ack_max;
	int flows_fd, config_fd, verdicts_fd, ipblock_fd;
	int64_t mono_to_wall_ns;
	char state_path[PATH_MAX];
	char db_dir_made[PATH_MAX]; /* the store's directory, when this run made it */
	struct xf_privs privs; /* run_as */
	/* counters */
	uint64_t events, bad_events, verdicts, verdict_errors;
	uint64_t store_errors, sink_errors;
	struct xf_loop loop; /* one wake-up: drain, slice, tick, flush (loop.c) */
	/* store failures: what was last said about them, and when */
	int store_failing, commit_failed;
	int store_stuck; /* at exit the writer did not answer within STORE_EXIT_MS */
	uint64_t lost_told;
	int64_t lost_told_ns, retry_ns;
	struct xf_kmerge km; /* batched reads of the kernel's flows */
	struct xf_ingest_buf ibuf; /* the text of the event being decoded */
};

static int64_t now_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* A directory per sensor: one that dropped to run_as owns its own and can
 * still replace the file, without /run/exfilter being writable to it. */
static const char *state_base(const char *pin_dir)
{
	const char *base = strrchr(pin_dir, '/');

	return base && base[1] ? base + 1 : pin_dir;
}

static void state_dir(const char *pin_dir, char *out, size_t size)
{
	snprintf(out, size, "/run/exfilter/%s", state_base(pin_dir));
}

void xf_state_path(const char *pin_dir, char *out, size_t size)
{
	snprintf(out, size, "/run/exfilter/%s/state.json", state_base(pin_dir));
}

/* --- ring buffer events --- */

static int on_event(void *ctx, void *data, size_t len)
{
	struct sensor *s = ctx;
	struct xf_obs o;

	if (xf_event_obs(data, len, s->mono_to_wall_ns, s->cfg->kernel.long_qname, &s->ibuf, &o)) {
		s->bad_events++;
		return 0;
	}
	s->events++;
	xf_pipe_observe(&s->p, &o);
	return 0;
}

/* --- the tick: merge, score, alert, enforce --- */

static int on_enforce(void *ctx, const char *domain)
{
	struct sensor *s = ctx;
	struct xf_target t = { .kind = XF_T_DOMAIN };

	snprintf(t.name, sizeof(t.name), "%s", domain);
	if (xf_target_apply(s->cfg->pin_dir, &t, "block", (int)s->cfg->verdict_action,
			    s->cfg->verdict_ttl_s)) {
		s->verdict_errors++;
		return -1;
	}
	s->verdicts++;
	{
		char shown[XF_TERM_NAME_MAX];

		fprintf(stderr, "exfilter: enforce: blocked %s for %us\n",
			xf_term_str(domain, shown, sizeof(shown)), s->cfg->verdict_ttl_s);
	}
	return 0;
}

static void on_rolled(void *ctx, const struct xf_ft_flow *f)
{
	struct sensor *s = ctx;
	/* a new window: the kernel counts it from zero too */
	struct xf_flow_key k = { .rd_hash = f->kernel_rd };

	memcpy(k.client, f->client, 16);
	bpf_map_delete_elem(s->flows_fd, &k);
}

static int on_alert(void *ctx, const struct xf_alert_rec *rec, const struct xf_ft_flow *f,
		    const struct xf_score *sc)
{
	struct sensor *s = ctx;

	int64_t seq;

	(void)f;
	(void)sc;
	seq = xf_outbox_put(s->ob, rec);
	/* Beyond store.memory_max (or out of memory) the outbox has counted
	 * the alert as lost: the pipeline must take it as raised, or it would
	 * raise it again every tick and each attempt would count again. */
	if (seq == -ENOBUFS || seq == -ENOMEM)
		return 0;
	if (seq < 0) {
		s->store_errors++;
		return -1;
	}
	return 0;
}

static int on_alert_domain(void *ctx, const struct xf_alert_rec *rec, const struct xf_dt_domain *d,
			   const struct xf_score *sc)
{
	(void)d;
	return on_alert(ctx, rec, NULL, sc);
}

static const struct xf_pipe_ops live_ops = {
	.enforce = on_enforce,
	.alert = on_alert,
	.alert_domain = on_alert_domain,
	.rolled = on_rolled,
};

static uint64_t wall_ms(void)
{
	return (uint64_t)(now_ns(CLOCK_REALTIME) / 1000000);
}

/* --- outbox and sinks --- */

static void on_ack(void *ctx, int sink, int64_t seq, int err)
{
	struct sensor *s = ctx;

	/* applied after the sink call returns: never re-enter the outbox */
	/* sized to hold every row in flight, so this never drops an ack */
	if (s->n_ack < s->ack_max)
		s->ackq[s->n_ack++] = (struct ack){ sink, seq, err };
}

static void apply_acks(struct sensor *s)
{
	for (int i = 0; i < s->n_ack; i++) {
		struct ack *a = &s->ackq[i];

		if (a->seq <= 0)
			continue; /* a sensor event (store_event), not an outbox row */
		if (a->err) {
			s->sink_errors++;
			if (a->seq - 1 < s->cursor[a->sink])
				s->cursor[a->sink] = a->seq - 1; /* send again */
			continue;
		}
		xf_outbox_acked(s->ob, a->sink, a->seq);
		s->exported[a->sink]++;
	}
	s->n_ack = 0;
}

struct pump {
	struct sensor *s;
	int sink, full;
};

static int send_row(void *ctx, const struct xf_out_row *row)
{
	struct pump *p = ctx;
	struct xf_sink *k = p->s->sinks[p->sink];

	if (k->ops->send(k, row) < 0) {
		p->full = 1;
		return 1;
	}
	p->s->cursor[p->sink] = row->seq;
	return 0;
}

static void pump(struct sensor *s)
{
	for (int i = 0; i < s->nsinks; i++) {
		struct pump p = { s, i, 0 };
		int n, sent = 0;

		s->sinks[i]->ops->poll(s->sinks[i], 0);
		/* a bounded share per pump: acks for it fit the queue, and a long
		 * backlog drains over several passes of the loop */
		do {
			n = xf_outbox_pending(s->ob, i, s->cursor[i], 512, send_row, &p);
			sent += n;
			/* a long backlog takes a while: keep the ring drained
			 * (events only touch the flow table, not the outbox) */
			ring_buffer__consume(s->rb);
		} while (n == 512 && !p.full && sent < ACKQ_MAX);
		s->sinks[i]->ops->poll(s->sinks[i], 0);
	}
	apply_acks(s);
}

/* --- the store failing: hold, retry, count losses, say so --- */

#define STORE_RETRY_NS 1000000000LL /* a failing store is retried once a second */
#define LOST_TELL_NS 10000000000LL /* losses are logged at most every 10 s */
#define STORE_EXIT_MS 5000 /* at exit, the longest wait for a store that hangs */

/*
 * One JSON line in the jsonl sink, when there is one, next to the alerts:
 * an ECS pipeline_error event saying how many alerts the store lost. It is
 * not an outbox row (seq 0: apply_acks skips its ack), so it is never
 * stored or re-sent; the log and `exfilter status` say the same.
 */
static void store_event(struct sensor *s, const struct xf_outbox_stats *os)
{
	struct xf_alert_rec rec = { .rev = 1 };
	struct xf_out_row row = { .seq = 0, .rec = &rec };
	struct xf_sb sb = { 0 };
	time_t t = time(NULL);
	char ts[32];
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	xf_sb_printf(&sb,
		     "{\"@timestamp\":\"%s\",\"event\":{\"kind\":\"pipeline_error\","
		     "\"action\":\"alerts-lost\",\"reason\":",
		     ts);
	xf_sb_json_str(&sb, xf_outbox_errmsg(s->ob));
	xf_sb_printf(&sb,
		     "},\"observer\":{\"vendor\":\"exfilter\",\"type\":\"sensor\",\"hostname\":");
	xf_sb_json_str(&sb, s->p.host);
	xf_sb_printf(&sb, "},\"exfilter\":{\"store\":{\"path\":");
	xf_sb_json_str(&sb, s->cfg->db_path);
	xf_sb_printf(&sb,
		     ",\"lost\":%llu,\"held\":%llu,\"memory_max\":%u,\"commit_errors\":%llu}}}",
		     (unsigned long long)os->lost, (unsigned long long)os->held, s->cfg->memory_max,
		     (unsigned long long)os->commit_errors);
	if (!sb.buf)
		return;
	rec.json = sb.buf;
	rec.json_len = sb.len;
	for (int i = 0; i < s->nsinks; i++)
		if (!strcmp(s->sinks[i]->ops->name, "jsonl"))
			s->sinks[i]->ops->send(s->sinks[i], &row);
	xf_sb_free(&sb);
}

/* After each commit: say when the store starts and stops failing, and
 * every loss, the first at once and then at most every LOST_TELL_NS. */
static void store_health(struct sensor *s, int err, int64_t now)
{
	struct xf_outbox_stats os;

	xf_outbox_stats(s->ob, &os);
	if (err && !s->store_failing)
		fprintf(stderr,
			"exfilter: store: %s; holding alerts in memory (at most store.memory_max = "
			"%u), retrying every second; the sensor keeps enforcing\n",
			xf_outbox_errmsg(s->ob), s->cfg->memory_max);
	if (!os.held && s->store_failing)
		fprintf(stderr,
			"exfilter: store: commits succeed again, every held alert stored\n");
	/* untold losses: at once the first time and when the store recovers,
	 * else at most every LOST_TELL_NS */
	if (os.lost > s->lost_told && (!s->lost_told || now - s->lost_told_ns >= LOST_TELL_NS ||
				       (s->store_failing && !os.held))) {
		fprintf(stderr,
			"exfilter: store: LOST %llu alert(s) (%llu in all) while the store failed "
			"(%s) with store.memory_max = %u alerts already held in memory\n",
			(unsigned long long)(os.lost - s->lost_told), (unsigned long long)os.lost,
			xf_outbox_errmsg(s->ob), s->cfg->memory_max);
		store_event(s, &os);
		s->lost_told = os.lost;
		s->lost_told_ns = now;
	}
	s->store_failing = os.held > 0;
}

/* Batched: every store.flush_ms, or sooner when store.batch alerts wait.
 * The commit itself runs on the outbox's writer thread: this only takes
 * back the result of the one before and hands over what came since, so a
 * slow, full or hung disk never holds the loop (nor verdicts with it).
 * After a failed commit the next try waits a second (it takes every held
 * alert at once, on the writer's time). A commit that has not returned for
 * a second (-ETIMEDOUT: a hung disk) holds its alerts as a failed one does
 * and is asked again at every flush. The sinks get every alert meanwhile
 * (pump). */
static void store_commit(struct sensor *s, int64_t now)
{
	int err = 0;

	if (!s->commit_failed || now >= s->retry_ns) {
		err = xf_outbox_commit(s->ob);
		s->commit_failed = err && err != -ETIMEDOUT;
		s->retry_ns = now + STORE_RETRY_NS;
	}
	store_health(s, err, now);
}

/* The loop's flush: commit, then hand what is committed (or held) to the sinks. */
static void on_flush(void *ctx, int64_t now)
{
	struct sensor *s = ctx;

	store_commit(s, now);
	ring_buffer__consume(s->rb); /* a commit may have taken a while */
	pump(s);
}

static void write_state(struct sensor *s)
{
	struct xf_ft_stats fs;
	struct xf_outbox_stats os;
	char tmp[PATH_MAX + 8];
	FILE *f;

	xf_ft_stats(s->p.ft, &fs);
	xf_outbox_stats(s->ob, &os);
	snprintf(tmp, sizeof(tmp), "%s.tmp", s->state_path);
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "{\"pid\":%d,\"mode\":\"%s\",\"interfaces\":[", (int)getpid(),
		s->p.mode == XF_MODE_ENFORCE ? "enforce" : "monitor");
	for (int i = 0; i < s->l.n_ifs; i++)
		fprintf(f, "%s\"%s\"", i ? "," : "", s->l.ifs[i].name);
	fprintf(f,
		"],\"tap\":\"%s\",\"events\":%llu,\"bad_events\":%llu,\"alerts\":%llu,\"alert_"
		"updates\":%llu,"
		"\"verdicts\":%llu,\"flows\":%llu,\"flows_evicted\":%llu,\"flows_revived\":%llu,"
		"\"flow_bytes\":%llu,\"stored\":%llu,\"store_held\":%llu,\"store_queued\":%llu,"
		"\"store_lost\":%llu,\"store_errors\":%llu",
		s->l.tap, (unsigned long long)s->events, (unsigned long long)s->bad_events,
		(unsigned long long)s->p.alerts, (unsigned long long)s->p.alert_updates,
		(unsigned long long)s->verdicts, (unsigned long long)fs.flows,
		(unsigned long long)fs.evicted, (unsigned long long)fs.revived,
		(unsigned long long)fs.bytes, (unsigned long long)os.stored,
		(unsigned long long)os.held, (unsigned long long)os.queued,
		(unsigned long long)os.lost, (unsigned long long)os.commit_errors);
	if (os.held) {
		struct xf_sb sb = { 0 };

		xf_sb_json_str(&sb, xf_outbox_errmsg(s->ob));
		fprintf(f, ",\"store_error\":%s", sb.buf ? sb.buf : "\"\"");
		xf_sb_free(&sb);
	}
	fprintf(f, ",\"sinks\":{");
	for (int i = 0; i < s->nsinks; i++)
		fprintf(f,
			"%s\"%s\":{\"exported\":%llu,\"backlog\":%lld,\"inflight\":%ld,\"up\":%s}",
			i ? "," : "", s->sinks[i]->ops->name, (unsigned long long)s->exported[i],
			(long long)xf_outbox_backlog(s->ob, i),
			s->sinks[i]->ops->inflight(s->sinks[i]),
			s->sinks[i]->ops->up(s->sinks[i]) ? "true" : "false");
	fprintf(f,
		"},\"dns_msgs\":{\"whole\":%llu,\"partial\":%llu,\"bad\":%llu,"
		"\"nxdomain\":%llu,\"servfail\":%llu,\"refused\":%llu,\"answer_bytes\":%llu}",
		(unsigned long long)s->ibuf.msgs_whole, (unsigned long long)s->ibuf.msgs_partial,
		(unsigned long long)s->ibuf.msgs_bad, (unsigned long long)s->ibuf.msg_nxdomain,
		(unsigned long long)s->ibuf.msg_servfail, (unsigned long long)s->ibuf.msg_refused,
		(unsigned long long)s->ibuf.msg_answer_bytes);
	fprintf(f, "}\n");
	if (fclose(f) == 0)
		rename(tmp, s->state_path);
}

/* --- set-up and tear-down --- */

/* Sink indexes in the outbox. Kafka comes last: its threads start after
 * the privilege drop (see setup()), the other sinks before it. */
static int store_sinks(const struct xf_sensor_cfg *cfg, const char **names)
{
	int n = 0;

	if (cfg->jsonl_enabled)
		names[n++] = "jsonl";
	if (cfg->kafka_enabled)
		names[n++] = "kafka";
	return n;
}

/* The sinks from the next one not open yet; threaded: Kafka too. */
static int open_sinks(struct sensor *s, int threaded)
{
	const char *names[XF_OUTBOX_SINKS_MAX];
	int n = store_sinks(s->cfg, names);
	char err[512];

	for (int i = s->nsinks; i < n; i++) {
		if (!strcmp(names[i], "jsonl")) {
			s->sinks[i] = xf_sink_jsonl_new(s->cfg->jsonl_path, i, on_ack, s, err,
							sizeof(err));
		} else if (!threaded) {
			break;
		} else {
			struct xf_kafka_cfg kc = {
				.topic = s->cfg->kafka_topic,
				.props = s->cfg->kafka_props,
				.nprops = s->cfg->n_kafka_props,
				.max_inflight = s->cfg->kafka_max_inflight,
			};

			s->sinks[i] = xf_sink_kafka_new(&kc, i, on_ack, s, err, sizeof(err));
		}
		if (!s->sinks[i]) {
			fprintf(stderr, "exfilter: sinks.%s: %s\n", names[i], err);
			return -1;
		}
		s->nsinks++;
	}
	return 0;
}

/*
 * The store, created in a 0700 directory, the database and its -wal and
 * -shm 0600 (the umask set in setup()). An existing database is refused
 * if others may write it or it belongs to another user: whoever writes it
 * chooses what `exfilter alerts` shows and what is sent again to Kafka.
 */
static int open_store(struct sensor *s)
{
	const char *names[XF_OUTBOX_SINKS_MAX];
	char err[512], dir[PATH_MAX], *slash;
	int n = store_sinks(s->cfg, names);

	snprintf(dir, sizeof(dir), "%s", s->cfg->db_path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		if (!mkdir(dir, 0700))
			snprintf(s->db_dir_made, sizeof(s->db_dir_made), "%s", dir);
	}
	if (xf_file_check(s->cfg->db_path, "store.path",
			  s->privs.switch_user ? s->privs.uid : (uid_t)-1, err, sizeof(err))) {
		fprintf(stderr, "exfilter: %s\n", err);
		return -1;
	}
	s->ob = xf_outbox_open(s->cfg->db_path, names, n, s->cfg->memory_max, err, sizeof(err));
	if (!s->ob) {
		fprintf(stderr, "exfilter: %s\n", err);
		return -1;
	}
	return open_sinks(s, 0);
}

static int apply_lists(struct sensor *s)
{
	struct xf_target t;

	for (int i = 0; i < s->cfg->n_allow; i++) {
		if (xf_target_parse(s->cfg->allow[i], &t) ||
		    xf_target_apply(s->cfg->pin_dir, &t, "allow", XF_ACT_DROP, 0)) {
			fprintf(stderr, "exfilter: allow: cannot apply '%s'\n", s->cfg->allow[i]);
			return -1;
		}
	}
	for (int i = 0; i < s->cfg->n_block; i++) {
		if (xf_target_parse(s->cfg->block[i], &t) ||
		    xf_target_apply(s->cfg->pin_dir, &t, "block", (int)s->cfg->verdict_action, 0)) {
			fprintf(stderr, "exfilter: block: cannot apply '%s'\n", s->cfg->block[i]);
			return -1;
		}
	}
	return 0;
}

/*
 * What the sensor goes on writing after the drop becomes run_as's: the
 * store (its directory only if this run made it), the pin directory (to
 * unpin at exit; the pins themselves stay root's 0600) and the state
 * directory.
 */
static int hand_over(struct sensor *s)
{
	static const char *const db_files[] = { "", "-wal", "-shm", "-journal" };
	char path[PATH_MAX + 16], dir[PATH_MAX];
	int err = 0;

	for (size_t i = 0; i < sizeof(db_files) / sizeof(db_files[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", s->cfg->db_path, db_files[i]);
		err = err ?: xf_privs_hand_over(&s->privs, path);
	}
	if (*s->db_dir_made)
		err = err ?: xf_privs_hand_over(&s->privs, s->db_dir_made);
	state_dir(s->cfg->pin_dir, dir, sizeof(dir));
	err = err ?: xf_privs_hand_over(&s->privs, dir);
	err = err ?: xf_privs_hand_over(&s->privs, s->cfg->pin_dir);
	if (err)
		fprintf(stderr, "exfilter: run_as: failed to give %s's files to '%s': %s\n",
			s->cfg->db_path, s->privs.user, strerror(-err));
	return err;
}

/* The live list edits (on_enforce) go through the fds held here: once the
 * privileges are dropped the pins cannot be opened again. */
static int hold_maps(struct sensor *s)
{
	struct bpf_map *m;

	bpf_object__for_each_map(m, s->l.skel->obj)
		if (!strchr(bpf_map__name(m), '.') &&
		    xf_control_hold(bpf_map__name(m), bpf_map__fd(m)))
			return -1;
	return 0;
}

static int drop_privileges(struct sensor *s)
{
	char err[512];
	/* detaching TC at exit needs CAP_NET_ADMIN: kept, but not effective */
	int keep_net_admin = s->l.n_ifs > 0 && !s->cfg->keep_pinned;

	if (hold_maps(s) || hand_over(s))
		return -1;
	if (xf_privs_drop(&s->privs, keep_net_admin, err, sizeof(err))) {
		fprintf(stderr, "exfilter: %s\n", err);
		return -1;
	}
	fprintf(stderr, "exfilter: privileges dropped: %s, capabilities: %s\n",
		s->privs.switch_user ? s->privs.user : "uid 0",
		keep_net_admin ? "cap_net_admin permitted (to detach at exit), none effective"
			       : "none");
	return 0;
}

static int setup(struct sensor *s)
{
	char err[512], dir[PATH_MAX];
	int err_no;

	/* the store, the state file, the JSON lines file: ours alone */
	umask(077);
	if (xf_privs_resolve(s->cfg->run_as, &s->privs, err, sizeof(err))) {
		fprintf(stderr, "exfilter: %s\n", err);
		return -1;
	}

	/* in flight at most: kafka's max_inflight, plus a pump's worth of jsonl */
	s->ack_max = (int)(s->cfg->kafka_max_inflight + 2 * ACKQ_MAX);
	s->ackq = calloc((size_t)s->ack_max, sizeof(*s->ackq));
	if (!s->ackq) {
		fprintf(stderr, "exfilter: out of memory for %u flows\n", s->cfg->max_flows);
		return -1;
	}
	if (xf_pipe_init(&s->p, s->cfg, &live_ops, s, err, sizeof(err))) {
		fprintf(stderr, "exfilter: %s\n", err);
		return -1;
	}
	if (open_store(s))
		return -1;
	s->cfg->kernel.mode = s->cfg->mode;
	s->cfg->kernel.failsafe_ms = s->cfg->failsafe_open ? s->cfg->heartbeat_ms : 0;
	{
		struct xf_map_sizes sz = { .flows = s->cfg->kflows_max,
					   .ring_bytes = s->cfg->kring_kib * 1024u };

		if (xf_loader__open_load_sized(&s->l, s->cfg->pin_dir, &s->cfg->kernel, &sz))
			return -1;
	}
	s->p.mode = s->cfg->mode;
	for (int i = 0; i < s->cfg->n_ifaces; i++)
		if (xf_loader__attach(&s->l, s->cfg->ifaces[i]))
			return -1;
	s->p.can_enforce = s->l.n_ifs > 0;
	if (s->cfg->tap[0] && xf_loader__tap(&s->l, s->cfg->tap))
		return -1;
	if (apply_lists(s))
		return -1;
	s->flows_fd = bpf_map__fd(s->l.skel->maps.xf_flows);
	if (xf_kmerge_init(&s->km, s->flows_fd)) {
		fprintf(stderr, "exfilter: out of memory for the flow merge\n");
		return -1;
	}
	s->config_fd = bpf_map__fd(s->l.skel->maps.xf_config);
	s->verdicts_fd = bpf_map__fd(s->l.skel->maps.xf_verdicts);
	s->ipblock_fd = bpf_map__fd(s->l.skel->maps.xf_ipblock);
	s->rb = ring_buffer__new(bpf_map__fd(s->l.skel->maps.xf_events), on_event, s, NULL);
	if (!s->rb) {
		fprintf(stderr, "exfilter: ring buffer: %s\n", strerror(errno));
		return -1;
	}
	s->mono_to_wall_ns = now_ns(CLOCK_REALTIME) - now_ns(CLOCK_MONOTONIC);
	mkdir("/run/exfilter", 0755);
	chmod("/run/exfilter", 0755); /* `status` reads it; the umask is 077 */
	state_dir(s->cfg->pin_dir, dir, sizeof(dir));
	mkdir(dir, 0700);
	xf_state_path(s->cfg->pin_dir, s->state_path, sizeof(s->state_path));
	/* pins are 0600 in bpffs; the directory 0700 even if it was there */
	if (chmod(s->cfg->pin_dir, 0700)) {
		fprintf(stderr, "exfilter: pin_dir: failed to chmod 0700 %s: %s\n", s->cfg->pin_dir,
			strerror(errno));
		return -1;
	}
	if (drop_privileges(s))
		return -1;
	/* a thread: after the drop, which wants the process single-threaded
	 * (capabilities are per thread), as Kafka's below */
	err_no = xf_outbox_writer_start(s->ob);
	if (err_no) {
		fprintf(stderr, "exfilter: failed to start the store's writer thread: %s\n",
			strerror(-err_no));
		return -1;
	}
	return open_sinks(s, 1);
}

static void teardown(struct sensor *s, int loaded)
{
	if (s->rb)
		ring_buffer__free(s->rb);
	for (int i = 0; i < s->nsinks; i++)
		xf_sink_close(s->sinks[i]);
	if (s->ob) {
		apply_acks(s);
		xf_outbox_commit(s->ob);
		/* a hung store must not keep the sensor from exiting (and from
		 * detaching, when it should) */
		if (xf_outbox_close_for(s->ob, s->store_stuck ? 0 : STORE_EXIT_MS))
			fprintf(stderr, "exfilter: store: left the writer stuck in the store at "
					"exit\n");
	}
	xf_control_release();
	if (loaded) {
		if (!s->cfg->keep_pinned)
			xf_privs_raise_net_admin(); /* to detach TC */
		xf_loader__destroy(&s->l, s->cfg->keep_pinned);
	}
	if (*s->state_path) {
		char dir[PATH_MAX];

		unlink(s->state_path);
		state_dir(s->cfg->pin_dir, dir, sizeof(dir));
		rmdir(dir); /* as run_as this fails: /run/exfilter is root's */
	}
	xf_pipe_free(&s->p);
	xf_kmerge_free(&s->km);
	free(s->ackq);
}

int xf_sensor_run(struct xf_sensor_cfg *cfg, volatile sig_atomic_t *stop)
{
	struct sensor s = { .cfg = cfg };
	struct itimerspec its = { 0 };
	struct epoll_event ee = { .events = EPOLLIN }, out[4];
	int64_t last_state = 0;
	int tfd = -1, epfd = -1, rc = 1;

	if (setup(&s)) {
		teardown(&s, s.l.skel != NULL);
		return 1;
	}
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	its.it_interval.tv_sec = cfg->flush_ms / 1000;
	its.it_interval.tv_nsec = (long)(cfg->flush_ms % 1000) * 1000000L;
	its.it_value = its.it_interval;
	ee.data.fd = tfd;
	if (tfd < 0 || epfd < 0 || timerfd_settime(tfd, 0, &its, NULL) ||
	    epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &ee)) {
		fprintf(stderr, "exfilter: timer: %s\n", strerror(errno));
		goto out;
	}
	ee.data.fd = ring_buffer__epoll_fd(s.rb);
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, ee.data.fd, &ee)) {
		fprintf(stderr, "exfilter: epoll: %s\n", strerror(errno));
		goto out;
	}
	fprintf(stderr, "exfilter: running in %s mode on %d interface(s), store %s, failsafe %s\n",
		s.p.mode == XF_MODE_ENFORCE ? "enforce" : "monitor", s.l.n_ifs, cfg->db_path,
		cfg->failsafe_open ? "open" : "closed");
	s.loop = (struct xf_loop){
		.p = &s.p,
		.rb = s.rb,
		.km = &s.km,
		.config_fd = s.config_fd,
		.verdicts_fd = s.verdicts_fd,
		.ipblock_fd = s.ipblock_fd,
		.tick_ms = cfg->tick_ms,
		.flush_ms = cfg->flush_ms,
		.batch = cfg->batch,
		.flush = on_flush,
		.ctx = &s,
	};
	xf_loop_start(&s.loop, now_ns(CLOCK_MONOTONIC));
	while (!*stop) {
		int n = epoll_wait(epfd, out, 4, xf_loop_timeout_ms(&s.loop));
		int64_t now = now_ns(CLOCK_MONOTONIC);
		uint64_t expirations;

		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "exfilter: epoll_wait: %s\n", strerror(errno));
			goto out;
		}
		/* every pass: a plain store, and the loop wakes at least every 200 ms */
		xf_loader__heartbeat(&s.l, (__u64)now);
		if (read(tfd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
			break;
		xf_loop_wake(&s.loop, now);
		if (now - last_state >= 1000000000LL) {
			write_state(&s);
			last_state = now;
		}
	}
	/* flush: what is in the ring, a last tick, the outbox, the sinks; a
	 * store that hangs gets STORE_EXIT_MS in all, then what it holds is
	 * exported and said lost */
	xf_loader__heartbeat(&s.l, (__u64)now_ns(CLOCK_MONOTONIC)); /* still here */
	ring_buffer__consume(s.rb);
	xf_loop_tick(&s.loop, now_ns(CLOCK_MONOTONIC));
	xf_pipe_tick(&s.p, wall_ms()); /* every slice left */
	{
		int64_t t0 = now_ns(CLOCK_MONOTONIC), left;
		struct xf_outbox_stats os;

		if (xf_outbox_flush_for(s.ob, STORE_EXIT_MS) == -ETIMEDOUT)
			s.store_stuck = 1;
		pump(&s);
		for (int i = 0; i < s.nsinks; i++) {
			s.sinks[i]->ops->flush(s.sinks[i], 5000);
			apply_acks(&s);
		}
		left = STORE_EXIT_MS - (now_ns(CLOCK_MONOTONIC) - t0) / 1000000;
		if (xf_outbox_flush_for(s.ob, s.store_stuck || left < 0 ? 0 : (int)left) ==
		    -ETIMEDOUT)
			s.store_stuck = 1;
		xf_outbox_stats(s.ob, &os);
		if (os.queued)
			fprintf(stderr,
				"exfilter: store: LOST %llu alert(s) held in memory at exit: %s\n",
				(unsigned long long)os.queued, xf_outbox_errmsg(s.ob));
	}
	rc = 0;
out:
	if (tfd >= 0)
		close(tfd);
	if (epfd >= 0)
		close(epfd);
	teardown(&s, 1);
	return rc;
}
