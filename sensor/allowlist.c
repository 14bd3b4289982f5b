// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * allowlist.c - the allowlist: shipped entries plus user entries, matched
 * by domain (the name or a suffix of it on a label boundary) or by a
 * special leftmost label form. See allowlist.h.
 *
 * Speed: domain entries live in an open-addressing hash table keyed by a
 * hash computed from the right end of a name. One right-to-left pass over
 * the name yields the hash of every label-boundary suffix ("a.b.c", "b.c",
 * "c") as it goes, and each is one probe, so a lookup costs the name's
 * length and a probe per label whatever the list holds; no linear scan of
 * the entries. A hash hit is confirmed by comparing the strings.
 * The public suffix check on user entries uses libpsl, as sensor/names.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <libpsl.h>
#include "allowlist.h"

#define AL_NAME_MAX 253
#define AL_LABEL_FORMS_MAX 32

struct xf_allowlist {
	struct xf_allow_entry **e; /* every entry, owned */
	size_t n, cap;
	/* domain entries: hash -> entry index + 1 (0 = empty slot) */
	uint64_t *hash;
	uint32_t *slot;
	size_t mask; /* table size - 1, a power of two, at most half full */
	size_t n_dom;
	/* label forms: few, shipped only, checked when a name starts with '_' */
	const struct xf_allow_entry *lf[AL_LABEL_FORMS_MAX];
	int n_lf;
	char shipped_src[48];
	struct xf_allowlist_stats st;
};

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* FNV-1a over the bytes from the right, case folded: see the top comment. */
#define AL_SEED 14695981039346656037ull
#define AL_PRIME 1099511628211ull

static uint64_t rhash_step(uint64_t h, unsigned char c)
{
	return (h ^ lower(c)) * AL_PRIME;
}

static uint64_t rhash(const char *s, size_t len)
{
	uint64_t h = AL_SEED;

	while (len)
		h = rhash_step(h, (unsigned char)s[--len]);
	return h;
}

static int table_grow(struct xf_allowlist *al)
{
	size_t size = al->mask ? (al->mask + 1) * 2 : 256, i;
	uint64_t *h = calloc(size, sizeof(*h));
	uint32_t *s = calloc(size, sizeof(*s));

	if (!h || !s) {
		free(h);
		free(s);
		return -ENOMEM;
	}
	for (i = 0; al->mask && i <= al->mask; i++) {
		size_t j;

		if (!al->slot[i])
			continue;
		for (j = al->hash[i] & (size - 1); s[j]; j = (j + 1) & (size - 1))
			;
		h[j] = al->hash[i];
		s[j] = al->slot[i];
	}
	free(al->hash);
	free(al->slot);
	al->hash = h;
	al->slot = s;
	al->mask = size - 1;
	return 0;
}

/* The domain entry equal to s[0..len), or NULL. */
static const struct xf_allow_entry *table_find(struct xf_allowlist *al, uint64_t h, const char *s,
					       size_t len)
{
	if (!al->mask)
		return NULL;
	for (size_t j = h & al->mask;; j = (j + 1) & al->mask) {
		const struct xf_allow_entry *e;

		al->st.probes++;
		if (!al->slot[j])
			return NULL;
		if (al->hash[j] != h)
			continue;
		e = al->e[al->slot[j] - 1];
		al->st.compares++;
		if (strlen(e->pattern) == len && !strncasecmp(e->pattern, s, len))
			return e;
	}
}

/* Store an entry (pattern already checked and lower-cased). */
static int put(struct xf_allowlist *al, const char *pattern, const char *category,
	       const char *source, int kind)
{
	size_t pl = strlen(pattern), sl = strlen(source), cl = strlen(category);
	struct xf_allow_entry *e;
	uint64_t h = rhash(pattern, pl);
	char *p;

	if (kind == XF_ALLOW_DOMAIN && table_find(al, h, pattern, pl))
		return 0; /* listed already: the first source stays */
	if (kind == XF_ALLOW_LABEL && al->n_lf >= AL_LABEL_FORMS_MAX)
		return -ENOSPC;
	if (al->n == al->cap) {
		size_t cap = al->cap ? al->cap * 2 : 128;
		struct xf_allow_entry **ne = realloc(al->e, cap * sizeof(*ne));

		if (!ne)
			return -ENOMEM;
		al->e = ne;
		al->cap = cap;
	}
	if (kind == XF_ALLOW_DOMAIN && (al->n_dom + 1) * 2 > al->mask + 1 && table_grow(al))
		return -ENOMEM;
	/* one allocation: the entry, then its three strings */
	e = malloc(sizeof(*e) + pl + sl + cl + 3);
	if (!e)
		return -ENOMEM;
	p = (char *)(e + 1);
	e->pattern = memcpy(p, pattern, pl + 1);
	e->source = memcpy(p + pl + 1, source, sl + 1);
	e->category = memcpy(p + pl + sl + 2, category, cl + 1);
	e->kind = kind;
	al->e[al->n++] = e;
	if (kind == XF_ALLOW_LABEL) {
		al->lf[al->n_lf++] = e;
		return 0;
	}
	for (size_t j = h & al->mask;; j = (j + 1) & al->mask)
		if (!al->slot[j]) {
			al->hash[j] = h;
			al->slot[j] = (uint32_t)al->n;
			break;
		}
	al->n_dom++;
	return 0;
}

/*
 * Lower-case a domain into out (trailing dot dropped) and check its shape:
 * 2+ labels of 1-63 of [a-z0-9-_], 253 bytes at most. label_form allows
 * '*' as a whole label and a single label (shipped label forms).
 */
static int normalize(const char *in, char *out, size_t size, int label_form, char *why,
		     size_t why_size)
{
	size_t len = in ? strlen(in) : 0, lab = 0, labels = 1;

	if (len && in[len - 1] == '.')
		len--;
	if (!len || len > AL_NAME_MAX || len >= size) {
		snprintf(why, why_size, "expected a domain name of 1-%d characters", AL_NAME_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = lower((unsigned char)in[i]);

		out[i] = (char)c;
		if (c == '.') {
			if (!lab) {
				snprintf(why, why_size, "empty label in '%s'", in);
				return -EINVAL;
			}
			labels++;
			lab = 0;
			continue;
		}
		if (++lab > 63) {
			snprintf(why, why_size, "a label of '%s' is over 63 characters", in);
			return -EINVAL;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      (label_form && c == '*'))) {
			snprintf(why, why_size, "'%s' holds '%c': not a domain name", in, c);
			return -EINVAL;
		}
	}
	out[len] = 0;
	if (!lab) {
		snprintf(why, why_size, "empty label in '%s'", in);
		return -EINVAL;
	}
	if (labels < 2 && !label_form) {
		snprintf(why, why_size,
			 "'%s' is a single label: it would allow a whole top-level domain", in);
		return -EINVAL;
	}
	return 0;
}

static const psl_ctx_t *psl_ctx(void)
{
	static const psl_ctx_t *psl;
	static int tried;

	if (!tried) {
		tried = 1;
		psl = psl_latest(NULL);
		if (!psl)
			psl = psl_builtin();
	}
	return psl;
}

int xf_allowlist_check(const char *entry, char *why, size_t why_size)
{
	char buf[AL_NAME_MAX + 2], tmp[8];
	const psl_ctx_t *psl = psl_ctx();

	if (!why) {
		why = tmp;
		why_size = sizeof(tmp);
	}
	if (normalize(entry, buf, sizeof(buf), 0, why, why_size))
		return -EINVAL;
	/* "co.uk" or "github.io" would allow every domain under them */
	if (psl && psl_is_public_suffix2(psl, buf, PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE)) {
		snprintf(why, why_size,
			 "'%s' is a public suffix: it would allow every domain under it", buf);
		return -EINVAL;
	}
	return 0;
}

int xf_allowlist_add(struct xf_allowlist *al, const char *entry, const char *source)
{
	char buf[AL_NAME_MAX + 2], why[8];

	if (!al || xf_allowlist_check(entry, NULL, 0))
		return -EINVAL;
	normalize(entry, buf, sizeof(buf), 0, why, sizeof(why));
	return put(al, buf, "user", source ? source : "config", XF_ALLOW_DOMAIN);
}

struct xf_allowlist *xf_allowlist_new_empty(void)
{
	struct xf_allowlist *al = calloc(1, sizeof(*al));

	if (!al)
		errno = ENOMEM;
	return al;
}

struct xf_allowlist *xf_allowlist_new(void)
{
	struct xf_allowlist *al = xf_allowlist_new_empty();
	char buf[AL_NAME_MAX + 2], why[128];

	if (!al)
		return NULL;
	snprintf(al->shipped_src, sizeof(al->shipped_src), "shipped:%s", xf_allowlist_version);
	for (const struct xf_allow_src *s = xf_allowlist_shipped; s->pattern; s++) {
		int lf = s->pattern[0] == '_' || s->pattern[0] == '*', err;

		/* shipped entries may be public suffixes (in-addr.arpa): no psl check */
		err = normalize(s->pattern, buf, sizeof(buf), lf, why, sizeof(why));
		if (!err)
			err = put(al, buf, s->category, al->shipped_src,
				  lf ? XF_ALLOW_LABEL : XF_ALLOW_DOMAIN);
		if (err) {
			xf_allowlist_free(al);
			errno = -err;
			return NULL;
		}
	}
	return al;
}

void xf_allowlist_free(struct xf_allowlist *al)
{
	if (!al)
		return;
	for (size_t i = 0; i < al->n; i++)
		free(al->e[i]);
	free(al->e);
	free(al->hash);
	free(al->slot);
	free(al);
}

size_t xf_allowlist_count(const struct xf_allowlist *al)
{
	return al ? al->n : 0;
}

struct xf_allowlist_stats xf_allowlist_stats(const struct xf_allowlist *al)
{
	return al ? al->st : (struct xf_allowlist_stats){ 0 };
}

/*
 * Label form pattern (its labels, '*' any one label) at the left of name,
 * then at most one more label, then the registered domain at rd_off.
 */
static int label_form_match(const char *pat, const char *name, size_t rd_off)
{
	const char *p = pat, *n = name, *end = name + rd_off;
	int extra = 0;

	while (*p) {
		const char *pd = strchr(p, '.'), *nd = memchr(n, '.', (size_t)(end - n));
		size_t pl = pd ? (size_t)(pd - p) : strlen(p);

		if (!nd)
			return 0; /* the pattern must end before the registered domain */
		if (!(pl == 1 && *p == '*') && ((size_t)(nd - n) != pl || strncasecmp(p, n, pl)))
			return 0;
		if (nd == n)
			return 0; /* empty label */
		n = nd + 1;
		p = pd ? pd + 1 : p + pl;
	}
	/* what is left before the registered domain: at most one label */
	for (const char *c = n; c < end; c++)
		extra += *c == '.';
	return extra <= 1;
}

const struct xf_allow_entry *xf_allowlist_match(struct xf_allowlist *al, const char *name,
						const char *registered_domain)
{
	size_t len, rl;
	uint64_t h = AL_SEED;

	if (!al || (!name && !registered_domain))
		return NULL;
	if (!name)
		name = registered_domain;
	al->st.lookups++;
	len = strlen(name);
	if (len && name[len - 1] == '.')
		len--;
	/* every suffix on a label boundary, the whole name first seen last */
	for (size_t i = len; i-- > 0;) {
		h = rhash_step(h, (unsigned char)name[i]);
		if (i == 0 || name[i - 1] == '.') {
			const struct xf_allow_entry *e = table_find(al, h, name + i, len - i);

			if (e)
				return e;
		}
	}
	/* label forms: only inside a name that is longer than its registered domain */
	if (!registered_domain || !al->n_lf || !memchr(name, '_', len))
		return NULL;
	rl = strlen(registered_domain);
	if (rl && registered_domain[rl - 1] == '.')
		rl--;
	if (rl + 1 >= len || name[len - rl - 1] != '.' ||
	    strncasecmp(name + len - rl, registered_domain, rl))
		return NULL;
	for (int k = 0; k < al->n_lf; k++)
		if (label_form_match(al->lf[k]->pattern, name, len - rl))
			return al->lf[k];
	return NULL;
}
