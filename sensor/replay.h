/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * replay.h - `exfilter replay`: pcap and pcapng captures through the same
 * parsers (their userspace build, or the loaded TC program through
 * BPF_PROG_TEST_RUN with --kernel) and the same pipeline as the live sensor,
 * with packet time as the clock.
 */
#ifndef XF_REPLAY_H
#define XF_REPLAY_H

#include <signal.h>
#include <stdint.h>
#include "config.h"
#include "dnssum.h"
#include "frame.h"

enum xf_replay_format { XF_RF_JSON = 0, XF_RF_TABLE = 1 };

struct xf_replay_opts {
	const char *const *files;
	int n_files;
	enum xf_replay_format format;
	const char *db; /* SQLite store through the outbox, NULL = none */
	const char *report; /* HTML tuning report, NULL = none */
	const char *truth; /* ground truth labels for the report, NULL = none */
	const char *eval; /* evaluation summary (TSV, "-" = stdout), NULL = none */
	int kernel; /* push packets through the TC program (root) */
};

/* Replay every file in order. Returns 0, 1 on a runtime error (unreadable
 * file, store or report failure), 2 on bad input named on stderr. */
int xf_replay_run(struct xf_sensor_cfg *cfg, const struct xf_replay_opts *o,
		  volatile sig_atomic_t *stop);

/* What DNS messages parsed whole add to replay's summary. */
struct xf_dns_tally {
	uint64_t nxdomain, answers, answer_bytes, edns;
	struct xf_dns_sum last; /* the latest message's, when xf_dns_message returned 0 */
};

/*
 * Summarise the DNS message of a frame that xf_frame_parse() found a DNS
 * query or response in (data and len as given to it, f its result); of a TCP
 * segment, the first message by its length prefix. The in-place walk
 * (dnssum.c) answers what it covers exactly as ldns would, ldns_wire2pkt the
 * rest (all of it with ldns_always). Adds its NXDOMAIN, answers, answer bytes
 * and EDNS to t. Returns 0 (also when the frame holds no payload byte), or -1
 * when ldns refuses the message.
 */
int xf_dns_message(const __u8 *data, __u32 len, const struct xf_frame *f, int ldns_always,
		   struct xf_dns_tally *t);

#endif /* XF_REPLAY_H */
