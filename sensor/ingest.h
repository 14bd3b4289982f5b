/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * ingest.h - what the kernel hands the sensor, turned into flow-table
 * input: ring buffer records into observations, and the per-CPU flows map
 * into merged counters. Shared by the live loop and the benchmarks.
 */
#ifndef XF_INGEST_H
#define XF_INGEST_H

#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "exfilter.h"
#include "flowtab.h"
#include "dnsmsg.h"

/* Text an observation points into: keep it alive until xf_ft_observe(). */
struct xf_ingest_buf {
	char name[XF_NAME_MAX * 4 + 1]; /* presentation form, escaped */
	char lname[XF_NAME_MAX * 4 + 1]; /* the same, lower-case */
	char rd[XF_NAME_MAX * 4 + 1]; /* any suffix of lname: never cut short */
	struct xf_dnsmsg msg; /* a response event's message, parsed (o->msg) */
	/* response events' messages (struct xf_event_msg), as ldns found them */
	uint64_t msgs_whole, msgs_partial, msgs_bad;
	uint64_t msg_nxdomain, msg_servfail, msg_refused, msg_answer_bytes; /* of those parsed */
};

/*
 * Decode one ring buffer record into an observation: the name in escaped
 * presentation form, its registered domain (libpsl), client and server by
 * direction, wall-clock seconds and milliseconds (query timing), and the
 * kernel's action unless the allowlist overrode it. o->resolver and
 * o->bypass (the server is not a configured resolver) are left 0 for the
 * caller, which knows the resolvers. A response record that carries the
 * DNS message (struct xf_event_msg) has it parsed with ldns into buf->msg
 * and o->msg points there (a message ldns rejects is counted in
 * buf->msgs_bad and leaves o->msg NULL). Returns 0, or -EINVAL for a
 * record that is not a valid event.
 */
int xf_event_obs(const void *data, size_t len, int64_t mono_to_wall_ns, uint32_t long_qname,
		 struct xf_ingest_buf *buf, struct xf_obs *o);

/* Batched reads of the kernel's per-CPU flows map. */
struct xf_kmerge {
	int flows_fd;
	int ncpus;
	struct xf_flow_key *keys;
	void *vals; /* batch x ncpus values, 8-byte aligned */
	struct xf_flow_key in; /* where a merge in steps goes on */
	int more; /* a merge in steps is under way */
};

int xf_kmerge_init(struct xf_kmerge *m, int flows_fd);
void xf_kmerge_free(struct xf_kmerge *m);

/* Sum every kernel flow over CPUs (HLL registers by max) and merge it into
 * ft. Returns the kernel entries read, or < 0 on a map error. */
long xf_kmerge_run(struct xf_kmerge *m, struct xf_ft *ft);

/* The same in steps of at most `batches` syscalls (1024 flows each), so
 * the caller can drain the ring buffer in between: the first call with
 * m->more == 0 starts a merge, m->more says whether it goes on. Returns the
 * entries read by this step, or < 0 on a map error (the merge ends). */
long xf_kmerge_step(struct xf_kmerge *m, struct xf_ft *ft, int batches);

#endif /* XF_INGEST_H */
