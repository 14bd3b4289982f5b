/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * parse_common.h - the byte cursor, character classes and hashes that every
 * parser uses. Plain bounded C: the same code compiles into the BPF objects
 * (clang -target bpf) and into userspace (gcc), so replay sees the very same
 * features as the kernel.
 *
 * A parser reads a struct xf_buf: in BPF a per-CPU scratch copy of packet
 * bytes, in userspace the packet itself. Offsets are masked with XF_BUF_MASK
 * so the verifier can bound every read; callers check offsets against len
 * first, and len never exceeds XF_BUF_LEN, so the mask never changes a valid
 * offset.
 */
#ifndef XF_PARSE_COMMON_H
#define XF_PARSE_COMMON_H

#ifdef __bpf__
#define XF_INLINE static __always_inline
#else
#define XF_INLINE static inline __attribute__((unused))
#endif

#define XF_BUF_LEN 2048 /* payload window: power of two for the mask */
#define XF_BUF_MASK (XF_BUF_LEN - 1)
#define XF_HDR_WIN 192 /* L2-L4 headers must end within this many bytes */

/*
 * Unroll a bounded loop n times in the BPF build (n must divide its trip
 * count). BPF loads and stores take a register plus a constant offset,
 * nothing scaled or indexed: in a rolled byte loop every step pays an add
 * for its address and two for the loop's own counter and test.
 */
#if defined(__bpf__) && defined(__clang__)
#define XF_PRAGMA(x) _Pragma(#x)
#define XF_UNROLL_FULL XF_PRAGMA(clang loop unroll(full))
#else
#define XF_UNROLL_FULL
#endif

/* Parser results: 0 = parsed, XF_SKIP = not ours, negative = -enum xf_perr. */
#define XF_OK 0
#define XF_SKIP 1

struct xf_buf {
	const __u8 *p;
	__u32 len; /* <= XF_BUF_LEN */
};

XF_INLINE __u8 xf_b8(const struct xf_buf *b, __u32 off)
{
	return b->p[off & XF_BUF_MASK];
}

/*
 * A cursor for a bounded walk: p[i] for i < XF_NAME_WALK is b[off + i]. In
 * BPF the masked offset plus the walk stays inside the scratch buffer.
 */
XF_INLINE const __u8 *xf_at(const struct xf_buf *b, __u32 off)
{
	return b->p + (off & XF_BUF_MASK);
}

XF_INLINE __u16 xf_b16(const struct xf_buf *b, __u32 off)
{
	return (__u16)((xf_b8(b, off) << 8) | xf_b8(b, off + 1));
}

XF_INLINE __u32 xf_b24(const struct xf_buf *b, __u32 off)
{
	return ((__u32)xf_b8(b, off) << 16) | xf_b16(b, off + 1);
}

/* true when n bytes at off lie inside the buffer (no overflow: both < 2^16) */
XF_INLINE int xf_has(const struct xf_buf *b, __u32 off, __u32 n)
{
	return off + n <= b->len;
}

/* Character classes, one byte of flags per byte value. */
#define XF_C_LOWER 0x01
#define XF_C_UPPER 0x02
#define XF_C_DIGIT 0x04
#define XF_C_HEX 0x08 /* 0-9 a-f A-F */
#define XF_C_B32 0x10 /* a-z A-Z 2-7 (RFC 4648 base32, either case) */
#define XF_C_B64 0x20 /* letters, digits, + / = _ - (base64 and base64url) */
#define XF_C_SYM 0x40 /* + / = _ */
#define XF_C_BIN 0x80 /* control, space, DEL, >= 0x80: never in a hostname */

static const __u8 xf_cclass[256] = {
	[0x00 ... 0x20] = XF_C_BIN,
	['+'] = XF_C_B64 | XF_C_SYM,
	['/'] = XF_C_B64 | XF_C_SYM,
	['='] = XF_C_B64 | XF_C_SYM,
	['_'] = XF_C_B64 | XF_C_SYM,
	['-'] = XF_C_B64,
	['0' ... '1'] = XF_C_DIGIT | XF_C_HEX | XF_C_B64,
	['2' ... '7'] = XF_C_DIGIT | XF_C_HEX | XF_C_B32 | XF_C_B64,
	['8' ... '9'] = XF_C_DIGIT | XF_C_HEX | XF_C_B64,
	['a' ... 'f'] = XF_C_LOWER | XF_C_HEX | XF_C_B32 | XF_C_B64,
	['g' ... 'z'] = XF_C_LOWER | XF_C_B32 | XF_C_B64,
	['A' ... 'F'] = XF_C_UPPER | XF_C_HEX | XF_C_B32 | XF_C_B64,
	['G' ... 'Z'] = XF_C_UPPER | XF_C_B32 | XF_C_B64,
	[0x7f ... 0xff] = XF_C_BIN,
};

/*
 * Name hashing. A label hashes its bytes, ASCII letters folded to lower case,
 * eight at a time: each little-endian word (the last one zero-padded) is
 * mixed in with one multiply, and the length closes it, so no per-byte
 * multiply chain sets the pace of the walk. A name is the fold of its label
 * hashes in order. Because the registered domain and the two-label suffix
 * are folds of the last labels, the kernel gets them from the label hashes
 * of one pass, and userspace computes the same keys from text with
 * xf_name_hash_text() (sensor side).
 */
#define XF_LH_SEED 0x243f6a8885a308d3ULL
#define XF_LH_MUL 0x9fb21c651e98df25ULL
#define XF_FOLD_SEED 0x6a09e667f3bcc909ULL

XF_INLINE __u64 xf_hash_fold(__u64 h, __u64 label_hash)
{
	h = (h ^ label_hash) * 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 29);
}

/* Eight bytes with 'A'..'Z' turned into 'a'..'z'; other bytes (>= 0x80 too) kept. */
XF_INLINE __u64 xf_lower8(__u64 x)
{
	__u64 t = x & 0x7f7f7f7f7f7f7f7fULL;
	__u64 ge_a = t + 0x3f3f3f3f3f3f3f3fULL; /* bit 7 set where t >= 'A' */
	__u64 gt_z = t + 0x2525252525252525ULL; /* bit 7 set where t > 'Z' */

	return x | (((ge_a & ~gt_z & ~x) & 0x8080808080808080ULL) >> 2);
}

/*
 * n (1..8) bytes at off as a little-endian word, zero-padded. BPF reads one
 * word (the scratch buffer has room past any masked offset) and masks it;
 * userspace reads exactly n bytes, so it never runs past its buffer.
 */
XF_INLINE __u64 xf_w64(const struct xf_buf *b, __u32 off, __u32 n)
{
#ifdef __bpf__
	__u64 w = *(const __u64 *)(b->p + (off & XF_BUF_MASK));

#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	return w & (~0ULL >> ((64 - 8 * n) & 63));
#else
	__u64 w = 0;
	__u32 i;

	for (i = 0; i < n && i < 8; i++)
		w |= (__u64)b->p[off + i] << (8 * i);
	return w;
#endif
}

/*
 * The end of a label hash: its length, a multiply and a shift that brings
 * the high bits down (every use folds it into a name hash, which mixes
 * again: xf_hash_fold()).
 */
XF_INLINE __u64 xf_label_hash_end(__u64 h, __u32 len)
{
	h = (h ^ len) * 0xff51afd7ed558ccdULL;
	return h ^ (h >> 32);
}

/*
 * Hash of the len-byte label at off: its whole words (words = len / 8), then
 * the zero-padded rest. maxw (a loop bound) must cover the whole words.
 * words is passed apart from len for the BPF verifier: a loop bound it
 * tracks exactly, while len stays an unknown it need not split paths on.
 * fold: 0 when the label is known to have no upper-case letter (folding
 * would change nothing).
 */
#ifdef __bpf__
/* One whole word of a label hash, k words past the label's start q (BPF). */
XF_INLINE __u64 xf_lh_word(__u64 h, const __u8 *q, __u32 k, __u64 mask, int fold)
{
	__u64 w = *(const __u64 *)(q + k * 8);

#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	w &= mask;
	return (h ^ (fold ? xf_lower8(w) : w)) * XF_LH_MUL;
}

/*
 * BPF: the label's start is masked once, and its words are read by a
 * pointer that steps 8 bytes at a time (a label has at most 63 bytes, so at
 * most 7 whole words; the reads stay within 64 bytes of the start, and the
 * scratch buffer has room for that past any masked offset). Masking each
 * word's offset, as xf_w64() does, cost a mask and an add a word, and the
 * verifier a longer walk: 13 to 27 ns off the 253-character name, 27k fewer
 * verifier instructions (bench_bpf --ab, BENCHMARKS.md).
 */
XF_INLINE __u64 xf_label_hash_w(const struct xf_buf *b, __u32 off, __u32 len, __u32 words,
				__u32 maxw, int fold)
{
	const __u8 *q = xf_at(b, off);
	__u64 h = XF_LH_SEED;
	__u32 k;

	(void)maxw; /* the bound is a label's 7 whole words */
	for (k = 0; k < XF_LABEL_MAX / 8; k++) {
		if (k >= words)
			break;
		h = xf_lh_word(h, q, k, ~0ULL, fold);
	}
	if (len & 7)
		h = xf_lh_word(h, q, words & 7, ~0ULL >> ((64 - 8 * (len & 7)) & 63), fold);
	return xf_label_hash_end(h, len);
}
#else
XF_INLINE __u64 xf_label_hash_w(const struct xf_buf *b, __u32 off, __u32 len, __u32 words,
				__u32 maxw, int fold)
{
	__u64 h = XF_LH_SEED, w;
	__u64 k;

	/* a word costs one xor and one multiply on the chain; the end mixes */
	for (k = 0; k < maxw; k++) {
		if (k >= words)
			break;
		w = xf_w64(b, off + k * 8, 8);
		h = (h ^ (fold ? xf_lower8(w) : w)) * XF_LH_MUL;
	}
	if (len & 7) {
		w = xf_w64(b, off + words * 8, len & 7);
		h = (h ^ (fold ? xf_lower8(w) : w)) * XF_LH_MUL;
	}
	return xf_label_hash_end(h, len);
}
#endif

/* xf_label_hash_w() for a label of unknown case (userspace: text names). */
XF_INLINE __u64 xf_label_hash(const struct xf_buf *b, __u32 off, __u32 len, __u32 maxw)
{
	return xf_label_hash_w(b, off, len, len >> 3, maxw, 1);
}

/*
 * Count trailing zeros without a ctz instruction (BPF has none), x != 0: the
 * lowest set bit times a de Bruijn sequence puts a distinct 6-bit pattern in
 * the top bits, which a table maps back to the bit's index. No branches.
 */
/* a data table, laid out by hand */
/* clang-format off */
static const __u8 xf_debruijn64[64] = {
	0, 1, 48, 2, 57, 49, 28, 3, 61, 58, 50, 42, 38, 29, 17, 4,
	62, 55, 59, 36, 53, 51, 43, 22, 45, 39, 33, 30, 24, 18, 12, 5,
	63, 47, 56, 27, 60, 41, 37, 16, 54, 35, 52, 21, 44, 32, 23, 11,
	46, 26, 40, 15, 34, 20, 31, 10, 25, 14, 19, 9, 13, 8, 7, 6,
};
/* clang-format on */

XF_INLINE __u32 xf_ctz64(__u64 x)
{
	return xf_debruijn64[((x & (0 - x)) * 0x03f79d71b4cb0a89ULL) >> 58];
}

/* HyperLogLog: register index from the top bits, rank from the rest. */
XF_INLINE __u32 xf_hll_index(__u64 h)
{
	return (__u32)(h >> (64 - XF_HLL_BITS));
}

XF_INLINE __u8 xf_hll_rank(__u64 h)
{
	/* the sentinel bit caps the rank at 64 - XF_HLL_BITS + 1 */
	return (__u8)(xf_ctz64(h | (1ULL << (64 - XF_HLL_BITS))) + 1);
}

#endif /* XF_PARSE_COMMON_H */
