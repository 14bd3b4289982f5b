// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pcap_loop.c - the baseline of the replay benchmark: a bare libpcap read
 * loop (pcap_open_offline + pcap_next_ex until the end), nothing else. It
 * reads the file exactly as `exfilter replay` does, so the ratio between
 * the two is what the analysis costs over reading.
 *
 *   pcap_loop FILE...
 *
 * Prints "packets N bytes B seconds S" to stdout (the loop only; process
 * start-up is left to the caller's clock). Exit 1 on a file it cannot read.
 */
#include <stdio.h>
#include <stdint.h>
#include <time.h>
#include <pcap/pcap.h>

int main(int argc, char **argv)
{
	char err[PCAP_ERRBUF_SIZE];
	uint64_t packets = 0, bytes = 0;
	struct timespec a, b;

	if (argc < 2) {
		fprintf(stderr, "usage: pcap_loop FILE...\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 1; i < argc; i++) {
		struct pcap_pkthdr *h;
		const u_char *data;
		pcap_t *pc = pcap_open_offline(argv[i], err);
		int rc;

		if (!pc) {
			fprintf(stderr, "pcap_loop: failed to open capture %s: %s\n", argv[i], err);
			return 1;
		}
		while ((rc = pcap_next_ex(pc, &h, &data)) == 1) {
			packets++;
			bytes += h->caplen;
		}
		if (rc == PCAP_ERROR) {
			fprintf(stderr, "pcap_loop: %s: %s\n", argv[i], pcap_geterr(pc));
			pcap_close(pc);
			return 1;
		}
		pcap_close(pc);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("packets %llu bytes %llu seconds %.6f\n", (unsigned long long)packets,
	       (unsigned long long)bytes,
	       (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9);
	return 0;
}
