// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_escape.c - attacker-chosen names through every output function, one
 * table of hostile names for all: the wire and text name decoders (what
 * every later output starts from), the JSON string writer (alerts, Kafka,
 * JSON lines), the terminal escaper and the alert table rows (`exfilter
 * alerts`, `replay --format table`), the check on JSON read back from a
 * store (`alerts --json`, `status`), and the HTML report. Each output must
 * be printable ASCII with no way to start an escape sequence, a new line,
 * a tag or a string. test_alert.c and test_report.c cover the formats in
 * depth; this file holds the one hostile list against all of them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "alert.h"
#include "names.h"
#include "report.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct hostile {
	const char *what;
	const char *bytes;
	size_t len;
};

#define H(what, s)                                                                                 \
	{                                                                                          \
		what, s, sizeof(s) - 1                                                             \
	}

static char all_ff[256]; /* 255 bytes of 0xff, filled in main() */

static struct hostile hostile[] = {
	H("ESC sequence", "\x1b[31mevil"),
	H("OSC title set", "\x1b]0;owned\x07x"),
	H("newline", "a\nfake log line"),
	H("carriage return", "ok\rEVIL"),
	H("NUL inside", "a\0b"),
	H("script tag", "<script>alert(1)</script>"),
	H("quotes and backslash", "\"},\"x\":\"\\"),
	H("invalid UTF-8", "\xc3\x28\xa0\xa1"),
	H("UTF-8 surrogate", "\xed\xa0\x80"),
	H("C1 CSI", "\xc2\x9b"
		    "31m"),
	H("DEL and backspace", "ab\x7f\x08\x08"),
	{ "255 bytes of 0xff", all_ff, 255 },
};

/* Printable ASCII only (0x20..0x7e); allow_nl: a trailing newline. */
static void assert_plain(const char *what, const char *out, size_t len, int allow_nl)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)out[i];

		if (allow_nl && c == '\n' && i == len - 1)
			continue;
		if (c < 0x20 || c >= 0x7f)
			fail_msg("%s: byte 0x%02x at %zu of \"%.*s\"", what, c, i, (int)len, out);
	}
}

/* A C string of the hostile bytes (a NUL inside ends it, as in a row). */
static void cstr(const struct hostile *h, char *out, size_t size)
{
	size_t n = h->len < size - 1 ? h->len : size - 1;

	memcpy(out, h->bytes, n);
	out[n] = 0;
}

static void test_text_name(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(hostile); i++) {
		char out[XF_TERM_NAME_MAX];
		int n = xf_text_name((const uint8_t *)hostile[i].bytes, hostile[i].len, 1, out,
				     sizeof(out));

		assert_true(n > 0);
		assert_int_equal((size_t)n, strlen(out));
		assert_plain(hostile[i].what, out, (size_t)n, 0);
		/* what a name may hold after decoding: letters, digits, - _ . and \DDD */
		assert_int_equal(strspn(out, "abcdefghijklmnopqrstuvwxyz0123456789-_.\\"),
				 (size_t)n);
	}
}

/* The same bytes as DNS labels on the wire (at most 63 a label). */
static void test_wire_name(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(hostile); i++) {
		uint8_t wire[300];
		size_t w = 0, left = hostile[i].len;
		const uint8_t *p = (const uint8_t *)hostile[i].bytes;
		char out[XF_TERM_NAME_MAX];
		int n;

		while (left && w + 64 < sizeof(wire) - 1) {
			size_t l = left < 63 ? left : 63;

			wire[w++] = (uint8_t)l;
			memcpy(wire + w, p, l);
			w += l;
			p += l;
			left -= l;
		}
		wire[w++] = 0;
		n = xf_wire_to_text(wire, w, 0, out, sizeof(out));
		assert_true(n > 0);
		assert_plain(hostile[i].what, out, (size_t)n, 0);
		assert_int_equal(strspn(out, "abcdefghijklmnopqrstuvwxyz"
					     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.\\"),
				 (size_t)n);
	}
}

static void test_json_str(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(hostile); i++) {
		struct xf_sb sb = { 0 };
		char in[300];
		size_t k;

		cstr(&hostile[i], in, sizeof(in));
		xf_sb_json_str(&sb, in);
		assert_false(sb.oom);
		assert_plain(hostile[i].what, sb.buf, sb.len, 0);
		assert_true(xf_json_line_ok(sb.buf, sb.len));
		/* one JSON string: a quote, escapes JSON knows, no bare quote
		 * before the closing one */
		assert_true(sb.len >= 2 && sb.buf[0] == '"');
		for (k = 1; k < sb.len && sb.buf[k] != '"'; k++) {
			if (sb.buf[k] != '\\')
				continue;
			k++;
			assert_non_null(strchr("\"\\/bfnrtu", sb.buf[k]));
		}
		if (k != sb.len - 1)
			fail_msg("%s: the string ends at %zu of %zu: %s", hostile[i].what, k,
				 sb.len, sb.buf);
		xf_sb_free(&sb);
	}
	/* the exact forms for one */
	{
		struct xf_sb sb = { 0 };

		xf_sb_json_str(&sb, "\x1b[31m\"\\\xff");
		assert_string_equal(sb.buf, "\"\\u001b[31m\\\"\\\\\\u00ff\"");
		xf_sb_free(&sb);
	}
}

static void test_term_str(void **state)
{
	static const struct {
		const char *in, *out;
	} exact[] = {
		{ "\x1b[31mevil", "\\027[31mevil" },
		{ "a\nb", "a\\010b" },
		{ "<script>", "<script>" }, /* harmless on a terminal; HTML has its own */
		{ "\xc3\x28", "\\195(" },
		{ "a\\032b.example", "a\\032b.example" }, /* names pass through as they are */
		{ "", "" },
	};
	char out[XF_TERM_NAME_MAX];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(exact); i++)
		assert_string_equal(xf_term_str(exact[i].in, out, sizeof(out)), exact[i].out);
	for (size_t i = 0; i < ARRAY_SIZE(hostile); i++) {
		char in[300];

		cstr(&hostile[i], in, sizeof(in));
		xf_term_str(in, out, sizeof(out));
		assert_plain(hostile[i].what, out, strlen(out), 0);
	}
	/* 255 bytes of 0xff fit a XF_TERM_NAME_MAX buffer whole */
	assert_int_equal(strlen(xf_term_str(all_ff, out, sizeof(out))), 255 * 4);
	/* cut short at a whole escape, never in the middle of one */
	assert_string_equal(xf_term_str("ab\x1b"
					"cd",
					out, 6),
			    "ab");
	assert_string_equal(xf_term_str("ab\x1b"
					"cd",
					out, 7),
			    "ab\\027");
	assert_string_equal(xf_term_str("abc", out, 1), "");
}

static void test_json_line_ok(void **state)
{
	(void)state;
	assert_true(xf_json_line_ok("{\"a\":\"b\\u001b\"}", 15));
	for (size_t i = 0; i < ARRAY_SIZE(hostile); i++) {
		char line[400];
		size_t n = hostile[i].len;

		/* by hand: a NUL inside must stay in the line */
		memcpy(line, "{\"d\":\"", 6);
		memcpy(line + 6, hostile[i].bytes, n);
		memcpy(line + 6 + n, "\"}", 2);
		n += 8;

		size_t k = 0;

		while (k < hostile[i].len && hostile[i].bytes[k] >= 0x20 &&
		       hostile[i].bytes[k] < 0x7f)
			k++;
		if (k == hostile[i].len)
			continue; /* printable: JSON validity is not this check's */
		if (xf_json_line_ok(line, n))
			fail_msg("%s: raw hostile bytes taken as a stored JSON line",
				 hostile[i].what);
	}
}

/* The table rows of `exfilter alerts` and `replay --format table`, every
 * text column hostile, as if read from a store someone else wrote. */
static void test_table_row(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(hostile); i++) {
		struct xf_alert_rec r = { .ts_ms = 1700000000000LL, .score = 99.5, .rev = 2 };
		char *buf = NULL, tail[300];
		size_t len = 0;
		FILE *o = open_memstream(&buf, &len);

		assert_non_null(o);
		cstr(&hostile[i], r.client, sizeof(r.client));
		cstr(&hostile[i], r.domain, sizeof(r.domain));
		cstr(&hostile[i], r.severity, sizeof(r.severity));
		cstr(&hostile[i], r.action, sizeof(r.action));
		cstr(&hostile[i], r.id, sizeof(r.id));
		cstr(&hostile[i], tail, sizeof(tail));
		xf_alert_table_row(o, &r, -1, r.id);
		xf_alert_table_row(o, &r, (int)r.rev, tail);
		xf_alert_table_row(o, &r, 1, NULL);
		assert_int_equal(fclose(o), 0);
		/* three lines, each printable ASCII up to its newline */
		for (char *line = buf, *nl; *line; line = nl + 1) {
			nl = strchr(line, '\n');
			assert_non_null(nl);
			assert_plain(hostile[i].what, line, (size_t)(nl - line) + 1, 1);
		}
		assert_non_null(strstr(buf, "2023-11-14T22:13:20Z"));
		assert_non_null(strstr(buf, "99.5"));
		free(buf);
	}
}

/* The HTML report: the allowlist table prints domain, entry and source. */
static void test_report(void **state)
{
	struct xf_report *r = xf_report_new();
	const char *inputs[] = { "\x1b[31m<b>capture</b>.pcap" };
	struct xf_report_meta m = { .inputs = inputs, .n_inputs = 1, .threshold = 60 };
	char path[] = "/tmp/xf-escape-XXXXXX", err[256];
	char *html = NULL;
	size_t len = 0;
	FILE *f;
	int fd;

	(void)state;
	assert_non_null(r);
	for (size_t i = 0; i < ARRAY_SIZE(hostile); i++) {
		char in[300];

		cstr(&hostile[i], in, sizeof(in));
		xf_report_allow_hit(r, in, in, in);
	}
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	if (xf_report_write(r, path, &m, err, sizeof(err)))
		fail_msg("xf_report_write: %s", err);
	f = fopen(path, "r");
	assert_non_null(f);
	html = calloc(1, 1 << 22);
	assert_non_null(html);
	len = fread(html, 1, (1 << 22) - 1, f);
	fclose(f);
	unlink(path);
	assert_true(len > 0);
	for (size_t k = 0; k < len; k++) {
		unsigned char c = (unsigned char)html[k];

		if ((c < 0x20 && c != '\n' && c != '\t') || c >= 0x7f)
			fail_msg("report: byte 0x%02x at %zu", c, k);
	}
	assert_null(strstr(html, "<script"));
	assert_null(strstr(html, "<b>capture"));
	assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
	free(html);
	xf_report_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_name),    cmocka_unit_test(test_wire_name),
		cmocka_unit_test(test_json_str),     cmocka_unit_test(test_term_str),
		cmocka_unit_test(test_json_line_ok), cmocka_unit_test(test_table_row),
		cmocka_unit_test(test_report),
	};

	memset(all_ff, 0xff, 255);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
