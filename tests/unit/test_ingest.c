// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_ingest.c - sensor/ingest.c xf_event_obs(), the ring buffer record
 * decoder: a query and a response decoded (name, registered domain, client
 * by direction, clock), records it must refuse (short, another version, an
 * unknown kind), and the regressions the fuzzer found: a record whose
 * timestamp plus the monotonic-to-wall offset overflowed a signed sum, and
 * a registered domain cut short when its escaped form outgrew 255 bytes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ingest.h"

static const __u8 qname[] = "\003abc\007example\003com";

static void event(struct xf_event *ev, __u8 kind, __u64 ts_ns)
{
	memset(ev, 0, sizeof(*ev));
	ev->version = XF_EVENT_VERSION;
	ev->kind = kind;
	ev->ts_ns = ts_ns;
	ev->saddr[15] = 1;
	ev->daddr[15] = 53;
	ev->name_len = sizeof(qname); /* the root byte: the string's NUL */
	memcpy(ev->name, qname, sizeof(qname));
}

static void test_query(void **state)
{
	struct xf_ingest_buf buf;
	struct xf_event ev;
	struct xf_obs o;

	(void)state;
	event(&ev, XF_EV_DNS_QUERY, 5000000000ULL);
	assert_int_equal(xf_event_obs(&ev, sizeof(ev), 1700000000000000000LL, 100, &buf, &o), 0);
	assert_string_equal(o.name, "abc.example.com");
	assert_string_equal(o.domain, "example.com");
	assert_int_equal(o.client[15], 1);
	assert_int_equal(o.server[15], 53);
	assert_int_equal(o.response, 0);
	assert_int_equal(o.now_s, 1700000005);
	assert_true(o.ts_ms == 1700000005000ULL);
}

static void test_response(void **state)
{
	struct xf_ingest_buf buf;
	struct xf_event ev;
	struct xf_obs o;

	(void)state;
	event(&ev, XF_EV_DNS_RESPONSE, 0);
	assert_int_equal(xf_event_obs(&ev, sizeof(ev), 0, 100, &buf, &o), 0);
	assert_int_equal(o.response, 1);
	assert_int_equal(o.client[15], 53); /* the client is the response's destination */
}

static void test_refused(void **state)
{
	struct xf_ingest_buf buf;
	struct xf_event ev;
	struct xf_obs o;

	(void)state;
	event(&ev, XF_EV_DNS_QUERY, 0);
	assert_int_equal(xf_event_obs(&ev, sizeof(ev) - 1, 0, 100, &buf, &o), -EINVAL);
	assert_int_equal(xf_event_obs(&ev, 0, 0, 100, &buf, &o), -EINVAL);
	ev.version = XF_EVENT_VERSION + 1;
	assert_int_equal(xf_event_obs(&ev, sizeof(ev), 0, 100, &buf, &o), -EINVAL);
	event(&ev, 0, 0);
	assert_int_equal(xf_event_obs(&ev, sizeof(ev), 0, 100, &buf, &o), -EINVAL);
	event(&ev, XF_EV_HOST + 1, 0);
	assert_int_equal(xf_event_obs(&ev, sizeof(ev), 0, 100, &buf, &o), -EINVAL);
}

/* fuzz_event: ts_ns 8136317765568981550 + offset 1699990000000000000 was a
 * signed overflow (undefined); the clock is now modulo 2^64. */
static void test_ts_overflow(void **state)
{
	struct xf_ingest_buf buf;
	struct xf_event ev;
	struct xf_obs o;
	const uint64_t sum = 8136317765568981550ULL + 1699990000000000000ULL;

	(void)state;
	event(&ev, XF_EV_DNS_QUERY, 8136317765568981550ULL);
	assert_int_equal(xf_event_obs(&ev, sizeof(ev), 1699990000000000000LL, 100, &buf, &o), 0);
	assert_true(o.ts_ms == sum / 1000000ULL);
	assert_int_equal(o.now_s, (uint32_t)(sum / 1000000000ULL));
}

/* fuzz_frame: an SNI of empty labels and bytes that escape to \DDD has no
 * libpsl answer; its last two labels, 323 characters escaped, were cut to
 * 255, so the flow's domain was not a suffix of its name. */
static void test_long_domain(void **state)
{
	struct xf_ingest_buf buf;
	struct xf_event ev;
	struct xf_obs o;
	size_t nl, dl;

	(void)state;
	event(&ev, XF_EV_SNI, 0);
	memset(ev.name, 0, sizeof(ev.name));
	memcpy(ev.name, "...", 3);
	ev.name[83] = 'x'; /* 80 NUL bytes between: \000 each */
	ev.name_len = 84;
	assert_int_equal(xf_event_obs(&ev, sizeof(ev), 0, 100, &buf, &o), 0);
	nl = strlen(buf.lname);
	dl = strlen(o.domain);
	assert_int_equal(nl, 3 + 80 * 4 + 1);
	assert_int_equal(dl, nl - 2);
	assert_memory_equal(o.domain, buf.lname + 2, dl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query),	    cmocka_unit_test(test_response),
		cmocka_unit_test(test_refused),	    cmocka_unit_test(test_ts_overflow),
		cmocka_unit_test(test_long_domain),
	};

	return cmocka_run_group_tests_name("ingest", tests, NULL, NULL);
}
