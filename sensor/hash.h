/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * hash.h - the 64-bit hashes the sensor's in-memory tables key on (flow
 * table, domain table, the pipeline's first-seen slots). Only this process
 * sees the values, so nothing here is a format: a table may change its hash
 * freely. Not for anything shared with the kernel (parse_name.h has those).
 */
#ifndef XF_HASH_H
#define XF_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A finaliser that spreads every input bit over the word (murmur3's fmix64
 * constants): bucket indexes and HyperLogLog ranks both read it. */
static inline uint64_t xf_mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

/* Eight bytes at a time, each word mixed in (every observation hashes a
 * 16-byte address and a domain name: a byte-serial multiply chain cost the
 * flow table's lookups 20-40 ns). */
static inline uint64_t xf_hash_bytes(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 0xcbf29ce484222325ULL ^ n;

	for (; n >= 8; n -= 8, b += 8) {
		uint64_t w;

		memcpy(&w, b, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 32;
	}
	if (n) {
		uint64_t w = 0;

		memcpy(&w, b, n);
		h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
	}
	return xf_mix64(h);
}

/* A client x domain pair's key from the two hashes. */
static inline uint64_t xf_pair_key(uint64_t client_h, uint64_t domain_h)
{
	return xf_mix64(client_h ^ (domain_h * 0x9e3779b97f4a7c15ULL));
}

#endif /* XF_HASH_H */
