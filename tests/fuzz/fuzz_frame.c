// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_frame.c - libFuzzer target: one Ethernet frame through the shared
 * packet parsers' userspace build, as replay runs it (sensor/frame.c over
 * bpf/parse_*.h: Ethernet, VLAN, IPv4, IPv6 and its extension headers,
 * UDP, TCP, the DNS question and name features, TLS ClientHello SNI, HTTP
 * Host), then the kernel's decision twin and the event record it builds,
 * then that record through the live decoder (sensor/ingest.c).
 *
 * The input is the frame as the capture holds it (seeds: one packet each).
 * Checked beyond the sanitizers: a result is OK, SKIP or a counted parse
 * error, what a parse points at lies inside the frame, and the registered
 * domain a flow is keyed by is a suffix of the decoded name.
 */
#include "fuzz.h"
#include "frame.h"
#include "ingest.h"

/* replay's largest frame: a 256 KiB snaplen plus the Ethernet header */
#define FRAME_MAX (262144 + XF_ETH_HLEN)

static struct xf_config cfg;
static struct xf_suffix_set *sfx;
static struct xf_ingest_buf ibuf;

/* One verdict of each kind and an allow entry, so every branch of the
 * decision twin can be reached by a name the fuzzer finds. */
static struct xf_vkey block[3], allow[1];
static struct xf_verdict block_v[3];
static struct xf_frame_lists lists = {
	.block = block, .block_v = block_v, .n_block = 3, .allow = allow, .n_allow = 1
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	xf_fuzz_quiet();
	xf_config_defaults(&cfg);
	sfx = xf_suffix_set_load(XF_PSL_PATH);
	if (!sfx) {
		dprintf(2, "fuzz_frame: cannot read %s (apt-get install publicsuffix)\n",
			XF_PSL_PATH);
		abort();
	}
	block[0] = (struct xf_vkey){ .hash = xf_name_hash_text("xf.test"), .kind = XF_VK_DOMAIN };
	block_v[0] = (struct xf_verdict){ .action = XF_ACT_REFUSE, .reason = 0 };
	block[1] = (struct xf_vkey){ .hash = xf_name_hash_text("a.example"), .kind = XF_VK_SNI };
	block_v[1] = (struct xf_verdict){ .action = XF_ACT_DROP, .reason = XF_R_VERDICT_SNI };
	block[2] = (struct xf_vkey){ .hash = xf_name_hash_text("a.example"), .kind = XF_VK_HOST };
	block_v[2] = (struct xf_verdict){ .action = XF_ACT_DROP, .reason = XF_R_VERDICT_HOST };
	allow[0] = (struct xf_vkey){ .hash = xf_name_hash_text("ok.test"), .kind = XF_VK_DOMAIN };
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xf_frame f;
	struct xf_event ev;
	struct xf_obs o;
	__u32 len;
	int rc;

	if (size > FRAME_MAX)
		return -1; /* replay never hands the parsers more: not a corpus entry */
	len = (__u32)size;
	rc = xf_frame_parse(data, len, &cfg, xf_suffix_set_has, sfx, &f);
	XF_FUZZ_CHECK(rc == XF_OK || rc == XF_SKIP || (rc < 0 && -rc < XF_PE_MAX));
	XF_FUZZ_CHECK(rc >= 0 ? f.err == 0 : f.err == rc);
	if (rc != XF_OK)
		return 0;
	XF_FUZZ_CHECK(f.kind >= XF_EV_DNS_QUERY && f.kind <= XF_EV_HOST);
	XF_FUZZ_CHECK(f.pkt.payload_off <= len && f.pkt.payload_len <= len - f.pkt.payload_off);
	XF_FUZZ_CHECK(f.name_off <= len && f.name_len <= len - f.name_off);
	XF_FUZZ_CHECK(f.name_off >= f.pkt.payload_off);
	xf_frame_event(data, len, &f, &cfg, &lists, 1700000000ULL * 1000000000ULL, &ev);
	XF_FUZZ_CHECK(ev.name_len <= XF_NAME_MAX);
	if (xf_event_obs(&ev, sizeof(ev), 0, cfg.long_qname, &ibuf, &o) == 0) {
		XF_FUZZ_CHECK(o.name && strlen(o.name) < sizeof(ibuf.name));
		/* the flow's key: a suffix of the lower-case name */
		if (o.domain) {
			size_t nl = strlen(ibuf.lname), dl = strlen(o.domain);

			if (dl > nl || memcmp(ibuf.lname + nl - dl, o.domain, dl))
				dprintf(2, "name '%s', registered domain '%s'\n", ibuf.lname,
					o.domain);
			XF_FUZZ_CHECK(dl <= nl && !memcmp(ibuf.lname + nl - dl, o.domain, dl));
		}
	}
	return 0;
}
