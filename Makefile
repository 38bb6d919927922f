# Cairn build. `make` builds build/cairn, the client library libcairn
# (build/libcairn.so, build/libcairn.a, build/cairn.pc); `make SAN=1` builds the
# ASan+UBSan variant in build/asan/. Tests and services are driven by
# scripts/test.sh, which `make test` calls; `make run` calls scripts/run.sh.
# `make install PREFIX=...` installs the program, the library, its header,
# pkg-config file, the man page and the Python package (share/cairn/python,
# which `cairn run` puts on a job's PYTHONPATH).
#
# Three groups of objects: the server (src/ minus src/client and the client
# commands of src/cli; linked into the unit tests; libcurl only for S3), libcairn
# (src/client, compiled -fPIC with hidden visibility; needs libcurl and
# jansson only) and the command line (src/cli/main.c and the client command
# files, linked with both).

CC      ?= cc
# yaml-0.1: MLproject files and backend configs (src/jobs), mlruns import (src/cli).
# libarchive: project archives (src/jobs/archive*.c), unpacked by the job service, packed by `cairn submit`.
# libcurl, libxml-2.0: the S3 artifact store (src/artifacts/s3*.c): requests signed with SigV4, XML answers.
# libargon2: argon2id password hashes (src/auth/password.c).
PKGS    := libmicrohttpd jansson sqlite3 libpq libcrypto yaml-0.1 libarchive libcurl libxml-2.0 libargon2
BUILD   ?= build
OPT     ?= -O2
# The one version: CAIRN_VERSION_STRING in include/cairn.h (libcairn's public
# header, like curl's curlver.h). cairn.pc, the man page, the CLI's --version,
# libcairn's User-Agent and the Python package all derive from it.
VERSION := $(shell sed -n 's/^\#define CAIRN_VERSION_STRING "\(.*\)"$$/\1/p' include/cairn.h)

SANFLAGS :=
ifeq ($(SAN),1)
BUILD    := build/asan
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined
OPT      := -O1 -fno-omit-frame-pointer $(SANFLAGS)
endif

# The project's flags live in CAIRN_*; a user's CPPFLAGS, CFLAGS and LDFLAGS
# (`make CFLAGS=-O0`, or from the environment) are appended after them on
# every compile and link line, so they add to -std=c11 -Werror ... and win
# where they conflict (-O0 after -O2), but never remove them.
CAIRN_CFLAGS  := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g $(OPT) \
                 $(shell pkg-config --cflags $(PKGS)) -MMD -MP
CAIRN_LDFLAGS := $(SANFLAGS)
LIBS    := $(shell pkg-config --libs $(PKGS)) -lpthread -lm
CPKGS   := libcurl jansson
CLIBS   := $(shell pkg-config --libs $(CPKGS)) -lpthread -lm
CAIRN_CCFLAGS := $(CAIRN_CFLAGS) -fPIC -fvisibility=hidden -Iinclude $(shell pkg-config --cflags $(CPKGS))
# What a rule appends: the user's flags, last.
UFLAGS   = $(CPPFLAGS) $(CFLAGS)
ULDFLAGS = $(LDFLAGS) $(LDLIBS)
PREFIX  ?= /usr/local
SOVER   := 0

SRCS    := $(shell find src -name '*.c' -not -path 'src/client/*' | sort)
MAIN    := src/cli/main.c
CLISRCS := $(filter-out $(MAIN) src/cli/server.c src/cli/server_auth.c,$(wildcard src/cli/*.c))
LIBSRCS := $(filter-out $(MAIN) $(CLISRCS),$(SRCS))
LIBOBJS := $(LIBSRCS:%.c=$(BUILD)/%.o)
CLIOBJS := $(CLISRCS:%.c=$(BUILD)/%.o)
# libcairn also carries the two util files it shares with the server.
CSRCS   := $(sort $(wildcard src/client/*.c)) src/util/fmt17.c src/util/runstatus.c
COBJS   := $(CSRCS:%.c=$(BUILD)/pic/%.o)
CTESTSRC := $(sort $(wildcard tests/client/test_*.c))
CTESTBIN := $(CTESTSRC:tests/client/%.c=$(BUILD)/tests/%)
UNITSRC := $(sort $(wildcard tests/unit/test_*.c))
UNITBIN := $(UNITSRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all units benches clean run test bench bench-client install fuzz
all: $(BUILD)/cairn $(BUILD)/libcairn.so $(BUILD)/libcairn.a $(BUILD)/cairn.pc $(BUILD)/cairn.1

$(BUILD)/cairn: $(BUILD)/$(MAIN:.c=.o) $(CLIOBJS) $(LIBOBJS) $(BUILD)/libcairn.a
	@echo "  LD    $@"
	@$(CC) $(CAIRN_LDFLAGS) $(CFLAGS) -o $@ $^ $(LIBS) $(CLIBS) $(ULDFLAGS)

$(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC    $< (pic)"
	@$(CC) $(CAIRN_CCFLAGS) $(UFLAGS) -c -o $@ $<

$(BUILD)/libcairn.a: $(COBJS)
	@echo "  AR    $@"
	@rm -f $@ && ar rcs $@ $^

$(BUILD)/libcairn.so: $(COBJS)
	@echo "  LD    $@"
	@$(CC) $(CAIRN_LDFLAGS) $(CFLAGS) -shared -Wl,-soname,libcairn.so.$(SOVER) -o $@ $^ $(CLIBS) $(ULDFLAGS)

$(BUILD)/cairn.pc: Makefile include/cairn.h
	@echo "  GEN   $@"
	@mkdir -p $(dir $@)
	@printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$${prefix}/lib' 'includedir=$${prefix}/include' '' \
	  'Name: cairn' 'Description: C client of an MLflow tracking server (Cairn)' 'Version: $(VERSION)' \
	  'Requires.private: $(CPKGS)' 'Libs: -L$${libdir} -lcairn' 'Libs.private: -lpthread -lm' \
	  'Cflags: -I$${includedir}' >$@

# The man page with the version in its title line.
$(BUILD)/cairn.1: docs/cairn.1 include/cairn.h
	@echo "  GEN   $@"
	@mkdir -p $(dir $@)
	@sed '/^\.TH /s/"cairn"/"cairn $(VERSION)"/' docs/cairn.1 >$@

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include \
	  $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BUILD)/cairn $(DESTDIR)$(PREFIX)/bin/cairn
	install -m 644 include/cairn.h include/cairn.f90 $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(BUILD)/libcairn.a $(DESTDIR)$(PREFIX)/lib/libcairn.a
	install -m 755 $(BUILD)/libcairn.so $(DESTDIR)$(PREFIX)/lib/libcairn.so.$(SOVER)
	ln -sf libcairn.so.$(SOVER) $(DESTDIR)$(PREFIX)/lib/libcairn.so
	sed 's|^prefix=.*|prefix=$(PREFIX)|' $(BUILD)/cairn.pc >$(DESTDIR)$(PREFIX)/lib/pkgconfig/cairn.pc
	install -m 644 $(BUILD)/cairn.1 $(DESTDIR)$(PREFIX)/share/man/man1/cairn.1
	install -d $(DESTDIR)$(PREFIX)/share/cairn/python/cairn
	install -m 644 python/cairn/*.py $(DESTDIR)$(PREFIX)/share/cairn/python/cairn/

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	@$(CC) $(CAIRN_CFLAGS) -Iinclude $(UFLAGS) -c -o $@ $<

units: $(UNITBIN) $(CTESTBIN) $(BUILD)/tests/backend_driver

# The job backends on the command line, for tests/e2e/test_backends.py.
$(BUILD)/tests/backend_driver: tests/e2e/backend_driver.c $(LIBOBJS)
	@mkdir -p $(dir $@)
	@echo "  TEST  $@"
	@$(CC) $(CAIRN_CFLAGS) $(CAIRN_LDFLAGS) -Isrc $(UFLAGS) -o $@ $< $(LIBOBJS) $(LIBS) $(ULDFLAGS)

$(BUILD)/tests/test_client%: tests/client/test_client%.c $(BUILD)/libcairn.a
	@mkdir -p $(dir $@)
	@echo "  TEST  $@"
	@$(CC) $(CAIRN_CCFLAGS) $(CAIRN_LDFLAGS) $(UFLAGS) -o $@ $< $(BUILD)/libcairn.a $(CLIBS) -lcmocka $(ULDFLAGS)

$(BUILD)/tests/%: tests/unit/%.c $(LIBOBJS)
	@mkdir -p $(dir $@)
	@echo "  TEST  $@"
	@$(CC) $(CAIRN_CFLAGS) $(CAIRN_LDFLAGS) -Isrc $(UFLAGS) -o $@ $< $(LIBOBJS) $(LIBS) -lcmocka $(ULDFLAGS)

benches: $(BUILD)/bench/store_bench $(BUILD)/bench/cairn_load $(BUILD)/bench/sqlite_bare $(BUILD)/bench/s3_bench

# The load generator stands alone: it speaks HTTP, not the store.
$(BUILD)/bench/cairn_load: bench/load.c bench/load_http.c bench/load.h
	@mkdir -p $(dir $@)
	@echo "  BENCH $@"
	@$(CC) $(CAIRN_CFLAGS) $(CAIRN_LDFLAGS) $(UFLAGS) -o $@ bench/load.c bench/load_http.c -lpthread $(ULDFLAGS)


$(BUILD)/bench/%: bench/%.c $(LIBOBJS)
	@mkdir -p $(dir $@)
	@echo "  BENCH $@"
	@$(CC) $(CAIRN_CFLAGS) $(CAIRN_LDFLAGS) -Isrc $(UFLAGS) -o $@ $< $(LIBOBJS) $(LIBS) $(ULDFLAGS)

# libFuzzer harnesses (fuzz/fuzz_*.c, see fuzz/README.md), built with clang
# into build/fuzz/. The Makefile's own object lists are compiled once more
# for fuzzing (ASan+UBSan, coverage) into build/fuzz/obj/ and put in two
# archives, the server and command line (LIBOBJS, CLIOBJS) and libcairn
# (COBJS), so each harness pulls in exactly the objects it needs.
FUZZCC     ?= clang
FUZZDIR    := build/fuzz
FUZZSAN    := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -O1 -fno-omit-frame-pointer $(FUZZSAN) \
               $(shell pkg-config --cflags $(PKGS) $(CPKGS)) -MMD -MP
FUZZSRC    := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZBIN    := $(FUZZSRC:fuzz/%.c=$(FUZZDIR)/%)
FUZZSRVOBJS := $(LIBSRCS:%.c=$(FUZZDIR)/obj/%.o) $(CLISRCS:%.c=$(FUZZDIR)/obj/%.o)
FUZZCOBJS  := $(CSRCS:%.c=$(FUZZDIR)/obj/client/%.o)

fuzz: $(FUZZBIN)

$(FUZZDIR)/obj/client/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  FUZZCC $< (libcairn)"
	@$(FUZZCC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -fvisibility=hidden -Iinclude $(UFLAGS) -c -o $@ $<

$(FUZZDIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  FUZZCC $<"
	@$(FUZZCC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -Iinclude $(UFLAGS) -c -o $@ $<

$(FUZZDIR)/libserver.a: $(FUZZSRVOBJS)
	@echo "  AR    $@"
	@rm -f $@ && ar rcs $@ $^

$(FUZZDIR)/libclient.a: $(FUZZCOBJS)
	@echo "  AR    $@"
	@rm -f $@ && ar rcs $@ $^

$(FUZZDIR)/fuzz_%: fuzz/fuzz_%.c $(FUZZDIR)/libserver.a $(FUZZDIR)/libclient.a
	@mkdir -p $(dir $@)
	@echo "  FUZZ  $@"
	@$(FUZZCC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -Isrc -Iinclude $(UFLAGS) -o $@ $< $(FUZZDIR)/libserver.a $(FUZZDIR)/libclient.a $(LIBS) $(CLIBS) $(ULDFLAGS)

run:
	bash scripts/run.sh

test:
	bash scripts/test.sh

# Every figure of docs/BENCHMARKS.md: the server's, then libcairn's.
bench:
	bash bench/run.sh
	bash bench/client.sh

bench-client:
	bash bench/client.sh

$(BUILD)/bench/client_bench: bench/client_bench.c $(BUILD)/libcairn.a
	@mkdir -p $(dir $@)
	@echo "  BENCH $@"
	@$(CC) $(CAIRN_CCFLAGS) $(CAIRN_LDFLAGS) $(UFLAGS) -o $@ $< $(BUILD)/libcairn.a $(CLIBS) $(ULDFLAGS)

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
