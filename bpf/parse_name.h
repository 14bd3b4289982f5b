/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * parse_name.h - per-name features: length and label shape, character
 * classes, encoded-label classes, Shannon entropy in fixed point, and the
 * hashes of the name, of its two-label suffix and of its registered domain.
 * The DNS wire walker (parse_dns.h) and the text walker below (TLS SNI, HTTP
 * Host) feed the same steps, so a name has the same features whichever
 * protocol carried it.
 *
 * A name is walked in two flat loops rather than a loop over labels around a
 * loop over bytes: one over the bytes (a class-table add and a histogram
 * count each) that records where each label lies and its class counts, then
 * one over those labels (its hash, a word at a time, and its class). The BPF
 * verifier follows a bounded loop one iteration at a time, so the small byte
 * loop and the label loop each cost it little, where labels folded inside
 * the byte loop cost it every label step at every byte.
 */
#ifndef XF_PARSE_NAME_H
#define XF_PARSE_NAME_H

#include "parse_common.h"
#include "entropy_table.h"

#define XF_NAME_WALK 256 /* loop bound: a name is at most 255 bytes */
#define XF_LABELS_MAX 128 /* labels in a name of XF_NAME_WALK bytes */
#define XF_LABEL_WORDS (XF_LABEL_MAX / 8 + 1) /* loop bound: whole words in a label */
/*
 * Entropy needs sum(c*log2(c)) over the byte values' counts. Short names add
 * each byte's increment as they go (one table load a byte) and clear the
 * histogram with a fixed-size memset; names with at least this many bytes
 * only count, then sum and clear the histogram's non-empty words once:
 * cheaper past a few dozen bytes.
 */
#define XF_HIST_SCAN_MIN 64

/*
 * Make the compiler read memory again. In BPF a value read back from a map
 * value is unknown to the verifier: a count the byte loop kept exactly
 * (how many labels on this path) does not split the loops after it into one
 * walk per value.
 */
#define XF_FORGET() __asm__ __volatile__("" ::: "memory")

/* A label the byte loop found: where it lies and its class counts (xf_cpack). */
struct xf_lab_rec {
	__u64 counts;
	__u64 hash; /* set by the label loop */
	__u16 off; /* in the buffer */
	__u8 len;
	__u8 words; /* len / 8, apart: see xf_label_hash_w() */
	__u32 pad;
};

/*
 * Walk state. The entropy histogram (256 zeroed counters, left zeroed by
 * every walk) is passed beside it, not stored in it: in BPF the state lives
 * in a map value, and a pointer loaded back from a map value is no longer a
 * pointer to the verifier.
 */
struct xf_name_state {
	__u64 name_hash;
	__u64 lh[3]; /* hashes of the last three labels, lh[2] newest */
	__u32 lab_off[3]; /* their presentation offsets */
	__u32 clog_sum; /* sum of c*log2(c) over the byte counts, Q16 */
	__u32 nbytes; /* label bytes */
	__u32 enc_min; /* config: enc_label_min */
	__u32 nlab; /* labels recorded in lab[] */
	/*
	 * 1: labels recorded with no byte loop, hashes and lengths only
	 * (parse_dns.h, xf_dns_labels()); the class counts and entropy that
	 * xf_name_labels() and xf_name_finish_sfx() derive are then 0
	 */
	__u32 hash_only;
	struct xf_lab_rec lab[XF_LABELS_MAX]; /* not cleared: only lab[0..nlab) is read */
};

XF_INLINE void xf_name_init(struct xf_name_state *s, struct xf_name_feat *f, __u32 enc_min)
{
	__builtin_memset(s, 0, __builtin_offsetof(struct xf_name_state, lab));
	__builtin_memset(f, 0, sizeof(*f));
	s->name_hash = XF_FOLD_SEED;
	s->enc_min = enc_min;
}

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

/*
 * What the byte loops keep in locals (in BPF the state is a map value, where
 * every write would be a store): the open label's class counts and the
 * entropy increments (short names).
 */
struct xf_lab {
	__u64 counts;
	__u32 clog;
};

/*
 * One label byte, with the class and entropy tables passed in (cp is
 * xf_cpack, cd xf_clog2d). delta: add its entropy increment now (short
 * names).
 */
XF_INLINE void xf_name_char_t(struct xf_lab *l, __u8 *hist, __u8 c, int delta, const __u64 *cp,
			      const __u32 *cd)
{
	const __u64 *e = cp + c;
	__u8 *h = hist + c, cnt;

#ifdef __bpf__
	/*
	 * Both addresses in four instructions: BPF has two-operand arithmetic
	 * only, and the compiler copies both table bases to add c to each (six).
	 * The byte loop is bound by how many instructions it issues.
	 */
	__u64 a = c;

	__asm__("%[e] = %[a]\n\t"
		"%[e] <<= 3\n\t"
		"%[e] += %[cp]\n\t"
		"%[a] += %[hist]"
		: [e] "=&r"(e), [a] "+r"(a)
		: [cp] "r"(cp), [hist] "r"(hist));
	h = (__u8 *)(long)a;
#endif
	l->counts += *e;
	cnt = *h;
	/* incremental entropy: sum c*log2(c) moves by T[c+1] - T[c] */
	if (delta)
		l->clog += cd[cnt];
	*h = cnt + 1;
}

XF_INLINE void xf_name_char(struct xf_lab *l, __u8 *hist, __u8 c, int delta)
{
	xf_name_char_t(l, hist, c, delta, xf_cpack, xf_clog2d);
}

/*
 * Record the label of len bytes at off that the byte loop just closed. The
 * count is kept in memory and read back (a label is rare next to its bytes):
 * in BPF, a count or a slot pointer kept in a register across the loop would
 * be known exactly on each path, and the verifier would walk the loop apart
 * for every value it could take.
 */
XF_INLINE void xf_name_rec(struct xf_name_state *s, struct xf_lab *l, __u32 off, __u32 len)
{
	struct xf_lab_rec *r;
	__u32 n;

	XF_FORGET();
	n = s->nlab;
	r = &s->lab[n & (XF_LABELS_MAX - 1)];
	r->counts = l->counts;
	r->off = (__u16)off;
	r->len = (__u8)len;
	r->words = (__u8)(len >> 3);
	s->nlab = n + 1;
	l->counts = 0;
}

/* The byte loop is over: keep what the label loop needs. */
XF_INLINE void xf_name_bytes_done(struct xf_name_state *s, const struct xf_lab *l)
{
	s->clog_sum = l->clog;
}

/*
 * Conditions as 0/1 values without branches: BPF has no set-on-condition,
 * so the compiler turns every comparison into a branch, and the verifier
 * follows each one. XF_HIDE keeps the compiler from seeing that the value
 * is small and turning the arithmetic back into a comparison.
 */
#define XF_HIDE(x) __asm__("" : "+r"(x))

/* 1 if x (< 2^63) is not 0 */
XF_INLINE __u64 xf_nz(__u64 x)
{
	XF_HIDE(x);
	return (0 - x) >> 63;
}

/*
 * Count a recorded label that carries encoded data rather than a word (at
 * least enc_min bytes in one encoding's alphabet, or raw bytes) in its
 * class; true if it does. Hex comes first, then base32, then base64.
 */
XF_INLINE int xf_label_encoded(const struct xf_lab_rec *l, __u32 enc_min, __u8 *hex, __u8 *b32,
			       __u8 *b64)
{
	__u64 c = l->counts, n = l->len, up, lo, dig, sym, mixed, is_hex, is_b32, is_b64;

	if (n < enc_min)
		return 0;
	up = xf_nz(XF_CP(c, XF_CP_UPPER));
	lo = xf_nz(XF_CP(c, XF_CP_LOWER));
	dig = xf_nz(XF_CP(c, XF_CP_DIGIT));
	sym = xf_nz(XF_CP(c, XF_CP_SYM));
	mixed = up & lo;
	is_hex = 1 ^ xf_nz(XF_CP(c, XF_CP_HEX) ^ n);
	is_b32 = (1 ^ is_hex) & (1 ^ xf_nz(XF_CP(c, XF_CP_B32) ^ n)) & (1 ^ mixed) & dig;
	is_b64 = (1 ^ is_hex) & (1 ^ is_b32) &
		 (1 ^ xf_nz((__u8)(XF_CP(c, XF_CP_UPPER) + XF_CP(c, XF_CP_LOWER) +
				   XF_CP(c, XF_CP_DIGIT) + XF_CP(c, XF_CP_SYM) +
				   XF_CP(c, XF_CP_HYPHEN)) ^
			    n)) &
		 (sym | (mixed & dig));
	*hex += (__u8)is_hex;
	*b32 += (__u8)is_b32;
	*b64 += (__u8)is_b64;
	/* raw bytes (e.g. base128) count too */
	return (int)(is_hex | is_b32 | is_b64 | xf_nz(XF_CP(c, XF_CP_BIN)));
}

/*
 * After the label loop: the hashes and presentation offsets of the last
 * three of the n labels (for the registered domain), counted back from the
 * name's end.
 */
XF_INLINE void xf_name_tail(struct xf_name_state *s, __u32 n)
{
	__u32 j, off = s->nbytes + n; /* one past the end, as if a dot followed */

	for (j = 0; j < 3; j++) {
		const struct xf_lab_rec *l;

		if (j >= n)
			break;
		l = &s->lab[(n - 1 - j) & (XF_LABELS_MAX - 1)];
		off -= l->len + 1u;
		s->lh[2 - j] = l->hash;
		s->lab_off[2 - j] = off;
	}
}

/*
 * Fold every recorded label, in order: its hash into the name's, its class
 * counts into the name's, its length and encoded class. The name hash and
 * the class totals stay in locals through the loop; the small per-label
 * counters are updated in place (in registers they would be small exact
 * values on each path, which keeps the verifier's paths apart). The class
 * totals are summed in two packs of 16-bit lanes (a text name may have 256
 * label bytes of one class: an 8-bit lane would carry into the next), and
 * each feature keeps its low byte.
 */
XF_INLINE void xf_name_labels(const struct xf_buf *b, struct xf_name_state *s,
			      struct xf_name_feat *f)
{
	__u64 name_hash, tot = 0, tot8 = 0; /* even class bytes, odd class bytes */
	__u32 k, n, enc_min, nbytes = 0;
	__u8 known, keep;

	XF_FORGET();
	n = s->nlab;
	name_hash = s->name_hash;
	enc_min = s->enc_min;
	for (k = 0; k < XF_LABELS_MAX; k++) {
		struct xf_lab_rec *l = &s->lab[k];
		__u8 len;

		if (k >= n)
			break;
		/* the hash first: its loop's exits join before the branches below */
		len = l->len;
		if (XF_CP(l->counts, XF_CP_UPPER))
			l->hash = xf_label_hash_w(b, l->off, len, l->words, XF_LABEL_WORDS, 1);
		else /* most labels: nothing to fold */
			l->hash = xf_label_hash_w(b, l->off, len, l->words, XF_LABEL_WORDS, 0);
		name_hash = xf_hash_fold(name_hash, l->hash);
		tot += l->counts & 0x00ff00ff00ff00ffULL;
		tot8 += (l->counts >> 8) & 0x00ff00ff00ff00ffULL;
		nbytes += len;
		if (len > f->longest)
			f->longest = len;
		if (xf_label_encoded(l, enc_min, &f->hex_labels, &f->b32_labels, &f->b64_labels) &&
		    len > f->enc_longest)
			f->enc_longest = len;
	}
	s->name_hash = name_hash;
	s->nbytes = nbytes;
	f->labels = (__u8)(n < XF_LABELS_MAX ? n : XF_LABELS_MAX);
	f->lower = XF_CP(tot, XF_CP_LOWER);
	/*
	 * A hash-only walk marks each label as holding a capital, so that the
	 * branch above folds case; masked out here without a branch (each
	 * branch would split the verifier's states).
	 */
	keep = (__u8)(s->hash_only - 1);
	f->upper = XF_CP(tot8, XF_CP_UPPER - 8) & keep;
	f->digit = XF_CP(tot, XF_CP_DIGIT);
	f->hyphen = XF_CP(tot8, XF_CP_HYPHEN - 8);
	f->b64sym = XF_CP(tot, XF_CP_SYM);
	f->binary = XF_CP(tot8, XF_CP_BIN - 8);
	known = f->lower + f->upper + f->digit + f->hyphen + f->b64sym + f->binary;
	f->other = (__u8)(nbytes - known) & keep;
	xf_name_tail(s, f->labels);
}

/*
 * Finish the entropy sum and leave the histogram zeroed. Short names (delta)
 * summed as they went: clear all 256 counters. Long ones: sum T[count] over
 * the non-empty counters, a word of eight at a time, and clear those words
 * (counts of 0 and 1 add nothing: T[0] = T[1] = 0).
 */
XF_INLINE void xf_name_hist_done(struct xf_name_state *s, __u8 *hist, int delta)
{
	__u32 i, j, sum = 0;

	if (delta) {
		/* 8-aligned (scratch map value; an array this size on a stack):
		 * word stores, not 256 byte stores */
		__builtin_memset(__builtin_assume_aligned(hist, 8), 0, 256);
		return;
	}
	hist = __builtin_assume_aligned(hist, 8);
	for (i = 0; i < 256 / 8; i++) {
		__u64 w;

		__builtin_memcpy(&w, hist + i * 8, 8);
		if (!w)
			continue;
		__builtin_memset(hist + i * 8, 0, 8);
		if (!(w & 0xfefefefefefefefeULL))
			continue;
		for (j = 0; j < 8; j++) {
			sum += xf_clog2c[w & 0xff];
			w >>= 8;
		}
	}
	s->clog_sum = sum;
}

/*
 * xf_name_hist_done(s, hist, 0) for the DNS byte loop of a long name, which
 * the BPF build runs in a function of its own with registers to spare.
 */
XF_INLINE void xf_name_hist_sum(struct xf_name_state *s, __u8 *hist)
{
	const __u32 *t = xf_clog2c;
	__u32 i, j, k, sum = 0;

	/*
	 * Four words (32 counters) are tested at once: a name's bytes fall in a
	 * few of those groups (letters, digits), so most are skipped with one
	 * test. The table's address is kept in a register (BPF: a 64-bit
	 * constant the compiler would load again for every counter).
	 */
	hist = __builtin_assume_aligned(hist, 8);
	XF_HIDE(t);
	for (i = 0; i < 256 / 32; i++) {
		__u64 *g = (__u64 *)(hist + i * 32);
		__u64 w;

		if (!(g[0] | g[1] | g[2] | g[3]))
			continue;
		XF_UNROLL_FULL
		for (k = 0; k < 4; k++) {
			w = g[k];
			if (!w)
				continue;
			g[k] = 0;
			if (!(w & 0xfefefefefefefefeULL))
				continue;
			for (j = 0; j < 8; j++) {
				sum += t[w & 0xff];
				w >>= 8;
			}
		}
	}
	s->clog_sum = sum;
}

/* Hash of the last two labels: the key to look up in the suffixes map. */
XF_INLINE __u64 xf_name_suffix2(const struct xf_name_state *s)
{
	return xf_hash_fold(xf_hash_fold(XF_FOLD_SEED, s->lh[1]), s->lh[2]);
}

/*
 * Finish the features. suffix_known says whether the two-label suffix is a
 * public suffix (the caller looked it up), which makes the registered domain
 * three labels long; sfx2 is xf_name_suffix2(s), which the caller has
 * computed for that lookup: it is the registered domain's hash when that has
 * two labels (the common case), so it is not folded again.
 */
XF_INLINE void xf_name_finish_sfx(struct xf_name_state *s, struct xf_name_feat *f, int suffix_known,
				  __u64 sfx2)
{
	__u32 n, t, idx;
	__u64 h = XF_FOLD_SEED;

	XF_FORGET(); /* the label loop's sums, read back: unknown to the verifier */
	n = s->nbytes & 0xff; /* <= 253: the mask only bounds the index */
	n &= s->hash_only - 1; /* hash-only: no entropy (0 bytes profiled) */

	f->name_len = (__u16)(f->labels ? s->nbytes + f->labels - 1 : 0); /* dots between labels */
	f->name_hash = s->name_hash;
	f->rd_labels = f->labels < 2 ? f->labels : 2;
	if (f->labels >= 3 && suffix_known)
		f->rd_labels = 3;
	idx = 3 - f->rd_labels;
	if (idx == 1) {
		h = sfx2;
	} else {
		if (idx == 0)
			h = xf_hash_fold(xf_hash_fold(h, s->lh[0]), s->lh[1]);
		if (idx <= 2)
			h = xf_hash_fold(h, s->lh[2]);
	}
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

/* xf_name_finish_sfx() for callers that have not computed the suffix hash. */
XF_INLINE void xf_name_finish(struct xf_name_state *s, struct xf_name_feat *f, int suffix_known)
{
	xf_name_finish_sfx(s, f, suffix_known, xf_name_suffix2(s));
}

/* What the DNS and text walkers work on. */
struct xf_walk {
	const struct xf_buf *b;
	struct xf_name_state *s;
	struct xf_name_feat *f;
	__u8 *hist; /* 256 zeroed counters, 8-aligned; left zeroed */
};

/*
 * The bytes of the dotted text name of n (<= XF_NAME_WALK) bytes at off.
 * Empty labels (a trailing dot, doubled dots) are skipped. A label over 63
 * bytes (never valid) is cut there, and its rest counts as the next label.
 * A label's length comes from offsets in the buffer, not from a count kept
 * per byte: that saves an add a byte, and a count the BPF verifier would
 * know exactly.
 */
XF_INLINE void xf_text_bytes(struct xf_walk *w, __u32 off, __u32 n, int delta)
{
	const __u8 *q = xf_at(w->b, off); /* locals: the histogram stores alias nothing of them */
	__u8 *hist = w->hist;
	struct xf_lab l = { 0 };
	__u32 i, start = off; /* the open label's offset in the buffer */

	for (i = 0; i < XF_NAME_WALK; i++) {
		__u8 c;

		if (i >= n)
			break;
		c = q[i];
		if (c == '.') {
			if (off + i > start)
				xf_name_rec(w->s, &l, start, off + i - start);
			start = off + i + 1;
			continue;
		}
		if (off + i - start >= XF_LABEL_MAX) {
			xf_name_rec(w->s, &l, start, XF_LABEL_MAX);
			start = off + i;
		}
		xf_name_char(&l, hist, c, delta);
	}
	if (off + i > start)
		xf_name_rec(w->s, &l, start, off + i - start);
	xf_name_bytes_done(w->s, &l);
	xf_name_hist_done(w->s, hist, delta);
}

/* The byte loop of a dotted text name (SNI, Host) of len bytes at off. */
XF_INLINE void xf_text_walk_bytes(struct xf_walk *w, __u32 off, __u32 len)
{
	__u32 n = len < XF_NAME_WALK ? len : XF_NAME_WALK;

	/* n bounds the label bytes: pick how the entropy is summed up front */
	if (n < XF_HIST_SCAN_MIN)
		xf_text_bytes(w, off, n, 1);
	else
		xf_text_bytes(w, off, n, 0);
}

/* Walk a dotted text name (SNI, Host) of len bytes at off. Returns the label count. */
XF_INLINE int xf_name_walk_text(struct xf_walk *w, __u32 off, __u32 len)
{
	xf_text_walk_bytes(w, off, len);
	xf_name_labels(w->b, w->s, w->f);
	return w->f->labels;
}

#endif /* XF_PARSE_NAME_H */
