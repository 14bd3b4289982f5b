/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * parse_name.h - per-name features, one byte at a time: length and label
 * shape, character classes, encoded-label classes, Shannon entropy in fixed
 * point, and the hashes of the name, of its two-label suffix and of its
 * registered domain. The DNS wire walker (parse_dns.h) and the text walker
 * below (TLS SNI, HTTP Host) feed the same steps, so a name has the same
 * features whichever protocol carried it.
 */
#ifndef XF_PARSE_NAME_H
#define XF_PARSE_NAME_H

#include "parse_common.h"
#include "entropy_table.h"

#define XF_NAME_WALK 256 /* loop bound: a name is at most 255 bytes */

/*
 * Walk state. The entropy histogram (256 zeroed counters) is passed beside
 * it, not stored in it: in BPF the state lives in a map value, and a pointer
 * loaded back from a map value is no longer a pointer to the verifier.
 */
struct xf_name_state {
	__u64 name_hash;
	__u64 lh[3]; /* hashes of the last three labels, lh[2] newest */
	__u32 lab_off[3]; /* their presentation offsets */
	__u32 clog_sum; /* running sum of c*log2(c), Q16 */
	__u32 nbytes; /* label bytes seen */
	__u32 pres_len; /* presentation length so far */
	__u32 enc_min; /* config: enc_label_min */
};

XF_INLINE void xf_name_init(struct xf_name_state *s, struct xf_name_feat *f, __u32 enc_min)
{
	__builtin_memset(s, 0, sizeof(*s));
	__builtin_memset(f, 0, sizeof(*f));
	s->name_hash = XF_FOLD_SEED;
	s->enc_min = enc_min;
}

/*
 * Per-label accumulator, kept in locals while a label's bytes are walked and
 * folded into the state at its end: per byte that is one class load, one
 * packed-counter add, the hash step and the histogram update, with nothing
 * written through to the state (the kernel's state lives in a map value,
 * where every write would be a store).
 */
struct xf_lab {
	__u64 hash;
	__u64 counts; /* one byte per class, see xf_cpack */
	__u32 clog; /* sum of c*log2(c) increments, Q16 */
	__u32 len;
};

/*
 * Packed per-class counters: one table load and one add per byte count all
 * eight classes, and a label's shape (all hex? all base32?) follows from the
 * totals at its end. A label has at most 63 bytes, so a byte never carries.
 */
#define XF_CP_LOWER 0
#define XF_CP_UPPER 8
#define XF_CP_DIGIT 16
#define XF_CP_HYPHEN 24
#define XF_CP_SYM 32 /* + / = _ */
#define XF_CP_BIN 40
#define XF_CP_HEX 48 /* 0-9 a-f A-F */
#define XF_CP_B32 56 /* a-z A-Z 2-7 */
#define XF_CP(c, f) ((__u8)((c) >> (f)))

#define XF_CPL (1ULL << XF_CP_LOWER | 1ULL << XF_CP_B32)
#define XF_CPU (1ULL << XF_CP_UPPER | 1ULL << XF_CP_B32)

static const __u64 xf_cpack[256] = {
	[0x00 ... 0x20] = 1ULL << XF_CP_BIN,
	['+'] = 1ULL << XF_CP_SYM,
	['/'] = 1ULL << XF_CP_SYM,
	['='] = 1ULL << XF_CP_SYM,
	['_'] = 1ULL << XF_CP_SYM,
	['-'] = 1ULL << XF_CP_HYPHEN,
	['0' ... '1'] = 1ULL << XF_CP_DIGIT | 1ULL << XF_CP_HEX,
	['2' ... '7'] = 1ULL << XF_CP_DIGIT | 1ULL << XF_CP_HEX | 1ULL << XF_CP_B32,
	['8' ... '9'] = 1ULL << XF_CP_DIGIT | 1ULL << XF_CP_HEX,
	['a' ... 'f'] = XF_CPL | 1ULL << XF_CP_HEX,
	['g' ... 'z'] = XF_CPL,
	['A' ... 'F'] = XF_CPU | 1ULL << XF_CP_HEX,
	['G' ... 'Z'] = XF_CPU,
	[0x7f ... 0xff] = 1ULL << XF_CP_BIN,
};

XF_INLINE void xf_name_label_start(struct xf_name_state *s, struct xf_lab *l)
{
	l->hash = XF_FNV_OFFSET;
	l->counts = 0;
	l->clog = 0;
	l->len = 0;
	if (s->pres_len)
		s->pres_len++; /* the dot before this label */
	s->lab_off[0] = s->lab_off[1];
	s->lab_off[1] = s->lab_off[2];
	s->lab_off[2] = s->pres_len;
}

XF_INLINE void xf_name_char(struct xf_lab *l, __u8 *hist, __u8 c)
{
	__u8 cnt = hist[c];

	l->hash = xf_label_hash_step(l->hash, c);
	l->counts += xf_cpack[c];
	/* incremental entropy: sum c*log2(c) moves by T[c+1] - T[c] */
	l->clog += xf_clog2c[cnt + 1] - xf_clog2c[cnt];
	hist[c] = cnt + 1;
}

/* true for a label that carries encoded data rather than a word */
XF_INLINE int xf_label_encoded(const struct xf_name_state *s, const struct xf_lab *l,
			       struct xf_name_feat *f)
{
	__u64 c = l->counts;
	__u8 n = (__u8)l->len, up = XF_CP(c, XF_CP_UPPER), lo = XF_CP(c, XF_CP_LOWER);
	__u8 dig = XF_CP(c, XF_CP_DIGIT), sym = XF_CP(c, XF_CP_SYM);
	int mixed = up && lo;

	if (l->len < s->enc_min)
		return 0;
	if (XF_CP(c, XF_CP_HEX) == n) {
		f->hex_labels++;
		return 1;
	}
	if (XF_CP(c, XF_CP_B32) == n && !mixed && dig) {
		f->b32_labels++;
		return 1;
	}
	if ((__u8)(up + lo + dig + sym + XF_CP(c, XF_CP_HYPHEN)) == n && (sym || (mixed && dig))) {
		f->b64_labels++;
		return 1;
	}
	return XF_CP(c, XF_CP_BIN) != 0; /* raw bytes, e.g. base128 */
}

/* Fold a finished label into the name's state and features. */
XF_INLINE void xf_name_label_end(struct xf_name_state *s, struct xf_name_feat *f,
				 const struct xf_lab *l)
{
	__u64 c = l->counts;
	__u8 known;

	f->lower += XF_CP(c, XF_CP_LOWER);
	f->upper += XF_CP(c, XF_CP_UPPER);
	f->digit += XF_CP(c, XF_CP_DIGIT);
	f->hyphen += XF_CP(c, XF_CP_HYPHEN);
	f->b64sym += XF_CP(c, XF_CP_SYM);
	f->binary += XF_CP(c, XF_CP_BIN);
	known = XF_CP(c, XF_CP_LOWER) + XF_CP(c, XF_CP_UPPER) + XF_CP(c, XF_CP_DIGIT) +
		XF_CP(c, XF_CP_HYPHEN) + XF_CP(c, XF_CP_SYM) + XF_CP(c, XF_CP_BIN);
	f->other += (__u8)(l->len - known);
	s->clog_sum += l->clog;
	s->nbytes += l->len;
	s->pres_len += l->len;
	if (l->len > f->longest)
		f->longest = (__u8)l->len;
	if (xf_label_encoded(s, l, f) && l->len > f->enc_longest)
		f->enc_longest = (__u8)l->len;
	s->lh[0] = s->lh[1];
	s->lh[1] = s->lh[2];
	s->lh[2] = l->hash;
	s->name_hash = xf_hash_fold(s->name_hash, l->hash);
	f->labels++;
}

/* Hash of the last two labels: the key to look up in the suffixes map. */
XF_INLINE __u64 xf_name_suffix2(const struct xf_name_state *s)
{
	return xf_hash_fold(xf_hash_fold(XF_FOLD_SEED, s->lh[1]), s->lh[2]);
}

/*
 * Finish the features. suffix_known says whether the two-label suffix is a
 * public suffix (the caller looked it up), which makes the registered domain
 * three labels long.
 */
XF_INLINE void xf_name_finish(struct xf_name_state *s, struct xf_name_feat *f, int suffix_known)
{
	__u32 n = s->nbytes & 0xff; /* <= 253: the mask only bounds the index */
	__u32 t, idx;
	__u64 h = XF_FOLD_SEED;

	f->name_len = (__u16)s->pres_len;
	f->name_hash = s->name_hash;
	f->rd_labels = f->labels < 2 ? f->labels : 2;
	if (f->labels >= 3 && suffix_known)
		f->rd_labels = 3;
	idx = 3 - f->rd_labels;
	if (idx == 0)
		h = xf_hash_fold(h, s->lh[0]);
	if (idx <= 1)
		h = xf_hash_fold(h, s->lh[1]);
	if (idx <= 2)
		h = xf_hash_fold(h, s->lh[2]);
	f->rd_hash = h;
	if (f->rd_labels == 3)
		f->rd_off = (__u8)s->lab_off[0];
	else if (f->rd_labels == 2)
		f->rd_off = (__u8)s->lab_off[1];
	else
		f->rd_off = (__u8)s->lab_off[2];

	t = xf_clog2c[n];
	if (n && t > s->clog_sum)
		f->entropy = (__u16)((((__u64)(t - s->clog_sum) * 1000) / n) >> XF_CLOG2_SHIFT);
}

/* One label of len bytes at off: every byte, then the label's class. */
XF_INLINE void xf_name_label(const struct xf_buf *b, __u32 off, __u32 len,
			     struct xf_name_state *s, struct xf_name_feat *f, __u8 *hist)
{
	struct xf_lab l;
	__u32 j;

	xf_name_label_start(s, &l);
	for (j = 0; j < XF_LABEL_MAX; j++) {
		if (j >= len)
			break;
		xf_name_char(&l, hist, xf_b8(b, off + j));
	}
	l.len = j;
	xf_name_label_end(s, f, &l);
}

/* What the DNS and text walkers carry from label to label. */
struct xf_walk {
	const struct xf_buf *b;
	struct xf_name_state *s;
	struct xf_name_feat *f;
	__u8 *hist;
	void *priv; /* BPF: the per-CPU scratch entry, for XF_NAME_LABEL */
};

/*
 * How a walker processes one label (XF_NAME_LABEL: wire, XF_TEXT_LABEL: dotted
 * text). BPF builds override both with calls to global functions (see process.bpf.h): the verifier checks that body once,
 * instead of once for every label position of every name.
 */
#ifndef XF_NAME_LABEL
#define XF_NAME_LABEL(w, off, len) xf_name_label((w)->b, (off), (len), (w)->s, (w)->f, (w)->hist)
#endif

/*
 * The text label at pos (not a dot) up to the next dot or end: its bytes,
 * then its class. A label over 63 bytes (never valid) is cut there, and its
 * rest counts as the next label. Returns the bytes consumed (>= 1).
 */
XF_INLINE __u32 xf_text_label(const struct xf_buf *b, __u32 pos, __u32 end,
			      struct xf_name_state *s, struct xf_name_feat *f, __u8 *hist)
{
	struct xf_lab l;
	__u32 j;

	xf_name_label_start(s, &l);
	for (j = 0; j < XF_LABEL_MAX; j++) {
		__u8 c;

		if (pos + j >= end)
			break;
		c = xf_b8(b, pos + j);
		if (c == '.')
			break;
		xf_name_char(&l, hist, c);
	}
	l.len = j;
	xf_name_label_end(s, f, &l);
	return j;
}

#ifndef XF_TEXT_LABEL
#define XF_TEXT_LABEL(w, pos, end) xf_text_label((w)->b, (pos), (end), (w)->s, (w)->f, (w)->hist)
#endif

/*
 * Walk a dotted text name (SNI, Host) of len bytes at off. Empty labels (a
 * trailing dot, doubled dots) are skipped. Returns the label count.
 */
XF_INLINE int xf_name_walk_text(struct xf_walk *w, __u32 off, __u32 len)
{
	__u32 pos = off, end = off + (len < XF_NAME_WALK ? len : XF_NAME_WALK), i;

	for (i = 0; i < XF_NAME_WALK; i++) {
		if (pos >= end)
			break;
		if (xf_b8(w->b, pos) == '.') {
			pos++;
			continue;
		}
		pos += XF_TEXT_LABEL(w, pos, end);
	}
	return w->f->labels;
}

#endif /* XF_PARSE_NAME_H */
