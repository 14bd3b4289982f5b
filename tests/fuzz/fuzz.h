/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * fuzz.h - helpers shared by the libFuzzer targets (tests/fuzz/fuzz_*.c):
 * silence the code under test's own output, hand it bytes as a file, and
 * check an invariant as a crash libFuzzer reports.
 */
#ifndef XF_FUZZ_H
#define XF_FUZZ_H

#define _GNU_SOURCE /* memfd_create */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Send what the code under test prints (alerts on stdout, summaries and
 * errors on stderr) to /dev/null, unless XF_FUZZ_VERBOSE is set. stdout is
 * reopened; stderr is only swapped as a FILE pointer, because libFuzzer's
 * and the sanitizers' reports still need file descriptor 2 (libFuzzer keeps
 * its own copy of the stderr pointer, the sanitizers write(2) to fd 2).
 */
static inline void xf_fuzz_quiet(void)
{
	FILE *null;

	if (getenv("XF_FUZZ_VERBOSE"))
		return;
	if (!freopen("/dev/null", "w", stdout))
		abort();
	null = fopen("/dev/null", "w");
	if (!null)
		abort();
	stderr = null;
}

/*
 * The bytes as a file at a path: one memfd for the whole run, mode 0600
 * (the config loader refuses files others could write), rewritten for each
 * input. Returns "/proc/self/fd/N"; open() of it starts at offset 0.
 */
static inline const char *xf_fuzz_file(const uint8_t *data, size_t size)
{
	static char path[64];
	static int fd = -1;
	size_t off = 0;

	if (fd < 0) {
		fd = memfd_create("xf-fuzz", MFD_CLOEXEC);
		if (fd < 0 || fchmod(fd, 0600)) {
			perror("xf-fuzz: memfd");
			abort();
		}
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0))
		abort();
	while (off < size) {
		ssize_t n = pwrite(fd, data + off, size - off, (off_t)off);

		if (n <= 0)
			abort();
		off += (size_t)n;
	}
	return path;
}

/* Report a broken invariant on file descriptor 2 (stderr is /dev/null
 * here) and abort, which libFuzzer records as a crash with its input. */
static inline void xf_fuzz_fail(const char *file, int line, const char *what)
{
	dprintf(2, "%s:%d: invariant broken: %s\n", file, line, what);
	abort();
}

/* An invariant of the code under test: a crash when false. */
#define XF_FUZZ_CHECK(cond)                                                                        \
	do {                                                                                       \
		if (!(cond))                                                                       \
			xf_fuzz_fail(__FILE__, __LINE__, #cond);                                   \
	} while (0)

/*
 * A config key set at start-up, before any input: a bad key is the
 * target's own bug, so it aborts.
 */
static inline void xf_fuzz_cfg_set(struct xf_sensor_cfg *cfg, const char *key, const char *value)
{
	char err[512];

	if (xf_sensor_cfg_set(cfg, key, value, err, sizeof(err))) {
		dprintf(2, "fuzz: %s\n", err);
		abort();
	}
}

#endif /* XF_FUZZ_H */
