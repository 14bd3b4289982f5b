/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * maps.bpf.h - the maps both programs share. Userspace may resize the
 * flows, verdicts, allow, ipblock and events maps before load; every map is
 * pinned by the sensor so that mode switches and list edits reach a running
 * data path.
 */
#ifndef XF_MAPS_BPF_H
#define XF_MAPS_BPF_H

/*
 * Per-CPU scratch: packet bytes, the entropy histogram, and the working state
 * that would not fit the 512-byte BPF stack. Programs run to completion on
 * one CPU, so one entry per CPU is never shared.
 */
#define XF_GAP_SLOTS 64

/* xf_rb_wake(): a quarter of the ring's bytes, and how often (a mask of
 * this CPU's event count) to look at the unread data; the loader sets both
 * before load from the ring's size (kernel.ring_kib). */
const volatile __u32 xf_ring_quarter = (1u << 20) / 4;
const volatile __u32 xf_wake_mask = 15;

struct xf_scratch {
	__u8 buf[XF_SCR_BUF];
	__u8 hist[256];
	struct xf_ctx ctx;
	struct xf_name_state ns;
	struct xf_flow flow0;
	__u64 sample_ctr;
	__u32 wake_ctr; /* this CPU's events (xf_rb_wake()) */
	__u32 wake_forced; /* forced a wake-up; has not seen the ring below a quarter since */
	__u64 clk_jiffies; /* xf_now(): the jiffy clk_ns was read in */
	__u64 clk_ns;
	struct xf_sfx_slot sfx_cache[XF_SFX_CACHE]; /* xf_suffix_known() */
	struct xf_event_msg evm; /* xf_emit_msg(): a response event is built here */
	/* xf_name_gap(): the last SNI/Host event per client x name, direct-mapped */
	__u64 gap_key[XF_GAP_SLOTS];
	__u64 gap_ns[XF_GAP_SLOTS];
};

/* mmapable: the sensor stores heartbeat_ns in place (struct xf_config) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct xf_config);
} xf_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct xf_flow_key);
	__type(value, struct xf_flow);
} xf_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct xf_vkey);
	__type(value, struct xf_verdict);
} xf_verdicts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct xf_vkey);
	__type(value, __u8);
} xf_allow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xf_lpm_key);
	__type(value, struct xf_verdict);
} xf_ipblock SEC(".maps");

/* two-label public suffixes (co.uk, ...): registered domain is 3 labels */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, __u64);
	__type(value, __u8);
} xf_suffixes SEC(".maps");

/* One per-CPU entry holding every counter: one lookup per packet. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64[XF_STATS_LEN]);
} xf_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xf_scratch);
} xf_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} xf_events SEC(".maps");

#endif /* XF_MAPS_BPF_H */
