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
	__u64 lab_hash;
	__u64 lh[3]; /* hashes of the last three labels, lh[2] newest */
	__u32 lab_off[3]; /* their presentation offsets */
	__u32 clog_sum; /* running sum of c*log2(c), Q16 */
	__u32 nbytes; /* label bytes seen */
	__u32 pres_len; /* presentation length so far */
	__u32 lab_len;
	__u32 enc_min; /* config: enc_label_min */
	__u8 lab_and; /* AND of the current label's class bits */
	__u8 lab_or; /* OR of them */
	__u8 pad[2];
};

XF_INLINE void xf_name_init(struct xf_name_state *s, struct xf_name_feat *f, __u32 enc_min)
{
	__builtin_memset(s, 0, sizeof(*s));
	__builtin_memset(f, 0, sizeof(*f));
	s->name_hash = XF_FOLD_SEED;
	s->enc_min = enc_min;
}

XF_INLINE void xf_name_label_start(struct xf_name_state *s)
{
	s->lab_hash = XF_FNV_OFFSET;
	s->lab_len = 0;
	s->lab_and = 0xff;
	s->lab_or = 0;
	if (s->pres_len)
		s->pres_len++; /* the dot before this label */
	s->lab_off[0] = s->lab_off[1];
	s->lab_off[1] = s->lab_off[2];
	s->lab_off[2] = s->pres_len;
}

XF_INLINE void xf_name_char(struct xf_name_state *s, struct xf_name_feat *f, __u8 *hist, __u8 c)
{
	__u8 cl = xf_cclass[c];
	__u8 cnt = hist[c];

	s->lab_hash = xf_label_hash_step(s->lab_hash, c);
	s->lab_and &= cl;
	s->lab_or |= cl;
	s->lab_len++;
	s->pres_len++;
	s->nbytes++;

	f->lower += cl & XF_C_LOWER;
	f->upper += (cl >> 1) & 1;
	f->digit += (cl >> 2) & 1;
	f->b64sym += (cl >> 6) & 1;
	f->binary += cl >> 7;
	f->hyphen += c == '-';
	f->other += cl == 0;

	/* incremental entropy: sum c*log2(c) moves by T[c+1] - T[c] */
	s->clog_sum += xf_clog2c[cnt + 1] - xf_clog2c[cnt];
	hist[c] = cnt + 1;
}

/* true for a label that carries encoded data rather than a word */
XF_INLINE int xf_label_encoded(struct xf_name_state *s, struct xf_name_feat *f)
{
	__u8 a = s->lab_and, o = s->lab_or;
	int mixed = (o & XF_C_UPPER) && (o & XF_C_LOWER);

	if (s->lab_len < s->enc_min)
		return 0;
	if (a & XF_C_HEX) {
		f->hex_labels++;
		return 1;
	}
	if ((a & XF_C_B32) && !mixed && (o & XF_C_DIGIT)) {
		f->b32_labels++;
		return 1;
	}
	if ((a & XF_C_B64) && ((o & XF_C_SYM) || (mixed && (o & XF_C_DIGIT)))) {
		f->b64_labels++;
		return 1;
	}
	return (o & XF_C_BIN) != 0; /* raw bytes, e.g. base128 */
}

XF_INLINE void xf_name_label_end(struct xf_name_state *s, struct xf_name_feat *f)
{
	if (s->lab_len > f->longest)
		f->longest = (__u8)s->lab_len;
	if (xf_label_encoded(s, f) && s->lab_len > f->enc_longest)
		f->enc_longest = (__u8)s->lab_len;
	s->lh[0] = s->lh[1];
	s->lh[1] = s->lh[2];
	s->lh[2] = s->lab_hash;
	s->name_hash = xf_hash_fold(s->name_hash, s->lab_hash);
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
	__u32 j;

	xf_name_label_start(s);
	for (j = 0; j < XF_LABEL_MAX; j++) {
		if (j >= len)
			break;
		xf_name_char(s, f, hist, xf_b8(b, off + j));
	}
	xf_name_label_end(s, f);
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
	__u32 j;

	xf_name_label_start(s);
	for (j = 0; j < XF_LABEL_MAX; j++) {
		__u8 c;

		if (pos + j >= end)
			break;
		c = xf_b8(b, pos + j);
		if (c == '.')
			break;
		xf_name_char(s, f, hist, c);
	}
	xf_name_label_end(s, f);
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
