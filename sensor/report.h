/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * report.h - the tuning report of `exfilter replay --report FILE.html`: one
 * self-contained HTML file (inline CSS and SVG, no script, no network) for
 * detection engineers tuning on captures.
 *
 * The replay loop feeds every scored flow, every allowlist skip, and
 * optionally a ground-truth labels file; xf_report_write() then renders
 * per registered domain the score, the detectors that fired with their
 * evidence, queries, bytes and time to detect at the threshold; a sweep of
 * thresholds 0..100 (alerts, known-tunnel hits, false positives) as a table
 * and an SVG chart; and the allowlist hits. Memory grows with the number of
 * registered domains and client x domain pairs, never with packets.
 *
 * Every name is attacker-controlled and is HTML-escaped on output.
 */
#ifndef XF_REPORT_H
#define XF_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include "detector.h"
#include "flowtab.h"

struct xf_report;

/* What the report says about the run itself. */
struct xf_report_meta {
	const char *const *inputs; /* capture files */
	int n_inputs;
	double threshold; /* detect.threshold: score that raises an alert */
	uint64_t packets, dns, parse_errors;
	const char *allowlist_version; /* NULL: none */
};

/* An empty report; NULL with errno set when out of memory. */
struct xf_report *xf_report_new(void);
void xf_report_free(struct xf_report *r);

/*
 * Ground truth: a file of lines "registered-domain label" (label: tunnel,
 * exfil, beacon, benign; '#' starts a comment). A name that is not itself a
 * registered domain is reduced to one (libpsl), as the flow table does.
 * May be called for several files. Returns 0, or -1 with err naming the file
 * and line ("labels.txt:3: unknown label ..."); lines before a bad one stay
 * loaded, so callers should give up on the run.
 */
int xf_report_truth(struct xf_report *r, const char *path, char *err, size_t errlen);

/*
 * Every time the pipeline scores a flow (even below threshold): ts_ms is
 * packet time, first_ms the flow's first packet time. Time to detect is the
 * first ts_ms at which the flow's score reached the threshold, minus the
 * smallest first_ms seen for that client x domain. Scores are kept at whole
 * points for that: exact for integer thresholds; for a fractional one
 * between two points, the time of the last rise of the best score (then or
 * later than the crossing).
 */
void xf_report_flow(struct xf_report *r, const struct xf_ft_flow *f, const struct xf_score *sc,
		    uint64_t ts_ms, uint64_t first_ms);

/*
 * One DNS query as it is observed, before any tick: its client (16 bytes),
 * registered domain, payload bytes (the name's bytes before the registered
 * domain, without the dot that joins them) and packet time. Optional: with
 * it, queries and payload bytes to detect count every query from the
 * client's first one (across window rolls), and time to detect starts at
 * the first query; without it they come from the flow's window.
 * kernel_acts: the kernel's per-packet decision would drop or refuse this
 * query (enforce mode stops it there, before any tick); the first such
 * query per client x domain goes into the evaluation summary.
 */
void xf_report_query(struct xf_report *r, const uint8_t *client, const char *domain,
		     uint64_t payload_bytes, int kernel_acts, uint64_t ts_ms);

/* The pipeline raised an alert on this flow at ts_ms (packet time); the
 * first one per client x domain is kept for the evaluation summary. */
void xf_report_alert(struct xf_report *r, const struct xf_ft_flow *f, uint64_t ts_ms);

/* A flow skipped because an allowlist entry matched: the entry text and its source. */
void xf_report_allow_hit(struct xf_report *r, const char *domain, const char *entry,
			 const char *source);

/* Write the HTML report to path ("-" = stdout). Returns 0, or -1 with err. */
int xf_report_write(struct xf_report *r, const char *path, const struct xf_report_meta *m,
		    char *err, size_t errlen);

/*
 * Write the evaluation summary (`exfilter replay --eval FILE.tsv`), for
 * scripts: '#' lines with the run's metadata, a header line, then one
 * tab-separated line per registered domain queried, scored or skipped by
 * the allowlist, sorted by name. Detection is the first alert the pipeline
 * raised (xf_report_alert), measured on the client x domain that alerted
 * soonest after its first query. docs/replay-report.md lists the columns.
 * Returns 0, or -1 with err.
 */
int xf_report_write_eval(struct xf_report *r, const char *path, const struct xf_report_meta *m,
			 char *err, size_t errlen);

/* Rows shown in the domain and allowlist tables (default 1000); labelled
 * tunnel domains are always shown. 0 = no limit. */
void xf_report_set_rows(struct xf_report *r, unsigned rows);

/* Sizes, for tests and memory accounting. */
struct xf_report_stats {
	uint64_t flows; /* xf_report_flow calls */
	uint64_t domains; /* registered domains held (seen or labelled) */
	uint64_t pairs; /* client x domain pairs held */
	uint64_t allow_rows; /* distinct (domain, entry, source) allowlist hits */
	uint64_t lost; /* flows or hits dropped: no domain, or out of memory */
};

void xf_report_stats(const struct xf_report *r, struct xf_report_stats *st);

#endif /* XF_REPORT_H */
