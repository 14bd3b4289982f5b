// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_no_shell.c - no shell, no exec: exfilter handles attacker-chosen
 * names, and none of its code may start a process, with them or without.
 * Scans the C sources of sensor/, detectors/ and bpf/ (comments and string
 * literals removed) for calls to system, popen, the exec family,
 * posix_spawn, fork and vfork, and fails naming file and line. Run from the
 * repository root (as `make test-unit` does); XF_SRC_ROOT overrides.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static const char *const banned[] = {
	"system",  "popen",   "execl",	     "execlp",	     "execle", "execv", "execvp",
	"execvpe", "fexecve", "posix_spawn", "posix_spawnp", "fork",   "vfork", "clone",
};

/* Blank comments, string and character literals, keeping newlines. */
static void strip(char *s)
{
	enum { CODE, LINE, BLOCK, STR, CHR } st = CODE;

	for (char *p = s; *p; p++) {
		switch (st) {
		case CODE:
			if (p[0] == '/' && p[1] == '/')
				st = LINE;
			else if (p[0] == '/' && p[1] == '*')
				st = BLOCK;
			else if (*p == '"')
				st = STR;
			else if (*p == '\'')
				st = CHR;
			else
				continue;
			*p = ' ';
			break;
		case LINE:
			if (*p == '\n')
				st = CODE;
			else
				*p = ' ';
			break;
		case BLOCK:
			if (p[0] == '*' && p[1] == '/') {
				p[0] = p[1] = ' ';
				p++;
				st = CODE;
			} else if (*p != '\n') {
				*p = ' ';
			}
			break;
		case STR:
		case CHR:
			if (*p == '\\' && p[1]) {
				p[0] = p[1] == '\n' ? '\n' : ' ';
				p[1] = p[1] == '\n' ? '\n' : ' ';
				p++;
			} else if (*p == (st == STR ? '"' : '\'')) {
				*p = ' ';
				st = CODE;
			} else if (*p != '\n') {
				*p = ' ';
			}
			break;
		}
	}
}

static int ident(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

/* The line of the first banned call in stripped text, 0 if none. */
static int find_call(const char *s, const char **which)
{
	for (const char *p = s; *p; p++) {
		if (!ident(*p) || (p > s && ident(p[-1])))
			continue;
		for (size_t i = 0; i < sizeof(banned) / sizeof(banned[0]); i++) {
			size_t n = strlen(banned[i]);
			const char *q = p + n;

			if (strncmp(p, banned[i], n) || ident(*q))
				continue;
			while (*q == ' ' || *q == '\t' || *q == '\n')
				q++;
			if (*q != '(')
				continue;
			/* a member or a field ("ops->fork(") is not the libc call */
			if (p > s && (p[-1] == '.' || (p > s + 1 && p[-2] == '-' && p[-1] == '>')))
				continue;
			*which = banned[i];
			int line = 1;

			for (const char *l = s; l < p; l++)
				line += *l == '\n';
			return line;
		}
	}
	return 0;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static void test_scanner_finds_calls(void **state)
{
	static const struct {
		const char *src;
		int line; /* 0: clean */
	} cases[] = {
		{ "int main(void)\n{\n\tsystem(cmd);\n}\n", 3 },
		{ "f = popen (\"dig \" name, \"r\");\n", 1 },
		{ "x;\n\n execvp\n(argv[0], argv);\n", 3 },
		{ "/* system(x) in a comment */ y = 1;\n", 0 },
		{ "// popen(\n", 0 },
		{ "puts(\"system(x)\");\n", 0 },
		{ "c = '\"'; s = \"\\\" system(\"; z();\n", 0 },
		{ "my_system(x); systemd(x); s.fork(x); o->fork(x);\n", 0 },
		{ "int filesystem = 0;\n", 0 },
		{ "pid_t p = fork();\n", 1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = strdup(cases[i].src);
		const char *which = NULL;

		strip(s);
		if (find_call(s, &which) != cases[i].line)
			fail_msg("case %zu (%s): line %d, want %d", i, cases[i].src,
				 find_call(s, &which), cases[i].line);
		free(s);
	}
}

static int scan_dir(const char *root, const char *dir)
{
	char path[4096];
	struct dirent *e;
	int files = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", root, dir);
	d = opendir(path);
	if (!d)
		fail_msg("cannot open %s (run from the repository root or set XF_SRC_ROOT)", path);
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		const char *which = NULL;
		char *src;
		int line;

		if (n < 3 || (strcmp(e->d_name + n - 2, ".c") && strcmp(e->d_name + n - 2, ".h")))
			continue;
		snprintf(path, sizeof(path), "%s/%s/%s", root, dir, e->d_name);
		src = slurp(path);
		if (!src)
			fail_msg("cannot read %s", path);
		strip(src);
		line = find_call(src, &which);
		free(src);
		if (line)
			fail_msg("%s:%d: calls %s(): exfilter never starts a process", path, line,
				 which);
		files++;
	}
	closedir(d);
	return files;
}

static void test_sources_start_no_process(void **state)
{
	const char *root = getenv("XF_SRC_ROOT") ?: ".";

	(void)state;
	/* a directory that lost its files would pass quietly: count them */
	assert_true(scan_dir(root, "sensor") >= 20);
	assert_true(scan_dir(root, "detectors") >= 10);
	assert_true(scan_dir(root, "bpf") >= 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scanner_finds_calls),
		cmocka_unit_test(test_sources_start_no_process),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
