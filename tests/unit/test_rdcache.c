// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_rdcache.c - sensor/names.c: the cache in front of libpsl gives
 * exactly libpsl's registered domain. Compared name by name against
 * xf_registered_domain_psl() (the same libpsl context, no cache) over every
 * domain of ../shared/data/top-domains.csv with random encoded subdomains
 * in front, over every rule of the public suffix list with labels in front
 * of it (wildcards, exceptions, the deepest rules), and over names the
 * cache must hand to libpsl whole. Each name is asked twice, so both the
 * miss and the hit are checked. Needs the Debian packages publicsuffix and
 * the shared data; fails without them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "names.h"

/* run from the repository root (make test); XF_DOMAINS_CSV overrides */
#define TOP_DOMAINS_DEFAULT "../shared/data/top-domains.csv"
#define PSL_DAT "/usr/share/publicsuffix/public_suffix_list.dat"

static uint64_t g_rng = 0x9e3779b97f4a7c15ULL;
static unsigned long g_checked;

static uint64_t rnd(void)
{
	g_rng ^= g_rng << 13;
	g_rng ^= g_rng >> 7;
	g_rng ^= g_rng << 17;
	return g_rng;
}

/* A label as tunnels write them: base32, hex or base64-ish, 1-63 bytes. */
static size_t enc_label(char *out)
{
	static const char *const alpha[] = { "abcdefghijklmnopqrstuvwxyz234567", "0123456789abcdef",
					     "abcdefghijklmnopqrstuvwxyz0123456789-_" };
	const char *a = alpha[rnd() % 3];
	size_t n = 1 + rnd() % 63, al = strlen(a);

	for (size_t i = 0; i < n; i++)
		out[i] = a[rnd() % al];
	/* a hyphen may not start or end a label; libpsl does not care, but
	 * keep the names realistic */
	if (out[0] == '-')
		out[0] = 'a';
	if (out[n - 1] == '-')
		out[n - 1] = 'b';
	return n;
}

/* Both ways, twice (a miss, then a hit); the answers must be equal. */
static void same(const char *name)
{
	char out1[256], out2[256], out3[256];
	const char *psl = xf_registered_domain_psl(name, out1, sizeof(out1));
	const char *c1 = xf_registered_domain(name, out2, sizeof(out2));
	const char *c2 = xf_registered_domain(name, out3, sizeof(out3));

	if (strcmp(psl, c1) || strcmp(psl, c2))
		fail_msg("%s: libpsl says %s, the cache says %s then %s", name, psl, c1, c2);
	g_checked++;
}

/* name with k random encoded labels in front */
static void same_under(const char *domain, int k)
{
	char name[1100];
	size_t n = 0;

	for (int i = 0; i < k; i++) {
		n += enc_label(name + n);
		name[n++] = '.';
	}
	snprintf(name + n, sizeof(name) - n, "%s", domain);
	same(name);
}

static void test_cache_active(void **state)
{
	struct xf_rd_stats st;
	char out[256];

	(void)state;
	xf_registered_domain("www.example.com", out, sizeof(out));
	xf_rd_stats(&st);
	/* without the list file every name would go to libpsl: the other tests
	 * would pass and prove nothing */
	assert_int_equal(st.cache, 1);
	assert_true(st.interior > 100);
	assert_string_equal(xf_registered_domain("a.b.c.example.co.uk", out, sizeof(out)),
			    "example.co.uk");
}

static void test_tricky(void **state)
{
	static const char *const names[] = {
		/* deep private rules (s3, dualstack: the deepest, 5 labels) */
		"s3.amazonaws.com",
		"x.s3.amazonaws.com",
		"a.x.s3.amazonaws.com",
		"amazonaws.com",
		"s3.dualstack.ap-northeast-1.amazonaws.com",
		"b.s3.dualstack.ap-northeast-1.amazonaws.com",
		"c.b.s3.dualstack.ap-northeast-1.amazonaws.com",
		"dualstack.ap-northeast-1.amazonaws.com",
		"x.dualstack.ap-northeast-1.amazonaws.com",
		/* a wildcard under a deep suffix */
		"compute.amazonaws.com.cn",
		"x.compute.amazonaws.com.cn",
		"y.x.compute.amazonaws.com.cn",
		"z.y.x.compute.amazonaws.com.cn",
		/* wildcard + exception */
		"ck",
		"b.ck",
		"a.b.ck",
		"www.ck",
		"a.www.ck",
		"b.a.www.ck",
		"kawasaki.jp",
		"a.kawasaki.jp",
		"b.a.kawasaki.jp",
		"city.kawasaki.jp",
		"x.city.kawasaki.jp",
		"y.x.city.kawasaki.jp",
		/* a rule whose parent is not one */
		"forgot.his.name",
		"a.forgot.his.name",
		"his.name",
		"a.his.name",
		"name",
		/* blogspot and friends */
		"blogspot.com",
		"foo.blogspot.com",
		"a.foo.blogspot.com",
		"foo.blogspot.co.uk",
		/* ordinary */
		"com",
		"example.com",
		"www.example.com",
		"co.uk",
		"a.co.uk",
		"b.a.co.uk",
		"uk",
		/* not in the list: the prevailing "*" rule */
		"localhost",
		"a.localhost",
		"b.a.localhost",
		"test",
		"x.test",
		"y.x.test",
		"corp.internal",
		"a.b.corp.internal",
		/* escaped bytes, underscores, digits */
		"a\\046b.example.com",
		"\\000\\255.example.com",
		"_dmarc.example.com",
		"_sip._tcp.example.com",
		"1.2.3.4",
		"4.3.2.1.in-addr.arpa",
		"in-addr.arpa",
		"arpa",
		"b.1.0.0.2.ip6.arpa",
		/* handed to libpsl whole */
		"",
		".",
		"..",
		".com",
		".example.com",
		"example.com.",
		"a..b.com",
		"a.b..com",
		"WWW.Example.COM",
		"www.EXAMPLE.co.UK",
		"xn--p1ai",
		"a.xn--p1ai",
		"b.a.xn--p1ai",
		"xn--55qx5d.hk",
		"a.xn--55qx5d.hk",
		"b.a.xn--55qx5d.hk",
		"xn--j6w193g",
		"a.xn--gmqw5a.xn--j6w193g",
		"b.a.xn--gmqw5a.xn--j6w193g",
		"x.xn--abc.com",
		"caf\xc3\xa9.com",
		"a.\xe5\x85\xac\xe5\x8f\xb8.hk",
	};
	struct xf_rd_stats before, after;

	(void)state;
	xf_rd_stats(&before);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		same(names[i]);
	xf_rd_stats(&after);
	/* the last block really went around the cache */
	assert_true(after.direct - before.direct >= 2 * 20);
	assert_true(after.hits > before.hits);
}

/* a name over 400 bytes, and one with more labels than the walk keeps */
static void test_long(void **state)
{
	char name[1100];
	size_t n = 0;

	(void)state;
	while (n < 900) {
		n += enc_label(name + n);
		name[n++] = '.';
	}
	strcpy(name + n, "example.com");
	same(name);
	n = 0;
	for (int i = 0; i < 40; i++) {
		name[n++] = 'a';
		name[n++] = '.';
	}
	strcpy(name + n, "s3.amazonaws.com");
	same(name);
}

/* every rule of the list, with 0-3 labels in front ("*" made a label) */
static void test_every_rule(void **state)
{
	FILE *fp = fopen(PSL_DAT, "r");
	char line[512], rule[512];
	unsigned long rules = 0;

	(void)state;
	if (!fp)
		fail_msg("%s: not there (Debian package publicsuffix)", PSL_DAT);
	while (fgets(line, sizeof(line), fp)) {
		char *p = line, *e;

		p[strcspn(p, " \t\r\n")] = 0;
		if (!*p || !strncmp(p, "//", 2))
			continue;
		if (*p == '!')
			p++;
		e = rule;
		if (!strncmp(p, "*.", 2)) {
			e += sprintf(e, "wild%lu", rules);
			p++;
		}
		snprintf(e, sizeof(rule) - (size_t)(e - rule), "%s", p);
		for (int k = 0; k <= 3; k++)
			same_under(rule, k);
		/* and the rule's parent, which may or may not be a rule */
		if (strchr(rule, '.'))
			same_under(strchr(rule, '.') + 1, 1);
		rules++;
	}
	fclose(fp);
	print_message("rules: %lu, each with 0-3 labels in front\n", rules);
	assert_true(rules > 5000);
}

/* every domain of the shared top list, bare, with www, with 1-4 encoded labels */
static void test_top_domains(void **state)
{
	const char *path =
		getenv("XF_DOMAINS_CSV") ? getenv("XF_DOMAINS_CSV") : TOP_DOMAINS_DEFAULT;
	FILE *fp = fopen(path, "r");
	char line[512], www[600];
	unsigned long n = 0;
	struct xf_rd_stats st;

	(void)state;
	if (!fp)
		fail_msg("%s: not there", path);
	while (fgets(line, sizeof(line), fp)) {
		char *d = strchr(line, ',');

		if (!d)
			continue;
		d++;
		d[strcspn(d, " \t\r\n")] = 0;
		if (!*d)
			continue;
		same(d);
		snprintf(www, sizeof(www), "www.%s", d);
		same(www);
		for (int k = 1; k <= 4; k++)
			same_under(d, k);
		n++;
	}
	fclose(fp);
	xf_rd_stats(&st);
	print_message("top domains: %lu, %lu names compared in all; cache %llu hits, %llu misses, "
		      "%llu whole to libpsl\n",
		      n, g_checked, (unsigned long long)st.hits, (unsigned long long)st.misses,
		      (unsigned long long)st.direct);
	assert_true(n > 40000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cache_active), cmocka_unit_test(test_tricky),
		cmocka_unit_test(test_long),	     cmocka_unit_test(test_every_rule),
		cmocka_unit_test(test_top_domains),
	};

	return cmocka_run_group_tests_name("rdcache", tests, NULL, NULL);
}
