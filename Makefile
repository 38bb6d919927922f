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
PKGS    := libmicrohttpd jansson sqlite3 libpq libcrypto yaml-0.1 libarchive libcurl libxml-2.0
BUILD   ?= build
OPT     ?= -O2

SANFLAGS :=
ifeq ($(SAN),1)
BUILD    := build/asan
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined
OPT      := -O1 -fno-omit-frame-pointer $(SANFLAGS)
endif

CFLAGS  := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g $(OPT) \
           $(shell pkg-config --cflags $(PKGS)) -MMD -MP
LDFLAGS := $(SANFLAGS)
LIBS    := $(shell pkg-config --libs $(PKGS)) -lpthread -lm
CPKGS   := libcurl jansson
CLIBS   := $(shell pkg-config --libs $(CPKGS)) -lpthread -lm
CCFLAGS := $(CFLAGS) -fPIC -fvisibility=hidden -Iinclude $(shell pkg-config --cflags $(CPKGS))
PREFIX  ?= /usr/local
SOVER   := 0

SRCS    := $(shell find src -name '*.c' -not -path 'src/client/*' | sort)
MAIN    := src/cli/main.c
CLISRCS := $(filter-out $(MAIN) src/cli/server.c,$(wildcard src/cli/*.c))
LIBSRCS := $(filter-out $(MAIN) $(CLISRCS),$(SRCS))
LIBOBJS := $(LIBSRCS:%.c=$(BUILD)/%.o)
CLIOBJS := $(CLISRCS:%.c=$(BUILD)/%.o)
# libcairn also carries the one util file it shares with the server.
CSRCS   := $(sort $(wildcard src/client/*.c)) src/util/fmt17.c
COBJS   := $(CSRCS:%.c=$(BUILD)/pic/%.o)
CTESTSRC := $(sort $(wildcard tests/client/test_*.c))
CTESTBIN := $(CTESTSRC:tests/client/%.c=$(BUILD)/tests/%)
UNITSRC := $(sort $(wildcard tests/unit/test_*.c))
UNITBIN := $(UNITSRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all units benches clean run test bench bench-client install
all: $(BUILD)/cairn $(BUILD)/libcairn.so $(BUILD)/libcairn.a $(BUILD)/cairn.pc

$(BUILD)/cairn: $(BUILD)/$(MAIN:.c=.o) $(CLIOBJS) $(LIBOBJS) $(BUILD)/libcairn.a
	@echo "  LD    $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) $(CLIBS)

$(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC    $< (pic)"
	@$(CC) $(CCFLAGS) -c -o $@ $<

$(BUILD)/libcairn.a: $(COBJS)
	@echo "  AR    $@"
	@rm -f $@ && ar rcs $@ $^

$(BUILD)/libcairn.so: $(COBJS)
	@echo "  LD    $@"
	@$(CC) $(LDFLAGS) -shared -Wl,-soname,libcairn.so.$(SOVER) -o $@ $^ $(CLIBS)

$(BUILD)/cairn.pc: Makefile
	@echo "  GEN   $@"
	@mkdir -p $(dir $@)
	@printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$${prefix}/lib' 'includedir=$${prefix}/include' '' \
	  'Name: cairn' 'Description: C client of an MLflow tracking server (Cairn)' 'Version: 0.1.0' \
	  'Requires.private: $(CPKGS)' 'Libs: -L$${libdir} -lcairn' 'Libs.private: -lpthread -lm' \
	  'Cflags: -I$${includedir}' >$@

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include \
	  $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BUILD)/cairn $(DESTDIR)$(PREFIX)/bin/cairn
	install -m 644 include/cairn.h include/cairn.f90 $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(BUILD)/libcairn.a $(DESTDIR)$(PREFIX)/lib/libcairn.a
	install -m 755 $(BUILD)/libcairn.so $(DESTDIR)$(PREFIX)/lib/libcairn.so.$(SOVER)
	ln -sf libcairn.so.$(SOVER) $(DESTDIR)$(PREFIX)/lib/libcairn.so
	sed 's|^prefix=.*|prefix=$(PREFIX)|' $(BUILD)/cairn.pc >$(DESTDIR)$(PREFIX)/lib/pkgconfig/cairn.pc
	install -m 644 docs/cairn.1 $(DESTDIR)$(PREFIX)/share/man/man1/cairn.1
	install -d $(DESTDIR)$(PREFIX)/share/cairn/python/cairn
	install -m 644 python/cairn/*.py $(DESTDIR)$(PREFIX)/share/cairn/python/cairn/

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	@$(CC) $(CFLAGS) -Iinclude -c -o $@ $<

units: $(UNITBIN) $(CTESTBIN) $(BUILD)/tests/backend_driver

# The job backends on the command line, for tests/e2e/test_backends.py.
$(BUILD)/tests/backend_driver: tests/e2e/backend_driver.c $(LIBOBJS)
	@mkdir -p $(dir $@)
	@echo "  TEST  $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) -Isrc -o $@ $< $(LIBOBJS) $(LIBS)

$(BUILD)/tests/test_client%: tests/client/test_client%.c $(BUILD)/libcairn.a
	@mkdir -p $(dir $@)
	@echo "  TEST  $@"
	@$(CC) $(CCFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libcairn.a $(CLIBS) -lcmocka

$(BUILD)/tests/%: tests/unit/%.c $(LIBOBJS)
	@mkdir -p $(dir $@)
	@echo "  TEST  $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) -Isrc -o $@ $< $(LIBOBJS) $(LIBS) -lcmocka

benches: $(BUILD)/bench/store_bench $(BUILD)/bench/cairn_load $(BUILD)/bench/sqlite_bare $(BUILD)/bench/s3_bench

# The load generator stands alone: it speaks HTTP, not the store.
$(BUILD)/bench/cairn_load: bench/load.c bench/load_http.c bench/load.h
	@mkdir -p $(dir $@)
	@echo "  BENCH $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) -o $@ bench/load.c bench/load_http.c -lpthread


$(BUILD)/bench/%: bench/%.c $(LIBOBJS)
	@mkdir -p $(dir $@)
	@echo "  BENCH $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) -Isrc -o $@ $< $(LIBOBJS) $(LIBS)

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
	@$(CC) $(CCFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libcairn.a $(CLIBS)

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
