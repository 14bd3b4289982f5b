// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mkseeds.c - seed corpora for the fuzz targets, cut from captures:
 *
 *   mkseeds OUTDIR CAPTURE...
 *
 * OUTDIR/frame/   Ethernet frames, one packet each (fuzz_frame)
 * OUTDIR/dns/     a flags byte and the DNS payload of DNS frames (fuzz_dns)
 * OUTDIR/event/   runs of ring buffer records, length-prefixed (fuzz_event)
 * OUTDIR/replay/  whole small captures, the head of every capture, and the
 *                 first packets of one capture as every link type replay
 *                 reads and as pcapng (fuzz_replay)
 * OUTDIR/config.dict  a libFuzzer dictionary of every config key (fuzz_config)
 *
 * Files are named by a hash of their bytes, so equal seeds are written once.
 * Captures must be Ethernet (pcaps/ and the public captures are). Built
 * against the normal library: it only turns captures into files.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#define PCAP_DONT_INCLUDE_PCAP_BPF_H
#include <pcap/pcap.h>
#include <pcap/dlt.h>

#include "config.h"
#include "frame.h"
#include "fuzz_formats.h"

#define PER_CAPTURE 96 /* frame and dns seeds taken from one capture at most */
#define EVENT_RUN 16 /* records in one event seed */
#define EVENT_SEEDS 16 /* event seeds taken from one capture at most */
#define WHOLE_MAX 65536 /* captures up to this size are replay seeds whole */
#define HEAD_LEN 4096 /* and the first bytes of every capture */
#define LINK_PKTS 12 /* packets in each link-type variant */

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif

static const char *out;
static unsigned long written;

static unsigned long long fnv(const void *p, size_t n)
{
	const unsigned char *b = p;
	unsigned long long h = 0xcbf29ce484222325ULL;

	while (n--)
		h = (h ^ *b++) * 0x100000001b3ULL;
	return h;
}

static void put(const char *dir, const void *p, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%016llx", out, dir, fnv(p, n));
	f = fopen(path, "wx"); /* exists: the same seed */
	if (!f) {
		if (errno != EEXIST) {
			fprintf(stderr, "mkseeds: failed to create %s: %s\n", path,
				strerror(errno));
			exit(1);
		}
		return;
	}
	if (fwrite(p, 1, n, f) != n || fclose(f)) {
		fprintf(stderr, "mkseeds: failed to write %s\n", path);
		exit(1);
	}
	written++;
}

static void mkdirs(void)
{
	static const char *const dirs[] = { "", "/frame", "/dns", "/event", "/replay" };
	char path[4096];

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", out, dirs[i]);
		if (mkdir(path, 0755) && errno != EEXIST) {
			fprintf(stderr, "mkseeds: failed to create %s: %s\n", path,
				strerror(errno));
			exit(1);
		}
	}
}

/* The DNS payload behind the fuzz_dns flags byte (fuzz_formats.h). */
static void dns_seed(const __u8 *d, __u32 len, const struct xf_frame *f)
{
	static __u8 buf[1 + 65536];
	__u32 n = f->pkt.payload_len;

	if (f->pkt.payload_off > len || n > len - f->pkt.payload_off || n > sizeof(buf) - 1)
		return;
	buf[0] = (f->tcp ? XF_FZ_DNS_TCP : 0) | (f->pkt.ipv6 ? XF_FZ_DNS_IPV6 : 0) |
		 (f->kind == XF_EV_DNS_RESPONSE ? XF_FZ_DNS_FROM_SERVER : 0);
	memcpy(buf + 1, d + f->pkt.payload_off, n);
	put("dns", buf, n + 1);
}

/* An event record appended to the current run; the run is a seed when full. */
static void event_seed(struct xf_fz_events *run, unsigned *runs, const struct xf_event *ev)
{
	if (*runs >= EVENT_SEEDS || xf_fz_events_add(run, ev, sizeof(*ev)))
		return;
	if (run->n_records == EVENT_RUN) {
		put("event", run->buf, run->len);
		run->len = run->n_records = 0;
		++*runs;
	}
}

static void frames(const char *path, const struct xf_config *cfg, const struct xf_suffix_set *sfx)
{
	char err[PCAP_ERRBUF_SIZE];
	struct xf_fz_events run = { 0 };
	struct pcap_pkthdr *h;
	const u_char *d;
	unsigned taken = 0, seen = 0, runs = 0;
	pcap_t *pc = pcap_open_offline(path, err);

	if (!pc) {
		fprintf(stderr, "mkseeds: failed to open %s: %s\n", path, err);
		exit(1);
	}
	if (pcap_datalink(pc) != DLT_EN10MB) {
		fprintf(stderr, "mkseeds: %s: not Ethernet, skipped\n", path);
		pcap_close(pc);
		return;
	}
	while (pcap_next_ex(pc, &h, &d) == 1) {
		struct xf_frame f;
		struct xf_event ev;
		int rc = xf_frame_parse(d, h->caplen, cfg, xf_suffix_set_has, sfx, &f);

		/* spread the frame seeds over the capture: every 4th packet
		 * after the first 32 */
		if (taken < PER_CAPTURE && (seen < 32 || !(seen % 4))) {
			put("frame", d, h->caplen);
			if (rc == XF_OK &&
			    (f.kind == XF_EV_DNS_QUERY || f.kind == XF_EV_DNS_RESPONSE))
				dns_seed(d, h->caplen, &f);
			taken++;
		}
		seen++;
		if (rc != XF_OK)
			continue;
		xf_frame_event(d, h->caplen, &f, cfg, NULL,
			       (__u64)h->ts.tv_sec * 1000000000ULL + (__u64)h->ts.tv_usec * 1000ULL,
			       &ev);
		event_seed(&run, &runs, &ev);
	}
	if (run.n_records)
		put("event", run.buf, run.len);
	pcap_close(pc);
}

static void whole(const char *path)
{
	static unsigned char buf[WHOLE_MAX];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f) {
		fprintf(stderr, "mkseeds: failed to open %s: %s\n", path, strerror(errno));
		exit(1);
	}
	n = fread(buf, 1, sizeof(buf), f);
	if (n == sizeof(buf) && fgetc(f) != EOF)
		put("replay", buf, HEAD_LEN); /* too big whole: its head only */
	else
		put("replay", buf, n);
	fclose(f);
}

/* The packet with its Ethernet header replaced by the link type's. */
static size_t relink(int dlt, const u_char *d, size_t n, u_char *o)
{
	__u16 proto = (__u16)(d[12] << 8 | d[13]);
	size_t hl;

	switch (dlt) {
	case DLT_LINUX_SLL:
		hl = 16;
		memset(o, 0, hl);
		o[14] = d[12];
		o[15] = d[13];
		break;
	case DLT_LINUX_SLL2:
		hl = 20;
		memset(o, 0, hl);
		o[0] = d[12];
		o[1] = d[13];
		break;
	case DLT_NULL: /* host byte order address family: AF_INET 2, AF_INET6 10 */
	case DLT_LOOP: /* network byte order */
		hl = 4;
		memset(o, 0, hl);
		o[dlt == DLT_NULL ? 0 : 3] = proto == XF_ETH_P_IPV6 ? 10 : 2;
		break;
	default: /* DLT_RAW, DLT_IPV4, DLT_IPV6 */
		hl = 0;
	}
	memcpy(o + hl, d + XF_ETH_HLEN, n - XF_ETH_HLEN);
	return hl + n - XF_ETH_HLEN;
}

/* The first packets of an Ethernet capture as another link type. */
static void link_variant(const char *path, int dlt, int pcapng)
{
	static u_char pkt[70000], file[LINK_PKTS * 70100 + 64];
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	size_t len = 0;
	int n = 0;
	pcap_t *pc = pcap_open_offline(path, err);

	if (!pc || pcap_datalink(pc) != DLT_EN10MB) {
		if (pc)
			pcap_close(pc);
		return;
	}
	len = pcapng ? xf_fz_pcapng_head(file, DLT_EN10MB) : xf_fz_pcap_head(file, dlt);
	while (n < LINK_PKTS && pcap_next_ex(pc, &h, &d) == 1) {
		size_t pl;

		if (h->caplen < XF_ETH_HLEN || h->caplen > sizeof(pkt))
			continue;
		if (pcapng) {
			memcpy(pkt, d, h->caplen);
			pl = h->caplen;
		} else {
			pl = relink(dlt, d, h->caplen, pkt);
		}
		len += pcapng ? xf_fz_pcapng_packet(file + len, &h->ts, pkt, pl)
			      : xf_fz_pcap_packet(file + len, &h->ts, pkt, pl);
		n++;
	}
	pcap_close(pc);
	put("replay", file, len);
}

/* One dictionary entry per config key's last part, as YAML writes it. */
static void dict(void)
{
	const struct xf_cfg_key_info *k;
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/config.dict", out);
	f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "mkseeds: failed to create %s: %s\n", path, strerror(errno));
		exit(1);
	}
	for (unsigned i = 0; (k = xf_sensor_cfg_key(i)); i++) {
		const char *leaf = strrchr(k->key, '.');

		fprintf(f, "\"%s:\"\n", leaf ? leaf + 1 : k->key);
	}
	fputs("\"- \"\n\"[\"\n\"]\"\n\"{\"\n\"}\"\n\"&a \"\n\"*a\"\n\"<<: \"\n\"!!str \"\n"
	      "\"---\\x0a\"\n\"...\\x0a\"\n\"|\\x0a\"\n\"true\"\n\"enforce\"\n\"refuse\"\n",
	      f);
	fclose(f);
}

int main(int argc, char **argv)
{
	static const int dlts[] = { DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW, DLT_NULL, DLT_LOOP };
	struct xf_suffix_set *sfx;
	struct xf_config cfg;

	if (argc < 3) {
		fprintf(stderr, "usage: mkseeds OUTDIR CAPTURE...\n");
		return 2;
	}
	out = argv[1];
	mkdirs();
	xf_config_defaults(&cfg);
	sfx = xf_suffix_set_load(XF_PSL_PATH);
	if (!sfx) {
		fprintf(stderr, "mkseeds: failed to read %s: %s\n", XF_PSL_PATH, strerror(errno));
		return 1;
	}
	for (int i = 2; i < argc; i++) {
		frames(argv[i], &cfg, sfx);
		whole(argv[i]);
	}
	for (size_t i = 0; i < sizeof(dlts) / sizeof(dlts[0]); i++)
		link_variant(argv[2], dlts[i], 0);
	link_variant(argv[2], DLT_EN10MB, 1);
	dict();
	xf_suffix_set_free(sfx);
	printf("mkseeds: %lu seeds written under %s\n", written, out);
	return 0;
}
