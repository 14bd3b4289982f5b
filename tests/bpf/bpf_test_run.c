// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bpf_test_run.c - the real TC and socket filter objects, loaded through
 * their skeletons and driven with BPF_PROG_TEST_RUN: table-driven packet
 * fixtures (verdict, stats deltas, event, parse error), then the multi-packet
 * cases (per-CPU rate limit, full ring, socket filter) and the public
 * captures. Every event's features must equal what xf_frame_parse() computes
 * in userspace for the same frame: the two builds of the parsers must agree.
 *
 * Needs root; fails (never skips) without it or when a load fails.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
/* pcap's own struct bpf_insn clashes with linux/bpf.h: take only the DLTs */
#define PCAP_DONT_INCLUDE_PCAP_BPF_H
#include <pcap/dlt.h>
#include <pcap/pcap.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "exfilter.h"
#include "frame.h"
#include "loader.h"
#include "control.h"
#include "exfilter_tc.skel.h"
#include "exfilter_sock.skel.h"
#include "pkt.h"

#define PSL_PATH "/usr/share/publicsuffix/public_suffix_list.dat"
#define PCAP_DIR_DEFAULT "../shared/data/pcaps-external"
#define EVQ_MAX 64
#define EV_REC (((sizeof(struct xf_event) + 7) & ~7UL) + 8) /* ring record with header */

/* One loaded object: its program and the maps the tests touch. */
struct target {
	const char *what;
	int prog;
	int config, flows, verdicts, allow, ipblock, suffixes, stats;
	struct ring_buffer *rb;
	int sock; /* socket filter: test_run strips an L2 header first */
};

/* Events read from the ring buffer of the current target. */
static struct {
	struct xf_event ev[EVQ_MAX];
	size_t size[EVQ_MAX]; /* record size: more than an event when a message follows */
	__u8 msg[EVQ_MAX][XF_MSG_MAX]; /* struct xf_event_msg's tail */
	__u16 msg_len[EVQ_MAX], msg_wire[EVQ_MAX];
	int n;
	int lost;
	int bad_size;
} Q;

/* One packet through a program and through the userspace parser. */
struct run {
	struct xf_config cfg;
	uint8_t in[PKT_MAX];
	size_t in_len;
	uint8_t out[PKT_MAX + 64];
	__u32 out_len;
	__u32 retval;
	struct xf_frame uf; /* userspace parse of in */
	int uret;
	__u64 before[XF_STATS_LEN], after[XF_STATS_LEN], delta[XF_STATS_LEN];
};

static struct exfilter_tc_bpf *tc_skel;
static struct target TC;
static struct run R;
static int ncpus, pinned_cpu = -1;
static __u64 *sfx_set;
static size_t sfx_n;

static const uint8_t C4[16] = { 10, 1, 1, 1 }; /* client */
static const uint8_t R4[16] = { 10, 0, 0, 53 }; /* resolver */
static const uint8_t W4[16] = { 10, 0, 0, 80 }; /* web/TLS/ssh server */
static const uint8_t B4[16] = { 10, 9, 9, 9 }; /* inside the blocked /24 */
static const uint8_t C6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t R6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x53 };

/* --- names for messages -------------------------------------------------- */

static const char *const stat_names[XF_S_MAX] = {
	"packets",    "dns_queries",  "dns_responses", "sni",	      "host",
	"events",     "ring_full",    "drops",	       "would_drops", "refused",
	"allow_hits", "parse_errors", "failsafe_open",
};

static const char *const perr_names[XF_PE_MAX] = {
	"none",	       "eth_trunc", "vlan_trunc",  "vlan_depth", "ip4_trunc",  "ip4_hdr",
	"ip_frag",     "ip6_trunc", "ip6_ext",	   "l4_trunc",	 "hdr_window", "dns_trunc",
	"dns_qdcount", "dns_label", "dns_ptr",	   "dns_long",	 "dns_tcplen", "tls_trunc",
	"tls_bad",     "sni_bad",   "http_nohost", "http_bad",
};

static const char *stat_name(int i)
{
	static char buf[32];

	if (i < XF_S_MAX)
		return stat_names[i];
	if (i - XF_S_MAX < XF_PE_MAX) {
		snprintf(buf, sizeof(buf), "perr.%s", perr_names[i - XF_S_MAX]);
		return buf;
	}
	snprintf(buf, sizeof(buf), "perr.%d", i - XF_S_MAX);
	return buf;
}

#define FEAT_FIELDS(X)                                                                             \
	X(rd_hash)                                                                                 \
	X(name_hash)                                                                               \
	X(name_len)                                                                                \
	X(entropy)                                                                                 \
	X(labels)                                                                                  \
	X(longest)                                                                                 \
	X(rd_labels)                                                                               \
	X(rd_off)                                                                                  \
	X(hex_labels)                                                                              \
	X(b32_labels)                                                                              \
	X(b64_labels)                                                                              \
	X(enc_longest)                                                                             \
	X(upper)                                                                                   \
	X(lower)                                                                                   \
	X(digit)                                                                                   \
	X(hyphen)                                                                                  \
	X(b64sym)                                                                                  \
	X(other)                                                                                   \
	X(binary)                                                                                  \
	X(pad0)                                                                                    \
	X(qtype)                                                                                   \
	X(qclass)                                                                                  \
	X(dns_id)                                                                                  \
	X(dns_flags)                                                                               \
	X(pad1)

/* 0 when equal; else prints every differing field and returns 1. */
static int feat_diff(const char *what, const struct xf_name_feat *k, const struct xf_name_feat *u)
{
	if (!memcmp(k, u, sizeof(*k)))
		return 0;
#define X(f)                                                                                       \
	if (k->f != u->f)                                                                          \
		print_error("%s: feat.%s kernel %llu (%#llx) userspace %llu (%#llx)\n", what, #f,  \
			    (unsigned long long)k->f, (unsigned long long)k->f,                    \
			    (unsigned long long)u->f, (unsigned long long)u->f);
	FEAT_FIELDS(X)
#undef X
	return 1;
}

/* --- userspace suffix set: the very keys the kernel map holds --------------- */

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

static int sfx_has(const void *set, __u64 h)
{
	(void)set;
	return bsearch(&h, sfx_set, sfx_n, sizeof(h), cmp_u64) != NULL;
}

static int sfx_collect(int fd)
{
	__u64 key, next, *cur = NULL;
	size_t cap = 0;

	sfx_n = 0;
	while (!bpf_map_get_next_key(fd, cur, &next)) {
		if (sfx_n == cap) {
			cap = cap ? cap * 2 : 8192;
			sfx_set = realloc(sfx_set, cap * sizeof(*sfx_set));
			if (!sfx_set)
				return -ENOMEM;
		}
		sfx_set[sfx_n++] = next;
		key = next;
		cur = &key;
	}
	qsort(sfx_set, sfx_n, sizeof(*sfx_set), cmp_u64);
	return 0;
}

/* --- maps ------------------------------------------------------------------ */

static int on_event(void *ctx, void *data, size_t sz)
{
	const struct xf_event_msg *em = data;

	(void)ctx;
	/* a plain event, or a response event with its message (exactly its length) */
	if (sz != sizeof(struct xf_event) &&
	    (sz < XF_EVM_HDR || em->ev.kind != XF_EV_DNS_RESPONSE ||
	     sz != XF_EVM_HDR + em->msg_len || em->msg_len > XF_MSG_MAX)) {
		Q.bad_size++;
	} else if (Q.n < EVQ_MAX) {
		memcpy(&Q.ev[Q.n], data, sizeof(struct xf_event));
		Q.size[Q.n] = sz;
		Q.msg_len[Q.n] = Q.msg_wire[Q.n] = 0;
		if (sz >= XF_EVM_HDR) {
			Q.msg_len[Q.n] = em->msg_len;
			Q.msg_wire[Q.n] = em->msg_wire;
			memcpy(Q.msg[Q.n], em->msg, em->msg_len);
		}
		Q.n++;
	} else {
		Q.lost++;
	}
	return 0;
}

static void events_drain(struct target *t)
{
	ring_buffer__consume(t->rb);
	memset(&Q, 0, sizeof(Q));
}

static void stats_read(struct target *t, __u64 *out)
{
	size_t vsz = sizeof(__u64) * XF_STATS_LEN;
	__u64 *v = calloc((size_t)ncpus, vsz);
	__u32 zero = 0;
	int c, i;

	assert_non_null(v);
	assert_int_equal(bpf_map_lookup_elem(t->stats, &zero, v), 0);
	memset(out, 0, vsz);
	for (c = 0; c < ncpus; c++)
		for (i = 0; i < XF_STATS_LEN; i++)
			out[i] += v[c * XF_STATS_LEN + i];
	free(v);
}

static void map_clear(int fd, size_t key_size)
{
	uint8_t key[64];

	while (!bpf_map_get_next_key(fd, NULL, key))
		if (bpf_map_delete_elem(fd, key))
			break;
	(void)key_size;
}

/* Empty the per-test maps and the ring; write cfg. */
static void target_reset(struct target *t, const struct xf_config *cfg)
{
	__u32 zero = 0;

	map_clear(t->flows, sizeof(struct xf_flow_key));
	map_clear(t->verdicts, sizeof(struct xf_vkey));
	map_clear(t->allow, sizeof(struct xf_vkey));
	map_clear(t->ipblock, sizeof(struct xf_lpm_key));
	assert_int_equal(bpf_map_update_elem(t->config, &zero, cfg, BPF_ANY), 0);
	events_drain(t);
}

static void put_verdict(struct target *t, const char *name, __u32 kind, __u8 action, __u64 expires)
{
	struct xf_vkey k = { .hash = xf_name_hash_text(name), .kind = kind };
	struct xf_verdict v = { .action = action, .expires_ns = expires };

	assert_int_equal(bpf_map_update_elem(t->verdicts, &k, &v, BPF_ANY), 0);
	/* as userspace does: the kernel looks verdicts up only under this flag,
	 * in the map now and in the config a tweak is about to write */
	assert_int_equal(xf_config_hint(t->config, XF_CF_VERDICTS), 0);
	R.cfg.flags |= XF_CF_VERDICTS;
}

static void put_allow(struct target *t, const char *name)
{
	struct xf_vkey k = { .hash = xf_name_hash_text(name), .kind = XF_VK_DOMAIN };
	__u8 one = 1;

	assert_int_equal(bpf_map_update_elem(t->allow, &k, &one, BPF_ANY), 0);
}

static void put_ipblock4(struct target *t, const uint8_t a[4], __u32 plen, __u8 action)
{
	struct xf_lpm_key k = { .prefixlen = 96 + plen };
	struct xf_verdict v = { .action = action };

	k.addr[10] = 0xff;
	k.addr[11] = 0xff;
	memcpy(k.addr + 12, a, 4);
	assert_int_equal(bpf_map_update_elem(t->ipblock, &k, &v, BPF_ANY), 0);
}

/* Per-CPU flow values for client x registered domain; 0 when absent. */
static int flow_read(struct target *t, const uint8_t client[16], const char *rd,
		     struct xf_flow *sum, struct xf_flow *on_cpu)
{
	struct xf_flow_key k = { .rd_hash = xf_name_hash_text(rd) };
	struct xf_flow *v = calloc((size_t)ncpus, sizeof(*v));
	int c, q;

	assert_non_null(v);
	memcpy(k.client, client, 16);
	memset(sum, 0, sizeof(*sum));
	if (bpf_map_lookup_elem(t->flows, &k, v)) {
		free(v);
		return 0;
	}
	for (c = 0; c < ncpus; c++) {
		sum->queries += v[c].queries;
		sum->responses += v[c].responses;
		sum->nxdomain += v[c].nxdomain;
		sum->enc_queries += v[c].enc_queries;
		sum->win_enc += v[c].win_enc;
		for (q = 0; q < XF_QT_BUCKETS; q++)
			sum->qtypes[q] += v[c].qtypes[q];
	}
	if (on_cpu && pinned_cpu >= 0)
		*on_cpu = v[pinned_cpu];
	free(v);
	return 1;
}

static void v4mapped(uint8_t out[16], const uint8_t a[4])
{
	memset(out, 0, 16);
	out[10] = 0xff;
	out[11] = 0xff;
	memcpy(out + 12, a, 4);
}

/* --- running one frame ------------------------------------------------------ */

/*
 * A socket filter's test run starts with eth_type_trans(), which pulls 14
 * bytes, whereas on an AF_PACKET socket the program sees the frame from its
 * MAC header. A dummy 14-byte header in front restores that view.
 */
static const uint8_t sock_l2_prefix[14] = { [12] = 0x88, [13] = 0xb5 };

static int run_frame_err(struct target *t, struct run *r);

static void run_frame(struct target *t, struct run *r)
{
	if (run_frame_err(t, r))
		fail_msg("%s: BPF_PROG_TEST_RUN failed: %s", t->what, strerror(errno));
}

/* One frame through the program and the userspace parser; -1 and errno when the run fails. */
static int run_frame_err(struct target *t, struct run *r)
{
	uint8_t buf[PKT_MAX + 14];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_out = r->out, .data_size_out = sizeof(r->out),
		    .repeat = 1);
	int i, err;

	r->uret = xf_frame_parse(r->in, (__u32)r->in_len, &r->cfg, sfx_has, NULL, &r->uf);
	if (t->sock) {
		memcpy(buf, sock_l2_prefix, 14);
		memcpy(buf + 14, r->in, r->in_len);
		o.data_in = buf;
		o.data_size_in = (__u32)(r->in_len + 14);
	} else {
		o.data_in = r->in;
		o.data_size_in = (__u32)r->in_len;
	}
	stats_read(t, r->before);
	err = bpf_prog_test_run_opts(t->prog, &o);
	if (err)
		return -1;
	r->retval = o.retval;
	r->out_len = o.data_size_out;
	stats_read(t, r->after);
	for (i = 0; i < XF_STATS_LEN; i++)
		r->delta[i] = r->after[i] - r->before[i];
	ring_buffer__consume(t->rb);
	return 0;
}

/* Check an event against the frame and its userspace parse. */
static void check_event_equiv(const char *what, const struct xf_event *e, const struct run *r)
{
	const struct xf_frame *u = &r->uf;

	assert_int_equal(r->uret, 0);
	assert_int_equal(e->version, XF_EVENT_VERSION);
	assert_int_equal(e->kind, u->kind);
	assert_int_equal(e->pkt_len, r->in_len);
	assert_memory_equal(e->saddr, u->pkt.saddr, 16);
	assert_memory_equal(e->daddr, u->pkt.daddr, 16);
	assert_int_equal(e->sport, u->pkt.sport);
	assert_int_equal(e->dport, u->pkt.dport);
	assert_int_equal(!!(e->flags & XF_EF_TCP), u->pkt.l4proto == XF_IPPROTO_TCP &&
							   u->kind != XF_EV_SNI &&
							   u->kind != XF_EV_HOST);
	assert_int_equal(!!(e->flags & XF_EF_IPV6), u->pkt.ipv6);
	assert_int_equal(e->name_len, u->name_len);
	assert_memory_equal(e->name, r->in + u->name_off, u->name_len);
	if (feat_diff(what, &e->feat, &u->feat))
		fail_msg("%s: kernel and userspace features differ (see above)", what);
}

/* --- the fixture table ------------------------------------------------------- */

struct stat_delta {
	int idx;
	__u64 delta;
};

struct tc_case {
	const char *desc;
	size_t (*build)(uint8_t *f);
	void (*tweak)(struct target *t, struct xf_config *cfg); /* config and map entries */
	__u32 retval;
	/* besides packets +1, events (from ev_kind) and parse errors (from perr) */
	struct stat_delta st[4];
	__u8 ev_kind; /* 0: no event */
	__u8 ev_action;
	__u8 ev_reason;
	__u8 ev_flags_set;
	__u8 ev_flags_clear;
	int perr; /* enum xf_perr; 0: none */
	void (*check)(const struct run *r);
};

static size_t frame(uint8_t *f, int v6, int tcp, const uint8_t *src, const uint8_t *dst,
		    uint16_t sport, uint16_t dport, const uint8_t *pl, size_t n)
{
	struct pkt_spec s = {
		.ipv6 = v6, .tcp = tcp, .sport = sport, .dport = dport, .payload = pl, .plen = n
	};

	memcpy(s.src, src, 16);
	memcpy(s.dst, dst, 16);
	return pkt_build(f, PKT_MAX, &s);
}

static size_t dns4(uint8_t *f, const char *name, uint16_t qtype)
{
	uint8_t p[512];

	return frame(f, 0, 0, C4, R4, 40000, 53, p, pkt_dns_query(p, 0x1111, name, qtype, 0));
}

/* A base32 label (RFC 4648 alphabet, lower case) of n bytes. */
static void b32_label(char *out, size_t n, unsigned seed)
{
	static const char a[] = "abcdefghijklmnopqrstuvwxyz234567";
	size_t i;

	for (i = 0; i < n; i++)
		out[i] = a[(i * 7 + seed * 13 + (i * i) % 5) & 31];
	out[n] = 0;
}

static size_t enc_name(char *name, unsigned seed)
{
	b32_label(name, 50, seed);
	strcat(name, ".t.xf.test");
	return strlen(name);
}

static size_t b_tcp_other(uint8_t *f)
{
	static const char ssh[] = "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n";

	return frame(f, 0, 1, C4, W4, 40001, 22, (const uint8_t *)ssh, sizeof(ssh) - 1);
}

static size_t b_plain(uint8_t *f)
{
	return dns4(f, "www.example.com", 1);
}

static size_t b_enc(uint8_t *f)
{
	char name[128];

	enc_name(name, 1);
	return dns4(f, name, 16);
}

static size_t b_xf(uint8_t *f)
{
	return dns4(f, "foo.t.xf.test", 1);
}

static size_t b_xf6(uint8_t *f)
{
	uint8_t p[512];

	return frame(f, 1, 0, C6, R6, 40000, 53, p,
		     pkt_dns_query(p, 0x2222, "foo.t.xf.test", 28, 0));
}

static size_t b_blocked_ip(uint8_t *f)
{
	uint8_t p[512];

	return frame(f, 0, 0, C4, B4, 40000, 53, p,
		     pkt_dns_query(p, 0x3333, "www.example.org", 1, 0));
}

static size_t b_tls(uint8_t *f)
{
	uint8_t p[1024];

	return frame(f, 0, 1, C4, W4, 40002, 443, p,
		     pkt_tls_client_hello(p, "evil.example.com", 512));
}

static size_t b_http(uint8_t *f)
{
	uint8_t p[512];

	return frame(f, 0, 1, C4, W4, 40003, 80, p, pkt_http_get(p, "blocked.example"));
}

static size_t b_http_nohost(uint8_t *f)
{
	static const char req[] = "GET / HTTP/1.0\r\nUser-Agent: x\r\n\r\n";

	return frame(f, 0, 1, C4, W4, 40003, 80, (const uint8_t *)req, sizeof(req) - 1);
}

static size_t b_response_nx(uint8_t *f)
{
	uint8_t p[512], q[300];
	size_t n = pkt_qname(q, "nope.example.com");

	/* response, RD RA, NXDOMAIN */
	return frame(f, 0, 0, R4, C4, 53, 40000, p, pkt_dns_wire(p, 0x4444, 0x8183, 1, q, n, 1, 0));
}

static size_t b_trunc_question(uint8_t *f)
{
	static const uint8_t q[] = { 3, 'w', 'w', 'w', 7, 'e', 'x', 'a' };
	uint8_t p[64];

	pkt_dns_wire(p, 0x5555, 0x0100, 1, q, sizeof(q), 1, 0);
	return frame(f, 0, 0, C4, R4, 40000, 53, p, 12 + sizeof(q)); /* cut after "exa" */
}

static size_t b_ptr_question(uint8_t *f)
{
	static const uint8_t q[] = { 0xc0, 0x0c };
	uint8_t p[64];

	return frame(f, 0, 0, C4, R4, 40000, 53, p, pkt_dns_wire(p, 0x5556, 0x0100, 1, q, 2, 1, 0));
}

static size_t b_qdcount2(uint8_t *f)
{
	uint8_t p[128], q[64];
	size_t n = pkt_qname(q, "www.example.com");

	return frame(f, 0, 0, C4, R4, 40000, 53, p, pkt_dns_wire(p, 0x5557, 0x0100, 2, q, n, 1, 0));
}

static size_t b_label40(uint8_t *f)
{
	static const uint8_t q[] = { 0x41, 'a', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0 };
	uint8_t p[64];

	return frame(f, 0, 0, C4, R4, 40000, 53, p,
		     pkt_dns_wire(p, 0x5558, 0x0100, 1, q, sizeof(q), 1, 0));
}

static size_t b_fragment(uint8_t *f)
{
	uint8_t p[128];
	struct pkt_spec s = { .frag_off = 185, .sport = 40000, .dport = 53, .payload = p };

	memcpy(s.src, C4, 16);
	memcpy(s.dst, R4, 16);
	s.plen = pkt_dns_query(p, 0x5559, "www.example.com", 1, 0);
	return pkt_build(f, PKT_MAX, &s);
}

static size_t b_vlan(uint8_t *f, int tags)
{
	uint8_t p[128];
	struct pkt_spec s = { .vlans = tags, .sport = 40000, .dport = 53, .payload = p };

	memcpy(s.src, C4, 16);
	memcpy(s.dst, R4, 16);
	s.plen = pkt_dns_query(p, 0x555a, "www.example.com", 1, 0);
	return pkt_build(f, PKT_MAX, &s);
}

static size_t b_vlan3(uint8_t *f)
{
	return b_vlan(f, 3);
}

static size_t b_vlan2(uint8_t *f)
{
	return b_vlan(f, 2);
}

static size_t b_tcplen_short(uint8_t *f)
{
	uint8_t p[128];
	size_t n = pkt_dns_query(p, 0x555b, "www.example.com", 1, 1);

	p[0] = 0;
	p[1] = 5; /* length prefix below a DNS header */
	return frame(f, 0, 1, C4, R4, 40004, 53, p, n);
}

static size_t b_v6_ext(uint8_t *f)
{
	uint8_t p[128];
	struct pkt_spec s = { .ipv6 = 1, .ip6_ext = 1, .sport = 40000, .dport = 53, .payload = p };

	memcpy(s.src, C6, 16);
	memcpy(s.dst, R6, 16);
	s.plen = pkt_dns_query(p, 0x6666, "mail.example.co.uk", 15, 0);
	return pkt_build(f, PKT_MAX, &s);
}

static size_t b_tcp_dns(uint8_t *f)
{
	uint8_t p[128];

	return frame(f, 0, 1, C4, R4, 40005, 53, p,
		     pkt_dns_query(p, 0x7777, "www.example.com", 1, 1));
}

/* IPv4 UDP may go without a checksum (0): the answer must keep it 0 */
static size_t b_xf_nocsum(uint8_t *f)
{
	size_t n = b_xf(f);

	f[14 + 20 + 6] = 0;
	f[14 + 20 + 7] = 0;
	return n;
}

static size_t b_xf_tcp(uint8_t *f)
{
	uint8_t p[128];

	return frame(f, 0, 1, C4, R4, 40006, 53, p,
		     pkt_dns_query(p, 0x7778, "foo.t.xf.test", 1, 1));
}

/* config tweaks */

static void tw_events_all(struct target *t, struct xf_config *c)
{
	(void)t;
	c->flags |= XF_CF_EVENTS_ALL;
}

static void tw_enforce(struct target *t, struct xf_config *c)
{
	(void)t;
	c->mode = XF_MODE_ENFORCE;
}

static void tw_verdict_drop(struct target *t, struct xf_config *c)
{
	c->mode = XF_MODE_ENFORCE;
	put_verdict(t, "xf.test", XF_VK_DOMAIN, XF_ACT_DROP, 0);
}

static void tw_verdict_expired(struct target *t, struct xf_config *c)
{
	c->mode = XF_MODE_ENFORCE;
	put_verdict(t, "xf.test", XF_VK_DOMAIN, XF_ACT_DROP, 1); /* 1 ns after boot */
}

static void tw_verdict_noflag(struct target *t, struct xf_config *c)
{
	tw_verdict_drop(t, c);
	c->flags &= ~XF_CF_VERDICTS; /* an entry present, lookups not enabled */
}

static void tw_verdict_refuse(struct target *t, struct xf_config *c)
{
	c->mode = XF_MODE_ENFORCE;
	put_verdict(t, "xf.test", XF_VK_DOMAIN, XF_ACT_REFUSE, 0);
}

static void tw_allow(struct target *t, struct xf_config *c)
{
	c->mode = XF_MODE_ENFORCE;
	put_verdict(t, "xf.test", XF_VK_DOMAIN, XF_ACT_DROP, 0);
	put_allow(t, "xf.test");
}

static void tw_ipblock(struct target *t, struct xf_config *c)
{
	static const uint8_t net[4] = { 10, 9, 9, 0 };

	c->mode = XF_MODE_ENFORCE;
	c->flags |= XF_CF_IPBLOCK;
	put_ipblock4(t, net, 24, XF_ACT_DROP);
}

static void tw_ipblock_off(struct target *t, struct xf_config *c)
{
	tw_ipblock(t, c);
	c->flags &= ~XF_CF_IPBLOCK; /* entries present, lookups not enabled */
}

static void tw_sni(struct target *t, struct xf_config *c)
{
	c->mode = XF_MODE_ENFORCE;
	put_verdict(t, "evil.example.com", XF_VK_SNI, XF_ACT_DROP, 0);
}

static void tw_host(struct target *t, struct xf_config *c)
{
	c->mode = XF_MODE_ENFORCE;
	put_verdict(t, "blocked.example", XF_VK_HOST, XF_ACT_DROP, 0);
}

/* extra checks */

static void ck_flow_example(const struct run *r)
{
	static const uint8_t ip[4] = { 10, 1, 1, 1 };
	uint8_t client[16];
	struct xf_flow s;

	v4mapped(client, ip);
	assert_int_equal(r->uf.feat.rd_hash, xf_name_hash_text("example.com"));
	assert_true(flow_read(&TC, client, "example.com", &s, NULL));
	assert_int_equal(s.queries, 1);
	assert_int_equal(s.qtypes[XF_QT_A], 1);
	assert_int_equal(s.enc_queries, 0);
}

static void ck_flow_nx(const struct run *r)
{
	struct xf_flow s;

	(void)r;
	assert_true(flow_read(&TC, r->uf.pkt.daddr, "example.com", &s, NULL));
	assert_int_equal(s.queries, 0);
	assert_int_equal(s.responses, 1);
	assert_int_equal(s.nxdomain, 1);
}

static void ck_couk(const struct run *r)
{
	/* co.uk is a public suffix: the registered domain has three labels */
	assert_int_equal(r->uf.feat.rd_labels, 3);
	assert_int_equal(r->uf.feat.rd_hash, xf_name_hash_text("example.co.uk"));
}

static void ck_refused(const struct run *r)
{
	const uint8_t *i = r->in, *o = r->out;
	const struct xf_pkt *p = &r->uf.pkt;
	__u32 l3 = p->l3_off, l4 = p->l4_off, pay = p->payload_off, alen = p->ipv6 ? 16 : 4;
	__u32 sa = l3 + (p->ipv6 ? 8 : 12), da = sa + alen;
	__u16 fi = pkt_get16(i + pay + 2), fo = pkt_get16(o + pay + 2);

	assert_true(pkt_csum_ok(i, r->in_len));
	assert_int_equal(r->out_len, r->in_len);
	assert_memory_equal(o, i + 6, 6); /* MACs swapped */
	assert_memory_equal(o + 6, i, 6);
	assert_memory_equal(o + 12, i + 12, sa - 12); /* ethertype .. before addresses */
	assert_memory_equal(o + sa, i + da, alen); /* addresses swapped */
	assert_memory_equal(o + da, i + sa, alen);
	assert_memory_equal(o + da + alen, i + da + alen, l4 - (da + alen));
	assert_memory_equal(o + l4, i + l4 + 2, 2); /* ports swapped */
	assert_memory_equal(o + l4 + 2, i + l4, 2);
	assert_memory_equal(o + l4 + 4, i + l4 + 4, 2); /* UDP length */
	assert_memory_equal(o + pay, i + pay, 2); /* DNS id */
	assert_int_equal(fo & 0x8000, 0x8000); /* QR */
	assert_int_equal(fo & 0x000f, XF_DNS_RCODE_REFUSED);
	assert_int_equal(fo & 0x7800, fi & 0x7800); /* opcode */
	assert_int_equal(fo & 0x0100, fi & 0x0100); /* RD echoed */
	assert_memory_equal(o + pay + 4, i + pay + 4, r->in_len - pay - 4); /* counts, question */
	if (!pkt_csum_ok(o, r->out_len))
		fail_msg("REFUSED answer: UDP checksum %#06x is not valid", pkt_get16(o + l4 + 6));
}

static void ck_refused_nocsum(const struct run *r)
{
	ck_refused(r);
	assert_int_equal(pkt_get16(r->out + r->uf.pkt.csum_off), 0);
}

#define ST(name, d)                                                                                \
	{                                                                                          \
		XF_S_##name, d                                                                     \
	}
#define EF_IN XF_EF_INGRESS

static const struct tc_case cases[] = {
	{ .desc = "non-DNS TCP packet: pass, counted, no event",
	  .build = b_tcp_other,
	  .retval = TC_ACT_OK },
	{ .desc = "DNS A www.example.com: pass, flow queries 1, only a new-flow event",
	  .build = b_plain,
	  .retval = TC_ACT_OK,
	  .st = { ST(DNS_QUERIES, 1) },
	  .ev_kind = XF_EV_DNS_QUERY,
	  .ev_action = XF_ACT_PASS,
	  .ev_reason = XF_R_NONE,
	  .ev_flags_set = EF_IN | XF_EF_NEWFLOW,
	  .ev_flags_clear = XF_EF_SAMPLED | XF_EF_ENFORCED,
	  .check = ck_flow_example },
	{ .desc = "DNS A www.example.com, events-all: event equals userspace parse",
	  .build = b_plain,
	  .tweak = tw_events_all,
	  .retval = TC_ACT_OK,
	  .st = { ST(DNS_QUERIES, 1) },
	  .ev_kind = XF_EV_DNS_QUERY,
	  .ev_action = XF_ACT_PASS,
	  .ev_reason = XF_R_NONE,
	  .ev_flags_set = EF_IN,
	  .ev_flags_clear =
		  XF_EF_ENFORCED | XF_EF_SAMPLED | XF_EF_TCP | XF_EF_IPV6 | XF_EF_ALLOWED },
	{ .desc = "50-char base32 label, monitor: pass, would-drop enc_label",
	  .build = b_enc,
	  .retval = TC_ACT_OK,
	  .st = { ST(DNS_QUERIES, 1), ST(WOULD_DROPS, 1) },
	  .ev_kind = XF_EV_DNS_QUERY,
	  .ev_action = XF_ACT_DROP,
	  .ev_reason = XF_R_ENC_LABEL,
	  .ev_flags_set = EF_IN,
	  .ev_flags_clear = XF_EF_ENFORCED },
	{ .desc = "50-char base32 label, enforce: TC_ACT_SHOT",
	  .build = b_enc,
	  .tweak = tw_enforce,
	  .retval = TC_ACT_SHOT,
	  .st = { ST(DNS_QUERIES, 1), ST(DROPS, 1) },
	  .ev_kind = XF_EV_DNS_QUERY,
	  .ev_action = XF_ACT_DROP,
	  .ev_reason = XF_R_ENC_LABEL,
	  .ev_flags_set = EF_IN | XF_EF_ENFORCED },
	{ .desc = "domain verdict drop xf.test, enforce: foo.t.xf.test TC_ACT_SHOT",
	  .build = b_xf,
	  .tweak = tw_verdict_drop,
	  .retval = TC_ACT_SHOT,
	  .st = { ST(DNS_QUERIES, 1), ST(DROPS, 1) },
	  .ev_kind = XF_EV_DNS_QUERY,
	  .ev_action = XF_ACT_DROP,
	  .ev_reason = XF_R_VERDICT_DOMAIN,
	  .ev_flags_set = EF_IN | XF_EF_ENFORCED },
	{ .desc = "expired domain verdict: pass",
	  .build = b_xf,
	  .tweak = tw_verdict_expired,
	  .retval = TC_ACT_OK,
	  .st = { ST(DNS_QUERIES, 1) },
	  .ev_kind = XF_EV_DNS_QUERY, /* the new-flow event */
	  .ev_action = XF_ACT_PASS,
	  .ev_flags_set = EF_IN | XF_EF_NEWFLOW,
	  .ev_flags_clear = XF_EF_ENFORCED },
	{ .desc = "domain verdict without XF_CF_VERDICTS: not looked up, pass",
	  .build = b_xf,
	  .tweak = tw_verdict_noflag,
	  .retval = TC_ACT_OK,
	  .st = { ST(DNS_QUERIES, 1) },
	  .ev_kind = XF_EV_DNS_QUERY, /* the new-flow event */
	  .ev_action = XF_ACT_PASS,
	  .ev_flags_set = EF_IN | XF_EF_NEWFLOW,
	  .ev_flags_clear = XF_EF_ENFORCED },
	{ .desc = "domain verdict refuse, IPv4: TC_ACT_REDIRECT with a REFUSED answer",
	  .build = b_xf,
	  .tweak = tw_verdict_refuse,
	  .retval = TC_ACT_REDIRECT,
	  .st = { ST(DNS_QUERIES, 1), ST(REFUSED, 1) },
	  .ev_kind = XF_EV_DNS_QUERY,
	  .ev_action = XF_ACT_REFUSE,
	  .ev_reason = XF_R_VERDICT_DOMAIN,
	  .ev_flags_set = EF_IN | XF_EF_ENFORCED,
	  .check = ck_refused },
	{ .desc = "domain verdict refuse, IPv6 AAAA: TC_ACT_REDIRECT with a REFUSED answer",
	  .build = b_xf6,
	  .tweak = tw_verdict_refuse,
	  .retval = TC_ACT_REDIRECT,
	  .st = { ST(DNS_QUERIES, 1), ST(REFUSED, 1) },
	  .ev_kind = XF_EV_DNS_QUERY,
	  .ev_action = XF_ACT_REFUSE,
	  .ev_reason = XF_R_VERDICT_DOMAIN,
	  .ev_flags_set = EF_IN | XF_EF_ENFORCED | XF_EF_IPV6,
	  .check = ck_refused },
	{ .desc = "allowlisted xf.test beats a drop verdict and an encoded label",
	  .build = b_enc,
	  .tweak = tw_allow,
	  .retval = TC_ACT_OK,
	  .st = { ST(DNS_QUERIES, 1), ST(ALLOW_HITS, 1) },
	  .ev_kind = XF_EV_DNS_QUERY, /* still notable: the encoded label */
	  .ev_action = XF_ACT_PASS,
	  .ev_reason = XF_R_NONE,
	  .ev_flags_set = EF_IN | XF_EF_ALLOWED,
	  .ev_flags_clear = XF_EF_ENFORCED },
	{ .desc = "ipblock 10.9.9.0/24, enforce: query to 10.9.9.9 TC_ACT_SHOT",
	  .build = b_blocked_ip,
	  .tweak = tw_ipblock,
	  .retval = TC_ACT_SHOT,
	  .st = { ST(DNS_QUERIES, 1), ST(DROPS, 1) },
	  .ev_kind = XF_EV_DNS_QUERY,
	  .ev_action = XF_ACT_DROP,
	  .ev_reason = XF_R_IPBLOCK,
	  .ev_flags_set = EF_IN | XF_EF_ENFORCED },
	{ .desc = "ipblock entry without XF_CF_IPBLOCK: not looked up, pass",
	  .build = b_blocked_ip,
	  .tweak = tw_ipblock_off,
	  .retval = TC_ACT_OK,
	  .st = { ST(DNS_QUERIES, 1) },
	  .ev_kind = XF_EV_DNS_QUERY, /* the new-flow event */
	  .ev_action = XF_ACT_PASS,
	  .ev_flags_set = EF_IN | XF_EF_NEWFLOW,
	  .ev_flags_clear = XF_EF_ENFORCED },
	{ .desc = "TLS ClientHello SNI evil.example.com, SNI verdict: TC_ACT_SHOT",
	  .build = b_tls,
	  .tweak = tw_sni,
	  .retval = TC_ACT_SHOT,
	  .st = { ST(SNI, 1), ST(DROPS, 1) },
	  .ev_kind = XF_EV_SNI,
	  .ev_action = XF_ACT_DROP,
	  .ev_reason = XF_R_VERDICT_SNI,
	  .ev_flags_set = EF_IN | XF_EF_ENFORCED,
	  .ev_flags_clear = XF_EF_TCP },
	{ .desc = "TLS ClientHello SNI, no verdict: pass, event",
	  .build = b_tls,
	  .retval = TC_ACT_OK,
	  .st = { ST(SNI, 1) },
	  .ev_kind = XF_EV_SNI,
	  .ev_action = XF_ACT_PASS,
	  .ev_reason = XF_R_NONE,
	  .ev_flags_set = EF_IN,
	  .ev_flags_clear = XF_EF_ENFORCED },
	{ .desc = "HTTP Host blocked.example, Host verdict: TC_ACT_SHOT",
	  .build = b_http,
	  .tweak = tw_host,
	  .retval = TC_ACT_SHOT,
	  .st = { ST(HOST, 1), ST(DROPS, 1) },
	  .ev_kind = XF_EV_HOST,
	  .ev_action = XF_ACT_DROP,
	  .ev_reason = XF_R_VERDICT_HOST,
	  .ev_flags_set = EF_IN | XF_EF_ENFORCED },
	{ .desc = "DNS NXDOMAIN response: counted on the client's flow, event",
	  .build = b_response_nx,
	  .retval = TC_ACT_OK,
	  .st = { ST(DNS_RESPONSES, 1) },
	  .ev_kind = XF_EV_DNS_RESPONSE,
	  .ev_action = XF_ACT_PASS,
	  .ev_reason = XF_R_NONE,
	  .ev_flags_set = EF_IN,
	  .check = ck_flow_nx },
	{ .desc = "malformed: truncated DNS question",
	  .build = b_trunc_question,
	  .retval = TC_ACT_OK,
	  .perr = XF_PE_DNS_TRUNC },
	{ .desc = "malformed: compression pointer in the question",
	  .build = b_ptr_question,
	  .retval = TC_ACT_OK,
	  .perr = XF_PE_DNS_PTR },
	{ .desc = "malformed: qdcount 2",
	  .build = b_qdcount2,
	  .retval = TC_ACT_OK,
	  .perr = XF_PE_DNS_QDCOUNT },
	{ .desc = "malformed: label type 0x40",
	  .build = b_label40,
	  .retval = TC_ACT_OK,
	  .perr = XF_PE_DNS_LABEL },
	{ .desc = "malformed: IPv4 non-first fragment",
	  .build = b_fragment,
	  .retval = TC_ACT_OK,
	  .perr = XF_PE_IP_FRAG },
	{ .desc = "malformed: three VLAN tags",
	  .build = b_vlan3,
	  .retval = TC_ACT_OK,
	  .perr = XF_PE_VLAN_DEPTH },
	{ .desc = "malformed: TCP DNS length prefix shorter than a header",
	  .build = b_tcplen_short,
	  .retval = TC_ACT_OK,
	  .perr = XF_PE_DNS_TCPLEN },
	{ .desc = "malformed: HTTP request without Host",
	  .build = b_http_nohost,
	  .retval = TC_ACT_OK,
	  .perr = XF_PE_HTTP_NOHOST },
	{ .desc = "IPv6 hop-by-hop + dest-opts DNS query (co.uk): parsed, equal features",
	  .build = b_v6_ext,
	  .tweak = tw_events_all,
	  .retval = TC_ACT_OK,
	  .st = { ST(DNS_QUERIES, 1) },
	  .ev_kind = XF_EV_DNS_QUERY,
	  .ev_action = XF_ACT_PASS,
	  .ev_flags_set = EF_IN | XF_EF_IPV6,
	  .check = ck_couk },
	{ .desc = "two VLAN tags (802.1ad + 802.1Q) DNS query: parsed",
	  .build = b_vlan2,
	  .tweak = tw_events_all,
	  .retval = TC_ACT_OK,
	  .st = { ST(DNS_QUERIES, 1) },
	  .ev_kind = XF_EV_DNS_QUERY,
	  .ev_action = XF_ACT_PASS,
	  .ev_flags_set = EF_IN },
	{ .desc = "TCP DNS query (length prefix) on port 53: parsed, XF_EF_TCP",
	  .build = b_tcp_dns,
	  .tweak = tw_events_all,
	  .retval = TC_ACT_OK,
	  .st = { ST(DNS_QUERIES, 1) },
	  .ev_kind = XF_EV_DNS_QUERY,
	  .ev_action = XF_ACT_PASS,
	  .ev_flags_set = EF_IN | XF_EF_TCP },
	{ .desc = "domain verdict refuse, IPv4 UDP without checksum: answer keeps checksum 0",
	  .build = b_xf_nocsum,
	  .tweak = tw_verdict_refuse,
	  .retval = TC_ACT_REDIRECT,
	  .st = { ST(DNS_QUERIES, 1), ST(REFUSED, 1) },
	  .ev_kind = XF_EV_DNS_QUERY,
	  .ev_action = XF_ACT_REFUSE,
	  .ev_reason = XF_R_VERDICT_DOMAIN,
	  .ev_flags_set = EF_IN | XF_EF_ENFORCED,
	  .check = ck_refused_nocsum },
	{ .desc = "domain verdict refuse on TCP DNS: dropped instead",
	  .build = b_xf_tcp,
	  .tweak = tw_verdict_refuse,
	  .retval = TC_ACT_SHOT,
	  .st = { ST(DNS_QUERIES, 1), ST(DROPS, 1) },
	  .ev_kind = XF_EV_DNS_QUERY,
	  .ev_action = XF_ACT_DROP,
	  .ev_reason = XF_R_VERDICT_DOMAIN,
	  .ev_flags_set = EF_IN | XF_EF_ENFORCED | XF_EF_TCP },
};

static void check_stats(const char *desc, const struct tc_case *c, const struct run *r)
{
	__u64 want[XF_STATS_LEN] = { 0 };
	int i, bad = 0;

	want[XF_S_PACKETS] = 1;
	want[XF_S_EVENTS] = c->ev_kind ? 1 : 0;
	if (c->perr) {
		want[XF_S_PARSE_ERRORS] = 1;
		want[XF_STAT_PERR(c->perr)] = 1;
	}
	for (i = 0; i < 4 && c->st[i].delta; i++)
		want[c->st[i].idx] = c->st[i].delta;
	for (i = 0; i < XF_STATS_LEN; i++) {
		if (r->delta[i] == want[i])
			continue;
		print_error("%s: stat %s moved by %llu, expected %llu\n", desc, stat_name(i),
			    (unsigned long long)r->delta[i], (unsigned long long)want[i]);
		bad = 1;
	}
	if (bad)
		fail_msg("%s: unexpected stats deltas", desc);
}

static void test_case(void **state)
{
	const struct tc_case *c = *state;
	struct run *r = &R;

	memset(r, 0, sizeof(*r));
	xf_config_defaults(&r->cfg);
	target_reset(&TC, &r->cfg);
	if (c->tweak) {
		__u32 zero = 0;

		c->tweak(&TC, &r->cfg);
		assert_int_equal(bpf_map_update_elem(TC.config, &zero, &r->cfg, BPF_ANY), 0);
	}
	r->in_len = c->build(r->in);
	assert_true(r->in_len > 0);
	run_frame(&TC, r);

	if (r->retval != c->retval)
		fail_msg("%s: TC retval %u, expected %u", c->desc, r->retval, c->retval);
	check_stats(c->desc, c, r);
	assert_int_equal(Q.bad_size, 0);
	if (c->perr) {
		/* the userspace twin must reach the same parse error */
		assert_int_equal(r->uf.err, -c->perr);
	}
	if (!c->ev_kind) {
		if (Q.n)
			fail_msg("%s: unexpected event (kind %u)", c->desc, Q.ev[0].kind);
	} else {
		const struct xf_event *e = &Q.ev[0];

		if (Q.n != 1)
			fail_msg("%s: %d events, expected 1", c->desc, Q.n);
		assert_int_equal(e->kind, c->ev_kind);
		assert_int_equal(e->action, c->ev_action);
		assert_int_equal(e->reason, c->ev_reason);
		assert_int_equal(e->mode, r->cfg.mode);
		assert_int_equal(e->flags & c->ev_flags_set, c->ev_flags_set);
		assert_int_equal(e->flags & c->ev_flags_clear, 0);
		check_event_equiv(c->desc, e, r);
	}
	if (c->check)
		c->check(r);
}

/* --- multi-packet cases ------------------------------------------------------ */

/*
 * Per-CPU rate limit on encoded queries: with kenc_limit 3, the 4th and 5th
 * encoded query of one flow in the window are dropped. The thread is pinned,
 * so every run counts in the same CPU's flow entry.
 */
static void test_rate_limit_enc(void **state)
{
	struct run *r = &R;
	struct xf_flow sum, cpu;
	uint8_t client[16];
	int i;

	(void)state;
	memset(r, 0, sizeof(*r));
	xf_config_defaults(&r->cfg);
	r->cfg.mode = XF_MODE_ENFORCE;
	r->cfg.kenc_limit = 3;
	r->cfg.enc_label_drop = 0; /* the single-query limit must not fire first */
	target_reset(&TC, &r->cfg);
	for (i = 0; i < 5; i++) {
		char name[128];
		uint8_t p[512];

		enc_name(name, (unsigned)i + 10);
		r->in_len = frame(r->in, 0, 0, C4, R4, (uint16_t)(41000 + i), 53, p,
				  pkt_dns_query(p, (uint16_t)(0x100 + i), name, 16, 0));
		events_drain(&TC);
		run_frame(&TC, r);
		assert_int_equal(r->delta[XF_S_DNS_QUERIES], 1);
		assert_int_equal(Q.n, 1); /* encoded: notable */
		assert_true(r->uf.feat.enc_longest >= 16);
		check_event_equiv("rate limit", &Q.ev[0], r);
		if (i < 3) {
			assert_int_equal(r->retval, TC_ACT_OK);
			assert_int_equal(Q.ev[0].action, XF_ACT_PASS);
			assert_int_equal(r->delta[XF_S_DROPS], 0);
		} else {
			assert_int_equal(r->retval, TC_ACT_SHOT);
			assert_int_equal(Q.ev[0].action, XF_ACT_DROP);
			assert_int_equal(Q.ev[0].reason, XF_R_RATE_ENC);
			assert_int_equal(Q.ev[0].flags & XF_EF_ENFORCED, XF_EF_ENFORCED);
			assert_int_equal(r->delta[XF_S_DROPS], 1);
		}
	}
	v4mapped(client, (const uint8_t[4]){ 10, 1, 1, 1 });
	assert_true(flow_read(&TC, client, "xf.test", &sum, &cpu));
	assert_int_equal(sum.queries, 5);
	assert_int_equal(sum.enc_queries, 5);
	assert_int_equal(cpu.win_enc, 5); /* all on the pinned CPU */
}

/* sample_every 3: plain queries yield an event for the 3rd and 6th, flagged sampled. */
static void test_sampling(void **state)
{
	struct run *r = &R;
	int i, events = 0;

	(void)state;
	memset(r, 0, sizeof(*r));
	xf_config_defaults(&r->cfg);
	r->cfg.sample_every = 3;
	r->cfg.event_gap_ms = 0; /* only sampling, however slow the run */
	target_reset(&TC, &r->cfg);
	{
		/* the sample counter lives in the per-CPU scratch entry: start it at 0 */
		size_t vsz = (bpf_map__value_size(tc_skel->maps.xf_scratch) + 7) & ~7UL;
		void *zeros = calloc((size_t)ncpus, vsz);
		__u32 zero = 0;

		assert_non_null(zeros);
		assert_int_equal(bpf_map_update_elem(bpf_map__fd(tc_skel->maps.xf_scratch), &zero,
						     zeros, BPF_ANY),
				 0);
		free(zeros);
	}
	/* the flow's first query is always an event (it names the domain) */
	events_drain(&TC);
	r->in_len = b_plain(r->in);
	run_frame(&TC, r);
	assert_int_equal(Q.n, 1);
	assert_int_equal(Q.ev[0].flags & (XF_EF_NEWFLOW | XF_EF_SAMPLED), XF_EF_NEWFLOW);
	for (i = 1; i <= 6; i++) {
		events_drain(&TC);
		r->in_len = b_plain(r->in);
		run_frame(&TC, r);
		assert_int_equal(r->retval, TC_ACT_OK);
		assert_int_equal(Q.n, i % 3 == 0);
		if (Q.n) {
			assert_int_equal(Q.ev[0].flags & XF_EF_SAMPLED, XF_EF_SAMPLED);
			check_event_equiv("sampled", &Q.ev[0], r);
			events++;
		}
	}
	assert_int_equal(events, 2);
}

/*
 * event_gap_ms: a plain query of a known flow yields an event (XF_EF_GAP)
 * when the gap has passed since the flow's last query event on this CPU,
 * and none before; 0 turns it off. Sleeps 0.6 s twice.
 */
static int plain_events(struct run *r)
{
	events_drain(&TC);
	r->in_len = b_plain(r->in);
	run_frame(&TC, r);
	assert_int_equal(r->retval, TC_ACT_OK);
	return Q.n;
}

static void test_event_gap(void **state)
{
	static const uint8_t ip[4] = { 10, 1, 1, 1 };
	struct run *r = &R;
	struct xf_flow sum, cpu;
	uint8_t client[16];
	__u32 zero = 0;

	(void)state;
	v4mapped(client, ip);
	memset(r, 0, sizeof(*r));
	xf_config_defaults(&r->cfg);
	assert_int_equal(r->cfg.event_gap_ms, 1000); /* the default */
	r->cfg.event_gap_ms = 500;
	target_reset(&TC, &r->cfg);

	assert_int_equal(plain_events(r), 1);
	assert_int_equal(Q.ev[0].flags & (XF_EF_NEWFLOW | XF_EF_GAP), XF_EF_NEWFLOW | XF_EF_GAP);
	assert_true(flow_read(&TC, client, "example.com", &sum, &cpu));
	assert_int_equal(cpu.last_ev_ns, Q.ev[0].ts_ns);
	assert_int_equal(plain_events(r), 0); /* within the gap */
	usleep(600000);
	assert_int_equal(plain_events(r), 1);
	assert_int_equal(Q.ev[0].flags & (XF_EF_NEWFLOW | XF_EF_GAP | XF_EF_SAMPLED), XF_EF_GAP);
	assert_int_equal(Q.ev[0].kind, XF_EV_DNS_QUERY);
	check_event_equiv("event gap", &Q.ev[0], r);
	assert_true(flow_read(&TC, client, "example.com", &sum, &cpu));
	assert_int_equal(cpu.last_ev_ns, Q.ev[0].ts_ns);
	assert_int_equal(sum.queries, 3);
	assert_int_equal(plain_events(r), 0);

	/* off: a known flow's plain queries stay silent however slow */
	r->cfg.event_gap_ms = 0;
	assert_int_equal(bpf_map_update_elem(TC.config, &zero, &r->cfg, BPF_ANY), 0);
	usleep(600000);
	assert_int_equal(plain_events(r), 0);
}

/*
 * HTTP keep-alive sends a Host per request: one event per client x name per
 * event_gap_ms on this CPU, another name or client is its own; 0 turns the
 * gap off (every request an event). A denied Host is always an event.
 */
static int http_events(struct run *r, const uint8_t *client, const char *host)
{
	uint8_t p[512];

	events_drain(&TC);
	r->in_len = frame(r->in, 0, 1, client, W4, 40003, 80, p, pkt_http_get(p, host));
	run_frame(&TC, r);
	assert_int_equal(r->retval, TC_ACT_OK);
	return Q.n;
}

static void test_host_gap(void **state)
{
	static const uint8_t c1[4] = { 10, 7, 7, 1 }, c2[4] = { 10, 7, 7, 2 };
	struct run *r = &R;
	__u32 zero = 0;

	(void)state;
	memset(r, 0, sizeof(*r));
	xf_config_defaults(&r->cfg);
	r->cfg.event_gap_ms = 500;
	target_reset(&TC, &r->cfg);
	assert_int_equal(http_events(r, c1, "gap-a.example"), 1);
	assert_int_equal(Q.ev[0].kind, XF_EV_HOST);
	assert_int_equal(http_events(r, c1, "gap-a.example"), 0); /* within the gap */
	assert_int_equal(http_events(r, c1, "gap-b.example"), 1); /* another name */
	assert_int_equal(http_events(r, c2, "gap-a.example"), 1); /* another client */
	usleep(600000);
	assert_int_equal(http_events(r, c1, "gap-a.example"), 1); /* the gap passed */
	put_verdict(&TC, "gap-a.example", XF_VK_HOST, XF_ACT_DROP, 0);
	assert_int_equal(bpf_map_update_elem(TC.config, &zero, &R.cfg, BPF_ANY), 0);
	assert_int_equal(http_events(r, c1, "gap-a.example"), 1); /* acted on: always */
	map_clear(TC.verdicts, sizeof(struct xf_vkey));
	r->cfg.event_gap_ms = 0;
	r->cfg.flags &= ~XF_CF_VERDICTS;
	assert_int_equal(bpf_map_update_elem(TC.config, &zero, &r->cfg, BPF_ANY), 0);
	assert_int_equal(http_events(r, c2, "gap-c.example"), 1);
	assert_int_equal(http_events(r, c2, "gap-c.example"), 1);
}

/* A response of n answer bytes: NOERROR, one TXT answer, from the resolver. */
static size_t b_response_txt(uint8_t *f, size_t txt, int tcp)
{
	uint8_t p[PKT_MAX], q[300];
	size_t qn = pkt_qname(q, "data.example.com"), n, rd = txt + 1;
	uint8_t *m = p + (tcp ? 2 : 0);

	n = pkt_dns_wire(p, 0x5555, 0x8180, 1, q, qn, 16, tcp) - (tcp ? 2 : 0);
	pkt_put16(m + 6, 1); /* ancount */
	m[n++] = 0xc0; /* owner: a pointer to the question's name */
	m[n++] = 12;
	pkt_put16(m + n, 16), n += 2;
	pkt_put16(m + n, 1), n += 2;
	memset(m + n, 0, 4), n += 4; /* TTL */
	pkt_put16(m + n, (uint16_t)rd), n += 2;
	m[n++] = (uint8_t)(txt > 255 ? 255 : txt); /* first string's length */
	for (size_t i = 0; i < txt; i++)
		m[n++] = (uint8_t)('a' + i % 26);
	if (tcp)
		pkt_put16(p, (uint16_t)n);
	return frame(f, 0, tcp, R4, C4, 53, 40000, p, n + (tcp ? 2 : 0));
}

/* Run one response; the event count it produced (messages in Q). */
static int response_events(struct run *r, size_t txt, int tcp)
{
	events_drain(&TC);
	r->in_len = b_response_txt(r->in, txt, tcp);
	run_frame(&TC, r);
	assert_int_equal(Q.bad_size, 0);
	return Q.n;
}

/*
 * Response events carry the DNS message (kernel.msg_bytes): the bytes are the
 * packet's, cut at msg_bytes, the record no longer than its message; the
 * flow's later responses wait for event_gap_ms, TCP ones do not; msg_bytes 0
 * gives the plain record and the old rule (rcode != 0 or a new flow).
 */
static void test_response_msg(void **state)
{
	struct run *r = &R;
	const uint8_t *dns;
	__u32 zero = 0;
	size_t mlen;

	(void)state;
	memset(r, 0, sizeof(*r));
	xf_config_defaults(&r->cfg);
	assert_int_equal(r->cfg.msg_bytes, 512); /* the default */
	target_reset(&TC, &r->cfg);

	/* a new flow: an event with the whole 200-byte-answer message */
	assert_int_equal(response_events(r, 200, 0), 1);
	assert_int_equal(r->uret, 0);
	dns = r->in + r->uf.pkt.payload_off;
	mlen = r->uf.pkt.payload_len;
	assert_int_equal(Q.ev[0].kind, XF_EV_DNS_RESPONSE);
	assert_int_equal(Q.ev[0].flags & (XF_EF_NEWFLOW | XF_EF_GAP), XF_EF_NEWFLOW | XF_EF_GAP);
	check_event_equiv("response msg", &Q.ev[0], r);
	assert_int_equal(Q.msg_len[0], mlen);
	assert_int_equal(Q.msg_wire[0], mlen);
	assert_int_equal(Q.size[0], XF_EVM_HDR + mlen);
	assert_memory_equal(Q.msg[0], dns, mlen);

	/* the same flow within event_gap_ms: no event, still counted */
	assert_int_equal(response_events(r, 200, 0), 0);
	assert_int_equal(r->delta[XF_S_DNS_RESPONSES], 1);

	/* TCP: always an event, the message after the length prefix */
	assert_int_equal(response_events(r, 300, 1), 1);
	assert_int_equal(Q.ev[0].flags & XF_EF_TCP, XF_EF_TCP);
	mlen = r->uf.pkt.payload_len - 2;
	assert_int_equal(Q.msg_len[0], mlen);
	assert_int_equal(Q.msg_wire[0], mlen);
	assert_memory_equal(Q.msg[0], r->in + r->uf.pkt.payload_off + 2, mlen);

	/* a message longer than msg_bytes is cut there; the wire length says so */
	r->cfg.msg_bytes = 100;
	assert_int_equal(bpf_map_update_elem(TC.config, &zero, &r->cfg, BPF_ANY), 0);
	assert_int_equal(response_events(r, 900, 1), 1);
	assert_int_equal(Q.msg_len[0], 100);
	assert_int_equal(Q.msg_wire[0], r->uf.pkt.payload_len - 2);
	assert_int_equal(Q.size[0], XF_EVM_HDR + 100);
	assert_memory_equal(Q.msg[0], r->in + r->uf.pkt.payload_off + 2, 100);
	/* past the 512-byte bound, whatever the config says */
	r->cfg.msg_bytes = 60000;
	assert_int_equal(bpf_map_update_elem(TC.config, &zero, &r->cfg, BPF_ANY), 0);
	assert_int_equal(response_events(r, 900, 1), 1);
	assert_int_equal(Q.msg_len[0], XF_MSG_MAX);
	assert_memory_equal(Q.msg[0], r->in + r->uf.pkt.payload_off + 2, XF_MSG_MAX);

	/* after the gap, the flow's next UDP response is an event again */
	r->cfg.msg_bytes = 512;
	r->cfg.event_gap_ms = 300;
	assert_int_equal(bpf_map_update_elem(TC.config, &zero, &r->cfg, BPF_ANY), 0);
	usleep(400000);
	assert_int_equal(response_events(r, 50, 0), 1);
	assert_int_equal(Q.ev[0].flags & (XF_EF_NEWFLOW | XF_EF_GAP), XF_EF_GAP);
	assert_int_equal(Q.msg_len[0], r->uf.pkt.payload_len);

	/* off: the plain record, and a known flow's NOERROR is no event */
	r->cfg.msg_bytes = 0;
	assert_int_equal(bpf_map_update_elem(TC.config, &zero, &r->cfg, BPF_ANY), 0);
	usleep(400000);
	assert_int_equal(response_events(r, 50, 0), 0);
	assert_int_equal(response_events(r, 50, 1), 0);
	r->cfg.flags |= XF_CF_EVENTS_ALL;
	assert_int_equal(bpf_map_update_elem(TC.config, &zero, &r->cfg, BPF_ANY), 0);
	assert_int_equal(response_events(r, 50, 0), 1);
	assert_int_equal(Q.size[0], sizeof(struct xf_event));
}

/* The egress program refuses too, and its events are not flagged ingress. */
static void test_egress_refuse(void **state)
{
	struct target t = TC;
	struct run *r = &R;

	(void)state;
	t.what = "tc egress";
	t.prog = bpf_program__fd(tc_skel->progs.xf_tc_egress);
	memset(r, 0, sizeof(*r));
	xf_config_defaults(&r->cfg);
	r->cfg.mode = XF_MODE_ENFORCE;
	target_reset(&t, &r->cfg);
	put_verdict(&t, "xf.test", XF_VK_DOMAIN, XF_ACT_REFUSE, 0);
	r->in_len = b_xf(r->in);
	run_frame(&t, r);
	assert_int_equal(r->retval, TC_ACT_REDIRECT);
	assert_int_equal(r->delta[XF_S_REFUSED], 1);
	assert_int_equal(Q.n, 1);
	assert_int_equal(Q.ev[0].flags & (XF_EF_INGRESS | XF_EF_ENFORCED), XF_EF_ENFORCED);
	check_event_equiv("egress refuse", &Q.ev[0], r);
	ck_refused(r);
}

/*
 * A full ring never blocks the packet: a 4 KiB ring holds 10 records of 376
 * bytes; the rest count ring_full and still pass. After a drain, events flow
 * again.
 */
static void test_ring_full(void **state)
{
	struct exfilter_tc_bpf *s;
	struct target t = { .what = "tc (4 KiB ring)" };
	struct run *r = &R;
	__u64 events = 0, full = 0;
	int i, err, cap = 4096 / (int)EV_REC;

	(void)state;
	s = exfilter_tc_bpf__open();
	assert_non_null(s);
	assert_int_equal(bpf_map__set_max_entries(s->maps.xf_events, 4096), 0);
	err = exfilter_tc_bpf__load(s);
	if (err) {
		exfilter_tc_bpf__destroy(s);
		fail_msg("failed to load the TC object with a 4 KiB ring: %s", strerror(-err));
	}
	t.prog = bpf_program__fd(s->progs.xf_tc_ingress);
	t.config = bpf_map__fd(s->maps.xf_config);
	t.flows = bpf_map__fd(s->maps.xf_flows);
	t.verdicts = bpf_map__fd(s->maps.xf_verdicts);
	t.allow = bpf_map__fd(s->maps.xf_allow);
	t.ipblock = bpf_map__fd(s->maps.xf_ipblock);
	t.stats = bpf_map__fd(s->maps.xf_stats);
	t.rb = ring_buffer__new(bpf_map__fd(s->maps.xf_events), on_event, NULL, NULL);
	assert_non_null(t.rb);

	memset(r, 0, sizeof(*r));
	xf_config_defaults(&r->cfg);
	r->cfg.flags |= XF_CF_EVENTS_ALL;
	target_reset(&t, &r->cfg);
	r->in_len = b_plain(r->in);
	for (i = 0; i < 25; i++) {
		__u64 ev0, full0;

		stats_read(&t, r->before);
		ev0 = r->before[XF_S_EVENTS];
		full0 = r->before[XF_S_RING_FULL];
		{
			LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = r->in,
				    .data_size_in = (__u32)r->in_len, .repeat = 1);

			assert_int_equal(bpf_prog_test_run_opts(t.prog, &o), 0);
			assert_int_equal(o.retval, TC_ACT_OK);
		}
		stats_read(&t, r->after);
		events += r->after[XF_S_EVENTS] - ev0;
		full += r->after[XF_S_RING_FULL] - full0;
		if (i >= cap)
			assert_int_equal(r->after[XF_S_RING_FULL] - full0, 1);
	}
	print_message("ring of 4096 bytes: %llu events, %llu ring_full over 25 packets\n",
		      (unsigned long long)events, (unsigned long long)full);
	assert_int_equal(events, cap);
	assert_int_equal(full, 25 - cap);
	/* drain: all reserved records are there, then the ring accepts again */
	memset(&Q, 0, sizeof(Q));
	ring_buffer__consume(t.rb);
	assert_int_equal(Q.n, cap);
	memset(&Q, 0, sizeof(Q));
	run_frame(&t, r);
	assert_int_equal(r->retval, TC_ACT_OK);
	assert_int_equal(r->delta[XF_S_EVENTS], 1);
	assert_int_equal(r->delta[XF_S_RING_FULL], 0);
	assert_int_equal(Q.n, 1);
	ring_buffer__free(t.rb);
	exfilter_tc_bpf__destroy(s);
}

/* --- failsafe: the heartbeat and the enforce decision ------------------------ */

static __u64 mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

struct fs_case {
	const char *desc;
	__u32 mode;
	__u32 failsafe_ms; /* 0 = closed */
	__s64 hb_age_ms; /* heartbeat this old (negative: in the future); INT64_MIN: never */
	size_t (*build)(uint8_t *f);
	__u32 retval;
	__u64 drops, would, failsafe_open;
	int enforced; /* the event's XF_EF_ENFORCED */
};

#define HB_NEVER INT64_MIN

static const struct fs_case fs_cases[] = {
	{ "closed, fresh: dropped", XF_MODE_ENFORCE, 0, 0, b_xf, TC_ACT_SHOT, 1, 0, 0, 1 },
	{ "closed, stale: still dropped", XF_MODE_ENFORCE, 0, 60000, b_xf, TC_ACT_SHOT, 1, 0, 0,
	  1 },
	{ "closed, never: still dropped", XF_MODE_ENFORCE, 0, HB_NEVER, b_xf, TC_ACT_SHOT, 1, 0, 0,
	  1 },
	{ "open, fresh: dropped", XF_MODE_ENFORCE, 1000, 0, b_xf, TC_ACT_SHOT, 1, 0, 0, 1 },
	{ "open, 500 ms of 1000: dropped", XF_MODE_ENFORCE, 1000, 500, b_xf, TC_ACT_SHOT, 1, 0, 0,
	  1 },
	{ "open, heartbeat ahead of the coarse clock: dropped", XF_MODE_ENFORCE, 1000, -20, b_xf,
	  TC_ACT_SHOT, 1, 0, 0, 1 },
	{ "open, stale: passed, would-drop, failsafe_open", XF_MODE_ENFORCE, 1000, 5000, b_xf,
	  TC_ACT_OK, 0, 1, 1, 0 },
	{ "open, never: passed, failsafe_open", XF_MODE_ENFORCE, 1000, HB_NEVER, b_xf, TC_ACT_OK, 0,
	  1, 1, 0 },
	{ "open, stale, hard limit (encoded label): passed", XF_MODE_ENFORCE, 1000, 5000, b_enc,
	  TC_ACT_OK, 0, 1, 1, 0 },
	{ "open, stale, plain query: passed, nothing counted", XF_MODE_ENFORCE, 1000, 5000, b_plain,
	  TC_ACT_OK, 0, 0, 0, 0 },
	{ "monitor, open, stale: would-drop, not failsafe_open", XF_MODE_MONITOR, 1000, 5000, b_xf,
	  TC_ACT_OK, 0, 1, 0, 0 },
};

/*
 * The kernel's fail-open decision: every case above through the TC program,
 * the heartbeat set through the loader's own store (xf_loader__heartbeat()
 * on an mmap of the config map, as the sensor does).
 */
static void test_failsafe(void **state)
{
	long page = sysconf(_SC_PAGESIZE);
	struct xf_loader l = { 0 };
	struct xf_config back;
	struct run *r = &R;
	__u32 zero = 0;
	size_t i;

	(void)state;
	l.cfg_mm = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED, TC.config, 0);
	if (l.cfg_mm == MAP_FAILED)
		fail_msg("failed to mmap xf_config: %s", strerror(errno));
	for (i = 0; i < sizeof(fs_cases) / sizeof(fs_cases[0]); i++) {
		const struct fs_case *c = &fs_cases[i];
		__u64 now = mono_now();

		memset(r, 0, sizeof(*r));
		xf_config_defaults(&r->cfg);
		r->cfg.mode = c->mode;
		r->cfg.failsafe_ms = c->failsafe_ms;
		r->cfg.heartbeat_ns = 12345; /* overwritten below: the store must win */
		target_reset(&TC, &r->cfg);
		put_verdict(&TC, "xf.test", XF_VK_DOMAIN, XF_ACT_DROP, 0);
		assert_int_equal(bpf_map_update_elem(TC.config, &zero, &r->cfg, BPF_ANY), 0);
		xf_loader__heartbeat(
			&l, c->hb_age_ms == HB_NEVER ? 0 : now - (__u64)(c->hb_age_ms * 1000000));
		/* the store changed that field alone */
		assert_int_equal(bpf_map_lookup_elem(TC.config, &zero, &back), 0);
		assert_int_equal(back.mode, c->mode);
		assert_int_equal(back.flags, r->cfg.flags);
		assert_int_equal(back.failsafe_ms, c->failsafe_ms);
		assert_true(back.heartbeat_ns != 12345);
		r->in_len = c->build(r->in);
		run_frame(&TC, r);
		if (r->retval != c->retval)
			fail_msg("%s: TC retval %u, expected %u", c->desc, r->retval, c->retval);
		assert_int_equal(r->delta[XF_S_DROPS], c->drops);
		assert_int_equal(r->delta[XF_S_WOULD_DROPS], c->would);
		assert_int_equal(r->delta[XF_S_FAILSAFE_OPEN], c->failsafe_open);
		if (c->drops || c->would) {
			assert_int_equal(Q.n, 1);
			assert_int_equal(Q.ev[0].action, XF_ACT_DROP);
			assert_int_equal(!!(Q.ev[0].flags & XF_EF_ENFORCED), c->enforced);
		}
		if (c->failsafe_open) {
			/* a fresh heartbeat: enforcing again from the next packet */
			xf_loader__heartbeat(&l, mono_now());
			events_drain(&TC);
			run_frame(&TC, r);
			if (r->retval != TC_ACT_SHOT)
				fail_msg("%s: not enforcing after a fresh heartbeat", c->desc);
			assert_int_equal(r->delta[XF_S_FAILSAFE_OPEN], 0);
		}
	}
	munmap(l.cfg_mm, (size_t)page);
}

/*
 * The socket filter runs the same pipeline on a mirror and can never drop:
 * it returns 0 for every packet, and enforce-mode verdicts count as
 * would-drops without XF_EF_ENFORCED.
 */
static void test_sock_never_drops(void **state)
{
	struct exfilter_sock_bpf *s;
	struct target t = { .what = "socket filter", .sock = 1 };
	struct run *r = &R;
	size_t (*const builds[])(uint8_t *) = { b_tcp_other, b_plain, b_xf, b_enc, b_tls, b_http };
	const int would[] = { 0, 0, 1, 1, 1, 1 };
	unsigned i;
	int err;

	(void)state;
	s = exfilter_sock_bpf__open();
	assert_non_null(s);
	err = exfilter_sock_bpf__load(s);
	if (err) {
		exfilter_sock_bpf__destroy(s);
		fail_msg("failed to load the socket filter object: %s", strerror(-err));
	}
	t.prog = bpf_program__fd(s->progs.xf_sock);
	t.config = bpf_map__fd(s->maps.xf_config);
	t.flows = bpf_map__fd(s->maps.xf_flows);
	t.verdicts = bpf_map__fd(s->maps.xf_verdicts);
	t.allow = bpf_map__fd(s->maps.xf_allow);
	t.ipblock = bpf_map__fd(s->maps.xf_ipblock);
	t.stats = bpf_map__fd(s->maps.xf_stats);
	t.rb = ring_buffer__new(bpf_map__fd(s->maps.xf_events), on_event, NULL, NULL);
	assert_non_null(t.rb);
	assert_true(xf_suffixes_load(bpf_map__fd(s->maps.xf_suffixes), PSL_PATH) > 0);

	memset(r, 0, sizeof(*r));
	xf_config_defaults(&r->cfg);
	r->cfg.mode = XF_MODE_ENFORCE;
	target_reset(&t, &r->cfg);
	put_verdict(&t, "xf.test", XF_VK_DOMAIN, XF_ACT_DROP, 0);
	put_verdict(&t, "evil.example.com", XF_VK_SNI, XF_ACT_DROP, 0);
	put_verdict(&t, "blocked.example", XF_VK_HOST, XF_ACT_DROP, 0);
	for (i = 0; i < sizeof(builds) / sizeof(builds[0]); i++) {
		events_drain(&t);
		r->in_len = builds[i](r->in);
		run_frame(&t, r);
		if (r->retval != 0)
			fail_msg("socket filter returned %u for frame %u", r->retval, i);
		assert_int_equal(r->delta[XF_S_PACKETS], 1);
		assert_int_equal(r->delta[XF_S_PARSE_ERRORS], 0);
		assert_int_equal(r->delta[XF_S_DROPS], 0);
		assert_int_equal(r->delta[XF_S_REFUSED], 0);
		assert_int_equal(r->delta[XF_S_WOULD_DROPS], would[i]);
		if (would[i]) {
			assert_int_equal(Q.n, 1);
			assert_int_equal(Q.ev[0].action, XF_ACT_DROP);
			assert_int_equal(Q.ev[0].flags & (XF_EF_ENFORCED | XF_EF_INGRESS), 0);
			assert_int_equal(Q.ev[0].mode, XF_MODE_ENFORCE);
			assert_int_equal(Q.ev[0].pkt_len, r->in_len);
			check_event_equiv("socket filter", &Q.ev[0], r);
		}
	}
	ring_buffer__free(t.rb);
	exfilter_sock_bpf__destroy(s);
}

/*
 * Verdicts written the way the CLI and the sensor write them
 * (xf_target_apply() on the pinned maps) set the config hint that makes the
 * kernel look them up; without it, an entry in the map is never looked up.
 */
static char pin_dir[64];
static const char *const pinned[] = { "xf_config", "xf_verdicts", "xf_allow", "xf_ipblock",
				      "xf_suffixes" };

static int pin_setup(void **state)
{
	char path[128];
	unsigned i;

	(void)state;
	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/xf-test-%d", (int)getpid());
	if (xf_bpffs_ensure() || (mkdir(pin_dir, 0700) && errno != EEXIST))
		return -1;
	for (i = 0; i < sizeof(pinned) / sizeof(pinned[0]); i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(tc_skel->obj, pinned[i]);

		snprintf(path, sizeof(path), "%s/%s", pin_dir, pinned[i]);
		if (!m || bpf_map__pin(m, path)) {
			fprintf(stderr, "failed to pin %s\n", path);
			return -1;
		}
	}
	return 0;
}

static int pin_teardown(void **state)
{
	char path[128];
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(pinned) / sizeof(pinned[0]); i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(tc_skel->obj, pinned[i]);

		snprintf(path, sizeof(path), "%s/%s", pin_dir, pinned[i]);
		if (m)
			bpf_map__unpin(m, path);
	}
	rmdir(pin_dir);
	return 0;
}

static __u32 config_flags(void)
{
	struct xf_config c;
	__u32 zero = 0;

	assert_int_equal(bpf_map_lookup_elem(TC.config, &zero, &c), 0);
	return c.flags;
}

static void apply(const char *target, const char *verb)
{
	struct xf_target t;

	assert_int_equal(xf_target_parse(target, &t), 0);
	assert_int_equal(xf_target_apply(pin_dir, &t, verb, XF_ACT_DROP, 0), 0);
}

static void expect_run(size_t (*build)(uint8_t *), __u32 retval, __u8 reason)
{
	struct run *r = &R;

	events_drain(&TC);
	r->in_len = build(r->in);
	run_frame(&TC, r);
	if (r->retval != retval)
		fail_msg("retval %u, expected %u (reason %u)", r->retval, retval,
			 Q.n ? Q.ev[0].reason : 0);
	if (reason) {
		assert_int_equal(Q.n, 1);
		assert_int_equal(Q.ev[0].reason, reason);
		assert_int_equal(Q.ev[0].flags & XF_EF_ENFORCED, XF_EF_ENFORCED);
	}
}

static void test_verdict_apply(void **state)
{
	struct run *r = &R;
	__u32 zero = 0;

	(void)state;
	memset(r, 0, sizeof(*r));
	xf_config_defaults(&r->cfg);
	r->cfg.mode = XF_MODE_ENFORCE;
	target_reset(&TC, &r->cfg);
	assert_int_equal(config_flags() & (XF_CF_VERDICTS | XF_CF_IPBLOCK), 0);
	expect_run(b_xf, TC_ACT_OK, 0);

	/* a longer name is cut to its registered domain xf.test */
	apply("foo.t.xf.test", "block");
	assert_int_equal(config_flags() & XF_CF_VERDICTS, XF_CF_VERDICTS);
	expect_run(b_xf, TC_ACT_SHOT, XF_R_VERDICT_DOMAIN);
	apply("sni:evil.example.com", "block");
	expect_run(b_tls, TC_ACT_SHOT, XF_R_VERDICT_SNI);
	apply("10.9.9.0/24", "block");
	assert_int_equal(config_flags() & XF_CF_IPBLOCK, XF_CF_IPBLOCK);
	expect_run(b_blocked_ip, TC_ACT_SHOT, XF_R_IPBLOCK);

	/* a config write that lost the flags (a racing mode switch): the sync
	 * finds the entries and sets them again */
	assert_int_equal(bpf_map_update_elem(TC.config, &zero, &r->cfg, BPF_ANY), 0);
	expect_run(b_xf, TC_ACT_OK, 0);
	assert_int_equal(xf_config_hints_sync(TC.config, TC.verdicts, TC.ipblock), 0);
	assert_int_equal(config_flags() & (XF_CF_VERDICTS | XF_CF_IPBLOCK),
			 XF_CF_VERDICTS | XF_CF_IPBLOCK);
	expect_run(b_xf, TC_ACT_SHOT, XF_R_VERDICT_DOMAIN);

	/* unblock removes the entry; the flag stays (clearing is never needed) */
	apply("xf.test", "unblock");
	expect_run(b_xf, TC_ACT_OK, 0);
	assert_int_equal(config_flags() & XF_CF_VERDICTS, XF_CF_VERDICTS);

	/* empty maps: the sync sets nothing */
	target_reset(&TC, &r->cfg);
	assert_int_equal(xf_config_hints_sync(TC.config, TC.verdicts, TC.ipblock), 0);
	assert_int_equal(config_flags() & (XF_CF_VERDICTS | XF_CF_IPBLOCK), 0);
}

/* --- public captures ------------------------------------------------------- */

/* Captures whose queries carry labels in an encoded alphabet (verified). */
static const char *const enc_expected[] = { "dns2tcp", "dnscat2", "dnsextrator", "iodine", "sods" };

struct corpus_count {
	unsigned pkts, dns_q, dns_r, events, enc_q, skipped, truncated, trunc_err, perr, mism;
	unsigned max_enc;
};

/* The capture's frame as Ethernet: synthesise a header for raw IP and SLL. */
static size_t corpus_frame(int dlt, const struct pcap_pkthdr *h, const u_char *d, uint8_t *out)
{
	size_t n = h->caplen;
	uint16_t et;

	switch (dlt) {
	case DLT_EN10MB:
		if (n > PKT_MAX)
			return 0;
		memcpy(out, d, n);
		return n;
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		if (n + 14 > PKT_MAX || n < 1)
			return 0;
		et = (d[0] >> 4) == 6 ? 0x86dd : 0x0800;
		break;
	case DLT_LINUX_SLL:
		if (n < 16 || n - 2 > PKT_MAX)
			return 0;
		et = pkt_get16(d + 14);
		d += 16;
		n -= 16;
		break;
	default:
		return 0;
	}
	memset(out, 0, 12);
	out[0] = 2;
	out[6] = 2;
	out[11] = 1;
	pkt_put16(out + 12, et);
	memcpy(out + 14, d, n);
	return n + 14;
}

#define MISM_PRINT_MAX 10 /* per capture: the first few say enough */

/* Count a mismatch; print the first few. */
static void mism(struct corpus_count *k, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (k->mism++ >= MISM_PRINT_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	print_error("%s\n", msg);
}

static void corpus_packet(struct run *r, struct corpus_count *k, const char *file, unsigned no,
			  int truncated)
{
	const struct xf_event *e = &Q.ev[0];
	char what[256];
	int i;

	snprintf(what, sizeof(what), "%.200s packet %u", file, no);
	events_drain(&TC);
	run_frame(&TC, r);
	k->pkts++;
	if (r->retval != TC_ACT_OK)
		mism(k, "%s: TC retval %u in monitor mode", what, r->retval);
	k->dns_q += (unsigned)r->delta[XF_S_DNS_QUERIES];
	k->dns_r += (unsigned)r->delta[XF_S_DNS_RESPONSES];
	k->events += (unsigned)Q.n;
	k->truncated += truncated;
	if (r->delta[XF_S_PARSE_ERRORS]) {
		k->perr++;
		k->trunc_err += truncated;
		for (i = XF_S_MAX; i < XF_STATS_LEN; i++)
			if (r->delta[i])
				print_message("  %s: parse error %s%s\n", what, stat_name(i),
					      truncated ? " (cut by the capture's snaplen)" : "");
		if (r->uret >= 0 || !r->delta[XF_STAT_PERR(-r->uret)])
			mism(k, "%s: kernel parse error, userspace returned %d", what, r->uret);
		if (!truncated)
			mism(k, "%s: parse error on a complete frame", what);
		return;
	}
	if (r->uret < 0) {
		mism(k, "%s: userspace parse error %d, kernel none", what, r->uret);
		return;
	}
	if (r->uret == XF_SKIP) {
		k->skipped++;
		if (Q.n)
			mism(k, "%s: event for a frame userspace skips", what);
		return;
	}
	/* a name: events-all means exactly one event, identical to userspace */
	if (Q.n != 1) {
		mism(k, "%s: %d events, expected 1", what, Q.n);
		return;
	}
	if (e->kind != r->uf.kind || e->name_len != r->uf.name_len ||
	    memcmp(e->name, r->in + r->uf.name_off, r->uf.name_len) ||
	    memcmp(&e->feat, &r->uf.feat, sizeof(e->feat))) {
		if (k->mism < MISM_PRINT_MAX)
			feat_diff(what, &e->feat, &r->uf.feat);
		mism(k, "%s: event (kind %u, name %u bytes) differs from the userspace parse", what,
		     e->kind, e->name_len);
		return;
	}
	if (r->uf.kind == XF_EV_DNS_QUERY && e->feat.enc_longest > 0) {
		k->enc_q++;
		if (e->feat.enc_longest > k->max_enc)
			k->max_enc = e->feat.enc_longest;
	}
}

static void test_pcap_corpus(void **state)
{
	const char *dir = getenv("XF_PCAP_DIR") ? getenv("XF_PCAP_DIR") : PCAP_DIR_DEFAULT;
	struct corpus_count total = { 0 };
	struct dirent **ents = NULL;
	struct run *r = &R;
	int n, i, files = 0;
	unsigned j;

	(void)state;
	n = scandir(dir, &ents, NULL, alphasort);
	if (n < 0)
		fail_msg("failed to open capture directory %s: %s (set XF_PCAP_DIR)", dir,
			 strerror(errno));
	memset(r, 0, sizeof(*r));
	xf_config_defaults(&r->cfg);
	r->cfg.flags |= XF_CF_EVENTS_ALL;
	target_reset(&TC, &r->cfg);
	print_message("%-16s %5s %5s %5s %6s %7s %7s %5s %5s %5s %5s\n", "capture", "pkts", "dnsq",
		      "dnsr", "events", "enc_q", "max_enc", "skip", "trunc", "perr", "mism");
	for (i = 0; i < n; i++) {
		char path[1024], errbuf[PCAP_ERRBUF_SIZE], base[256];
		struct corpus_count k = { 0 };
		struct pcap_pkthdr *h;
		const u_char *d;
		pcap_t *p;
		size_t bl = strlen(ents[i]->d_name);
		int dlt;

		if (bl < 6 || strcmp(ents[i]->d_name + bl - 5, ".pcap"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
		snprintf(base, sizeof(base), "%.*s", (int)(bl - 5), ents[i]->d_name);
		p = pcap_open_offline(path, errbuf);
		if (!p)
			fail_msg("failed to open %s: %s", path, errbuf);
		dlt = pcap_datalink(p);
		while (pcap_next_ex(p, &h, &d) == 1) {
			r->in_len = corpus_frame(dlt, h, d, r->in);
			if (!r->in_len) {
				mism(&k, "%s: packet %u: link type %d or size %u unsupported", base,
				     k.pkts + 1, dlt, h->caplen);
				continue;
			}
			corpus_packet(r, &k, base, k.pkts + 1, h->caplen < h->len);
		}
		pcap_close(p);
		files++;
		print_message("%-16s %5u %5u %5u %6u %7u %7u %5u %5u %5u %5u\n", base, k.pkts,
			      k.dns_q, k.dns_r, k.events, k.enc_q, k.max_enc, k.skipped,
			      k.truncated, k.perr, k.mism);
		for (j = 0; j < sizeof(enc_expected) / sizeof(enc_expected[0]); j++)
			if (!strcmp(base, enc_expected[j]) && k.enc_q == 0)
				mism(&k, "%s: no query with an encoded label", base);
		total.pkts += k.pkts;
		total.events += k.events;
		total.dns_q += k.dns_q;
		total.truncated += k.truncated;
		total.perr += k.perr;
		total.trunc_err += k.trunc_err;
		total.mism += k.mism;
	}
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	print_message("corpus: %d captures, %u packets, %u DNS queries, %u events, %u cut by "
		      "snaplen, %u parse errors (%u on cut packets)\n",
		      files, total.pkts, total.dns_q, total.events, total.truncated, total.perr,
		      total.trunc_err);
	if (files == 0)
		fail_msg("no .pcap files in %s", dir);
	assert_int_equal(total.perr, total.trunc_err);
	assert_int_equal(total.mism, 0);
}

/* --- differential fuzz ------------------------------------------------------ */

#define FUZZ_ITERS 20000
#define FUZZ_SEED 0x9e3779b97f4a7c15ULL

static __u64 fuzz_state;

static __u32 fuzz_rand(void)
{
	fuzz_state ^= fuzz_state << 13;
	fuzz_state ^= fuzz_state >> 7;
	fuzz_state ^= fuzz_state << 17;
	return (__u32)(fuzz_state >> 16);
}

/* Mutate a frame: byte writes (often special values), a cut, a length tweak. */
static size_t fuzz_mutate(uint8_t *f, size_t n)
{
	static const uint8_t special[] = { 0, 1, 0x3f, 0x40, 0x80, 0xc0, 0xff, '.', 0x20, 0x7f };
	int k, muts = 1 + (int)(fuzz_rand() % 4);

	for (k = 0; k < muts; k++) {
		__u32 op = fuzz_rand() % 8, pos = fuzz_rand() % (__u32)n;

		if (op < 4) /* headers and the first payload bytes matter most */
			pos = fuzz_rand() % (__u32)(n < 120 ? n : 120);
		if (op == 6 && n > 14) {
			n = 14 + fuzz_rand() % (__u32)(n - 14);
		} else if (op == 7) {
			f[pos] = (uint8_t)(f[pos] + 1 - (fuzz_rand() & 2));
		} else if (op & 1) {
			f[pos] = special[fuzz_rand() % sizeof(special)];
		} else {
			f[pos] = (uint8_t)fuzz_rand();
		}
	}
	return n;
}

/* The perr index a run moved, 0 for none, -1 for more than one. */
static int moved_perr(const struct run *r)
{
	int i, e = 0;

	for (i = 1; i < XF_PE_MAX; i++)
		if (r->delta[XF_STAT_PERR(i)])
			e = e ? -1 : i;
	return e;
}

static void fuzz_dump(const char *why, const struct run *r, unsigned iter)
{
	size_t i;

	print_error("fuzz iteration %u: %s (userspace %d, kernel perr %d, events %d)\n", iter, why,
		    r->uret, moved_perr(r), Q.n);
	for (i = 0; i < r->in_len; i++)
		print_error("%02x%s", r->in[i], (i + 1) % 32 && i + 1 < r->in_len ? "" : "\n");
}

/*
 * BPF_PROG_TEST_RUN itself rejects (EINVAL) a frame whose ethertype says IPv4
 * or IPv6 when the IP header does not fit: such frames cannot be run.
 */
static int test_run_refuses(const uint8_t *f, size_t n)
{
	uint16_t et = pkt_get16(f + 12);

	return (et == 0x0800 && n < 14 + 20) || (et == 0x86dd && n < 14 + 40);
}

/*
 * Differential fuzz: mutated fixture frames must get the same outcome from
 * the kernel and from xf_frame_parse(): the same parse error, or no name, or
 * one event with the same name bytes and features.
 */
static void test_fuzz_equivalence(void **state)
{
	size_t (*const builds[])(uint8_t *) = { b_plain,       b_enc,	   b_xf6,    b_tls,
						b_http,	       b_tcp_dns,  b_v6_ext, b_vlan2,
						b_response_nx, b_qdcount2, b_label40 };
	const unsigned nb = sizeof(builds) / sizeof(builds[0]);
	struct run *r = &R;
	unsigned iter, bad = 0, named = 0, perrs = 0, skips = 0, refused = 0, iters = FUZZ_ITERS;

	(void)state;
	fuzz_state = FUZZ_SEED;
	/* longer or other runs: XF_FUZZ_ITERS=1000000 XF_FUZZ_SEED=7 */
	if (getenv("XF_FUZZ_ITERS"))
		iters = (unsigned)strtoul(getenv("XF_FUZZ_ITERS"), NULL, 0);
	if (getenv("XF_FUZZ_SEED"))
		fuzz_state ^= strtoull(getenv("XF_FUZZ_SEED"), NULL, 0) * 0x2545f4914f6cdd1dULL;
	memset(r, 0, sizeof(*r));
	xf_config_defaults(&r->cfg);
	r->cfg.flags |= XF_CF_EVENTS_ALL;
	target_reset(&TC, &r->cfg);
	for (iter = 0; iter < iters; iter++) {
		const struct xf_event *e = &Q.ev[0];
		const char *why = NULL;
		int kp;

		r->in_len = builds[fuzz_rand() % nb](r->in);
		r->in_len = fuzz_mutate(r->in, r->in_len);
		events_drain(&TC);
		if (run_frame_err(&TC, r)) {
			if (errno == EINVAL && test_run_refuses(r->in, r->in_len)) {
				refused++;
				continue;
			}
			fuzz_dump(strerror(errno), r, iter);
			bad++;
			continue;
		}
		kp = moved_perr(r);
		if (r->retval != TC_ACT_OK)
			why = "TC verdict in monitor mode";
		else if (kp < 0)
			why = "more than one parse error counted";
		else if (r->uret < 0 && kp != -r->uret)
			why = "different parse errors";
		else if (r->uret >= 0 && kp)
			why = "kernel parse error only";
		else if (r->uret != 0 && Q.n)
			why = "kernel event, userspace nothing";
		else if (r->uret == 0 && Q.n != 1)
			why = "userspace name, no kernel event";
		else if (r->uret == 0 && (e->kind != r->uf.kind || e->name_len != r->uf.name_len ||
					  memcmp(e->name, r->in + r->uf.name_off, r->uf.name_len) ||
					  memcmp(&e->feat, &r->uf.feat, sizeof(e->feat))))
			why = "event differs";
		named += r->uret == 0;
		perrs += r->uret < 0;
		skips += r->uret == XF_SKIP;
		if (!why)
			continue;
		if (bad++ < MISM_PRINT_MAX) {
			if (r->uret == 0 && Q.n == 1)
				feat_diff("fuzz", &e->feat, &r->uf.feat);
			fuzz_dump(why, r, iter);
		}
	}
	print_message("fuzz: %u frames: %u named, %u parse errors, %u skipped, %u refused by "
		      "test_run (IP header cut), %u mismatches\n",
		      iters, named, perrs, skips, refused, bad);
	assert_int_equal(bad, 0);
}

/* --- setup ------------------------------------------------------------------ */

static int pin_cpu(void)
{
	cpu_set_t set;
	int c;

	if (sched_getaffinity(0, sizeof(set), &set))
		return -errno;
	for (c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			break;
	CPU_ZERO(&set);
	CPU_SET(c, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return -errno;
	pinned_cpu = c;
	return 0;
}

static int tc_load(void)
{
	int err, n;

	tc_skel = exfilter_tc_bpf__open();
	if (!tc_skel) {
		fprintf(stderr, "failed to open the TC BPF object: %s\n", strerror(errno));
		return -1;
	}
	err = exfilter_tc_bpf__load(tc_skel);
	if (err) {
		fprintf(stderr,
			"failed to load the TC BPF object: %s (root on a kernel with BTF?)\n",
			strerror(-err));
		return -1;
	}
	TC.what = "tc ingress";
	TC.prog = bpf_program__fd(tc_skel->progs.xf_tc_ingress);
	TC.config = bpf_map__fd(tc_skel->maps.xf_config);
	TC.flows = bpf_map__fd(tc_skel->maps.xf_flows);
	TC.verdicts = bpf_map__fd(tc_skel->maps.xf_verdicts);
	TC.allow = bpf_map__fd(tc_skel->maps.xf_allow);
	TC.ipblock = bpf_map__fd(tc_skel->maps.xf_ipblock);
	TC.suffixes = bpf_map__fd(tc_skel->maps.xf_suffixes);
	TC.stats = bpf_map__fd(tc_skel->maps.xf_stats);
	TC.rb = ring_buffer__new(bpf_map__fd(tc_skel->maps.xf_events), on_event, NULL, NULL);
	if (!TC.rb) {
		fprintf(stderr, "failed to create ring buffer: %s\n", strerror(errno));
		return -1;
	}
	n = xf_suffixes_load(TC.suffixes, PSL_PATH);
	if (n <= 0) {
		fprintf(stderr, "failed to load public suffixes from %s\n", PSL_PATH);
		return -1;
	}
	if (sfx_collect(TC.suffixes))
		return -1;
	printf("loaded %s: %zu two-label public suffixes, pinned to CPU %d of %d\n",
	       ".output/exfilter_tc.bpf.o", sfx_n, pinned_cpu, ncpus);
	return 0;
}

int main(void)
{
	size_t nc = sizeof(cases) / sizeof(cases[0]), i;
	struct CMUnitTest *tests;
	int rc;

	if (geteuid() != 0) {
		fprintf(stderr,
			"bpf_test_run: FAIL: must run as root: it loads BPF programs and runs "
			"them with BPF_PROG_TEST_RUN (try: sudo %s)\n",
			".output/tests/bpf_test_run");
		return 1;
	}
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0 || pin_cpu()) {
		fprintf(stderr, "bpf_test_run: FAIL: failed to pin the test thread to one CPU\n");
		return 1;
	}
	if (tc_load()) {
		fprintf(stderr, "bpf_test_run: FAIL: BPF load failed (see above)\n");
		return 1;
	}
	tests = calloc(nc + 16, sizeof(*tests));
	if (!tests)
		return 1;
	for (i = 0; i < nc; i++) {
		tests[i].name = cases[i].desc;
		tests[i].test_func = test_case;
		tests[i].initial_state = (void *)&cases[i];
	}
	tests[nc++] = (struct CMUnitTest){ "per-CPU rate limit: 4th and 5th encoded query dropped",
					   test_rate_limit_enc, NULL, NULL, NULL };
	tests[nc++] = (struct CMUnitTest){ "sampling: 1 in 3 plain queries, flagged sampled",
					   test_sampling, NULL, NULL, NULL };
	tests[nc++] = (struct CMUnitTest){ "verdicts via xf_target_apply set XF_CF_VERDICTS; sync",
					   test_verdict_apply, pin_setup, pin_teardown, NULL };
	tests[nc++] = (struct CMUnitTest){ "event gap: a slow flow's query is an event, XF_EF_GAP",
					   test_event_gap, NULL, NULL, NULL };
	tests[nc++] = (struct CMUnitTest){ "Host events: one per client x name per event gap",
					   test_host_gap, NULL, NULL, NULL };
	tests[nc++] =
		(struct CMUnitTest){ "response events carry the DNS message, bounded by msg_bytes",
				     test_response_msg, NULL, NULL, NULL };
	tests[nc++] = (struct CMUnitTest){ "egress program: refuse answers, event not ingress",
					   test_egress_refuse, NULL, NULL, NULL };
	tests[nc++] = (struct CMUnitTest){ "full ring: ring_full counts, packets still pass",
					   test_ring_full, NULL, NULL, NULL };
	tests[nc++] = (struct CMUnitTest){ "failsafe: closed/open x fresh/stale heartbeat",
					   test_failsafe, NULL, NULL, NULL };
	tests[nc++] = (struct CMUnitTest){ "socket filter: returns 0, enforce counts would-drops",
					   test_sock_never_drops, NULL, NULL, NULL };
	tests[nc++] = (struct CMUnitTest){ "differential fuzz: mutated frames, kernel == userspace",
					   test_fuzz_equivalence, NULL, NULL, NULL };
	tests[nc++] = (struct CMUnitTest){ "public captures: kernel events equal userspace parse",
					   test_pcap_corpus, NULL, NULL, NULL };
	rc = _cmocka_run_group_tests("bpf_test_run", tests, nc, NULL, NULL);
	free(tests);
	ring_buffer__free(TC.rb);
	exfilter_tc_bpf__destroy(tc_skel);
	free(sfx_set);
	return rc ? 1 : 0;
}
