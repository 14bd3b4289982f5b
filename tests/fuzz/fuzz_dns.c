// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_dns.c - libFuzzer target: replay's whole-message DNS path. A DNS
 * payload is put in a UDP or TCP frame to or from port 53 (IPv4 or IPv6),
 * parsed by the shared parsers (sensor/frame.c) and, when they find a DNS
 * query or response there, handed to xf_dns_message() (sensor/replay.c),
 * which parses the message whole with ldns: rcode, answers, EDNS, one
 * message of a TCP stream by its length prefix.
 *
 * The input is one flags byte (XF_FZ_DNS_* in fuzz_formats.h: TCP, IPv6,
 * from the server, IP length short of the payload as with Ethernet padding)
 * and the payload as the transport carries it, so the fuzzer spends its
 * time in DNS, not in finding valid IP headers (fuzz_frame covers those).
 */
#include "fuzz.h"
#include "fuzz_formats.h"
#include "frame.h"
#include "replay.h"

#define L3_MAX 40
#define L4_MAX 20
#define PAYLOAD_MAX (65535 - L3_MAX - L4_MAX)

static struct xf_config cfg;
static __u8 frame[XF_ETH_HLEN + L3_MAX + L4_MAX + PAYLOAD_MAX];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	xf_fuzz_quiet();
	xf_config_defaults(&cfg);
	return 0;
}

static void be16(__u8 *p, __u32 v)
{
	p[0] = (__u8)(v >> 8);
	p[1] = (__u8)v;
}

/* Ethernet, IP and transport headers for n payload bytes (l4len of them
 * counted by the IP and UDP lengths); returns the header length. */
static __u32 headers(__u8 fl, __u32 l4len)
{
	int tcp = fl & XF_FZ_DNS_TCP, v6 = fl & XF_FZ_DNS_IPV6;
	__u32 l3 = v6 ? 40 : 20, l4 = tcp ? 20 : 8;
	__u8 *ip = frame + XF_ETH_HLEN, *th = ip + l3;
	__u16 sport = fl & XF_FZ_DNS_FROM_SERVER ? 53 : 40000;
	__u16 dport = fl & XF_FZ_DNS_FROM_SERVER ? 40000 : 53;

	memset(frame, 0, XF_ETH_HLEN + l3 + l4);
	be16(frame + 12, v6 ? XF_ETH_P_IPV6 : XF_ETH_P_IP);
	if (v6) {
		ip[0] = 0x60;
		be16(ip + 4, l4 + l4len);
		ip[6] = tcp ? XF_IPPROTO_TCP : XF_IPPROTO_UDP;
		ip[7] = 64;
		ip[23] = 1; /* 2001:db8::1 -> 2001:db8::53 */
		ip[39] = 0x53;
		ip[8] = ip[24] = 0x20;
		ip[9] = ip[25] = 0x01;
		ip[10] = ip[26] = 0x0d;
		ip[11] = ip[27] = 0xb8;
	} else {
		ip[0] = 0x45;
		be16(ip + 2, l3 + l4 + l4len);
		ip[8] = 64;
		ip[9] = tcp ? XF_IPPROTO_TCP : XF_IPPROTO_UDP;
		ip[12] = ip[16] = 10; /* 10.0.0.1 -> 10.0.0.53 */
		ip[15] = 1;
		ip[19] = 53;
	}
	be16(th, sport);
	be16(th + 2, dport);
	if (tcp) {
		th[12] = 5 << 4;
		th[13] = 0x18; /* PSH ACK */
		be16(th + 14, 65535);
	} else {
		be16(th + 4, l4 + l4len);
	}
	return XF_ETH_HLEN + l3 + l4;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xf_dns_tally t = { 0 };
	struct xf_frame f;
	__u32 n, hl;
	__u8 fl;
	int rc;

	if (size < 1 || size - 1 > PAYLOAD_MAX)
		return -1;
	fl = data[0];
	n = (__u32)size - 1;
	hl = headers(fl, (fl & XF_FZ_DNS_PADDED) && n >= 4 ? n - 4 : n);
	memcpy(frame + hl, data + 1, n);
	rc = xf_frame_parse(frame, hl + n, &cfg, NULL, NULL, &f);
	if (rc != XF_OK || (f.kind != XF_EV_DNS_QUERY && f.kind != XF_EV_DNS_RESPONSE))
		return 0;
	rc = xf_dns_message(frame, hl + n, &f, 0, &t);
	XF_FUZZ_CHECK(rc == 0 || rc == -1);
	XF_FUZZ_CHECK(rc == 0 || (!t.nxdomain && !t.answers && !t.edns));
	return 0;
}
