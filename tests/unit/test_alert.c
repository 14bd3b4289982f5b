// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_alert.c - sensor/names.c and sensor/alert.c: wire and text names to
 * escaped presentation form (every hostile byte, case, malformed labels,
 * truncation), registered domains through libpsl, alert ids, and alert
 * documents validated against schemas/alert.schema.json by python3's
 * jsonschema (formats checked): DNS, kernel-only, SNI and Host alerts, with
 * and without GeoIP, domain alerts (a flood: no source, exfilter.clients), and hostile names that
 * must come out as valid, pure ASCII JSON. Run from the repository root (the schema path is
 * relative).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "alert.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define SCHEMA "schemas/alert.schema.json"
#define T0 1700000000u /* 2023-11-14T22:13:20Z */

/* ---- xf_wire_to_text ---- */

struct wire_case {
	const char *what;
	const char *wire;
	size_t len;
	int lower;
	const char *text; /* NULL: malformed, -1 */
};

/* clang-format off */
#define W(what, wire, lower, text) { what, wire, sizeof(wire) - 1, lower, text }
/* clang-format on */

static const struct wire_case wire_cases[] = {
	W("plain", "\3www\7example\3com\0", 0, "www.example.com"),
	W("root only", "\0", 0, ""),
	W("case kept", "\3WwW\7Example\3COM\0", 0, "WwW.Example.COM"),
	W("case folded", "\3WwW\7Example\3COM\0", 1, "www.example.com"),
	W("fold is ASCII only", "\2\xc4Z\0", 1, "\\196z"),
	W("dot inside a label", "\3a.b\3com\0", 0, "a\\046b.com"),
	W("quote", "\3a\"b\0", 0, "a\\034b"),
	W("backslash", "\3a\\b\0", 0, "a\\092b"),
	W("nul byte", "\3a\0b\0", 0, "a\\000b"),
	W("0xff and 0x80", "\2\xff\x80\0", 0, "\\255\\128"),
	W("control and DEL", "\3\x01\n\x7f\0", 0, "\\001\\010\\127"),
	W("space and star", "\3a b\1*\0", 0, "a\\032b.\\042"),
	W("hyphen underscore digits", "\4_srv\5a-b19\0", 0, "_srv.a-b19"),
	W("63-byte label", "\77aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\0",
	  0, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
	W("label length 64",
	  "\100aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\0", 0, NULL),
	W("compression pointer", "\3www\300\14", 0, NULL),
	W("label type 0x40", "\3www\100", 0, NULL),
	W("label past the end", "\3www\7exam", 0, NULL),
	W("length byte only", "\5", 0, NULL),
};

static void test_wire_to_text(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(wire_cases); i++) {
		const struct wire_case *c = &wire_cases[i];
		char out[1100];
		int r;

		memset(out, 'X', sizeof(out));
		r = xf_wire_to_text((const uint8_t *)c->wire, c->len, c->lower, out, sizeof(out));
		if (!c->text) {
			if (r != -1)
				fail_msg("%s: %d, want -1", c->what, r);
			assert_int_equal(out[0], 0);
			continue;
		}
		if (r != (int)strlen(c->text) || strcmp(out, c->text))
			fail_msg("%s: \"%s\" (%d), want \"%s\"", c->what, out, r, c->text);
	}
}

/* the worst name: 127 one-byte labels of 0xff -> 4 * 127 + 126 characters */
static void test_wire_worst_case(void **state)
{
	uint8_t wire[255];
	char out[XF_NAME_MAX * 4 + 1];
	int r;

	(void)state;
	for (int i = 0; i < 127; i++) {
		wire[2 * i] = 1;
		wire[2 * i + 1] = 0xff;
	}
	wire[254] = 0;
	r = xf_wire_to_text(wire, sizeof(wire), 0, out, sizeof(out));
	assert_int_equal(r, 127 * 4 + 126);
	assert_int_equal(strlen(out), (size_t)r);
	assert_memory_equal(out, "\\255.\\255.", 10);
}

/*
 * Truncation: for every buffer size the text is a prefix of the full text,
 * NUL-terminated inside the buffer, its length returned, and never cut in
 * the middle of a \DDD escape (a reader would take "\25" for something).
 */
static void check_truncation(const char *what, const uint8_t *in, size_t len, int wire)
{
	char full[256], out[64];
	int n = wire ? xf_wire_to_text(in, len, 0, full, sizeof(full))
		     : xf_text_name(in, len, 0, full, sizeof(full));

	assert_true(n > 0 && (size_t)n < sizeof(out));
	for (size_t size = 1; size <= (size_t)n + 1; size++) {
		int r;
		size_t l;

		memset(out, 'X', sizeof(out));
		r = wire ? xf_wire_to_text(in, len, 0, out, size)
			 : xf_text_name(in, len, 0, out, size);
		l = strnlen(out, size);
		if (l == size)
			fail_msg("%s, size %zu: not terminated", what, size);
		if (r != (int)l)
			fail_msg("%s, size %zu: returned %d for \"%s\"", what, size, r, out);
		if (strncmp(out, full, l))
			fail_msg("%s, size %zu: \"%s\" is no prefix of \"%s\"", what, size, out,
				 full);
		/* a cut escape: a backslash with fewer than 3 digits after it */
		for (size_t k = 0; k < l; k++)
			if (out[k] == '\\' && l - k < 4)
				fail_msg("%s, size %zu: \"%s\" ends inside an escape", what, size,
					 out);
		if (size == (size_t)n + 1)
			assert_string_equal(out, full);
		else
			assert_true(l < size && l <= (size_t)n);
	}
	assert_int_equal(
		wire ? xf_wire_to_text(in, len, 0, out, 0) : xf_text_name(in, len, 0, out, 0), -1);
}

static void test_truncation(void **state)
{
	static const char w1[] = "\3www\7example\3com\0";
	static const char w2[] = "\3a\0b\2\xff\"\3com\0";
	static const char t1[] = "a\x01"
				 "b.\xff\\c";

	(void)state;
	check_truncation("plain wire", (const uint8_t *)w1, sizeof(w1) - 1, 1);
	check_truncation("escaped wire", (const uint8_t *)w2, sizeof(w2) - 1, 1);
	check_truncation("escaped text", (const uint8_t *)t1, sizeof(t1) - 1, 0);
}

/* ---- xf_text_name ---- */

static void test_text_name(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		int lower;
		const char *out;
	} c[] = {
		{ "www.example.com", 15, 0, "www.example.com" },
		{ "WWW.Example.com", 15, 1, "www.example.com" },
		{ "WWW.Example.com", 15, 0, "WWW.Example.com" },
		{ "a b\"c\\d", 7, 0, "a\\032b\\034c\\092d" },
		{ "x\0y", 3, 0, "x\\000y" },
		{ "\xff\x80\x7f\x1b.", 5, 1, "\\255\\128\\127\\027." },
		{ "a..b.", 5, 0, "a..b." }, /* dots are separators here: kept */
		{ "host:8080", 9, 0, "host\\0588080" },
		{ "", 0, 0, "" },
	};
	char out[256];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		int r = xf_text_name((const uint8_t *)c[i].in, c[i].len, c[i].lower, out,
				     sizeof(out));

		if (r != (int)strlen(c[i].out) || strcmp(out, c[i].out))
			fail_msg("case %zu: \"%s\" (%d), want \"%s\"", i, out, r, c[i].out);
	}
}

/* ---- xf_registered_domain ---- */

static void test_registered_domain(void **state)
{
	static const struct {
		const char *name, *rd;
	} c[] = {
		{ "www.example.co.uk", "example.co.uk" },
		{ "example.co.uk", "example.co.uk" },
		{ "a.b.xf.test", "xf.test" },
		{ "xf.test", "xf.test" },
		{ "www.example.com", "example.com" },
		{ "a.b.c.d.example.com", "example.com" },
		{ "www.bbc.co.uk", "bbc.co.uk" },
		{ "com", "com" }, /* a bare TLD: itself */
		{ "co.uk", "co.uk" }, /* a public suffix: itself */
		{ "localhost", "localhost" },
		{ "0123456789abcdef\\046x.t.xf.test", "xf.test" },
	};
	char out[256];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		const char *rd = xf_registered_domain(c[i].name, out, sizeof(out));

		assert_non_null(rd);
		if (strcmp(rd, c[i].rd))
			fail_msg("%s: \"%s\", want \"%s\"", c[i].name, rd, c[i].rd);
		/* into the name or into out, nowhere else */
		assert_true(rd == out || (rd >= c[i].name && rd <= c[i].name + strlen(c[i].name)));
	}
}

/* ---- small helpers of alert.c and names.c ---- */

static void test_qtype_addr(void **state)
{
	char b[16], a[48];
	uint8_t v4[16] = { [10] = 0xff, [11] = 0xff, [12] = 192, [13] = 0, [14] = 2, [15] = 1 };
	uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x53 };

	(void)state;
	assert_string_equal(xf_qtype_name(1, b, sizeof(b)), "A");
	assert_string_equal(xf_qtype_name(16, b, sizeof(b)), "TXT");
	assert_string_equal(xf_qtype_name(10, b, sizeof(b)), "NULL");
	assert_string_equal(xf_qtype_name(65399, b, sizeof(b)), "PRIVATE");
	assert_string_equal(xf_qtype_name(999, b, sizeof(b)), "TYPE999");
	assert_string_equal(xf_qtype_name(0, b, sizeof(b)), "TYPE0");
	xf_addr_text(v4, a, sizeof(a));
	assert_string_equal(a, "192.0.2.1");
	xf_addr_text(v6, a, sizeof(a));
	assert_string_equal(a, "2001:db8::53");
	assert_string_equal(xf_alert_action_name(XF_AA_ALERTED), "alerted");
	assert_string_equal(xf_alert_action_name(XF_AA_WOULD_BLOCK), "would-block");
	assert_string_equal(xf_alert_action_name(XF_AA_BLOCKED), "blocked");
}

/* ---- xf_alert_id ---- */

static int is_hex32(const char *s)
{
	if (strlen(s) != XF_ALERT_ID_LEN)
		return 0;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

static void test_alert_id(void **state)
{
	uint8_t a[16] = { [10] = 0xff, [11] = 0xff, 192, 0, 2, 1 }, b[16], c6[16] = { 0 };
	char id[XF_ALERT_ID_LEN + 1], again[sizeof(id)], other[sizeof(id)];

	(void)state;
	memcpy(b, a, 16);
	b[15] = 2;
	memcpy(c6 + 12, a + 12, 4); /* ::192.0.2.1: the same last bytes */
	memset(id, 'X', sizeof(id));
	xf_alert_id(a, "xf.test", T0, id);
	assert_true(is_hex32(id));
	xf_alert_id(a, "xf.test", T0, again);
	assert_string_equal(id, again);
	/* another window, client, domain: another id */
	xf_alert_id(a, "xf.test", T0 + 300, other);
	assert_true(is_hex32(other));
	assert_string_not_equal(id, other);
	xf_alert_id(b, "xf.test", T0, other);
	assert_string_not_equal(id, other);
	xf_alert_id(c6, "xf.test", T0, other);
	assert_string_not_equal(id, other);
	xf_alert_id(a, "xf.tesu", T0, other);
	assert_string_not_equal(id, other);
	xf_alert_id(a, "example.com", T0, other);
	assert_string_not_equal(id, other);
	/* both halves depend on every input */
	xf_alert_id(a, "xf.test", T0 + 1, other);
	assert_memory_not_equal(id, other, 16);
	assert_memory_not_equal(id + 16, other + 16, 16);
}

/* ---- alerts ---- */

/* python3: validate the file against the schema, the bytes pure ASCII, then
 * check path=json (equal), !path (absent), path~ (the raw bytes of the next
 * argument, read as Latin-1, are the decoded string). */
static const char py_check[] =
	"import json, os, sys, jsonschema\n"
	"raw = open(sys.argv[1], 'rb').read()\n"
	"raw.decode('ascii')\n"
	"d = json.loads(raw)\n"
	"if sys.argv[2] == 'schema':\n"
	"    s = json.load(open('" SCHEMA "'))\n"
	"    V = jsonschema.Draft202012Validator\n"
	"    V(s, format_checker=V.FORMAT_CHECKER).validate(d)\n"
	"def get(p):\n"
	"    x = d\n"
	"    for k in p.split('/'):\n"
	"        x = x[int(k)] if isinstance(x, list) else x[k]\n"
	"    return x\n"
	"args = sys.argv[3:]\n"
	"while args:\n"
	"    a = args.pop(0)\n"
	"    if a.startswith('!'):\n"
	"        p, k = a[1:].rsplit('/', 1) if '/' in a else ('', a[1:])\n"
	"        x = get(p) if p else d\n"
	"        if k in x: sys.exit('%s: present' % a[1:])\n"
	"    elif a.endswith('~'):\n"
	"        want = os.fsencode(args.pop(0))\n"
	"        got = get(a[:-1]).encode('latin-1')\n"
	"        if got != want: sys.exit('%s: %r != %r' % (a[:-1], got, want))\n"
	"    else:\n"
	"        p, v = a.split('=', 1)\n"
	"        if get(p) != json.loads(v):\n"
	"            sys.exit('%s: %r != %s' % (p, get(p), v))\n";

/* Write json to a temp file and run the checks; 0 when python3 agrees.
 * quiet: a failure is expected, keep python's traceback out of the log. */
static int py_run(const char *json, size_t len, int schema, const char *const *checks, int n,
		  int quiet)
{
	char path[] = "/tmp/xf-alert-XXXXXX";
	const char *argv[64];
	int fd = mkstemp(path), st = -1, k = 0;
	pid_t pid;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, json, len), (ssize_t)len);
	close(fd);
	argv[k++] = "python3";
	argv[k++] = "-c";
	argv[k++] = py_check;
	argv[k++] = path;
	argv[k++] = schema ? "schema" : "json";
	for (int i = 0; i < n && k < 63; i++)
		argv[k++] = checks[i];
	argv[k] = NULL;
	pid = fork();
	if (pid == 0) {
		if (quiet && !freopen("/dev/null", "w", stderr))
			_exit(126);
		execvp("python3", (char *const *)argv);
		_exit(127);
	}
	assert_true(pid > 0);
	waitpid(pid, &st, 0);
	unlink(path);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void json_ok(const struct xf_alert_rec *rec, int schema, const char *const *checks, int n)
{
	int r;

	assert_non_null(rec->json);
	assert_int_equal(strlen(rec->json), rec->json_len);
	/* one line of printable ASCII: every hostile byte escaped */
	for (size_t i = 0; i < rec->json_len; i++)
		if ((unsigned char)rec->json[i] < 0x20 || (unsigned char)rec->json[i] > 0x7e)
			fail_msg("byte 0x%02x at %zu in %s", (unsigned char)rec->json[i], i,
				 rec->json);
	r = py_run(rec->json, rec->json_len, schema, checks, n, 0);
	if (r)
		fail_msg("python3 check failed (%d) for %s", r, rec->json);
}

/* A flow view as the flow table hands it to the tick callback. */
struct fx {
	uint8_t client[16], server[16];
	char samples[XF_SAMPLES][XF_SAMPLE_LEN];
	char domain[256];
	struct xf_ft_alert alert;
	struct xf_ft_flow flow;
	struct xf_score score;
	struct xf_det_params params;
	struct xf_alert_in in;
	struct xf_geo geo;
	struct xf_sb sb;
	struct xf_alert_rec rec;
};

static void fx_init(struct fx *x, const char *domain, int nsamples)
{
	struct xf_ft_flow *f = &x->flow;
	struct xf_flow_view *v = &f->view;

	memset(x, 0, sizeof(*x));
	x->client[10] = x->client[11] = 0xff;
	x->client[12] = 192;
	x->client[14] = 2;
	x->client[15] = 1;
	memcpy(x->server, (uint8_t[16]){ 0x20, 0x01, 0x0d, 0xb8, [15] = 0x53 }, 16);
	snprintf(x->domain, sizeof(x->domain), "%s", domain);
	for (int k = 0; k < nsamples && k < XF_SAMPLES; k++) {
		snprintf(x->samples[k], XF_SAMPLE_LEN, "%02d%s.t.%s", k,
			 "aaaabbbbccccddddeeeeffffgggghhhh", domain);
		f->samples[k] = x->samples[k];
	}
	f->idx = 7;
	f->client = x->client;
	f->domain = x->domain;
	f->kernel_rd = 0x1234;
	f->win_start_s = T0;
	f->last_s = T0 + 250;
	f->last_qtype = 10; /* NULL */
	f->server = x->server;
	f->alert = &x->alert;
	f->kind = XF_EV_DNS_QUERY;
	v->domain = x->domain;
	v->queries = 600;
	v->qname_bytes = 600 * 200;
	v->entropy_sum = 600 * 4800;
	v->enc_queries = 570;
	v->long_queries = 600;
	v->responses = 598;
	v->nxdomain = 3;
	v->qtypes[XF_QT_NULL] = 600;
	v->max_name_len = 253;
	v->max_label = 63;
	v->max_enc_label = 63;
	v->distinct = 590;
	v->span_s = 250;
	x->params.resolver_scale = 4;
	x->in = (struct xf_alert_in){
		.flow = f,
		.score = &x->score,
		.action = XF_AA_ALERTED,
		.rev = 1,
		.now_ms = (int64_t)T0 * 1000 + 260123,
		.window_s = 300,
		.mode = "monitor",
		.observer = "sensor-1",
	};
}

static void fx_score(struct fx *x)
{
	xf_score_flow(&x->flow.view, &x->params, NULL, &x->score);
}

static void fx_build(struct fx *x)
{
	assert_int_equal(xf_alert_build(&x->in, &x->sb, &x->rec), 0);
}

static void fx_done(struct fx *x)
{
	xf_sb_free(&x->sb);
}

/* a scored DNS tunnel, a kernel verdict behind it, geo and AS of the server */
static void test_alert_dns_full(void **state)
{
	struct fx x;
	char id[XF_ALERT_ID_LEN + 1], sev[64], rev[32], idq[64], evlen[64];
	const char *checks[40];
	int n = 0;

	(void)state;
	fx_init(&x, "xf.test", 3);
	x.flow.view.servfail = 2;
	x.flow.view.refused = 1;
	x.flow.view.answer_msgs = 20;
	x.flow.view.answer_bytes = 15360;
	fx_score(&x);
	assert_true(x.score.score > 90);
	x.flow.kaction = XF_ACT_DROP;
	x.flow.kreason = XF_R_ENC_LABEL;
	x.flow.kenforced = 1;
	x.in.action = XF_AA_BLOCKED;
	x.in.mode = "enforce";
	x.in.rev = 2;
	snprintf(x.geo.country_iso, sizeof(x.geo.country_iso), "NL");
	snprintf(x.geo.country, sizeof(x.geo.country), "Netherlands");
	snprintf(x.geo.city, sizeof(x.geo.city), "Amsterdam");
	x.geo.asn = 64500;
	snprintf(x.geo.as_org, sizeof(x.geo.as_org), "Example \"Transit\" B.V.");
	x.in.geo = &x.geo;
	fx_build(&x);

	xf_alert_id(x.client, "xf.test", T0, id);
	assert_string_equal(x.rec.id, id);
	assert_int_equal(x.rec.rev, 2);
	assert_int_equal(x.rec.ts_ms, (int64_t)T0 * 1000 + 260123);
	assert_string_equal(x.rec.client, "192.0.2.1");
	assert_string_equal(x.rec.domain, "xf.test");
	assert_true(x.rec.score == x.score.score);
	assert_string_equal(x.rec.severity, xf_severity_name(x.score.severity));
	assert_string_equal(x.rec.action, "blocked");

	snprintf(idq, sizeof(idq), "\"%s\"", id);
	snprintf(sev, sizeof(sev), "exfilter/severity=\"%s\"", xf_severity_name(x.score.severity));
	snprintf(rev, sizeof(rev), "exfilter/revision=%u", 2u);
	snprintf(evlen, sizeof(evlen), "exfilter/reasons/1/evidence/mean_qname_len=%d", 200);
	checks[n++] = "@timestamp=\"2023-11-14T22:17:40.123Z\"";
	checks[n++] = "event/kind=\"alert\"";
	checks[n++] = "event/dataset=\"exfilter.dns\"";
	checks[n++] = "event/action=\"blocked\"";
	checks[n++] = "event/start=\"2023-11-14T22:13:20.000Z\"";
	checks[n++] = "event/end=\"2023-11-14T22:17:30.000Z\"";
	checks[n++] = "source/ip=\"192.0.2.1\"";
	checks[n++] = "destination/ip=\"2001:db8::53\"";
	checks[n++] = "destination/geo/country_iso_code=\"NL\"";
	checks[n++] = "destination/geo/city_name=\"Amsterdam\"";
	checks[n++] = "destination/as/number=64500";
	checks[n++] = "destination/as/organization/name=\"Example \\\"Transit\\\" B.V.\"";
	checks[n++] = "dns/question/name=\"00aaaabbbbccccddddeeeeffffgggghhhh.t.xf.test\"";
	checks[n++] = "dns/question/registered_domain=\"xf.test\"";
	checks[n++] = "dns/question/type=\"NULL\"";
	checks[n++] = "!tls";
	checks[n++] = "!url";
	checks[n++] = "rule/id=\"entropy\"";
	checks[n++] = "rule/name=\"DNS tunnel: encoded names\"";
	checks[n++] = "observer/hostname=\"sensor-1\"";
	checks[n++] = "exfilter/mode=\"enforce\"";
	checks[n++] = "exfilter/client_is_resolver=false";
	checks[n++] = "exfilter/window/seconds=300";
	checks[n++] = sev;
	checks[n++] = rev;
	checks[n++] = "exfilter/reasons/0/detector=\"kernel\"";
	checks[n++] = "exfilter/reasons/0/evidence/reason=\"encoded_label\"";
	checks[n++] = "exfilter/reasons/0/evidence/action=\"drop\"";
	checks[n++] = "exfilter/reasons/0/evidence/enforced=true";
	checks[n++] = "exfilter/reasons/1/detector=\"length\"";
	checks[n++] = evlen;
	checks[n++] = "exfilter/reasons/2/evidence/encoded_ratio=0.95";
	checks[n++] = "exfilter/reasons/3/evidence/distinct_names=590";
	checks[n++] = "exfilter/flow/queries=600";
	checks[n++] = "exfilter/flow/nxdomain=3";
	checks[n++] = "exfilter/flow/servfail=2";
	checks[n++] = "exfilter/flow/refused=1";
	checks[n++] = "exfilter/flow/answer_bytes=15360";
	checks[n++] = "exfilter/samples/2=\"02aaaabbbbccccddddeeeeffffgggghhhh.t.xf.test\"";
	json_ok(&x.rec, 1, checks, n);
	/* the id in the document is the record's */
	assert_non_null(strstr(x.rec.json, idq));
	fx_done(&x);
}

/* the kernel alone (a hard limit on one query): no score, no server, no samples */
static void test_alert_kernel_only(void **state)
{
	static const char *const checks[] = {
		"exfilter/score=80",
		"event/severity=80",
		"exfilter/severity=\"high\"",
		"rule/id=\"encoded_label\"",
		"rule/name=\"DNS tunnel: long encoded label\"",
		"dns/question/name=\"xf.test\"",
		"!destination",
		"exfilter/reasons/0/detector=\"kernel\"",
		"exfilter/reasons/0/evidence/enforced=false",
		"exfilter/samples=[]",
		"event/action=\"would-block\"",
	};
	struct fx x;

	(void)state;
	fx_init(&x, "xf.test", 0);
	x.flow.server = NULL;
	x.flow.kaction = XF_ACT_REFUSE;
	x.flow.kreason = XF_R_ENC_LABEL;
	x.flow.view.queries = 1;
	x.flow.view.distinct = 1;
	x.in.score = NULL;
	x.in.action = XF_AA_WOULD_BLOCK;
	fx_build(&x);
	assert_true(x.rec.score == 80);
	assert_string_equal(x.rec.severity, "high");
	json_ok(&x.rec, 1, checks, (int)ARRAY_SIZE(checks));
	fx_done(&x);
}

/*
 * A kernel limit with a weak detector score (a few encoded queries): the
 * kernel sets the score (80) and the severity, so it is the rule too.
 */
static void test_alert_kernel_over_weak_score(void **state)
{
	static const char *const checks[] = {
		"exfilter/score=80",
		"exfilter/severity=\"high\"",
		"rule/id=\"kernel_rate\"",
		"rule/name=\"DNS tunnel: kernel rate limit\"",
		"exfilter/reasons/0/detector=\"kernel\"",
	};
	struct fx x;

	(void)state;
	fx_init(&x, "xf.test", 1);
	x.flow.view.queries = 4;
	x.flow.view.qname_bytes = 4 * 40;
	x.flow.view.entropy_sum = 4 * 3900;
	x.flow.view.enc_queries = 4;
	x.flow.view.long_queries = 0;
	x.flow.view.max_label = 20;
	x.flow.view.distinct = 4;
	fx_score(&x);
	assert_true(x.score.score > 0 && x.score.score < 60);
	x.flow.kaction = XF_ACT_DROP;
	x.flow.kreason = XF_R_RATE;
	x.in.action = XF_AA_WOULD_BLOCK;
	fx_build(&x);
	json_ok(&x.rec, 1, checks, (int)ARRAY_SIZE(checks));
	fx_done(&x);
}

/* scored only, IPv4 server, an ASN but no location, a resolver client */
static void test_alert_score_only(void **state)
{
	static const char *const checks[] = {
		"destination/ip=\"198.51.100.7\"",
		"!destination/geo",
		"destination/as/number=64501",
		"exfilter/client_is_resolver=true",
		"exfilter/reasons/0/detector=\"length\"",
		"event/action=\"alerted\"",
		"exfilter/mode=\"monitor\"",
	};
	struct fx x;

	(void)state;
	fx_init(&x, "example.co.uk", 2);
	memcpy(x.server, (uint8_t[16]){ [10] = 0xff, [11] = 0xff, 198, 51, 100, 7 }, 16);
	x.flow.view.resolver = 1;
	fx_score(&x);
	x.geo.asn = 64501;
	x.in.geo = &x.geo;
	fx_build(&x);
	assert_string_equal(x.rec.severity, xf_severity_name(x.score.severity));
	json_ok(&x.rec, 1, checks, (int)ARRAY_SIZE(checks));
	fx_done(&x);
}

static void test_alert_sni_host(void **state)
{
	static const char *const sni[] = {
		"event/dataset=\"exfilter.tls\"",
		"tls/client/server_name=\"00aaaabbbbccccddddeeeeffffgggghhhh.t.xf.test\"",
		"!dns",
		"!url",
	};
	static const char *const host[] = {
		"event/dataset=\"exfilter.http\"",
		"url/domain=\"00aaaabbbbccccddddeeeeffffgggghhhh.t.xf.test\"",
		"!dns",
		"!tls",
	};
	static const char *const bare[] = {
		"tls/client/server_name=\"xf.test\"",
		"!dns",
	};
	struct fx x;

	(void)state;
	fx_init(&x, "xf.test", 1);
	x.flow.kind = XF_EV_SNI;
	x.flow.kaction = XF_ACT_DROP;
	x.flow.kreason = XF_R_VERDICT_SNI;
	x.in.score = NULL;
	fx_build(&x);
	json_ok(&x.rec, 1, sni, (int)ARRAY_SIZE(sni));
	assert_null(strstr(x.rec.json, "\"dns\""));
	x.flow.kind = XF_EV_HOST;
	x.flow.kreason = XF_R_VERDICT_HOST;
	fx_build(&x);
	json_ok(&x.rec, 1, host, (int)ARRAY_SIZE(host));
	/* no sample: the domain names it */
	x.flow.kind = XF_EV_SNI;
	x.flow.samples[0] = NULL;
	fx_build(&x);
	json_ok(&x.rec, 1, bare, (int)ARRAY_SIZE(bare));
	fx_done(&x);
}

/* hostile wire names through the sensor's own path: escaped, valid, ASCII */
static void test_alert_hostile_wire(void **state)
{
	static const char w0[] = "\7a\"b\\c\0d\4\x01\n\x1b\x7f\4\x80\xc3\xa9\xff\2xf\4test\0";
	static const char w1[] = "\10\"},\"x\":{\2xf\4test\0";
	static const char w2[] = "\6\\u0000\2xf\4test\0";
	const char *wires[] = { w0, w1, w2 };
	const size_t lens[] = { sizeof(w0) - 1, sizeof(w1) - 1, sizeof(w2) - 1 };
	char name[XF_SAMPLES][XF_NAME_MAX * 4 + 1], lname[XF_NAME_MAX * 4 + 1], rdbuf[256];
	const char *checks[8];
	struct fx x;
	const char *rd;

	(void)state;
	fx_init(&x, "xf.test", 0);
	fx_score(&x);
	for (int k = 0; k < 3; k++) {
		int r = xf_wire_to_text((const uint8_t *)wires[k], lens[k], 0, name[k],
					sizeof(name[k]));

		assert_true(r > 0);
		snprintf(x.samples[k], XF_SAMPLE_LEN, "%s", name[k]);
		x.flow.samples[k] = x.samples[k];
	}
	assert_string_equal(name[0], "a\\034b\\092c\\000d.\\001\\010\\027\\127."
				     "\\128\\195\\169\\255.xf.test");
	/* lower-cased as the sensor does before asking libpsl */
	for (size_t i = 0; i <= strlen(name[0]); i++)
		lname[i] = name[0][i] >= 'A' && name[0][i] <= 'Z' ? (char)(name[0][i] + 32)
								  : name[0][i];
	rd = xf_registered_domain(lname, rdbuf, sizeof(rdbuf));
	assert_string_equal(rd, "xf.test");
	/* a hostile observer name too (gethostname() is not to be trusted) */
	x.in.observer = "host\"\\\n\x01\xff";
	fx_build(&x);
	checks[0] = "dns/question/name~";
	checks[1] = name[0];
	checks[2] = "exfilter/samples/1~";
	checks[3] = name[1];
	checks[4] = "exfilter/samples/2~";
	checks[5] = name[2];
	checks[6] = "observer/hostname~";
	checks[7] = "host\"\\\n\x01\xff";
	json_ok(&x.rec, 1, checks, 8);
	fx_done(&x);
}

/* raw bytes where escaped names belong (a caller that forgot to escape):
 * still one valid JSON document of pure ASCII, every byte recoverable */
static void test_alert_raw_bytes(void **state)
{
	char raw[256], dom[64];
	const char *checks[6];
	struct fx x;
	int n = 0;

	(void)state;
	for (int i = 1; i < 256; i++)
		raw[n++] = (char)(i == '.' ? 1 : i);
	raw[n] = 0;
	snprintf(dom, sizeof(dom), "e\xe9\"\\\x7f.test");
	fx_init(&x, dom, 0);
	fx_score(&x);
	snprintf(x.samples[0], XF_SAMPLE_LEN, "%s", raw);
	x.flow.samples[0] = x.samples[0];
	fx_build(&x);
	checks[0] = "dns/question/name~";
	checks[1] = raw;
	checks[2] = "dns/question/registered_domain~";
	checks[3] = dom;
	checks[4] = "exfilter/samples/0~";
	checks[5] = raw;
	json_ok(&x.rec, 0, checks, 6);
	fx_done(&x);
}

/* A domain alert as the pipeline builds it for a flood. */
struct dfx {
	uint8_t clients[2][16];
	char sample[64];
	struct xf_ft_alert alert;
	struct xf_dt_domain d;
	struct xf_score score;
	struct xf_det_params params;
	struct xf_sb sb;
	struct xf_alert_rec rec;
};

static void dfx_build(struct dfx *x)
{
	struct xf_alert_dom_in in;

	memset(x, 0, sizeof(*x));
	memcpy(x->clients[0], (uint8_t[16]){ [10] = 0xff, [11] = 0xff, 10, 203, 0, 7 }, 16);
	memcpy(x->clients[1], (uint8_t[16]){ 0x20, 0x01, 0x0d, 0xb8, [15] = 9 }, 16);
	snprintf(x->sample, sizeof(x->sample), "q8zk1x.flood-a.test");
	x->d = (struct xf_dt_domain){
		.idx = 3,
		.domain = "flood-a.test",
		.win_start_s = T0,
		.last_s = T0 + 70,
		.qname_bytes = 133000 * 19,
		.last_qtype = 1,
		.clients = { x->clients[0], x->clients[1] },
		.samples = { x->sample },
		.alert = &x->alert,
		.view = { .domain = "flood-a.test",
			  .queries = 133000,
			  .responses = 120000,
			  .nxdomain = 119000,
			  .distinct = 131000.4,
			  .clients = 19876.6,
			  .span_s = 70 },
	};
	x->params.flood_names = 20000;
	x->params.flood_clients = 20;
	xf_score_domain(&x->d.view, &x->params, NULL, &x->score);
	in = (struct xf_alert_dom_in){
		.dom = &x->d,
		.score = &x->score,
		.action = XF_AA_ALERTED,
		.rev = 1,
		.now_ms = (int64_t)T0 * 1000 + 71000,
		.window_s = 300,
		.mode = "enforce",
		.observer = "sensor-1",
	};
	assert_int_equal(xf_alert_build_domain(&in, &x->sb, &x->rec), 0);
}

static void test_alert_domain(void **state)
{
	static const char *const checks[] = {
		"!source",
		"!destination",
		"exfilter/scope=\"domain\"",
		"exfilter/clients/estimated=19877",
		"exfilter/clients/samples=[\"10.203.0.7\", \"2001:db8::9\"]",
		"exfilter/client_is_resolver=false",
		"dns/question/registered_domain=\"flood-a.test\"",
		"dns/question/name=\"q8zk1x.flood-a.test\"",
		"dns/question/type=\"A\"",
		"rule/name=\"DNS flood: random-subdomain flood\"",
		"rule/id=\"flood\"",
		"exfilter/reasons/0/detector=\"flood\"",
		"exfilter/reasons/0/evidence/clients=19876.6",
		"exfilter/flow/queries=133000",
		"exfilter/flow/distinct_names=131000",
		"exfilter/flow/nxdomain=119000",
		"event/action=\"alerted\"",
		"event/dataset=\"exfilter.dns\"",
		"exfilter/samples=[\"q8zk1x.flood-a.test\"]",
	};
	uint8_t any[16];
	char id[XF_ALERT_ID_LEN + 1];
	struct dfx x;

	(void)state;
	dfx_build(&x);
	assert_true(x.score.score > 70 && x.score.score < 100);
	assert_string_equal(x.rec.client, "*");
	assert_string_equal(x.rec.domain, "flood-a.test");
	/* the id: the domain and the window, no client */
	memset(any, 0xff, sizeof(any));
	xf_alert_id(any, "flood-a.test", T0, id);
	assert_string_equal(x.rec.id, id);
	json_ok(&x.rec, 1, checks, (int)ARRAY_SIZE(checks));
	xf_sb_free(&x.sb);
}

/* the schema tells the scopes apart: a domain alert has no source and has
 * clients; a flow alert has a source and no clients */
static void test_schema_scopes(void **state)
{
	struct dfx x;
	struct fx f;
	char *doc, *p;
	size_t n;

	(void)state;
	dfx_build(&x);
	assert_int_equal(py_run(x.rec.json, x.rec.json_len, 1, NULL, 0, 1), 0);
	/* a domain alert with a source */
	n = x.rec.json_len + 64;
	doc = malloc(n);
	assert_non_null(doc);
	p = strstr(x.rec.json, ",\"dns\":");
	assert_non_null(p);
	snprintf(doc, n, "%.*s,\"source\":{\"ip\":\"10.203.0.7\"}%s", (int)(p - x.rec.json),
		 x.rec.json, p);
	assert_int_not_equal(py_run(doc, strlen(doc), 1, NULL, 0, 1), 0);
	/* a domain alert without its clients */
	p = strstr(x.rec.json, "\"clients\":{");
	assert_non_null(p);
	snprintf(doc, n, "%.*s%s", (int)(p - x.rec.json), x.rec.json, strstr(p, "]},") + 3);
	assert_int_not_equal(py_run(doc, strlen(doc), 1, NULL, 0, 1), 0);
	free(doc);
	xf_sb_free(&x.sb);
	/* a flow alert claiming the domain scope, with its source */
	fx_init(&f, "xf.test", 1);
	fx_score(&f);
	fx_build(&f);
	n = f.rec.json_len + 64;
	doc = malloc(n);
	assert_non_null(doc);
	p = strstr(f.rec.json, "\"window\":");
	assert_non_null(p);
	snprintf(doc, n, "%.*s\"scope\":\"domain\",%s", (int)(p - f.rec.json), f.rec.json, p);
	assert_int_not_equal(py_run(doc, strlen(doc), 1, NULL, 0, 1), 0);
	/* ... and as a flow, it passes */
	snprintf(doc, n, "%.*s\"scope\":\"flow\",%s", (int)(p - f.rec.json), f.rec.json, p);
	assert_int_equal(py_run(doc, strlen(doc), 1, NULL, 0, 1), 0);
	free(doc);
	fx_done(&f);
}

/* the validator itself rejects a document that breaks the schema */
static void test_validator_rejects(void **state)
{
	struct fx x;
	struct xf_alert_rec bad;
	char *doc, *p;

	(void)state;
	fx_init(&x, "xf.test", 1);
	fx_score(&x);
	fx_build(&x);
	doc = strdup(x.rec.json);
	assert_non_null(doc);
	p = strstr(doc, "\"source\":{\"ip\":\"192.0.2.1\"}");
	assert_non_null(p);
	memcpy(p + 16, "192.0.2.x", 9); /* not an address */
	bad = x.rec;
	bad.json = doc;
	bad.json_len = strlen(doc);
	assert_int_not_equal(py_run(bad.json, bad.json_len, 1, NULL, 0, 1), 0);
	/* and the untouched document passes */
	assert_int_equal(py_run(x.rec.json, x.rec.json_len, 1, NULL, 0, 1), 0);
	free(doc);
	fx_done(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wire_to_text),
		cmocka_unit_test(test_wire_worst_case),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_text_name),
		cmocka_unit_test(test_registered_domain),
		cmocka_unit_test(test_qtype_addr),
		cmocka_unit_test(test_alert_id),
		cmocka_unit_test(test_alert_dns_full),
		cmocka_unit_test(test_alert_kernel_only),
		cmocka_unit_test(test_alert_kernel_over_weak_score),
		cmocka_unit_test(test_alert_score_only),
		cmocka_unit_test(test_alert_sni_host),
		cmocka_unit_test(test_alert_hostile_wire),
		cmocka_unit_test(test_alert_raw_bytes),
		cmocka_unit_test(test_validator_rejects),
		cmocka_unit_test(test_alert_domain),
		cmocka_unit_test(test_schema_scopes),
	};

	return cmocka_run_group_tests_name("alert", tests, NULL, NULL);
}
