// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_config.c - libFuzzer target: the YAML config loader
 * (sensor/config.c xf_sensor_cfg_load(), libyaml underneath). The input is
 * the file's bytes, written to a memfd of mode 0600 (the loader refuses
 * files others could write) and loaded over the defaults.
 *
 * Checked beyond the sanitizers: a refused file has an error message that
 * names the file; a loaded one passes the rules between keys and sets up
 * the analysis pipeline, which may refuse only what it checks by design
 * (detector names in detect.weights: the loader does not know detectors),
 * naming the key.
 */
#include "fuzz.h"
#include "config.h"
#include "pipeline.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	xf_fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = xf_fuzz_file(data, size);
	struct xf_sensor_cfg c;
	struct xf_pipeline p;
	char err[512] = "", perr[512] = "";
	int rc;

	xf_sensor_cfg_defaults(&c);
	rc = xf_sensor_cfg_load(&c, path, err, sizeof(err));
	if (rc) {
		XF_FUZZ_CHECK(rc < 0 && strstr(err, path));
		return 0;
	}
	XF_FUZZ_CHECK(xf_sensor_cfg_check(&c, err, sizeof(err)) == 0);
	/* the flow table's memory follows flows.max_flows: keep it small, and
	 * leave GeoIP out (it opens files the input names) */
	if (c.max_flows <= 100000 && !c.geoip_city[0] && !c.geoip_asn[0]) {
		rc = xf_pipe_init(&p, &c, NULL, NULL, perr, sizeof(perr));
		if (rc && strncmp(perr, "detect.weights.", 15))
			dprintf(2, "fuzz_config: loaded, yet the pipeline refuses it: %s\n", perr);
		XF_FUZZ_CHECK(rc == 0 || !strncmp(perr, "detect.weights.", 15));
		xf_pipe_free(&p);
	}
	xf_sensor_cfg_free(&c);
	return 0;
}
