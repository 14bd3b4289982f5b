// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_dnssum.c - sensor/dnssum.c: the in-place summary of a DNS message
 * gives exactly what ldns_wire2pkt gives (response bit, rcode, answers,
 * answer bytes, EDNS), and hands every message ldns rejects back to ldns.
 *
 * Messages are built at random from the record types the walk covers and a
 * few it does not, with compressed names (pointers back to earlier names,
 * chains of pointers), EDNS, SOA in the authority section; then mutated
 * (cut short, bytes flipped, counts changed, record lengths off by a few).
 * Each message goes both ways. Messages of covered types that ldns accepts
 * must take the walk (or the test would pass with a walk that always gives up).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <ldns/ldns.h>

#include "dnssum.h"

#define MSG_MAX 4096
#define N_BUILT 20000
#define N_MUTANTS 8 /* per built message */

static uint64_t g_rng = 0x2545f4914f6cdd1dULL;

static uint32_t rnd(void)
{
	g_rng ^= g_rng << 13;
	g_rng ^= g_rng >> 7;
	g_rng ^= g_rng << 17;
	return (uint32_t)(g_rng >> 16);
}

struct msg {
	uint8_t b[MSG_MAX];
	size_t len;
	size_t names[64]; /* offsets of names written so far: pointer targets */
	int n_names;
	int uncovered; /* a record type the walk leaves to ldns */
};

static void put8(struct msg *m, unsigned int v)
{
	if (m->len < MSG_MAX)
		m->b[m->len++] = (uint8_t)v;
}

static void put16(struct msg *m, unsigned int v)
{
	put8(m, v >> 8);
	put8(m, v & 0xff);
}

/* A name: a few labels, then the root or a pointer to an earlier name. */
static void put_name(struct msg *m)
{
	int labels = (int)(rnd() % 4);

	if (m->n_names < 64)
		m->names[m->n_names++] = m->len;
	for (int i = 0; i < labels; i++) {
		unsigned int n = 1 + rnd() % (rnd() % 8 ? 12 : 63);

		put8(m, n);
		for (unsigned int k = 0; k < n; k++)
			put8(m, "abcdefghijklmnopqrstuvwxyz0123456789-"[rnd() % 37]);
	}
	if (m->n_names > 1 && rnd() % 3) {
		size_t to = m->names[rnd() % (unsigned int)(m->n_names - 1)];

		put16(m, 0xc000 | (unsigned int)to);
	} else {
		put8(m, 0);
	}
}

static void put_bytes(struct msg *m, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		put8(m, rnd());
}

/* rdata of type t; RDLENGTH patched in once written */
static void put_rr(struct msg *m, unsigned int t)
{
	size_t at;

	put_name(m);
	put16(m, t);
	put16(m, t == 41 ? 1232 : 1);
	put16(m, 0);
	put16(m, 300);
	at = m->len;
	put16(m, 0);
	switch (t) {
	case 1:
		put_bytes(m, 4);
		break;
	case 28:
		put_bytes(m, 16);
		break;
	case 2:
	case 5:
	case 12:
	case 39:
		put_name(m);
		break;
	case 15:
		put16(m, 10);
		put_name(m);
		break;
	case 33:
		put16(m, 1);
		put16(m, 2);
		put16(m, 53);
		put_name(m);
		break;
	case 6:
		put_name(m);
		put_name(m);
		put_bytes(m, 20);
		break;
	case 16:
		for (unsigned int s = rnd() % 3 + 1; s; s--) {
			unsigned int n = rnd() % 80;

			put8(m, n);
			put_bytes(m, n);
		}
		break;
	case 64:
	case 65:
		put16(m, 1);
		put_name(m);
		put_bytes(m, rnd() % 12);
		break;
	case 25:
		put_bytes(m, 4 + rnd() % 40);
		break;
	default: /* NULL, OPT, and types the walk does not know */
		put_bytes(m, rnd() % 60);
		break;
	}
	if (m->len <= MSG_MAX - 1) {
		m->b[at] = (uint8_t)((m->len - at - 2) >> 8);
		m->b[at + 1] = (uint8_t)(m->len - at - 2);
	}
}

static void build(struct msg *m)
{
	static const unsigned int covered[] = {
		1, 2, 5, 6, 10, 12, 15, 16, 25, 28, 33, 39, 64, 65
	};
	static const unsigned int others[] = { 46, 47, 99, 250, 257, 65399 };
	unsigned int an = rnd() % 5, ns = rnd() % 3 == 0, ar = rnd() % 3;

	memset(m, 0, sizeof(*m));
	put16(m, rnd());
	put8(m, (rnd() % 2) << 7 | 1);
	put8(m, rnd() % 8 ? 0 : rnd() % 6);
	put16(m, 1);
	put16(m, an);
	put16(m, ns);
	put16(m, ar);
	put_name(m);
	put16(m, covered[rnd() % 14]);
	put16(m, 1);
	for (unsigned int i = 0; i < an + ns + ar; i++) {
		unsigned int t;

		if (i >= an + ns && i == an + ns && rnd() % 2)
			t = 41; /* EDNS first in the additional section */
		else if (rnd() % 10)
			t = covered[rnd() % 14];
		else
			t = others[rnd() % 6];
		for (int k = 0; k < 6; k++)
			m->uncovered |= t == others[k];
		put_rr(m, t);
	}
}

/* What ldns says, in the walk's terms; -1 when it rejects the message. */
static int by_ldns(const uint8_t *w, size_t n, struct xf_dns_sum *s)
{
	ldns_pkt *p = NULL;
	ldns_rr_list *an;

	memset(s, 0, sizeof(*s));
	if (ldns_wire2pkt(&p, w, n) != LDNS_STATUS_OK)
		return -1;
	s->qr = ldns_pkt_qr(p);
	s->rcode = (uint8_t)ldns_pkt_get_rcode(p);
	s->ancount = ldns_pkt_ancount(p);
	s->edns = ldns_pkt_edns(p);
	an = ldns_pkt_answer(p);
	for (size_t i = 0; an && i < ldns_rr_list_rr_count(an); i++)
		for (size_t k = 0; k < ldns_rr_rd_count(ldns_rr_list_rr(an, i)); k++)
			s->answer_bytes +=
				(uint32_t)ldns_rdf_size(ldns_rr_rdf(ldns_rr_list_rr(an, i), k));
	ldns_pkt_free(p);
	return 0;
}

static unsigned long g_walked, g_fallback, g_rejected;

/* Both ways: a walk that answers must answer as ldns does. */
static int check(const uint8_t *w, size_t n)
{
	struct xf_dns_sum a, b;
	int walk = xf_dns_summary(w, n, &a), ref = by_ldns(w, n, &b);

	g_rejected += ref < 0;
	if (walk) {
		g_fallback++;
		return 1;
	}
	g_walked++;
	if (ref < 0)
		fail_msg("walk accepted a message ldns rejects (%zu bytes)", n);
	assert_int_equal(a.qr, b.qr);
	assert_int_equal(a.rcode, b.rcode);
	assert_int_equal(a.ancount, b.ancount);
	assert_int_equal(a.answer_bytes, b.answer_bytes);
	assert_int_equal(a.edns, b.edns);
	return 0;
}

static void test_built(void **state)
{
	static struct msg m;
	unsigned long covered = 0, edns = 0;

	(void)state;
	for (int i = 0; i < N_BUILT; i++) {
		struct xf_dns_sum s;

		build(&m);
		if (m.len >= MSG_MAX)
			continue;
		/* every well-formed message of covered types takes the walk */
		if (!m.uncovered && by_ldns(m.b, m.len, &s) == 0) {
			covered++;
			assert_int_equal(check(m.b, m.len), 0);
			xf_dns_summary(m.b, m.len, &s);
			edns += s.edns;
		} else {
			check(m.b, m.len);
		}
	}
	assert_true(covered > N_BUILT / 4);
	assert_true(edns > 100); /* the EDNS branch was exercised */
}

static void test_mutated(void **state)
{
	static struct msg m;
	uint8_t w[MSG_MAX];

	(void)state;
	g_walked = g_fallback = g_rejected = 0;
	for (int i = 0; i < N_BUILT; i++) {
		build(&m);
		if (m.len >= MSG_MAX)
			continue;
		for (int k = 0; k < N_MUTANTS; k++) {
			size_t n = m.len;

			memcpy(w, m.b, n);
			switch (rnd() % 4) {
			case 0: /* cut short */
				n = rnd() % (n + 1);
				break;
			case 1: /* bytes flipped */
				for (int f = 1 + (int)(rnd() % 3); f; f--)
					w[rnd() % n] ^= (uint8_t)(1u << (rnd() % 8));
				break;
			case 2: /* a count off by one */
				w[5 + 2 * (rnd() % 4)] += rnd() % 2 ? 1 : 255;
				break;
			default: /* a byte rewritten anywhere (lengths, pointers) */
				w[12 + rnd() % (n - 12)] = (uint8_t)rnd();
				break;
			}
			check(w, n);
		}
	}
	/* the mutants covered both sides */
	assert_true(g_walked > 1000);
	assert_true(g_rejected > 1000);
}

static void test_corners(void **state)
{
	/* a pointer to itself: ldns spins to its pointer limit and fails */
	static const uint8_t loop[] = { 0, 1, 0x81, 0x80, 0,  1, 0, 0, 0,
					0, 0, 0,    0xc0, 12, 0, 1, 0, 1 };
	/* an A record with RDLENGTH 5: ldns reads 4 bytes, then the next
	 * record from the fifth */
	static const uint8_t a5[] = { 0, 1,   0x81, 0x80, 0, 1, 0, 1,	 0,  0, 0, 0,
				      1, 'x', 0,    0,	  1, 0, 1, 0xc0, 12, 0, 1, 0,
				      1, 0,   0,    0,	  9, 0, 5, 1,	 2,  3, 4, 5 };
	/* header only, and shorter than a header */
	static const uint8_t hdr[] = { 0, 1, 0x81, 0x83, 0, 0, 0, 0, 0, 0, 0, 0 };
	struct xf_dns_sum s;

	(void)state;
	assert_int_equal(xf_dns_summary(loop, sizeof(loop), &s), 1);
	check(loop, sizeof(loop));
	check(a5, sizeof(a5));
	assert_int_equal(check(hdr, sizeof(hdr)), 0);
	assert_int_equal(xf_dns_summary(hdr, sizeof(hdr), &s), 0);
	assert_int_equal(s.rcode, 3);
	assert_int_equal(s.qr, 1);
	assert_int_equal(xf_dns_summary(hdr, 11, &s), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_built),
		cmocka_unit_test(test_mutated),
		cmocka_unit_test(test_corners),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
