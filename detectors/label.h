/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * label.h - split a presentation name into labels, for the tag hooks of
 * detectors that judge one name at a time (signature.c, sni.c, host.c).
 * Header only, static inline, no I/O. Names arrive escaped (RFC 1035
 * presentation: "\." is a dot inside a label, "\DDD" a raw byte), so a
 * label ends at a dot that is not escaped; labels keep their escapes.
 */
#ifndef XF_DET_LABEL_H
#define XF_DET_LABEL_H

#include <stddef.h>
#include <string.h>
#include <strings.h>

#define XF_DET_LABELS 128 /* a 253-byte name has at most 127 labels */

struct xf_labels {
	int n;
	int rd; /* index of the registered domain's first label (n when unknown) */
	const char *p[XF_DET_LABELS];
	unsigned char len[XF_DET_LABELS];
};

/* Split name[0..len) at unescaped dots; empty labels are skipped. */
static inline void xf_labels_split(const char *name, size_t len, size_t rd_off, struct xf_labels *l)
{
	size_t i, start = 0;

	l->n = 0;
	l->rd = -1;
	for (i = 0; i <= len; i++) {
		if (i < len && name[i] == '\\') {
			i++; /* the escaped byte (or the first of \DDD) is label data */
			continue;
		}
		if (i < len && name[i] != '.')
			continue;
		if (i > start && l->n < XF_DET_LABELS) {
			if (l->rd < 0 && start >= rd_off)
				l->rd = l->n;
			l->p[l->n] = name + start;
			l->len[l->n] = (unsigned char)(i - start > 255 ? 255 : i - start);
			l->n++;
		}
		start = i + 1;
	}
	if (l->rd < 0)
		l->rd = l->n;
}

/* Label i equals s, ASCII case folded. */
static inline int xf_label_is(const struct xf_labels *l, int i, const char *s)
{
	size_t n = strlen(s);

	return i >= 0 && i < l->n && l->len[i] == n && !strncasecmp(l->p[i], s, n);
}

/* Every byte of label i is in the set accept (case as given). */
static inline int xf_label_all(const struct xf_labels *l, int i, const char *accept)
{
	if (i < 0 || i >= l->n)
		return 0;
	for (int k = 0; k < l->len[i]; k++)
		if (!l->p[i][k] || !strchr(accept, l->p[i][k]))
			return 0;
	return 1;
}

/* Label i holds the substring s (case-sensitive). */
static inline int xf_label_has(const struct xf_labels *l, int i, const char *s)
{
	size_t n = strlen(s);

	if (i < 0 || i >= l->n || l->len[i] < n)
		return 0;
	for (size_t k = 0; k + n <= l->len[i]; k++)
		if (!memcmp(l->p[i] + k, s, n))
			return 1;
	return 0;
}

#define XF_HEX_LOWER "0123456789abcdef"
#define XF_HEX_ANY "0123456789abcdefABCDEF"
#define XF_DIGITS "0123456789"

#endif /* XF_DET_LABEL_H */
