# Cairn build. `make` builds build/cairn; `make SAN=1` builds the ASan+UBSan
# variant in build/asan/. Tests and services are driven by scripts/test.sh,
# which `make test` calls; `make run` calls scripts/run.sh.

CC      ?= cc
PKGS    := libmicrohttpd jansson sqlite3 libpq libcrypto
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

SRCS    := $(shell find src -name '*.c' | sort)
MAIN    := src/cli/main.c
LIBSRCS := $(filter-out $(MAIN),$(SRCS))
LIBOBJS := $(LIBSRCS:%.c=$(BUILD)/%.o)
UNITSRC := $(sort $(wildcard tests/unit/test_*.c))
UNITBIN := $(UNITSRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all units benches clean run test bench
all: $(BUILD)/cairn

$(BUILD)/cairn: $(BUILD)/$(MAIN:.c=.o) $(LIBOBJS)
	@echo "  LD    $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	@$(CC) $(CFLAGS) -c -o $@ $<

units: $(UNITBIN)

$(BUILD)/tests/%: tests/unit/%.c $(LIBOBJS)
	@mkdir -p $(dir $@)
	@echo "  TEST  $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) -Isrc -o $@ $< $(LIBOBJS) $(LIBS) -lcmocka

benches: $(BUILD)/bench/store_bench $(BUILD)/bench/cairn_load $(BUILD)/bench/sqlite_bare

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

bench:
	bash bench/run.sh

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
