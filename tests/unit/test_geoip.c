// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_geoip.c - sensor/geoip.c against two real databases that
 * tests/tools/mkmmdb.pl writes with MaxMind::DB::Writer into a temp dir:
 * IPv4, IPv4-mapped and IPv6 hits, misses, bad addresses, one database
 * alone, hostile over-long strings, and open errors that name the path.
 * Runs from the repo root; a missing perl module fails the setup, it is
 * not skipped.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "geoip.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static char tmpdir[] = "/tmp/xf-geoip-XXXXXX";
static char city_path[256], asn_path[256], bogus_path[256];

static int setup(void **state)
{
	char cmd[512];
	FILE *f;
	int rc;

	(void)state;
	if (!mkdtemp(tmpdir)) {
		perror("failed to create temp dir");
		return -1;
	}
	snprintf(city_path, sizeof(city_path), "%s/city.mmdb", tmpdir);
	snprintf(asn_path, sizeof(asn_path), "%s/asn.mmdb", tmpdir);
	snprintf(bogus_path, sizeof(bogus_path), "%s/bogus.mmdb", tmpdir);
	snprintf(cmd, sizeof(cmd), "perl tests/tools/mkmmdb.pl '%s'", tmpdir);
	rc = system(cmd);
	if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc)) {
		fprintf(stderr,
			"failed to build test databases with '%s' (exit %d): run from the "
			"repo root, apt-get install perl libmaxmind-db-writer-perl\n",
			cmd, WIFEXITED(rc) ? WEXITSTATUS(rc) : -1);
		return -1;
	}
	f = fopen(bogus_path, "w");
	if (!f)
		return -1;
	fputs("not a maxmind database\n", f);
	fclose(f);
	return 0;
}

static int teardown(void **state)
{
	char cmd[512];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) ? -1 : 0;
}

struct hit {
	const char *ip;
	int ret;
	const char *iso, *country, *city;
	uint32_t asn;
	const char *org;
};

static const struct hit both_dbs[] = {
	{ "10.201.2.7", 1, "NL", "Netherlands", "Amsterdam", 64500, "Example Exfil Hosting" },
	{ "10.201.2.255", 1, "NL", "Netherlands", "Amsterdam", 64500, "Example Exfil Hosting" },
	{ "::ffff:10.201.2.7", 1, "NL", "Netherlands", "Amsterdam", 64500,
	  "Example Exfil Hosting" },
	{ "192.0.2.1", 1, "US", "United States", "", 0, "" }, /* city db only */
	{ "2001:db8::1", 1, "DE", "Germany", "", 64501, "" },
	{ "2001:db8:ffff::53", 1, "DE", "Germany", "", 64501, "" },
	{ "10.201.3.1", 0, "", "", "", 0, "" },
	{ "198.51.100.1", 0, "", "", "", 0, "" },
	{ "2001:db9::1", 0, "", "", "", 0, "" },
	{ "::1", 0, "", "", "", 0, "" },
};

static void check_hits(struct xf_geoip *g, const struct hit *t, size_t n)
{
	struct xf_geo geo;
	size_t i;

	for (i = 0; i < n; i++) {
		memset(&geo, 0x5a, sizeof(geo));
		assert_int_equal(xf_geoip_lookup(g, t[i].ip, &geo), t[i].ret);
		assert_string_equal(geo.country_iso, t[i].iso);
		assert_string_equal(geo.country, t[i].country);
		assert_string_equal(geo.city, t[i].city);
		assert_int_equal(geo.asn, t[i].asn);
		assert_string_equal(geo.as_org, t[i].org);
	}
}

static void test_both(void **state)
{
	char err[512] = "";
	struct xf_geoip *g = xf_geoip_open(city_path, asn_path, err, sizeof(err));

	(void)state;
	assert_non_null(g);
	check_hits(g, both_dbs, ARRAY_SIZE(both_dbs));
	xf_geoip_close(g);
}

static void test_city_only(void **state)
{
	static const struct hit t[] = {
		{ "10.201.2.7", 1, "NL", "Netherlands", "Amsterdam", 0, "" },
		{ "2001:db8::1", 1, "DE", "Germany", "", 0, "" },
		{ "198.51.100.1", 0, "", "", "", 0, "" },
	};
	char err[512] = "";
	struct xf_geoip *g = xf_geoip_open(city_path, "", err, sizeof(err));

	(void)state;
	assert_non_null(g);
	check_hits(g, t, ARRAY_SIZE(t));
	xf_geoip_close(g);
}

static void test_asn_only(void **state)
{
	static const struct hit t[] = {
		{ "10.201.2.7", 1, "", "", "", 64500, "Example Exfil Hosting" },
		{ "2001:db8::1", 1, "", "", "", 64501, "" },
		{ "192.0.2.1", 0, "", "", "", 0, "" },
	};
	char err[512] = "";
	struct xf_geoip *g = xf_geoip_open(NULL, asn_path, err, sizeof(err));

	(void)state;
	assert_non_null(g);
	check_hits(g, t, ARRAY_SIZE(t));
	xf_geoip_close(g);
}

/* Neither database: a valid handle that always misses, and a NULL handle. */
static void test_none(void **state)
{
	static const struct hit t[] = { { "10.201.2.7", 0, "", "", "", 0, "" } };
	char err[512] = "";
	struct xf_geoip *g = xf_geoip_open("", NULL, err, sizeof(err));

	(void)state;
	assert_non_null(g);
	check_hits(g, t, ARRAY_SIZE(t));
	check_hits(NULL, t, ARRAY_SIZE(t));
	xf_geoip_close(g);
	xf_geoip_close(NULL);
}

/* Not an address: an error or a miss, never a crash, fields empty. */
static void test_bad_address(void **state)
{
	static const char *const bad[] = {
		"",
		"not-an-ip",
		"10.201.2",
		"10.201.2.7.1",
		"999.1.1.1",
		"10.201.2.7/24",
		"2001:db8::1::2",
		"example.com",
		" 10.201.2.7",
		"10.201.2.7\n",
	};
	char err[512] = "";
	struct xf_geoip *g = xf_geoip_open(city_path, asn_path, err, sizeof(err));
	struct xf_geo geo;
	size_t i;

	(void)state;
	assert_non_null(g);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(&geo, 0x5a, sizeof(geo));
		assert_true(xf_geoip_lookup(g, bad[i], &geo) <= 0);
		assert_string_equal(geo.country_iso, "");
		assert_string_equal(geo.country, "");
		assert_string_equal(geo.city, "");
		assert_int_equal(geo.asn, 0);
		assert_string_equal(geo.as_org, "");
	}
	assert_int_equal(xf_geoip_lookup(g, NULL, &geo), 0);
	xf_geoip_close(g);
}

/*
 * 203.0.113.0/24 holds strings longer than every field; as_org has a
 * two-byte character across its 127-byte cut, which must go whole.
 */
static void test_long_strings(void **state)
{
	char err[512] = "", city[64];
	struct xf_geoip *g = xf_geoip_open(city_path, asn_path, err, sizeof(err));
	struct xf_geo geo;

	(void)state;
	assert_non_null(g);
	assert_int_equal(xf_geoip_lookup(g, "203.0.113.9", &geo), 1);
	assert_string_equal(geo.country_iso, "XXX");
	assert_int_equal(strlen(geo.country), sizeof(geo.country) - 1);
	/* 10 bytes of quotes and control characters, then 53 of the 200 c's */
	memset(city, 'c', sizeof(city) - 1);
	memcpy(city, "\"quoted\"\n\\", 10);
	city[sizeof(city) - 1] = 0;
	assert_string_equal(geo.city, city);
	assert_int_equal(geo.asn, 4294967295u);
	assert_int_equal(strlen(geo.as_org), 126);
	assert_int_equal(strspn(geo.as_org, "o"), 126);
	xf_geoip_close(g);
}

static void expect_open_error(const char *city, const char *asn, const char *path,
			      const char *reason)
{
	char err[512] = "";
	struct xf_geoip *g = xf_geoip_open(city, asn, err, sizeof(err));

	assert_null(g);
	if (!strstr(err, path) || !strstr(err, reason))
		fail_msg("error '%s' should name '%s' and say '%s'", err, path, reason);
}

static void test_open_errors(void **state)
{
	char missing[300];

	(void)state;
	snprintf(missing, sizeof(missing), "%s/missing.mmdb", tmpdir);
	expect_open_error(missing, NULL, missing, "No such file");
	expect_open_error(NULL, missing, missing, "No such file");
	expect_open_error(bogus_path, asn_path, bogus_path, "invalid metadata");
	/* a good city db does not hide a bad ASN db */
	expect_open_error(city_path, bogus_path, bogus_path, "invalid metadata");
	expect_open_error(city_path, tmpdir, tmpdir, "failed to open GeoIP database");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_both),	    cmocka_unit_test(test_city_only),
		cmocka_unit_test(test_asn_only),    cmocka_unit_test(test_none),
		cmocka_unit_test(test_bad_address), cmocka_unit_test(test_long_strings),
		cmocka_unit_test(test_open_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
