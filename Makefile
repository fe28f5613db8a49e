# ngx_http_helicone_module: build, run, test, bench.
#
#   make deps    install every Debian package the project needs (root, idempotent)
#   make         build build/ngx_http_helicone_module.so against nginx-dev
#   make run     start the gateway with nginx.conf.example on 127.0.0.1:8080
#   make test    lint, unit tests (ASan/UBSan) and integration tests (prove)
#   make lint    what STYLE.md relies on: 80 columns, no tabs, prefixes
#   make unit    the C unit tests of core/ alone (lua-free-tests, ASan/UBSan)
#   make integration  the t/ suite alone (prove -r t/)
#   make fuzz    libFuzzer over core's parsers (FUZZ_TIME seconds each)
#   make bench   load benchmark against bare nginx proxy_pass, of streams
#                and paced p99 (bench/stream-run; alone: make bench-stream), of the log
#                sinks (bench/kafka-run; alone: make bench-kafka), of a cache
#                hit vs bare nginx (bench/cache-run; make bench-cache) and of
#                the Redis vs shm miss path (bench/redis-miss.sh; make bench-redis)
#                and of provider connections (bench/conn-run; make bench-conn)
#   make bench-instructions  instructions per request under callgrind, to
#                compare two builds of the module whatever the box is doing
#   make test-asan  the integration suite against the module built with
#                ASan/UBSan; any sanitizer report fails it
#   make soak    a bounded mixed load (cache hits, failovers, streams);
#                fails if the worker's RSS or descriptors grow (SOAK_SECONDS)
#   make key     mint a Helicone API key and print its keys-file line
#   make sdk-deps  the official OpenAI and Anthropic SDKs for t/sdk.t (npm)
#   make install   the module, conf/ and the load_module snippet, as Debian
#                lays them out (DESTDIR; NGX_MODULES_DIR, NGX_CONF_DIR)
#   make deb     build/deb/libnginx-mod-http-helicone_*.deb (debhelper)

NGX_SRC     ?= /usr/share/nginx/src
NGINX       ?= /usr/sbin/nginx
BUILD       := build
NGX_BUILD   := $(BUILD)/nginx
MODULE      := $(BUILD)/ngx_http_helicone_module.so
EMBEDDED    := $(BUILD)/gen/ngx_http_helicone_embedded.c
RUN_DIR     := $(BUILD)/run
MOCK_KAFKA  := $(BUILD)/mock_cluster
APPEND_COST := $(BUILD)/append-cost
PACED       := $(BUILD)/paced
CC_OPT      ?= -g -O2 -Wall -Wextra -Werror -Wno-unused-parameter
LD_OPT      ?=

DEB_BUILD   := nginx nginx-dev gcc make libssl-dev libpcre2-dev zlib1g-dev \
               libcjson-dev libhiredis-dev librdkafka-dev
DEB_TEST    := perl openssl redis-server kcat curl clang libclang-rt-14-dev \
               nodejs jq prometheus redis-sentinel
DEB_PACKAGE := debhelper dpkg-dev lintian
DEB_BENCH   := wrk valgrind

SOURCES     := config $(wildcard ngx_http_helicone_module/*.[ch]) \
               $(wildcard ngx_http_helicone_module/core/*.[ch])
DATA        := providers/providers.json providers/models.json costs/costs.json

.PHONY: all deps deps-build sdk-deps run stop test unit integration test-asan soak bench bench-kafka \
        bench-cache bench-redis bench-conn bench-instructions bench-stream \
        key clean fuzz install deb lint

all: $(MODULE) $(MOCK_KAFKA)

# Installs only what is missing, so a second run is quick and quiet.
deps:
	@sh tools/deps $(DEB_BUILD) $(DEB_TEST) $(DEB_BENCH) $(DEB_PACKAGE)

deps-build:
	@sh tools/deps $(DEB_BUILD)

# the official SDKs t/sdk.t drives, from npm (test tooling only)
sdk-deps:
	@sh tools/sdk-deps

$(EMBEDDED): $(DATA) tools/embed-data
	sh tools/embed-data . $@

$(NGX_BUILD)/objs/Makefile: config
	@test -f $(NGX_SRC)/configure || { \
	    echo "error: $(NGX_SRC)/configure not found: apt-get install nginx-dev (or run: make deps)"; \
	    exit 1; }
	rm -rf $(NGX_BUILD)
	mkdir -p $(BUILD)
	cp -r $(NGX_SRC) $(NGX_BUILD)
	sh tools/embed-data . $(EMBEDDED)
	cd $(NGX_BUILD) && sh $(CURDIR)/tools/configure-nginx $(CURDIR) "$(CC_OPT)" "$(LD_OPT)"

$(MODULE): $(NGX_BUILD)/objs/Makefile $(SOURCES) $(EMBEDDED)
	$(MAKE) -C $(NGX_BUILD) -f objs/Makefile modules
	# a new inode: a running nginx keeps its mapping of the old file
	cp $(NGX_BUILD)/objs/ngx_http_helicone_module.so $@.tmp
	mv -f $@.tmp $@

# librdkafka's mock Kafka cluster, for t/kafka*.t and bench/kafka-run
$(MOCK_KAFKA): t/kafka/mock_cluster.c
	mkdir -p $(BUILD)
	$(CC) -O2 -Wall -Wextra -Werror -o $@ $< -lrdkafka

# a paced load with latency from when each request was due (bench/stream-run)
$(PACED): bench/paced.c
	mkdir -p $(BUILD)
	$(CC) -O2 -Wall -Wextra -Werror -o $@ $<

# the kernel's cost of a log line on this box, without nginx (bench/run)
$(APPEND_COST): bench/append-cost.c
	mkdir -p $(BUILD)
	$(CC) -O2 -Wall -Wextra -Werror -o $@ $<

run: deps-build $(MODULE)
	@sh tools/run-example $(NGINX) $(CURDIR)/$(MODULE) $(RUN_DIR)

stop:
	@test -f $(RUN_DIR)/logs/nginx.pid && kill -QUIT `cat $(RUN_DIR)/logs/nginx.pid` || true

test: deps sdk-deps $(MODULE) $(MOCK_KAFKA)
	@sh tools/run-tests

unit:
	$(MAKE) -C lua-free-tests test

lint:
	@sh tools/lint

# libFuzzer over the core's parsers, FUZZ_TIME seconds each (default 30)
fuzz:
	$(MAKE) -C lua-free-tests fuzz

integration: $(MODULE) $(MOCK_KAFKA)
	prove -r t/

test-asan: deps sdk-deps $(MODULE) $(MOCK_KAFKA)
	@sh tools/test-asan

soak: deps $(MODULE)
	@perl bench/soak

bench: deps $(MODULE) $(MOCK_KAFKA) $(APPEND_COST) $(PACED)
	@sh bench/run
	@sh bench/stream-run
	@sh bench/kafka-run
	@sh bench/cache-run
	@sh bench/redis-miss.sh
	@sh bench/conn-run

# streams of 17 and 200 events and paced p99, against bare nginx
bench-stream: deps $(MODULE) $(PACED)
	@sh bench/stream-run

# only the log sinks: none, file, Kafka
bench-kafka: deps $(MODULE) $(MOCK_KAFKA)
	@sh bench/kafka-run

# issue 5: a cache hit vs bare nginx `return 200`; Redis vs shm on the miss path
bench-cache: deps $(MODULE)
	@sh bench/cache-run

bench-redis: deps $(MODULE)
	@sh bench/redis-miss.sh

# issue 12: a TLS provider 20 ms away, direct vs through the gateway; the
# module's upstream vs an explicit upstream{} block on loopback
bench-conn: deps $(MODULE)
	@sh bench/conn-run

# instructions per request under callgrind: A/B two builds on a busy box,
# e.g. make bench-instructions INSTR_MODULES="old.so build/ngx_http_helicone_module.so"
bench-instructions: deps $(MODULE)
	@sh bench/instructions $(INSTR_MODULES)

key:
	@sh tools/mint-key $(ORG) $(NAME)

# Debian's layout; paths overridable, e.g. make install DESTDIR=/tmp/root
install: $(MODULE)
	@sh tools/install $(MODULE)

deb:
	@sh tools/deps $(DEB_BUILD) $(DEB_PACKAGE)
	@sh tools/deb

clean:
	rm -rf $(BUILD)
	$(MAKE) -C lua-free-tests clean
