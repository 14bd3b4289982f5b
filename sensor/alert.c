// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * alert.c - render alerts as ECS JSON.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "alert.h"
#include "control.h"

/* What a kernel verdict or hard limit scores on its own: high severity. */
#define KERNEL_SCORE 80

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

void xf_alert_id(const uint8_t *client, const char *domain, uint32_t win_start_s, char *out)
{
	/* two differently seeded 64-bit FNV-1a: an identifier, not a MAC */
	uint64_t a = 0xcbf29ce484222325ULL, b = 0x84222325cbf29ce4ULL;

	a = fnv(fnv(fnv(a, client, 16), domain, strlen(domain) + 1), &win_start_s, 4);
	b = fnv(fnv(fnv(b, &win_start_s, 4), domain, strlen(domain) + 1), client, 16);
	/* the window start leads, so new ids land at the end of the store's
	 * unique index instead of on a random page of it */
	snprintf(out, XF_ALERT_ID_LEN + 1, "%08x%016llx%08x", win_start_s, (unsigned long long)a,
		 (unsigned)(b & 0xffffffffu));
}

void xf_alert_table_row(FILE *o, const struct xf_alert_rec *r, int rev, const char *tail)
{
	char when[32], client[sizeof(r->client) * 4], domain[XF_TERM_NAME_MAX];
	char sev[sizeof(r->severity) * 4], act[sizeof(r->action) * 4], t[XF_TERM_NAME_MAX];
	time_t ts = (time_t)(r->ts_ms / 1000);
	struct tm tm;

	gmtime_r(&ts, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(o, "%-20s  %-15s  %-30s  %5.1f  %-8s  %-11s  ", when,
		xf_term_str(r->client, client, sizeof(client)),
		xf_term_str(r->domain, domain, sizeof(domain)), r->score,
		xf_term_str(r->severity, sev, sizeof(sev)),
		xf_term_str(r->action, act, sizeof(act)));
	if (rev >= 0)
		fprintf(o, "%3d  ", rev);
	fprintf(o, "%s\n", xf_term_str(tail ? tail : "", t, sizeof(t)));
}

const char *xf_alert_action_name(enum xf_alert_action a)
{
	return a == XF_AA_BLOCKED ? "blocked" : a == XF_AA_WOULD_BLOCK ? "would-block" : "alerted";
}

const char *xf_qtype_name(uint16_t qtype, char *buf, size_t size)
{
	static const struct {
		uint16_t t;
		const char *n;
	} names[] = { { 1, "A" },     { 2, "NS" },	{ 5, "CNAME" },	     { 6, "SOA" },
		      { 10, "NULL" }, { 12, "PTR" },	{ 15, "MX" },	     { 16, "TXT" },
		      { 25, "KEY" },  { 28, "AAAA" },	{ 33, "SRV" },	     { 35, "NAPTR" },
		      { 43, "DS" },   { 48, "DNSKEY" }, { 64, "SVCB" },	     { 65, "HTTPS" },
		      { 99, "SPF" },  { 255, "ANY" },	{ 65399, "PRIVATE" } };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].t == qtype)
			return names[i].n;
	snprintf(buf, size, "TYPE%u", qtype);
	return buf;
}

static void iso_time(struct xf_sb *sb, int64_t ms)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	char b[32];

	gmtime_r(&s, &tm);
	strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
	xf_sb_printf(sb, "\"%s.%03dZ\"", b, (int)(ms % 1000));
}

/* The detectors that scored, after `first` reasons already written. */
static void reasons_json(struct xf_sb *sb, const struct xf_score *sc, int first)
{
	for (int i = 0; sc && i < xf_n_detectors; i++) {
		const struct xf_det_result *r = &sc->det[i];

		if (r->score <= 0)
			continue;
		xf_sb_printf(sb,
			     "%s{\"detector\":\"%s\",\"score\":%.1f,\"weight\":%.2f,"
			     "\"evidence\":{",
			     first ? "" : ",", xf_detectors[i]->name, r->score, sc->weight[i]);
		for (int k = 0; k < r->n; k++)
			xf_sb_printf(sb, "%s\"%s\":%.6g", k ? "," : "", r->ev[k].key,
				     r->ev[k].value);
		xf_sb_printf(sb, "}}");
		first = 0;
	}
}

static const char *rule_of(const struct xf_alert_in *in, const char **rule_id)
{
	const struct xf_ft_flow *f = in->flow;

	/* the top detector names the rule, unless the kernel's action is what
	 * raised the score: then the kernel's reason is the rule */
	if (in->score && in->score->score > 0 && !(f->kaction && in->score->score < KERNEL_SCORE)) {
		const struct xf_detector *d = xf_detectors[in->score->top];

		*rule_id = d->name;
		return d->rule;
	}
	*rule_id = xf_reason_name(f->kreason);
	switch (f->kreason) {
	case XF_R_VERDICT_DOMAIN:
	case XF_R_VERDICT_SNI:
	case XF_R_VERDICT_HOST:
	case XF_R_IPBLOCK:
		return "Blocklist hit";
	case XF_R_ENC_LABEL:
		return "DNS tunnel: long encoded label";
	case XF_R_BAD_BYTES:
		return "DNS tunnel: raw bytes in name";
	default:
		return "DNS tunnel: kernel rate limit";
	}
}

/* The store's row of an alert: its id (client, domain, window start) and
 * the columns queries filter on. */
static void rec_fill(struct xf_alert_rec *rec, const __u8 *client, const char *client_text,
		     const char *domain, uint32_t win_start_s, unsigned int rev, int64_t now_ms,
		     double score, const char *sev, enum xf_alert_action action)
{
	memset(rec, 0, sizeof(*rec));
	xf_alert_id(client, domain, win_start_s, rec->id);
	rec->rev = rev;
	rec->ts_ms = now_ms;
	snprintf(rec->client, sizeof(rec->client), "%s", client_text);
	snprintf(rec->domain, sizeof(rec->domain), "%s", domain);
	rec->score = score;
	snprintf(rec->severity, sizeof(rec->severity), "%s", sev);
	snprintf(rec->action, sizeof(rec->action), "%s", xf_alert_action_name(action));
}

int xf_alert_build(const struct xf_alert_in *in, struct xf_sb *sb, struct xf_alert_rec *rec)
{
	const struct xf_ft_flow *f = in->flow;
	const struct xf_flow_view *v = &f->view;
	const char *rule, *rule_id, *sev;
	char src[48], dst[48] = "", qt[16];
	double score = in->score ? in->score->score : 0;
	int kind = f->kind ? f->kind : 1;

	/* a kernel hard limit or verdict is high severity on its own */
	if (f->kaction && score < KERNEL_SCORE)
		score = KERNEL_SCORE;
	sev = xf_severity_name(in->score && in->score->score >= score ? in->score->severity
								      : XF_SEV_HIGH);
	rule = rule_of(in, &rule_id);
	xf_addr_text(f->client, src, sizeof(src));
	if (f->server)
		xf_addr_text(f->server, dst, sizeof(dst));

	rec_fill(rec, f->client, src, f->domain, f->win_start_s, in->rev, in->now_ms, score, sev,
		 in->action);

	sb->len = 0;
	xf_sb_printf(sb, "{\"@timestamp\":");
	iso_time(sb, in->now_ms);
	xf_sb_printf(sb, ",\"event\":{\"kind\":\"alert\",\"category\":[\"network\"],"
			 "\"type\":[\"info\",\"denied\"],\"module\":\"exfilter\",\"dataset\":");
	xf_sb_json_str(sb, kind == XF_EV_SNI	? "exfilter.tls"
			   : kind == XF_EV_HOST ? "exfilter.http"
						: "exfilter.dns");
	xf_sb_printf(sb, ",\"action\":\"%s\",\"id\":\"%s\",\"severity\":%d,\"start\":", rec->action,
		     rec->id, (int)(score + 0.5));
	iso_time(sb, (int64_t)f->win_start_s * 1000);
	xf_sb_printf(sb, ",\"end\":");
	iso_time(sb, (int64_t)f->last_s * 1000);
	xf_sb_printf(sb, "},\"source\":{\"ip\":\"%s\"}", src);
	if (*dst) {
		xf_sb_printf(sb, ",\"destination\":{\"ip\":\"%s\"", dst);
		if (in->geo && (in->geo->country_iso[0] || in->geo->city[0])) {
			xf_sb_printf(sb, ",\"geo\":{\"country_iso_code\":");
			xf_sb_json_str(sb, in->geo->country_iso);
			xf_sb_printf(sb, ",\"country_name\":");
			xf_sb_json_str(sb, in->geo->country);
			xf_sb_printf(sb, ",\"city_name\":");
			xf_sb_json_str(sb, in->geo->city);
			xf_sb_printf(sb, "}");
		}
		if (in->geo && in->geo->asn) {
			xf_sb_printf(sb, ",\"as\":{\"number\":%u,\"organization\":{\"name\":",
				     in->geo->asn);
			xf_sb_json_str(sb, in->geo->as_org);
			xf_sb_printf(sb, "}}");
		}
		xf_sb_printf(sb, "}");
	}
	if (kind == XF_EV_SNI) {
		xf_sb_printf(sb, ",\"tls\":{\"client\":{\"server_name\":");
		xf_sb_json_str(sb, f->samples[0] ? f->samples[0] : f->domain);
		xf_sb_printf(sb, "}}");
	} else if (kind == XF_EV_HOST) {
		xf_sb_printf(sb, ",\"url\":{\"domain\":");
		xf_sb_json_str(sb, f->samples[0] ? f->samples[0] : f->domain);
		xf_sb_printf(sb, "}");
	} else {
		xf_sb_printf(sb, ",\"dns\":{\"question\":{\"name\":");
		xf_sb_json_str(sb, f->samples[0] ? f->samples[0] : f->domain);
		xf_sb_printf(sb, ",\"registered_domain\":");
		xf_sb_json_str(sb, f->domain);
		xf_sb_printf(sb, ",\"type\":\"%s\"}}",
			     xf_qtype_name(f->last_qtype, qt, sizeof(qt)));
	}
	xf_sb_printf(sb, ",\"rule\":{\"name\":");
	xf_sb_json_str(sb, rule);
	xf_sb_printf(sb, ",\"id\":");
	xf_sb_json_str(sb, rule_id);
	xf_sb_printf(sb, ",\"ruleset\":\"exfilter\"},\"observer\":{\"vendor\":\"exfilter\","
			 "\"type\":\"sensor\",\"hostname\":");
	xf_sb_json_str(sb, in->observer ? in->observer : "");
	xf_sb_printf(sb,
		     "},\"exfilter\":{\"alert_id\":\"%s\",\"revision\":%u,\"score\":%.1f,"
		     "\"severity\":\"%s\",\"mode\":\"%s\",\"client_is_resolver\":%s,",
		     rec->id, rec->rev, score, sev, in->mode, v->resolver ? "true" : "false");
	xf_sb_printf(sb, "\"window\":{\"start\":");
	iso_time(sb, (int64_t)f->win_start_s * 1000);
	xf_sb_printf(sb, ",\"end\":");
	iso_time(sb, (int64_t)f->last_s * 1000);
	xf_sb_printf(sb, ",\"seconds\":%u},\"reasons\":[", in->window_s);
	{
		int first = 1;

		if (f->kaction) {
			xf_sb_printf(sb,
				     "{\"detector\":\"kernel\",\"score\":100,\"weight\":1,"
				     "\"evidence\":{\"reason\":\"%s\",\"action\":\"%s\","
				     "\"enforced\":%s}}",
				     xf_reason_name(f->kreason), xf_action_name(f->kaction),
				     f->kenforced ? "true" : "false");
			first = 0;
		}
		reasons_json(sb, in->score, first);
	}
	xf_sb_printf(sb, "],\"samples\":[");
	for (int k = 0; k < XF_SAMPLES && f->samples[k]; k++) {
		if (k)
			xf_sb_printf(sb, ",");
		xf_sb_json_str(sb, f->samples[k]);
	}
	xf_sb_printf(sb,
		     "],\"flow\":{\"queries\":%llu,\"qname_bytes\":%llu,"
		     "\"distinct_names\":%.0f,\"responses\":%llu,\"nxdomain\":%llu,"
		     "\"servfail\":%llu,\"refused\":%llu,\"answer_msgs\":%u,"
		     "\"answer_bytes\":%llu}}}",
		     (unsigned long long)v->queries, (unsigned long long)v->qname_bytes,
		     v->distinct, (unsigned long long)v->responses, (unsigned long long)v->nxdomain,
		     (unsigned long long)v->servfail, (unsigned long long)v->refused,
		     v->answer_msgs, (unsigned long long)v->answer_bytes);
	if (sb->oom)
		return -ENOMEM;
	rec->json = sb->buf;
	rec->json_len = sb->len;
	return 0;
}

const uint8_t xf_alert_any_client[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

int xf_alert_build_domain(const struct xf_alert_dom_in *in, struct xf_sb *sb,
			  struct xf_alert_rec *rec)
{
	const struct xf_dt_domain *d = in->dom;
	const struct xf_domain_view *v = &d->view;
	const struct xf_detector *top = xf_detectors[in->score->top];
	const char *sev = xf_severity_name(in->score->severity);
	double score = in->score->score;
	char qt[16], ip[48];

	rec_fill(rec, xf_alert_any_client, XF_ALERT_ANY_CLIENT, d->domain, d->win_start_s, in->rev,
		 in->now_ms, score, sev, in->action);

	sb->len = 0;
	xf_sb_printf(sb, "{\"@timestamp\":");
	iso_time(sb, in->now_ms);
	xf_sb_printf(sb,
		     ",\"event\":{\"kind\":\"alert\",\"category\":[\"network\"],"
		     "\"type\":[\"info\",\"denied\"],\"module\":\"exfilter\","
		     "\"dataset\":\"exfilter.dns\",\"action\":\"%s\",\"id\":\"%s\","
		     "\"severity\":%d,\"start\":",
		     rec->action, rec->id, (int)(score + 0.5));
	iso_time(sb, (int64_t)d->win_start_s * 1000);
	xf_sb_printf(sb, ",\"end\":");
	iso_time(sb, (int64_t)d->last_s * 1000);
	/* no source: thousands of clients, many of them spoofed */
	xf_sb_printf(sb, "},\"dns\":{\"question\":{\"name\":");
	xf_sb_json_str(sb, d->samples[0] ? d->samples[0] : d->domain);
	xf_sb_printf(sb, ",\"registered_domain\":");
	xf_sb_json_str(sb, d->domain);
	xf_sb_printf(sb, ",\"type\":\"%s\"}},\"rule\":{\"name\":",
		     xf_qtype_name(d->last_qtype, qt, sizeof(qt)));
	xf_sb_json_str(sb, top->rule);
	xf_sb_printf(sb, ",\"id\":");
	xf_sb_json_str(sb, top->name);
	xf_sb_printf(sb, ",\"ruleset\":\"exfilter\"},\"observer\":{\"vendor\":\"exfilter\","
			 "\"type\":\"sensor\",\"hostname\":");
	xf_sb_json_str(sb, in->observer ? in->observer : "");
	xf_sb_printf(sb,
		     "},\"exfilter\":{\"alert_id\":\"%s\",\"revision\":%u,\"score\":%.1f,"
		     "\"severity\":\"%s\",\"mode\":\"%s\",\"client_is_resolver\":false,"
		     "\"scope\":\"domain\",\"clients\":{\"estimated\":%.0f,\"samples\":[",
		     rec->id, rec->rev, score, sev, in->mode, v->clients);
	for (int k = 0; k < XF_DT_CLIENT_SAMPLES && d->clients[k]; k++) {
		xf_addr_text(d->clients[k], ip, sizeof(ip));
		xf_sb_printf(sb, "%s\"%s\"", k ? "," : "", ip);
	}
	xf_sb_printf(sb, "]},\"window\":{\"start\":");
	iso_time(sb, (int64_t)d->win_start_s * 1000);
	xf_sb_printf(sb, ",\"end\":");
	iso_time(sb, (int64_t)d->last_s * 1000);
	xf_sb_printf(sb, ",\"seconds\":%u},\"reasons\":[", in->window_s);
	reasons_json(sb, in->score, 1);
	xf_sb_printf(sb, "],\"samples\":[");
	for (int k = 0; k < XF_DT_NAME_SAMPLES && d->samples[k]; k++) {
		if (k)
			xf_sb_printf(sb, ",");
		xf_sb_json_str(sb, d->samples[k]);
	}
	xf_sb_printf(sb,
		     "],\"flow\":{\"queries\":%llu,\"qname_bytes\":%llu,"
		     "\"distinct_names\":%.0f,\"responses\":%llu,\"nxdomain\":%llu}}}",
		     (unsigned long long)v->queries, (unsigned long long)d->qname_bytes,
		     v->distinct, (unsigned long long)v->responses,
		     (unsigned long long)v->nxdomain);
	if (sb->oom)
		return -ENOMEM;
	rec->json = sb->buf;
	rec->json_len = sb->len;
	return 0;
}
