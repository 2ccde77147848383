# certtrace — passive TLS certificate inspector.
#
#   make            build ./certtrace
#   make run        check/install dependencies, build, analyse the seed sample
#   make test       dependencies, unit tests (normal + ASan/UBSan), golden, corpus
#   make install    PREFIX=/usr/local DESTDIR=
#
# Variables: SANITIZE=1 (ASan+UBSan build in build-san/), WERROR=1 (CI),
# BUILD=dir (object directory; lets several builds share one tree).

PREFIX   ?= /usr/local
DESTDIR  ?=
CC       ?= cc
PKGS     := libpcap libssl libcrypto libndpi jansson
TESTPKGS := criterion

ifeq ($(SANITIZE),1)
BUILD    ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
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

LIB_SRCS  := $(wildcard capture/*.c dissect/*.c report/*.c)
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
TEST_SRCS := $(wildcard tests/*.c)
TEST_OBJS := $(TEST_SRCS:%.c=$(BUILD)/%.o)

CORPUS   ?= ../shared/corpus/real
SEED_PCAP := pcaps/seed-issuer-mismatch.pcap

.PHONY: all deps run test unit test-unit test-san test-golden test-corpus test-live golden \
        install clean fuzz bench

all: certtrace

certtrace: $(BUILD)/certtrace
	@if [ "$(BUILD)" = build ]; then cp $< $@; fi

$(BUILD)/certtrace: $(BUILD)/certtrace.o $(BUILD)/libcerttrace.a
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
	./certtrace -r $(SEED_PCAP) --fail-on never

# The README's test command.  Normal build, then the sanitizer build, then the
# end-to-end suites against the built binary.
test: deps
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory unit SANITIZE=1
	@$(MAKE) --no-print-directory test-golden
	@$(MAKE) --no-print-directory test-corpus
	@$(MAKE) --no-print-directory test-live

unit test-unit: $(BUILD)/tests/unit $(BUILD)/certtrace
	CERTTRACE=$(BUILD)/certtrace sh tests/run-unit.sh $(BUILD)/tests/unit $(if $(SANITIZE),1,0)

test-san:
	@$(MAKE) --no-print-directory unit SANITIZE=1

test-golden: certtrace
	@sh tests/golden.sh ./certtrace

golden: certtrace
	@sh tests/golden.sh ./certtrace --update

test-corpus: certtrace
	@sh tests/corpus.sh ./certtrace $(CORPUS)

# Live capture through a veth pair between two namespaces (root; skips without).
test-live: certtrace
	@sh tests/live.sh ./certtrace

install: certtrace
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 certtrace $(DESTDIR)$(PREFIX)/bin/certtrace
	if [ -f certtrace.1 ]; then install -m 644 certtrace.1 $(DESTDIR)$(PREFIX)/share/man/man1/; fi

clean:
	rm -rf build build-san build-* certtrace

-include $(LIB_OBJS:.o=.d) $(TEST_OBJS:.o=.d) $(BUILD)/certtrace.d
