/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * parse_http.h - the Host header of an HTTP/1.x request in the first
 * XF_HTTP_WIN bytes of a TCP segment. Header names match case-insensitively,
 * lines may end in CRLF or a bare LF, and the port and surrounding blanks
 * are not part of the name.
 */
#ifndef XF_PARSE_HTTP_H
#define XF_PARSE_HTTP_H

#include "parse_common.h"

#define XF_HTTP_WIN 512 /* bytes scanned for the Host line (verifier jump budget) */
#define XF_HTTP_METHOD_MAX 8 /* "OPTIONS " is the longest common method */
#define XF_HTTP_BLANK_MAX 16

/* A request starts with an upper-case token and a space. */
XF_INLINE int xf_http_is_request(const struct xf_buf *b)
{
	__u32 i;

	for (i = 0; i < XF_HTTP_METHOD_MAX; i++) {
		__u8 c;

		if (!xf_has(b, i, 1))
			return 0;
		c = xf_b8(b, i);
		if (c == ' ')
			return i >= 3;
		if (c < 'A' || c > 'Z')
			return 0;
	}
	return 0;
}

/* "host:" at off, any case */
XF_INLINE int xf_http_host_at(const struct xf_buf *b, __u32 off)
{
	return (xf_b8(b, off) | 0x20) == 'h' && (xf_b8(b, off + 1) | 0x20) == 'o' &&
	       (xf_b8(b, off + 2) | 0x20) == 's' && (xf_b8(b, off + 3) | 0x20) == 't' &&
	       xf_b8(b, off + 4) == ':';
}

/*
 * Measure the host name at off: up to a port, a blank or the end of line. A
 * value that runs into the end of the buffer (segment or window) may be cut:
 * it is no Host, never a partial name.
 */
XF_INLINE int xf_http_host_value(const struct xf_buf *b, __u32 off, __u32 *name_off,
				 __u32 *name_len)
{
	__u32 i, n = 0;
	int bracket;

	for (i = 0; i < XF_HTTP_BLANK_MAX; i++) {
		if (!xf_has(b, off, 1))
			return -XF_PE_HTTP_NOHOST;
		if (xf_b8(b, off) != ' ' && xf_b8(b, off) != '\t')
			break;
		off++;
	}
	bracket = xf_has(b, off, 1) && xf_b8(b, off) == '['; /* IPv6 literal */
	for (i = 0; i < 256; i++) {
		__u8 c;

		if (!xf_has(b, off + i, 1))
			break;
		c = xf_b8(b, off + i);
		if (c == '\r' || c == '\n' || c == ' ' || c == '\t')
			break;
		if (c == ':' && !bracket)
			break;
		if (c == ']')
			bracket = 0;
		n++;
	}
	if (n == 0 || n > 253)
		return -XF_PE_HTTP_BAD;
	if (!xf_has(b, off + n, 1))
		return -XF_PE_HTTP_NOHOST; /* no terminator: the name may go on */
	*name_off = off;
	*name_len = n;
	return XF_OK;
}

/*
 * Find the Host line of a request: returns the offset just past "Host:", or
 * -XF_PE_HTTP_NOHOST when the headers, or the window, end first.
 */
XF_INLINE int xf_http_find_host(const struct xf_buf *b)
{
	__u32 i;

	for (i = 0; i < XF_HTTP_WIN; i++) {
		__u8 c;

		if (!xf_has(b, i + 1, 5))
			return -XF_PE_HTTP_NOHOST;
		if (xf_b8(b, i) != '\n')
			continue;
		c = xf_b8(b, i + 1);
		if (c == '\r' || c == '\n')
			return -XF_PE_HTTP_NOHOST; /* blank line: end of headers */
		if (xf_http_host_at(b, i + 1))
			return (int)(i + 6);
	}
	return -XF_PE_HTTP_NOHOST;
}

/* The Host name of a request. XF_SKIP: not a request. */
XF_INLINE int xf_parse_http_host(const struct xf_buf *b, __u32 *name_off, __u32 *name_len)
{
	int off;

	if (!xf_http_is_request(b))
		return XF_SKIP;
	off = xf_http_find_host(b);
	if (off < 0)
		return off;
	return xf_http_host_value(b, (__u32)off, name_off, name_len);
}

#endif /* XF_PARSE_HTTP_H */
