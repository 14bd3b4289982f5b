// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * dnsmsg.c - a DNS message, whole, through ldns: the summary in dnsmsg.h.
 *
 * A whole message goes through ldns_wire2pkt(), which checks the counts
 * against the records and decodes EDNS. A response event carries at most
 * kernel.msg_bytes of the message, and a cut message is no packet to
 * ldns_wire2pkt(); it is read with ldns_wire2rr(), one record at a time,
 * until the cut, so that the header, the question and the first answers of
 * a long tunnel response still count.
 */
#include <errno.h>
#include <string.h>
#include <ldns/ldns.h>
#include <linux/types.h>
#include "exfilter.h"
#include "parse_dns.h"
#include "dnsmsg.h"

static void header(const uint8_t *w, struct xf_dnsmsg *m)
{
	m->id = LDNS_ID_WIRE(w);
	m->qr = !!LDNS_QR_WIRE(w);
	m->opcode = (uint8_t)LDNS_OPCODE_WIRE(w);
	m->aa = !!LDNS_AA_WIRE(w);
	m->tc = !!LDNS_TC_WIRE(w);
	m->rd = !!LDNS_RD_WIRE(w);
	m->ra = !!LDNS_RA_WIRE(w);
	m->rcode = LDNS_RCODE_WIRE(w);
	m->qdcount = LDNS_QDCOUNT(w);
	m->ancount = LDNS_ANCOUNT(w);
	m->nscount = LDNS_NSCOUNT(w);
	m->arcount = LDNS_ARCOUNT(w);
}

static void answer_add(struct xf_dnsmsg *m, const ldns_rr *rr)
{
	uint16_t t = (uint16_t)ldns_rr_get_type(rr);
	int i;

	m->answers++;
	for (size_t k = 0; k < ldns_rr_rd_count(rr); k++)
		m->answer_bytes += (uint32_t)ldns_rdf_size(ldns_rr_rdf(rr, k));
	m->answer_qt |= 1u << (xf_qtype_bucket(t) & 31);
	for (i = 0; i < m->n_an_types; i++)
		if (m->an_types[i] == t)
			return;
	if (m->n_an_types < XF_DNSMSG_TYPES)
		m->an_types[m->n_an_types++] = t;
}

/*
 * An OPT record as ldns_wire2rr() returns it: the class is the UDP size, the
 * TTL holds extended rcode (8 bits), version (8) and the DO bit (RFC 6891).
 */
static void opt_rr(struct xf_dnsmsg *m, const ldns_rr *rr)
{
	uint32_t ttl = ldns_rr_ttl(rr);

	m->edns = 1;
	m->edns_udp = (uint16_t)ldns_rr_get_class(rr);
	m->rcode = (uint16_t)((m->rcode & 0xf) | ((ttl >> 24) << 4));
	m->edns_version = (uint8_t)(ttl >> 16);
	m->edns_do = !!(ttl & 0x8000);
}

static int whole(const uint8_t *wire, size_t len, struct xf_dnsmsg *m)
{
	ldns_pkt *p = NULL;
	ldns_rr_list *l;

	if (ldns_wire2pkt(&p, wire, len) != LDNS_STATUS_OK)
		return -EBADMSG;
	l = ldns_pkt_question(p);
	if (l && ldns_rr_list_rr_count(l))
		m->qtype = (uint16_t)ldns_rr_get_type(ldns_rr_list_rr(l, 0));
	l = ldns_pkt_answer(p);
	for (size_t i = 0; l && i < ldns_rr_list_rr_count(l); i++)
		answer_add(m, ldns_rr_list_rr(l, i));
	m->down_bytes = m->answer_bytes;
	m->edns = ldns_pkt_edns(p);
	if (m->edns) {
		m->edns_udp = ldns_pkt_edns_udp_size(p);
		m->edns_do = ldns_pkt_edns_do(p);
		m->edns_version = ldns_pkt_edns_version(p);
		m->rcode = (uint16_t)(ldns_pkt_get_rcode(p) |
				      (uint16_t)ldns_pkt_edns_extended_rcode(p) << 4);
	}
	m->parsed_len = (uint32_t)len;
	ldns_pkt_free(p);
	return 0;
}

/* The records of a cut message, in order, until the first that does not fit. */
static int partial(const uint8_t *wire, size_t len, struct xf_dnsmsg *m)
{
	const uint16_t count[4] = { m->qdcount, m->ancount, m->nscount, m->arcount };
	static const ldns_pkt_section sect[4] = { LDNS_SECTION_QUESTION, LDNS_SECTION_ANSWER,
						  LDNS_SECTION_AUTHORITY, LDNS_SECTION_ADDITIONAL };
	size_t pos = LDNS_HEADER_SIZE;
	ldns_rr *rr;

	m->partial = 1;
	for (int s = 0; s < 4; s++) {
		for (uint32_t i = 0; i < count[s]; i++) {
			size_t at = pos;

			rr = NULL;
			if (ldns_wire2rr(&rr, wire, len, &pos, sect[s]) != LDNS_STATUS_OK) {
				/* cut here; a cut answer section leaves its rest unread */
				if (s == 1)
					m->down_bytes =
						m->answer_bytes + (m->wire_len - (uint32_t)at);
				else
					m->down_bytes = m->answer_bytes;
				m->parsed_len = (uint32_t)at;
				return XF_DNSMSG_PARTIAL;
			}
			if (s == 0 && i == 0)
				m->qtype = (uint16_t)ldns_rr_get_type(rr);
			else if (s == 1)
				answer_add(m, rr);
			else if (s == 3 && ldns_rr_get_type(rr) == LDNS_RR_TYPE_OPT)
				opt_rr(m, rr);
			ldns_rr_free(rr);
		}
	}
	/* every record fit: the cut was past them (trailing bytes) */
	m->down_bytes = m->answer_bytes;
	m->parsed_len = (uint32_t)pos;
	return XF_DNSMSG_PARTIAL;
}

int xf_dnsmsg_parse(const uint8_t *wire, size_t len, size_t wire_len, struct xf_dnsmsg *m)
{
	if (!m)
		return -EINVAL;
	memset(m, 0, sizeof(*m));
	if (!wire && len)
		return -EINVAL;
	if (!wire_len)
		wire_len = len;
	if (len > wire_len) /* bytes past the message are not part of it */
		len = wire_len;
	m->wire_len = (uint32_t)(wire_len > UINT32_MAX ? UINT32_MAX : wire_len);
	if (len < LDNS_HEADER_SIZE)
		return -EBADMSG;
	header(wire, m);
	if (len < wire_len)
		return partial(wire, len, m);
	return whole(wire, len, m);
}

const char *xf_dnsmsg_rcode_name(unsigned int rcode)
{
	static const char *const names[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
					     "NOTIMP",	"REFUSED", "YXDOMAIN", "YXRRSET",
					     "NXRRSET", "NOTAUTH", "NOTZONE" };

	if (rcode < sizeof(names) / sizeof(names[0]))
		return names[rcode];
	return rcode == 16 ? "BADVERS" : NULL;
}
