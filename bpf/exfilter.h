/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * exfilter.h - the ABI shared by the eBPF programs and userspace: map keys and
 * values, the config record, the ring buffer event, and the append-only
 * reason, statistic and parse-error codes (mirrored in schemas/reasons.md).
 *
 * Fixed-width types only, explicit padding, sizes pinned by _Static_assert.
 * This header includes nothing: include <linux/types.h> before it.
 * Append-only rule: never renumber or reuse a code; retire it as UNUSEDn.
 */
#ifndef EXFILTER_H
#define EXFILTER_H

#define XF_EVENT_VERSION 1

#define XF_NAME_MAX 256 /* wire qname <= 255 bytes, presentation <= 253 */
#define XF_LABEL_MAX 63
#define XF_HLL_REGS 64 /* 2^6 registers: ~13% standard error, 64 B per flow */
#define XF_HLL_BITS 6
#define XF_QT_BUCKETS 8
#define XF_PORTS_MAX 4
#define XF_MSG_MAX 512 /* DNS message bytes a response event can carry */

/* Operating mode, in struct xf_config.mode. */
enum xf_mode {
	XF_MODE_MONITOR = 0, /* never drop; count would-drops */
	XF_MODE_ENFORCE = 1, /* drop or refuse */
};

/* What to do with a packet. */
enum xf_action {
	XF_ACT_PASS = 0,
	XF_ACT_DROP = 1, /* TC_ACT_SHOT */
	XF_ACT_REFUSE = 2, /* UDP DNS only: answer REFUSED in place; else drop */
};

/* Why a verdict was reached. Append-only. */
enum xf_reason {
	XF_R_NONE = 0,
	XF_R_VERDICT_DOMAIN = 1, /* registered domain in the verdicts map */
	XF_R_VERDICT_SNI = 2, /* exact TLS server_name in the verdicts map */
	XF_R_VERDICT_HOST = 3, /* exact HTTP Host in the verdicts map */
	XF_R_IPBLOCK = 4, /* source or destination in the ipblock LPM trie */
	XF_R_ENC_LABEL = 5, /* single query: long label in an encoded alphabet */
	XF_R_BAD_BYTES = 6, /* single query: bytes never legal in a hostname */
	XF_R_RATE = 7, /* per-CPU flow queries over the kernel threshold */
	XF_R_RATE_ENC = 8, /* per-CPU flow encoded queries over the threshold */
	XF_R_MAX,
};

/* Event kinds. */
enum xf_ev_kind {
	XF_EV_DNS_QUERY = 1,
	XF_EV_DNS_RESPONSE = 2,
	XF_EV_SNI = 3,
	XF_EV_HOST = 4,
};

/* struct xf_event.flags */
#define XF_EF_ENFORCED (1u << 0) /* the action was applied (enforce mode) */
#define XF_EF_ALLOWED (1u << 1) /* allowlist hit: enforcement skipped */
#define XF_EF_INGRESS (1u << 2) /* seen on TC ingress (else egress or tap) */
#define XF_EF_IPV6 (1u << 3)
#define XF_EF_TCP (1u << 4) /* DNS over TCP (SNI and Host are always TCP) */
#define XF_EF_SAMPLED (1u << 5) /* emitted by sampling, nothing notable */
#define XF_EF_NEWFLOW (1u << 6) /* first query of this client x domain on this CPU */
#define XF_EF_GAP (1u << 7) /* the flow's first query (response) event on this CPU per gap */

/* Counters in the per-CPU stats array. Append-only. */
enum xf_stat {
	XF_S_PACKETS = 0,
	XF_S_DNS_QUERIES = 1,
	XF_S_DNS_RESPONSES = 2,
	XF_S_SNI = 3,
	XF_S_HOST = 4,
	XF_S_EVENTS = 5,
	XF_S_RING_FULL = 6,
	XF_S_DROPS = 7,
	XF_S_WOULD_DROPS = 8,
	XF_S_REFUSED = 9,
	XF_S_ALLOW_HITS = 10,
	XF_S_PARSE_ERRORS = 11, /* sum of all parse errors below */
	XF_S_FAILSAFE_OPEN = 12, /* enforce mode, stale heartbeat: not acted on (failsafe_ms) */
	XF_S_MAX,
};

/* Parse errors, counted at stats index XF_STAT_PERR(e). Append-only. */
enum xf_perr {
	XF_PE_NONE = 0,
	XF_PE_ETH_TRUNC = 1,
	XF_PE_VLAN_TRUNC = 2,
	XF_PE_VLAN_DEPTH = 3, /* more than two VLAN tags */
	XF_PE_IP4_TRUNC = 4,
	XF_PE_IP4_HDR = 5, /* bad version or IHL */
	XF_PE_IP_FRAG = 6, /* non-first fragment: no L4 header */
	XF_PE_IP6_TRUNC = 7,
	XF_PE_IP6_EXT = 8, /* extension chain truncated or too long */
	XF_PE_L4_TRUNC = 9,
	XF_PE_HDR_WINDOW = 10, /* headers end beyond the header window */
	XF_PE_DNS_TRUNC = 11, /* header or question cut short */
	XF_PE_DNS_QDCOUNT = 12, /* qdcount != 1 */
	XF_PE_DNS_LABEL = 13, /* label type 0x40/0x80 */
	XF_PE_DNS_PTR = 14, /* compression pointer in the question */
	XF_PE_DNS_LONG = 15, /* name over 255 bytes */
	XF_PE_DNS_TCPLEN = 16, /* TCP length prefix shorter than a header */
	XF_PE_TLS_TRUNC = 17, /* ClientHello ends before server_name */
	XF_PE_TLS_BAD = 18, /* inconsistent lengths */
	XF_PE_SNI_BAD = 19, /* empty or over-long server_name */
	XF_PE_HTTP_NOHOST = 20, /* request seen, no complete Host line in the window */
	XF_PE_HTTP_BAD = 21, /* empty or over-long Host */
	XF_PE_MAX,
};

#define XF_PERR_SLOTS 32 /* room to append parse errors without a new layout */
#define XF_STAT_PERR(e) (XF_S_MAX + (e))
#define XF_STATS_LEN (XF_S_MAX + XF_PERR_SLOTS)
_Static_assert(XF_PE_MAX <= XF_PERR_SLOTS, "parse error slots");

/* struct xf_config.flags */
#define XF_CF_IPBLOCK (1u << 0) /* the ipblock trie has entries: look it up */
#define XF_CF_EVENTS_ALL (1u << 1) /* an event for every query, no sampling */
/*
 * The verdicts map may hold entries: look it up. Userspace sets it before it
 * writes a verdict (sensor/control.c) and clears it only when it knows the
 * map is empty; with it clear, queries skip the lookup (~20 ns).
 */
#define XF_CF_VERDICTS (1u << 2)

/* The single entry of the config map. Ports in host byte order. */
struct xf_config {
	__u32 mode; /* enum xf_mode */
	__u32 flags; /* XF_CF_* */
	__u32 sample_every; /* event for 1 in N plain queries; 0 = none */
	__u32 enc_label_min; /* a label this long in an encoded alphabet counts */
	__u32 enc_label_drop; /* hard limit: encoded label >= this; 0 = off */
	__u32 long_qname; /* a qname this long counts as long */
	__u32 drop_bad_bytes; /* hard limit: any byte never legal in a hostname */
	__u32 kwin_ms; /* window of the per-CPU thresholds */
	__u32 kq_limit; /* per-CPU queries per flow per window; 0 = off */
	__u32 kenc_limit; /* per-CPU encoded queries per flow per window; 0 = off */
	__u32 limit_action; /* enum xf_action for hard limits and rates */
	__u16 dns_port;
	/*
	 * A DNS response event carries up to this many bytes of the message
	 * (struct xf_event_msg), 0..XF_MSG_MAX; 0 = off: response events are
	 * plain struct xf_event records, and only rcode != 0 and new flows emit.
	 */
	__u16 msg_bytes;
	__u16 tls_ports[XF_PORTS_MAX]; /* 0 = unused slot */
	__u16 http_ports[XF_PORTS_MAX];
	/*
	 * An event for a query when this long has passed since the flow's last
	 * query event on this CPU (at most one per flow per CPU per gap; slow
	 * flows, such as beacons, get one per query); 0 = off.
	 */
	__u32 event_gap_ms;
	/*
	 * Fail open (docs/failsafe.md): in enforce mode, act on nothing while
	 * heartbeat_ns is older than this many ms (the would-drops count, and
	 * XF_S_FAILSAFE_OPEN); 0 = fail closed, keep enforcing without a sensor.
	 */
	__u32 failsafe_ms;
	/*
	 * CLOCK_MONOTONIC ns of the running sensor's last heartbeat. The sensor
	 * stores this field alone through an mmap of the map (BPF_F_MMAPABLE),
	 * never by rewriting the entry, so it cannot undo a concurrent mode or
	 * flag write.
	 */
	__u64 heartbeat_ns;
};
_Static_assert(sizeof(struct xf_config) == 80, "xf_config layout");
_Static_assert(__builtin_offsetof(struct xf_config, heartbeat_ns) % 8 == 0, "heartbeat store");

/* Features of one name (DNS qname, TLS server_name or HTTP Host). */
struct xf_name_feat {
	__u64 rd_hash; /* registered domain: last 2 labels, 3 under a known suffix */
	__u64 name_hash; /* the whole name */
	__u16 name_len; /* presentation length, no trailing dot */
	__u16 entropy; /* Shannon entropy of label bytes, milli-bits per byte */
	__u8 labels;
	__u8 longest; /* longest label */
	__u8 rd_labels; /* labels in the registered domain */
	__u8 rd_off; /* presentation offset where the registered domain starts */
	__u8 hex_labels; /* labels >= enc_label_min, all hex digits */
	__u8 b32_labels; /* ... base32 alphabet, one case, with digits */
	__u8 b64_labels; /* ... base64/base64url alphabet, symbols or mixed case */
	__u8 enc_longest; /* longest encoded (hex/b32/b64/binary) label */
	__u8 upper;
	__u8 lower;
	__u8 digit;
	__u8 hyphen;
	__u8 b64sym; /* + / = _ */
	__u8 other; /* printable, none of the above */
	__u8 binary; /* control, space, DEL or >= 0x80: never legal */
	__u8 pad0;
	__u16 qtype; /* DNS only */
	__u16 qclass;
	__u16 dns_id;
	__u16 dns_flags; /* header flags word; rcode in the low 4 bits */
	__u32 pad1;
};
_Static_assert(sizeof(struct xf_name_feat) == 48, "xf_name_feat layout");

/* Ring buffer record: one per query of interest. */
struct xf_event {
	__u16 version; /* XF_EVENT_VERSION */
	__u8 kind; /* enum xf_ev_kind */
	__u8 action; /* enum xf_action: applied, or would be in monitor mode */
	__u8 reason; /* enum xf_reason */
	__u8 flags; /* XF_EF_* */
	__u8 mode; /* enum xf_mode at the time */
	__u8 pad0;
	__u32 ifindex;
	__u32 pkt_len;
	__u64 ts_ns; /* CLOCK_MONOTONIC, coarse: within two ticks (xf_now()) */
	__u8 saddr[16]; /* IPv4 as ::ffff:a.b.c.d */
	__u8 daddr[16];
	__u16 sport; /* host byte order */
	__u16 dport;
	__u16 name_len; /* bytes used in name[] */
	__u16 pad1;
	struct xf_name_feat feat;
	/* DNS: the qname in wire format (labels, root byte included).
	 * SNI/Host: the name as sent. Raw bytes: escape before printing. */
	__u8 name[XF_NAME_MAX];
};
_Static_assert(sizeof(struct xf_event) == 368, "xf_event layout");

/*
 * A DNS response event with the message bytes (xf_config.msg_bytes > 0):
 * struct xf_event, then the first msg_len bytes of the DNS message (after
 * TCP's length prefix). The ring record is exactly XF_EVM_HDR + msg_len
 * bytes long; a record of sizeof(struct xf_event) has no message. Same
 * version: a decoder that reads only struct xf_event still works.
 */
struct xf_event_msg {
	struct xf_event ev;
	__u16 msg_len; /* bytes in msg[]: min(msg_bytes, the message's bytes in this packet) */
	__u16 msg_wire; /* the message's length on the wire (UDP payload, TCP length prefix) */
	__u32 pad0;
	__u8 msg[XF_MSG_MAX];
};
#define XF_EVM_HDR (sizeof(struct xf_event) + 8) /* record bytes before msg[] */
_Static_assert(sizeof(struct xf_event_msg) == 888, "xf_event_msg layout");
_Static_assert(__builtin_offsetof(struct xf_event_msg, msg) == XF_EVM_HDR, "xf_event_msg hdr");

/* flows map key: client address x registered domain. */
struct xf_flow_key {
	__u8 client[16]; /* IPv4 as ::ffff:a.b.c.d */
	__u64 rd_hash;
};
_Static_assert(sizeof(struct xf_flow_key) == 24, "xf_flow_key layout");

/* qtype buckets in struct xf_flow.qtypes */
enum xf_qt_bucket {
	XF_QT_A = 0,
	XF_QT_AAAA = 1,
	XF_QT_TXT = 2,
	XF_QT_NULL = 3,
	XF_QT_CNAME = 4,
	XF_QT_MX = 5,
	XF_QT_CARRIER = 6, /* KEY, SRV, PRIVATE 65399, ANY and other rare carriers */
	XF_QT_OTHER = 7,
};

/* flows map value (per CPU: userspace sums, and merges hll[] by max). */
struct xf_flow {
	__u64 first_ns;
	__u64 last_ns;
	__u64 queries;
	__u64 qname_bytes;
	__u64 entropy_sum; /* milli-bits */
	__u32 enc_queries; /* queries with an encoded label >= enc_label_min */
	__u32 long_queries; /* qname >= long_qname */
	__u32 responses;
	__u32 nxdomain;
	__u32 qtypes[XF_QT_BUCKETS];
	__u64 win_start_ns; /* per-CPU threshold window */
	__u32 win_queries;
	__u32 win_enc;
	__u8 hll[XF_HLL_REGS];
	__u64 last_ev_ns; /* this CPU's last query event of the flow (event_gap_ms); not summed */
	__u64 last_rev_ns; /* this CPU's last response event with a message; not summed */
};
_Static_assert(sizeof(struct xf_flow) == 184, "xf_flow layout");

/* verdicts and allow map key. */
enum xf_vkind {
	XF_VK_DOMAIN = 1, /* registered domain: DNS qname, SNI and Host */
	XF_VK_SNI = 2, /* exact TLS server_name */
	XF_VK_HOST = 3, /* exact HTTP Host */
};

struct xf_vkey {
	__u64 hash; /* xf_name_hash() of the lower-case name */
	__u32 kind; /* enum xf_vkind */
	__u32 pad;
};
_Static_assert(sizeof(struct xf_vkey) == 16, "xf_vkey layout");

/* verdicts and ipblock map value. */
struct xf_verdict {
	__u8 action; /* enum xf_action */
	__u8 reason; /* enum xf_reason, for the event */
	__u16 pad0;
	__u32 pad1;
	__u64 expires_ns; /* CLOCK_MONOTONIC; 0 = never */
};
_Static_assert(sizeof(struct xf_verdict) == 16, "xf_verdict layout");

/* ipblock LPM trie key: IPv4 as ::ffff:a.b.c.d with prefixlen + 96. */
struct xf_lpm_key {
	__u32 prefixlen;
	__u8 addr[16];
};
_Static_assert(sizeof(struct xf_lpm_key) == 20, "xf_lpm_key layout");

#endif /* EXFILTER_H */
