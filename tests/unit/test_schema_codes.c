// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_schema_codes.c - schemas/reasons.md documents every append-only code
 * of bpf/exfilter.h with the name userspace prints; check each row against
 * the header's value and control.c's name, so neither drifts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "control.h"

struct code {
	const char *constant;
	unsigned int value;
	const char *(*name)(unsigned int);
};

/* clang-format off */
#define C(x, fn) { #x, x, fn }

static const struct code codes[] = {
	C(XF_ACT_PASS, xf_action_name), C(XF_ACT_DROP, xf_action_name),
	C(XF_ACT_REFUSE, xf_action_name), C(XF_R_NONE, xf_reason_name),
	C(XF_R_VERDICT_DOMAIN, xf_reason_name), C(XF_R_VERDICT_SNI, xf_reason_name),
	C(XF_R_VERDICT_HOST, xf_reason_name), C(XF_R_IPBLOCK, xf_reason_name),
	C(XF_R_ENC_LABEL, xf_reason_name), C(XF_R_BAD_BYTES, xf_reason_name),
	C(XF_R_RATE, xf_reason_name), C(XF_R_RATE_ENC, xf_reason_name),
	C(XF_S_PACKETS, xf_stat_name), C(XF_S_DNS_QUERIES, xf_stat_name),
	C(XF_S_DNS_RESPONSES, xf_stat_name), C(XF_S_SNI, xf_stat_name),
	C(XF_S_HOST, xf_stat_name), C(XF_S_EVENTS, xf_stat_name),
	C(XF_S_RING_FULL, xf_stat_name), C(XF_S_DROPS, xf_stat_name),
	C(XF_S_WOULD_DROPS, xf_stat_name), C(XF_S_REFUSED, xf_stat_name),
	C(XF_S_ALLOW_HITS, xf_stat_name), C(XF_S_PARSE_ERRORS, xf_stat_name),
	C(XF_S_FAILSAFE_OPEN, xf_stat_name),
	C(XF_PE_NONE, xf_perr_name), C(XF_PE_ETH_TRUNC, xf_perr_name),
	C(XF_PE_VLAN_TRUNC, xf_perr_name), C(XF_PE_VLAN_DEPTH, xf_perr_name),
	C(XF_PE_IP4_TRUNC, xf_perr_name), C(XF_PE_IP4_HDR, xf_perr_name),
	C(XF_PE_IP_FRAG, xf_perr_name), C(XF_PE_IP6_TRUNC, xf_perr_name),
	C(XF_PE_IP6_EXT, xf_perr_name), C(XF_PE_L4_TRUNC, xf_perr_name),
	C(XF_PE_HDR_WINDOW, xf_perr_name), C(XF_PE_DNS_TRUNC, xf_perr_name),
	C(XF_PE_DNS_QDCOUNT, xf_perr_name), C(XF_PE_DNS_LABEL, xf_perr_name),
	C(XF_PE_DNS_PTR, xf_perr_name), C(XF_PE_DNS_LONG, xf_perr_name),
	C(XF_PE_DNS_TCPLEN, xf_perr_name), C(XF_PE_TLS_TRUNC, xf_perr_name),
	C(XF_PE_TLS_BAD, xf_perr_name), C(XF_PE_SNI_BAD, xf_perr_name),
	C(XF_PE_HTTP_NOHOST, xf_perr_name), C(XF_PE_HTTP_BAD, xf_perr_name),
};
/* clang-format on */

static char doc[65536];

static int setup(void **state)
{
	FILE *f = fopen("schemas/reasons.md", "r");
	size_t n;

	(void)state;
	if (!f)
		return -1; /* run from the repository root */
	n = fread(doc, 1, sizeof(doc) - 1, f);
	doc[n] = 0;
	fclose(f);
	return 0;
}

static void test_every_code_documented(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		char row[256];

		snprintf(row, sizeof(row), "| %u | `%s` | `%s` |", codes[i].value,
			 codes[i].constant, codes[i].name(codes[i].value));
		if (!strstr(doc, row))
			fail_msg("schemas/reasons.md lacks the row: %s", row);
	}
}

static void test_counts_match(void **state)
{
	(void)state;
	/* a new code must be added to the table above, and so to the doc */
	assert_int_equal(XF_R_MAX, 9);
	assert_int_equal(XF_S_MAX, 13);
	assert_int_equal(XF_PE_MAX, 22);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_code_documented),
		cmocka_unit_test(test_counts_match),
	};

	return cmocka_run_group_tests_name("schema_codes", tests, setup, NULL);
}
