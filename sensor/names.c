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

const char *xf_registered_domain(const char *name, char *out, size_t size)
{
	static const psl_ctx_t *psl;
	const char *rd;

	/* the list Debian keeps current (package publicsuffix); libpsl's
	 * built-in copy when it is missing */
	if (!psl)
		psl = psl_latest(NULL);
	if (!psl)
		psl = psl_builtin();
	rd = psl ? psl_registrable_domain(psl, name) : NULL;
	if (rd)
		return rd;
	/* a public suffix itself, or no psl: keep the last two labels */
	{
		const char *last = strrchr(name, '.'), *two = name;

		if (!last)
			return name;
		for (const char *q = name; q < last; q++)
			if (*q == '.')
				two = q + 1;
		snprintf(out, size, "%s", two);
		return out;
	}
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
