/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * names.h - names from the wire to text: presentation form with \DDD
 * escapes (as dig prints them), registered domains through libpsl, and JSON
 * string escaping. Names are attacker-controlled: whatever reaches a
 * terminal, a log or a SIEM goes through here.
 */
#ifndef XF_NAMES_H
#define XF_NAMES_H

#include <stddef.h>
#include <stdint.h>

/* DNS wire name (labels, root byte) to presentation, no trailing dot.
 * Bytes outside [A-Za-z0-9-_] become \DDD ('.' inside a label too).
 * lower: fold ASCII upper case. Returns the length, or -1 if malformed. */
int xf_wire_to_text(const uint8_t *wire, size_t len, int lower, char *out, size_t size);

/* A name sent as text (SNI, Host) to the same escaped form. */
int xf_text_name(const uint8_t *name, size_t len, int lower, char *out, size_t size);

/* The registered domain (eTLD+1) of a lower-case presentation name, via
 * libpsl (Debian's public_suffix_list.dat) behind an exact cache (names.c
 * says why it is exact); the last two labels when the name is a public
 * suffix itself. Points into name or out; out must hold strlen(name) + 1
 * bytes, or that answer is cut short. Not thread-safe. */
const char *xf_registered_domain(const char *name, char *out, size_t size);

/* The same answer straight from libpsl, no cache (tests, benchmarks). */
const char *xf_registered_domain_psl(const char *name, char *out, size_t size);

struct xf_rd_stats {
	uint64_t hits, misses; /* cache lookups by the name's last labels */
	uint64_t direct; /* names libpsl answered whole (see names.c) */
	uint32_t interior; /* list suffixes with rules below them */
	int cache; /* 0: the list file was not there, every name goes to libpsl */
};

void xf_rd_stats(struct xf_rd_stats *st);

/* A growing string buffer for JSON documents. */
struct xf_sb {
	char *buf;
	size_t len, cap;
	int oom;
};

void xf_sb_printf(struct xf_sb *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A JSON string, quoted and escaped (control bytes, quote, backslash, and
 * anything >= 0x7f as \u00XX, so the output is plain ASCII). */
void xf_sb_json_str(struct xf_sb *sb, const char *s);
void xf_sb_free(struct xf_sb *sb);

/*
 * Is this text a line xf_sb_json_str() and friends could have written:
 * printable ASCII only, no control byte, no ESC, nothing >= 0x7f? For JSON
 * read back from a store before it reaches a terminal or a SIEM.
 */
int xf_json_line_ok(const char *s, size_t len);

/*
 * Text for a terminal or a log line: printable ASCII as it is, every other
 * byte (control bytes, ESC, DEL, anything >= 0x80, so invalid UTF-8 too) as
 * \DDD, the form names already use; idempotent on names. Output ends at a
 * whole escape when it does not fit. Returns out.
 */
const char *xf_term_str(const char *s, char *out, size_t size);

/* A name bound for a terminal: at most 255 bytes, every one escaped (x4). */
#define XF_TERM_NAME_MAX (255 * 4 + 1)

/* Text form of a 16-byte address (IPv4 as ::ffff:a.b.c.d prints a.b.c.d). */
void xf_addr_text(const uint8_t *a, char *out, size_t size);

#endif /* XF_NAMES_H */
