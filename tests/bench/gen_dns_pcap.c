// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * gen_dns_pcap.c - writes a large, deterministic DNS capture for the replay
 * benchmark (tests/bench/bench_replay.sh).
 *
 * Ethernet + IPv4 + UDP, one resolver and a few thousand clients. Benign
 * traffic: registered domains drawn from top-domains.csv with a Zipf-like
 * rank law, usual subdomains (www, api, cdn, ...), a realistic qtype mix,
 * reverse lookups, EDNS on most queries, every query answered (A/AAAA
 * records, MX, TXT, NS, PTR; NODATA for HTTPS; a few NXDOMAIN). A few tunnels
 * from their own clients, about 0.5% of the packets: long base32 labels over
 * NULL and TXT (iodine-like), long hex labels over A and CNAME (scripted
 * exfiltration), so the detectors score and alert as on real captures.
 * Packets are in time order, ~10k packets/s of capture time.
 *
 * Written with libpcap's pcap_dump. The seed fixes every byte of the output.
 *
 *   gen_dns_pcap -o FILE -n PACKETS [-s SEED] [-d top-domains.csv]
 *
 * Prints one line to stderr: packets, queries, tunnel queries and the number
 * of distinct benign client x listed-domain pairs (about the flows a replay
 * will hold; the tunnels add 4).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pcap/pcap.h>

#define SNAPLEN 65535
#define N_CLIENTS 2000
#define MAX_DOMAINS 100000
#define PKT_MAX 1500
#define T0_S 1795219200U /* 2026-11-21 00:00:00 UTC */
#define MEAN_GAP_NS 90000.0 /* + the mean response time, 110 us: 10k packets/s */

enum {
	QT_A = 1,
	QT_NS = 2,
	QT_CNAME = 5,
	QT_NULL = 10,
	QT_PTR = 12,
	QT_MX = 15,
	QT_TXT = 16,
	QT_AAAA = 28,
	QT_OPT = 41,
	QT_HTTPS = 65
};

struct tunnel {
	const char *domain;
	int hex; /* hex labels, else base32 */
	uint16_t qtypes[2];
	uint8_t client; /* last octet of 10.9.0.x */
};

/* Names under .com/.net/.org that are not in the top list. */
static const struct tunnel tunnels[] = {
	{ "t.bench-tun-b32.net", 0, { QT_NULL, QT_NULL }, 1 },
	{ "d.bench-exf-b32.org", 0, { QT_TXT, QT_TXT }, 2 },
	{ "bench-exf-hex.com", 1, { QT_A, QT_A }, 3 },
	{ "x.bench-tun-hex.net", 1, { QT_A, QT_CNAME }, 4 },
};
#define N_TUNNELS (sizeof(tunnels) / sizeof(tunnels[0]))

static const char *const prefixes[] = {
	"",
	"",
	"",
	"",
	"www",
	"www",
	"www",
	"api",
	"cdn",
	"static",
	"img",
	"m",
	"mail",
	"login",
	"accounts",
	"app",
	"edge",
	"assets",
	"s",
	"images",
	"video",
	"ws",
	"push",
	"eu-west-1.api",
	"us-east-1.s3",
	"clients4",
	"update",
	"telemetry",
	"auth",
	"graph",
};
#define N_PREFIXES (sizeof(prefixes) / sizeof(prefixes[0]))

struct gen {
	uint64_t rng;
	char **domains;
	int n_domains;
	pcap_dumper_t *d;
	uint64_t t_ns; /* capture time since T0_S */
	uint8_t *pairs; /* bitmap: client x domain seen */
	uint64_t packets, queries, tun_queries, distinct;
	uint8_t pkt[PKT_MAX];
};

/* splitmix64: small, fast, and the same sequence everywhere */
static uint64_t rnd(struct gen *g)
{
	uint64_t z = (g->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t below(struct gen *g, uint32_t n)
{
	return (uint32_t)(rnd(g) % n);
}

static double unit(struct gen *g)
{
	return (double)(rnd(g) >> 11) / 9007199254740992.0;
}

static int load_domains(struct gen *g, const char *path)
{
	char line[512];
	FILE *f = fopen(path, "r");

	if (!f) {
		fprintf(stderr, "gen_dns_pcap: failed to open %s: %s\n", path, strerror(errno));
		return -1;
	}
	g->domains = calloc(MAX_DOMAINS, sizeof(*g->domains));
	if (!g->domains) {
		fclose(f);
		return -1;
	}
	while (g->n_domains < MAX_DOMAINS && fgets(line, sizeof(line), f)) {
		char *c = strchr(line, ','), *e;

		if (!c)
			continue;
		c++;
		e = c + strcspn(c, "\r\n");
		*e = 0;
		/* skip the header and anything that is not a plain hostname */
		if (e - c < 3 || e - c > 200 || !strchr(c, '.') ||
		    strcspn(c, " \"") != (size_t)(e - c))
			continue;
		g->domains[g->n_domains] = strdup(c);
		if (!g->domains[g->n_domains++]) {
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	if (!g->n_domains) {
		fprintf(stderr, "gen_dns_pcap: %s: no rank,domain lines\n", path);
		return -1;
	}
	return 0;
}

/* Presentation name -> wire labels; returns the length or 0 when too long. */
static size_t put_name(uint8_t *w, size_t room, const char *name)
{
	size_t n = 0;

	while (*name) {
		size_t l = strcspn(name, ".");

		if (l == 0 || l > 63 || n + l + 2 > room)
			return 0;
		w[n++] = (uint8_t)l;
		memcpy(w + n, name, l);
		n += l;
		name += l;
		if (*name == '.')
			name++;
	}
	w[n++] = 0;
	return n;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* One answer RR whose owner is the question name (pointer to offset 12). */
static size_t put_rr(uint8_t *p, uint16_t type, uint32_t ttl, const uint8_t *rdata, size_t rdlen)
{
	put16(p, 0xc00c);
	put16(p + 2, type);
	put16(p + 4, 1);
	put32(p + 6, ttl);
	put16(p + 10, (uint16_t)rdlen);
	memcpy(p + 12, rdata, rdlen);
	return 12 + rdlen;
}

static size_t put_opt(uint8_t *p)
{
	p[0] = 0;
	put16(p + 1, QT_OPT);
	put16(p + 3, 1232);
	put32(p + 5, 0);
	put16(p + 9, 0);
	return 11;
}

static uint16_t ip_csum(const uint8_t *h)
{
	uint32_t s = 0;

	for (int i = 0; i < 20; i += 2)
		s += (uint32_t)(h[i] << 8 | h[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Ethernet + IPv4 + UDP around a DNS message already at pkt + 42. */
static void emit(struct gen *g, const uint8_t src[4], const uint8_t dst[4], uint16_t sport,
		 uint16_t dport, size_t dns_len)
{
	static const uint8_t mac_c[6] = { 0x02, 0, 0, 0, 0, 1 }, mac_r[6] = { 0x02, 0, 0, 0, 0, 2 };
	uint8_t *p = g->pkt;
	struct pcap_pkthdr h;
	int to_resolver = dport == 53;

	memcpy(p, to_resolver ? mac_r : mac_c, 6);
	memcpy(p + 6, to_resolver ? mac_c : mac_r, 6);
	put16(p + 12, 0x0800);
	p += 14;
	p[0] = 0x45;
	p[1] = 0;
	put16(p + 2, (uint16_t)(20 + 8 + dns_len));
	put16(p + 4, (uint16_t)g->packets);
	put16(p + 6, 0x4000);
	p[8] = 64;
	p[9] = 17;
	put16(p + 10, 0);
	memcpy(p + 12, src, 4);
	memcpy(p + 16, dst, 4);
	put16(p + 10, ip_csum(p));
	p += 20;
	put16(p, sport);
	put16(p + 2, dport);
	put16(p + 4, (uint16_t)(8 + dns_len));
	put16(p + 6, 0); /* no UDP checksum: legal over IPv4 */
	h.ts.tv_sec = (time_t)(T0_S + g->t_ns / 1000000000ULL);
	h.ts.tv_usec = (suseconds_t)(g->t_ns % 1000000000ULL / 1000);
	h.caplen = h.len = (bpf_u_int32)(42 + dns_len);
	pcap_dump((u_char *)g->d, &h, g->pkt);
	g->packets++;
}

/* Answers for a benign response; returns their count. */
static int benign_answers(struct gen *g, uint16_t qtype, uint8_t **pp)
{
	uint8_t rd[64];
	int n = 0;

	switch (qtype) {
	case QT_A:
		n = 1 + (int)below(g, 3);
		for (int i = 0; i < n; i++) {
			put32(rd, 0x68000000U | below(g, 1U << 24)); /* 104.x.y.z */
			*pp += put_rr(*pp, QT_A, 60 + below(g, 3600), rd, 4);
		}
		break;
	case QT_AAAA:
		n = 1 + (int)below(g, 2);
		for (int i = 0; i < n; i++) {
			put32(rd, 0x26060000U | below(g, 1U << 16)); /* 2606:xxxx::/32 */
			for (int k = 4; k < 16; k += 4)
				put32(rd + k, (uint32_t)rnd(g));
			*pp += put_rr(*pp, QT_AAAA, 300, rd, 16);
		}
		break;
	case QT_MX:
		put16(rd, 10);
		memcpy(rd + 2, "\003mx1\300\014", 6);
		*pp += put_rr(*pp, QT_MX, 3600, rd, 8);
		n = 1;
		break;
	case QT_TXT: {
		static const char spf[] = "v=spf1 include:_spf.mail.example ~all";

		rd[0] = (uint8_t)(sizeof(spf) - 1);
		memcpy(rd + 1, spf, sizeof(spf) - 1);
		*pp += put_rr(*pp, QT_TXT, 3600, rd, sizeof(spf));
		n = 1;
		break;
	}
	case QT_NS:
		for (n = 0; n < 2; n++) {
			memcpy(rd, n ? "\003ns2\300\014" : "\003ns1\300\014", 6);
			*pp += put_rr(*pp, QT_NS, 86400, rd, 6);
		}
		break;
	case QT_PTR:
		memcpy(rd, "\004host\007example\003net\000", 18);
		*pp += put_rr(*pp, QT_PTR, 3600, rd, 18);
		n = 1;
		break;
	default: /* HTTPS: NODATA */
		break;
	}
	return n;
}

static void encode(struct gen *g, char *out, int len, int hex)
{
	static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567", hx[] = "0123456789abcdef";

	for (int i = 0; i < len; i++)
		out[i] = hex ? hx[below(g, 16)] : b32[below(g, 32)];
	out[len] = 0;
}

/* A tunnel query name: encoded labels under the tunnel's domain. */
static void tunnel_name(struct gen *g, const struct tunnel *t, char *name, size_t size)
{
	char a[64], b[64];

	encode(g, a, 40 + (int)below(g, 20), t->hex);
	encode(g, b, 20 + (int)below(g, 30), t->hex);
	snprintf(name, size, "%s.%s.%s", a, b, t->domain);
}

static void mark_pair(struct gen *g, uint32_t client, uint32_t dom)
{
	uint64_t bit = (uint64_t)client * (uint64_t)(g->n_domains + 1) + dom;

	if (!(g->pairs[bit >> 3] & (1U << (bit & 7)))) {
		g->pairs[bit >> 3] |= (uint8_t)(1U << (bit & 7));
		g->distinct++;
	}
}

/* One query and its answer. */
static void exchange(struct gen *g)
{
	static const uint8_t resolver[4] = { 10, 255, 0, 53 };
	uint8_t client[4] = { 10, 1, 0, 0 }, *dns = g->pkt + 42, *p;
	char name[300];
	size_t nl, qlen;
	uint16_t qtype, id = (uint16_t)rnd(g), sport = (uint16_t)(1024 + below(g, 64000));
	uint32_t u = below(g, 1000), c;
	int tun = u < 5, edns = below(g, 10) < 7, rcode = 0, an = 0;
	const struct tunnel *t = NULL;

	if (tun) {
		/* 0.5% of the packets: one exchange in 200 */
		t = &tunnels[below(g, N_TUNNELS)];
		tunnel_name(g, t, name, sizeof(name));
		qtype = t->qtypes[below(g, 2)];
		client[1] = 9;
		client[3] = t->client;
		g->tun_queries++;
		edns = 1;
	} else if (u < 25) {
		/* reverse lookups */
		snprintf(name, sizeof(name), "%u.%u.%u.10.in-addr.arpa", below(g, 256),
			 below(g, 256), below(g, 256));
		qtype = QT_PTR;
		c = below(g, N_CLIENTS);
		client[2] = (uint8_t)(c >> 8);
		client[3] = (uint8_t)c;
		mark_pair(g, c, (uint32_t)g->n_domains);
	} else {
		/* rank ~ N^u: P(rank) ~ 1/rank, popular names dominate */
		uint32_t r = (uint32_t)exp(unit(g) * log((double)g->n_domains));
		const char *pre = prefixes[below(g, N_PREFIXES)];
		uint32_t q = below(g, 100);

		if (r >= (uint32_t)g->n_domains)
			r = (uint32_t)g->n_domains - 1;
		snprintf(name, sizeof(name), "%s%s%s", pre, *pre ? "." : "", g->domains[r]);
		qtype = q < 58	 ? QT_A
			: q < 88 ? QT_AAAA
			: q < 94 ? QT_HTTPS
			: q < 96 ? QT_MX
			: q < 98 ? QT_TXT
				 : QT_NS;
		/* clients are busy in proportion: a few heavy, many light */
		c = (uint32_t)(exp(unit(g) * log((double)N_CLIENTS))) - 1;
		client[2] = (uint8_t)(c >> 8);
		client[3] = (uint8_t)c;
		rcode = below(g, 100) < 2 ? 3 : 0; /* NXDOMAIN: typos, stale names */
		mark_pair(g, c, r);
	}
	if (client[3] == 0)
		client[3] = 1;
	/* the query */
	put16(dns, id);
	put16(dns + 2, 0x0100);
	put16(dns + 4, 1);
	put16(dns + 6, 0);
	put16(dns + 8, 0);
	put16(dns + 10, (uint16_t)edns);
	nl = put_name(dns + 12, 256, name);
	if (!nl)
		return;
	p = dns + 12 + nl;
	put16(p, qtype);
	put16(p + 2, 1);
	p += 4;
	qlen = (size_t)(p - dns);
	if (edns)
		p += put_opt(p);
	emit(g, client, resolver, sport, 53, (size_t)(p - dns));
	g->queries++;
	/* the response, 20-200 us later (a cache hit): the question stays in place */
	g->t_ns += 20000 + below(g, 180000);
	p = dns + qlen;
	if (t) {
		uint8_t rd[200];
		size_t n = t->qtypes[0] == QT_A && qtype == QT_A ? 4 : 60 + below(g, 100);

		for (size_t i = 0; i < n; i++)
			rd[i] = (uint8_t)rnd(g);
		if (qtype == QT_TXT)
			rd[0] = (uint8_t)(n - 1);
		if (qtype == QT_CNAME) {
			memcpy(rd, "\001a\001b\001c\001d\300\014", 10);
			n = 10;
		}
		p += put_rr(p, qtype, 0, rd, n);
		an = 1;
	} else if (!rcode) {
		an = benign_answers(g, qtype, &p);
	}
	put16(dns + 2, (uint16_t)(0x8180 | rcode));
	put16(dns + 6, (uint16_t)an);
	if (edns)
		p += put_opt(p);
	emit(g, resolver, client, 53, sport, (size_t)(p - dns));
	/* the next query: exponential gaps around the mean rate */
	g->t_ns += (uint64_t)(-log(1.0 - unit(g)) * MEAN_GAP_NS) + 1000;
}

static void usage(void)
{
	fprintf(stderr, "usage: gen_dns_pcap -o FILE -n PACKETS [-s SEED] [-d DOMAINS.csv]\n");
}

int main(int argc, char **argv)
{
	const char *out = NULL, *dom = "/work/shared/data/top-domains.csv";
	struct gen g = { .rng = 1 };
	unsigned long long want = 0;
	pcap_t *dead;
	char *end;
	int o;

	while ((o = getopt(argc, argv, "o:n:s:d:h")) != -1) {
		switch (o) {
		case 'o':
			out = optarg;
			break;
		case 'n':
			errno = 0;
			want = strtoull(optarg, &end, 10);
			if (errno || *end || want < 2 || want > 100000000ULL) {
				fprintf(stderr, "gen_dns_pcap: -n: want 2..100000000, got '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 's':
			g.rng = strtoull(optarg, &end, 0);
			if (*end) {
				fprintf(stderr, "gen_dns_pcap: -s: not a number: '%s'\n", optarg);
				return 2;
			}
			break;
		case 'd':
			dom = optarg;
			break;
		default:
			usage();
			return 2;
		}
	}
	if (!out || !want) {
		usage();
		return 2;
	}
	if (load_domains(&g, dom))
		return 1;
	g.pairs = calloc(((size_t)N_CLIENTS * (size_t)(g.n_domains + 1)) / 8 + 1, 1);
	dead = pcap_open_dead(DLT_EN10MB, SNAPLEN);
	g.d = dead ? pcap_dump_open(dead, out) : NULL;
	if (!g.pairs || !g.d) {
		fprintf(stderr, "gen_dns_pcap: failed to open %s: %s\n", out,
			dead ? pcap_geterr(dead) : "out of memory");
		return 1;
	}
	/* whole exchanges: an odd PACKETS rounds up by one */
	while (g.packets < want)
		exchange(&g);
	pcap_dump_close(g.d);
	pcap_close(dead);
	fprintf(stderr,
		"gen_dns_pcap: %s: %llu packets, %llu queries (%llu tunnel), %llu distinct "
		"benign client x domain pairs, %.1f s of capture time, %d listed domains\n",
		out, (unsigned long long)g.packets, (unsigned long long)g.queries,
		(unsigned long long)g.tun_queries, (unsigned long long)g.distinct,
		(double)g.t_ns / 1e9, g.n_domains);
	for (int i = 0; i < g.n_domains; i++)
		free(g.domains[i]);
	free(g.domains);
	free(g.pairs);
	return 0;
}
