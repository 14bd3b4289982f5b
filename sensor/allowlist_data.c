// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * allowlist_data.c - the shipped allowlist: services that legitimately put
 * data in DNS names. Compiled into the binary (no runtime path). Bump the
 * version with every change: alerts and reports name it ("shipped:VERSION").
 *
 * Rules for an entry:
 *  - list a domain only if its owner runs its DNS: a tunnel needs the
 *    attacker's name server, which no name under these can be. Never list
 *    free-subdomain or dynamic DNS providers that delegate to customers'
 *    servers, out-of-band testing services (dnslog, interactsh, Burp
 *    Collaborator) or DNS-over-HTTPS providers (the sni detector reports
 *    those);
 *  - prefer the registered domain when its owner is the service (the
 *    sensor exempts flows by registered domain); list a deeper name when
 *    the registered domain is shared (ix.dnsbl.manitu.net): it then
 *    exempts those names only (per name, in reports and replay);
 *  - label forms (leading '_' or '*') are for mail authentication names.
 */
#include <stddef.h>
#include "allowlist.h"

const char xf_allowlist_version[] = "2025.11.1";

/* a data table, laid out by hand */
/* clang-format off */
const struct xf_allow_src xf_allowlist_shipped[] = {
	/* antivirus and reputation lookups: file hashes, URLs, addresses */
	{"mcafee.com", "antivirus"},	 /* GTI file and URL reputation: avqs, avts, gti */
	{"e5.sk", "antivirus"},		 /* ESET LiveGrid */
	{"sophosxl.net", "antivirus"},	 /* Sophos SXL lookups */
	{"cymru.com", "antivirus"},	 /* Team Cymru: malware hash registry, IP to ASN */
	{"senderbase.org", "antivirus"}, /* Cisco Talos reputation */
	{"spamhaus.net", "antivirus"},	 /* Spamhaus Data Query Service, hash lists */
	{"clamav.net", "antivirus"},	 /* ClamAV signature version TXT lookups */
	/* DNS blocklists (DNSBL, RHSBL, URIBL) */
	{"spamhaus.org", "dnsbl"},
	{"barracudacentral.org", "dnsbl"},
	{"spamcop.net", "dnsbl"},
	{"sorbs.net", "dnsbl"},
	{"surbl.org", "dnsbl"},
	{"uribl.com", "dnsbl"},
	{"abuseat.org", "dnsbl"}, /* CBL */
	{"mailspike.net", "dnsbl"},
	{"dnswl.org", "dnsbl"}, /* an allow list, queried the same way */
	{"dronebl.org", "dnsbl"},
	{"uceprotect.net", "dnsbl"},
	{"abusix.zone", "dnsbl"},
	{"blocklist.de", "dnsbl"},
	{"backscatterer.org", "dnsbl"},
	{"spameatingmonkey.net", "dnsbl"},
	{"junkemailfilter.com", "dnsbl"}, /* hostkarma */
	{"gbudb.net", "dnsbl"},
	{"psbl.surriel.com", "dnsbl"},	  /* registered domain is a person's */
	{"ix.dnsbl.manitu.net", "dnsbl"}, /* registered domain is a hosting company's */
	{"dnsbl.spfbl.net", "dnsbl"},
	/* CDN and cloud host names: generated labels, answered by the provider */
	{"akamaiedge.net", "cdn"},
	{"akamai.net", "cdn"},
	{"akamaized.net", "cdn"},
	{"akamaihd.net", "cdn"},
	{"akadns.net", "cdn"},
	{"edgekey.net", "cdn"},
	{"edgesuite.net", "cdn"},
	{"cloudfront.net", "cdn"},
	{"amazonaws.com", "cdn"},
	{"fastly.net", "cdn"},
	{"fastlylb.net", "cdn"},
	{"cloudflare.net", "cdn"},
	{"azureedge.net", "cdn"},
	{"azurefd.net", "cdn"},
	{"trafficmanager.net", "cdn"},
	{"cloudapp.net", "cdn"},
	{"cloudapp.azure.com", "cdn"},
	{"windows.net", "cdn"},
	{"msedge.net", "cdn"},
	{"edgecastcdn.net", "cdn"},
	{"llnwd.net", "cdn"},
	{"footprint.net", "cdn"},
	{"b-cdn.net", "cdn"},
	{"cdn77.org", "cdn"},
	{"1e100.net", "cdn"},
	{"googlevideo.com", "cdn"},
	{"googleusercontent.com", "cdn"},
	{"gvt1.com", "cdn"},
	{"gvt2.com", "cdn"},
	{"ggpht.com", "cdn"},
	{"googlesyndication.com", "cdn"},
	{"fbcdn.net", "cdn"},
	{"aaplimg.com", "cdn"},
	{"apple-dns.net", "cdn"},
	{"cdn-apple.com", "cdn"},
	{"icloud-content.com", "cdn"},
	/* reverse lookups: addresses, nibbles and phone numbers as labels */
	{"in-addr.arpa", "reverse"},
	{"ip6.arpa", "reverse"},
	{"e164.arpa", "reverse"},
	/* cluster search-domain expansion (Kubernetes, resolv.conf ndots:5) */
	{"cluster.local", "cluster"},
	/* mail authentication names: label forms */
	{"*._domainkey", "mail-auth"}, /* DKIM: <selector>._domainkey.<domain> */
	{"_dmarc", "mail-auth"},       /* DMARC policy */
	{"*._bimi", "mail-auth"},      /* BIMI: <selector>._bimi.<domain> */
	{"_mta-sts", "mail-auth"},     /* MTA-STS policy */
	{"_smtp._tls", "mail-auth"},   /* SMTP TLS reporting */
	{"_spf", "mail-auth"},	       /* SPF include targets (_spf.<domain>) */
	{NULL, NULL},
};
/* clang-format on */
