/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * alert.h - an alert document from a scored flow: ECS field names
 * (schemas/alert.schema.json), every reason with the feature values behind
 * it, sample names, the window, and a stable id.
 */
#ifndef XF_ALERT_H
#define XF_ALERT_H

#include <stdint.h>
#include <stdio.h>
#include "detector.h"
#include "domtab.h"
#include "flowtab.h"
#include "geoip.h"
#include "names.h"
#include "outbox.h"

enum xf_alert_action { XF_AA_ALERTED = 1, XF_AA_WOULD_BLOCK = 2, XF_AA_BLOCKED = 3 };

struct xf_alert_in {
	const struct xf_ft_flow *flow;
	const struct xf_score *score; /* NULL: kernel reason only */
	enum xf_alert_action action;
	uint32_t rev;
	int64_t now_ms; /* @timestamp */
	uint32_t window_s;
	const char *mode; /* monitor, enforce */
	const char *observer; /* sensor host name */
	const struct xf_geo *geo; /* destination enrichment, NULL = none */
};

/* A domain alert: one registered domain across every client (a flood). */
struct xf_alert_dom_in {
	const struct xf_dt_domain *dom;
	const struct xf_score *score; /* from xf_score_domain() */
	enum xf_alert_action action;
	uint32_t rev;
	int64_t now_ms;
	uint32_t window_s;
	const char *mode;
	const char *observer;
};

/* The client of a domain alert in xf_alert_id() and in the store's client
 * column ("*"): all ones is multicast in IPv6, never a source address. */
extern const uint8_t xf_alert_any_client[16];
#define XF_ALERT_ANY_CLIENT "*"

/* id: 32 hex characters from client, domain and window start. The same
 * alert keeps its id through updates and restarts; consumers dedupe on it. */
void xf_alert_id(const uint8_t *client, const char *domain, uint32_t win_start_s, char *out);

const char *xf_alert_action_name(enum xf_alert_action a);
const char *xf_qtype_name(uint16_t qtype, char *buf, size_t size);

/*
 * One alert as a line of the text tables of `exfilter alerts` and `replay
 * --format table`: time, client, domain, score, severity, action, then rev
 * (rev >= 0 only) and tail. Every text goes through xf_term_str(): the row
 * may come from a store someone else wrote.
 */
void xf_alert_table_row(FILE *o, const struct xf_alert_rec *r, int rev, const char *tail);

/* Render into sb and fill rec (rec->json points into sb). 0 or -ENOMEM. */
int xf_alert_build(const struct xf_alert_in *in, struct xf_sb *sb, struct xf_alert_rec *rec);

/*
 * The same for a domain alert: no source.ip (no single client is behind
 * it); exfilter.scope "domain", exfilter.clients the estimated count and the
 * first few clients seen; exfilter.flow the domain's counts over all
 * clients; rec->client is XF_ALERT_ANY_CLIENT. 0 or -ENOMEM.
 */
int xf_alert_build_domain(const struct xf_alert_dom_in *in, struct xf_sb *sb,
			  struct xf_alert_rec *rec);

#endif /* XF_ALERT_H */
