// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * geoip.c - destination enrichment through libmaxminddb. Country and city
 * come from a City database (GeoLite2-City layout), AS number and
 * organisation from an ASN database (GeoLite2-ASN layout). Both are mapped
 * read-only, so lookups are cheap and safe from several threads.
 *
 * Strings in an MMDB are length-prefixed, not NUL-terminated, and come from
 * a file we did not write: every copy is bounded by the destination, and a
 * cut never leaves half a UTF-8 sequence for the JSON encoder to choke on.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <maxminddb.h>

#include "geoip.h"

struct xf_geoip {
	MMDB_s city;
	MMDB_s asn;
	int has_city;
	int has_asn;
};

static int geoip__open_one(MMDB_s *db, const char *path, char *err, size_t errlen)
{
	int saved, status;

	errno = 0;
	status = MMDB_open(path, MMDB_MODE_MMAP, db);
	if (status == MMDB_SUCCESS)
		return 1;
	saved = errno;
	if ((status == MMDB_FILE_OPEN_ERROR || status == MMDB_IO_ERROR) && saved)
		snprintf(err, errlen, "failed to open GeoIP database %s: %s: %s", path,
			 MMDB_strerror(status), strerror(saved));
	else
		snprintf(err, errlen, "failed to open GeoIP database %s: %s", path,
			 MMDB_strerror(status));
	if (status == MMDB_OUT_OF_MEMORY_ERROR)
		return -ENOMEM;
	return saved ? -saved : -EINVAL;
}

struct xf_geoip *xf_geoip_open(const char *city_db, const char *asn_db, char *err, size_t errlen)
{
	struct xf_geoip *g = calloc(1, sizeof(*g));
	int ret = 0;

	if (!g) {
		snprintf(err, errlen, "failed to allocate GeoIP state: %s", strerror(errno));
		return NULL;
	}
	if (city_db && *city_db) {
		ret = geoip__open_one(&g->city, city_db, err, errlen);
		g->has_city = ret > 0;
	}
	if (ret >= 0 && asn_db && *asn_db) {
		ret = geoip__open_one(&g->asn, asn_db, err, errlen);
		g->has_asn = ret > 0;
	}
	if (ret < 0) {
		xf_geoip_close(g);
		errno = -ret;
		return NULL;
	}
	return g;
}

void xf_geoip_close(struct xf_geoip *g)
{
	if (!g)
		return;
	if (g->has_city)
		MMDB_close(&g->city);
	if (g->has_asn)
		MMDB_close(&g->asn);
	free(g);
}

/* Copy at most dstlen - 1 bytes, backing off to a UTF-8 character start. */
static void geoip__copy(char *dst, size_t dstlen, const char *src, size_t len)
{
	if (len >= dstlen) {
		len = dstlen - 1;
		while (len && ((unsigned char)src[len] & 0xc0) == 0x80)
			len--;
	}
	memcpy(dst, src, len);
	dst[len] = 0;
}

/*
 * The value at a NULL-terminated path; an absent path is an empty value, not
 * an error. Only a broken data section is.
 */
static int geoip__value(MMDB_entry_s *entry, MMDB_entry_data_s *data, ...)
{
	va_list ap;
	int status;

	va_start(ap, data);
	status = MMDB_vget_value(entry, data, ap);
	va_end(ap);
	if (status == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR) {
		data->has_data = false;
		return 0;
	}
	return status == MMDB_SUCCESS ? 0 : -EIO;
}

/* A string of another type (a vendor's odd layout) leaves the field empty. */
static int geoip__string(MMDB_entry_s *entry, char *dst, size_t dstlen, const char *k1,
			 const char *k2, const char *k3)
{
	MMDB_entry_data_s d;
	int ret;

	ret = geoip__value(entry, &d, k1, k2, k3, NULL);
	if (!ret && d.has_data && d.type == MMDB_DATA_TYPE_UTF8_STRING)
		geoip__copy(dst, dstlen, d.utf8_string, d.data_size);
	return ret;
}

static int geoip__city(MMDB_entry_s *e, struct xf_geo *out)
{
	int ret;

	ret = geoip__string(e, out->country_iso, sizeof(out->country_iso), "country", "iso_code",
			    NULL);
	if (!ret)
		ret = geoip__string(e, out->country, sizeof(out->country), "country", "names",
				    "en");
	if (!ret)
		ret = geoip__string(e, out->city, sizeof(out->city), "city", "names", "en");
	return ret;
}

static int geoip__asn(MMDB_entry_s *e, struct xf_geo *out)
{
	MMDB_entry_data_s d;
	int ret;

	ret = geoip__value(e, &d, "autonomous_system_number", NULL);
	if (ret)
		return ret;
	/* GeoLite2-ASN stores uint32; other vendors' files may use uint16 or uint64. */
	if (d.has_data && d.type == MMDB_DATA_TYPE_UINT32)
		out->asn = d.uint32;
	else if (d.has_data && d.type == MMDB_DATA_TYPE_UINT16)
		out->asn = d.uint16;
	else if (d.has_data && d.type == MMDB_DATA_TYPE_UINT64 && d.uint64 <= UINT32_MAX)
		out->asn = (uint32_t)d.uint64;
	return geoip__string(e, out->as_org, sizeof(out->as_org), "autonomous_system_organization",
			     NULL, NULL);
}

/* 1 on a hit, 0 on a miss, < 0 on a bad address or broken database. */
static int geoip__lookup_one(MMDB_s *db, const char *ip, struct xf_geo *out,
			     int (*fill)(MMDB_entry_s *, struct xf_geo *))
{
	MMDB_lookup_result_s res;
	int gai_error, mmdb_error, ret;

	res = MMDB_lookup_string(db, ip, &gai_error, &mmdb_error);
	if (gai_error)
		return -EINVAL;
	/* An IPv6 address in an IPv4-only database is simply not there. */
	if (mmdb_error == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR)
		return 0;
	if (mmdb_error != MMDB_SUCCESS)
		return -EIO;
	if (!res.found_entry)
		return 0;
	ret = fill(&res.entry, out);
	return ret < 0 ? ret : 1;
}

int xf_geoip_lookup(struct xf_geoip *g, const char *ip, struct xf_geo *out)
{
	int found = 0, ret;

	memset(out, 0, sizeof(*out));
	if (!g || !ip)
		return 0;
	if (g->has_city) {
		ret = geoip__lookup_one(&g->city, ip, out, geoip__city);
		if (ret < 0)
			goto err;
		found |= ret;
	}
	if (g->has_asn) {
		ret = geoip__lookup_one(&g->asn, ip, out, geoip__asn);
		if (ret < 0)
			goto err;
		found |= ret;
	}
	return found;
err:
	memset(out, 0, sizeof(*out));
	return ret;
}
