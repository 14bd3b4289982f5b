// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * flood_gen.c - a random-subdomain ("water torture") flood for the netns
 * tests: DNS queries for fresh random names under a few registered domains,
 * each from a spoofed IPv4 source drawn from a prefix, written as whole IPv4
 * packets to a raw socket (IPPROTO_RAW implies IP_HDRINCL). Needs
 * CAP_NET_RAW; run it only inside a test namespace.
 *
 *   flood_gen --dst 10.201.1.1 --src 10.203.0.0/16 --clients 20000 \
 *             --domains a.test,b.test --count 300000 [--qps 10000] [--seed 1]
 *             [--label 12]
 *
 * Prints one line: "sent N queries, C clients, D domains, S s, Q qps".
 * Hand-rolled, not libpcap/tcpreplay: a pcap of a million distinct names is
 * 100 MB on disk, and the spoofed sources must vary per packet.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DOMAINS_MAX 16
#define LABEL_MAX 63
#define PKT_MAX 512
#define BATCH 64 /* packets between rate checks */

struct opts {
	struct in_addr dst;
	uint32_t src_base; /* host order */
	uint32_t src_size; /* addresses in the prefix, minus network and broadcast */
	uint32_t clients;
	char *domains[DOMAINS_MAX];
	int n_domains;
	uint64_t count;
	uint64_t qps; /* 0 = as fast as the socket takes them */
	uint64_t seed;
	unsigned int label;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: flood_gen --dst IPv4 --src IPv4/PREFIX --clients N --domains D1,D2,...\n"
		   "                 --count N [--qps N] [--seed N] [--label LEN]\n");
}

static int parse_u64(const char *name, const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < lo || v > hi) {
		fprintf(stderr, "flood_gen: --%s: expected an integer %llu..%llu, got '%s'\n", name,
			(unsigned long long)lo, (unsigned long long)hi, s);
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_prefix(const char *s, struct opts *o)
{
	char buf[64], *slash;
	struct in_addr a;
	uint64_t len;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (!slash)
		goto bad;
	*slash = 0;
	if (inet_pton(AF_INET, buf, &a) != 1 || parse_u64("src", slash + 1, 8, 30, &len))
		goto bad;
	o->src_size = (1u << (32 - len)) - 2;
	o->src_base = (ntohl(a.s_addr) & ~((1u << (32 - len)) - 1)) + 1;
	return 0;
bad:
	fprintf(stderr, "flood_gen: --src: expected IPv4/PREFIX with a prefix of 8..30, got '%s'\n",
		s);
	return -1;
}

static int parse_domains(char *s, struct opts *o)
{
	char *d;

	while ((d = strsep(&s, ","))) {
		if (!*d || strlen(d) > 180 || o->n_domains == DOMAINS_MAX) {
			fprintf(stderr, "flood_gen: --domains: 1..%d names of 1..180 characters\n",
				DOMAINS_MAX);
			return -1;
		}
		o->domains[o->n_domains++] = d;
	}
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "dst", 1, NULL, 'd' },   { "src", 1, NULL, 's' },   { "clients", 1, NULL, 'c' },
		{ "domains", 1, NULL, 'D' }, { "count", 1, NULL, 'n' }, { "qps", 1, NULL, 'q' },
		{ "seed", 1, NULL, 'S' },  { "label", 1, NULL, 'l' }, { "help", 0, NULL, 'h' },
		{ 0 },
	};
	uint64_t v;
	int c, err = 0;

	memset(o, 0, sizeof(*o));
	o->seed = 1;
	o->label = 12;
	while (!err && (c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (inet_pton(AF_INET, optarg, &o->dst) != 1) {
				fprintf(stderr, "flood_gen: --dst: expected an IPv4 address, got '%s'\n",
					optarg);
				err = -1;
			}
			break;
		case 's': err = parse_prefix(optarg, o); break;
		case 'c':
			err = parse_u64("clients", optarg, 1, 1u << 24, &v);
			o->clients = (uint32_t)v;
			break;
		case 'D': err = parse_domains(optarg, o); break;
		case 'n': err = parse_u64("count", optarg, 1, 1ull << 40, &o->count); break;
		case 'q': err = parse_u64("qps", optarg, 0, 100000000, &o->qps); break;
		case 'S': err = parse_u64("seed", optarg, 0, UINT64_MAX, &o->seed); break;
		case 'l':
			err = parse_u64("label", optarg, 1, LABEL_MAX, &v);
			o->label = (unsigned int)v;
			break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (err)
		return -1;
	if (optind != argc || !o->dst.s_addr || !o->src_size || !o->clients || !o->n_domains ||
	    !o->count) {
		usage(stderr);
		return -1;
	}
	if (o->clients > o->src_size) {
		fprintf(stderr, "flood_gen: --clients: %u do not fit in --src (%u addresses)\n",
			o->clients, o->src_size);
		return -1;
	}
	return 0;
}

/* splitmix64: reproducible per seed, good enough for names and sources */
static uint64_t next_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

/* One query: IPv4 + UDP + DNS header + "<random>.<domain>" A IN, RD set. */
static size_t build(const struct opts *o, uint64_t *rs, uint8_t *pkt)
{
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	struct iphdr *ip = (struct iphdr *)pkt;
	struct udphdr *udp = (struct udphdr *)(pkt + sizeof(*ip));
	uint8_t *dns = (uint8_t *)(udp + 1), *q = dns + 12;
	const char *dom = o->domains[next_rand(rs) % (uint64_t)o->n_domains];
	uint32_t src = o->src_base + (uint32_t)(next_rand(rs) % o->clients), sum;
	uint64_t r = next_rand(rs);
	size_t dlen, ulen;

	memset(pkt, 0, 12 + sizeof(*ip) + sizeof(*udp));
	dns[0] = (uint8_t)r;
	dns[1] = (uint8_t)(r >> 8);
	dns[2] = 0x01; /* RD */
	dns[5] = 1; /* QDCOUNT */
	*q++ = (uint8_t)o->label;
	for (unsigned int i = 0; i < o->label; i++)
		*q++ = (uint8_t)alnum[next_rand(rs) % 36];
	for (const char *s = dom; *s;) { /* "a.b" as labels */
		size_t n = strcspn(s, ".");

		*q++ = (uint8_t)n;
		memcpy(q, s, n);
		q += n;
		s += n + (s[n] == '.');
	}
	*q++ = 0;
	*q++ = 0, *q++ = 1; /* A */
	*q++ = 0, *q++ = 1; /* IN */
	dlen = (size_t)(q - dns);
	ulen = sizeof(*udp) + dlen;

	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->tot_len = htons((uint16_t)(sizeof(*ip) + ulen));
	ip->id = htons((uint16_t)(r >> 16));
	ip->saddr = htonl(src);
	ip->daddr = o->dst.s_addr;
	ip->check = htons(csum_fold(csum_add(0, pkt, sizeof(*ip))));
	udp->source = htons((uint16_t)(1024 + (r >> 32) % 60000));
	udp->dest = htons(53);
	udp->len = htons((uint16_t)ulen);
	/* pseudo-header: addresses, protocol, UDP length */
	sum = csum_add(0, (const uint8_t *)&ip->saddr, 8) + IPPROTO_UDP + (uint32_t)ulen;
	udp->check = htons(csum_fold(csum_add(sum, (const uint8_t *)udp, ulen)));
	if (!udp->check)
		udp->check = 0xffff;
	return sizeof(*ip) + ulen;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	uint8_t pkt[PKT_MAX];
	struct opts o;
	uint64_t rs, sent = 0, errs = 0;
	double t0, el;
	int fd;

	if (parse_opts(argc, argv, &o))
		return 2;
	to.sin_addr = o.dst;
	fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0) {
		fprintf(stderr, "flood_gen: failed to open a raw socket: %s (needs CAP_NET_RAW)\n",
			strerror(errno));
		return 1;
	}
	rs = o.seed;
	t0 = mono_s();
	while (sent < o.count) {
		for (int b = 0; b < BATCH && sent < o.count; b++) {
			size_t n = build(&o, &rs, pkt);

			if (sendto(fd, pkt, n, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
				errs++;
			sent++;
		}
		if (o.qps) { /* pace: never ahead of count / qps */
			double ahead = (double)sent / (double)o.qps - (mono_s() - t0);

			if (ahead > 0)
				usleep((useconds_t)(ahead * 1e6));
		}
	}
	el = mono_s() - t0;
	close(fd);
	printf("sent %llu queries (%llu send errors), %u clients, %d domains, %.1f s, %.0f qps\n",
	       (unsigned long long)(sent - errs), (unsigned long long)errs, o.clients, o.n_domains,
	       el, el > 0 ? (double)(sent - errs) / el : 0);
	return errs == sent ? 1 : 0;
}
