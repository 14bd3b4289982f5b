// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ingest.c - ring buffer records into observations, kernel flows into
 * merges.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <ldns/ldns.h>
#include "ingest.h"
#include "names.h"

#define MERGE_BATCH 1024
#define VAL_SIZE ((sizeof(struct xf_flow) + 7) & ~7UL) /* per-CPU values are 8-aligned */

/* The message a response record carries (kernel.msg_bytes), through ldns. */
static void event_msg(const struct xf_event_msg *em, size_t len, struct xf_ingest_buf *buf,
		      struct xf_obs *o)
{
	size_t n = em->msg_len;
	int rc;

	if (!n)
		return; /* the kernel could not copy it */
	if (n > XF_MSG_MAX || n > len - XF_EVM_HDR) {
		buf->msgs_bad++; /* a length the record does not hold */
		return;
	}
	rc = xf_dnsmsg_parse(em->msg, n, em->msg_wire > n ? em->msg_wire : n, &buf->msg);
	if (rc < 0) {
		buf->msgs_bad++;
		return;
	}
	if (rc == XF_DNSMSG_PARTIAL)
		buf->msgs_partial++;
	else
		buf->msgs_whole++;
	buf->msg_nxdomain += (buf->msg.rcode & 0xf) == LDNS_RCODE_NXDOMAIN;
	buf->msg_servfail += (buf->msg.rcode & 0xf) == LDNS_RCODE_SERVFAIL;
	buf->msg_refused += (buf->msg.rcode & 0xf) == LDNS_RCODE_REFUSED;
	buf->msg_answer_bytes += buf->msg.down_bytes;
	o->msg = &buf->msg;
}

int xf_event_obs(const void *data, size_t len, int64_t mono_to_wall_ns, uint32_t long_qname,
		 struct xf_ingest_buf *buf, struct xf_obs *o)
{
	const struct xf_event *ev = data;
	uint64_t wall_ns;
	size_t n;
	int r;

	if (len < sizeof(*ev) || ev->version != XF_EVENT_VERSION || !ev->kind ||
	    ev->kind > XF_EV_HOST)
		return -EINVAL;
	n = ev->name_len < XF_NAME_MAX ? ev->name_len : XF_NAME_MAX;
	r = ev->kind == XF_EV_DNS_QUERY || ev->kind == XF_EV_DNS_RESPONSE
		    ? xf_wire_to_text(ev->name, n, 0, buf->name, sizeof(buf->name))
		    : xf_text_name(ev->name, n, 0, buf->name, sizeof(buf->name));
	if (r <= 0)
		return -EINVAL;
	for (int i = 0; i <= r; i++)
		buf->lname[i] =
			(char)(buf->name[i] >= 'A' && buf->name[i] <= 'Z' ? buf->name[i] + 32
									  : buf->name[i]);
	memset(o, 0, sizeof(*o));
	o->domain = xf_registered_domain(buf->lname, buf->rd, sizeof(buf->rd));
	o->response = ev->kind == XF_EV_DNS_RESPONSE;
	o->client = o->response ? ev->daddr : ev->saddr;
	o->server = o->response ? ev->saddr : ev->daddr;
	o->kernel_rd = ev->feat.rd_hash;
	o->name = buf->name;
	o->feat = &ev->feat;
	/* modulo 2^64: the same as signed for any real clock, and a corrupt
	 * record's ts_ns cannot overflow (found by tests/fuzz/fuzz_event) */
	wall_ns = ev->ts_ns + (uint64_t)mono_to_wall_ns;
	o->now_s = (uint32_t)(wall_ns / 1000000000ULL);
	o->ts_ms = wall_ns / 1000000ULL;
	o->long_qname = long_qname;
	o->kind = ev->kind;
	if (ev->action != XF_ACT_PASS && !(ev->flags & XF_EF_ALLOWED)) {
		o->kaction = ev->action;
		o->kreason = ev->reason;
		o->kenforced = !!(ev->flags & XF_EF_ENFORCED);
	}
	if (o->response && len >= XF_EVM_HDR)
		event_msg(data, len, buf, o);
	return 0;
}

int xf_kmerge_init(struct xf_kmerge *m, int flows_fd)
{
	memset(m, 0, sizeof(*m));
	m->flows_fd = flows_fd;
	m->ncpus = libbpf_num_possible_cpus();
	if (m->ncpus <= 0)
		return -EINVAL;
	m->keys = calloc(MERGE_BATCH, sizeof(*m->keys));
	m->vals = calloc((size_t)MERGE_BATCH * (size_t)m->ncpus, VAL_SIZE);
	if (!m->keys || !m->vals) {
		xf_kmerge_free(m);
		return -ENOMEM;
	}
	return 0;
}

void xf_kmerge_free(struct xf_kmerge *m)
{
	free(m->keys);
	free(m->vals);
	m->keys = NULL;
	m->vals = NULL;
}

static void sum_cpus(const struct xf_kmerge *m, __u32 i, struct xf_flow *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (int c = 0; c < m->ncpus; c++) {
		const struct xf_flow *v = (const void *)((const char *)m->vals +
							 ((size_t)i * m->ncpus + c) * VAL_SIZE);

		sum->queries += v->queries;
		sum->qname_bytes += v->qname_bytes;
		sum->entropy_sum += v->entropy_sum;
		sum->enc_queries += v->enc_queries;
		sum->long_queries += v->long_queries;
		sum->responses += v->responses;
		sum->nxdomain += v->nxdomain;
		for (int q = 0; q < XF_QT_BUCKETS; q++)
			sum->qtypes[q] += v->qtypes[q];
		for (int h = 0; h < XF_HLL_REGS; h++)
			if (v->hll[h] > sum->hll[h])
				sum->hll[h] = v->hll[h];
	}
}

long xf_kmerge_step(struct xf_kmerge *m, struct xf_ft *ft, int batches)
{
	struct xf_flow_key out;
	struct xf_flow sum;
	long read = 0;
	int err = 0;
	__u32 count;

	/* one syscall per MERGE_BATCH flows, all CPUs at once; the batch token
	 * of a hash map is a bucket position, so the walk resumes where the
	 * last step stopped, whatever changed in between */
	for (int b = 0; b < batches && !err; b++) {
		count = MERGE_BATCH;
		err = bpf_map_lookup_batch(m->flows_fd, m->more ? &m->in : NULL, &out, m->keys,
					   m->vals, &count, NULL);
		if (err && errno != ENOENT) {
			err = -errno;
			m->more = 0;
			return err;
		}
		for (__u32 i = 0; i < count; i++) {
			sum_cpus(m, i, &sum);
			xf_ft_merge_kernel(ft, m->keys[i].client, m->keys[i].rd_hash, &sum);
			read++;
		}
		m->in = out;
		m->more = !err;
	}
	return read;
}

long xf_kmerge_run(struct xf_kmerge *m, struct xf_ft *ft)
{
	long read = 0, n;

	m->more = 0;
	do {
		n = xf_kmerge_step(m, ft, 64);
		if (n < 0)
			return n;
		read += n;
	} while (m->more);
	return read;
}
