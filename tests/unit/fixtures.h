/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * fixtures.h - frame and payload builders shared by the unit tests and the
 * BPF test harness. Header only (static inline), userspace only, no cmocka.
 *
 * A frame is built front to back into a struct fx_frame: fx_eth(), optional
 * fx_vlan() tags, fx_ip4() or fx_ip6() (+ extension headers), fx_udp() or
 * fx_tcp(), payload bytes, then fx_finish() fills in every length and
 * checksum from where the frame ends. Builders never check for sense: a test
 * patches fields afterwards (fx_set8/fx_set16) to make a frame invalid.
 * Payload builders (DNS query, TLS ClientHello, HTTP request) write into a
 * caller's byte array and return the byte count.
 */
#ifndef XF_TEST_FIXTURES_H
#define XF_TEST_FIXTURES_H

#include <linux/types.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FX_FRAME_MAX 4096

#define FX_ETH_P_IP 0x0800
#define FX_ETH_P_ARP 0x0806
#define FX_ETH_P_8021Q 0x8100
#define FX_ETH_P_8021AD 0x88a8
#define FX_ETH_P_IPV6 0x86dd

#define FX_IPPROTO_HOPOPTS 0
#define FX_IPPROTO_ICMP 1
#define FX_IPPROTO_TCP 6
#define FX_IPPROTO_UDP 17
#define FX_IPPROTO_ROUTING 43
#define FX_IPPROTO_FRAGMENT 44
#define FX_IPPROTO_AH 51
#define FX_IPPROTO_ICMPV6 58
#define FX_IPPROTO_NONE 59
#define FX_IPPROTO_DSTOPTS 60

/* IPv4 flags/fragment word */
#define FX_IP4_DF 0x4000
#define FX_IP4_MF 0x2000

/* Default addresses used by the convenience builders. */
#define FX_IP4_CLIENT 0xc0000201u /* 192.0.2.1 */
#define FX_IP4_SERVER 0xc6336407u /* 198.51.100.7 */
static const __u8 fx_ip6_client[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
static const __u8 fx_ip6_server[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53 };

/* A frame under construction; l3/l4 are -1 until the header is added. */
struct fx_frame {
	__u8 d[FX_FRAME_MAX];
	__u32 len;
	int l3; /* IPv4 or IPv6 header offset */
	int l4; /* UDP or TCP header offset */
	__u8 ipv6;
	__u8 l4proto;
};

/* Start an empty frame. */
static inline void fx_init(struct fx_frame *f)
{
	memset(f, 0, sizeof(*f));
	f->l3 = f->l4 = -1;
}

/* Append n raw bytes (p may be NULL: append zeros). */
static inline void fx_bytes(struct fx_frame *f, const void *p, __u32 n)
{
	if (f->len + n > FX_FRAME_MAX)
		abort();
	if (p)
		memcpy(f->d + f->len, p, n);
	else
		memset(f->d + f->len, 0, n);
	f->len += n;
}

/* Append one byte. */
static inline void fx_u8(struct fx_frame *f, __u8 v)
{
	fx_bytes(f, &v, 1);
}

/* Append a big-endian 16-bit value. */
static inline void fx_u16(struct fx_frame *f, __u16 v)
{
	__u8 b[2] = { (__u8)(v >> 8), (__u8)v };

	fx_bytes(f, b, 2);
}

/* Append a big-endian 32-bit value. */
static inline void fx_u32(struct fx_frame *f, __u32 v)
{
	fx_u16(f, (__u16)(v >> 16));
	fx_u16(f, (__u16)v);
}

/* Overwrite one byte at off. */
static inline void fx_set8(struct fx_frame *f, __u32 off, __u8 v)
{
	f->d[off] = v;
}

/* Overwrite a big-endian 16-bit value at off. */
static inline void fx_set16(struct fx_frame *f, __u32 off, __u16 v)
{
	f->d[off] = (__u8)(v >> 8);
	f->d[off + 1] = (__u8)v;
}

/* Read a big-endian 16-bit value at off of any byte array. */
static inline __u16 fx_get16(const __u8 *p, __u32 off)
{
	return (__u16)((p[off] << 8) | p[off + 1]);
}

/* Ethernet header: fixed MACs, the given ethertype (0x8100/0x88a8 before a tag). */
static inline void fx_eth(struct fx_frame *f, __u16 ethertype)
{
	static const __u8 macs[12] = { 0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01 };

	fx_bytes(f, macs, sizeof(macs));
	fx_u16(f, ethertype);
}

/* One VLAN tag (the previous type field says 802.1Q or 802.1ad): TCI, next type. */
static inline void fx_vlan(struct fx_frame *f, __u16 tci, __u16 ethertype)
{
	fx_u16(f, tci);
	fx_u16(f, ethertype);
}

/* IPv4 header with opt_words 32-bit words of NOP options (IHL = 5 + opt_words). */
static inline void fx_ip4(struct fx_frame *f, __u8 proto, __u32 saddr, __u32 daddr,
			  __u8 opt_words)
{
	__u32 i;

	f->l3 = (int)f->len;
	f->ipv6 = 0;
	fx_u8(f, (__u8)(0x40 | ((5 + opt_words) & 0xf)));
	fx_u8(f, 0); /* tos */
	fx_u16(f, 0); /* total length: fx_finish */
	fx_u16(f, 0x1234); /* id */
	fx_u16(f, FX_IP4_DF);
	fx_u8(f, 64); /* ttl */
	fx_u8(f, proto);
	fx_u16(f, 0); /* checksum: fx_finish */
	fx_u32(f, saddr);
	fx_u32(f, daddr);
	for (i = 0; i < 4u * opt_words; i++)
		fx_u8(f, i + 1 == 4u * opt_words ? 0 : 1); /* NOPs, then End of options */
}

/* IPv4 flags/fragment-offset word (offset in 8-byte units | FX_IP4_MF/DF). */
static inline void fx_ip4_frag(struct fx_frame *f, __u16 word)
{
	fx_set16(f, (__u32)f->l3 + 6, word);
}

/* IPv6 header with next header nh (payload length filled by fx_finish). */
static inline void fx_ip6(struct fx_frame *f, __u8 nh, const __u8 *saddr, const __u8 *daddr)
{
	f->l3 = (int)f->len;
	f->ipv6 = 1;
	fx_u32(f, 0x60000000u);
	fx_u16(f, 0); /* payload length: fx_finish */
	fx_u8(f, nh);
	fx_u8(f, 64); /* hop limit */
	fx_bytes(f, saddr, 16);
	fx_bytes(f, daddr, 16);
}

/* IPv6 option-style extension (hop-by-hop, destination, routing): (len8 + 1) * 8 bytes. */
static inline void fx_ip6_ext(struct fx_frame *f, __u8 nh, __u8 len8)
{
	__u32 i, n = ((__u32)len8 + 1) * 8;

	fx_u8(f, nh);
	fx_u8(f, len8);
	for (i = 2; i < n; i++)
		fx_u8(f, 0); /* Pad1 options (routing: type 0, segments left 0) */
}

/* IPv6 fragment header: offset in 8-byte units, more-fragments flag. */
static inline void fx_ip6_frag(struct fx_frame *f, __u8 nh, __u16 offset, int more)
{
	fx_u8(f, nh);
	fx_u8(f, 0);
	fx_u16(f, (__u16)((offset << 3) | (more ? 1 : 0)));
	fx_u32(f, 0xdeadbeef); /* identification */
}

/* IPv6 authentication header: (len4 + 2) * 4 bytes. */
static inline void fx_ip6_ah(struct fx_frame *f, __u8 nh, __u8 len4)
{
	__u32 i, n = ((__u32)len4 + 2) * 4;

	fx_u8(f, nh);
	fx_u8(f, len4);
	for (i = 2; i < n; i++)
		fx_u8(f, 0);
}

/* UDP header (length and checksum filled by fx_finish). */
static inline void fx_udp(struct fx_frame *f, __u16 sport, __u16 dport)
{
	f->l4 = (int)f->len;
	f->l4proto = FX_IPPROTO_UDP;
	fx_u16(f, sport);
	fx_u16(f, dport);
	fx_u16(f, 0);
	fx_u16(f, 0);
}

/* TCP header, flags PSH|ACK, opt_words 32-bit words of NOP options (data offset 5 + opt_words). */
static inline void fx_tcp(struct fx_frame *f, __u16 sport, __u16 dport, __u8 opt_words)
{
	__u32 i;

	f->l4 = (int)f->len;
	f->l4proto = FX_IPPROTO_TCP;
	fx_u16(f, sport);
	fx_u16(f, dport);
	fx_u32(f, 1000); /* seq */
	fx_u32(f, 2000); /* ack */
	fx_u8(f, (__u8)(((5 + opt_words) & 0xf) << 4));
	fx_u8(f, 0x18); /* PSH|ACK */
	fx_u16(f, 65535); /* window */
	fx_u16(f, 0); /* checksum: fx_finish */
	fx_u16(f, 0); /* urgent */
	for (i = 0; i < 4u * opt_words; i++)
		fx_u8(f, 1); /* NOP */
}

/* Ones' complement sum of n bytes, added to sum (not folded). */
static inline __u32 fx_csum_add(__u32 sum, const __u8 *p, __u32 n)
{
	__u32 i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (__u32)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (__u32)p[n - 1] << 8;
	return sum;
}

/* Fold a sum into a 16-bit ones' complement checksum. */
static inline __u16 fx_csum_fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* Fill in IP total/payload length, IPv4 header checksum, UDP length, UDP/TCP checksum. */
static inline void fx_finish(struct fx_frame *f)
{
	__u32 sum = 0, l4len;

	if (f->l3 < 0)
		return;
	if (f->ipv6) {
		fx_set16(f, (__u32)f->l3 + 4, (__u16)(f->len - (__u32)f->l3 - 40));
	} else {
		__u32 ihl = (f->d[f->l3] & 0xf) * 4u;

		fx_set16(f, (__u32)f->l3 + 2, (__u16)(f->len - (__u32)f->l3));
		fx_set16(f, (__u32)f->l3 + 10, 0);
		fx_set16(f, (__u32)f->l3 + 10, fx_csum_fold(fx_csum_add(0, f->d + f->l3, ihl)));
	}
	if (f->l4 < 0)
		return;
	l4len = f->len - (__u32)f->l4;
	if (f->ipv6)
		sum = fx_csum_add(0, f->d + f->l3 + 8, 32);
	else
		sum = fx_csum_add(0, f->d + f->l3 + 12, 8);
	sum += f->l4proto + l4len;
	if (f->l4proto == FX_IPPROTO_UDP) {
		fx_set16(f, (__u32)f->l4 + 4, (__u16)l4len);
		fx_set16(f, (__u32)f->l4 + 6, 0);
		sum = fx_csum_fold(fx_csum_add(sum, f->d + f->l4, l4len));
		fx_set16(f, (__u32)f->l4 + 6, sum ? (__u16)sum : 0xffff);
	} else {
		fx_set16(f, (__u32)f->l4 + 16, 0);
		fx_set16(f, (__u32)f->l4 + 16, fx_csum_fold(fx_csum_add(sum, f->d + f->l4, l4len)));
	}
}

/*
 * Dotted name -> DNS wire format in out (labels, root byte). "" and "." give
 * the root name. Labels are not checked: a label over 63 bytes is written with
 * its real length byte (a test wanting bad label bytes writes them raw).
 * Returns the wire length.
 */
static inline __u32 fx_dns_name(__u8 *out, const char *name)
{
	__u32 n = 0;
	const char *p = name;

	while (*p) {
		const char *dot = strchr(p, '.');
		__u32 l = dot ? (__u32)(dot - p) : (__u32)strlen(p);

		if (l) {
			out[n++] = (__u8)l;
			memcpy(out + n, p, l);
			n += l;
		}
		p += l;
		if (*p == '.')
			p++;
	}
	out[n++] = 0;
	return n;
}

/* DNS header: id, flags, qdcount, zero an/ns/ar counts. Returns 12. */
static inline __u32 fx_dns_hdr(__u8 *out, __u16 id, __u16 flags, __u16 qdcount)
{
	memset(out, 0, 12);
	out[0] = (__u8)(id >> 8);
	out[1] = (__u8)id;
	out[2] = (__u8)(flags >> 8);
	out[3] = (__u8)flags;
	out[4] = (__u8)(qdcount >> 8);
	out[5] = (__u8)qdcount;
	return 12;
}

/* DNS message with one question for a dotted name. Returns its length. */
static inline __u32 fx_dns_query(__u8 *out, __u16 id, __u16 flags, const char *name, __u16 qtype,
				 __u16 qclass)
{
	__u32 n = fx_dns_hdr(out, id, flags, 1);

	n += fx_dns_name(out + n, name);
	out[n++] = (__u8)(qtype >> 8);
	out[n++] = (__u8)qtype;
	out[n++] = (__u8)(qclass >> 8);
	out[n++] = (__u8)qclass;
	return n;
}

/* The same message behind a TCP 2-byte length prefix. Returns prefix + message. */
static inline __u32 fx_dns_query_tcp(__u8 *out, __u16 id, __u16 flags, const char *name,
				     __u16 qtype, __u16 qclass)
{
	__u32 n = fx_dns_query(out + 2, id, flags, name, qtype, qclass);

	out[0] = (__u8)(n >> 8);
	out[1] = (__u8)n;
	return n + 2;
}

/* Ethernet + IPv4 + UDP client:40000 -> server:dport + payload, finished. */
static inline void fx_udp4_frame(struct fx_frame *f, __u16 dport, const __u8 *payload, __u32 n)
{
	fx_init(f);
	fx_eth(f, FX_ETH_P_IP);
	fx_ip4(f, FX_IPPROTO_UDP, FX_IP4_CLIENT, FX_IP4_SERVER, 0);
	fx_udp(f, 40000, dport);
	fx_bytes(f, payload, n);
	fx_finish(f);
}

/* Ethernet + IPv6 + UDP client:40000 -> server:dport + payload, finished. */
static inline void fx_udp6_frame(struct fx_frame *f, __u16 dport, const __u8 *payload, __u32 n)
{
	fx_init(f);
	fx_eth(f, FX_ETH_P_IPV6);
	fx_ip6(f, FX_IPPROTO_UDP, fx_ip6_client, fx_ip6_server);
	fx_udp(f, 40000, dport);
	fx_bytes(f, payload, n);
	fx_finish(f);
}

/* Ethernet + IPv4 + TCP client:40000 -> server:dport + payload, finished. */
static inline void fx_tcp4_frame(struct fx_frame *f, __u16 dport, const __u8 *payload, __u32 n)
{
	fx_init(f);
	fx_eth(f, FX_ETH_P_IP);
	fx_ip4(f, FX_IPPROTO_TCP, FX_IP4_CLIENT, FX_IP4_SERVER, 0);
	fx_tcp(f, 40000, dport, 0);
	fx_bytes(f, payload, n);
	fx_finish(f);
}

/* Ethernet + IPv6 + TCP client:40000 -> server:dport + payload, finished. */
static inline void fx_tcp6_frame(struct fx_frame *f, __u16 dport, const __u8 *payload, __u32 n)
{
	fx_init(f);
	fx_eth(f, FX_ETH_P_IPV6);
	fx_ip6(f, FX_IPPROTO_TCP, fx_ip6_client, fx_ip6_server);
	fx_tcp(f, 40000, dport, 0);
	fx_bytes(f, payload, n);
	fx_finish(f);
}

/* A UDP/53 IPv4 DNS query frame for a dotted name (id 0x1234, RD, class IN). */
static inline void fx_dns4_frame(struct fx_frame *f, const char *name, __u16 qtype)
{
	__u8 q[600];
	__u32 n = fx_dns_query(q, 0x1234, 0x0100, name, qtype, 1);

	fx_udp4_frame(f, 53, q, n);
}

/* One TLS extension for fx_tls_client_hello(). */
struct fx_tls_ext {
	__u16 type;
	__u16 len;
	const __u8 *data; /* len bytes; NULL: zeros */
};

#define FX_TLS_EXT_SNI 0
#define FX_TLS_EXT_GROUPS 10
#define FX_TLS_EXT_ALPN 16
#define FX_TLS_EXT_PADDING 21

/* server_name extension data for one host_name; returns its length (5 + strlen). */
static inline __u16 fx_tls_sni_data(__u8 *out, const char *name)
{
	__u16 n = (__u16)strlen(name);

	out[0] = (__u8)((n + 3) >> 8);
	out[1] = (__u8)(n + 3);
	out[2] = 0; /* host_name */
	out[3] = (__u8)(n >> 8);
	out[4] = (__u8)n;
	memcpy(out + 5, name, n);
	return (__u16)(n + 5);
}

/*
 * TLS record with one handshake message: ClientHello (hs_type 1) or any
 * other type, version 0x0303, fixed random, sid_len-byte session id, two
 * cipher suites, null compression, then nexts extensions; nexts < 0 omits
 * the extensions block entirely. Returns the record length.
 */
static inline __u32 fx_tls_client_hello(__u8 *out, __u8 hs_type, __u8 sid_len,
					const struct fx_tls_ext *ext, int nexts)
{
	__u32 n = 0, hs, body, exts_at = 0, i;

	out[n++] = 22; /* handshake */
	out[n++] = 3;
	out[n++] = 1;
	n += 2; /* record length */
	hs = n;
	out[n++] = hs_type;
	n += 3; /* handshake length */
	body = n;
	out[n++] = 3;
	out[n++] = 3;
	for (i = 0; i < 32; i++)
		out[n++] = (__u8)(0xa0 + i); /* random */
	out[n++] = sid_len;
	for (i = 0; i < sid_len; i++)
		out[n++] = (__u8)i;
	out[n++] = 0;
	out[n++] = 4; /* cipher suites length */
	out[n++] = 0x13;
	out[n++] = 0x01;
	out[n++] = 0xc0;
	out[n++] = 0x2f;
	out[n++] = 1; /* compression methods length */
	out[n++] = 0; /* null */
	if (nexts >= 0) {
		exts_at = n;
		n += 2;
		for (i = 0; i < (__u32)nexts; i++) {
			out[n++] = (__u8)(ext[i].type >> 8);
			out[n++] = (__u8)ext[i].type;
			out[n++] = (__u8)(ext[i].len >> 8);
			out[n++] = (__u8)ext[i].len;
			if (ext[i].data)
				memcpy(out + n, ext[i].data, ext[i].len);
			else
				memset(out + n, 0, ext[i].len);
			n += ext[i].len;
		}
		out[exts_at] = (__u8)((n - exts_at - 2) >> 8);
		out[exts_at + 1] = (__u8)(n - exts_at - 2);
	}
	out[3] = (__u8)((n - hs) >> 8);
	out[4] = (__u8)(n - hs);
	out[hs + 1] = (__u8)((n - body) >> 16);
	out[hs + 2] = (__u8)((n - body) >> 8);
	out[hs + 3] = (__u8)(n - body);
	return n;
}

/* ClientHello whose only extension is server_name = name. Returns the length. */
static inline __u32 fx_tls_hello_sni(__u8 *out, const char *name)
{
	__u8 sni[300];
	struct fx_tls_ext e = { FX_TLS_EXT_SNI, 0, sni };

	e.len = fx_tls_sni_data(sni, name);
	return fx_tls_client_hello(out, 1, 32, &e, 1);
}

/* "GET / HTTP/1.1\r\nHost: <host>\r\nUser-Agent: fx\r\n\r\n" into out; returns the length. */
static inline __u32 fx_http_get(char *out, const char *host)
{
	__u32 n = 0;

	n += (__u32)(stpcpy(out + n, "GET / HTTP/1.1\r\nHost: ") - (out + n));
	n += (__u32)(stpcpy(out + n, host) - (out + n));
	n += (__u32)(stpcpy(out + n, "\r\nUser-Agent: fx\r\n\r\n") - (out + n));
	return n;
}

/*
 * Copy len bytes so that they end exactly where an inaccessible page starts:
 * any read past len faults, without a sanitizer. Free with fx_guard_free().
 */
static inline __u8 *fx_guard_copy(const void *data, __u32 len)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t span = (len + pg - 1) / pg * pg;
	__u8 *base;

	if (!span)
		span = pg;
	base = mmap(NULL, span + pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		abort();
	if (mprotect(base + span, pg, PROT_NONE))
		abort();
	memcpy(base + span - len, data, len);
	return base + span - len;
}

/* Release a fx_guard_copy() buffer. */
static inline void fx_guard_free(__u8 *p, __u32 len)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t span = (len + pg - 1) / pg * pg;

	if (!span)
		span = pg;
	munmap(p + len - span, span + pg);
}

#endif /* XF_TEST_FIXTURES_H */
