/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * dnssum.h - the per-message summary replay prints (rcode, answers, answer
 * bytes, EDNS), read straight off the wire without building an ldns packet.
 * dnsmsg.h is the whole parse with ldns (live response events, and any
 * message this walk does not cover); this walk exists because replay sees
 * every message and ldns_wire2pkt cost a fifth of its time (dnssum.c).
 */
#ifndef XF_DNSSUM_H
#define XF_DNSSUM_H

#include <stddef.h>
#include <stdint.h>

/* What ldns_wire2pkt would have told about one message. */
struct xf_dns_sum {
	uint8_t qr; /* a response */
	uint8_t rcode; /* the header's 4 bits */
	uint8_t edns; /* an OPT record in the additional section */
	uint8_t tc; /* truncated: retry over TCP */
	uint16_t ancount;
	uint32_t answer_bytes; /* the answers' rdata fields as ldns sizes them */
};

/*
 * Summarise the message in wire[0..len). Returns 0 with *s filled when the
 * message is one ldns 1.8 (ldns_wire2pkt) accepts and the result is exactly
 * what ldns would give; returns 1 when the message falls outside what this
 * walk covers (an error anywhere, a record type not in its table, long
 * pointer chains): the caller then asks ldns. It never reports an error of
 * its own, so a caller that falls back counts exactly what ldns counts.
 */
int xf_dns_summary(const uint8_t *wire, size_t len, struct xf_dns_sum *s);

#endif /* XF_DNSSUM_H */
