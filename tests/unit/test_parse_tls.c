// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_parse_tls.c - bpf/parse_tls.h: server_name from hand-built ClientHello
 * records (fixtures.h), its position among other extensions, records that are
 * not ClientHellos, inconsistent lengths, every truncation point, and whole
 * TCP/443 frames through xf_frame_parse(). Records are parsed from a copy
 * that ends at an inaccessible page.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "frame.h"
#include "fixtures.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define REC_MAX 4096

/* offsets in a fx_tls_client_hello() record with a 32-byte session id */
#define EXTS_LEN_OFF 84 /* extensions block length */
#define EXT0_OFF 86 /* first extension: type, length, data */

struct tls_res {
	int rc;
	__u32 off, len;
};

static struct tls_res tls_parse(const __u8 *rec, __u32 len)
{
	struct tls_res r = { 0, 0, 0 };
	__u8 *g = fx_guard_copy(rec, len);
	struct xf_buf b = { .p = g, .len = len };

	r.rc = xf_parse_tls_sni(&b, &r.off, &r.len);
	fx_guard_free(g, len);
	return r;
}

static const __u8 groups[] = { 0, 4, 0, 0x1d, 0, 0x17 }; /* x25519, secp256r1 */
static const __u8 alpn[] = { 0, 12, 2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1' };

static __u16 sni(__u8 *buf, const char *name)
{
	return fx_tls_sni_data(buf, name);
}

/* ---- record builders: each returns the record length ---- */

static __u32 r_sni_only(__u8 *out)
{
	return fx_tls_hello_sni(out, "example.com");
}

static __u32 r_sni_first(__u8 *out)
{
	__u8 s[300];
	struct fx_tls_ext e[3] = {
		{ FX_TLS_EXT_SNI, sni(s, "first.example.com"), s },
		{ FX_TLS_EXT_GROUPS, sizeof(groups), groups },
		{ FX_TLS_EXT_ALPN, sizeof(alpn), alpn },
	};

	return fx_tls_client_hello(out, 1, 32, e, 3);
}

static __u32 r_sni_last(__u8 *out)
{
	__u8 s[300];
	struct fx_tls_ext e[4] = {
		{ FX_TLS_EXT_GROUPS, sizeof(groups), groups },
		{ FX_TLS_EXT_ALPN, sizeof(alpn), alpn },
		{ 0xff01, 1, NULL }, /* renegotiation_info */
		{ FX_TLS_EXT_SNI, sni(s, "last.example.org"), s },
	};

	return fx_tls_client_hello(out, 1, 32, e, 4);
}

static __u32 r_sni_middle_no_sid(__u8 *out)
{
	__u8 s[300];
	struct fx_tls_ext e[3] = {
		{ FX_TLS_EXT_GROUPS, sizeof(groups), groups },
		{ FX_TLS_EXT_SNI, sni(s, "mid.example.net"), s },
		{ FX_TLS_EXT_ALPN, sizeof(alpn), alpn },
	};

	return fx_tls_client_hello(out, 1, 0, e, 3);
}

/* n padding-type extensions, then server_name */
static __u32 sni_after(__u8 *out, int n)
{
	__u8 s[300];
	struct fx_tls_ext e[40];
	int i;

	for (i = 0; i < n; i++) {
		e[i].type = (__u16)(0x1000 + i);
		e[i].len = (__u16)(i % 3);
		e[i].data = NULL;
	}
	e[n].type = FX_TLS_EXT_SNI;
	e[n].len = sni(s, "deep.example.com");
	e[n].data = s;
	return fx_tls_client_hello(out, 1, 32, e, n + 1);
}

static __u32 r_sni_ext_31(__u8 *out)
{
	return sni_after(out, XF_TLS_EXT_MAX - 1); /* the last extension walked */
}

static __u32 r_sni_ext_33(__u8 *out)
{
	return sni_after(out, XF_TLS_EXT_MAX); /* past the walk limit */
}

static __u32 r_no_sni(__u8 *out)
{
	struct fx_tls_ext e[2] = {
		{ FX_TLS_EXT_GROUPS, sizeof(groups), groups },
		{ FX_TLS_EXT_ALPN, sizeof(alpn), alpn },
	};

	return fx_tls_client_hello(out, 1, 32, e, 2);
}

static __u32 r_no_ext_block(__u8 *out)
{
	return fx_tls_client_hello(out, 1, 32, NULL, -1);
}

static __u32 r_empty_ext_block(__u8 *out)
{
	return fx_tls_client_hello(out, 1, 32, NULL, 0);
}

static __u32 r_app_data(__u8 *out)
{
	__u32 n = r_sni_only(out);

	out[0] = 23;
	return n;
}

static __u32 r_alert(__u8 *out)
{
	__u32 n = r_sni_only(out);

	out[0] = 21;
	return n;
}

static __u32 r_sslv2_version(__u8 *out)
{
	__u32 n = r_sni_only(out);

	out[1] = 2;
	return n;
}

static __u32 r_server_hello(__u8 *out)
{
	__u8 s[300];
	struct fx_tls_ext e = { FX_TLS_EXT_SNI, sni(s, "example.com"), s };

	return fx_tls_client_hello(out, 2, 32, &e, 1);
}

static __u32 r_http(__u8 *out)
{
	return fx_http_get((char *)out, "example.com");
}

static __u32 r_ext_overrun(__u8 *out)
{
	__u32 n = r_sni_last(out);

	out[EXT0_OFF + 2] = 0;
	out[EXT0_OFF + 3] = 200; /* supported_groups claims 200 bytes */
	return n;
}

static __u32 r_ext_overrun_by_one(__u8 *out)
{
	__u32 n = r_sni_only(out);
	__u16 l = fx_get16(out, EXT0_OFF + 2);

	out[EXT0_OFF + 3] = (__u8)(l + 1); /* server_name one byte past the block */
	return n;
}

static __u32 r_ext_block_past_record(__u8 *out)
{
	__u32 n = r_no_sni(out);
	__u16 l = fx_get16(out, EXTS_LEN_OFF);

	out[EXTS_LEN_OFF + 1] = (__u8)(l + 10); /* block claims bytes the record lacks */
	return n;
}

static __u32 r_sni_ext_short(__u8 *out)
{
	static const __u8 d[] = { 0, 1, 0 };
	struct fx_tls_ext e = { FX_TLS_EXT_SNI, sizeof(d), d };

	return fx_tls_client_hello(out, 1, 32, &e, 1);
}

static __u32 r_sni_len0(__u8 *out)
{
	static const __u8 d[] = { 0, 3, 0, 0, 0 };
	struct fx_tls_ext e = { FX_TLS_EXT_SNI, sizeof(d), d };

	return fx_tls_client_hello(out, 1, 32, &e, 1);
}

static __u32 r_sni_len0_then_more(__u8 *out)
{
	static const __u8 d[] = { 0, 8, 0, 0, 0, 'x', 'y', 'z', 'w', 'v' };
	struct fx_tls_ext e = { FX_TLS_EXT_SNI, sizeof(d), d };

	return fx_tls_client_hello(out, 1, 32, &e, 1);
}

static __u32 r_sni_name_past_ext(__u8 *out)
{
	static const __u8 d[] = { 0, 6, 0, 0, 9, 'a', 'b', 'c', 'd' };
	struct fx_tls_ext e[2] = { { FX_TLS_EXT_SNI, sizeof(d), d },
				   { FX_TLS_EXT_GROUPS, sizeof(groups), groups } };

	return fx_tls_client_hello(out, 1, 32, e, 2);
}

static __u32 r_sni_255(__u8 *out)
{
	char name[256];

	memset(name, 'a', 255);
	name[63] = name[127] = name[191] = '.';
	name[255] = 0;
	return fx_tls_hello_sni(out, name);
}

static __u32 r_sni_256(__u8 *out)
{
	char name[257];

	memset(name, 'a', 256);
	name[63] = name[127] = name[191] = '.';
	name[256] = 0;
	return fx_tls_hello_sni(out, name);
}

static __u32 r_sni_type1(__u8 *out)
{
	__u32 n = r_sni_only(out);

	out[EXT0_OFF + 4 + 2] = 1; /* name_type other than host_name */
	return n;
}

static __u32 r_sid_past_record(__u8 *out)
{
	__u32 n = fx_tls_client_hello(out, 1, 32, NULL, -1);

	out[43] = 255;
	return n;
}

static __u32 r_cipher_past_record(__u8 *out)
{
	__u32 n = fx_tls_client_hello(out, 1, 0, NULL, -1);

	out[44] = 0x10; /* 4096 bytes of cipher suites */
	return n;
}

static __u32 r_compression_past_record(__u8 *out)
{
	__u32 n = fx_tls_client_hello(out, 1, 0, NULL, -1);

	out[n - 2] = 5; /* 5 compression methods, 1 present */
	return n;
}

static __u32 r_one_ext_byte(__u8 *out)
{
	__u32 n = fx_tls_client_hello(out, 1, 0, NULL, -1);

	out[n] = 0; /* half an extensions length */
	return n + 1;
}

static __u32 r_header_only(__u8 *out)
{
	r_sni_only(out);
	return 6;
}

static __u32 r_five_bytes(__u8 *out)
{
	r_sni_only(out);
	return 5;
}

static __u32 r_random_cut(__u8 *out)
{
	r_sni_only(out);
	return 30;
}

struct tls_case {
	const char *name;
	__u32 (*build)(__u8 *out);
	int rc;
	const char *sni; /* on XF_OK */
};

static const struct tls_case cases[] = {
	{ "sni_only", r_sni_only, XF_OK, "example.com" },
	{ "sni_first", r_sni_first, XF_OK, "first.example.com" },
	{ "sni_after_groups_alpn_reneg", r_sni_last, XF_OK, "last.example.org" },
	{ "sni_middle_no_session_id", r_sni_middle_no_sid, XF_OK, "mid.example.net" },
	{ "sni_32nd_extension", r_sni_ext_31, XF_OK, "deep.example.com" },
	{ "sni_33rd_extension_skip", r_sni_ext_33, XF_SKIP, NULL },
	{ "sni_255_bytes", r_sni_255, XF_OK, NULL },
	{ "no_sni_skip", r_no_sni, XF_SKIP, NULL },
	{ "no_extensions_skip", r_no_ext_block, XF_SKIP, NULL },
	{ "empty_extensions_skip", r_empty_ext_block, XF_SKIP, NULL },
	{ "application_data_skip", r_app_data, XF_SKIP, NULL },
	{ "alert_skip", r_alert, XF_SKIP, NULL },
	{ "record_version_2_skip", r_sslv2_version, XF_SKIP, NULL },
	{ "server_hello_skip", r_server_hello, XF_SKIP, NULL },
	{ "http_request_skip", r_http, XF_SKIP, NULL },
	{ "sni_name_type_1_skip", r_sni_type1, XF_SKIP, NULL },
	{ "five_bytes_skip", r_five_bytes, XF_SKIP, NULL },
	{ "ext_overruns_block", r_ext_overrun, -XF_PE_TLS_BAD, NULL },
	{ "ext_overruns_block_by_one", r_ext_overrun_by_one, -XF_PE_TLS_BAD, NULL },
	{ "sni_ext_shorter_than_5", r_sni_ext_short, -XF_PE_TLS_BAD, NULL },
	{ "sni_name_len_0", r_sni_len0, -XF_PE_SNI_BAD, NULL },
	{ "sni_name_len_0_with_bytes", r_sni_len0_then_more, -XF_PE_SNI_BAD, NULL },
	{ "sni_name_past_extension", r_sni_name_past_ext, -XF_PE_SNI_BAD, NULL },
	{ "sni_256_bytes", r_sni_256, -XF_PE_SNI_BAD, NULL },
	{ "ext_block_past_record", r_ext_block_past_record, -XF_PE_TLS_TRUNC, NULL },
	{ "session_id_past_record", r_sid_past_record, -XF_PE_TLS_TRUNC, NULL },
	{ "cipher_suites_past_record", r_cipher_past_record, -XF_PE_TLS_TRUNC, NULL },
	{ "compression_past_record", r_compression_past_record, -XF_PE_TLS_TRUNC, NULL },
	{ "half_extensions_length", r_one_ext_byte, -XF_PE_TLS_TRUNC, NULL },
	{ "handshake_header_only", r_header_only, -XF_PE_TLS_TRUNC, NULL },
	{ "random_cut", r_random_cut, -XF_PE_TLS_TRUNC, NULL },
};

static void run_case(void **state)
{
	const struct tls_case *c = *state;
	__u8 rec[REC_MAX];
	__u32 len = c->build(rec);
	struct tls_res r = tls_parse(rec, len);

	assert_int_equal(r.rc, c->rc);
	if (r.rc != XF_OK)
		return;
	assert_true(r.off + r.len <= len);
	assert_true(r.len > 0 && r.len <= 255);
	if (c->sni) {
		assert_int_equal(r.len, strlen(c->sni));
		assert_memory_equal(rec + r.off, c->sni, r.len);
	} else {
		assert_int_equal(r.len, 255);
	}
}

/* The exact offset of the name in a known layout. */
static void test_sni_offset(void **state)
{
	__u8 rec[REC_MAX];
	__u32 len = r_sni_only(rec);
	struct tls_res r = tls_parse(rec, len);

	(void)state;
	assert_int_equal(r.rc, XF_OK);
	assert_int_equal(r.off, EXT0_OFF + 4 + 5);
	assert_int_equal(r.len, 11);
	assert_int_equal(len, r.off + r.len);
}

/*
 * Every prefix of valid ClientHellos: before the name is complete, XF_SKIP
 * (too short to tell, or cut right where the extensions would start) or
 * TLS_TRUNC; never OK. Once the name is complete: OK at the same offsets.
 */
static void test_truncate_every_offset(void **state)
{
	static __u32 (*const recs[])(__u8 *) = { r_sni_only,	      r_sni_first,  r_sni_last,
						 r_sni_middle_no_sid, r_sni_ext_31, r_sni_255 };
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(recs); i++) {
		__u8 rec[REC_MAX];
		__u32 len = recs[i](rec), n;
		struct tls_res full = tls_parse(rec, len);

		assert_int_equal(full.rc, XF_OK);
		for (n = 0; n < len; n++) {
			struct tls_res r = tls_parse(rec, n);

			if (n < full.off + full.len) {
				if (r.rc != XF_SKIP && r.rc != -XF_PE_TLS_TRUNC)
					fail_msg("record %zu prefix %u: rc %d", i, n, r.rc);
				continue;
			}
			if (r.rc != XF_OK || r.off != full.off || r.len != full.len)
				fail_msg("record %zu prefix %u: rc %d off %u len %u", i, n, r.rc,
					 r.off, r.len);
		}
	}
}

/* ---- whole frames ---- */

static int frame_parse(const struct fx_frame *fr, __u32 len, const struct xf_config *cfg,
		       struct xf_frame *out)
{
	__u8 *g = fx_guard_copy(fr->d, len);
	int rc = xf_frame_parse(g, len, cfg, NULL, NULL, out);

	fx_guard_free(g, len);
	return rc;
}

static void test_frame_tcp443(void **state)
{
	struct xf_config cfg;
	struct fx_frame fr;
	struct xf_frame out;
	__u8 rec[REC_MAX];
	__u32 len = fx_tls_hello_sni(rec, "Mail.Example.com");

	(void)state;
	xf_config_defaults(&cfg);
	fx_tcp4_frame(&fr, 443, rec, len);
	assert_int_equal(frame_parse(&fr, fr.len, &cfg, &out), XF_OK);
	assert_int_equal(out.kind, XF_EV_SNI);
	assert_int_equal(out.err, 0);
	assert_int_equal(out.tcp, 0);
	assert_int_equal(out.name_off, 54 + EXT0_OFF + 4 + 5);
	assert_int_equal(out.name_len, 16);
	assert_memory_equal(fr.d + out.name_off, "Mail.Example.com", 16);
	assert_int_equal(out.feat.labels, 3);
	assert_int_equal(out.feat.name_len, 16);
	assert_int_equal(out.feat.longest, 7);
	assert_int_equal(out.feat.upper, 2);
	assert_int_equal(out.feat.lower, 12);
	assert_int_equal(out.feat.rd_labels, 2);
	assert_int_equal(out.feat.rd_off, 5);
	assert_int_equal(out.feat.rd_hash, xf_name_hash_text("example.com"));
	assert_int_equal(out.feat.name_hash, xf_name_hash_text("mail.example.com"));
	assert_int_equal(out.feat.qtype, 0);

	fx_tcp6_frame(&fr, 443, rec, len);
	assert_int_equal(frame_parse(&fr, fr.len, &cfg, &out), XF_OK);
	assert_int_equal(out.kind, XF_EV_SNI);
	assert_int_equal(out.pkt.ipv6, 1);
	assert_int_equal(out.name_off, 74 + EXT0_OFF + 4 + 5);
}

/* only TCP to a configured TLS port is looked at */
static void test_frame_ports(void **state)
{
	struct xf_config cfg;
	struct fx_frame fr;
	struct xf_frame out;
	__u8 rec[REC_MAX];
	__u32 len = fx_tls_hello_sni(rec, "example.com");

	(void)state;
	xf_config_defaults(&cfg);
	fx_tcp4_frame(&fr, 8443, rec, len);
	assert_int_equal(frame_parse(&fr, fr.len, &cfg, &out), XF_SKIP);
	cfg.tls_ports[1] = 8443;
	assert_int_equal(frame_parse(&fr, fr.len, &cfg, &out), XF_OK);
	assert_int_equal(out.kind, XF_EV_SNI);

	xf_config_defaults(&cfg);
	fx_udp4_frame(&fr, 443, rec, len); /* not over UDP */
	assert_int_equal(frame_parse(&fr, fr.len, &cfg, &out), XF_SKIP);
	assert_int_equal(out.kind, 0);
}

/* skip and error results through the frame parser */
static void test_frame_skip_and_error(void **state)
{
	struct xf_config cfg;
	struct fx_frame fr;
	struct xf_frame out;
	__u8 rec[REC_MAX];
	__u32 len;

	(void)state;
	xf_config_defaults(&cfg);
	len = r_no_sni(rec);
	fx_tcp4_frame(&fr, 443, rec, len);
	assert_int_equal(frame_parse(&fr, fr.len, &cfg, &out), XF_SKIP);
	assert_int_equal(out.err, 0);
	assert_int_equal(out.kind, 0);

	len = r_ext_overrun(rec);
	fx_tcp4_frame(&fr, 443, rec, len);
	assert_int_equal(frame_parse(&fr, fr.len, &cfg, &out), -XF_PE_TLS_BAD);
	assert_int_equal(out.err, -XF_PE_TLS_BAD);
	assert_int_equal(out.kind, 0);

	len = r_sni_len0(rec);
	fx_tcp4_frame(&fr, 443, rec, len);
	assert_int_equal(frame_parse(&fr, fr.len, &cfg, &out), -XF_PE_SNI_BAD);
	assert_int_equal(out.err, -XF_PE_SNI_BAD);
}

/* every prefix of a TLS frame: never OK until the name is complete */
static void test_frame_truncate_every_offset(void **state)
{
	struct xf_config cfg;
	struct fx_frame fr;
	struct xf_frame full, out;
	__u8 rec[REC_MAX];
	__u32 len = r_sni_first(rec), n;

	(void)state;
	xf_config_defaults(&cfg);
	fx_tcp4_frame(&fr, 443, rec, len);
	assert_int_equal(frame_parse(&fr, fr.len, &cfg, &full), XF_OK);
	for (n = 0; n < fr.len; n++) {
		int rc = frame_parse(&fr, n, &cfg, &out);

		if (n < full.name_off + full.name_len) {
			if (rc == XF_OK)
				fail_msg("prefix %u: OK before the name is complete", n);
			continue;
		}
		assert_int_equal(rc, XF_OK);
		assert_int_equal(out.name_off, full.name_off);
		assert_int_equal(out.name_len, full.name_len);
		assert_memory_equal(&out.feat, &full.feat, sizeof(out.feat));
	}
}

int main(void)
{
	struct CMUnitTest t[ARRAY_SIZE(cases) + 8];
	size_t i, n = 0;

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		t[n++] = (struct CMUnitTest){ cases[i].name, run_case, NULL, NULL,
					      (void *)&cases[i] };
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_sni_offset);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_truncate_every_offset);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_frame_tcp443);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_frame_ports);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_frame_skip_and_error);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_frame_truncate_every_offset);
	return _cmocka_run_group_tests("parse_tls", t, n, NULL, NULL);
}
