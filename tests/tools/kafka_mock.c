// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * kafka_mock.c - librdkafka's own mock Kafka cluster as a test daemon: real
 * Kafka protocol over TCP on loopback, for integration tests and kcat. Prints
 * "bootstrap=HOST:PORT,..." as its first stdout line, then runs until
 * SIGTERM/SIGINT. SIGUSR1 takes every broker down (connections dropped, new
 * ones refused), SIGUSR2 brings them back; stored messages survive both.
 *
 *   kafka_mock [--brokers N] [--topic T [--partitions P]] [--pidfile F]
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <syslog.h>
#include <unistd.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define BROKERS_MAX 16
#define PARTITIONS_MAX 1024

struct opts {
	int brokers;
	const char *topic;
	int partitions;
	const char *pidfile;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: kafka_mock [--brokers N] [--topic T [--partitions P]] [--pidfile FILE]\n"
		   "  SIGUSR1: all brokers down, SIGUSR2: all brokers up, SIGTERM/SIGINT: exit\n");
}

static int parse_int(const char *name, const char *s, int lo, int hi, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		fprintf(stderr, "kafka_mock: --%s: '%s' is not a number in [%d, %d]\n", name, s, lo,
			hi);
		return -EINVAL;
	}
	*out = (int)v;
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{"brokers", required_argument, NULL, 'b'},
		{"topic", required_argument, NULL, 't'},
		{"partitions", required_argument, NULL, 'p'},
		{"pidfile", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	int c;

	*o = (struct opts){.brokers = 1, .partitions = 1};
	while ((c = getopt_long(argc, argv, "b:t:p:f:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			if (parse_int("brokers", optarg, 1, BROKERS_MAX, &o->brokers))
				return -EINVAL;
			break;
		case 't':
			o->topic = optarg;
			break;
		case 'p':
			if (parse_int("partitions", optarg, 1, PARTITIONS_MAX, &o->partitions))
				return -EINVAL;
			break;
		case 'f':
			o->pidfile = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kafka_mock: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

/* The mock's own handle has no bootstrap servers and never produces: keep
 * its complaints about that quiet, show real warnings. */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	if (level <= LOG_WARNING)
		fprintf(stderr, "kafka_mock: %s: %s\n", fac, buf);
}

static rd_kafka_t *mock_handle_new(void)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char errstr[512];
	rd_kafka_t *rk;

	rd_kafka_conf_set_log_cb(conf, log_cb);
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!rk) {
		fprintf(stderr, "kafka_mock: failed to create librdkafka handle: %s\n", errstr);
		rd_kafka_conf_destroy(conf);
	}
	return rk;
}

static int write_pidfile(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f)) {
		fprintf(stderr, "kafka_mock: failed to write pid file %s: %s\n", path,
			strerror(errno));
		return -errno;
	}
	return 0;
}

static void brokers_set(rd_kafka_mock_cluster_t *mc, int n, int up)
{
	rd_kafka_resp_err_t err;
	int id;

	/* Broker ids run from 1 to n; -1 ("all") is not accepted by every 2.x. */
	for (id = 1; id <= n; id++) {
		err = up ? rd_kafka_mock_broker_set_up(mc, id)
			 : rd_kafka_mock_broker_set_down(mc, id);
		if (err)
			fprintf(stderr, "kafka_mock: failed to set broker %d %s: %s\n", id,
				up ? "up" : "down", rd_kafka_err2str(err));
	}
	fprintf(stderr, "kafka_mock: %d broker(s) %s\n", n, up ? "up" : "down");
}

/* Block the signals in every thread (librdkafka's threads inherit the mask,
 * so it must happen before the first rd_kafka_new) and read them from fd. */
static int signals_fd(void)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	fd = signalfd(-1, &set, SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	return fd;
}

static int serve(int sfd, rd_kafka_mock_cluster_t *mc, int brokers)
{
	struct signalfd_siginfo si;
	ssize_t n;

	for (;;) {
		n = read(sfd, &si, sizeof(si));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != sizeof(si)) {
			fprintf(stderr, "kafka_mock: failed to read signalfd: %s\n",
				n < 0 ? strerror(errno) : "short read");
			return 1;
		}
		switch (si.ssi_signo) {
		case SIGUSR1:
			brokers_set(mc, brokers, 0);
			break;
		case SIGUSR2:
			brokers_set(mc, brokers, 1);
			break;
		default:
			return 0;
		}
	}
}

int main(int argc, char **argv)
{
	rd_kafka_mock_cluster_t *mc = NULL;
	rd_kafka_resp_err_t err;
	rd_kafka_t *rk = NULL;
	struct opts o;
	int sfd, ret = 1, pidfile_written = 0;

	if (parse_opts(argc, argv, &o))
		return 2;
	signal(SIGPIPE, SIG_IGN);
	sfd = signals_fd();
	if (sfd < 0) {
		fprintf(stderr, "kafka_mock: failed to set up signalfd: %s\n", strerror(-sfd));
		return 1;
	}
	rk = mock_handle_new();
	if (!rk)
		goto cleanup;
	mc = rd_kafka_mock_cluster_new(rk, o.brokers);
	if (!mc) {
		fprintf(stderr, "kafka_mock: failed to create mock cluster\n");
		goto cleanup;
	}
	if (o.topic) {
		err = rd_kafka_mock_topic_create(mc, o.topic, o.partitions, 1);
		if (err) {
			fprintf(stderr, "kafka_mock: failed to create topic %s: %s\n", o.topic,
				rd_kafka_err2str(err));
			goto cleanup;
		}
	}
	if (o.pidfile) {
		if (write_pidfile(o.pidfile))
			goto cleanup;
		pidfile_written = 1;
	}
	printf("bootstrap=%s\n", rd_kafka_mock_cluster_bootstraps(mc));
	if (fflush(stdout)) {
		fprintf(stderr, "kafka_mock: failed to write stdout: %s\n", strerror(errno));
		goto cleanup;
	}
	ret = serve(sfd, mc, o.brokers);
cleanup:
	if (mc)
		rd_kafka_mock_cluster_destroy(mc);
	if (rk)
		rd_kafka_destroy(rk);
	if (pidfile_written)
		unlink(o.pidfile);
	close(sfd);
	return ret;
}
