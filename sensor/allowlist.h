/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * allowlist.h - services that legitimately put data in DNS names
 * (antivirus and reputation lookups, DNS blocklists, CDN and cloud host
 * names, reverse lookups, cluster search domains, DKIM/DMARC names): the
 * shipped, versioned list (sensor/allowlist_data.c, built into the binary)
 * plus the user's entries from config.
 *
 * Two kinds of entry:
 *  - a domain ("mcafee.com", "in-addr.arpa"): matches that name and every
 *    name under it, on label boundaries only, so "mcafee.com" matches
 *    "x.avqs.mcafee.com" and never "evil-mcafee.com", "xmcafee.com" or
 *    "mcafee.com.evil.net";
 *  - a special label form, shipped only ("_dmarc", "*._domainkey"): the
 *    name's leftmost labels, at most one more label, then the registered
 *    domain ("_dmarc.example.com", "s1._domainkey.mail.example.com").
 *    These never match a registered domain alone, so they can never exempt
 *    a whole flow; see docs/detectors.md.
 *
 * Matching hashes every label-boundary suffix of the name in one pass from
 * the right and probes a hash table for each: the cost is the name's
 * length, whatever the number of entries.
 */
#ifndef XF_ALLOWLIST_H
#define XF_ALLOWLIST_H

#include <stddef.h>
#include <stdint.h>

enum xf_allow_kind {
	XF_ALLOW_DOMAIN = 1, /* the name and every name under it */
	XF_ALLOW_LABEL = 2, /* leftmost special labels ("_dmarc", "*._domainkey") */
};

/* One entry, as reports and alerts show it. */
struct xf_allow_entry {
	const char *pattern; /* lower-case, no trailing dot */
	const char *category; /* "antivirus", "dnsbl", "cdn", "reverse", "cluster",
			       * "mail-auth" or "user" */
	const char *source; /* "shipped:VERSION" or what the caller passed ("config") */
	int kind; /* enum xf_allow_kind */
};

/* The shipped list (sensor/allowlist_data.c), NULL-terminated. */
struct xf_allow_src {
	const char *pattern;
	const char *category;
};
extern const char xf_allowlist_version[];
extern const struct xf_allow_src xf_allowlist_shipped[];

struct xf_allowlist;

struct xf_allowlist_stats {
	uint64_t lookups; /* xf_allowlist_match() calls */
	uint64_t probes; /* hash table slots looked at */
	uint64_t compares; /* string comparisons after a hash hit */
};

/* A list holding the shipped entries. NULL and errno on failure. */
struct xf_allowlist *xf_allowlist_new(void);

/* An empty list (tests, or an operator who wants none of the shipped). */
struct xf_allowlist *xf_allowlist_new_empty(void);

void xf_allowlist_free(struct xf_allowlist *al);

/*
 * Add a user entry: a domain name of two or more labels (letters, digits,
 * '-', '_'; a trailing dot and upper case are accepted and folded) that is
 * not itself a public suffix. source is copied ("config" if NULL). Returns
 * 0 (also when the entry is already listed: the first source is kept),
 * -EINVAL for a bad entry, -ENOMEM.
 */
int xf_allowlist_add(struct xf_allowlist *al, const char *entry, const char *source);

/*
 * Would xf_allowlist_add() take this entry? 0 or -EINVAL with the reason
 * in why (for config.c to print next to the key).
 */
int xf_allowlist_check(const char *entry, char *why, size_t why_size);

/*
 * The entry that allows name, or NULL. name is a presentation name (case
 * and a trailing dot do not matter); registered_domain is its registered
 * domain, or NULL (then name is taken as one, and label forms cannot
 * match). To exempt a flow (client x registered domain), pass the
 * registered domain as both. The entry stays valid until the list is freed.
 */
const struct xf_allow_entry *xf_allowlist_match(struct xf_allowlist *al, const char *name,
						const char *registered_domain);

size_t xf_allowlist_count(const struct xf_allowlist *al);
struct xf_allowlist_stats xf_allowlist_stats(const struct xf_allowlist *al);

#endif /* XF_ALLOWLIST_H */
