// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_allowlist.c - sensor/allowlist.c: the shipped list loads with its
 * version; names under an entry match on label boundaries only; no entry
 * ever matches a name on another domain (look-alikes, prefixes, suffixes,
 * siblings and parents of every shipped entry); label forms match only in
 * their place and never exempt a registered domain; user entries are
 * checked (no single labels, no public suffixes); and a lookup costs a
 * few hash probes per label, not a scan of the entries.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <time.h>
#include <cmocka.h>

#include "allowlist.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static int setup(void **state)
{
	*state = xf_allowlist_new();
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	xf_allowlist_free(*state);
	return 0;
}

static size_t shipped_count(void)
{
	size_t n = 0;

	while (xf_allowlist_shipped[n].pattern)
		n++;
	return n;
}

static void test_shipped(void **state)
{
	struct xf_allowlist *al = *state;
	char src[64];

	assert_true(xf_allowlist_version[0]);
	snprintf(src, sizeof(src), "shipped:%s", xf_allowlist_version);
	assert_int_equal(xf_allowlist_count(al), shipped_count());
	assert_true(shipped_count() >= 60);
	for (const struct xf_allow_src *s = xf_allowlist_shipped; s->pattern; s++) {
		const struct xf_allow_entry *e;

		assert_non_null(s->category);
		for (const char *c = s->pattern; *c; c++)
			assert_false(*c >= 'A' && *c <= 'Z');
		if (s->pattern[0] == '_' || s->pattern[0] == '*')
			continue;
		/* each domain entry allows itself and a name under it */
		e = xf_allowlist_match(al, s->pattern, s->pattern);
		assert_non_null(e);
		assert_string_equal(e->pattern, s->pattern);
		assert_string_equal(e->source, src);
		assert_string_equal(e->category, s->category);
		assert_int_equal(e->kind, XF_ALLOW_DOMAIN);
	}
}

static void test_match(void **state)
{
	static const struct {
		const char *name, *rd, *want;
	} c[] = {
		{ "9e107d7c9d7cbd9e1e6a0a8e5e0c4f52.avqs.mcafee.com", "mcafee.com", "mcafee.com" },
		{ "X.AVQS.McAfee.COM.", "mcafee.com", "mcafee.com" },
		{ "mcafee.com", NULL, "mcafee.com" },
		{ "4.3.2.1.zen.spamhaus.org", "spamhaus.org", "spamhaus.org" },
		{ "example.com.dbl.spamhaus.org", "spamhaus.org", "spamhaus.org" },
		{ "2.0.0.127.ix.dnsbl.manitu.net", "manitu.net", "ix.dnsbl.manitu.net" },
		{ "ix.dnsbl.manitu.net", "manitu.net", "ix.dnsbl.manitu.net" },
		{ "10.2.0.192.in-addr.arpa", "192.in-addr.arpa", "in-addr.arpa" },
		{ "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.4.0.ip6.arpa",
		  "0.ip6.arpa", "ip6.arpa" },
		{ "redis.prod.svc.cluster.local", "cluster.local", "cluster.local" },
		{ "api.github.com.default.svc.cluster.local", "cluster.local", "cluster.local" },
		{ "e6858.dsce9.akamaiedge.net", "akamaiedge.net", "akamaiedge.net" },
		{ "d111111abcdef8.cloudfront.net", "d111111abcdef8.cloudfront.net",
		  "cloudfront.net" },
		{ "s1._domainkey.example.com", "example.com", "*._domainkey" },
		{ "ug7nbtf4gccmlpwj322ax3p6ow6yfsug._domainkey.mail.example.com", "example.com",
		  "*._domainkey" },
		{ "_dmarc.example.com", "example.com", "_dmarc" },
		{ "_dmarc.mail.example.com", "example.com", "_dmarc" },
		{ "_smtp._tls.example.com", "example.com", "_smtp._tls" },
		{ "_spf.google.com", "google.com", "_spf" },
	};
	struct xf_allowlist *al = *state;

	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		const struct xf_allow_entry *e = xf_allowlist_match(al, c[i].name, c[i].rd);

		if (!e || strcmp(e->pattern, c[i].want))
			fail_msg("%s: matched %s, want %s", c[i].name, e ? e->pattern : "nothing",
				 c[i].want);
	}
}

/* every look-alike of every shipped domain entry, and tunnels beside them */
static void test_never_elsewhere(void **state)
{
	static const char *const fmt[] = {
		"evil-%s",
		"x%s",
		"%s.evil.net",
		"%sx",
		"%s-cdn.net",
		"a.b.%s.evil.net",
		"%s.co",
		"www.%s.evil.test",
		"mjqxgzjtgi2tmnzy.%s.tunnel.test",
		"%s.",
		"%s.evil.net.",
	};
	struct xf_allowlist *al = *state;
	char name[600], rd[600];
	size_t checked = 0;

	for (const struct xf_allow_src *s = xf_allowlist_shipped; s->pattern; s++) {
		if (s->pattern[0] == '_' || s->pattern[0] == '*')
			continue;
		for (size_t f = 0; f < ARRAY_SIZE(fmt); f++) {
			const struct xf_allow_entry *e;
			const char *dot;

			snprintf(name, sizeof(name), fmt[f], s->pattern);
			if (!strcmp(fmt[f], "%s.")) /* the entry itself, as a parent */
				continue;
			/* the flow's registered domain: the last two labels */
			dot = strrchr(name, '.');
			if (dot == name + strlen(name) - 1)
				name[strlen(name) - 1] = 0, dot = strrchr(name, '.');
			while (dot > name && dot[-1] != '.')
				dot--;
			snprintf(rd, sizeof(rd), "%s", dot);
			e = xf_allowlist_match(al, name, rd);
			if (e)
				fail_msg("%s (rd %s) matched %s", name, rd, e->pattern);
			e = xf_allowlist_match(al, rd, rd);
			if (e && strcmp(rd, s->pattern) && !strstr(s->pattern, rd))
				fail_msg("flow %s matched %s", rd, e->pattern);
			checked++;
		}
		/* the parent and a sibling of a deeper entry */
		if (strchr(strchr(s->pattern, '.') + 1, '.')) {
			const char *parent = strchr(s->pattern, '.') + 1;
			const struct xf_allow_entry *e = xf_allowlist_match(al, parent, NULL);

			if (e && strlen(e->pattern) > strlen(parent))
				fail_msg("parent %s matched %s", parent, e->pattern);
			snprintf(name, sizeof(name), "tunnel%s", strchr(s->pattern, '.'));
			e = xf_allowlist_match(al, name, NULL);
			if (e && !strcmp(e->pattern, s->pattern))
				fail_msg("sibling %s matched %s", name, e->pattern);
		}
	}
	print_message("%zu look-alikes of %zu entries: none matched\n", checked, shipped_count());
	/* by hand, the ones the issue names */
	assert_null(xf_allowlist_match(al, "evil-mcafee.com", "evil-mcafee.com"));
	assert_null(xf_allowlist_match(al, "mcafee.com.evil.net", "evil.net"));
	assert_null(xf_allowlist_match(al, "xmcafee.com", "xmcafee.com"));
	assert_null(xf_allowlist_match(al, "dnsbl.manitu.net", "manitu.net"));
	assert_null(xf_allowlist_match(al, "aGVsbG8.tunnel.manitu.net", "manitu.net"));
	assert_null(xf_allowlist_match(al, "xix.dnsbl.manitu.net", "manitu.net"));
	assert_null(xf_allowlist_match(al, "psbl.surriel.com.evil.net", "evil.net"));
	assert_null(xf_allowlist_match(al, "data.cluster.localhost", "cluster.localhost"));
	assert_null(xf_allowlist_match(al, "in-addr.arpa.evil.net", "evil.net"));
	assert_null(xf_allowlist_match(al, "1.2.3.4.xin-addr.arpa", "xin-addr.arpa"));
	/* a flow is exempted by its registered domain: a shared one never is */
	assert_null(xf_allowlist_match(al, "manitu.net", "manitu.net"));
	assert_null(xf_allowlist_match(al, "surriel.com", "surriel.com"));
}

/* label forms: in their place only, and never for a whole flow */
static void test_label_forms(void **state)
{
	static const struct {
		const char *name, *rd;
	} no[] = {
		{ "x.y._domainkey.evil.com", "evil.com" }, /* two labels before */
		{ "_domainkey.evil.com", "evil.com" }, /* no selector */
		{ "s1._domainkey.a.b.evil.com", "evil.com" }, /* two labels after */
		{ "_dmarc.a.b.evil.com", "evil.com" },
		{ "mjqxgzjtgi2tmnzy._dmarc.evil.com", "evil.com" }, /* not leftmost */
		{ "x_dmarc.evil.com", "evil.com" },
		{ "_dmarcx.evil.com", "evil.com" },
		{ "_dmarc.evil.com", NULL }, /* no registered domain given */
		{ "_dmarc.evil.com", "other.com" }, /* not its registered domain */
		{ "evil.com", "evil.com" },
		{ "_dmarc", "_dmarc" },
		{ "_tls.evil.com", "evil.com" },
	};
	struct xf_allowlist *al = *state;

	for (size_t i = 0; i < ARRAY_SIZE(no); i++) {
		const struct xf_allow_entry *e = xf_allowlist_match(al, no[i].name, no[i].rd);

		if (e)
			fail_msg("%s (rd %s) matched %s", no[i].name, no[i].rd ? no[i].rd : "-",
				 e->pattern);
	}
	/* the bounded residue: a DKIM selector is one free label (SES uses 32
	 * random characters), so such a name matches; its flow never does */
	assert_non_null(xf_allowlist_match(
		al, "mjqxgzjtgi2tmnzyhe4dcmrtgq2tmnzymjqxgzjtgi2tmnzy._domainkey.evil.com",
		"evil.com"));
	assert_null(xf_allowlist_match(al, "evil.com", "evil.com"));
}

static void test_user_entries(void **state)
{
	static const char *const bad[] = {
		"",
		".",
		"com",
		"co.uk",
		"github.io",
		"a..b.com",
		".a.com",
		"exa mple.com",
		"*.example.com",
		"ex/ample.com",
		"in-addr.arpa",
		"example.com..",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example.com",
	};
	struct xf_allowlist *al = *state;
	size_t n = xf_allowlist_count(al);
	const struct xf_allow_entry *e;
	char why[160], big[300];

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		why[0] = 0;
		if (xf_allowlist_check(bad[i], why, sizeof(why)) != -EINVAL)
			fail_msg("'%s' was accepted", bad[i]);
		assert_true(why[0]);
		assert_int_equal(xf_allowlist_add(al, bad[i], "config"), -EINVAL);
	}
	assert_int_equal(xf_allowlist_check("co.uk", why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "public suffix"));
	assert_int_equal(xf_allowlist_check("com", why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "single label"));
	memset(big, 'a', sizeof(big));
	for (int i = 60; i < 290; i += 60)
		big[i] = '.';
	big[sizeof(big) - 1] = 0;
	assert_int_equal(xf_allowlist_add(al, big, NULL), -EINVAL);
	assert_int_equal(xf_allowlist_count(al), n);

	assert_int_equal(xf_allowlist_add(al, "Corp.Example.", "config"), 0);
	assert_int_equal(xf_allowlist_count(al), n + 1);
	e = xf_allowlist_match(al, "build-7f3a9c.ci.corp.example", "corp.example");
	assert_non_null(e);
	assert_string_equal(e->pattern, "corp.example");
	assert_string_equal(e->source, "config");
	assert_string_equal(e->category, "user");
	assert_null(xf_allowlist_match(al, "corp.example.evil.net", "evil.net"));
	assert_null(xf_allowlist_match(al, "evilcorp.example", "evilcorp.example"));
	/* listed twice: one entry, the first source */
	assert_int_equal(xf_allowlist_add(al, "corp.example", "other"), 0);
	assert_int_equal(xf_allowlist_add(al, "mcafee.com", "config"), 0);
	assert_int_equal(xf_allowlist_count(al), n + 1);
	e = xf_allowlist_match(al, "mcafee.com", NULL);
	assert_non_null(strstr(e->source, "shipped:"));
	/* NULL default source; a subdomain entry of a private suffix is fine */
	assert_int_equal(xf_allowlist_add(al, "myapp.herokuapp.com", NULL), 0);
	e = xf_allowlist_match(al, "x.myapp.herokuapp.com", "myapp.herokuapp.com");
	assert_non_null(e);
	assert_string_equal(e->source, "config");
	assert_null(xf_allowlist_match(al, "other.herokuapp.com", "other.herokuapp.com"));
	/* nothing and NULLs */
	assert_null(xf_allowlist_match(al, NULL, NULL));
	assert_null(xf_allowlist_match(NULL, "mcafee.com", NULL));
	assert_int_equal(xf_allowlist_add(NULL, "corp.example", NULL), -EINVAL);
	assert_int_equal(xf_allowlist_add(al, NULL, NULL), -EINVAL);
}

/*
 * Hash, not a scan: with 50,000 entries a lookup makes a few probes per
 * label of the name and about one string comparison per hit, whatever the
 * list's size. (The time is printed, not asserted.)
 */
static void test_speed(void **state)
{
	struct xf_allowlist *al = xf_allowlist_new_empty();
	struct xf_allowlist_stats st;
	struct timespec t0, t1;
	const int entries = 50000, lookups = 200000;
	char name[128];
	int hits = 0;
	double ns;

	(void)state;
	assert_non_null(al);
	for (int i = 0; i < entries; i++) {
		snprintf(name, sizeof(name), "svc%d.tenant%d.test", i, i % 977);
		assert_int_equal(xf_allowlist_add(al, name, "config"), 0);
	}
	assert_int_equal(xf_allowlist_count(al), entries);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < lookups; i++) {
		/* 6 labels; every other one is under an entry */
		snprintf(name, sizeof(name), "a%d.b.c.svc%d.tenant%d.test", i,
			 i % 2 ? i % entries : entries + i, (i % entries) % 977);
		hits += xf_allowlist_match(al, name, NULL) != NULL;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	st = xf_allowlist_stats(al);
	ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / lookups;
	print_message("allowlist: %d entries, %d lookups of 6-label names: %.0f ns each, "
		      "%.2f probes and %.2f compares per lookup (test_speed in "
		      ".output/tests/test_allowlist)\n",
		      entries, lookups, ns, (double)st.probes / lookups,
		      (double)st.compares / lookups);
	assert_int_equal(hits, lookups / 2);
	assert_int_equal(st.lookups, (uint64_t)lookups);
	/* 6 suffixes probed at most, a couple of slots each */
	assert_true(st.probes <= (uint64_t)lookups * 6 * 3);
	assert_true(st.compares <= (uint64_t)lookups * 2);
	xf_allowlist_free(al);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_shipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_match, setup, teardown),
		cmocka_unit_test_setup_teardown(test_never_elsewhere, setup, teardown),
		cmocka_unit_test_setup_teardown(test_label_forms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_entries, setup, teardown),
		cmocka_unit_test(test_speed),
	};

	return cmocka_run_group_tests_name("allowlist", tests, NULL, NULL);
}
