// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sni.c - TLS server names as a second signal. Denying or allowing a name
 * is done in the kernel by verdicts; what this detector adds:
 *
 *  - DNS over HTTPS or TLS: a ClientHello to a public DoH/DoT service
 *    (dns.google, cloudflare-dns.com, dns.quad9.net, ...) moves the
 *    client's DNS out of the resolver's sight, and with it any tunnel. One
 *    alert per client and provider per window, so it may alert alone: the
 *    weight (0.62) reaches the default threshold of 60.
 *  - a random-looking server name (a label of 24 or more characters in an
 *    encoded alphabet): a C2 or a tunnel over TLS naming itself with
 *    data. Cloud and CDN names come close, so this scores half and never
 *    alerts alone.
 */
#include <linux/types.h>
#include "exfilter.h"
#include "detector.h"

#define XF_SNI_RANDOM_LABEL 24

/*
 * Public DoH/DoT endpoints, matched as the name or a suffix on a label
 * boundary. A provider's whole registered domain is listed only when it
 * serves nothing but DNS (cloudflare-dns.com, dns.google, nextdns.io).
 */
static const char *const doh[] = {
	"dns.google",
	"dns.google.com",
	"cloudflare-dns.com",
	"one.one.one.one",
	"dns.quad9.net",
	"dns9.quad9.net",
	"dns10.quad9.net",
	"dns11.quad9.net",
	"doh.opendns.com",
	"dns.opendns.com",
	"doh.familyshield.opendns.com",
	"nextdns.io",
	"dns.adguard.com",
	"dns.adguard-dns.com",
	"doh.cleanbrowsing.org",
	"doh.dns.sb",
	"dns.sb",
	"doh.mullvad.net",
	"dns.mullvad.net",
	"dns.controld.com",
	"freedns.controld.com",
	"dns.alidns.com",
	"doh.pub",
	"dot.pub",
	"ordns.he.net",
	"doh.xfinity.com",
	"dns.switch.ch",
	"dns.digitale-gesellschaft.ch",
	"doh.libredns.gr",
	"dns0.eu",
};

/* name[0..len) is s or ends in "." s, ASCII case folded. */
static int suffix_is(const char *name, size_t len, const char *s)
{
	size_t n = strlen(s);

	if (len < n || strncasecmp(name + len - n, s, n))
		return 0;
	return len == n || name[len - n - 1] == '.';
}

static uint32_t sni_tag(const struct xf_name_in *n)
{
	uint32_t t = 0;
	size_t len = n->len;

	if (n->kind != XF_EV_SNI || !n->name || !len)
		return 0;
	if (n->name[len - 1] == '.')
		len--;
	for (size_t i = 0; i < sizeof(doh) / sizeof(doh[0]); i++)
		if (suffix_is(n->name, len, doh[i])) {
			t |= XF_TAG_DOH_PROVIDER;
			break;
		}
	if (n->feat && (n->feat->enc_longest >= XF_SNI_RANDOM_LABEL || n->feat->binary))
		t |= XF_TAG_SNI_RANDOM;
	return t;
}

static void sni_score(const struct xf_flow_view *f, const struct xf_det_params *p,
		      struct xf_det_result *r)
{
	int doh_seen = !!(f->tags & XF_TAG_DOH_PROVIDER);
	int rnd = !!(f->tags & XF_TAG_SNI_RANDOM);

	(void)p;
	if (!f->sni || !(doh_seen || rnd))
		return;
	r->score = doh_seen ? 100 : 50 * xf_ramp(f->sni, 0, 3);
	xf_ev_add(r, "doh_provider", doh_seen);
	xf_ev_add(r, "random_sni", rnd);
	xf_ev_add(r, "sni_names", f->sni);
}

const struct xf_detector xf_det_sni = {
	.name = "sni",
	.rule = "DNS bypass or random name in TLS SNI",
	.weight = 0.62,
	.score = sni_score,
	.tag = sni_tag,
};
