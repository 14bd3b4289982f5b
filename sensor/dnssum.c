// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * dnssum.c - replay's per-message summary without an ldns packet.
 *
 * Replay counts NXDOMAIN, answers, answer bytes and EDNS over every DNS
 * message. ldns_wire2pkt builds a whole packet for that (one allocation per
 * name, record and field, then frees them all): about half a microsecond a
 * message, a fifth of replay's time. This walk reads the same message in
 * place, step for step as ldns 1.8's wire2host.c does (names with their
 * pointer rules, then each record's fields by its type's layout, with
 * ldns's own quirks: a record's fields may end before or after its
 * RDLENGTH, and the next record starts where the fields ended), and sizes
 * the answers' fields as ldns_rdf_size would (a name uncompressed).
 *
 * It handles the record types of ordinary traffic and of the tunnels
 * (table below, layouts copied from ldns's rr.c descriptors). For anything
 * else, and for every malformed message, it answers "ask ldns", so the
 * summary and the dns_message error count stay exactly ldns's.
 * tests/unit/test_dnssum.c checks both against each other on built and
 * mutated messages.
 */
#include <string.h>
#include "dnssum.h"

#define HDR_LEN 12
#define NAME_MAX_WIRE 255 /* LDNS_MAX_DOMAINLEN */
#define LABEL_MAX 63 /* LDNS_MAX_LABELLEN */
/* ldns allows 65535 pointers in one name; past this many, ldns decides */
#define POINTERS_MAX 64
#define FIELDS_MAX 8

/* field kinds, as ldns_wire2rdf sizes them */
enum {
	K_END = 0, /* no more fields: the layout's maximum */
	K_NAME, /* LDNS_RDF_TYPE_DNAME */
	K_STR, /* LDNS_RDF_TYPE_STR: a length byte and that many bytes */
	K_REST, /* UNKNOWN, B64, SVCPARAMS, ...: the rest of the rdata */
	K_FIX1, /* INT8 */
	K_FIX2, /* INT16 */
	K_FIX4, /* A, INT32, PERIOD */
	K_FIX16, /* AAAA */
};

struct layout {
	uint16_t type;
	uint8_t var; /* every field is K_STR (TXT) */
	uint8_t f[FIELDS_MAX];
};

/* ldns 1.8.3 rr.c: type_*_wireformat and rdata_field_descriptors */
#define TYPES_KNOWN 66 /* the table covers types below HTTPS + 1 */

/* by type; type 0 = not covered */
static const struct layout layouts[TYPES_KNOWN] = {
	[1] = { 1, 0, { K_FIX4 } }, /* A */
	[2] = { 2, 0, { K_NAME } }, /* NS */
	[5] = { 5, 0, { K_NAME } }, /* CNAME */
	[6] = { 6, 0, { K_NAME, K_NAME, K_FIX4, K_FIX4, K_FIX4, K_FIX4, K_FIX4 } }, /* SOA */
	[10] = { 10, 0, { K_REST } }, /* NULL */
	[12] = { 12, 0, { K_NAME } }, /* PTR */
	[15] = { 15, 0, { K_FIX2, K_NAME } }, /* MX */
	[16] = { 16, 1, { 0 } }, /* TXT */
	[25] = { 25, 0, { K_FIX2, K_FIX1, K_FIX1, K_REST } }, /* KEY */
	[28] = { 28, 0, { K_FIX16 } }, /* AAAA */
	[33] = { 33, 0, { K_FIX2, K_FIX2, K_FIX2, K_NAME } }, /* SRV */
	[39] = { 39, 0, { K_NAME } }, /* DNAME */
	[41] = { 41, 0, { K_REST } }, /* OPT */
	[64] = { 64, 0, { K_FIX2, K_NAME, K_REST } }, /* SVCB */
	[65] = { 65, 0, { K_FIX2, K_NAME, K_REST } }, /* HTTPS */
};

static const struct layout *layout_of(uint16_t type)
{
	return type < TYPES_KNOWN && layouts[type].type ? &layouts[type] : NULL;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/*
 * A name at *pos, as ldns_wire2dname reads it: labels, pointers (not 0, not
 * past the message), the next record after the first pointer or the root.
 * Returns its uncompressed size (root byte included), or -1: ask ldns.
 */
static int name_walk(const uint8_t *w, size_t max, size_t *pos)
{
	size_t p = *pos, after = 0, size = 0;
	unsigned int ptrs = 0;

	for (;;) {
		uint8_t l;

		if (p >= max)
			return -1; /* no root byte inside the message */
		l = w[p];
		if (l >= 192) {
			size_t to;

			if (p + 2 > max || ++ptrs > POINTERS_MAX)
				return -1;
			to = (size_t)(l & 63) << 8 | w[p + 1];
			if (!to || to >= max)
				return -1;
			if (!after)
				after = p + 2;
			p = to;
			continue;
		}
		if (!l)
			break;
		if (l > LABEL_MAX || p + 1 + l > max)
			return -1;
		size += (size_t)l + 1;
		if (size >= NAME_MAX_WIRE)
			return -1;
		p += 1 + (size_t)l;
	}
	*pos = after ? after : p + 1;
	return (int)size + 1;
}

/* One record's fields, as ldns_wire2rdf reads them. Returns the bytes of
 * its fields (ldns_rdf_size summed), or -1: ask ldns. */
static long rdata_walk(const uint8_t *w, size_t max, size_t *pos, const struct layout *t,
		       size_t rdlen)
{
	size_t p = *pos, end = p + rdlen;
	long bytes = 0;

	for (unsigned int i = 0; p < end; i++) {
		int k = t->var ? K_STR : i < FIELDS_MAX ? t->f[i] : K_END;
		size_t n;

		if (k == K_END)
			break;
		switch (k) {
		case K_NAME: {
			int sz = name_walk(w, max, &p);

			if (sz < 0)
				return -1;
			bytes += sz;
			continue;
		}
		case K_STR:
			n = (size_t)w[p] + 1;
			break;
		case K_REST:
			n = end - p;
			break;
		case K_FIX1:
			n = 1;
			break;
		case K_FIX2:
			n = 2;
			break;
		case K_FIX4:
			n = 4;
			break;
		default:
			n = 16;
			break;
		}
		if (p + n > end)
			return -1;
		bytes += (long)n;
		p += n;
	}
	*pos = p;
	return bytes;
}

int xf_dns_summary(const uint8_t *w, size_t max, struct xf_dns_sum *s)
{
	size_t pos = HDR_LEN;
	unsigned int count[4];

	memset(s, 0, sizeof(*s));
	if (max < HDR_LEN)
		return 1;
	s->qr = w[2] >> 7;
	s->rcode = w[3] & 0xf;
	s->tc = (w[2] >> 1) & 1;
	for (int k = 0; k < 4; k++)
		count[k] = rd16(w + 4 + 2 * k);
	s->ancount = (uint16_t)count[1];
	for (unsigned int i = 0; i < count[0]; i++) {
		if (name_walk(w, max, &pos) < 0 || pos + 4 > max)
			return 1;
		pos += 4;
	}
	for (int sec = 1; sec < 4; sec++) {
		for (unsigned int i = 0; i < count[sec]; i++) {
			const struct layout *t;
			size_t rdlen;
			uint16_t type;
			long b;

			if (name_walk(w, max, &pos) < 0 || pos + 10 > max)
				return 1;
			type = rd16(w + pos);
			rdlen = rd16(w + pos + 8);
			pos += 10;
			t = layout_of(type);
			if (!t || pos + rdlen > max)
				return 1;
			b = rdata_walk(w, max, &pos, t, rdlen);
			if (b < 0)
				return 1;
			if (sec == 1)
				s->answer_bytes += (uint32_t)b;
			else if (sec == 3 && type == 41)
				s->edns = 1;
		}
	}
	return 0;
}
