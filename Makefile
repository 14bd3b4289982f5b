# exfilter - one Makefile: deps, build, test, bench, demo.
#   make deps        install the Debian packages (needs root; apt-get update first)
#   make             BPF objects, skeletons, the exfilter binary, under .output/
#   make test        deps + build + every test (unit, BPF, integration); needs root
#   make demo        deps + build + the netns demo with a real iodine tunnel
#   make bench-bpf   BPF_PROG_TEST_RUN ns/packet against an empty program
#   make bench-sensor  outbox, Kafka sink, flow table memory, ring buffer
#   make check       clang-format check
#   make eval        replay the corpus (pcaps/ + public captures): detection table and
#                    quality gate, no root (EVAL_ARGS=--markdown for the README table)
# V=1 shows full commands.

OUTPUT := .output
CLANG ?= clang
CC ?= gcc
BPFTOOL ?= bpftool
ARCH := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Wextra -Werror \
	-Ibpf -idirafter /usr/include/$(MULTIARCH)
CFLAGS ?= -g -O2
XF_CFLAGS := $(CFLAGS) -std=gnu11 -Wall -Wextra -Werror -Ibpf -Isensor -Idetectors -I$(OUTPUT)
LIBS_SENSOR := -lbpf -lelf -lz -lsqlite3 -lrdkafka -lyaml -lmaxminddb -lldns -lpsl -lpcap -lm -lpthread

BPF_PROGS := exfilter_tc exfilter_sock
BPF_OBJS := $(patsubst %,$(OUTPUT)/%.bpf.o,$(BPF_PROGS))
SKELS := $(patsubst %,$(OUTPUT)/%.skel.h,$(BPF_PROGS))
BPF_HDRS := $(wildcard bpf/*.h)

SENSOR_SRCS := $(wildcard sensor/*.c)
SENSOR_HDRS := $(wildcard sensor/*.h) $(wildcard detectors/*.h)
# Everything but main(): linked into exfilter and into every test.
LIB_SRCS := $(filter-out sensor/main.c,$(SENSOR_SRCS)) $(wildcard detectors/*.c)
LIB_OBJS := $(patsubst %.c,$(OUTPUT)/%.o,$(LIB_SRCS))
LIBXF := $(OUTPUT)/libxf.a

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))
BPFTEST_BINS := $(OUTPUT)/tests/bpf_test_run $(OUTPUT)/tests/bench_bpf $(OUTPUT)/tests/bench_sensor
TOOL_BINS := $(patsubst tests/tools/%.c,$(OUTPUT)/tests/%,$(wildcard tests/tools/*.c))

DEB_PKGS := clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libcmocka-dev libpcap-dev \
	libsqlite3-dev sqlite3 librdkafka-dev kcat libyaml-dev libmaxminddb-dev \
	libmaxmind-db-writer-perl libldns-dev libpsl-dev python3 python3-jsonschema \
	pkg-config iproute2 iputils-ping util-linux perl-base coreutils unbound iodine dns2tcp \
	bind9-dnsutils dnsperf tcpreplay tcpdump \
	publicsuffix clang-format

.PHONY: all deps build test test-unit test-bpf test-integration demo bench-bpf check clean
.DEFAULT_GOAL := all

all: build
build: $(OUTPUT)/exfilter $(UNIT_BINS) $(BPFTEST_BINS) $(TOOL_BINS)

# Install what is missing; apt-get update first, as a fresh machine needs it.
deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			--no-install-recommends $$missing; \
	fi

$(OUTPUT) $(OUTPUT)/sensor $(OUTPUT)/detectors $(OUTPUT)/tests:
	$(Q)mkdir -p $@

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

$(OUTPUT)/sensor/%.o: sensor/%.c $(SENSOR_HDRS) $(BPF_HDRS) $(SKELS) | $(OUTPUT)/sensor
	$(call msg,CC,$@)
	$(Q)$(CC) $(XF_CFLAGS) -c $< -o $@

$(OUTPUT)/detectors/%.o: detectors/%.c $(SENSOR_HDRS) $(BPF_HDRS) | $(OUTPUT)/detectors
	$(call msg,CC,$@)
	$(Q)$(CC) $(XF_CFLAGS) -c $< -o $@

$(LIBXF): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(OUTPUT)/exfilter: $(OUTPUT)/sensor/main.o $(LIBXF)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(XF_CFLAGS) $^ $(LIBS_SENSOR) -o $@

# Unit tests (cmocka, no root): each links the sensor library.
$(OUTPUT)/tests/test_%: tests/unit/test_%.c $(LIBXF) $(BPF_HDRS) $(SENSOR_HDRS) $(wildcard tests/unit/*.h) | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(XF_CFLAGS) -Itests/unit $< $(LIBXF) -lcmocka $(LIBS_SENSOR) -o $@

# BPF_PROG_TEST_RUN harness and benchmark: load the real objects.
$(OUTPUT)/tests/bpf_test_run: tests/bpf/bpf_test_run.c $(LIBXF) $(wildcard tests/bpf/*.h) $(BPF_HDRS) $(SENSOR_HDRS) | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(XF_CFLAGS) -Itests/bpf -Itests/unit $< $(LIBXF) -lcmocka $(LIBS_SENSOR) -o $@

$(OUTPUT)/tests/bench_bpf: tests/bench/bench_bpf.c $(LIBXF) $(wildcard tests/bpf/*.h) $(BPF_HDRS) $(SENSOR_HDRS) | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(XF_CFLAGS) -Itests/bpf -Itests/unit $< $(LIBXF) $(LIBS_SENSOR) -o $@

# Test tools (tests/tools/*.c): helper daemons the tests start, e.g. kafka_mock.
$(TOOL_BINS): $(OUTPUT)/tests/%: tests/tools/%.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(XF_CFLAGS) $< -lrdkafka -o $@

test: deps
	$(Q)$(MAKE) --no-print-directory build
	$(Q)tests/run_all.sh

test-unit: build
	$(Q)for t in $(UNIT_BINS); do $$t || exit 1; done

test-bpf: build
	$(Q)$(OUTPUT)/tests/bpf_test_run

test-integration: build
	$(Q)for t in tests/integration/test_*.sh; do bash $$t || exit 1; done

demo: deps
	$(Q)$(MAKE) --no-print-directory build
	$(Q)bash tests/integration/demo.sh

bench-bpf: build
	$(Q)$(OUTPUT)/tests/bench_bpf

# Sensor benchmark: outbox, Kafka sink, flow table memory, ring buffer (root).
$(OUTPUT)/tests/bench_sensor: tests/bench/bench_sensor.c $(LIBXF) $(wildcard tests/bpf/*.h) $(BPF_HDRS) $(SENSOR_HDRS) | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(XF_CFLAGS) -Itests/bpf $< $(LIBXF) $(LIBS_SENSOR) -o $@

.PHONY: bench-sensor
bench-sensor: $(OUTPUT)/tests/bench_sensor
	$(Q)$(OUTPUT)/tests/bench_sensor $(BENCH_ARGS)

# Quality gate of issue 4 over the corpus; tests/integration/test_eval.sh asserts it.
.PHONY: eval
eval: $(OUTPUT)/exfilter
	$(Q)tests/eval/run.sh $(EVAL_ARGS)

check:
	$(Q)clang-format --dry-run --Werror bpf/*.c bpf/*.h sensor/*.c sensor/*.h tests/unit/*.c tests/bpf/*.c

clean:
	$(Q)rm -rf $(OUTPUT)
