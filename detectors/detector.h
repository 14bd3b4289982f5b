/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * detector.h - the one interface every detector implements, the registry
 * that lists them, and the scorer that combines their scores.
 *
 * A detector is a pure function of a view: no I/O, no libbpf, no clock.
 * It returns a score 0-100 and the evidence behind it, so every alert can
 * say why. There are two scopes, one hook each:
 *  - flow (score): one client x registered domain over one window, the
 *    shape of one client's traffic (a tunnel, an exfiltration, a beacon);
 *  - domain (score_domain): one registered domain across every client over
 *    one window, what no single client shows (a random-subdomain flood from
 *    thousands of spoofed sources, each sending a handful of names).
 * A detector implements one of them. The same code scores live views
 * (ticked by the timer) and replayed ones (ticked by packet time).
 */
#ifndef XF_DETECTOR_H
#define XF_DETECTOR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define XF_EVIDENCE_MAX 8
#define XF_QTYPE_SLOTS 8 /* enum xf_qt_bucket */

/* What detectors see of one flow. Counts cover the current window. */
struct xf_flow_view {
	const char *domain; /* registered domain, lower-case */
	uint64_t queries;
	uint64_t qname_bytes; /* presentation bytes, summed */
	uint64_t entropy_sum; /* milli-bits per byte, summed over queries */
	uint64_t enc_queries; /* queries with a label in an encoded alphabet */
	uint64_t long_queries; /* queries with a long qname */
	uint64_t responses;
	uint64_t nxdomain;
	uint64_t servfail;
	uint64_t refused;
	/*
	 * Responses whose whole message the sensor parsed (ldns): live, those
	 * the kernel sent with their bytes (kernel.msg_bytes: rcode != 0, new
	 * flows, one a flow per CPU per event_gap_ms, TCP); replay, all. Their
	 * answer records, rdata bytes (downstream data: tunnels answer with
	 * NULL, TXT, CNAME), answer types (1 << enum xf_qt_bucket) and TC bits.
	 */
	uint32_t answer_msgs;
	uint32_t answers;
	uint64_t answer_bytes;
	uint32_t answer_qt;
	uint32_t msg_tc;
	uint32_t qtypes[XF_QTYPE_SLOTS];
	uint32_t max_name_len;
	uint32_t max_label; /* longest label seen */
	uint32_t max_enc_label; /* longest encoded label seen */
	double distinct; /* distinct names (HyperLogLog estimate) */
	double span_s; /* first to last query in the window, seconds */
	int resolver; /* the client is a configured resolver */
	/* per-name judgements (enum xf_tag) made when each name was observed */
	uint32_t tags; /* every tag seen in the window, OR-ed */
	uint32_t tagged; /* names that carried at least one tag */
	uint32_t tag_names; /* names the tag hooks looked at */
	/* timing of queries, from observations (kernel events or packets) */
	uint32_t iat_n; /* inter-arrival gaps measured */
	double iat_mean_s; /* their mean, seconds */
	double iat_cv; /* their coefficient of variation (stddev / mean) */
	/* where the queries went */
	uint32_t bypass; /* queries to a server that is not a configured resolver */
	/* second signals */
	uint32_t sni; /* TLS ClientHello server names seen */
	uint32_t hosts; /* HTTP Host headers seen */
};

/*
 * What domain-scope detectors see of one registered domain: every client's
 * queries and responses over one window (flows.window_s), summed by the
 * sensor's domain table (sensor/domtab.c). Live, these are the observations
 * the kernel sent as events (new flows, remarkable names, error responses,
 * samples): a lower bound of the traffic, never more.
 */
struct xf_domain_view {
	const char *domain; /* registered domain, lower-case */
	uint64_t queries;
	uint64_t responses;
	uint64_t nxdomain;
	double distinct; /* distinct query names, all clients (HyperLogLog estimate) */
	double clients; /* distinct clients (HyperLogLog estimate) */
	double span_s; /* first to last observation in the window, seconds */
};

/*
 * Tags: what one name says on its own (a tool's handshake string, a DNS
 * provider in SNI, a random-looking TLS name). Detectors that judge single
 * names do it in their tag hook, once per observed name; the flow keeps the
 * OR of tags and a count, and their score hook reads them. Bits are stable
 * within a build only: alerts name detectors and evidence, never bits.
 */
enum xf_tag {
	XF_TAG_IODINE = 1u << 0,
	XF_TAG_DNS2TCP = 1u << 1,
	XF_TAG_DNSCAT2 = 1u << 2,
	XF_TAG_DNSEXFILTRATOR = 1u << 3,
	XF_TAG_SODS = 1u << 4,
	XF_TAG_COBALTSTRIKE = 1u << 5,
	XF_TAG_SIG_MASK = 0xffu, /* tool signatures */
	XF_TAG_DOH_PROVIDER = 1u << 8, /* SNI of a DNS-over-HTTPS/TLS service */
	XF_TAG_SNI_RANDOM = 1u << 9, /* SNI with a random-looking long label */
	XF_TAG_HOST_RANDOM = 1u << 10, /* HTTP Host with a random-looking long label */
	XF_TAG_HOST_IP = 1u << 11, /* HTTP Host is an IP literal */
	/* encodings seen in DNS query names (labels of at least enc_label_min) */
	XF_TAG_ENC_HEX = 1u << 12, /* hex: 4 bits a character */
	XF_TAG_ENC_B32 = 1u << 13, /* base32: 5 bits */
	XF_TAG_ENC_B64 = 1u << 14, /* base64/base64url: 6 bits */
	XF_TAG_ENC_BIN = 1u << 15, /* base128 or raw bytes: never legal in a hostname */
	XF_TAG_ENC_MASK = 0xf000u,
};

struct xf_name_feat;

/* One observed name, for tag hooks. */
struct xf_name_in {
	int kind; /* enum xf_ev_kind: DNS query, SNI, Host */
	const char *name; /* presentation form, escaped, case as sent */
	size_t len;
	size_t rd_off; /* where the registered domain starts in name (len when none) */
	const struct xf_name_feat *feat; /* the shared parser's features */
	uint16_t qtype;
};

struct xf_evidence {
	const char *key; /* feature name, stable: it appears in alerts */
	double value;
};

struct xf_det_result {
	double score; /* 0-100 */
	int n;
	struct xf_evidence ev[XF_EVIDENCE_MAX];
};

/* Tuning shared by every detector. */
struct xf_det_params {
	double resolver_scale; /* volume thresholds x this for resolver clients */
	uint32_t window_s; /* the flow window, seconds */
	int have_resolvers; /* resolvers are configured: bypass means something */
	/* domain scope: a flood needs both, across all clients, in one window */
	uint32_t flood_names; /* distinct names (detect.flood_names) */
	uint32_t flood_clients; /* distinct clients (detect.flood_clients) */
};

struct xf_detector {
	const char *name; /* "length": config key and alert field */
	const char *rule; /* human rule name, used as rule.name */
	double weight; /* default weight in the scorer */
	/* flow scope: one client x registered domain; NULL for a domain detector */
	void (*score)(const struct xf_flow_view *f, const struct xf_det_params *p,
		      struct xf_det_result *r);
	/* domain scope: one registered domain across clients; NULL for a flow one */
	void (*score_domain)(const struct xf_domain_view *d, const struct xf_det_params *p,
			     struct xf_det_result *r);
	/* optional: tags (enum xf_tag) for one name, pure and cheap */
	uint32_t (*tag)(const struct xf_name_in *n);
};

/* Helpers for detectors. */
static inline void xf_ev_add(struct xf_det_result *r, const char *key, double value)
{
	if (r->n < XF_EVIDENCE_MAX)
		r->ev[r->n++] = (struct xf_evidence){ key, value };
}

/* 0 at lo, 1 at hi, linear in between. */
static inline double xf_ramp(double x, double lo, double hi)
{
	return x <= lo ? 0.0 : x >= hi ? 1.0 : (x - lo) / (hi - lo);
}

/* Distinct names per query, 0..1 (the sketch can overshoot a small exact count). */
static inline double xf_unique_ratio(const struct xf_flow_view *f)
{
	double r;

	if (!f->queries || !(f->distinct > 0))
		return 0;
	r = f->distinct / (double)f->queries;
	return r > 1 ? 1 : r;
}

/*
 * Bytes of the names left of the registered domain, summed. Every query in
 * a flow shares the registered domain, so this is qname_bytes less
 * queries x (strlen(domain) + 1) (the +1 is the dot before it); a query for
 * the bare domain would make it negative, hence the floor at 0.
 */
static inline double xf_sub_bytes(const struct xf_flow_view *f)
{
	double dl = f->domain ? (double)strlen(f->domain) + 1 : 0;
	double b = (double)f->qname_bytes - dl * (double)f->queries;

	return b > 0 ? b : 0;
}

/*
 * Downstream bytes of the window: the parsed responses' answer bytes,
 * scaled up to every response counted when only some came with their
 * message (a sample: live events are rate-limited per flow).
 */
static inline double xf_down_bytes(const struct xf_flow_view *f)
{
	if (!f->answer_msgs)
		return 0;
	if (f->responses <= f->answer_msgs)
		return (double)f->answer_bytes;
	return (double)f->answer_bytes * (double)f->responses / (double)f->answer_msgs;
}

/* Volume thresholds are this many times higher for a resolver client. */
static inline double xf_volume_scale(const struct xf_flow_view *f, const struct xf_det_params *p)
{
	return f->resolver && p->resolver_scale > 0 ? p->resolver_scale : 1.0;
}

/* The registry: every detector, in a stable order. */
extern const struct xf_detector *const xf_detectors[];
extern const int xf_n_detectors;
const struct xf_detector *xf_detector_find(const char *name);

/* Every detector's tag hook over one name, OR-ed. */
uint32_t xf_name_tags(const struct xf_name_in *n);

/* The scorer. */
enum xf_severity { XF_SEV_NONE, XF_SEV_LOW, XF_SEV_MEDIUM, XF_SEV_HIGH, XF_SEV_CRITICAL };

struct xf_score {
	double score; /* 0-100 */
	enum xf_severity severity;
	int top; /* index of the detector contributing most */
	struct xf_det_result det[16];
	double weight[16];
};

/* Weights: NULL = every detector's default; else one per registry entry.
 * Flow-scope detectors only (a domain detector's slot scores 0). */
void xf_score_flow(const struct xf_flow_view *f, const struct xf_det_params *p,
		   const double *weights, struct xf_score *out);
/* The same for one registered domain, over the domain-scope detectors. */
void xf_score_domain(const struct xf_domain_view *d, const struct xf_det_params *p,
		     const double *weights, struct xf_score *out);
const char *xf_severity_name(enum xf_severity s);

#endif /* XF_DETECTOR_H */
