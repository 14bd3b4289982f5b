// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * signature.c - known tools by the fixed strings of their protocols. The
 * tag hook judges each DNS query name; the score reads the tools seen.
 *
 * Each string below was read off the public captures in
 * ../shared/data/pcaps-external/ (`tcpdump -nr FILE`) or follows from the
 * tool's documented protocol, as each comment says. An operator can rename
 * or patch any of them, and a short fixed string can turn up by chance, so
 * the weight is low (0.35): a signature names the tool in the alert and
 * lifts a flow the shape detectors already see; it never alerts alone.
 */
#include <linux/types.h>
#include "exfilter.h"
#include "detector.h"
#include "label.h"

/*
 * iodine. The client's first query is the version handshake: 'v' then ten
 * base32 characters (iodine's alphabet a-z0-5) of the 32-bit protocol
 * version and a 16-bit nonce. Version 0x00000502 (iodine 0.6 and 0.7)
 * encodes as "aaaaka" plus two bits of the nonce, so the label is
 * "vaaaaka" + 4 characters (iodine.pcap: "vaaaakaxj2u.t1.biillpi.com").
 * It then tests whether the relay keeps the upstream encoding intact with
 * a 'z' query holding fixed patterns (iodine.pcap, after "z" and three
 * characters of counter: "aA-Aaahhh-Drink-mal-ein-J\344germeister-",
 * "aA-La-fl\373te-na\357ve-...", "aAbBcCdD...", "aA0123456789\274...").
 * The patterns are case-sensitive on purpose: they test case preservation.
 */
static int is_iodine(const struct xf_labels *l)
{
	static const char *const pat[] = {"aA-Aaahhh-Drink-mal-ein-J", "aA-La-fl",
					  "aAbBcCdDeEfFgGhH", "aA0123456789"};

	if (!l->n)
		return 0;
	if (l->len[0] == 11 && !strncasecmp(l->p[0], "vaaaaka", 7) &&
	    xf_label_all(l, 0, "abcdefghijklmnopqrstuvwxyz012345ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
		return 1;
	if ((l->p[0][0] == 'z' || l->p[0][0] == 'Z') && l->len[0] > 16)
		for (size_t i = 0; i < sizeof(pat) / sizeof(pat[0]); i++)
			if (xf_label_has(l, 0, pat[i]))
				return 1;
	return 0;
}

/*
 * dns2tcp. Authentication and the connection request are marked by a label
 * of their own, "=auth" and "=connect", between the data and the domain
 * (dns2tcp.pcap: "AAAAAH7wQA.=auth.dns2tcp.hsc.fr",
 * "ondy6K6cAHNzaA.=connect.dns2tcp.hsc.fr"). '=' is never in a hostname.
 */
static int is_dns2tcp(const struct xf_labels *l)
{
	for (int i = 0; i < l->n; i++)
		if (xf_label_is(l, i, "=auth") || xf_label_is(l, i, "=connect"))
			return 1;
	return 0;
}

/* Two hex digits at s as a byte. */
static int hex_byte(const char *s)
{
	int v = 0;

	for (int k = 0; k < 2; k++) {
		char c = s[k];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/*
 * dnscat2. Without a domain the client prefixes its names with "dnscat."
 * (its documented direct mode). With one, a packet is hex: a 16-bit packet
 * id, a message type byte (0x00 SYN, 0x01 MSG, 0x02 FIN, 0x03 ENC, 0xff
 * PING) and the 16-bit session id, so at least 18 hex digits; dnscat2.pcap:
 * "147901b8d3df9cc46c59d600078b3316ce.biillpi.com", type 01, session b8d3.
 */
static int is_dnscat2(const struct xf_labels *l)
{
	int type;

	if (l->n >= 2 && xf_label_is(l, 0, "dnscat"))
		return 1;
	if (l->rd < 1 || l->len[0] < 18 || l->len[0] % 2 || !xf_label_all(l, 0, XF_HEX_ANY))
		return 0;
	type = hex_byte(l->p[0] + 4);
	return type == 0x00 || type == 0x01 || type == 0x02 || type == 0x03 || type == 0xff;
}

/*
 * DNSExfiltrator. The transfer opens with "init.<base32 of file name|chunk
 * count>.<base64|base32>.<domain>", then sends numbered chunks
 * "<n>.<base64url labels of 63>..." (dnsextrator.pcap:
 * "init.MRXHG5DBOAXGG33OMYXHI6DUPQYTG.base64.hsc.fr",
 * "0.r747Clg-tK5pUdkH0R12a7gJ9sFPi9Aackw0kG...").
 */
static int is_dnsexfiltrator(const struct xf_labels *l)
{
	static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567abcdefghijklmnopqrstuvwxyz";
	static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				     "0123456789-_";

	if (l->rd >= 3 && xf_label_is(l, 0, "init") && xf_label_all(l, 1, b32) &&
	    (xf_label_is(l, 2, "base64") || xf_label_is(l, 2, "base32")))
		return 1;
	return l->rd >= 3 && l->len[0] <= 6 && xf_label_all(l, 0, XF_DIGITS) && l->len[1] >= 50 &&
	       xf_label_all(l, 1, b64url) && l->len[2] >= 50 && xf_label_all(l, 2, b64url);
}

/*
 * sods (OzymanDNS's successor scripts). Every name carries the session as
 * "id-<n>" followed by the direction, "up" or "down" (sods.pcap:
 * "0-60451.id-1605.down.tun.hsc.fr", "<base32>....52683-41.id-1605.up.tun.hsc.fr").
 */
static int is_sods(const struct xf_labels *l)
{
	for (int i = 0; i + 1 < l->n; i++)
		if (l->len[i] > 3 && !strncasecmp(l->p[i], "id-", 3) &&
		    strspn(l->p[i] + 3, XF_DIGITS) >= (size_t)l->len[i] - 3 &&
		    (xf_label_is(l, i + 1, "up") || xf_label_is(l, i + 1, "down")))
			return 1;
	return 0;
}

/*
 * Cobalt Strike DNS staging. The stager fetches the payload in TXT answers
 * to "<counter>.stage.<number>.<domain>": the default Malleable C2
 * dns_stager_subhost is ".stage.123456.", and the counter is three
 * lower-case letters ("aaa", "baa", ...).
 */
static int is_cobaltstrike(const struct xf_labels *l)
{
	for (int i = 1; i + 1 < l->n; i++)
		if (xf_label_is(l, i, "stage") && l->len[i - 1] == 3 &&
		    xf_label_all(l, i - 1, "abcdefghijklmnopqrstuvwxyz") &&
		    xf_label_all(l, i + 1, XF_DIGITS))
			return 1;
	return 0;
}

static uint32_t signature_tag(const struct xf_name_in *n)
{
	struct xf_labels l;
	uint32_t t = 0;

	if (n->kind != XF_EV_DNS_QUERY || !n->name || !n->len)
		return 0;
	xf_labels_split(n->name, n->len, n->rd_off, &l);
	if (is_iodine(&l))
		t |= XF_TAG_IODINE;
	if (is_dns2tcp(&l))
		t |= XF_TAG_DNS2TCP;
	if (is_dnscat2(&l))
		t |= XF_TAG_DNSCAT2;
	if (is_dnsexfiltrator(&l))
		t |= XF_TAG_DNSEXFILTRATOR;
	if (is_sods(&l))
		t |= XF_TAG_SODS;
	if (is_cobaltstrike(&l))
		t |= XF_TAG_COBALTSTRIKE;
	return t;
}

static const struct {
	uint32_t tag;
	const char *key;
} tools[] = {
	{XF_TAG_IODINE, "iodine"},   {XF_TAG_DNS2TCP, "dns2tcp"},
	{XF_TAG_DNSCAT2, "dnscat2"}, {XF_TAG_DNSEXFILTRATOR, "dnsexfiltrator"},
	{XF_TAG_SODS, "sods"},	     {XF_TAG_COBALTSTRIKE, "cobaltstrike"},
};

static void signature_score(const struct xf_flow_view *f, const struct xf_det_params *p,
			    struct xf_det_result *r)
{
	uint32_t t = f->tags & XF_TAG_SIG_MASK;

	(void)p;
	if (!t)
		return;
	r->score = 100;
	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
		if (t & tools[i].tag)
			xf_ev_add(r, tools[i].key, 1);
}

const struct xf_detector xf_det_signature = {
	.name = "signature",
	.rule = "DNS tunnel: known tool",
	.weight = 0.35,
	.score = signature_score,
	.tag = signature_tag,
};
