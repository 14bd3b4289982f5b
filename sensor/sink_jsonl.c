// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sink_jsonl.c - the JSON-lines sink: one alert document per line, appended to
 * a file (created 0600) or written to stdout ("-"). The JSON arrives complete
 * and escaped; this only adds the newline. A row counts as delivered once the
 * whole line reached the kernel; acks are queued by send and handed to the
 * outbox by poll/flush, like Kafka's delivery reports.
 *
 * Each line goes out in one writev(2), not through stdio, so that an append
 * from another process cannot land inside it and a failed write (disk full)
 * can be cut back to the last whole line instead of leaving half a document.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "sink.h"

#define XF_JSONL_PENDING_MAX 65536 /* acks queued between two polls */

struct jsonl_ack {
	int64_t seq;
	int err; /* 0 or an errno */
};

struct jsonl_sink {
	struct xf_sink base;
	int fd;
	int own_fd; /* 0 for stdout */
	int regular; /* a regular file: a partial line can be cut off */
	int up;
	struct jsonl_ack *acks;
	size_t nacks, capacks;
	char *path;
};

/* Returns 0 or an errno. */
static int write_line(struct jsonl_sink *js, const char *json, size_t len)
{
	struct iovec iov[2] = {
		{ .iov_base = (void *)json, .iov_len = len },
		{ .iov_base = "\n", .iov_len = 1 },
	};
	struct iovec *v = iov;
	int cnt = 2, err = 0;
	off_t start = -1;
	ssize_t n;

	if (js->regular)
		start = lseek(js->fd, 0, SEEK_END);
	while (cnt) {
		n = writev(js->fd, v, cnt);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = errno;
			break;
		}
		while (cnt && (size_t)n >= v->iov_len) {
			n -= v->iov_len;
			v++;
			cnt--;
		}
		if (cnt) {
			v->iov_base = (char *)v->iov_base + n;
			v->iov_len -= n;
		}
	}
	if (err && start >= 0 && ftruncate(js->fd, start))
		fprintf(stderr, "jsonl: failed to cut partial line from %s: %s\n", js->path,
			strerror(errno));
	return err;
}

static int jsonl_send(struct xf_sink *s, const struct xf_out_row *row)
{
	struct jsonl_sink *js = s->priv;
	struct jsonl_ack *a;
	int err;

	if (js->nacks == js->capacks) {
		size_t cap = js->capacks ? js->capacks * 2 : 64;

		if (cap > XF_JSONL_PENDING_MAX)
			return -EAGAIN;
		a = realloc(js->acks, cap * sizeof(*a));
		if (!a)
			return -ENOMEM;
		js->acks = a;
		js->capacks = cap;
	}
	err = write_line(js, row->rec->json, row->rec->json_len);
	if (err && js->up)
		fprintf(stderr, "jsonl: failed to write %s: %s\n", js->path, strerror(err));
	js->up = !err;
	js->acks[js->nacks++] = (struct jsonl_ack){ .seq = row->seq, .err = err };
	return 0;
}

/* An ack callback may send again; take the index fresh on every turn. */
static int jsonl_poll(struct xf_sink *s, int timeout_ms)
{
	struct jsonl_sink *js = s->priv;
	size_t i;

	(void)timeout_ms;
	for (i = 0; i < js->nacks; i++)
		if (js->base.ack)
			js->base.ack(js->base.ack_ctx, js->base.index, js->acks[i].seq,
				     js->acks[i].err);
	js->nacks = 0;
	return (int)i;
}

static int jsonl_flush(struct xf_sink *s, int timeout_ms)
{
	jsonl_poll(s, timeout_ms);
	return 0;
}

static long jsonl_inflight(const struct xf_sink *s)
{
	const struct jsonl_sink *js = s->priv;

	return (long)js->nacks;
}

static int jsonl_up(const struct xf_sink *s)
{
	const struct jsonl_sink *js = s->priv;

	return js->up;
}

static void jsonl_close(struct xf_sink *s)
{
	struct jsonl_sink *js = s->priv;

	jsonl_poll(s, 0);
	if (js->own_fd && close(js->fd))
		fprintf(stderr, "jsonl: failed to close %s: %s\n", js->path, strerror(errno));
	free(js->acks);
	free(js->path);
	free(js);
}

static const struct xf_sink_ops jsonl_ops = {
	.name = "jsonl",
	.send = jsonl_send,
	.poll = jsonl_poll,
	.flush = jsonl_flush,
	.inflight = jsonl_inflight,
	.up = jsonl_up,
	.close = jsonl_close,
};

static int jsonl_open(struct jsonl_sink *js, const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (!strcmp(path, "-")) {
		/* Whatever stdio already buffered for stdout goes first. */
		fflush(stdout);
		js->fd = STDOUT_FILENO;
		return 0;
	}
	js->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
	if (js->fd < 0) {
		snprintf(err, errlen, "failed to open jsonl output %s: %s%s", path, strerror(errno),
			 errno == EISDIR ? " (give a file name, not a directory)" : "");
		return -errno;
	}
	js->own_fd = 1;
	js->regular = !fstat(js->fd, &st) && S_ISREG(st.st_mode);
	return 0;
}

struct xf_sink *xf_sink_jsonl_new(const char *path, int index, xf_sink_ack_fn ack, void *ack_ctx,
				  char *err, size_t errlen)
{
	struct jsonl_sink *js;
	int ret;

	if (!path || !path[0]) {
		snprintf(err, errlen, "jsonl output path is empty (use \"-\" for stdout)");
		errno = EINVAL;
		return NULL;
	}
	js = calloc(1, sizeof(*js));
	if (!js || !(js->path = strdup(path))) {
		snprintf(err, errlen, "failed to create jsonl sink: %s", strerror(ENOMEM));
		free(js);
		errno = ENOMEM;
		return NULL;
	}
	ret = jsonl_open(js, path, err, errlen);
	if (ret) {
		free(js->path);
		free(js);
		errno = -ret;
		return NULL;
	}
	js->up = 1;
	js->base = (struct xf_sink){
		.ops = &jsonl_ops,
		.index = index,
		.ack = ack,
		.ack_ctx = ack_ctx,
		.priv = js,
	};
	return &js->base;
}
