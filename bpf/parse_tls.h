/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * parse_tls.h - the server_name of a TLS ClientHello in the first segment of
 * a TCP stream. Only bytes present in the buffer are read: a ClientHello
 * whose server_name lies past the segment or the window is counted as
 * truncated, never guessed.
 */
#ifndef XF_PARSE_TLS_H
#define XF_PARSE_TLS_H

#include "parse_common.h"

#define XF_TLS_EXT_MAX 32 /* extensions walked before giving up */
#define XF_TLS_REC_HANDSHAKE 22
#define XF_TLS_HS_CLIENT_HELLO 1
#define XF_TLS_EXT_SNI 0

/*
 * Find the server_name. On XF_OK, *name_off and *name_len locate it in b.
 * XF_SKIP: not a ClientHello, or one without server_name.
 */
XF_INLINE int xf_parse_tls_sni(const struct xf_buf *b, __u32 *name_off, __u32 *name_len)
{
	__u32 off, end, i, n;

	if (!xf_has(b, 0, 6))
		return XF_SKIP;
	if (xf_b8(b, 0) != XF_TLS_REC_HANDSHAKE || xf_b8(b, 1) != 3 ||
	    xf_b8(b, 5) != XF_TLS_HS_CLIENT_HELLO)
		return XF_SKIP;
	/* handshake header (4) + version (2) + random (32) */
	off = 5 + 4 + 2 + 32;
	if (!xf_has(b, off, 1))
		return -XF_PE_TLS_TRUNC;
	off += 1 + xf_b8(b, off); /* session id */
	if (!xf_has(b, off, 2))
		return -XF_PE_TLS_TRUNC;
	off += 2 + xf_b16(b, off); /* cipher suites */
	if (!xf_has(b, off, 1))
		return -XF_PE_TLS_TRUNC;
	off += 1 + xf_b8(b, off); /* compression methods */
	if (!xf_has(b, off, 2))
		return off == b->len ? XF_SKIP : -XF_PE_TLS_TRUNC; /* no extensions */
	end = off + 2 + xf_b16(b, off);
	off += 2;
	for (i = 0; i < XF_TLS_EXT_MAX; i++) {
		__u32 type, len;

		if (off >= end)
			return XF_SKIP; /* walked every extension: no server_name */
		if (!xf_has(b, off, 4))
			return -XF_PE_TLS_TRUNC;
		type = xf_b16(b, off);
		len = xf_b16(b, off + 2);
		off += 4;
		if (off + len > end)
			return -XF_PE_TLS_BAD;
		if (type != XF_TLS_EXT_SNI) {
			off += len;
			continue;
		}
		/* server_name_list length (2), name type (1), name length (2) */
		if (len < 5)
			return -XF_PE_TLS_BAD;
		if (!xf_has(b, off, 5))
			return -XF_PE_TLS_TRUNC;
		if (xf_b8(b, off + 2) != 0)
			return XF_SKIP; /* not host_name: nothing defined else */
		n = xf_b16(b, off + 3);
		if (n == 0 || n > 255 || n + 5 > len)
			return -XF_PE_SNI_BAD;
		if (!xf_has(b, off + 5, n))
			return -XF_PE_TLS_TRUNC;
		*name_off = off + 5;
		*name_len = n;
		return XF_OK;
	}
	return XF_SKIP;
}

#endif /* XF_PARSE_TLS_H */
