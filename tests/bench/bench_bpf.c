// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bench_bpf.c - what the TC ingress program costs per packet, measured with
 * BPF_PROG_TEST_RUN against an empty TC program (r0 = 0; exit) on the same
 * machine: a non-DNS TCP segment, a short DNS query, a 253-byte qname and a
 * ~500-byte TLS ClientHello, and the short query again with XF_CF_VERDICTS
 * set (the verdict lookup it enables) and with event_gap_ms 0. Each case runs 5 times, interleaved,
 * and the median is reported. Prints numbers, never fails on them.
 *
 *   taskset -c 0 .output/tests/bench_bpf [--markdown] [--repeat N] [--only CASE]
 *                                       [--runs N] [--ab OBJ]
 *
 * --only runs one case (its row number, 1..; the empty program still runs
 * as the baseline): a steady load for a profiler such as perf record.
 *
 * --ab OBJ compares this build with another: OBJ is a TC object file
 * (exfilter_tc.bpf.o) from another commit, with the same exfilter.h. Each
 * run of each case alternates the two programs batch by batch (about a
 * millisecond each), and the median of the runs' differences is printed.
 * On a shared machine the cost of the same program moves by tens of
 * percent within a second; two separate bench runs cannot show a change of
 * a few ns, batches a millisecond apart can.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/utsname.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "exfilter.h"
#include "frame.h"
#include "loader.h"
#include "exfilter_tc.skel.h"
#include "pkt.h"

#define PSL_PATH "/usr/share/publicsuffix/public_suffix_list.dat"
#define RUNS 5 /* default */
#define RUNS_MAX 31
#define REPEAT_DEFAULT 1000000
#define RUN_BUDGET_NS 400000000ULL /* bound one run of one case to ~0.4 s */
/*
 * Cases that emit an event per packet would fill the 1 MiB ring after ~2,700
 * packets and then measure only the cheap "ring full" path; they run in
 * batches of this many with the ring drained (untimed) in between.
 */
#define BATCH 2000

struct bcase {
	const char *name;
	int empty; /* run the empty program */
	double target; /* ns over empty; 0 = none */
	__u32 cfg_flags; /* XF_CF_* added to the default config for this case */
	int gap_off; /* event_gap_ms = 0 */
	uint8_t pkt[PKT_MAX];
	size_t len;
	double ns[RUNS_MAX];
	double ns_b[RUNS_MAX]; /* --ab: the other object's */
};

/* A loaded TC object: its ingress program and the maps the bench sets. */
struct bobj {
	int prog, cfg, stats;
	struct ring_buffer *rb;
};

static int runs = RUNS;

static int drop_event(void *ctx, void *data, size_t sz)
{
	(void)ctx;
	(void)data;
	(void)sz;
	return 0;
}

static int empty_prog_load(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	return bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "xf_empty", "GPL", insns, 2, NULL);
}

/*
 * Mean ns per packet over repeat runs of prog: opts.duration (the kernel's
 * own mean, timer overhead excluded) weighted over the batches. With b
 * (--ab), b's program runs after each batch of prog, on the same packet, so
 * that both see the same moments of a shared machine; *ns_b is its mean.
 */
static int measure(int prog, struct ring_buffer *rb, const struct bobj *b, struct bcase *c,
		   long repeat, double *ns, double *ns_b)
{
	double total = 0, total_b = 0;
	long done = 0;

	while (done < repeat) {
		long n = repeat - done < BATCH ? repeat - done : BATCH;
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = c->pkt, .data_size_in = (__u32)c->len,
			    .repeat = (int)n);
		LIBBPF_OPTS(bpf_test_run_opts, ob, .data_in = c->pkt, .data_size_in = (__u32)c->len,
			    .repeat = (int)n);

		if (bpf_prog_test_run_opts(prog, &o) || (b && bpf_prog_test_run_opts(b->prog, &ob)))
			return -errno;
		total += (double)o.duration * (double)n;
		total_b += (double)ob.duration * (double)n;
		done += n;
		ring_buffer__consume(rb);
		if (b)
			ring_buffer__consume(b->rb);
	}
	*ns = total / (double)repeat;
	if (ns_b)
		*ns_b = total_b / (double)repeat;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(const double *v)
{
	double s[RUNS_MAX];

	memcpy(s, v, sizeof(s[0]) * (size_t)runs);
	qsort(s, (size_t)runs, sizeof(s[0]), cmp_double);
	return s[runs / 2];
}

/* Median of b[r] - a[r]. */
static double median_diff(const double *a, const double *b)
{
	double d[RUNS_MAX];
	int r;

	for (r = 0; r < runs; r++)
		d[r] = b[r] - a[r];
	return median(d);
}

/* Configure a loaded object's maps and find what the bench runs. */
static int bobj_setup(struct bobj *o, struct bpf_object *obj, const struct xf_config *cfg)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, "xf_tc_ingress");
	struct bpf_map *c = bpf_object__find_map_by_name(obj, "xf_config");
	struct bpf_map *sfx = bpf_object__find_map_by_name(obj, "xf_suffixes");
	struct bpf_map *ev = bpf_object__find_map_by_name(obj, "xf_events");
	struct bpf_map *st = bpf_object__find_map_by_name(obj, "xf_stats");
	__u32 zero = 0;

	if (!prog || !c || !sfx || !ev || !st)
		return -1;
	o->prog = bpf_program__fd(prog);
	o->cfg = bpf_map__fd(c);
	o->stats = bpf_map__fd(st);
	if (bpf_map_update_elem(o->cfg, &zero, cfg, BPF_ANY) ||
	    xf_suffixes_load(bpf_map__fd(sfx), PSL_PATH) <= 0)
		return -1;
	o->rb = ring_buffer__new(bpf_map__fd(ev), drop_event, NULL, NULL);
	return o->rb ? 0 : -1;
}

/* Events emitted and ring-full counts, summed over CPUs. */
static void bobj_events(const struct bobj *o, __u64 *ev, __u64 *full)
{
	__u64 *v = calloc((size_t)libbpf_num_possible_cpus(), sizeof(__u64) * XF_STATS_LEN);
	__u32 zero = 0;
	int i;

	*ev = *full = 0;
	if (v && !bpf_map_lookup_elem(o->stats, &zero, v)) {
		for (i = 0; i < libbpf_num_possible_cpus(); i++) {
			*ev += v[i * XF_STATS_LEN + XF_S_EVENTS];
			*full += v[i * XF_STATS_LEN + XF_S_RING_FULL];
		}
	}
	free(v);
}

/*
 * One run of one case, sized to the time budget: prog (a's program, or the
 * empty one), and b's program batch by batch beside it (--ab; NULL: none).
 */
static int run_case(struct bobj *a, struct bobj *b, int prog, struct bcase *c,
		    const struct xf_config *cc, long repeat, double *ns, double *ns_b)
{
	__u32 zero = 0;
	long n = repeat;
	double probe;

	if (bpf_map_update_elem(a->cfg, &zero, cc, BPF_ANY) ||
	    (b && bpf_map_update_elem(b->cfg, &zero, cc, BPF_ANY)))
		return -1;
	/* a short probe sizes the run to the time budget */
	if (measure(prog, a->rb, b, c, 10000 < repeat ? 10000 : repeat, &probe, NULL))
		return -1;
	if (b)
		probe *= 2;
	if (probe > 0 && probe * (double)n > RUN_BUDGET_NS)
		n = (long)(RUN_BUDGET_NS / probe);
	if (n < 10000 && repeat >= 10000)
		n = 10000;
	return measure(prog, a->rb, b, c, n, ns, ns_b);
}

static void cpu_model(char *out, size_t n)
{
	char line[512];
	FILE *f = fopen("/proc/cpuinfo", "r");

	snprintf(out, n, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *c = strchr(line, ':');

		if (c && !strncmp(line, "model name", 10)) {
			c += 2;
			c[strcspn(c, "\n")] = 0;
			snprintf(out, n, "%s", c);
			break;
		}
	}
	fclose(f);
}

static void build_cases(struct bcase *c)
{
	static const uint8_t cli[16] = { 10, 1, 1, 1 }, dns[16] = { 10, 0, 0, 53 },
			     web[16] = { 10, 0, 0, 80 };
	static const char ssh[] = "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n";
	struct pkt_spec s = { .sport = 40000 };
	uint8_t p[1024];
	char name[300];
	int i, j;

	memcpy(s.src, cli, 16);

	/* the empty program and the non-DNS case run the same TCP segment */
	memcpy(s.dst, web, 16);
	s.tcp = 1;
	s.dport = 22;
	s.payload = (const uint8_t *)ssh;
	s.plen = sizeof(ssh) - 1;
	c[0].len = pkt_build(c[0].pkt, PKT_MAX, &s);
	c[1].len = pkt_build(c[1].pkt, PKT_MAX, &s);

	memcpy(s.dst, dns, 16);
	s.tcp = 0;
	s.dport = 53;
	s.payload = p;
	s.plen = pkt_dns_query(p, 0x1234, "www.example.com", 1, 0);
	c[2].len = pkt_build(c[2].pkt, PKT_MAX, &s);

	/* 63.63.63.50.example.io: 253 characters, plain letters (not encoded) */
	for (i = 0, j = 0; i < 4; i++) {
		int k, n = i < 3 ? 63 : 61;

		for (k = 0; k < n; k++)
			name[j++] = (char)('a' + (k * 7 + i * 3) % 26);
		name[j++] = '.';
	}
	name[j - 1] = 0;
	memcpy(name + 253 - 11, ".example.io", 12); /* keep 253 chars, a real-looking tail */
	s.plen = pkt_dns_query(p, 0x1235, name, 16, 0);
	c[3].len = pkt_build(c[3].pkt, PKT_MAX, &s);

	memcpy(s.dst, web, 16);
	s.tcp = 1;
	s.dport = 443;
	s.plen = pkt_tls_client_hello(p, "www.example.com", 512);
	c[4].len = pkt_build(c[4].pkt, PKT_MAX, &s);

	/* the short query again, with XF_CF_VERDICTS: what the verdict lookup costs */
	memcpy(c[5].pkt, c[2].pkt, c[2].len);
	c[5].len = c[2].len;
	/* and with event_gap_ms 0: what the per-flow event gap check costs */
	memcpy(c[6].pkt, c[2].pkt, c[2].len);
	c[6].len = c[2].len;
}

static void usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [--markdown] [--repeat N] [--only CASE] [--runs N] [--ab OBJ]\n",
		argv0);
}

int main(int argc, char **argv)
{
	static struct bcase cases[7] = {
		{ .name = "empty TC program (r0 = 0; exit)", .empty = 1 },
		{ .name = "non-DNS TCP segment", .target = 10 },
		{ .name = "DNS query www.example.com A", .target = 100 },
		{ .name = "DNS query, 253-char qname (6 labels)", .target = 400 },
		{ .name = "TLS ClientHello with SNI", .target = 500 },
		{ .name = "DNS query, verdicts in use (flag set)", .cfg_flags = XF_CF_VERDICTS },
		{ .name = "DNS query, event_gap_ms 0 (off)", .gap_off = 1 },
	};
	const int nc = sizeof(cases) / sizeof(cases[0]);
	struct exfilter_tc_bpf *skel = NULL;
	struct bpf_object *objb = NULL;
	struct bobj a = { .rb = NULL }, b = { .rb = NULL };
	const char *ab = NULL;
	struct xf_config cfg;
	struct utsname un;
	cpu_set_t set;
	char cpu[256], date[64];
	long repeat = REPEAT_DEFAULT;
	int markdown = 0, empty_fd = -1, i, r, err = 1, only = 0;
	time_t now = time(NULL);

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--markdown")) {
			markdown = 1;
		} else if (!strcmp(argv[i], "--repeat") && i + 1 < argc) {
			char *end;

			repeat = strtol(argv[++i], &end, 10);
			if (*end || repeat < 1 || repeat > 100000000) {
				fprintf(stderr, "bench_bpf: --repeat wants 1..100000000\n");
				return 2;
			}
		} else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
			char *end;

			only = (int)strtol(argv[++i], &end, 10);
			if (*end || only < 1 || only >= nc) {
				fprintf(stderr, "bench_bpf: --only wants a case row, 1..%d\n",
					nc - 1);
				return 2;
			}
		} else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
			char *end;

			runs = (int)strtol(argv[++i], &end, 10);
			if (*end || runs < 1 || runs > RUNS_MAX) {
				fprintf(stderr, "bench_bpf: --runs wants 1..%d\n", RUNS_MAX);
				return 2;
			}
		} else if (!strcmp(argv[i], "--ab") && i + 1 < argc) {
			ab = argv[++i];
			if (access(ab, R_OK)) {
				fprintf(stderr, "bench_bpf: --ab %s: %s\n", ab, strerror(errno));
				return 2;
			}
		} else {
			usage(argv[0]);
			return 2;
		}
	}
	if (geteuid() != 0) {
		fprintf(stderr,
			"bench_bpf: must run as root: it loads BPF programs and runs them "
			"with BPF_PROG_TEST_RUN (try: sudo taskset -c 0 %s)\n",
			argv[0]);
		return 1;
	}

	uname(&un);
	cpu_model(cpu, sizeof(cpu));
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S %Z", localtime(&now));
	sched_getaffinity(0, sizeof(set), &set);
	printf(markdown ? "- command: `" : "# command: ");
	for (i = 0; i < argc; i++)
		printf("%s%s", i ? " " : "", argv[i]);
	printf(markdown ? "`\n" : "\n");
	printf("%sdate: %s\n", markdown ? "- " : "# ", date);
	printf("%skernel: %s (uname -r)\n", markdown ? "- " : "# ", un.release);
	printf("%scpu: %s, %ld online\n", markdown ? "- " : "# ", cpu,
	       sysconf(_SC_NPROCESSORS_ONLN));
	printf("%spinned: %s\n", markdown ? "- " : "# ",
	       CPU_COUNT(&set) == 1 ? "yes (one CPU in the affinity mask)"
				    : "no: run under `taskset -c 0` for stable numbers");
	printf("%smethod: BPF_PROG_TEST_RUN, opts.duration (kernel mean ns/packet, integer per "
	       "batch of <= %d), up to %ld repeats per run bounded to ~%.1f s, median of %d "
	       "interleaved runs; config: xf_config_defaults() (monitor mode) plus the case's "
	       "flags, "
	       "public suffixes loaded, verdicts map empty, event ring drained between batches\n",
	       markdown ? "- " : "# ", BATCH, repeat, RUN_BUDGET_NS / 1e9, runs);
	if (ab)
		printf("%sA/B: each run of each case runs this build (A) and %s (B), "
		       "batch by batch; B - A is the median of the runs' differences\n",
		       markdown ? "- " : "# ", ab);
	fflush(stdout);

	skel = exfilter_tc_bpf__open();
	if (!skel || exfilter_tc_bpf__load(skel)) {
		fprintf(stderr, "bench_bpf: failed to load the TC BPF object: %s\n",
			strerror(errno));
		goto cleanup;
	}
	xf_config_defaults(&cfg);
	if (bobj_setup(&a, skel->obj, &cfg)) {
		fprintf(stderr, "bench_bpf: failed to configure the maps\n");
		goto cleanup;
	}
	if (ab) {
		char msg[128];
		int e;

		objb = bpf_object__open_file(ab, NULL);
		e = !objb ? -errno : bpf_object__load(objb);
		if (e || bobj_setup(&b, objb, &cfg)) {
			libbpf_strerror(e ? e : -EINVAL, msg, sizeof(msg));
			fprintf(stderr, "bench_bpf: --ab %s: failed to %s: %s\n", ab,
				e ? "load it as a TC object" : "find or configure its maps", msg);
			goto cleanup;
		}
	}
	empty_fd = empty_prog_load();
	if (empty_fd < 0) {
		fprintf(stderr, "bench_bpf: failed to load the empty program: %s\n",
			strerror(errno));
		goto cleanup;
	}
	build_cases(cases);

	for (r = 0; r < runs; r++) {
		for (i = 0; i < nc; i++) {
			struct bcase *c = &cases[i];
			struct xf_config cc = cfg;

			if (only && i && i != only)
				continue;
			cc.flags |= c->cfg_flags;
			if (c->gap_off)
				cc.event_gap_ms = 0;
			if (run_case(&a, ab && !c->empty ? &b : NULL, c->empty ? empty_fd : a.prog,
				     c, &cc, repeat, &c->ns[r], &c->ns_b[r]))
				goto run_failed;
		}
	}

	{
		double base = median(cases[0].ns);
		__u64 ev, full;

		printf("\n");
		if (markdown) {
			printf("| case | ns/packet | delta over empty (ns) | ratio to empty | "
			       "target (delta) | met |%s\n",
			       ab ? " B: ns/packet | B - A (ns, paired) |" : "");
			printf("|---|---:|---:|---:|---:|---|%s\n", ab ? "---:|---:|" : "");
		} else {
			printf("%-38s %10s %10s %8s %10s  %-7s%s\n", "case", "ns/packet",
			       "delta(ns)", "ratio", "target", "met",
			       ab ? "  B ns/packet  B-A(ns)" : "");
		}
		for (i = 0; i < nc; i++) {
			double m = median(cases[i].ns), d = m - base;
			char tgt[32] = "-", met[16] = "-", bcol[64] = "";

			if (only && i && i != only)
				continue;

			if (cases[i].target > 0) {
				snprintf(tgt, sizeof(tgt), "<= +%.0f", cases[i].target);
				snprintf(met, sizeof(met), "%s",
					 d <= cases[i].target ? "met" : "not met");
			}
			if (ab && cases[i].empty)
				snprintf(bcol, sizeof(bcol), markdown ? " - | - |" : "  %11s %8s",
					 "-", "-");
			else if (ab)
				snprintf(bcol, sizeof(bcol),
					 markdown ? " %.1f | %+.1f |" : "  %11.1f %+8.1f",
					 median(cases[i].ns_b),
					 median_diff(cases[i].ns, cases[i].ns_b));
			if (markdown)
				printf("| %s | %.1f | %+.1f | %.2f | %s | %s |%s\n", cases[i].name,
				       m, d, base > 0 ? m / base : 0, tgt, met, bcol);
			else
				printf("%-38s %10.1f %+10.1f %8.2f %10s  %-7s%s\n", cases[i].name,
				       m, d, base > 0 ? m / base : 0, tgt, met, bcol);
		}
		if (!markdown) {
			printf("\nruns (ns/packet):\n");
			for (i = 0; i < nc; i++) {
				if (only && i && i != only)
					continue;
				printf("  %-38s", cases[i].name);
				for (r = 0; r < runs; r++)
					printf(" %7.1f", cases[i].ns[r]);
				printf("\n");
				if (!ab || cases[i].empty)
					continue;
				printf("  %-38s", "  B");
				for (r = 0; r < runs; r++)
					printf(" %7.1f", cases[i].ns_b[r]);
				printf("\n");
			}
		}
		/* events reach the ring: a full ring would only measure the failure path */
		bobj_events(&a, &ev, &full);
		printf("\n%sevents emitted: %llu, ring full: %llu\n", markdown ? "" : "# ",
		       (unsigned long long)ev, (unsigned long long)full);
		if (ab) {
			bobj_events(&b, &ev, &full);
			printf("%sB: events emitted: %llu, ring full: %llu\n", markdown ? "" : "# ",
			       (unsigned long long)ev, (unsigned long long)full);
		}
	}
	err = 0;
	goto cleanup;

run_failed:
	fprintf(stderr, "bench_bpf: BPF_PROG_TEST_RUN failed: %s\n", strerror(errno));
cleanup:
	ring_buffer__free(a.rb);
	ring_buffer__free(b.rb);
	if (empty_fd >= 0)
		close(empty_fd);
	bpf_object__close(objb);
	exfilter_tc_bpf__destroy(skel);
	return err;
}
