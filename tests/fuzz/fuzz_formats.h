/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * fuzz_formats.h - the input formats of the fuzz targets that take more
 * than raw bytes, shared by the targets (which read them) and the seed tool
 * mkseeds (which writes them from captures):
 *
 * fuzz_dns:   one flags byte (XF_FZ_DNS_*), then the DNS payload as the
 *             transport carries it (over TCP with its 2-byte length prefix)
 * fuzz_event: records, each a 2-byte little-endian length and that many
 *             bytes, as ring buffer records of any length
 *
 * and the capture file writers the seed tool uses for link types and
 * pcapng: libpcap writes classic pcap of any link type (pcap_dump) but no
 * pcapng in the 1.10 Debian ships, and a seed needs the bytes in memory.
 */
#ifndef XF_FUZZ_FORMATS_H
#define XF_FUZZ_FORMATS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/time.h>

#define XF_FZ_DNS_TCP 0x01 /* over TCP, the payload starts with the length */
#define XF_FZ_DNS_IPV6 0x02
#define XF_FZ_DNS_FROM_SERVER 0x04 /* source port 53, else destination */
#define XF_FZ_DNS_PADDED 0x08 /* IP length 4 bytes short: the rest is padding */

#define XF_FZ_EVENTS_MAX 16384 /* bytes in one fuzz_event seed at most */

struct xf_fz_events {
	uint8_t buf[XF_FZ_EVENTS_MAX];
	size_t len;
	unsigned n_records;
};

/* Append a record; -1 when it does not fit. */
static inline int xf_fz_events_add(struct xf_fz_events *e, const void *rec, size_t n)
{
	if (n > 0xffff || e->len + 2 + n > sizeof(e->buf))
		return -1;
	e->buf[e->len] = (uint8_t)n;
	e->buf[e->len + 1] = (uint8_t)(n >> 8);
	memcpy(e->buf + e->len + 2, rec, n);
	e->len += 2 + n;
	e->n_records++;
	return 0;
}

/* The next record at *off: its bytes and length (cut at the end of the
 * input). Returns 0, or -1 when no record is left. */
static inline int xf_fz_events_next(const uint8_t *d, size_t size, size_t *off, const uint8_t **rec,
				    size_t *n)
{
	size_t want;

	if (size - *off < 2)
		return -1;
	want = (size_t)d[*off] | (size_t)d[*off + 1] << 8;
	*off += 2;
	*rec = d + *off;
	*n = want < size - *off ? want : size - *off;
	*off += *n;
	return 0;
}

static inline void xf_fz_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* Classic pcap, little-endian, microseconds: the 24-byte file header. */
static inline size_t xf_fz_pcap_head(uint8_t *p, int dlt)
{
	xf_fz_le32(p, 0xa1b2c3d4);
	p[4] = 2; /* version 2.4 */
	p[5] = 0;
	p[6] = 4;
	p[7] = 0;
	memset(p + 8, 0, 8); /* thiszone, sigfigs */
	xf_fz_le32(p + 16, 262144); /* snaplen */
	xf_fz_le32(p + 20, (uint32_t)dlt);
	return 24;
}

static inline size_t xf_fz_pcap_packet(uint8_t *p, const struct timeval *ts, const uint8_t *pkt,
				       size_t n)
{
	xf_fz_le32(p, (uint32_t)ts->tv_sec);
	xf_fz_le32(p + 4, (uint32_t)ts->tv_usec);
	xf_fz_le32(p + 8, (uint32_t)n);
	xf_fz_le32(p + 12, (uint32_t)n);
	memcpy(p + 16, pkt, n);
	return 16 + n;
}

/* pcapng, little-endian: a section header block and one interface (the
 * default microsecond resolution). */
static inline size_t xf_fz_pcapng_head(uint8_t *p, int dlt)
{
	xf_fz_le32(p, 0x0a0d0d0a); /* SHB */
	xf_fz_le32(p + 4, 28);
	xf_fz_le32(p + 8, 0x1a2b3c4d);
	p[12] = 1; /* version 1.0 */
	p[13] = 0;
	p[14] = 0;
	p[15] = 0;
	memset(p + 16, 0xff, 8); /* section length: unknown */
	xf_fz_le32(p + 24, 28);
	xf_fz_le32(p + 28, 1); /* IDB */
	xf_fz_le32(p + 32, 20);
	p[36] = (uint8_t)dlt;
	p[37] = (uint8_t)(dlt >> 8);
	p[38] = 0; /* reserved */
	p[39] = 0;
	xf_fz_le32(p + 40, 262144); /* snaplen */
	xf_fz_le32(p + 44, 20);
	return 48;
}

/* An enhanced packet block on interface 0, padded to 32 bits. */
static inline size_t xf_fz_pcapng_packet(uint8_t *p, const struct timeval *ts, const uint8_t *pkt,
					 size_t n)
{
	uint64_t us = (uint64_t)ts->tv_sec * 1000000 + (uint64_t)ts->tv_usec;
	size_t pad = (4 - n % 4) % 4, total = 32 + n + pad;

	xf_fz_le32(p, 6);
	xf_fz_le32(p + 4, (uint32_t)total);
	xf_fz_le32(p + 8, 0); /* interface */
	xf_fz_le32(p + 12, (uint32_t)(us >> 32));
	xf_fz_le32(p + 16, (uint32_t)us);
	xf_fz_le32(p + 20, (uint32_t)n);
	xf_fz_le32(p + 24, (uint32_t)n);
	memcpy(p + 28, pkt, n);
	memset(p + 28 + n, 0, pad);
	xf_fz_le32(p + 28 + n + pad, (uint32_t)total);
	return total;
}

#endif /* XF_FUZZ_FORMATS_H */
