// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tls_load.c - the load generator of the TLS SNI benchmark
 * (tests/bench/bench_tls.sh): closed-loop workers, each opening a new TCP
 * connection, doing a full TLS handshake with a given server_name (no
 * session cache, no tickets: never a resumption), sending one HTTP/1.1
 * request with "Connection: close" and reading the answer to EOF.
 *
 * Why not wrk: wrk starts its latency clock when it writes the request,
 * after connect and the handshake, so its percentiles leave out exactly
 * the part an SNI filter acts on. Here the handshake latency runs from
 * before connect() to the end of SSL_connect(), and the request latency
 * from before connect() to the response's EOF.
 *
 *   tls_load -a ADDR [-p 443] -s SNI [-H HOST] [-c WORKERS] [-d SECONDS]
 *            [-n MAX_CONNECTIONS] [-t TIMEOUT_MS]
 *
 * Prints one line of key=value figures on stdout:
 *   ok fail timeout resumed non200 sni secs rate hs_p50_us hs_p99_us
 *   req_p50_us req_p99_us
 * where ok counts requests answered 200 or otherwise (non200 says how many
 * were not 200), rate is ok per second, and resumed counts handshakes that
 * resumed a session (0 unless something is wrong). Exit status: 0 when at
 * least one request completed and none failed or timed out, 1 otherwise,
 * 2 on bad arguments.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <openssl/ssl.h>
#include <openssl/err.h>

#define XF_MAX_WORKERS 256

struct xf_lat {
	uint32_t *v;
	size_t n, cap;
};

struct xf_worker {
	pthread_t tid;
	struct xf_lat hs, req;
	uint64_t ok, fail, timeout, resumed, non200;
};

static struct sockaddr_storage g_addr;
static socklen_t g_addrlen;
static const char *g_sni, *g_host;
static int g_timeout_ms = 2000;
static double g_secs = 5;
static long g_max = -1; /* connections over all workers, -1 = no limit */
static atomic_long g_started;
static SSL_CTX *g_ctx;
static char g_req[512];
static size_t g_reqlen;

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int lat__add(struct xf_lat *l, uint64_t us)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4096;
		uint32_t *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array. */
static uint32_t pct(const uint32_t *v, size_t n, double p)
{
	size_t r;

	if (!n)
		return 0;
	r = (size_t)(p / 100.0 * (double)n + 0.999999);
	return v[r ? r - 1 : 0];
}

static int timed_out(void)
{
	return errno == EAGAIN || errno == EWOULDBLOCK || errno == ETIMEDOUT ||
	       errno == EINPROGRESS;
}

/* Reads the answer to EOF; returns the HTTP status, or -1 (errno set). */
static int read_answer(SSL *ssl)
{
	char buf[4096], head[16];
	size_t got = 0;
	int n, status = 0;

	for (;;) {
		n = SSL_read(ssl, buf, sizeof(buf));
		if (n <= 0) {
			int e = SSL_get_error(ssl, n);

			if (e == SSL_ERROR_ZERO_RETURN)
				break;
			/* a server that closes without close_notify: EOF all the same */
			if (e == SSL_ERROR_SYSCALL && errno == 0 && got)
				break;
			if (e != SSL_ERROR_SYSCALL || !errno)
				errno = EPROTO;
			return -1;
		}
		if (got < sizeof(head)) {
			size_t k = sizeof(head) - got < (size_t)n ? sizeof(head) - got : (size_t)n;

			memcpy(head + got, buf, k);
		}
		got += (size_t)n;
	}
	/* "HTTP/1.1 200 " */
	if (got >= 12 && !memcmp(head, "HTTP/1.", 7))
		status = atoi(head + 9);
	return status;
}

/* One connection: 0 done (status in *status), -1 failed, -2 timed out. */
static int one(struct xf_worker *w, int *status)
{
	struct timeval tv = { g_timeout_ms / 1000, (g_timeout_ms % 1000) * 1000 };
	uint64_t t0 = now_us(), t1;
	SSL *ssl = NULL;
	int fd, rc = -1, one_ = 1;

	fd = socket(g_addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* on Linux SO_SNDTIMEO also bounds a blocking connect() */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one_, sizeof(one_));
	errno = 0;
	if (connect(fd, (struct sockaddr *)&g_addr, g_addrlen)) {
		rc = timed_out() ? -2 : -1;
		goto out;
	}
	ssl = SSL_new(g_ctx);
	if (!ssl || !SSL_set_fd(ssl, fd) || !SSL_set_tlsext_host_name(ssl, g_sni))
		goto out;
	errno = 0;
	if (SSL_connect(ssl) != 1) {
		rc = timed_out() ? -2 : -1;
		goto out;
	}
	t1 = now_us();
	if (SSL_session_reused(ssl))
		w->resumed++;
	errno = 0;
	if (SSL_write(ssl, g_req, (int)g_reqlen) != (int)g_reqlen) {
		rc = timed_out() ? -2 : -1;
		goto out;
	}
	*status = read_answer(ssl);
	if (*status < 0) {
		rc = timed_out() ? -2 : -1;
		goto out;
	}
	if (lat__add(&w->hs, t1 - t0) || lat__add(&w->req, now_us() - t0))
		goto out;
	rc = 0;
out:
	if (ssl) {
		if (!rc)
			SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	ERR_clear_error();
	close(fd);
	return rc;
}

static void *worker__run(void *arg)
{
	struct xf_worker *w = arg;
	uint64_t end = now_us() + (uint64_t)(g_secs * 1e6);
	int status, rc;

	while (now_us() < end) {
		if (g_max >= 0 && atomic_fetch_add(&g_started, 1) >= g_max)
			break;
		status = 0;
		rc = one(w, &status);
		if (rc == -2) {
			w->timeout++;
		} else if (rc) {
			w->fail++;
		} else {
			w->ok++;
			if (status != 200)
				w->non200++;
		}
	}
	return NULL;
}

static int parse_addr(const char *a, int port)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&g_addr;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&g_addr;

	memset(&g_addr, 0, sizeof(g_addr));
	if (inet_pton(AF_INET, a, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		g_addrlen = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, a, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		g_addrlen = sizeof(*s6);
		return 0;
	}
	return -EINVAL;
}

static int parse_long(const char *s, const char *what, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		fprintf(stderr, "tls_load: bad %s '%s': want an integer in %ld..%ld\n", what, s, lo,
			hi);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: tls_load -a ADDR [-p PORT] -s SNI [-H HOST] [-c WORKERS] "
			"[-d SECONDS] [-n MAX_CONNECTIONS] [-t TIMEOUT_MS]\n");
}

static SSL_CTX *ctx__new(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx)
		return NULL;
	/* self-signed test certificate: nothing to verify against */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	/* every connection a full handshake: no client cache, no tickets */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	return ctx;
}

int main(int argc, char **argv)
{
	static struct xf_worker w[XF_MAX_WORKERS];
	long port = 443, workers = 8, v;
	const char *addr = NULL;
	struct xf_lat hs = { 0 }, req = { 0 };
	uint64_t ok = 0, fail = 0, tmo = 0, res = 0, non200 = 0, t0, t1;
	double secs;
	int opt, i;

	while ((opt = getopt(argc, argv, "a:p:s:H:c:d:n:t:")) != -1) {
		switch (opt) {
		case 'a':
			addr = optarg;
			break;
		case 'p':
			if (parse_long(optarg, "port (-p)", 1, 65535, &port))
				return 2;
			break;
		case 's':
			g_sni = optarg;
			break;
		case 'H':
			g_host = optarg;
			break;
		case 'c':
			if (parse_long(optarg, "workers (-c)", 1, XF_MAX_WORKERS, &workers))
				return 2;
			break;
		case 'd':
			if (parse_long(optarg, "seconds (-d)", 1, 3600, &v))
				return 2;
			g_secs = (double)v;
			break;
		case 'n':
			if (parse_long(optarg, "connections (-n)", 1, LONG_MAX, &g_max))
				return 2;
			break;
		case 't':
			if (parse_long(optarg, "timeout (-t)", 1, 600000, &v))
				return 2;
			g_timeout_ms = (int)v;
			break;
		default:
			usage();
			return 2;
		}
	}
	if (!addr || !g_sni || optind != argc) {
		usage();
		return 2;
	}
	if (parse_addr(addr, (int)port)) {
		fprintf(stderr, "tls_load: bad address (-a) '%s': want an IPv4 or IPv6 literal\n",
			addr);
		return 2;
	}
	if (!g_host)
		g_host = g_sni;
	g_reqlen =
		(size_t)snprintf(g_req, sizeof(g_req),
				 "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", g_host);
	if (g_reqlen >= sizeof(g_req)) {
		fprintf(stderr, "tls_load: host name too long\n");
		return 2;
	}
	g_ctx = ctx__new();
	if (!g_ctx) {
		fprintf(stderr, "tls_load: failed to create the TLS context\n");
		return 1;
	}
	t0 = now_us();
	for (i = 0; i < workers; i++) {
		if (pthread_create(&w[i].tid, NULL, worker__run, &w[i])) {
			fprintf(stderr, "tls_load: failed to start worker %d\n", i);
			return 1;
		}
	}
	for (i = 0; i < workers; i++) {
		pthread_join(w[i].tid, NULL);
		ok += w[i].ok;
		fail += w[i].fail;
		tmo += w[i].timeout;
		res += w[i].resumed;
		non200 += w[i].non200;
		for (size_t k = 0; k < w[i].hs.n; k++) {
			if (lat__add(&hs, w[i].hs.v[k]) || lat__add(&req, w[i].req.v[k])) {
				fprintf(stderr, "tls_load: out of memory\n");
				return 1;
			}
		}
		free(w[i].hs.v);
		free(w[i].req.v);
	}
	t1 = now_us();
	secs = (double)(t1 - t0) / 1e6;
	qsort(hs.v, hs.n, sizeof(*hs.v), cmp_u32);
	qsort(req.v, req.n, sizeof(*req.v), cmp_u32);
	printf("ok=%llu fail=%llu timeout=%llu resumed=%llu non200=%llu sni=%s secs=%.3f "
	       "rate=%.1f hs_p50_us=%u hs_p99_us=%u req_p50_us=%u req_p99_us=%u\n",
	       (unsigned long long)ok, (unsigned long long)fail, (unsigned long long)tmo,
	       (unsigned long long)res, (unsigned long long)non200, g_sni, secs,
	       secs > 0 ? (double)ok / secs : 0.0, pct(hs.v, hs.n, 50), pct(hs.v, hs.n, 99),
	       pct(req.v, req.n, 50), pct(req.v, req.n, 99));
	free(hs.v);
	free(req.v);
	SSL_CTX_free(g_ctx);
	return ok && !fail && !tmo ? 0 : 1;
}
