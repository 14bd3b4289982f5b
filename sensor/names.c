// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * names.c - presentation names, registered domains, JSON strings.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpsl.h>
#include "names.h"
#include "frame.h" /* XF_PSL_PATH */

static size_t put_byte(char *out, size_t pos, size_t size, uint8_t c, int lower, int in_label)
{
	char tmp[5];
	size_t n = 1;

	if (lower && c >= 'A' && c <= 'Z')
		c = (uint8_t)(c + 32);
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '_' || (!in_label && c == '.'))
		tmp[0] = (char)c;
	else
		n = (size_t)snprintf(tmp, sizeof(tmp), "\\%03u", c);
	/* all of an escape or none of it: the first piece that does not fit
	 * ends the text there (pos then stays >= size, so nothing follows) */
	if (pos + n < size)
		memcpy(out + pos, tmp, n);
	else if (pos < size)
		out[pos] = 0;
	return pos + n;
}

/* Terminate; on truncation the text ends at the last whole character. */
static int put_end(char *out, size_t pos, size_t size)
{
	if (pos < size) {
		out[pos] = 0;
		return (int)pos;
	}
	out[size - 1] = 0;
	return (int)strlen(out);
}

/* Bytes put_byte() copies as they are inside a label: 1, or 2 for upper
 * case (lowered on request). */
static const uint8_t plain_byte[256] = {
	['a' ... 'z'] = 1, ['0' ... '9'] = 1, ['-'] = 1, ['_'] = 1, ['A' ... 'Z'] = 2,
};

static int plain_label(const uint8_t *p, size_t n)
{
	uint8_t all = 1;

	for (size_t j = 0; j < n; j++)
		all &= plain_byte[p[j]] != 0;
	return all;
}

int xf_wire_to_text(const uint8_t *wire, size_t len, int lower, char *out, size_t size)
{
	size_t pos = 0, i = 0;

	if (!size)
		return -1;
	while (i < len && wire[i]) {
		size_t l = wire[i++];

		if (l > 63 || i + l > len)
			goto bad;
		if (pos && pos < size)
			out[pos++] = '.';
		/* the common label: nothing to escape and room for all of it */
		if (pos + l < size && plain_label(wire + i, l)) {
			memcpy(out + pos, wire + i, l);
			for (size_t j = 0; lower && j < l; j++)
				if (plain_byte[wire[i + j]] == 2)
					out[pos + j] = (char)(wire[i + j] + 32);
			pos += l;
			i += l;
			continue;
		}
		for (size_t j = 0; j < l; j++)
			pos = put_byte(out, pos, size, wire[i++], lower, 1);
	}
	return put_end(out, pos, size);
bad:
	out[0] = 0;
	return -1;
}

int xf_text_name(const uint8_t *name, size_t len, int lower, char *out, size_t size)
{
	size_t pos = 0;

	if (!size)
		return -1;
	for (size_t i = 0; i < len; i++)
		pos = put_byte(out, pos, size, name[i], lower, 0);
	return put_end(out, pos, size);
}

/* --- registered domains: libpsl, and an exact cache in front of it --- */

/*
 * libpsl costs 0.2-2 us a name, growing with its labels, which attackers
 * choose. Why a cache by the name's last few labels gives exactly libpsl's
 * answer (libpsl 0.21, psl_registrable_domain and is_public_suffix):
 *
 * psl_registrable_domain walks the name's suffixes from the longest and
 * returns the one just left of the first (longest) public suffix. Whether a
 * suffix S is public depends only on S: a rule equal to S, an exception
 * equal to S, a wildcard rule "*.T" where S = label.T, or S being one label
 * (the prevailing "*" rule). Call a suffix X "interior" when some rule (as
 * written: "*" counts as a label, "!" stripped) has more labels and ends in
 * ".X". If X is not interior, no longer suffix of the name can be public:
 * its rule, or its wildcard "*.X..." rule, would end in ".X".
 *
 * So walk the name's suffixes from the right, S1 (the last label), S2, ...,
 * and stop at the first Sj that is not interior (or at the whole name).
 * The longest public suffix has p <= j labels and p depends on S1..Sj only:
 * libpsl on Sj gives it (NULL: p = j; else its answer has p + 1 labels).
 * Cache p by Sj. The name's registered domain is then its last p + 1
 * labels, or none (libpsl's NULL) when the name has only p. For a tunnel
 * under evil.example that key is "evil.example", whatever the subdomains.
 *
 * Exactness needs the interior set from the very rules libpsl uses, so
 * both come from one file, Debian's public_suffix_list.dat (package
 * publicsuffix). Without it libpsl's latest list is used with no cache.
 * Names the argument does not cover go to libpsl whole: empty labels, a
 * leading or trailing dot, upper case, bytes >= 0x80, "xn--" labels
 * (libpsl also holds punycode forms of the list's UTF-8 rules, and this
 * file does not compute them), more than XF_RD_MAX_LEN bytes.
 * tests/unit/test_rdcache.c compares both ways over 50k real domains.
 *
 * Not thread-safe, like the lazy libpsl context before it: the sensor
 * decodes events on one thread.
 */
#define XF_RD_MAX_LEN 400 /* fewer than 255 labels: libpsl's label counter */
#define RD_LABELS_MAX 16 /* interior suffixes have at most 4 labels today */
/* direct-mapped, 64 bytes a slot: 2 MiB, mapped as used */
#define RD_SLOTS 32768
#define RD_KEY_MAX 54

/* hash and key side by side: a probe that finds nothing costs one miss */
struct rd_interior {
	uint64_t h;
	char *key;
};

struct rd_slot {
	uint64_t h;
	uint8_t len, p; /* len 0 = empty */
	char key[RD_KEY_MAX];
};
_Static_assert(sizeof(struct rd_slot) == 64, "cache slot size");

static struct {
	int init;
	const psl_ctx_t *psl;
	psl_ctx_t *loaded; /* when psl came from XF_PSL_PATH */
	/* interior suffixes: open addressing by right-to-left hash */
	struct rd_interior *in; /* key NULL = empty */
	uint32_t in_mask, in_n;
	struct rd_slot *slot;
	struct xf_rd_stats st;
} rd;

/* FNV-1a over s[n-1] .. s[0], continuing from h: a suffix's hash extends
 * the hash of the shorter suffix it ends with. */
static uint64_t rhash(const char *s, size_t n, uint64_t h)
{
	while (n--)
		h = (h ^ (uint8_t)s[n]) * 0x100000001b3ULL;
	return h;
}

#define RHASH0 0xcbf29ce484222325ULL

static uint64_t rmix(uint64_t h)
{
	h ^= h >> 31;
	h *= 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 29);
}

static int interior_has(const char *s, size_t n, uint64_t h)
{
	for (uint32_t k = (uint32_t)rmix(h) & rd.in_mask; rd.in[k].key; k = (k + 1) & rd.in_mask)
		if (rd.in[k].h == h && !strncmp(rd.in[k].key, s, n) && !rd.in[k].key[n])
			return 1;
	return 0;
}

static int interior_add(const char *s, size_t n)
{
	uint64_t h = rhash(s, n, RHASH0);
	uint32_t k;

	if (interior_has(s, n, h))
		return 0;
	if ((rd.in_n + 1) * 2 > rd.in_mask + 1)
		return -1; /* sized up front from the file: cannot happen */
	for (k = (uint32_t)rmix(h) & rd.in_mask; rd.in[k].key; k = (k + 1) & rd.in_mask)
		;
	rd.in[k].key = strndup(s, n);
	if (!rd.in[k].key)
		return -1;
	rd.in[k].h = h;
	rd.in_n++;
	return 0;
}

static void interior_free(void)
{
	for (uint32_t k = 0; rd.in && k <= rd.in_mask; k++)
		free(rd.in[k].key);
	free(rd.in);
	rd.in = NULL;
	rd.in_n = 0;
}

/* Every proper suffix of every rule, as libpsl's parser reads the file:
 * the first whitespace-delimited token of a line that is not a comment. */
static int interior_load(FILE *fp)
{
	char line[512];
	uint32_t rules = 0;

	while (fgets(line, sizeof(line), fp))
		rules++;
	rewind(fp);
	rd.in_mask = 1024;
	while (rd.in_mask < rules * 4)
		rd.in_mask <<= 1;
	rd.in = calloc(rd.in_mask, sizeof(*rd.in));
	rd.in_mask--;
	if (!rd.in)
		return -1;
	while (fgets(line, sizeof(line), fp)) {
		char *p = line, *e;

		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (!*p || (p[0] == '/' && p[1] == '/'))
			continue;
		for (e = p; *e && *e != ' ' && *e != '\t' && *e != '\r' && *e != '\n'; e++)
			;
		if (*p == '!')
			p++;
		for (char *d = p; d < e; d++)
			if (*d == '.' && interior_add(d + 1, (size_t)(e - d - 1)))
				return -1;
	}
	return 0;
}

static void rd_init(void)
{
	FILE *fp;

	rd.init = 1;
	fp = fopen(XF_PSL_PATH, "re");
	if (fp) {
		rd.loaded = psl_load_file(XF_PSL_PATH);
		if (rd.loaded && !interior_load(fp))
			rd.slot = calloc(RD_SLOTS, sizeof(*rd.slot));
		fclose(fp);
		if (!rd.slot) {
			interior_free();
			psl_free(rd.loaded);
			rd.loaded = NULL;
		}
	}
	rd.psl = rd.loaded;
	/* the list Debian keeps current; libpsl's built-in copy when it is
	 * missing */
	if (!rd.psl)
		rd.psl = psl_latest(NULL);
	if (!rd.psl)
		rd.psl = psl_builtin();
	rd.st.cache = rd.slot != NULL;
	rd.st.interior = rd.in_n;
}

/* libpsl's answer, or for a public suffix (or no psl) the last two labels. */
static const char *rd_answer(const char *name, const char *rd, char *out, size_t size)
{
	const char *last, *two = name;

	if (rd)
		return rd;
	last = strrchr(name, '.');
	if (!last)
		return name;
	for (const char *q = name; q < last; q++)
		if (*q == '.')
			two = q + 1;
	snprintf(out, size, "%s", two);
	return out;
}

const char *xf_registered_domain_psl(const char *name, char *out, size_t size)
{
	if (!rd.init)
		rd_init();
	return rd_answer(name, rd.psl ? psl_registrable_domain(rd.psl, name) : NULL, out, size);
}

/* The names the argument above covers. */
static int rd_cacheable(const char *name, size_t len)
{
	if (!len || len > XF_RD_MAX_LEN || name[0] == '.' || name[len - 1] == '.')
		return 0;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = (uint8_t)name[i];

		if (c >= 0x80 || (c >= 'A' && c <= 'Z') || (c == '.' && name[i + 1] == '.'))
			return 0;
		if (c == 'x' && (!i || name[i - 1] == '.') && !strncmp(name + i, "xn--", 4))
			return 0;
	}
	return 1;
}

/* p for key Sj (j labels): the labels of its longest public suffix. */
static int rd_public_labels(const char *key, size_t len, int j, uint64_t h)
{
	struct rd_slot *s = &rd.slot[rmix(h) & (RD_SLOTS - 1)];
	const char *r;
	int p;

	if (len <= RD_KEY_MAX && s->len == len && s->h == h && !memcmp(s->key, key, len)) {
		rd.st.hits++;
		return s->p;
	}
	rd.st.misses++;
	r = psl_registrable_domain(rd.psl, key);
	p = j;
	if (r) {
		p = 0; /* r has p + 1 labels */
		for (const char *q = r; *q; q++)
			p += *q == '.';
	}
	if (len <= RD_KEY_MAX) {
		s->h = h;
		s->len = (uint8_t)len;
		s->p = (uint8_t)p;
		memcpy(s->key, key, len);
	}
	return p;
}

const char *xf_registered_domain(const char *name, char *out, size_t size)
{
	size_t len = strlen(name);
	const char *start[RD_LABELS_MAX + 2]; /* start[j]: where Sj begins */
	uint64_t h = RHASH0;
	const char *end = name + len, *q;
	int j = 0, p;

	if (!rd.init)
		rd_init();
	if (!rd.slot || !rd_cacheable(name, len)) {
		rd.st.direct++;
		return xf_registered_domain_psl(name, out, size);
	}
	/* S1, S2, ... until one is not interior, or the name ends */
	for (q = end;;) {
		const char *lab = q;

		while (lab > name && lab[-1] != '.')
			lab--;
		h = rhash(lab, (size_t)(q - lab), h);
		start[++j] = lab;
		if (lab == name || !interior_has(lab, (size_t)(end - lab), h))
			break;
		if (j == RD_LABELS_MAX) {
			rd.st.direct++;
			return xf_registered_domain_psl(name, out, size);
		}
		q = lab - 1;
		h = rhash(q, 1, h); /* the dot */
	}
	p = rd_public_labels(start[j], (size_t)(end - start[j]), j, h);
	if (p == j && start[j] == name)
		return rd_answer(name, NULL, out, size); /* the name is a public suffix */
	if (p < j)
		return start[p + 1];
	/* p == j: one label more than the walk took */
	for (q = start[j] - 1; q > name && q[-1] != '.'; q--)
		;
	return q;
}

void xf_rd_stats(struct xf_rd_stats *st)
{
	if (!rd.init)
		rd_init();
	*st = rd.st;
}

void xf_sb_printf(struct xf_sb *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (sb->oom)
		return;
	for (;;) {
		size_t room = sb->cap - sb->len;

		va_start(ap, fmt);
		n = vsnprintf(sb->buf ? sb->buf + sb->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			sb->oom = 1;
			return;
		}
		if ((size_t)n < room) {
			sb->len += (size_t)n;
			return;
		}
		{
			size_t cap = sb->cap ? sb->cap * 2 : 1024;
			char *b;

			while (cap < sb->len + (size_t)n + 1)
				cap *= 2;
			b = realloc(sb->buf, cap);
			if (!b) {
				sb->oom = 1;
				return;
			}
			sb->buf = b;
			sb->cap = cap;
		}
	}
}

void xf_sb_json_str(struct xf_sb *sb, const char *s)
{
	xf_sb_printf(sb, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			xf_sb_printf(sb, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			xf_sb_printf(sb, "\\u%04x", *p);
		else
			xf_sb_printf(sb, "%c", *p);
	}
	xf_sb_printf(sb, "\"");
}

int xf_json_line_ok(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

const char *xf_term_str(const char *s, char *out, size_t size)
{
	size_t pos = 0;

	if (!size)
		return out;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char tmp[5];
		size_t n = 1;

		if (*p >= 0x20 && *p < 0x7f)
			tmp[0] = (char)*p;
		else
			n = (size_t)snprintf(tmp, sizeof(tmp), "\\%03u", *p);
		if (pos + n >= size)
			break;
		memcpy(out + pos, tmp, n);
		pos += n;
	}
	out[pos] = 0;
	return out;
}

void xf_sb_free(struct xf_sb *sb)
{
	free(sb->buf);
	memset(sb, 0, sizeof(*sb));
}

void xf_addr_text(const uint8_t *a, char *out, size_t size)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (!memcmp(a, v4mapped, 12))
		inet_ntop(AF_INET, a + 12, out, (socklen_t)size);
	else
		inet_ntop(AF_INET6, a, out, (socklen_t)size);
}
