// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * registry.c - the list of detectors. Adding one: write detectors/NAME.c
 * exporting `const struct xf_detector xf_det_NAME` (a flow-scope `score`
 * or a domain-scope `score_domain` hook, detector.h), and list it here.
 */
#include <string.h>
#include "detector.h"

extern const struct xf_detector xf_det_length;
extern const struct xf_detector xf_det_entropy;
extern const struct xf_detector xf_det_distinct;
extern const struct xf_detector xf_det_volume;
extern const struct xf_detector xf_det_timing;
extern const struct xf_detector xf_det_qtype;
extern const struct xf_detector xf_det_nxdomain;
extern const struct xf_detector xf_det_bypass;
extern const struct xf_detector xf_det_signature;
extern const struct xf_detector xf_det_sni;
extern const struct xf_detector xf_det_host;
extern const struct xf_detector xf_det_flood;

const struct xf_detector *const xf_detectors[] = {
	&xf_det_length,
	&xf_det_entropy,
	&xf_det_distinct,
	&xf_det_volume,
	&xf_det_timing,
	&xf_det_qtype,
	&xf_det_nxdomain,
	&xf_det_bypass,
	&xf_det_signature,
	&xf_det_sni,
	&xf_det_host,
	&xf_det_flood, /* domain scope */
};

const int xf_n_detectors = sizeof(xf_detectors) / sizeof(xf_detectors[0]);
_Static_assert(sizeof(xf_detectors) / sizeof(xf_detectors[0]) <= 16, "xf_score has 16 slots");

const struct xf_detector *xf_detector_find(const char *name)
{
	for (int i = 0; i < xf_n_detectors; i++)
		if (!strcmp(xf_detectors[i]->name, name))
			return xf_detectors[i];
	return NULL;
}

uint32_t xf_name_tags(const struct xf_name_in *n)
{
	uint32_t t = 0;

	for (int i = 0; i < xf_n_detectors; i++)
		if (xf_detectors[i]->tag)
			t |= xf_detectors[i]->tag(n);
	return t;
}
