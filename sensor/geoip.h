/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * geoip.h - destination enrichment through libmaxminddb: country and city
 * from a City database, AS number and organisation from an ASN database.
 * Either database may be absent; a lookup miss leaves the fields empty.
 */
#ifndef XF_GEOIP_H
#define XF_GEOIP_H

#include <stddef.h>
#include <stdint.h>

struct xf_geo {
	char country_iso[4]; /* destination.geo.country_iso_code */
	char country[64]; /* destination.geo.country_name */
	char city[64]; /* destination.geo.city_name */
	uint32_t asn; /* destination.as.number, 0 = unknown */
	char as_org[128]; /* destination.as.organization.name */
};

struct xf_geoip;

/* Open either or both databases ("" or NULL = skip). NULL on error, with the
 * path and libmaxminddb's reason in err. */
struct xf_geoip *xf_geoip_open(const char *city_db, const char *asn_db, char *err, size_t errlen);
void xf_geoip_close(struct xf_geoip *g);

/* Look up a textual IPv4 or IPv6 address. Returns 1 when anything was found,
 * 0 on a miss (g->fields empty), < 0 on error. */
int xf_geoip_lookup(struct xf_geoip *g, const char *ip, struct xf_geo *out);

#endif /* XF_GEOIP_H */
