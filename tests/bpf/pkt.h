/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * pkt.h - frame builders for the BPF_PROG_TEST_RUN tests and the benchmark:
 * Ethernet with VLAN tags, IPv4 (fragments) and IPv6 (extension headers),
 * UDP and TCP with valid checksums, DNS questions, a TLS ClientHello with
 * server_name and an HTTP request. Plus the checksum check the REFUSED tests
 * run over the kernel's output. Header-only: every function is static inline.
 */
#ifndef XF_TEST_PKT_H
#define XF_TEST_PKT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define PKT_MAX 4096

/* What to wrap a payload in. IPv4 addresses use the first 4 bytes. */
struct pkt_spec {
	int ipv6;
	int tcp;
	int vlans; /* 0..3 802.1Q tags */
	int ip6_ext; /* IPv6: hop-by-hop + destination options before L4 */
	uint16_t frag_off; /* IPv4 fragment offset in 8-byte units; 0 = unfragmented */
	uint8_t src[16];
	uint8_t dst[16];
	uint16_t sport;
	uint16_t dport;
	const uint8_t *payload;
	size_t plen;
};

static inline void pkt_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint16_t pkt_get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

/* One's complement sum of n bytes, big-endian words, added to sum. */
static inline uint32_t pkt_sum(uint32_t sum, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += pkt_get16(p + i);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static inline uint16_t pkt_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Pseudo-header sum for L4 checksums. */
static inline uint32_t pkt_pseudo(int ipv6, const uint8_t *src, const uint8_t *dst, uint8_t proto,
				  size_t l4len)
{
	uint32_t sum = 0;
	size_t alen = ipv6 ? 16 : 4;

	sum = pkt_sum(sum, src, alen);
	sum = pkt_sum(sum, dst, alen);
	sum += proto;
	sum += (uint32_t)(l4len & 0xffff) + (uint32_t)(l4len >> 16);
	return sum;
}

/*
 * Build the frame. MACs: dst 02:00:00:00:00:02, src 02:00:00:00:00:01.
 * Returns the frame length, or 0 when it does not fit cap.
 */
static inline size_t pkt_build(uint8_t *out, size_t cap, const struct pkt_spec *s)
{
	static const uint8_t dmac[6] = { 2, 0, 0, 0, 0, 2 }, smac[6] = { 2, 0, 0, 0, 0, 1 };
	size_t off = 12, l3, l4, l4hl = s->tcp ? 20 : 8, ext = s->ipv6 && s->ip6_ext ? 16 : 0;
	size_t l4len = l4hl + s->plen;
	uint8_t proto = s->tcp ? 6 : 17;
	int i;

	if (14 + 4 * s->vlans + (s->ipv6 ? 40 : 20) + ext + l4len > cap)
		return 0;
	memset(out, 0, 14 + 4 * (size_t)s->vlans + (s->ipv6 ? 40 : 20) + ext + l4hl);
	memcpy(out, dmac, 6);
	memcpy(out + 6, smac, 6);
	for (i = 0; i < s->vlans; i++) {
		pkt_put16(out + off, i == 0 && s->vlans > 1 ? 0x88a8 : 0x8100);
		pkt_put16(out + off + 2, (uint16_t)(100 + i)); /* VLAN id */
		off += 4;
	}
	pkt_put16(out + off, s->ipv6 ? 0x86dd : 0x0800);
	l3 = off + 2;
	if (s->ipv6) {
		out[l3] = 0x60;
		pkt_put16(out + l3 + 4, (uint16_t)(ext + l4len));
		out[l3 + 6] = ext ? 0 : proto; /* hop-by-hop first */
		out[l3 + 7] = 64;
		memcpy(out + l3 + 8, s->src, 16);
		memcpy(out + l3 + 24, s->dst, 16);
		l4 = l3 + 40;
		if (ext) {
			/* hop-by-hop: next = dest-opts, len 0, PadN(4) */
			uint8_t *h = out + l4;

			h[0] = 60;
			h[1] = 0;
			h[2] = 1;
			h[3] = 4;
			/* destination options: next = L4, len 0, PadN(4) */
			h[8] = proto;
			h[9] = 0;
			h[10] = 1;
			h[11] = 4;
			l4 += 16;
		}
	} else {
		out[l3] = 0x45;
		pkt_put16(out + l3 + 2, (uint16_t)(20 + l4len));
		pkt_put16(out + l3 + 4, 0x1234);
		pkt_put16(out + l3 + 6, s->frag_off & 0x1fff);
		out[l3 + 8] = 64;
		out[l3 + 9] = proto;
		memcpy(out + l3 + 12, s->src, 4);
		memcpy(out + l3 + 16, s->dst, 4);
		pkt_put16(out + l3 + 10, (uint16_t)~pkt_fold(pkt_sum(0, out + l3, 20)));
		l4 = l3 + 20;
	}
	pkt_put16(out + l4, s->sport);
	pkt_put16(out + l4 + 2, s->dport);
	if (s->tcp) {
		pkt_put16(out + l4 + 4, 0x0001); /* seq 1 */
		out[l4 + 12] = 5 << 4;
		out[l4 + 13] = 0x18; /* PSH ACK */
		pkt_put16(out + l4 + 14, 64240);
	} else {
		pkt_put16(out + l4 + 4, (uint16_t)l4len);
	}
	if (s->plen)
		memcpy(out + l4 + l4hl, s->payload, s->plen);
	{
		const uint8_t *src = s->ipv6 ? out + l3 + 8 : out + l3 + 12;
		const uint8_t *dst = s->ipv6 ? out + l3 + 24 : out + l3 + 16;
		uint32_t sum = pkt_pseudo(s->ipv6, src, dst, proto, l4len);
		uint16_t c = (uint16_t)~pkt_fold(pkt_sum(sum, out + l4, l4len));

		if (!s->tcp && c == 0)
			c = 0xffff;
		pkt_put16(out + l4 + (s->tcp ? 16 : 6), c);
	}
	return l4 + l4len;
}

/*
 * Verify the IPv4 header checksum (if IPv4) and the UDP/TCP checksum of a
 * frame built like pkt_build's. Returns 1 when both hold.
 */
static inline int pkt_csum_ok(const uint8_t *f, size_t len)
{
	size_t off = 12, l3, l4;
	uint16_t et;
	uint8_t proto;
	int ipv6;

	if (len < 14)
		return 0;
	et = pkt_get16(f + off);
	while (et == 0x8100 || et == 0x88a8) {
		off += 4;
		et = pkt_get16(f + off);
	}
	l3 = off + 2;
	ipv6 = et == 0x86dd;
	if (ipv6) {
		proto = f[l3 + 6];
		l4 = l3 + 40;
		while (proto == 0 || proto == 60 || proto == 43) {
			proto = f[l4];
			l4 += ((size_t)f[l4 + 1] + 1) * 8;
		}
		if (l3 + 40 + pkt_get16(f + l3 + 4) != len)
			return 0;
	} else {
		if (pkt_fold(pkt_sum(0, f + l3, (size_t)(f[l3] & 0xf) * 4)) != 0xffff)
			return 0;
		proto = f[l3 + 9];
		l4 = l3 + (size_t)(f[l3] & 0xf) * 4;
		if (l3 + pkt_get16(f + l3 + 2) != len)
			return 0;
	}
	if (proto == 17 && !ipv6 && pkt_get16(f + l4 + 6) == 0)
		return 1; /* IPv4 UDP without a checksum */
	return pkt_fold(pkt_sum(pkt_pseudo(ipv6, f + l3 + (ipv6 ? 8 : 12),
					   f + l3 + (ipv6 ? 24 : 16), proto, len - l4),
				f + l4, len - l4)) == 0xffff;
}

/* Dotted name to wire format; returns the wire length (root byte included). */
static inline size_t pkt_qname(uint8_t *out, const char *name)
{
	size_t n = 0;

	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);

		out[n++] = (uint8_t)l;
		memcpy(out + n, name, l);
		n += l;
		name += l;
		if (*name == '.')
			name++;
	}
	out[n++] = 0;
	return n;
}

/*
 * A DNS message with one question, no records: header, wire qname (n bytes),
 * qtype, class IN. tcp: with the 2-byte length prefix. flags: RD = 0x0100.
 */
static inline size_t pkt_dns_wire(uint8_t *out, uint16_t id, uint16_t flags, uint16_t qdcount,
				  const uint8_t *qname, size_t n, uint16_t qtype, int tcp)
{
	uint8_t *m = out + (tcp ? 2 : 0);
	size_t len = 12 + n + 4;

	memset(m, 0, 12);
	pkt_put16(m, id);
	pkt_put16(m + 2, flags);
	pkt_put16(m + 4, qdcount);
	memcpy(m + 12, qname, n);
	pkt_put16(m + 12 + n, qtype);
	pkt_put16(m + 12 + n + 2, 1);
	if (tcp)
		pkt_put16(out, (uint16_t)len);
	return len + (tcp ? 2 : 0);
}

static inline size_t pkt_dns_query(uint8_t *out, uint16_t id, const char *name, uint16_t qtype,
				   int tcp)
{
	uint8_t q[300];
	size_t n = pkt_qname(q, name);

	return pkt_dns_wire(out, id, 0x0100, 1, q, n, qtype, tcp);
}

static inline size_t pkt_ext(uint8_t *p, uint16_t type, const uint8_t *data, size_t n)
{
	pkt_put16(p, type);
	pkt_put16(p + 2, (uint16_t)n);
	if (n)
		memcpy(p + 4, data, n);
	return 4 + n;
}

/*
 * A TLS 1.3-style ClientHello record, about 500 bytes: 32-byte session id,
 * 16 cipher suites, and extensions in a browser's order with server_name
 * after a few others, then key_share and padding to pad_to bytes.
 */
static inline size_t pkt_tls_client_hello(uint8_t *out, const char *sni, size_t pad_to)
{
	static const uint8_t groups[] = { 0, 8, 0, 0x1d, 0, 0x17, 0, 0x18, 0, 0x19 };
	static const uint8_t ecpf[] = { 1, 0 };
	static const uint8_t alpn[] = { 0,   12,  2,   'h', '2', 8,   'h',
					't', 't', 'p', '/', '1', '.', '1' };
	static const uint8_t sigalgs[] = { 0, 16, 4, 3, 8, 4, 4, 1, 5, 3, 8, 5, 5, 1, 8, 6, 6, 1 };
	static const uint8_t versions[] = { 4, 3, 4, 3, 3 };
	static const uint8_t psk[] = { 1, 1 };
	uint8_t e[64];
	size_t n = 0, ext_start, hs_start, sl = strlen(sni), i;

	out[n++] = 22; /* handshake record */
	out[n++] = 3;
	out[n++] = 1;
	n += 2; /* record length */
	hs_start = n;
	out[n++] = 1; /* ClientHello */
	n += 3; /* handshake length */
	out[n++] = 3;
	out[n++] = 3;
	for (i = 0; i < 32; i++)
		out[n++] = (uint8_t)(0x40 + i * 7); /* random */
	out[n++] = 32;
	for (i = 0; i < 32; i++)
		out[n++] = (uint8_t)(0x90 + i * 3); /* session id */
	pkt_put16(out + n, 32);
	n += 2;
	for (i = 0; i < 16; i++) {
		pkt_put16(out + n, (uint16_t)(i < 3 ? 0x1301 + i : 0xc02b + i - 3));
		n += 2;
	}
	out[n++] = 1;
	out[n++] = 0; /* null compression */
	n += 2; /* extensions length */
	ext_start = n;
	n += pkt_ext(out + n, 0x0a0a, NULL, 0); /* GREASE */
	n += pkt_ext(out + n, 23, NULL, 0); /* extended_master_secret */
	n += pkt_ext(out + n, 0xff01, ecpf + 1, 1); /* renegotiation_info */
	n += pkt_ext(out + n, 10, groups, sizeof(groups)); /* supported_groups */
	n += pkt_ext(out + n, 11, ecpf, sizeof(ecpf)); /* ec_point_formats */
	/* server_name: list length, host_name type, name length, name */
	pkt_put16(e, (uint16_t)(sl + 3));
	e[2] = 0;
	pkt_put16(e + 3, (uint16_t)sl);
	pkt_put16(out + n, 0);
	pkt_put16(out + n + 2, (uint16_t)(sl + 5));
	memcpy(out + n + 4, e, 5);
	memcpy(out + n + 9, sni, sl);
	n += 9 + sl;
	n += pkt_ext(out + n, 35, NULL, 0); /* session_ticket */
	n += pkt_ext(out + n, 16, alpn, sizeof(alpn)); /* ALPN */
	n += pkt_ext(out + n, 13, sigalgs, sizeof(sigalgs)); /* signature_algorithms */
	n += pkt_ext(out + n, 43, versions, sizeof(versions)); /* supported_versions */
	n += pkt_ext(out + n, 45, psk, sizeof(psk)); /* psk_key_exchange_modes */
	/* key_share: x25519, 32-byte key */
	pkt_put16(e, 36);
	pkt_put16(e + 2, 0x1d);
	pkt_put16(e + 4, 32);
	for (i = 0; i < 32; i++)
		e[6 + i] = (uint8_t)(0x11 * i + 5);
	n += pkt_ext(out + n, 51, e, 38);
	if (pad_to > n + 4) {
		size_t pad = pad_to - n - 4;

		pkt_put16(out + n, 21); /* padding */
		pkt_put16(out + n + 2, (uint16_t)pad);
		memset(out + n + 4, 0, pad);
		n += 4 + pad;
	}
	pkt_put16(out + ext_start - 2, (uint16_t)(n - ext_start));
	out[hs_start + 1] = (uint8_t)((n - hs_start - 4) >> 16);
	pkt_put16(out + hs_start + 2, (uint16_t)(n - hs_start - 4));
	pkt_put16(out + 3, (uint16_t)(n - 5));
	return n;
}

/* An HTTP/1.1 GET whose Host line comes after a few other headers. */
static inline size_t pkt_http_get(uint8_t *out, const char *host)
{
	static const char head[] = "GET /index.html HTTP/1.1\r\n"
				   "User-Agent: curl/7.88.1\r\n"
				   "Accept: */*\r\n"
				   "Host: ";
	static const char tail[] = "\r\nConnection: close\r\n\r\n";
	size_t n = 0, hl = strlen(host);

	memcpy(out, head, sizeof(head) - 1);
	n += sizeof(head) - 1;
	memcpy(out + n, host, hl);
	n += hl;
	memcpy(out + n, tail, sizeof(tail) - 1);
	return n + sizeof(tail) - 1;
}

#endif /* XF_TEST_PKT_H */
