// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_suffix_set.c - sensor/frame.c's set of the public suffix list's
 * two-label rules (what the kernel's suffixes map holds, and what replay's
 * userspace parse asks per name): every rule is in it, and names that are
 * not rules are not. Needs the Debian package publicsuffix; fails without.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "frame.h"

struct rules {
	char (*name)[128];
	size_t n, cap;
};

static int keep(void *ctx, const char *rule)
{
	struct rules *r = ctx;

	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 1024;
		r->name = realloc(r->name, r->cap * sizeof(*r->name));
		assert_non_null(r->name);
	}
	snprintf(r->name[r->n++], sizeof(r->name[0]), "%s", rule);
	return 0;
}

static void test_members(void **state)
{
	struct xf_suffix_set *s = xf_suffix_set_load(XF_PSL_PATH);
	struct rules r = { 0 };
	char name[160];
	int n, hits = 0;

	(void)state;
	assert_non_null(s);
	n = xf_psl_two_label_rules(XF_PSL_PATH, keep, &r);
	assert_true(n > 1000); /* co.uk, com.au, ...: thousands today */
	assert_int_equal((size_t)n, r.n);
	for (size_t i = 0; i < r.n; i++)
		assert_true(xf_suffix_set_has(s, xf_name_hash_text(r.name[i])));
	/* a label in front of a rule makes a three-label name: never a member;
	 * a rule's second label alone (one label) neither */
	for (size_t i = 0; i < r.n; i++) {
		snprintf(name, sizeof(name), "xf%zu.%s", i, r.name[i]);
		hits += xf_suffix_set_has(s, xf_name_hash_text(name));
		hits += xf_suffix_set_has(s, xf_name_hash_text(strchr(r.name[i], '.') + 1));
	}
	assert_int_equal(hits, 0);
	assert_true(xf_suffix_set_has(s, xf_name_hash_text("co.uk")));
	assert_false(xf_suffix_set_has(s, xf_name_hash_text("example.com")));
	assert_false(xf_suffix_set_has(NULL, xf_name_hash_text("co.uk")));
	xf_suffix_set_free(s);
	free(r.name);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_members),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
