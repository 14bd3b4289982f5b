/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * dnsmsg.h - one DNS message parsed whole with ldns into a small summary:
 * header flags and counts, rcode (with EDNS's extended bits), the answer
 * section's record types and rdata bytes (what flows downstream), EDNS
 * (UDP size, DO bit, version) and truncation. Used where the whole message
 * matters: live response events that carry the message (struct
 * xf_event_msg) and replayed packets. No I/O; cheap enough per message.
 */
#ifndef XF_DNSMSG_H
#define XF_DNSMSG_H

#include <stddef.h>
#include <stdint.h>

#define XF_DNSMSG_TYPES 4 /* distinct answer RR types kept, in order seen */

/* xf_dnsmsg_parse() results besides 0 (the whole message parsed). */
#define XF_DNSMSG_PARTIAL 1 /* the bytes end before the message: parsed up to there */

/* What one message says. */
struct xf_dnsmsg {
	uint32_t wire_len; /* the message's length on the wire */
	uint32_t parsed_len; /* bytes the summary is based on (< wire_len: partial) */
	uint16_t id;
	uint16_t qtype; /* of the first question; 0 when none */
	uint16_t qdcount, ancount, nscount, arcount; /* as the header says */
	uint16_t rcode; /* header rcode | EDNS extended rcode << 4 */
	uint8_t qr, opcode, aa, tc, rd, ra; /* header flags; tc: truncated, retry over TCP */
	uint8_t partial; /* the bytes ended before the message */
	uint8_t edns; /* an OPT record was seen */
	uint8_t edns_do; /* DNSSEC OK */
	uint8_t edns_version;
	uint16_t edns_udp; /* the sender's UDP payload size */
	uint32_t answers; /* answer records parsed */
	uint32_t answer_bytes; /* their rdata bytes (names uncompressed), summed */
	/*
	 * answer_bytes plus, when the bytes ended inside the answer section,
	 * the message's remaining bytes: an estimate (an upper bound) of the
	 * data the answers carry downstream. Equals answer_bytes when whole.
	 */
	uint32_t down_bytes;
	uint32_t answer_qt; /* 1 << enum xf_qt_bucket of every answer type */
	uint16_t an_types[XF_DNSMSG_TYPES]; /* first distinct answer RR types */
	uint8_t n_an_types;
};

/*
 * Parse a DNS message: the first len bytes of it, wire_len its length on the
 * wire (0: len, the whole message). A whole message goes through
 * ldns_wire2pkt(); a cut one (len < wire_len, e.g. a response event's
 * bounded copy) is read record by record with ldns_wire2rr() up to the cut.
 * Returns 0 (whole), XF_DNSMSG_PARTIAL, or -EBADMSG for bytes that are not a
 * DNS message (m then holds what the header said, when there was one),
 * -EINVAL for bad arguments. Never reads past len.
 */
int xf_dnsmsg_parse(const uint8_t *wire, size_t len, size_t wire_len, struct xf_dnsmsg *m);

/* The rcode's name ("NOERROR", "NXDOMAIN", ...), or NULL when unnamed. */
const char *xf_dnsmsg_rcode_name(unsigned int rcode);

#endif /* XF_DNSMSG_H */
