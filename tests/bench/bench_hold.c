// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bench_hold.c - holds kernel settings that the benchmarks need for exactly
 * as long as a measured run lasts, through file descriptors, so nothing
 * global stays changed after it (even when the bench is killed: the kernel
 * drops both settings when the last fd closes).
 *
 *   --bpf-stats        bpf_enable_stats(BPF_STATS_RUN_TIME): per-program
 *                      run_time_ns/run_cnt, instead of flipping the global
 *                      sysctl kernel.bpf_stats_enabled;
 *   --prog ID          (repeatable, with --bpf-stats) print the program's
 *                      run_time_ns and run_cnt gained while CMD ran, read
 *                      with bpf_obj_get_info_by_fd;
 *   --cpu-latency US   a PM QoS request on /dev/cpu_dma_latency: with 0
 *                      the cpuidle governors keep idle CPUs polling instead
 *                      of halting (see tests/bench/lib_bench.sh for why the
 *                      benchmarks want equal idle states in every way).
 *
 *   bench_hold [--bpf-stats] [--prog ID]... [--cpu-latency US] [-o FILE] -- CMD [ARG]...
 *   bench_hold [--bpf-stats] [--cpu-latency US]        (holds until killed)
 *
 * With CMD: runs it, then prints "prog=ID run_time_ns=N run_cnt=N" per
 * --prog to FILE (default stderr) and exits with CMD's status. Without CMD:
 * prints "holding" on stdout once everything is held, then waits; it also
 * ends when its parent dies (PR_SET_PDEATHSIG), so a killed bench does not
 * leave it behind. Exit 2 on bad arguments, 1 when a setting cannot be held.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>

#define XF_HOLD_MAX_PROGS 8

struct xf_prog_stat {
	__u32 id;
	__u64 run_time_ns, run_cnt;
};

static int usage(void)
{
	fprintf(stderr, "usage: bench_hold [--bpf-stats] [--prog ID]... [--cpu-latency US] "
			"[-o FILE] [-- CMD [ARG]...]\n");
	return 2;
}

static int parse_u32(const char *s, __u32 max, __u32 *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max)
		return -EINVAL;
	*out = (__u32)v;
	return 0;
}

static int prog__read(struct xf_prog_stat *p)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd, err;

	fd = bpf_prog_get_fd_by_id(p->id);
	if (fd < 0)
		return -errno;
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	err = err ? -errno : 0;
	close(fd);
	p->run_time_ns = info.run_time_ns;
	p->run_cnt = info.run_cnt;
	return err;
}

/* 0 when CPU latency could be held at us; the fd stays open until exit */
static int cpu_latency__hold(__u32 us)
{
	__s32 v = (__s32)us;
	int fd = open("/dev/cpu_dma_latency", O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (write(fd, &v, sizeof(v)) != sizeof(v)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return 0;
}

static int run_child(char **argv)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (!pid) {
		execvp(argv[0], argv);
		fprintf(stderr, "bench_hold: failed to run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

/* SIGTERM, SIGINT or the parent's death end the process; the kernel then
 * closes the fds, which releases what they hold */
static void hold_until_killed(void)
{
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		return;
	printf("holding\n");
	fflush(stdout);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	struct xf_prog_stat progs[XF_HOLD_MAX_PROGS];
	int nprogs = 0, stats_fd = -1, want_stats = 0, err, i, rc;
	__u32 lat = 0;
	int want_lat = 0;
	const char *out_path = NULL;
	FILE *out = stderr;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else if (!strcmp(argv[i], "--bpf-stats")) {
			want_stats = 1;
		} else if (!strcmp(argv[i], "--prog") && i + 1 < argc) {
			if (nprogs == XF_HOLD_MAX_PROGS ||
			    parse_u32(argv[++i], UINT32_MAX, &progs[nprogs].id))
				return usage();
			nprogs++;
		} else if (!strcmp(argv[i], "--cpu-latency") && i + 1 < argc) {
			if (parse_u32(argv[++i], 1000000, &lat))
				return usage();
			want_lat = 1;
		} else if (!strcmp(argv[i], "-o") && i + 1 < argc) {
			out_path = argv[++i];
		} else {
			return usage();
		}
	}
	if (nprogs && (!want_stats || i >= argc))
		return usage();

	if (want_lat && (err = cpu_latency__hold(lat))) {
		fprintf(stderr, "bench_hold: failed to hold /dev/cpu_dma_latency at %u us: %s\n",
			lat, strerror(-err));
		return 1;
	}
	if (want_stats) {
		stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (stats_fd < 0) {
			fprintf(stderr,
				"bench_hold: failed to enable BPF run-time stats: %s "
				"(needs root and Linux 5.8+)\n",
				strerror(errno));
			return 1;
		}
	}
	if (i >= argc) {
		hold_until_killed();
		return 0;
	}

	for (int k = 0; k < nprogs; k++) {
		err = prog__read(&progs[k]);
		if (err) {
			fprintf(stderr, "bench_hold: failed to read program %u: %s\n", progs[k].id,
				strerror(-err));
			return 1;
		}
	}
	rc = run_child(&argv[i]);
	if (rc < 0) {
		fprintf(stderr, "bench_hold: failed to run %s: %s\n", argv[i], strerror(-rc));
		return 1;
	}
	if (out_path && !(out = fopen(out_path, "w"))) {
		fprintf(stderr, "bench_hold: failed to open %s: %s\n", out_path, strerror(errno));
		return 1;
	}
	for (int k = 0; k < nprogs; k++) {
		struct xf_prog_stat before = progs[k];

		if (prog__read(&progs[k])) {
			fprintf(stderr, "bench_hold: failed to read program %u after the run\n",
				progs[k].id);
			return 1;
		}
		fprintf(out, "prog=%u run_time_ns=%llu run_cnt=%llu\n", progs[k].id,
			(unsigned long long)(progs[k].run_time_ns - before.run_time_ns),
			(unsigned long long)(progs[k].run_cnt - before.run_cnt));
	}
	if (out != stderr)
		fclose(out);
	if (stats_fd >= 0)
		close(stats_fd);
	return rc;
}
