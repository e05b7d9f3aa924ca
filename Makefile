# corscope: see README.md.  `make`, `make check`, `make demo`, `make bench`, `make fuzz`.
CC       ?= gcc
PREFIX   ?= /usr/local
DESTDIR  ?=
VERSION  := 0.1.0
PKGS     := libpcap libndpi glib-2.0 libcrypto libcap-ng libnghttp2

CFLAGS   ?= -O3 -g
CFLAGS   += -std=c11 -pthread -Wall -Wextra -D_GNU_SOURCE -DCORSCOPE_VERSION='"$(VERSION)"'
ifdef CI
CFLAGS   += -Werror
endif
ifdef SANITIZE
CFLAGS   += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=$(SANITIZE)
BUILD    := build/san
else
BUILD    := build/rel
endif
CPPFLAGS += -Iinclude -iquote src
DEPS_OK  := $(BUILD)/.deps-build

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -pthread

LIB_SRCS  := $(filter-out src/main.c,$(wildcard src/*.c))
LIB_OBJS  := $(patsubst src/%.c,$(BUILD)/%.o,$(LIB_SRCS))
LIB       := $(BUILD)/libcorscope.a
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

.PHONY: all corscope deps deps-test check check-browser unit golden e2e demo bench fuzz install clean

all: corscope

$(BUILD)/.deps-build:
	@mkdir -p $(BUILD)
	@scripts/install-deps.sh build
	@touch $@
$(BUILD)/.deps-test: $(BUILD)/.deps-build
	@scripts/install-deps.sh test
	@touch $@
deps: $(BUILD)/.deps-build
deps-test: $(BUILD)/.deps-test

$(BUILD)/%.o: src/%.c $(wildcard src/*.h include/corscope/*.h) | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

# ./corscope links to the build of the current flavour (build/rel or
# build/san), so a sanitizer build never passes for the release one.
corscope: $(BUILD)/corscope
	@ln -sfn $(BUILD)/corscope corscope

$(BUILD)/corscope: $(BUILD)/main.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(LIB) | $(BUILD)/.deps-test
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -iquote tests/unit $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(LIB) $(LDFLAGS) $(PKG_LIBS) -lcunit -lhttp_parser

unit: $(UNIT_BINS)

# Everything: unit tests, golden pcaps, end-to-end runs of the real binary.
check: $(BUILD)/.deps-test corscope $(UNIT_BINS)
	@BUILD=$(BUILD) CC='$(CC)' CS_CFLAGS='$(filter-out -DCORSCOPE_VERSION=%,$(CFLAGS))' \
	    CS_LDFLAGS='$(LDFLAGS)' tests/run-all.sh

# The real browsers (Debian's firefox-esr and chromium, installed when
# missing) judge the scenarios; corscope must agree (tests/browser/).
check-browser: $(BUILD)/.deps-test corscope
	tests/browser/run.sh

demo: corscope
	./corscope -r pcaps/demo.pcap -o text

# The HTTP stage alone beside http-parser (MB/s), then the whole tool.
$(BUILD)/bench/http_parse: bench/http_parse.c $(LIB) | $(BUILD)/.deps-test
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(LIB) $(LDFLAGS) $(PKG_LIBS) -lhttp_parser

bench: corscope $(BUILD)/bench/http_parse
	@$(BUILD)/bench/http_parse
	@bench/run.sh

fuzz:
	@tests/fuzz/run.sh $(FUZZ_SECONDS)

install: corscope
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 corscope $(DESTDIR)$(PREFIX)/bin/corscope
	install -m 644 man/corscope.1 $(DESTDIR)$(PREFIX)/share/man/man1/corscope.1

clean:
	rm -rf build corscope tests/out
