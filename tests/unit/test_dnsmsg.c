// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_dnsmsg.c - sensor/dnsmsg.c on real responses: the corpus captures
 * (pcaps/, made from unbound, dig and iodine) give NOERROR with A and CNAME
 * answers, NXDOMAIN, iodine's NULL and TXT answers with EDNS, and a
 * truncated (TC) response; the same messages cut as a response event cuts
 * them (kernel.msg_bytes) parse partially; EDNS with the DO bit and an
 * extended rcode is built with ldns's own encoder (no capture in the
 * corpus has DO). Cut, corrupted and random bytes must come back as
 * -EBADMSG or partial, never crash. Run from the repository root (make
 * test); XF_SRC_ROOT overrides. Fails, never skips, without the captures.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <ldns/ldns.h>
/* pcap's own struct bpf_insn clashes with linux/bpf.h: take only the DLTs */
#define PCAP_DONT_INCLUDE_PCAP_BPF_H
#include <pcap/dlt.h>
#include <pcap/pcap.h>

#include "frame.h"
#include "dnsmsg.h"

#define MSG_MAX 4096

/* A response picked from a capture by its raw header and question type. */
struct pick {
	const char *pcap;
	int rcode; /* -1: any */
	int min_an; /* at least this many answers */
	int qtype; /* of the question; 0: any */
	size_t min_len, max_len; /* message length bounds; 0: none */
	int tc; /* -1: any */
};

struct msg {
	uint8_t b[MSG_MAX];
	size_t len;
};

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The question's qtype, read by hand (not by the code under test); 0 if none. */
static int raw_qtype(const uint8_t *m, size_t len)
{
	size_t i = 12;

	if (len < 12 || rd16(m + 4) == 0)
		return 0;
	while (i < len && m[i] && (m[i] & 0xc0) == 0)
		i += m[i] + 1u;
	if (i + 3 > len || m[i])
		return 0;
	return rd16(m + i + 1);
}

static int matches(const struct pick *p, const uint8_t *m, size_t len)
{
	if (len < 12 || !(m[2] & 0x80))
		return 0;
	if (p->rcode >= 0 && (m[3] & 0xf) != p->rcode)
		return 0;
	if (rd16(m + 6) < p->min_an)
		return 0;
	if (p->qtype && raw_qtype(m, len) != p->qtype)
		return 0;
	if ((p->min_len && len < p->min_len) || (p->max_len && len > p->max_len))
		return 0;
	return p->tc < 0 || !!(m[2] & 2) == p->tc;
}

/* The first UDP DNS response of the capture that matches p. */
static void pick(const struct pick *p, struct msg *out)
{
	char path[512], err[PCAP_ERRBUF_SIZE];
	const char *root = getenv("XF_SRC_ROOT") ?: ".";
	struct pcap_pkthdr *h;
	const uint8_t *d;
	struct xf_config cfg;
	pcap_t *pc;

	xf_config_defaults(&cfg);
	snprintf(path, sizeof(path), "%s/pcaps/%s", root, p->pcap);
	pc = pcap_open_offline(path, err);
	if (!pc)
		fail_msg("cannot open %s: %s (run from the repository root)", path, err);
	assert_int_equal(pcap_datalink(pc), DLT_EN10MB);
	while (pcap_next_ex(pc, &h, &d) == 1) {
		struct xf_frame f;

		if (xf_frame_parse(d, h->caplen, &cfg, NULL, NULL, &f) != 0 ||
		    f.kind != XF_EV_DNS_RESPONSE || f.tcp || h->caplen != h->len)
			continue;
		if (f.pkt.payload_off + f.pkt.payload_len > h->caplen ||
		    f.pkt.payload_len > MSG_MAX)
			continue;
		if (!matches(p, d + f.pkt.payload_off, f.pkt.payload_len))
			continue;
		memcpy(out->b, d + f.pkt.payload_off, f.pkt.payload_len);
		out->len = f.pkt.payload_len;
		pcap_close(pc);
		return;
	}
	pcap_close(pc);
	fail_msg("%s: no response with rcode %d, >= %d answers, qtype %d", p->pcap, p->rcode,
		 p->min_an, p->qtype);
}

static void test_noerror_a(void **state)
{
	static const struct pick p = { "benign-web.pcap", 0, 1, 1, 0, 0, -1 };
	struct xf_dnsmsg m;
	struct msg r;

	(void)state;
	pick(&p, &r);
	assert_int_equal(xf_dnsmsg_parse(r.b, r.len, 0, &m), 0);
	assert_int_equal(m.qr, 1);
	assert_int_equal(m.rcode, 0);
	assert_int_equal(m.qtype, 1);
	assert_int_equal(m.id, rd16(r.b));
	assert_int_equal(m.ancount, rd16(r.b + 6));
	assert_int_equal(m.answers, m.ancount);
	assert_true(m.answer_qt & (1u << XF_QT_A));
	assert_int_equal(m.partial, 0);
	assert_int_equal(m.wire_len, r.len);
	assert_int_equal(m.parsed_len, r.len);
	/* A answers carry 4 bytes each; a CNAME in front carries a name */
	if (m.answer_qt == (1u << XF_QT_A))
		assert_int_equal(m.answer_bytes, 4 * m.answers);
	else
		assert_true(m.answer_bytes > 4 * m.answers);
	assert_int_equal(m.down_bytes, m.answer_bytes);
	assert_string_equal(xf_dnsmsg_rcode_name(m.rcode), "NOERROR");
}

static void test_noerror_cname(void **state)
{
	/* www.facebook-hardware.com CNAME facebook-hardware.com, then A */
	static const struct pick p = { "benign-web.pcap", 0, 2, 1, 0, 0, -1 };
	struct xf_dnsmsg m;
	struct msg r;

	(void)state;
	pick(&p, &r);
	assert_int_equal(xf_dnsmsg_parse(r.b, r.len, 0, &m), 0);
	assert_true(m.answers >= 2);
	assert_true(m.answer_qt & (1u << XF_QT_CNAME));
	assert_true(m.n_an_types >= 2);
	assert_int_equal(m.an_types[0], LDNS_RR_TYPE_CNAME);
}

static void test_nxdomain(void **state)
{
	static const struct pick p = { "benign-web.pcap", 3, 0, 0, 0, 0, -1 };
	struct xf_dnsmsg m;
	struct msg r;

	(void)state;
	pick(&p, &r);
	assert_int_equal(xf_dnsmsg_parse(r.b, r.len, 0, &m), 0);
	assert_int_equal(m.rcode, LDNS_RCODE_NXDOMAIN);
	assert_int_equal(m.answers, 0);
	assert_int_equal(m.answer_bytes, 0);
	assert_int_equal(m.qdcount, 1);
	assert_string_equal(xf_dnsmsg_rcode_name(m.rcode), "NXDOMAIN");
}

static void test_iodine_null_edns(void **state)
{
	/* a downstream data packet: one NULL answer of hundreds of bytes, and OPT */
	static const struct pick p = { "iodine-null.pcap", 0, 1, 10, 1000, 0, -1 };
	struct xf_dnsmsg m, c;
	struct msg r;

	(void)state;
	pick(&p, &r);
	assert_int_equal(xf_dnsmsg_parse(r.b, r.len, 0, &m), 0);
	assert_int_equal(m.qtype, LDNS_RR_TYPE_NULL);
	assert_int_equal(m.answers, 1);
	assert_int_equal(m.answer_qt, 1u << XF_QT_NULL);
	assert_int_equal(m.an_types[0], LDNS_RR_TYPE_NULL);
	assert_true(m.answer_bytes > 500 && m.answer_bytes < r.len);
	assert_int_equal(m.edns, 1);
	assert_true(m.edns_udp >= 512);

	/* the same message cut as a 512-byte response event cuts it */
	assert_int_equal(xf_dnsmsg_parse(r.b, 512, r.len, &c), XF_DNSMSG_PARTIAL);
	assert_int_equal(c.partial, 1);
	assert_int_equal(c.wire_len, r.len);
	assert_int_equal(c.qtype, LDNS_RR_TYPE_NULL);
	assert_int_equal(c.ancount, 1);
	assert_int_equal(c.answers, 0); /* the one answer does not fit */
	assert_true(c.parsed_len < 512);
	/* the estimate bounds the true answer bytes from above, within the RR overhead + OPT */
	assert_true(c.down_bytes >= m.answer_bytes);
	assert_true(c.down_bytes <= m.answer_bytes + 64);
	assert_int_equal(c.edns, 0); /* OPT is past the cut */
}

static void test_iodine_txt(void **state)
{
	static const struct pick p = { "iodine-txt.pcap", 0, 1, 16, 1000, 0, -1 };
	struct xf_dnsmsg m;
	struct msg r;

	(void)state;
	pick(&p, &r);
	assert_int_equal(xf_dnsmsg_parse(r.b, r.len, 0, &m), 0);
	assert_int_equal(m.qtype, LDNS_RR_TYPE_TXT);
	assert_true(m.answer_qt & (1u << XF_QT_TXT));
	assert_true(m.answer_bytes > 500);
	/* cut after the whole message: every record fits, nothing estimated */
	assert_int_equal(xf_dnsmsg_parse(r.b, r.len, r.len + 100, &m), XF_DNSMSG_PARTIAL);
	assert_int_equal(m.down_bytes, m.answer_bytes);
}

static void test_truncated_tc(void **state)
{
	static const struct pick p = { "iodine-private.pcap", -1, 0, 0, 0, 0, 1 };
	struct xf_dnsmsg m;
	struct msg r;
	int rc;

	(void)state;
	pick(&p, &r);
	rc = xf_dnsmsg_parse(r.b, r.len, 0, &m);
	assert_int_equal(rc, 0);
	assert_int_equal(m.tc, 1);
	assert_int_equal(m.qr, 1);
}

/* EDNS with DO and an extended rcode, written by ldns's encoder. */
static void test_edns_do(void **state)
{
	ldns_pkt *p = ldns_pkt_query_new(ldns_dname_new_frm_str("example.com."),
					 LDNS_RR_TYPE_DNSKEY, LDNS_RR_CLASS_IN, LDNS_RD);
	struct xf_dnsmsg m;
	uint8_t *wire = NULL;
	size_t n = 0;

	(void)state;
	assert_non_null(p);
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_rcode(p, 0);
	ldns_pkt_set_edns_udp_size(p, 1232);
	ldns_pkt_set_edns_do(p, true);
	ldns_pkt_set_edns_extended_rcode(p, 1); /* BADVERS = 16 */
	assert_int_equal(ldns_pkt2wire(&wire, p, &n), LDNS_STATUS_OK);
	assert_int_equal(xf_dnsmsg_parse(wire, n, 0, &m), 0);
	assert_int_equal(m.edns, 1);
	assert_int_equal(m.edns_do, 1);
	assert_int_equal(m.edns_udp, 1232);
	assert_int_equal(m.rcode, 16);
	assert_string_equal(xf_dnsmsg_rcode_name(m.rcode), "BADVERS");
	assert_int_equal(m.qtype, LDNS_RR_TYPE_DNSKEY);
	/* the partial reader decodes the same OPT record by hand */
	assert_int_equal(xf_dnsmsg_parse(wire, n, n + 1, &m), XF_DNSMSG_PARTIAL);
	assert_int_equal(m.edns, 1);
	assert_int_equal(m.edns_do, 1);
	assert_int_equal(m.edns_udp, 1232);
	assert_int_equal(m.rcode, 16);
	free(wire);
	ldns_pkt_free(p);
}

/* Bad bytes: every cut of a real message, lying counts, a pointer loop, noise. */
static void test_bad_bytes(void **state)
{
	static const struct pick p = { "benign-web.pcap", 0, 2, 1, 0, 0, -1 };
	static const uint8_t loop[] = { 0x12, 0x34, 0x81, 0x80, 0,  1, 0, 0, 0,
					0,    0,    0,	  0xc0, 12, 0, 1, 0, 1 };
	uint64_t rng = 0x9e3779b97f4a7c15ULL;
	struct xf_dnsmsg m;
	struct msg r;
	uint8_t buf[600];
	unsigned bad = 0, ok = 0;

	(void)state;
	pick(&p, &r);
	assert_int_equal(xf_dnsmsg_parse(NULL, 0, 0, &m), -EBADMSG);
	assert_int_equal(xf_dnsmsg_parse(NULL, 5, 0, &m), -EINVAL);
	assert_int_equal(xf_dnsmsg_parse(r.b, r.len, 0, NULL), -EINVAL);
	for (size_t n = 0; n < 12; n++)
		assert_int_equal(xf_dnsmsg_parse(r.b, n, 0, &m), -EBADMSG);
	/* a message that claims to be whole but ends early is not a message */
	for (size_t n = 12; n < r.len; n++) {
		assert_int_equal(xf_dnsmsg_parse(r.b, n, 0, &m), -EBADMSG);
		/* the same cut with the true length is partial: header intact */
		assert_int_equal(xf_dnsmsg_parse(r.b, n, r.len, &m), XF_DNSMSG_PARTIAL);
		assert_int_equal(m.ancount, rd16(r.b + 6));
		assert_true(m.answers <= m.ancount);
	}
	/* more answers than there are */
	memcpy(buf, r.b, r.len);
	buf[7] += 3;
	assert_int_equal(xf_dnsmsg_parse(buf, r.len, 0, &m), -EBADMSG);
	assert_int_equal(m.ancount, rd16(r.b + 6) + 3); /* the header is still reported */
	assert_int_equal(xf_dnsmsg_parse(loop, sizeof(loop), 0, &m), -EBADMSG);
	/* noise, and real bytes with flipped bits: an answer or an error, no crash */
	for (int i = 0; i < 20000; i++) {
		size_t n;
		int rc;

		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		n = rng % sizeof(buf);
		if (i & 1) {
			for (size_t k = 0; k < n; k++)
				buf[k] = (uint8_t)(rng >> (k % 56));
		} else {
			n = r.len;
			memcpy(buf, r.b, n);
			buf[rng % n] ^= (uint8_t)(1u << (rng >> 8) % 8);
			buf[(rng >> 16) % n] ^= (uint8_t)(rng >> 24);
		}
		rc = xf_dnsmsg_parse(buf, n, (i % 3) ? 0 : n + 40, &m);
		assert_true(rc == 0 || rc == XF_DNSMSG_PARTIAL || rc == -EBADMSG);
		assert_true(m.answers <= m.ancount);
		assert_true(m.parsed_len <= n);
		bad += rc == -EBADMSG;
		ok += rc == 0;
	}
	/* random bytes are rarely a message, and flipped bits often still are */
	assert_true(bad > 5000);
	assert_true(ok > 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_noerror_a),  cmocka_unit_test(test_noerror_cname),
		cmocka_unit_test(test_nxdomain),   cmocka_unit_test(test_iodine_null_edns),
		cmocka_unit_test(test_iodine_txt), cmocka_unit_test(test_truncated_tc),
		cmocka_unit_test(test_edns_do),	   cmocka_unit_test(test_bad_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
