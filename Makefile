# certtrace — passive TLS certificate inspector.
#
#   make            build ./certtrace
#   make run        check/install dependencies, build, analyse the seed sample
#   make test       dependencies, unit tests (normal + ASan/UBSan), golden, ecs, field,
#                  writes (no silent loss), corpus, flows, service, live, fanout, regen
#   make install    PREFIX=/usr/local DESTDIR= (binary, manual, completion, the
#                  systemd unit, its sysusers.d user, logrotate, /etc/default)
#   make deb        the Debian package, built by dpkg-buildpackage in build-deb/
#   make test-deb   builds it, runs lintian, and runs the packaged binary
#   make test-unitfile  systemd-analyze verify/security on the unit, sysusers,
#                  logrotate; the unit's capability set against a live capture
#   make fuzz       libFuzzer targets (clang) in build-fuzz/, FUZZ_SECONDS each
#   make fuzz-regress  replay tests/fuzz/regressions/ without libFuzzer (gcc)
#   make test-valgrind the unit tests under valgrind (slow; not in make test)
#   make bench     speed and memory against a bare libpcap loop, tcpdump, ndpiReader,
#                  tshark, ssldump (tests/bench/; SMALL=1 for the ~100 MB capture)
#   make bench-json the JSON writer (lib/json.h) against jansson, ns per tls event
#   make bench-read reading a capture: libpcap (fread), our read(2) reader, mmap
#
# Variables: SANITIZE=1 (ASan+UBSan build in build-san/), WERROR=1 (CI),
# BUILD=dir (object directory; lets several builds share one tree).

PREFIX   ?= /usr/local
DESTDIR  ?=
CC       ?= cc
PKGS     := libpcap libssl libcrypto libndpi jansson
TESTPKGS := criterion

ifeq ($(FUZZ),1)
BUILD    ?= build-fuzz
SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
else ifeq ($(SANITIZE),1)
BUILD    ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else ifeq ($(SANITIZE),thread)
BUILD    ?= build-tsan
SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer
else
BUILD    ?= build
SANFLAGS :=
endif

WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter
ifeq ($(WERROR),1)
WARN     += -Werror
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
TEST_CFLAGS := $(shell pkg-config --cflags $(TESTPKGS) 2>/dev/null)
TEST_LIBS   := $(shell pkg-config --libs $(TESTPKGS) 2>/dev/null)

CFLAGS   ?= -O2 -g
ALL_CFLAGS := -std=gnu11 $(CFLAGS) $(WARN) $(SANFLAGS) -I. $(PKG_CFLAGS) -MMD -MP
ALL_LDFLAGS := $(LDFLAGS) $(SANFLAGS)

LIB_SRCS  := $(wildcard lib/*.c capture/*.c dissect/*.c dissect/*/*.c report/*.c report/*/*.c)
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
TEST_SRCS := $(wildcard tests/*.c)
TEST_OBJS := $(TEST_SRCS:%.c=$(BUILD)/%.o)

FUZZ_TARGETS := x509 tls tls13 pcap names
FUZZ_OBJS := $(FUZZ_TARGETS:%=$(BUILD)/tests/fuzz/fuzz_%.o) $(BUILD)/tests/fuzz/driver.o \
             $(BUILD)/tests/fuzz/seedgen.o
FUZZ_SECONDS ?= 60
FUZZ_CC  ?= clang

# The real-world corpora (read in place, never copied here; a plain clone
# has none and the suites that need them say they skipped).
CORPUS   ?= ../shared/corpus/real
CORPUS2  ?= ../shared/corpus2/real
SEED_PCAP := pcaps/seed-issuer-mismatch.pcap

.PHONY: all deps run test unit test-unit test-san test-golden test-ecs test-field test-corpus test-flows test-live test-fanout test-regen test-writes test-threads golden \
        install clean fuzz fuzz-build fuzz-regress test-valgrind bench deb test-deb test-unitfile bench-json bench-read

all: certtrace

certtrace: $(BUILD)/certtrace
	@if [ "$(BUILD)" = build ]; then cp $< $@; fi

$(BUILD)/certtrace: $(BUILD)/certtrace.o $(BUILD)/pipeline.o $(BUILD)/workers.o $(BUILD)/handshake_record.o $(BUILD)/libcerttrace.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/libcerttrace.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/tests/unit: $(TEST_OBJS) $(BUILD)/libcerttrace.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(TEST_LIBS)

$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) -c -o $@ $<

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# Dependencies: checked with pkg-config, installed from Debian when root.
deps:
	@sh tests/deps.sh

run: deps
	@$(MAKE) --no-print-directory certtrace
	./certtrace -r $(SEED_PCAP) --phone-log pcaps/seed-phone.log --format text --fail-on never

# The README's test command.  Normal build, then the sanitizer build, then the
# end-to-end suites against the built binary.
test: deps
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory unit SANITIZE=1
	@echo "golden, with the ASan/UBSan build:"
	@sh tests/golden.sh build-san/certtrace
	@$(MAKE) --no-print-directory fuzz-regress SANITIZE=1
	@$(MAKE) --no-print-directory test-golden
	@$(MAKE) --no-print-directory test-ecs
	@$(MAKE) --no-print-directory test-field
	@$(MAKE) --no-print-directory test-writes
	@$(MAKE) --no-print-directory test-threads
	@$(MAKE) --no-print-directory test-corpus
	@$(MAKE) --no-print-directory test-flows
	@$(MAKE) --no-print-directory test-unitfile
	@$(MAKE) --no-print-directory test-live
	@$(MAKE) --no-print-directory test-fanout
	@$(MAKE) --no-print-directory test-regen
	@$(MAKE) --no-print-directory test-tsan

unit test-unit: $(BUILD)/tests/unit $(BUILD)/certtrace
	CERTTRACE=$(BUILD)/certtrace sh tests/run-unit.sh $(BUILD)/tests/unit $(if $(SANITIZE),1,0)

test-san:
	@$(MAKE) --no-print-directory unit SANITIZE=1

# --threads under ThreadSanitizer: golden samples, corpora, live (tests/tsan.sh).
test-tsan:
	@$(MAKE) --no-print-directory SANITIZE=thread build-tsan/certtrace
	@sh tests/tsan.sh build-tsan/certtrace

test-golden: certtrace
	@sh tests/golden.sh ./certtrace

golden: certtrace
	@sh tests/golden.sh ./certtrace --update
	@python3 tests/ecs.py ./certtrace --update

# --format ecs on every sample: field names and types against ECS's
# fields.csv (../shared/ecs; skipped without it), and one golden.
test-ecs: certtrace
	@python3 tests/ecs.py ./certtrace

# --events, --baseline, --export-certs, --phone-log end to end; the manual.
test-field: certtrace
	@sh tests/field.sh ./certtrace
	@echo "field: the same again with --threads 2:"
	@CERTTRACE_BIN=./certtrace CERTTRACE_THREADS=2 sh tests/field.sh tests/with-threads.sh

# Output that cannot be written (/dev/full, a full tmpfs as root): exit 2 and
# one line naming the file, for stdout in each format, -o, -w, --export-certs.
test-writes: certtrace
	@sh tests/writes.sh ./certtrace

# --threads' default for files: one worker per 8 MiB (16 with --no-dpi),
# the cores for a pipe; made-up captures of 1, 10 and 50 MiB.
test-threads: certtrace
	@sh tests/threads.sh ./certtrace

# Chains against tshark over both corpora (JOBS files at a time, default
# the number of CPUs).
test-corpus: certtrace
	@sh tests/corpus.sh ./certtrace $(CORPUS) $(CORPUS2)

# --debug-flows reassembly figures against tshark's sequence numbers, one
# capture per link type and reassembly case.
FLOW_FILES := $(addprefix $(CORPUS)/,zeek/client-certificate.pcap ndpi/ftp-start-tls.pcap \
	suricata-verify/tls-subjectaltname/input.pcap ndpi/teams.pcap ndpi/psiphon3.pcap \
	arkime/socks4-https.pcap ndpi/6in4tunnel.pcap arkime/pppoe.pcap \
	ndpi/ja3_lots_of_cipher_suites.pcap zeek/irc-starttls.pcap zeek/pop3-starttls.pcap \
	zeek/ml-dsa-44-cert.pcap) \
	$(addprefix $(CORPUS2)/,arkime/tls-alpn-h2.pcap ndpi/gaijin_mobile_mixed.pcap \
	zeek/pppoe-over-qinq.pcap suricata-verify/bug-7264-tcp-3whs-ack-data-tls-01/input.pcap \
	arkime/arkime_synthetic.pcap pcapplusplus/pcapng-example.pcapng) \
	pcaps/out-of-order-retransmit.pcap pcaps/vlan.pcap pcaps/qinq.pcap pcaps/sll2.pcap \
	pcaps/ipv6.pcap pcaps/pool-issuer-split.pcapng
test-flows: certtrace
	@python3 tests/flows.py --optional $(CORPUS) --optional $(CORPUS2) ./certtrace $(FLOW_FILES)

# make-pcaps.sh run again gives captures with the same findings (root).
test-regen: certtrace
	@sh tests/regen.sh ./certtrace

# Live capture through a veth pair between two namespaces (root; skips without),
# one run at a time on this machine (live.sh takes the lock other netns tests take).
test-live: certtrace
	@sh tests/live.sh ./certtrace

# Two live handles in one PACKET_FANOUT group on a veth between two namespaces,
# against a third handle outside the group (root; skips without; the netns lock).
test-fanout: $(BUILD)/tests/fanout-check
	@sh tests/fanout.sh $(BUILD)/tests/fanout-check

$(BUILD)/tests/fanout-check: $(BUILD)/tests/fanout/fanout_check.o $(BUILD)/libcerttrace.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# Fuzzing (tests/fuzz/README).  The targets are built with clang and
# libFuzzer into build-fuzz/ and each runs FUZZ_SECONDS; what they find goes
# to build-fuzz/artifacts/, the growing corpora to tests/fuzz/corpus-*/.
fuzz:
	@sh tests/fuzz/deps.sh
	@$(MAKE) --no-print-directory FUZZ=1 CC=$(FUZZ_CC) BUILD=build-fuzz fuzz-build
	@sh tests/fuzz/run.sh build-fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-build: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%) $(BUILD)/fuzz/seedgen

.SECONDARY: $(FUZZ_OBJS)

$(BUILD)/fuzz/fuzz_%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/libcerttrace.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS)

$(BUILD)/fuzz/seedgen: $(BUILD)/tests/fuzz/seedgen.o $(BUILD)/libcerttrace.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# The pipeline target links the command's dissect-to-report glue.
$(BUILD)/fuzz/fuzz_pcap $(BUILD)/fuzz/regress_pcap: $(BUILD)/handshake_record.o

# The saved crash inputs through each target and a plain main() (driver.c):
# runs in any build, `make test` runs it in the sanitizer build.
fuzz-regress: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/regress_%)
	@sh tests/fuzz/regress.sh $(BUILD)/fuzz $(FUZZ_TARGETS)

$(BUILD)/fuzz/regress_%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/tests/fuzz/driver.o $(BUILD)/libcerttrace.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# The unit tests under valgrind, each test in the process valgrind watches.
test-valgrind: $(BUILD)/tests/unit $(BUILD)/certtrace
	CERTTRACE=$(BUILD)/certtrace sh tests/valgrind.sh $(BUILD)/tests/unit

# Captures (built on first use under /var/tmp/certtrace-bench, needs root then),
# then each tool RUNS times; the table goes to stdout (README, Performance).
bench: certtrace $(BUILD)/bench/readfloor
	@SMALL=$(SMALL) READFLOOR=$(BUILD)/bench/readfloor bash tests/bench/run.sh ./certtrace

# One tls-shaped event through jansson (as render_jsonl.c does) and through
# lib/json.h, checked to be the same bytes, then timed (not in make test).
bench-json: $(BUILD)/bench/jsonw-bench
	@$(BUILD)/bench/jsonw-bench $(BENCH_ARGS)

$(BUILD)/bench/jsonw-bench: $(BUILD)/tests/bench/jsonw-bench.o $(BUILD)/libcerttrace.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# Reading a capture three ways (libpcap's fread path, our read(2) reader, an
# mmap walk), bare loops, medians of RUNS (3) on the busy-FE capture (BENCH_CAP).
bench-read: $(BUILD)/bench/readfloor
	@bash tests/bench/read.sh $(BUILD)/bench/readfloor $(BENCH_CAP)

$(BUILD)/bench/readfloor: $(BUILD)/tests/bench/readfloor.o $(BUILD)/libcerttrace.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# Where make install puts things.  systemd and systemd-sysusers read
# /usr/local/lib as well as /usr/lib, so the unit and the user follow PREFIX;
# logrotate reads only /etc/logrotate.d.  The unit names the binary by its
# installed path (contrib/ says /usr/bin, Debian's); /etc/default/certtrace
# holds the options every instance takes (CERTTRACE_OPTS).  debian/rules installs
# with PREFIX=/usr UNITDIR=/lib/systemd/system (bookworm's unit directory).
BINDIR      ?= $(PREFIX)/bin
MANDIR      ?= $(PREFIX)/share/man
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
SYSCONFDIR  ?= /etc

install: certtrace
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(COMPLETIONDIR) \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(SYSCONFDIR)/logrotate.d \
		$(DESTDIR)$(SYSCONFDIR)/default
	install -m 755 certtrace $(DESTDIR)$(BINDIR)/certtrace
	install -m 644 certtrace.1 $(DESTDIR)$(MANDIR)/man1/certtrace.1
	install -m 644 contrib/certtrace.bash-completion $(DESTDIR)$(COMPLETIONDIR)/certtrace
	sed 's|^ExecStart=/usr/bin/certtrace |ExecStart=$(BINDIR)/certtrace |' 'contrib/certtrace@.service' \
		> '$(DESTDIR)$(UNITDIR)/certtrace@.service'
	chmod 644 '$(DESTDIR)$(UNITDIR)/certtrace@.service'
	install -m 644 contrib/certtrace.sysusers $(DESTDIR)$(SYSUSERSDIR)/certtrace.conf
	install -m 644 contrib/certtrace.logrotate $(DESTDIR)$(SYSCONFDIR)/logrotate.d/certtrace
	@# The options file is the admin's: a second make install leaves it alone.
	[ -e $(DESTDIR)$(SYSCONFDIR)/default/certtrace ] || \
		install -m 644 contrib/certtrace.default $(DESTDIR)$(SYSCONFDIR)/default/certtrace

# The unit, logrotate and sysusers files as installed (tests/service.sh).
test-unitfile: certtrace
	@sh tests/service.sh ./certtrace

# The Debian package, by dpkg-buildpackage in a copy of the tree (the files git
# tracks, or all but the builds outside git) so that the package's clean step
# (make clean) leaves this tree's builds alone.  The .deb, its -dbgsym,
# .buildinfo and .changes end in DEB_DIR.  DEB_BUILD_OPTIONS=nocheck skips
# the Criterion suite the build runs otherwise.
DEB_DIR ?= build-deb
DEB_BUILD_OPTIONS ?= parallel=2
deb:
	@sh tests/deps.sh deb
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_DIR)/src/certtrace
	@if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		git ls-files -z -c -o --exclude-standard | tar --null --ignore-failed-read -T - -cf -; \
	else \
		tar --exclude=./build --exclude='./build-*' --exclude='./$(DEB_DIR)' --exclude=./certtrace \
		    --exclude=./.git -cf - .; \
	fi | tar -xf - -C $(DEB_DIR)/src/certtrace
	cd $(DEB_DIR)/src/certtrace && DEB_BUILD_OPTIONS='$(DEB_BUILD_OPTIONS)' nice dpkg-buildpackage -us -uc -b
	mv $(DEB_DIR)/src/certtrace*_* $(DEB_DIR)/
	rm -rf $(DEB_DIR)/src
	@ls -l $(DEB_DIR)

# Builds the package (DEB_BUILD_OPTIONS as for make deb), then tests/deb.sh:
# lintian, the files it holds, and the packaged binary on the seed capture.
test-deb:
	@$(MAKE) --no-print-directory deb
	@sh tests/deb.sh $(DEB_DIR)

clean:
	rm -rf build build-san build-* certtrace

-include $(LIB_OBJS:.o=.d) $(TEST_OBJS:.o=.d) $(FUZZ_OBJS:.o=.d) $(BUILD)/certtrace.d \
         $(BUILD)/tests/bench/jsonw-bench.d $(BUILD)/tests/bench/readfloor.d \
         $(BUILD)/tests/fanout/fanout_check.d
