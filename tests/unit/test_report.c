// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_report.c - sensor/report.c, the HTML tuning report of replay:
 * synthetic flows and scores in, the HTML file out, asserted on: the sweep
 * numbers at given thresholds, time and queries to detect (fractional
 * scores around the threshold, window rolls), detectors that fired above
 * the floor only, the sort, escaping of hostile names everywhere they
 * appear, allowlist hits (with the warning when one skips a labelled
 * tunnel), ground-truth files (every bad line named), the row limit, write
 * errors, the memory bound, and well-formedness checked by python3
 * (balanced tags, every SVG parses as XML, no script, no external
 * resource), itself shown to reject a broken document; and the evaluation
 * summary of replay --eval (first alerts, payload and kernel columns, rows
 * for quiet, allowlisted and hostile names).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "report.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define THR 70.0

/* ---- helpers ---- */

static void ip4(uint8_t *a, uint32_t host)
{
	memset(a, 0, 10);
	a[10] = a[11] = 0xff;
	a[12] = (uint8_t)(host >> 24);
	a[13] = (uint8_t)(host >> 16);
	a[14] = (uint8_t)(host >> 8);
	a[15] = (uint8_t)host;
}

/* One scoring of client x domain: total score, detector 0 at det0, detector
 * 1 (when registered) at det1. */
static void feed(struct xf_report *r, uint32_t client, const char *domain, double score,
		 uint64_t ts_ms, uint64_t first_ms, uint64_t queries, uint64_t bytes, double det0,
		 double det1)
{
	struct xf_ft_flow f = { 0 };
	struct xf_score sc = { 0 };
	uint8_t c[16];

	ip4(c, client);
	f.client = c;
	f.domain = domain;
	f.view.domain = domain;
	f.view.queries = queries;
	f.view.qname_bytes = bytes;
	sc.score = score;
	sc.severity = score >= 85 ? XF_SEV_CRITICAL : score >= 65 ? XF_SEV_HIGH : XF_SEV_LOW;
	sc.det[0].score = det0;
	xf_ev_add(&sc.det[0], "mean_qname_len", 60);
	xf_ev_add(&sc.det[0], "queries", (double)queries);
	if (xf_n_detectors > 1) {
		sc.det[1].score = det1;
		xf_ev_add(&sc.det[1], "mean_entropy", 3.5);
	}
	xf_report_flow(r, &f, &sc, ts_ms, first_ms);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static void tmp_file(char *path, const char *text)
{
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	if (text)
		assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static const char *const inputs[] = { "corpus/iodine-null.pcap", "a&b<c>.pcapng" };

static char *write_html_at(struct xf_report *r, const char *allow_version, double thr)
{
	struct xf_report_meta m = {
		.inputs = inputs,
		.n_inputs = 2,
		.threshold = thr,
		.packets = 1234,
		.dns = 1200,
		.parse_errors = 7,
		.allowlist_version = allow_version,
	};
	char path[] = "/tmp/xf-report-XXXXXX", err[256] = "";
	char *html;

	tmp_file(path, NULL);
	if (xf_report_write(r, path, &m, err, sizeof(err)))
		fail_msg("xf_report_write: %s", err);
	html = slurp(path);
	unlink(path);
	return html;
}

static char *write_html(struct xf_report *r, const char *allow_version)
{
	return write_html_at(r, allow_version, THR);
}

/* The domain table row naming domain (as it appears, escaped), copied. */
static char *row_of(const char *html, const char *domain)
{
	char needle[512];
	const char *td, *start, *end;
	char *row;

	snprintf(needle, sizeof(needle), "<td class=\"dom\">%s</td><td>", domain);
	td = strstr(strstr(html, "id=\"domain-table\""), needle);
	if (!td)
		fail_msg("no domain row for %s", domain);
	for (start = td; start > html && strncmp(start, "<tr", 3); start--)
		;
	end = strstr(td, "</tr>");
	assert_non_null(end);
	row = strndup(start, (size_t)(end - start));
	assert_non_null(row);
	return row;
}

static void has(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("missing: %s\nin: %.2000s", needle, hay);
}

static void lacks(const char *hay, const char *needle)
{
	if (strstr(hay, needle))
		fail_msg("unexpected: %s", needle);
}

/* python3: tags balanced (void elements aside), every <svg> an XML
 * document, at least argv[2] of them, pure ASCII, no script and no src or
 * href anywhere. */
static const char py_check[] =
	"import sys, re, html.parser, xml.etree.ElementTree as ET\n"
	"VOID = "
	"{'area','base','br','col','embed','hr','img','input','link','meta','source','wbr'}\n"
	"bad = []\n"
	"class P(html.parser.HTMLParser):\n"
	"    def __init__(s):\n"
	"        super().__init__(); s.st = []; s.svg = 0\n"
	"    def check(s, t, a):\n"
	"        if t == 'script' or any(k in ('src', 'href') or k.startswith('on') for k, v in "
	"a):\n"
	"            bad.append('forbidden <%s %s>' % (t, a))\n"
	"    def handle_starttag(s, t, a):\n"
	"        s.check(t, a)\n"
	"        s.svg += t == 'svg'\n"
	"        if t not in VOID: s.st.append(t)\n"
	"    def handle_startendtag(s, t, a):\n"
	"        s.check(t, a)\n"
	"    def handle_endtag(s, t):\n"
	"        if not s.st or s.st[-1] != t:\n"
	"            bad.append('</%s> closes %s' % (t, s.st[-3:])); return\n"
	"        s.st.pop()\n"
	"doc = open(sys.argv[1], 'rb').read().decode('ascii')\n"
	"p = P(); p.feed(doc); p.close()\n"
	"if p.st: bad.append('unclosed %s' % p.st)\n"
	"svgs = re.findall(r'<svg\\b.*?</svg>', doc, re.S)\n"
	"if len(svgs) != p.svg: bad.append('%d <svg> but %d closed' % (p.svg, len(svgs)))\n"
	"if p.svg < int(sys.argv[2]): bad.append('only %d svg' % p.svg)\n"
	"for s in svgs:\n"
	"    try: ET.fromstring(s)\n"
	"    except ET.ParseError as e: bad.append('svg: %s' % e)\n"
	"if bad: sys.exit('\\n'.join(bad))\n";

static int py_wellformed(const char *html, int min_svg, int quiet)
{
	char path[] = "/tmp/xf-report-XXXXXX", n[16];
	int st = -1;
	pid_t pid;

	tmp_file(path, html);
	snprintf(n, sizeof(n), "%d", min_svg);
	pid = fork();
	if (pid == 0) {
		if (quiet && !freopen("/dev/null", "w", stderr))
			_exit(126);
		execlp("python3", "python3", "-c", py_check, path, n, (char *)NULL);
		_exit(127);
	}
	assert_true(pid > 0);
	waitpid(pid, &st, 0);
	unlink(path);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- the scenario most tests share ---- */

static const char truth_text[] = "# ground truth for the synthetic run\n"
				 "tun.example tunnel\n"
				 "exfil.example   exfil   # slow\n"
				 "beacon.example beacon\n"
				 "benign.example benign\n";

/*
 * pairs and best scores: tun.example x A 90, x B 40; exfil.example 70.2;
 * benign.example 55; other.example 20 (unlabelled). beacon.example is
 * labelled and never seen.
 */
static struct xf_report *scenario(void)
{
	struct xf_report *r = xf_report_new();
	char path[] = "/tmp/xf-truth-XXXXXX", err[256];

	assert_non_null(r);
	tmp_file(path, truth_text);
	if (xf_report_truth(r, path, err, sizeof(err)))
		fail_msg("truth: %s", err);
	unlink(path);
	/* tun.example, client A: crosses 70 at 1.200 s after its first packet */
	feed(r, 0x0a000001, "tun.example", 30, 1000500, 1000000, 3, 180, 40, 3);
	feed(r, 0x0a000001, "tun.example", 72, 1001200, 1000000, 8, 480, 80, 3);
	feed(r, 0x0a000001, "tun.example", 90, 1002000, 1000000, 15, 900, 60, 3);
	/* the window rolls: counts restart, totals carry on */
	feed(r, 0x0a000001, "tun.example", 50, 1900000, 1900000, 2, 120, 30, 3);
	/* client B of the same domain stays below */
	feed(r, 0x0a000002, "tun.example", 40, 2000000, 1999000, 5, 300, 20, 3);
	/* exfil.example: 69.5 is not 70; 70.2 at 45.250 s is; a later 69.9
	 * does not lower the best */
	feed(r, 0x0a000003, "exfil.example", 20, 5000100, 5000000, 2, 100, 10, 0);
	feed(r, 0x0a000003, "exfil.example", 69.5, 5030000, 5000000, 9, 450, 10, 0);
	feed(r, 0x0a000003, "exfil.example", 70.2, 5045250, 5000000, 12, 600, 10, 0);
	feed(r, 0x0a000003, "exfil.example", 69.9, 5050000, 5000000, 13, 650, 10, 0);
	feed(r, 0x0a000004, "benign.example", 55, 7000000, 6999000, 4, 80, 4, 50);
	feed(r, 0x0a000004, "other.example", 20, 7000000, 6999000, 1, 20, 0, 0);
	return r;
}

/* ---- tests ---- */

static void test_sweep(void **state)
{
	struct xf_report *r = scenario();
	char *html = write_html(r, "2024.1");

	(void)state;
	/* threshold, alerts (pairs), domains, known-tunnel hits, recall of the
	 * 3 labelled (beacon never seen), false positives, unlabelled */
	has(html, "<tr id=\"sweep-0\"><td class=\"n\">0</td><td class=\"n\">5</td>"
		  "<td class=\"n\">4</td><td class=\"n\">2</td><td class=\"n\">66.7%</td>"
		  "<td class=\"n\">1</td><td class=\"n\">1</td></tr>");
	has(html, "<tr id=\"sweep-50\"><td class=\"n\">50</td><td class=\"n\">3</td>"
		  "<td class=\"n\">3</td><td class=\"n\">2</td><td class=\"n\">66.7%</td>"
		  "<td class=\"n\">1</td><td class=\"n\">0</td></tr>");
	has(html, "<tr id=\"sweep-60\"><td class=\"n\">60</td><td class=\"n\">2</td>"
		  "<td class=\"n\">2</td><td class=\"n\">2</td><td class=\"n\">66.7%</td>"
		  "<td class=\"n\">0</td><td class=\"n\">0</td></tr>");
	/* a best score exactly on a step counts there (other.example at 20,
	 * tun.example x B at 40) */
	has(html, "<tr id=\"sweep-20\"><td class=\"n\">20</td><td class=\"n\">5</td>"
		  "<td class=\"n\">4</td><td class=\"n\">2</td><td class=\"n\">66.7%</td>"
		  "<td class=\"n\">1</td><td class=\"n\">1</td></tr>");
	has(html, "<tr id=\"sweep-40\"><td class=\"n\">40</td><td class=\"n\">4</td>"
		  "<td class=\"n\">3</td><td class=\"n\">2</td><td class=\"n\">66.7%</td>"
		  "<td class=\"n\">1</td><td class=\"n\">0</td></tr>");
	/* the configured threshold's row is marked */
	has(html,
	    "<tr id=\"sweep-70\" class=\"cur\"><td class=\"n\">70</td><td class=\"n\">2</td>");
	has(html, "<tr id=\"sweep-75\"><td class=\"n\">75</td><td class=\"n\">1</td>"
		  "<td class=\"n\">1</td><td class=\"n\">1</td><td class=\"n\">33.3%</td>"
		  "<td class=\"n\">0</td><td class=\"n\">0</td></tr>");
	has(html, "<tr id=\"sweep-95\"><td class=\"n\">95</td><td class=\"n\">0</td>"
		  "<td class=\"n\">0</td><td class=\"n\">0</td><td class=\"n\">0.0%</td>");
	lacks(html, "id=\"sweep-105\"");
	/* the summary at the threshold */
	has(html, "<dd id=\"alerts\">2 (on 2 domains)</dd>");
	has(html, "<dd id=\"recall\">2 of 3</dd>");
	has(html, "<dd id=\"fp\">0 of 1 benign</dd>");
	/* the charts, one point per threshold and the threshold marker */
	has(html, "<svg id=\"chart-alerts\"");
	has(html, "<svg id=\"chart-truth\"");
	has(html, "<title>known-tunnel hits at 75: 1</title>");
	has(html, "<title>alerts (client x domain) at 50: 3</title>");
	has(html, "<title>threshold 70</title>");
	/* beacon.example was labelled and never scored */
	has(html, "<li>beacon.example (beacon)</li>");
	free(html);
	xf_report_free(r);
}

static void test_domains(void **state)
{
	struct xf_report *r = scenario();
	char *html = write_html(r, NULL), *row, want[256];
	const char *t;

	(void)state;
	row = row_of(html, "tun.example");
	has(row, "class=\"tunnel\"");
	has(row, "<td class=\"n\">90.0</td><td>critical</td>");
	/* detector 0 at its best (80, not the 60 at the max) with its evidence */
	snprintf(want, sizeof(want), "%s <b>80</b> <span class=\"ev\">mean_qname_len=60, queries=8",
		 xf_detectors[0]->name);
	has(row, want);
	/* under the floor of 5: not a detector that fired */
	if (xf_n_detectors > 1) {
		snprintf(want, sizeof(want), "%s <b>", xf_detectors[1]->name);
		lacks(row, want);
	}
	/* clients, alerts, queries and bytes at the max, totals across the roll */
	has(row, "<td class=\"n\">2</td><td class=\"n\">1</td><td class=\"n\">15</td>"
		 "<td class=\"n\">900</td><td class=\"n\">22</td><td class=\"n\">1320</td>");
	has(row, "<td>1970-01-01 00:16:40.000Z</td>");
	has(row, "<td class=\"n ttd\">1.200 s</td><td class=\"n\">8</td>");
	free(row);

	row = row_of(html, "exfil.example");
	has(row, "<td class=\"n ttd\">45.250 s</td><td class=\"n\">12</td>");
	has(row, "<td class=\"n\">70.2</td>");
	free(row);

	row = row_of(html, "benign.example");
	has(row, "class=\"benign\"");
	has(row, "<td class=\"n ttd\">not detected</td>");
	if (xf_n_detectors > 1) {
		snprintf(want, sizeof(want), "%s <b>50</b>", xf_detectors[1]->name);
		has(row, want);
	}
	free(row);

	/* by score: tun 90, exfil 70.2, benign 55, other 20 */
	t = strstr(html, "id=\"domain-table\"");
	assert_non_null(t);
	assert_true(strstr(t, ">tun.example<") < strstr(t, ">exfil.example<"));
	assert_true(strstr(t, ">exfil.example<") < strstr(t, ">benign.example<"));
	assert_true(strstr(t, ">benign.example<") < strstr(t, ">other.example<"));
	/* the run */
	has(html, "corpus/iodine-null.pcap<br>a&amp;b&lt;c&gt;.pcapng");
	has(html, "<dt>parse errors</dt><dd>7</dd>");
	has(html, "<dt>allowlist version</dt><dd>none</dd>");
	free(html);
	xf_report_free(r);
}

static void test_escaping(void **state)
{
	struct xf_report *r = xf_report_new();
	char *html;

	(void)state;
	feed(r, 1, "<script>alert(1)</script>.evil", 99, 1000, 900, 50, 5000, 90, 0);
	feed(r, 1, "q\"uote'&amp.evil", 10, 1000, 900, 1, 10, 0, 0);
	feed(r, 2, "raw\x01\xff.evil", 10, 1000, 900, 1, 10, 0, 0);
	xf_report_allow_hit(r, "<script>x</script>.org", "\"><img src=x onerror=alert(1)>",
			    "<b>src</b>");
	html = write_html(r, "v1 \"<x>\"");
	lacks(html, "<script");
	lacks(html, "<img");
	lacks(html, "<b>src");
	lacks(html, "\x01");
	lacks(html, "\xff");
	has(html, "<td class=\"dom\">&lt;script&gt;alert(1)&lt;/script&gt;.evil</td>");
	has(html, "<td class=\"dom\">q&quot;uote&#39;&amp;amp.evil</td>");
	has(html, "<td class=\"dom\">raw\\001\\255.evil</td>");
	has(html, "<td class=\"dom\">&lt;script&gt;x&lt;/script&gt;.org</td>"
		  "<td class=\"dom\">&quot;&gt;&lt;img src=x onerror=alert(1)&gt;</td>"
		  "<td>&lt;b&gt;src&lt;/b&gt;</td>");
	has(html, "<dd>v1 &quot;&lt;x&gt;&quot;</dd>");
	/* no ground truth: the sweep still has alerts, the truth chart a note */
	has(html, "<dt>ground truth</dt><dd>none given</dd>");
	lacks(html, "chart-truth");
	has(html, "<tr id=\"sweep-90\"><td class=\"n\">90</td><td class=\"n\">1</td>"
		  "<td class=\"n\">1</td><td class=\"n\">0</td><td class=\"n\">-</td>");
	assert_int_equal(py_wellformed(html, 1, 0), 0);
	free(html);
	xf_report_free(r);
}

static void test_allow_hits(void **state)
{
	struct xf_report *r = scenario();
	char *html;
	const char *a, *b;

	(void)state;
	for (int i = 0; i < 3; i++)
		xf_report_allow_hit(r, "in-addr.arpa", "in-addr.arpa", "shipped");
	xf_report_allow_hit(r, "1e100.net", "1e100.net", "user:/etc/exfilter/allow.txt");
	xf_report_allow_hit(r, "tun.example", "example", "user:cli");
	xf_report_allow_hit(r, "tun.example", "example", "user:cli");
	xf_report_allow_hit(r, "other.example", "example", "user:cli");
	html = write_html(r, "2024.1");
	has(html, "<dt>allowlist skips</dt><dd>7</dd>");
	has(html, "<dt>allowlist version</dt><dd>2024.1</dd>");
	has(html, "<tr><td class=\"dom\">in-addr.arpa</td><td class=\"dom\">in-addr.arpa</td>"
		  "<td>shipped</td><td class=\"n\">3</td></tr>");
	has(html, "<tr><td class=\"dom\">tun.example</td><td class=\"dom\">example</td>"
		  "<td>user:cli</td><td class=\"n\">2</td></tr>");
	/* by hits: 3 before 2 before 1 */
	a = strstr(html, "<td>shipped</td><td class=\"n\">3</td></tr>");
	b = strstr(html, "<td>user:cli</td><td class=\"n\">2</td></tr>");
	assert_true(a && b && a < b);
	/* per entry: hits summed over the domains it covered */
	has(html, "<tr><td class=\"dom\">example</td><td>user:cli</td><td class=\"n\">3</td>"
		  "<td class=\"n\">2</td></tr>");
	/* an allowlist entry skipping a labelled tunnel is called out; only that one */
	has(html, "<p class=\"warn\" id=\"allow-warn\">Allowlist entry <code>example</code> "
		  "(user:cli) skipped flows of <code>tun.example</code>, labelled tunnel.</p>");
	lacks(html, "skipped flows of <code>other.example");
	free(html);
	xf_report_free(r);

	/* none */
	r = xf_report_new();
	html = write_html(r, NULL);
	has(html, "No flow was skipped by the allowlist.");
	free(html);
	xf_report_free(r);
}

static void test_truth_errors(void **state)
{
	static const struct {
		const char *text;
		const char *want[2];
	} cases[] = {
		{ "a.example tunnel\n# fine\nb.example nonsense\n", { ":3: ", "'nonsense'" } },
		{ "a.example tunnel\n\nonlyone\n", { ":3: ", "one field" } },
		{ "a.example tunnel extra\n", { ":1: ", "more than two fields" } },
		{ "a.example tunnel\nA.EXAMPLE. benign\n",
		  { ":2: ", "already labelled tunnel (line 1)" } },
		{ "x.example benign\nbad/name tunnel\n", { ":2: ", "bad domain" } },
		{ "x.example benign\n\xc3\xa9.example tunnel\n", { ":2: ", "bad domain" } },
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct xf_report *r = xf_report_new();
		char path[] = "/tmp/xf-truth-XXXXXX";

		tmp_file(path, cases[i].text);
		err[0] = 0;
		assert_int_equal(xf_report_truth(r, path, err, sizeof(err)), -1);
		has(err, path);
		has(err, cases[i].want[0]);
		has(err, cases[i].want[1]);
		unlink(path);
		xf_report_free(r);
	}
	{
		struct xf_report *r = xf_report_new();

		assert_int_equal(xf_report_truth(r, "/nonexistent/labels.txt", err, sizeof(err)),
				 -1);
		has(err, "failed to open truth file /nonexistent/labels.txt: No such file");
		xf_report_free(r);
	}
}

static void test_truth_normalised(void **state)
{
	struct xf_report *r = xf_report_new();
	char path[] = "/tmp/xf-truth-XXXXXX", err[256], *html, *row;

	(void)state;
	/* case, trailing dot, comments, blanks; a subdomain counts for its
	 * registered domain; the same label twice is fine */
	tmp_file(path, "  A.Example.  tunnel  # trailing\n\n\tsub.b.example benign\n"
		       "b.example benign\r\n");
	if (xf_report_truth(r, path, err, sizeof(err)))
		fail_msg("truth: %s", err);
	unlink(path);
	feed(r, 1, "a.example", 80, 2000, 1000, 10, 900, 80, 0);
	feed(r, 1, "b.example", 10, 2000, 1000, 10, 100, 0, 0);
	html = write_html(r, NULL);
	row = row_of(html, "a.example");
	has(row, "<td>tunnel</td>");
	has(row, "<td class=\"n ttd\">1.000 s</td>");
	free(row);
	row = row_of(html, "b.example");
	has(row, "<td>benign</td>");
	free(row);
	has(html, "<dd id=\"recall\">1 of 1</dd>");
	has(html, "<dd id=\"fp\">0 of 1 benign</dd>");
	free(html);
	xf_report_free(r);
}

/* A fractional threshold: a score equal to it detects, the first step at
 * or over it gives the time. */
static void test_fractional_threshold(void **state)
{
	struct xf_report *r = xf_report_new();
	char *html, *row;

	(void)state;
	feed(r, 1, "a.example", 70.1, 3000, 1000, 5, 500, 0, 0);
	feed(r, 1, "a.example", 70.2, 4500, 1000, 6, 600, 0, 0);
	feed(r, 2, "b.example", 70.19, 4500, 1000, 6, 600, 0, 0);
	html = write_html_at(r, NULL, 70.2);
	has(html, "<dd id=\"alerts\">1 (on 1 domains)</dd>");
	row = row_of(html, "a.example");
	has(row, "<td class=\"n ttd\">3.500 s</td><td class=\"n\">6</td>");
	free(row);
	row = row_of(html, "b.example");
	has(row, "<td class=\"n ttd\">not detected</td>");
	free(row);
	free(html);
	xf_report_free(r);
}

static void test_rows_limit(void **state)
{
	struct xf_report *r = scenario();
	char *html;

	(void)state;
	/* one row, plus every labelled tunnel, whatever its rank */
	xf_report_set_rows(r, 1);
	html = write_html(r, NULL);
	has(html, ">tun.example<");
	has(html, ">exfil.example<");
	lacks(html, ">other.example<");
	lacks(html, ">benign.example</td><td>");
	has(html, "<p>2 more domains with scores of 55.0 or less not shown.</p>");
	free(html);
	xf_report_free(r);
}

static void test_wellformed(void **state)
{
	struct xf_report *r = scenario();
	char *html, *cut;
	const char *b;

	(void)state;
	xf_report_allow_hit(r, "in-addr.arpa", "in-addr.arpa", "shipped");
	feed(r, 9, "<svg><script>x</script>.evil", 85, 1000, 900, 50, 5000, 90, 0);
	html = write_html(r, "2024.1");
	assert_int_equal(py_wellformed(html, 2, 0), 0);
	/* the checker can fail: an svg cut short, a stray script */
	cut = strdup(html);
	assert_non_null(cut);
	*strstr(cut, "</svg>") = ' ';
	assert_int_not_equal(py_wellformed(cut, 2, 1), 0);
	free(cut);
	b = strstr(html, "<body>");
	assert_non_null(b);
	assert_true(asprintf(&cut, "%.*s<script></script>%s", (int)(b - html), html, b) > 0);
	assert_int_not_equal(py_wellformed(cut, 2, 1), 0);
	free(cut);
	free(html);
	xf_report_free(r);
}

static void test_write_errors(void **state)
{
	struct xf_report *r = scenario();
	struct xf_report_meta m = { .threshold = THR };
	char err[256] = "";

	(void)state;
	assert_int_equal(xf_report_write(r, "/nonexistent-dir/r.html", &m, err, sizeof(err)), -1);
	has(err, "failed to write report /nonexistent-dir/r.html: No such file");
	if (access("/dev/full", W_OK) == 0) {
		err[0] = 0;
		assert_int_equal(xf_report_write(r, "/dev/full", &m, err, sizeof(err)), -1);
		has(err, "failed to write report /dev/full");
	}
	xf_report_free(r);
}

/* Memory grows with domains and pairs, not with scorings; flows without a
 * domain are counted as lost. */
static void test_bounded(void **state)
{
	struct xf_report *r = xf_report_new();
	struct xf_report_stats st;
	char dom[32];

	(void)state;
	for (int k = 0; k < 50; k++)
		for (int d = 0; d < 100; d++)
			for (uint32_t c = 0; c < 10; c++) {
				snprintf(dom, sizeof(dom), "d%d.example", d);
				feed(r, c, dom, (k * 7 + d) % 101, 1000 + (uint64_t)k, 1000, 1, 1,
				     0, 0);
			}
	feed(r, 1, "", 10, 1, 1, 1, 1, 0, 0);
	xf_report_stats(r, &st);
	assert_int_equal(st.flows, 50 * 100 * 10 + 1);
	assert_int_equal(st.domains, 100);
	assert_int_equal(st.pairs, 1000);
	assert_int_equal(st.lost, 1);
	xf_report_free(r);
}

/* ---- the evaluation summary (replay --eval) ---- */

static void query(struct xf_report *r, uint32_t client, const char *domain, uint64_t payload,
		  int kernel, uint64_t ts_ms)
{
	uint8_t c[16];

	ip4(c, client);
	xf_report_query(r, c, domain, payload, kernel, ts_ms);
}

static void alert(struct xf_report *r, uint32_t client, const char *domain, uint64_t ts_ms)
{
	struct xf_ft_flow f = { 0 };
	uint8_t c[16];

	ip4(c, client);
	f.client = c;
	f.domain = domain;
	f.view.queries = 99; /* the window's: not what a fed report counts */
	xf_report_alert(r, &f, ts_ms);
}

static char *write_eval(struct xf_report *r)
{
	struct xf_report_meta m = {
		.inputs = inputs,
		.n_inputs = 2,
		.threshold = THR,
		.packets = 10,
		.dns = 9,
		.parse_errors = 1,
		.allowlist_version = "2025.1",
	};
	char path[] = "/tmp/xf-eval-XXXXXX", err[256] = "";
	char *tsv;

	tmp_file(path, NULL);
	if (xf_report_write_eval(r, path, &m, err, sizeof(err)))
		fail_msg("xf_report_write_eval: %s", err);
	tsv = slurp(path);
	unlink(path);
	return tsv;
}

/* Two clients on a tunnel: the one that alerted soonest after its own first
 * query gives time, queries and payload bytes to detect; later alerts and
 * the window's count do not change them; the first query the kernel acts on
 * is counted the same way; quiet, allowlisted and hostile names get rows. */
static struct xf_report *eval_scenario(void)
{
	struct xf_report *r = xf_report_new();
	char path[] = "/tmp/xf-truth-XXXXXX", err[256] = "";

	assert_non_null(r);
	tmp_file(path, "tun.example tunnel\nquiet.example benign\n");
	assert_int_equal(xf_report_truth(r, path, err, sizeof(err)), 0);
	unlink(path);
	/* client 1: 5 queries of 30 payload bytes from t=1000, the kernel acts on
	 * the 3rd, an alert at 2000, then more queries and a second alert */
	for (int i = 0; i < 5; i++)
		query(r, 1, "tun.example", 30, i == 2, 1000 + 100 * (uint64_t)i);
	feed(r, 1, "tun.example", 80, 2000, 1000, 5, 200, 80, 10);
	alert(r, 1, "tun.example", 2000);
	for (int i = 0; i < 3; i++)
		query(r, 1, "tun.example", 30, 1, 2100 + 100 * (uint64_t)i);
	alert(r, 1, "tun.example", 3000);
	/* client 2: first query at 1500, alerted 100 ms later after one query */
	query(r, 2, "tun.example", 10, 0, 1500);
	feed(r, 2, "tun.example", 75, 1600, 1500, 1, 20, 75, 0);
	alert(r, 2, "tun.example", 1600);
	/* quiet: two queries, low score; the apex has no payload */
	query(r, 3, "quiet.example", 4, 0, 500);
	query(r, 3, "quiet.example", 0, 0, 900);
	feed(r, 3, "quiet.example", 10, 1000, 500, 2, 30, 10, 0);
	/* skipped by the allowlist, never scored */
	xf_report_allow_hit(r, "av.example", "av.example", "shipped:2025.1");
	xf_report_allow_hit(r, "av.example", "av.example", "shipped:2025.1");
	/* a name with a tab, a space and a high byte cannot break a line */
	query(r, 4, "a\tb c\x80.example", 7, 0, 700);
	return r;
}

static void test_eval_summary(void **state)
{
	struct xf_report *r = eval_scenario();
	char *tsv = write_eval(r);

	(void)state;
	has(tsv, "# exfilter replay --eval 1\n# inputs\tcorpus/iodine-null.pcap\ta&b<c>.pcapng\n"
		 "# threshold\t70\n# packets\t10\n# dns\t9\n# parse_errors\t1\n"
		 "# allowlist\t2025.1\n# queries_fed\t1\n# lost\t0\n");
	has(tsv, "domain\tlabel\tclients\tqueries\tpayload_bytes\tmax_score\tseverity\t"
		 "allowlisted\talerts\tdetected\tfirst_ms\tlast_query_ms\talert_ms\tttd_ms\t"
		 "queries_to_detect\tbytes_to_detect\tkernel_ttd_ms\tkernel_queries\t"
		 "kernel_bytes\tdetectors\tevidence\n");
	/* sorted by name: the escaped one sorts first */
	has(tsv, "\na\\009b\\032c\\128.example\t-\t1\t1\t7\t-\t-\t0\t0\t0\t700\t700\t-\t-\t-\t-"
		 "\t-\t-\t-\t-\t-\n");
	has(tsv, "\nav.example\t-\t0\t0\t0\t-\t-\t2\t0\t0\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\n");
	has(tsv, "\nquiet.example\tbenign\t1\t2\t4\t10.0\tlow\t0\t0\t0\t500\t900\t-\t-\t-\t-"
		 "\t-\t-\t-\t");
	/* 9 queries, 270 payload bytes; client 2 alerted 100 ms after its first
	 * query, after 1 query of 10 bytes; the kernel acted on client 1's 3rd
	 * query, 200 ms in, 90 bytes */
	has(tsv, "\ntun.example\ttunnel\t2\t9\t250\t80.0\thigh\t0\t2\t1\t1000\t2300\t1600\t100\t1"
		 "\t10\t200\t3\t90\t");
	lacks(tsv, "\t99\t");
	xf_report_free(r);
	free(tsv);
}

/* The HTML row shows payload bytes to detect and counts fed queries. */
static void test_eval_html(void **state)
{
	struct xf_report *r = eval_scenario();
	char *html = write_html(r, NULL), *row = row_of(html, "tun.example");

	(void)state;
	has(html, "<th>payload bytes to detect</th>");
	has(row, "<td class=\"n ttd\">0.100 s</td><td class=\"n\">1</td><td class=\"n\">10</td>");
	free(row);
	row = row_of(html, "quiet.example");
	has(row, "not detected</td><td class=\"n\">-</td><td class=\"n\">-</td>");
	free(row);
	xf_report_free(r);
	free(html);
}

/* Without a query feed (the flows only), bytes to detect are unknown. */
static void test_eval_unfed(void **state)
{
	struct xf_report *r = xf_report_new();
	char *html, *row, *tsv;

	(void)state;
	feed(r, 1, "tun.example", 80, 2000, 1000, 5, 200, 80, 10);
	alert(r, 1, "tun.example", 2000);
	html = write_html(r, NULL);
	row = row_of(html, "tun.example");
	has(row, "<td class=\"n ttd\">1.000 s</td><td class=\"n\">5</td><td class=\"n\">-</td>");
	tsv = write_eval(r);
	has(tsv, "# queries_fed\t0\n");
	/* the window's queries at the alert, payload unknown (0) */
	has(tsv, "\ntun.example\t-\t1\t0\t0\t80.0\thigh\t0\t1\t1\t1000\t-\t2000\t1000\t99\t0\t");
	xf_report_free(r);
	free(html);
	free(row);
	free(tsv);
}

static void test_eval_errors(void **state)
{
	struct xf_report *r = xf_report_new();
	struct xf_report_meta m = { .threshold = THR };
	char err[256] = "";

	(void)state;
	query(r, 1, "", 5, 0, 1);
	query(r, 1, NULL, 5, 0, 1);
	assert_int_equal(xf_report_write_eval(r, "/nonexistent-dir/e.tsv", &m, err, sizeof(err)),
			 -1);
	has(err, "failed to write evaluation /nonexistent-dir/e.tsv: No such file");
	{
		struct xf_report_stats st;

		xf_report_stats(r, &st);
		assert_int_equal(st.lost, 2);
		assert_int_equal(st.domains, 0);
	}
	xf_report_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sweep),
		cmocka_unit_test(test_domains),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_allow_hits),
		cmocka_unit_test(test_truth_errors),
		cmocka_unit_test(test_truth_normalised),
		cmocka_unit_test(test_fractional_threshold),
		cmocka_unit_test(test_rows_limit),
		cmocka_unit_test(test_wellformed),
		cmocka_unit_test(test_write_errors),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_eval_summary),
		cmocka_unit_test(test_eval_html),
		cmocka_unit_test(test_eval_unfed),
		cmocka_unit_test(test_eval_errors),
	};

	return cmocka_run_group_tests_name("report", tests, NULL, NULL);
}
