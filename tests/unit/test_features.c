// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_features.c - bpf/parse_name.h and the hashes of parse_common.h: label
 * shape, registered domain with and without a known public suffix, name
 * hashes, character classes, encoded-label classes, fixed-point entropy
 * against libm, and every entry of the c*log2(c) table. Each hand-checked
 * name is also run through a DNS frame and a TLS ClientHello frame, which
 * must give the very same features as the text walker.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <cmocka.h>

#include "frame.h"
#include "fixtures.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the suffix set: a NULL-terminated list of dotted public suffixes ---- */

static const char *const sfx_co_uk[] = { "co.uk", NULL };
static int sfx_calls;

static int sfx_lookup(const void *set, __u64 hash)
{
	const char *const *s;

	sfx_calls++;
	for (s = set; s && *s; s++)
		if (xf_name_hash_text(*s) == hash)
			return 1;
	return 0;
}

/*
 * Features of a dotted text name (len bytes: may hold NULs), finished the
 * way sensor/frame.c does: the suffix is looked up only for 3+ labels.
 */
static struct xf_name_feat text_feat_n(const char *name, __u32 len, __u32 enc_min,
				       const char *const *set)
{
	struct xf_name_feat f;
	struct xf_name_state s;
	__u8 hist[256] = { 0 };
	__u8 *g = fx_guard_copy(name, len);
	struct xf_buf b = { .p = g, .len = len };
	struct xf_walk w = { .b = &b, .s = &s, .f = &f, .hist = hist };
	int known = 0;

	xf_name_init(&s, &f, enc_min);
	xf_name_walk_text(&w, 0, len);
	if (f.labels >= 3 && set)
		known = sfx_lookup(set, xf_name_suffix2(&s));
	xf_name_finish(&s, &f, known);
	fx_guard_free(g, len);
	return f;
}

static struct xf_name_feat text_feat(const char *name, __u32 enc_min, const char *const *set)
{
	return text_feat_n(name, (__u32)strlen(name), enc_min, set);
}

/* The same name carried by a frame through xf_frame_parse (DNS or TLS SNI). */
static struct xf_name_feat frame_feat(const char *name, __u32 enc_min, const char *const *set,
				      int tls)
{
	struct fx_frame fr;
	struct xf_frame out;
	struct xf_config cfg;
	__u8 pl[1024];
	__u32 n;

	xf_config_defaults(&cfg);
	cfg.enc_label_min = enc_min;
	if (tls) {
		n = fx_tls_hello_sni(pl, name);
		fx_tcp4_frame(&fr, 443, pl, n);
	} else {
		n = fx_dns_query(pl, 1, 0x0100, name, 1, 1);
		fx_udp4_frame(&fr, 53, pl, n);
	}
	assert_int_equal(xf_frame_parse(fr.d, fr.len, &cfg, sfx_lookup, set, &out), XF_OK);
	assert_int_equal(out.kind, tls ? XF_EV_SNI : XF_EV_DNS_QUERY);
	return out.feat;
}

/* ---- hand-checked names ---- */

struct feat_case {
	const char *name;
	const char *qname;
	int sfx; /* the co.uk suffix is known */
	__u32 enc_min;
	struct {
		__u8 labels, longest;
		__u16 name_len;
	} shape;
	struct {
		__u8 labels, off;
		const char *text; /* the registered domain, for its hash */
	} rd;
	struct {
		__u8 upper, lower, digit, hyphen, b64sym, other, binary;
	} ch;
	struct {
		__u8 hex, b32, b64, longest;
	} enc;
};

/* a data table, laid out by hand */
/* clang-format off */
static const struct feat_case feat_cases[] = {
	{ "www_example_com", "www.example.com", 0, 16,
	  { 3, 7, 15 }, { 2, 4, "example.com" }, { 0, 13, 0, 0, 0, 0, 0 }, { 0, 0, 0, 0 } },
	{ "psl_known_5_labels", "a.b.example.co.uk", 1, 16,
	  { 5, 7, 17 }, { 3, 4, "example.co.uk" }, { 0, 13, 0, 0, 0, 0, 0 }, { 0, 0, 0, 0 } },
	{ "psl_unknown_5_labels", "a.b.example.co.uk", 0, 16,
	  { 5, 7, 17 }, { 2, 12, "co.uk" }, { 0, 13, 0, 0, 0, 0, 0 }, { 0, 0, 0, 0 } },
	{ "psl_known_3_labels", "example.co.uk", 1, 16,
	  { 3, 7, 13 }, { 3, 0, "example.co.uk" }, { 0, 11, 0, 0, 0, 0, 0 }, { 0, 0, 0, 0 } },
	{ "psl_suffix_itself", "co.uk", 1, 16,
	  { 2, 2, 5 }, { 2, 0, "co.uk" }, { 0, 4, 0, 0, 0, 0, 0 }, { 0, 0, 0, 0 } },
	{ "psl_known_bbc", "www.bbc.co.uk", 1, 16,
	  { 4, 3, 13 }, { 3, 4, "bbc.co.uk" }, { 0, 10, 0, 0, 0, 0, 0 }, { 0, 0, 0, 0 } },
	{ "psl_unknown_bbc", "www.bbc.co.uk", 0, 16,
	  { 4, 3, 13 }, { 2, 8, "co.uk" }, { 0, 10, 0, 0, 0, 0, 0 }, { 0, 0, 0, 0 } },
	{ "psl_other_suffix", "www.example.com", 1, 16,
	  { 3, 7, 15 }, { 2, 4, "example.com" }, { 0, 13, 0, 0, 0, 0, 0 }, { 0, 0, 0, 0 } },
	{ "single_label", "localhost", 1, 16,
	  { 1, 9, 9 }, { 1, 0, "localhost" }, { 0, 9, 0, 0, 0, 0, 0 }, { 0, 0, 0, 0 } },
	{ "mixed_case_digits_hyphen", "Mail-01.Example.COM", 0, 16,
	  { 3, 7, 19 }, { 2, 8, "example.com" }, { 5, 9, 2, 1, 0, 0, 0 }, { 0, 0, 0, 0 } },
	{ "symbols_and_other", "a_b+c/d=e.x!y~z", 0, 16,
	  { 2, 9, 15 }, { 2, 0, "a_b+c/d=e.x!y~z" }, { 0, 8, 0, 0, 4, 2, 0 }, { 0, 0, 0, 0 } },
	{ "binary_bytes", "ab\x01\x7f\x80\xff cd.com", 0, 16,
	  { 2, 9, 13 }, { 2, 0, "ab\x01\x7f\x80\xff cd.com" }, { 0, 7, 0, 0, 0, 0, 5 },
	  { 0, 0, 0, 0 } },
	{ "hex_label_32", "0123456789abcdef0123456789abcdef.example.com", 0, 16,
	  { 3, 32, 44 }, { 2, 33, "example.com" }, { 0, 22, 20, 0, 0, 0, 0 }, { 1, 0, 0, 32 } },
	{ "b32_label_lower", "nbswy3dpeb3w64tmmq.t.example.com", 0, 16,
	  { 4, 18, 32 }, { 2, 21, "example.com" }, { 0, 25, 4, 0, 0, 0, 0 }, { 0, 1, 0, 18 } },
	{ "b32_label_upper", "NBSWY3DPEB3W64TMMQ.example.com", 0, 16,
	  { 3, 18, 30 }, { 2, 19, "example.com" }, { 14, 10, 4, 0, 0, 0, 0 }, { 0, 1, 0, 18 } },
	{ "b32_mixed_case_is_b64", "NBSWY3dpeb3w64tmmq.example.com", 0, 16,
	  { 3, 18, 30 }, { 2, 19, "example.com" }, { 5, 19, 4, 0, 0, 0, 0 }, { 0, 0, 1, 18 } },
	{ "b64_padding", "SGVsbG8gV29ybGQ=.example.com", 0, 16,
	  { 3, 16, 28 }, { 2, 17, "example.com" }, { 7, 15, 3, 0, 1, 0, 0 }, { 0, 0, 1, 16 } },
	{ "b64_plus_slash", "aGVsbG8/d29ybGQ+.example.com", 0, 16,
	  { 3, 16, 28 }, { 2, 17, "example.com" }, { 5, 16, 3, 0, 2, 0, 0 }, { 0, 0, 1, 16 } },
	{ "b64url", "aGVsbG8_d29ybGQ-.example.com", 0, 16,
	  { 3, 16, 28 }, { 2, 17, "example.com" }, { 5, 16, 3, 1, 1, 0, 0 }, { 0, 0, 1, 16 } },
	{ "b64_mixed_case_digits", "SGVsbG8gV29ybGQx.example.com", 0, 16,
	  { 3, 16, 28 }, { 2, 17, "example.com" }, { 7, 16, 3, 0, 0, 0, 0 }, { 0, 0, 1, 16 } },
	{ "binary_label_20",
	  "\x80\x81\x82\x83\x84\x85\x86\x87\x88\x89\x8a\x8b\x8c\x8d\x8e\x8f\x90\x91\x92\x93"
	  ".example.com",
	  0, 16, { 3, 20, 32 }, { 2, 21, "example.com" }, { 0, 10, 0, 0, 0, 0, 20 },
	  { 0, 0, 0, 20 } },
	{ "long_word_not_encoded", "thisisaverylongmarketingword.com", 0, 16,
	  { 2, 28, 32 }, { 2, 0, "thisisaverylongmarketingword.com" }, { 0, 31, 0, 0, 0, 0, 0 },
	  { 0, 0, 0, 0 } },
	{ "camel_case_not_encoded", "ThisIsCamelCaseWord.example.com", 0, 16,
	  { 3, 19, 31 }, { 2, 20, "example.com" }, { 5, 24, 0, 0, 0, 0, 0 }, { 0, 0, 0, 0 } },
	{ "upper_digits_89_not_encoded", "ABCDEFGHIJKLMNOP89.example.com", 0, 16,
	  { 3, 18, 30 }, { 2, 19, "example.com" }, { 16, 10, 2, 0, 0, 0, 0 }, { 0, 0, 0, 0 } },
	{ "hex_15_below_min", "0123456789abcde.example.com", 0, 16,
	  { 3, 15, 27 }, { 2, 16, "example.com" }, { 0, 15, 10, 0, 0, 0, 0 }, { 0, 0, 0, 0 } },
	{ "hex_15_at_min_15", "0123456789abcde.example.com", 0, 15,
	  { 3, 15, 27 }, { 2, 16, "example.com" }, { 0, 15, 10, 0, 0, 0, 0 }, { 1, 0, 0, 15 } },
	{ "b64_15_below_min", "SGVsbG8gV29ybG=.example.com", 0, 16,
	  { 3, 15, 27 }, { 2, 16, "example.com" }, { 6, 15, 3, 0, 1, 0, 0 }, { 0, 0, 0, 0 } },
	{ "binary_15_below_min",
	  "\x80\x81\x82\x83\x84\x85\x86\x87\x88\x89\x8a\x8b\x8c\x8d\x8e.example.com", 0, 16,
	  { 3, 15, 27 }, { 2, 16, "example.com" }, { 0, 10, 0, 0, 0, 0, 15 }, { 0, 0, 0, 0 } },
	{ "digits_20_are_hex", "12345678901234567890.example.com", 0, 16,
	  { 3, 20, 32 }, { 2, 21, "example.com" }, { 0, 10, 20, 0, 0, 0, 0 }, { 1, 0, 0, 20 } },
	{ "two_encoded_labels", "0123456789abcdef0123.nbswy3dpeb3w64tmmqqqqq.example.com", 0, 16,
	  { 4, 22, 55 }, { 2, 44, "example.com" }, { 0, 34, 18, 0, 0, 0, 0 }, { 1, 1, 0, 22 } },
	{ "short_labels_min_4", "cafe.beef.io", 0, 4,
	  { 3, 4, 12 }, { 2, 5, "beef.io" }, { 0, 10, 0, 0, 0, 0, 0 }, { 2, 0, 0, 4 } },
	{ "empty_labels_trailing_dot", "example..com.", 0, 16,
	  { 2, 7, 11 }, { 2, 0, "example.com" }, { 0, 10, 0, 0, 0, 0, 0 }, { 0, 0, 0, 0 } },
};
/* clang-format on */

static void check_feat(const struct feat_case *c, const struct xf_name_feat *f)
{
	assert_int_equal(f->labels, c->shape.labels);
	assert_int_equal(f->longest, c->shape.longest);
	assert_int_equal(f->name_len, c->shape.name_len);
	assert_int_equal(f->rd_labels, c->rd.labels);
	assert_int_equal(f->rd_off, c->rd.off);
	assert_int_equal(f->rd_hash, xf_name_hash_text(c->rd.text));
	assert_int_equal(f->name_hash, xf_name_hash_text(c->qname));
	assert_int_equal(f->upper, c->ch.upper);
	assert_int_equal(f->lower, c->ch.lower);
	assert_int_equal(f->digit, c->ch.digit);
	assert_int_equal(f->hyphen, c->ch.hyphen);
	assert_int_equal(f->b64sym, c->ch.b64sym);
	assert_int_equal(f->other, c->ch.other);
	assert_int_equal(f->binary, c->ch.binary);
	assert_int_equal(f->hex_labels, c->enc.hex);
	assert_int_equal(f->b32_labels, c->enc.b32);
	assert_int_equal(f->b64_labels, c->enc.b64);
	assert_int_equal(f->enc_longest, c->enc.longest);
}

/* every feature but the DNS header fields */
static void assert_same_name_feat(const struct xf_name_feat *a, const struct xf_name_feat *b)
{
	struct xf_name_feat x = *a, y = *b;

	x.qtype = y.qtype = 0;
	x.qclass = y.qclass = 0;
	x.dns_id = y.dns_id = 0;
	x.dns_flags = y.dns_flags = 0;
	assert_memory_equal(&x, &y, sizeof(x));
}

static void run_feat_case(void **state)
{
	const struct feat_case *c = *state;
	const char *const *set = c->sfx ? sfx_co_uk : NULL;
	struct xf_name_feat t, d, s;

	t = text_feat(c->qname, c->enc_min, set);
	check_feat(c, &t);
	/* the same name through a DNS query and a TLS server_name */
	d = frame_feat(c->qname, c->enc_min, set, 0);
	check_feat(c, &d);
	assert_same_name_feat(&t, &d);
	s = frame_feat(c->qname, c->enc_min, set, 1);
	assert_same_name_feat(&t, &s);
}

/* ---- hashes and the suffix lookup ---- */

static void test_name_hash(void **state)
{
	(void)state;
	/* case-insensitive, in the walker and in the text hash */
	assert_int_equal(text_feat("WWW.Example.COM", 16, NULL).name_hash,
			 xf_name_hash_text("www.example.com"));
	assert_int_equal(xf_name_hash_text("WwW.eXaMpLe.CoM"),
			 xf_name_hash_text("www.example.com"));
	/* a trailing dot and empty labels do not change the name */
	assert_int_equal(xf_name_hash_text("example.com."), xf_name_hash_text("example.com"));
	assert_int_equal(xf_name_hash_text(".example..com"), xf_name_hash_text("example.com"));
	/* label boundaries and label order matter */
	assert_int_not_equal(xf_name_hash_text("ab.c"), xf_name_hash_text("a.bc"));
	assert_int_not_equal(xf_name_hash_text("abc"), xf_name_hash_text("a.bc"));
	assert_int_not_equal(xf_name_hash_text("com.example"), xf_name_hash_text("example.com"));
	/* only ASCII letters fold: 0xc4 is not an upper-case 0xe4 */
	assert_int_not_equal(xf_name_hash_text("\xc4"), xf_name_hash_text("\xe4"));
	assert_int_not_equal(xf_name_hash_text("@"), xf_name_hash_text("`"));
	assert_int_not_equal(xf_name_hash_text("["), xf_name_hash_text("{"));
	/* the empty name is the fold seed */
	assert_int_equal(xf_name_hash_text(""), XF_FOLD_SEED);
	assert_int_equal(xf_name_hash_text("."), XF_FOLD_SEED);
	/* labels hash a word at a time: case folds, and every byte counts, past 8 */
	assert_int_equal(xf_name_hash_text("ABCDEFGHIJKLMNOPQ.Example"),
			 xf_name_hash_text("abcdefghijklmnopq.example"));
	assert_int_equal(text_feat("ABCDEFGHIJKLMNOPQ.Example", 16, NULL).name_hash,
			 xf_name_hash_text("abcdefghijklmnopq.example"));
	assert_int_not_equal(xf_name_hash_text("aaaaaaaab.x"), xf_name_hash_text("aaaaaaaac.x"));
	assert_int_not_equal(xf_name_hash_text("aaaaaaaa.x"), xf_name_hash_text("aaaaaaaaa.x"));
	assert_int_not_equal(xf_name_hash_text("aaaaaaaaaaaaaaaa.x"),
			     xf_name_hash_text("aaaaaaaaaaaaaaab.x"));
	/* a NUL byte is a byte: "a" and "a\0" differ (the length closes the hash) */
	assert_int_not_equal(text_feat_n("a", 1, 16, NULL).name_hash,
			     text_feat_n("a\0", 2, 16, NULL).name_hash);
}

/* the walker hashes the two-label suffix as xf_name_hash_text does */
static void test_suffix2_hash(void **state)
{
	struct xf_name_feat f;
	struct xf_name_state s;
	__u8 hist[256] = { 0 };
	const char *name = "a.b.Example.CO.uk";
	struct xf_buf b = { .p = (const __u8 *)name, .len = (__u32)strlen(name) };
	struct xf_walk w = { .b = &b, .s = &s, .f = &f, .hist = hist };

	(void)state;
	xf_name_init(&s, &f, 16);
	xf_name_walk_text(&w, 0, b.len);
	assert_int_equal(xf_name_suffix2(&s), xf_name_hash_text("co.uk"));
}

/* frame.c asks for the suffix only when the name has 3+ labels */
static void test_suffix_lookup_calls(void **state)
{
	(void)state;
	sfx_calls = 0;
	frame_feat("example.co.uk", 16, sfx_co_uk, 0);
	assert_int_equal(sfx_calls, 1);
	sfx_calls = 0;
	frame_feat("co.uk", 16, sfx_co_uk, 0);
	assert_int_equal(sfx_calls, 0);
	sfx_calls = 0;
	frame_feat("localhost", 16, sfx_co_uk, 1);
	assert_int_equal(sfx_calls, 0);
}

/* ---- entropy ---- */

/* Shannon entropy of the label bytes (dots excluded), bits per byte. */
static double shannon(const __u8 *p, __u32 len)
{
	unsigned cnt[256] = { 0 }, n = 0, i;
	double h = 0;

	for (i = 0; i < len; i++)
		if (p[i] != '.') {
			cnt[p[i]]++;
			n++;
		}
	for (i = 0; i < 256; i++)
		if (cnt[i])
			h -= (double)cnt[i] / n * log2((double)cnt[i] / n);
	return h;
}

static void test_entropy_exact(void **state)
{
	static const struct {
		const char *name;
		__u16 milli;
	} v[] = {
		{ "a", 0 },
		{ "aaaa", 0 },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0 },
		{ "ab", 1000 },
		{ "abab", 1000 },
		{ "abababababababab", 1000 },
		{ "aabb", 1000 },
		{ "ab.ab", 1000 }, /* dots are not label bytes */
		{ "AB.ab", 2000 }, /* case is kept for the entropy */
		{ "abcd", 2000 },
		{ "abcdefgh", 3000 },
		{ "0123456789abcdef", 4000 },
		{ "0123456789abcdef0123456789abcdef", 4000 },
		{ "0123456789abcdefghijklmnopqrstuv", 5000 },
		{ "", 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(v); i++) {
		struct xf_name_feat f = text_feat(v[i].name, 16, NULL);

		if (f.entropy != v[i].milli)
			fail_msg("'%s': entropy %u, want %u", v[i].name, f.entropy, v[i].milli);
	}
}

/* random names against a double-precision Shannon entropy, +-2 milli-bits */
static void test_entropy_random(void **state)
{
	static const char alpha[] =
		"abcdefghijklmnopqrstuvwxyz0123456789-_ABCDEFGHIJKLMNOPQRSTUVWXYZ";
	unsigned seed = 12345;
	int iter;

	(void)state;
	for (iter = 0; iter < 2000; iter++) {
		char name[256];
		__u32 len, i, asize, lab = 0;
		struct xf_name_feat f;
		double want;
		long diff;

		len = 1 + rand_r(&seed) % (iter < 1000 ? 63 : 253);
		asize = 1 + rand_r(&seed) % (sizeof(alpha) - 1);
		for (i = 0; i < len; i++) {
			/* a dot now and then, never two in a row, never first or last */
			if (lab >= 1 && i + 1 < len && (lab == 63 || rand_r(&seed) % 16 == 0)) {
				name[i] = '.';
				lab = 0;
				continue;
			}
			name[i] = alpha[rand_r(&seed) % asize];
			lab++;
		}
		name[len] = 0;
		f = text_feat(name, 16, NULL);
		want = shannon((const __u8 *)name, len) * 1000.0;
		diff = (long)f.entropy - lround(want);
		if (diff < -2 || diff > 2)
			fail_msg("'%s': entropy %u, libm %.3f", name, f.entropy, want);
	}
}

/* byte values over 0x7f and below 0x20 count like any other */
static void test_entropy_binary(void **state)
{
	__u8 name[200];
	struct xf_name_feat f;
	double want;
	__u32 i;

	(void)state;
	for (i = 0; i < sizeof(name); i++) {
		name[i] = (__u8)(i * 37 + 1);
		if (name[i] == '.')
			name[i] = 0xfe;
		if (i % 50 == 49)
			name[i] = '.';
	}
	f = text_feat_n((const char *)name, sizeof(name), 16, NULL);
	want = shannon(name, sizeof(name)) * 1000.0;
	assert_true(labs((long)f.entropy - lround(want)) <= 2);
}

/* every entry of the Q16 c*log2(c) table against libm, and of its differences */
static void test_clog2c_table(void **state)
{
	int c;

	(void)state;
	assert_int_equal(ARRAY_SIZE(xf_clog2c), 257);
	for (c = 0; c <= 256; c++) {
		long long want = c < 2 ? 0 : llround(c * log2((double)c) * 65536.0);

		if ((long long)xf_clog2c[c] != want)
			fail_msg("xf_clog2c[%d] = %u, libm %lld", c, xf_clog2c[c], want);
	}
	assert_int_equal(ARRAY_SIZE(xf_clog2d), 256);
	for (c = 0; c < 256; c++)
		if (xf_clog2d[c] != xf_clog2c[c + 1] - xf_clog2c[c])
			fail_msg("xf_clog2d[%d] = %u, want %u", c, xf_clog2d[c],
				 xf_clog2c[c + 1] - xf_clog2c[c]);
}

/* ---- HyperLogLog helpers of parse_common.h ---- */

static void test_ctz_hll(void **state)
{
	unsigned seed = 99;
	int i;

	(void)state;
	for (i = 0; i < 64; i++) {
		assert_int_equal(xf_ctz64(1ULL << i), i);
		assert_int_equal(xf_ctz64(~0ULL << i), i);
	}
	for (i = 0; i < 10000; i++) {
		__u64 h = ((__u64)rand_r(&seed) << 40) ^ ((__u64)rand_r(&seed) << 20) ^
			  (__u64)rand_r(&seed);
		__u32 tz;

		if (!h)
			continue;
		h <<= rand_r(&seed) % 64;
		if (!h)
			continue;
		tz = (__u32)__builtin_ctzll(h);
		assert_int_equal(xf_ctz64(h), tz);
		assert_int_equal(xf_hll_index(h), h >> (64 - XF_HLL_BITS));
		assert_int_equal(xf_hll_rank(h),
				 (tz < 64 - XF_HLL_BITS ? tz : 64 - XF_HLL_BITS) + 1);
	}
	assert_int_equal(xf_hll_rank(0), 64 - XF_HLL_BITS + 1);
	assert_int_equal(xf_hll_index(~0ULL), XF_HLL_REGS - 1);
}

/* ---- character class table ---- */

static void test_cclass(void **state)
{
	int c;

	(void)state;
	for (c = 0; c < 256; c++) {
		__u8 cl = xf_cclass[c];
		int hex =
			(c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
		int b32 =
			(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7');
		int sym = c == '+' || c == '/' || c == '=' || c == '_';
		int b64 = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || sym || c == '-';

		assert_int_equal(!!(cl & XF_C_LOWER), c >= 'a' && c <= 'z');
		assert_int_equal(!!(cl & XF_C_UPPER), c >= 'A' && c <= 'Z');
		assert_int_equal(!!(cl & XF_C_DIGIT), c >= '0' && c <= '9');
		assert_int_equal(!!(cl & XF_C_HEX), hex);
		assert_int_equal(!!(cl & XF_C_B32), b32);
		assert_int_equal(!!(cl & XF_C_B64), b64);
		assert_int_equal(!!(cl & XF_C_SYM), sym);
		assert_int_equal(!!(cl & XF_C_BIN), c <= 0x20 || c >= 0x7f);
	}
}

int main(void)
{
	struct CMUnitTest t[ARRAY_SIZE(feat_cases) + 16];
	size_t i, n = 0;

	for (i = 0; i < ARRAY_SIZE(feat_cases); i++)
		t[n++] = (struct CMUnitTest){ feat_cases[i].name, run_feat_case, NULL, NULL,
					      (void *)&feat_cases[i] };
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_name_hash);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_suffix2_hash);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_suffix_lookup_calls);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_entropy_exact);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_entropy_random);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_entropy_binary);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_clog2c_table);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_ctz_hll);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_cclass);
	return _cmocka_run_group_tests("features", t, n, NULL, NULL);
}
