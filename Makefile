# corscope: see README.md.  `make`, `make deps`, `make check`, `make demo`, `make bench`,
# `make fuzz`, `make install`, `make uninstall`.
CC       ?= gcc
PREFIX   ?= /usr/local
DESTDIR  ?=
VERSION  := 0.1.0
PKGS     := libpcap libndpi glib-2.0 libcrypto libcap-ng libnghttp2 libcurl libpsl

CFLAGS   ?= -O3 -g
CFLAGS   += -std=c11 -pthread -Wall -Wextra -D_GNU_SOURCE -DCORSCOPE_VERSION='"$(VERSION)"'
# curl's picky set: shadowed names, functions without a prototype in a
# header, casts that lose alignment, format strings that are not literals,
# undefined macros in #if, variable-length arrays; implicit conversions
# that may change a value or its sign.
CFLAGS   += -Wshadow -Wmissing-prototypes -Wstrict-prototypes -Wcast-align -Wformat=2 -Wundef -Wvla -Wconversion
ifdef CI
CFLAGS   += -Werror
endif
ifdef SANITIZE
CFLAGS   += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=$(SANITIZE)
BUILD    := build/san
LTO      :=
else
BUILD    := build/rel
# The binary is optimized across files at link time (GCC's LTO: the
# per-packet path crosses net/, app/ and report/ through small functions,
# measured 2-3 % fewer instructions per thread).  The objects are "fat"
# (machine code too): the unit tests, nm (check-layers) and the fuzzers use
# them as they are, without a link-time pass of their own.  LTO= turns it off.
LTO      ?= -flto=auto -ffat-lto-objects
endif
# What links those objects without a pass of its own (collect2 would start
# one for any object with LTO code in it).
NO_LTO   := $(if $(LTO),-fno-lto)
CPPFLAGS += -Iinclude
# One folder per layer (README "Project layout").  Each layer's files see
# their own folder (the compiler looks beside the including file first), the
# shared headers at the top of src/, and the layers they may use, nothing
# else: a forbidden include does not compile.  The classifier sees only
# include/ (and is built alone into its own library, below).
INC_top    := -iquote src
INC_main   := -iquote src -iquote src/net -iquote src/app -iquote src/report
INC_net    := -iquote src -iquote src/net
INC_app    := -iquote src -iquote src/net -iquote src/app
INC_report := -iquote src -iquote src/report
INC_tests  := $(INC_main) -iquote src/cors -iquote tests/unit
LAYER_INC   = $(INC_top)
$(BUILD)/main.o:     LAYER_INC = $(INC_main)
$(BUILD)/net/%.o:    LAYER_INC = $(INC_net)
$(BUILD)/app/%.o:    LAYER_INC = $(INC_app)
$(BUILD)/report/%.o: LAYER_INC = $(INC_report)
$(BUILD)/cors/%.o:   LAYER_INC =
$(BUILD)/cors/%.o:   PKG_CFLAGS =
# Header dependencies: each object's .d file lists the headers it read.
DEPFLAGS := -MMD -MP

# pkg-config runs once, when the Makefile is read, and its complaints are
# shown: a missing library is said here, not as a pile of compile errors.
# Installing packages is `make deps` (check and demo run it first), never a
# side effect of compiling.
# `make demo` and `make check` install the packages first and then run a
# make that reads pkg-config after them: on a fresh machine (no pkg-config
# yet) they say nothing here, rather than "run make deps" just before they
# run it.
NO_PKG_GOALS := clean deps deps-test uninstall check-format format
DEPS_FIRST_GOALS := demo check
ifneq ($(filter-out $(NO_PKG_GOALS),$(or $(MAKECMDGOALS),all)),)
ifeq ($(shell command -v pkg-config),)
ifneq ($(filter-out $(NO_PKG_GOALS) $(DEPS_FIRST_GOALS),$(or $(MAKECMDGOALS),all)),)
$(warning pkg-config is not installed: run `make deps` (installs the Debian packages))
endif
else
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
# libcurl: headers only; the sink loads it with dlopen when --sink is given
# (linking it maps ~30 libraries and ~7 MB into every run).
PKG_LIBS   := $(shell pkg-config --libs $(filter-out libcurl,$(PKGS))) -pthread
ifneq ($(shell pkg-config --exists $(PKGS) && echo ok),ok)
ifneq ($(filter-out $(NO_PKG_GOALS) $(DEPS_FIRST_GOALS),$(or $(MAKECMDGOALS),all)),)
$(warning pkg-config does not find all of $(PKGS): run `make deps` (installs the Debian packages))
endif
endif
endif
endif

CORS_SRCS := $(wildcard src/cors/*.c)
CORS_OBJS := $(patsubst src/%.c,$(BUILD)/%.o,$(CORS_SRCS))
CORS_LIB  := $(BUILD)/libcorscope-cors.a
LIB_SRCS  := $(filter-out src/main.c,$(wildcard src/*.c src/net/*.c src/app/*.c src/report/*.c))
LIB_OBJS  := $(patsubst src/%.c,$(BUILD)/%.o,$(LIB_SRCS))
LIB       := $(BUILD)/libcorscope.a
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

.PHONY: all corscope deps deps-test check check-run check-layers check-format format check-browser check-fleet deps-fleet unit golden e2e demo bench bench-live fuzz \
        install uninstall clean

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
deps-fleet: $(BUILD)/.deps-test
	@scripts/install-deps.sh fleet

$(BUILD)/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(LAYER_INC) $(CFLAGS) $(LTO) $(DEPFLAGS) $(PKG_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

# The classifier alone: compiled with only include/ on its path, so every
# build proves it is the pure library cors.h promises.
$(CORS_LIB): $(CORS_OBJS)
	rm -f $@
	ar rcs $@ $^

# ./corscope links to the build of the current flavour (build/rel or
# build/san), so a sanitizer build never passes for the release one.
corscope: $(BUILD)/corscope
	@ln -sfn $(BUILD)/corscope corscope

$(BUILD)/corscope: $(BUILD)/main.o $(LIB) $(CORS_LIB)
	$(CC) $(CFLAGS) $(LTO) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIB) $(CORS_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(INC_tests) $(CFLAGS) $(NO_LTO) $(DEPFLAGS) $(PKG_CFLAGS) -o $@ $< $(LIB) $(CORS_LIB) $(LDFLAGS) $(PKG_LIBS) -lcunit -lhttp_parser

unit: $(UNIT_BINS)

# Everything: unit tests, golden pcaps, end-to-end runs of the real binary.
# The packages first, then a fresh make that reads pkg-config after them.
check: deps-test
	@$(MAKE) --no-print-directory check-run
check-run: corscope $(UNIT_BINS) check-layers check-format
	@BUILD=$(BUILD) CC='$(CC)' CS_CFLAGS='$(filter-out -DCORSCOPE_VERSION=%,$(CFLAGS))' \
	    CS_LDFLAGS='$(LDFLAGS) $(NO_LTO)' tests/run-all.sh

# The layering, from the objects' symbols: no call cycle between files, no
# call a layer may not make (scripts/check-layers.sh says which).
check-layers: corscope
	@scripts/check-layers.sh $(BUILD)

# The committed style (.clang-format): check-format fails on any file that
# clang-format would change and names it; `make format` rewrites them.
C_SOURCES = $(shell find src include tests bench -name '*.[ch]' -not -path '*/build/*')
check-format:
	@clang-format --version >/dev/null 2>&1 || { echo "check-format: clang-format missing: run make deps-test" >&2; exit 1; }
	@bad=$$(for f in $(C_SOURCES); do clang-format --style=file $$f | cmp -s - $$f || echo $$f; done); \
	    if [ -n "$$bad" ]; then for f in $$bad; do echo "check-format: $$f: not formatted as .clang-format says (make format)" >&2; done; exit 1; fi; \
	    echo "check-format: $(words $(C_SOURCES)) files formatted"
format:
	clang-format -i --style=file $(C_SOURCES)

# The real browsers (Debian's firefox-esr and chromium, installed when
# missing) judge the scenarios; corscope must agree (tests/browser/).
# Two ClickHouse servers on loopback as two shards, the schema of
# contrib/clickhouse/, two sensors, SQL through the Distributed table
# (tests/fleet/run.py).  Installs Debian's clickhouse-server when missing.
check-fleet: deps-fleet corscope
	/usr/bin/python3 tests/fleet/run.py

check-browser: deps-test corscope
	tests/browser/run.sh

demo: deps
	@$(MAKE) --no-print-directory corscope
	./corscope -r pcaps/demo.pcap -o text

# The HTTP stage alone beside http-parser (MB/s), then the whole tool.
$(BUILD)/bench/http_parse: bench/http_parse.c $(LIB) $(CORS_LIB) | $(BUILD)/.deps-test
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(INC_tests) $(CFLAGS) $(NO_LTO) $(PKG_CFLAGS) -o $@ $< $(LIB) $(CORS_LIB) $(LDFLAGS) $(PKG_LIBS) -lhttp_parser

# libnghttp2's HPACK decoder alone on a capture's header blocks (bench/run.sh
# runs it on the h2c capture's, beside its read floor)
$(BUILD)/bench/hpack_decode: bench/hpack_decode.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(LDFLAGS) $(shell pkg-config --libs libnghttp2)

bench: corscope $(BUILD)/bench/http_parse $(BUILD)/bench/hpack_decode
	@$(BUILD)/bench/http_parse
	@HPACK_DECODE=$(BUILD)/bench/hpack_decode bench/run.sh

# the live zero-drop rate (root; tcpreplay into a veth pair in a namespace)
bench-live: corscope
	@command -v tcpreplay >/dev/null 2>&1 || apt-get install -y -qq tcpreplay >/dev/null
	@bench/live_rate.sh

fuzz:
	@tests/fuzz/run.sh $(FUZZ_SECONDS)

install: corscope
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 corscope $(DESTDIR)$(PREFIX)/bin/corscope
	install -m 644 man/corscope.1 $(DESTDIR)$(PREFIX)/share/man/man1/corscope.1

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/corscope $(DESTDIR)$(PREFIX)/share/man/man1/corscope.1

clean:
	rm -rf build corscope tests/out

-include $(wildcard $(BUILD)/*.d $(BUILD)/*/*.d $(BUILD)/tests/*.d)
