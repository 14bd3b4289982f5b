// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_replay.c - libFuzzer target: a capture file through `exfilter
 * replay` whole (sensor/replay.c xf_replay_run()): libpcap's pcap and
 * pcapng readers, every link type replay takes, the frames through the
 * shared parsers, ldns, the ring record decoder, the flow table, detectors,
 * scorer and alerts, the tuning report and the evaluation summary. Config
 * allow and block lists are set so the kernel's decision twin has entries.
 *
 * The input is the file; it reaches replay as a path (a memfd). Alerts,
 * report and summary go to /dev/null. Checked beyond the sanitizers: the
 * exit status is 0 or 1 (a capture libpcap refuses), never 2 (bad input
 * named by the user, which a capture is not).
 */
#include "fuzz.h"
#include "config.h"
#include "replay.h"

static struct xf_sensor_cfg cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	xf_fuzz_quiet();
	xf_sensor_cfg_defaults(&cfg);
	xf_fuzz_cfg_set(&cfg, "flows.max_flows", "256");
	xf_fuzz_cfg_set(&cfg, "resolvers", "10.201.1.1,fd00:201:1::1");
	xf_fuzz_cfg_set(&cfg, "allow", "ok.test");
	xf_fuzz_cfg_set(&cfg, "block", "xf.test,sni:a.example,host:a.example,203.0.113.0/24");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	volatile sig_atomic_t stop = 0;
	const char *files[1] = { xf_fuzz_file(data, size) };
	struct xf_replay_opts o = {
		.files = files,
		.n_files = 1,
		.format = size & 1 ? XF_RF_TABLE : XF_RF_JSON, /* either printer */
		.report = "-",
		.eval = "-",
	};
	int rc = xf_replay_run(&cfg, &o, &stop);

	XF_FUZZ_CHECK(rc == 0 || rc == 1);
	return 0;
}
