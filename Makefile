# Makefile — build, test, fuzz, bench, demo and install precis.
#
#   make            optimized binary ./precis
#   make test       every test: engine reference tests (optimized), the full
#                   suite under ASan+UBSan, then make fuzz-smoke
#   make fuzz       libFuzzer targets (clang), each run for FUZZ_SECONDS
#   make fuzz-smoke the same targets, each run once over its seeds
#   make install    PREFIX=/usr/local DESTDIR= (binary, prompts, sql, systemd
#                   unit, sysusers.d entry, example config, operator docs)
#
# Sources are found by find/wildcard: a new engine/foo.c or tests/test_foo.c needs
# no Makefile edit. Objects go under $(BUILD)/ (override BUILD to build in a
# separate tree). SIMD kernel files get their instruction-set flags below.

PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR      ?= $(PREFIX)/bin
DATADIR     ?= $(PREFIX)/share/precis
DOCDIR      ?= $(PREFIX)/share/doc/precis
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
SYSCONFDIR  ?= /etc
BUILD   ?= build
CC      ?= cc
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
V ?= 0
Q = $(if $(filter 1,$(V)),,@)

PKGS = libpq rdkafka libxml-2.0 poppler-glib glib-2.0 gio-2.0 libcjson openblas libzip libmicrohttpd libsystemd tesseract lept

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
# Tesseract (and leptonica) only for their headers: extractors/pdf/pdf_tess.c
# loads libtesseract when OCR first needs it, so no process start pays for it.
PKG_LIBS   = $(shell pkg-config --libs $(filter-out tesseract lept,$(PKGS)))

WARN    = -Wall -Wextra -Werror
# No function may take more than 64 KiB of stack: engine code runs on pool
# threads, whose stacks RLIMIT_STACK or another libc may make small (large
# work areas belong on the heap, e.g. the tile kernels' per-thread scratch).
# GCC checks the whole frame, dynamic parts included (-Wstack-usage); clang
# only has the fixed frame (-Wframe-larger-than). The fuzz rules, built by
# FUZZ_CC, take its spelling.
STACK_MAX = 65536
stack_warn = $(if $(findstring clang,$(shell $(1) --version 2>/dev/null)),-Wframe-larger-than=$(STACK_MAX),-Wstack-usage=$(STACK_MAX))
CC_STACK_WARN   := $(call stack_warn,$(CC))
FUZZ_STACK_WARN := $(call stack_warn,$(FUZZ_CC))
STACK_WARN = $(CC_STACK_WARN)
BASE_CFLAGS = -std=c11 -D_GNU_SOURCE -I. -I$(BUILD) $(WARN) $(STACK_WARN) $(PKG_CFLAGS) -MMD -MP -pthread
REL_CFLAGS  = $(BASE_CFLAGS) -O2 -g
SAN_FLAGS   = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
SAN_CFLAGS  = $(BASE_CFLAGS) -O1 -g $(SAN_FLAGS)
LDLIBS      = $(PKG_LIBS) -lgomp -lm -pthread

# Per-file instruction-set flags (runtime dispatch picks the kernel).
ISA_AVX2   = -mavx2 -mfma -mf16c -ffp-contract=off
ISA_AVX512 = $(ISA_AVX2) -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mavx512bf16
ISA_engine/kernels/kernels_avx2.c          = $(ISA_AVX2)
ISA_engine/kernels/kernels_avx512.c        = $(ISA_AVX512)
ISA_engine/kernels/kernels_avx512_tile16.c = $(ISA_AVX512)
ISA_engine/kernels/kernels_avx512_rows16.c = $(ISA_AVX512)
ISA_engine/kernels/kernels_avx512_packed.c = $(ISA_AVX512)

# Every .c under the layer folders, at any depth (sorted: a stable link order).
LAYERS   = common engine extractors store pipeline daemon cli tools
LIB_SRC  = $(filter-out cli/main.c,$(sort $(shell find $(LAYERS) -name '*.c')))
MAIN_SRC = cli/main.c
TEST_SRC = $(wildcard tests/test_*.c) tests/support.c tests/browser.c tests/pg_harness.c tests/pg_query.c tests/analysis_fixture.c tests/sandbox_workers.c \
           tests/stub_analyzer.c tests/ocr_fixture.c
REF_SRC  = $(wildcard tests/ref_*.c) tests/support.c tests/browser.c tests/pg_harness.c tests/pg_query.c

REL_OBJ      = $(LIB_SRC:%.c=$(BUILD)/rel/%.o)
SAN_OBJ      = $(LIB_SRC:%.c=$(BUILD)/san/%.o)
TEST_OBJ     = $(TEST_SRC:%.c=$(BUILD)/san/%.o)
REF_OBJ      = $(REF_SRC:%.c=$(BUILD)/rel/%.o)

# sql/*.sql are embedded into the binary as $(BUILD)/gen/sql_embedded.c
# (regenerated every run, rewritten only when the files changed).
SQL_EMBED_C = $(BUILD)/gen/sql_embedded.c
REL_OBJ     += $(BUILD)/rel/gen/sql_embedded.o
SAN_OBJ     += $(BUILD)/san/gen/sql_embedded.o

VERSION_H = $(BUILD)/precis_version.h

.PHONY: all test check unit-tests ref-tests fuzz fuzz-smoke bench bench-extract bench-fork bench-kernels bench-schema bench-batching bench-pipeline demo model install uninstall clean deps FORCE

all: precis

precis: $(BUILD)/rel/cli/main.o $(REL_OBJ)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) -o $@ $^ $(LDLIBS)

$(BUILD)/rel/%.o: %.c | $(VERSION_H)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(REL_CFLAGS) $(ISA_$<) -c -o $@ $<

$(BUILD)/san/%.o: %.c | $(VERSION_H)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC san  $<")
	$(Q)$(CC) $(SAN_CFLAGS) $(ISA_$<) -c -o $@ $<

# The version comes from git describe; the header is rewritten only when it changes.
$(VERSION_H): FORCE
	@mkdir -p $(BUILD)
	@v=$$(git describe --tags --always --dirty 2>/dev/null || echo unknown); \
	 line="#define PRECIS_VERSION \"$$v\""; \
	 [ -f $@ ] && [ "$$(cat $@)" = "$$line" ] || echo "$$line" > $@

$(SQL_EMBED_C): FORCE
	@mkdir -p $(dir $@)
	$(Q)sql/embed.sh $@ $(sort $(wildcard sql/*.sql))

$(BUILD)/rel/gen/sql_embedded.o: $(SQL_EMBED_C)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(REL_CFLAGS) -c -o $@ $<

$(BUILD)/san/gen/sql_embedded.o: $(SQL_EMBED_C)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(SAN_CFLAGS) -c -o $@ $<

$(BUILD)/fuzzobj/gen/sql_embedded.o: $(SQL_EMBED_C)
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(BASE_CFLAGS) -O1 -g $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(BUILD)/unit-tests: $(TEST_OBJ) $(SAN_OBJ)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ $(LDLIBS) -lcriterion -lfontconfig

# Test binary: `precis serve` around the stub analyzer (tests/stub_precis.c), for
# tests that spawn whole daemons. Test doubles never go into ./precis.
$(BUILD)/precis-stub: $(BUILD)/rel/tests/stub_precis.o $(BUILD)/rel/tests/stub_analyzer.o $(REL_OBJ)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) -o $@ $^ $(LDLIBS)

$(BUILD)/ref-tests: $(REF_OBJ) $(REL_OBJ)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) -o $@ $^ $(LDLIBS) -lcriterion

# Single-thread vec_dot micro-benchmark per type and kernel set (not a test).
bench-kernels: $(BUILD)/bench-kernels
	$(BUILD)/bench-kernels

$(BUILD)/bench-kernels: tests/bench/bench_kernels.c $(REL_OBJ)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(REL_CFLAGS) -o $@ $(filter %.c %.o,$^) $(LDLIBS)

# Constrained (JSON schema) vs unconstrained decoding cost (not a test).
# Continuous batching and prompt-prefix reuse through the pipeline's model
# API (not a test): BATCH_MODEL defaults to the generated TinyLlama-shape Q4_0.
BATCH_MODEL ?= $(BUILD)/models/tinyllama-1.1b-q4_0.gguf
bench-batching: $(BUILD)/bench-batching
	$(BUILD)/bench-batching $(BATCH_MODEL) $(BATCH_ARGS)

$(BUILD)/bench-batching: tests/bench/bench_batching.c $(REL_OBJ)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(REL_CFLAGS) -o $@ $(filter %.c %.o,$^) $(LDLIBS)

# PDF extraction pages/s: pdftotext, the extraction server (the daemon's
# path) and `precis extract`, interleaved file by file (not a test).
EXTRACT_ROUNDS ?= 3
bench-extract: $(BUILD)/bench-extract precis
	$(BUILD)/bench-extract $(PRECIS_TEST_CORPUS)/pdf/normal $(EXTRACT_ROUNDS) ./precis

$(BUILD)/bench-extract: tests/bench/bench_extract.c $(REL_OBJ)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(REL_CFLAGS) -o $@ $(filter %.c %.o,$^) $(LDLIBS)

# Per-document extraction cost in a process holding a model (not a test):
# FORK_MODEL is a multi-GB GGUF (e.g. from gen-model --shape llama2-7b).
FORK_PDF ?= $(PRECIS_TEST_CORPUS)/pdf/normal/pdfjs_issue14415_agreement.pdf
bench-fork: $(BUILD)/bench-fork
	$(BUILD)/bench-fork $(FORK_MODEL) $(FORK_PDF)

$(BUILD)/bench-fork: tests/bench/bench_fork.c $(REL_OBJ)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(REL_CFLAGS) -o $@ $(filter %.c %.o,$^) $(LDLIBS)

bench-schema: $(BUILD)/bench-schema
	$(BUILD)/bench-schema

$(BUILD)/bench-schema: tests/bench/bench_schema.c $(REL_OBJ)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(REL_CFLAGS) -o $@ $(filter %.c %.o,$^) $(LDLIBS)

# Engine speed on random-weight TinyLlama-shape models (generated once under
# $(BUILD)/models) and PDF extraction pages/s, as one table (docs/benchmarks.md).
BENCH_ARGS ?= -t 2
bench: precis $(BUILD)/bench-extract
	BENCH_EXTRACT=$(BUILD)/bench-extract tests/bench/bench.sh ./precis $(BUILD)/models $(BENCH_ARGS)

# Documents per hour through `precis run` and `precis serve`, one document at
# a time against many at once (and ik_llama.cpp's engine with IK_BATCHED_BENCH).
bench-pipeline: precis
	tests/bench/bench_pipeline.sh ./precis $(BUILD)/models

# `make test` installs missing dependencies first, then runs the suites.
test: deps
	@$(MAKE) --no-print-directory check
	@$(MAKE) --no-print-directory fuzz-smoke

check: precis $(BUILD)/unit-tests $(BUILD)/ref-tests $(BUILD)/precis-stub
	@tests/check_layers.sh
	@tests/check_sizes.sh
	@tests/check_status.sh
	@echo "== engine reference tests (optimized build)"
	PRECIS_BIN=$(CURDIR)/precis $(BUILD)/ref-tests --jobs 2
	@echo "== unit and integration tests (ASan+UBSan)"
	PRECIS_BIN=$(CURDIR)/precis PRECIS_STUB_BIN=$(CURDIR)/$(BUILD)/precis-stub ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 $(BUILD)/unit-tests --jobs 2

deps:
	@deploy/install-deps.sh --check-only >/dev/null 2>&1 || deploy/install-deps.sh

# `make model`: download a pinned GGUF into models/ and check its size and
# SHA-256 (deploy/fetch-model.sh; progress bar, resumes). MODEL=llama2-7b
# (default): Llama-2-7B-chat Q4_K_M, 4.1 GB, the model the prompts are written
# for; MODEL=tinyllama: TinyLlama-1.1B-Chat-v1.0 Q4_K_M, 669 MB, the one
# `make demo` fetches when it finds no model. No test needs either.
MODEL ?= llama2-7b
model:
	deploy/fetch-model.sh --model $(MODEL) models

# `make demo`: throwaway PostgreSQL under var/, mock Kafka broker, `precis serve`
# with the model deploy/demo/find-model.sh finds (PRECIS_MODEL, the largest
# models/*.gguf, the test suite's random model) or else downloads (TinyLlama,
# 669 MB, into models/; offline it says in one line what to do and fails), the
# demo documents submitted, results printed from PostgreSQL, everything
# stopped again (deploy/demo/run-demo.sh).
demo: deps
	@$(MAKE) --no-print-directory precis $(BUILD)/text2pdf
	BUILD=$(BUILD) deploy/demo/run-demo.sh

# Build-time helper of the demo: renders the sample .txt documents as PDF.
$(BUILD)/text2pdf: deploy/demo/text2pdf.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -O2 $(shell pkg-config --cflags cairo) -o $@ $< $(shell pkg-config --libs cairo)

# libFuzzer targets: tests/fuzz/fuzz_NAME.c, seeds in tests/fuzz/seeds/NAME/.
FUZZ_SRC  = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN  = $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_OBJ  = $(LIB_SRC:%.c=$(BUILD)/fuzzobj/%.o) $(BUILD)/fuzzobj/gen/sql_embedded.o
FUZZ_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer

$(BUILD)/fuzzobj/%.o $(BUILD)/fuzz/%: STACK_WARN = $(FUZZ_STACK_WARN)
# Kept between runs (make would delete them as intermediates of the pattern rules).
.SECONDARY: $(FUZZ_OBJ)

$(BUILD)/fuzzobj/%.o: %.c | $(VERSION_H)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZCC  $<")
	$(Q)$(FUZZ_CC) $(BASE_CFLAGS) -O1 -g $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link $(ISA_$<) -c -o $@ $<

$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJ)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZLD  $@")
	$(Q)$(FUZZ_CC) $(BASE_CFLAGS) -O1 -g $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $(filter %.c %.o,$^) $(LDLIBS)

fuzz: deps $(FUZZ_BIN)
	@for bin in $(FUZZ_BIN); do \
	  name=$$(basename $$bin); seeds=tests/fuzz/seeds/$${name#fuzz_}; work=$(BUILD)/fuzz-corpus/$$name; \
	  mkdir -p $$work; echo "== $$name for $(FUZZ_SECONDS)s"; \
	  $$bin -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -timeout=10 $$work $$( [ -d $$seeds ] && echo $$seeds ) || exit 1; \
	done

# Every fuzz target built (clang) and run once over its seeds, no mutation:
# keeps the targets building and the seeds passing (make test runs it).
fuzz-smoke: $(FUZZ_BIN)
	@echo "== fuzz targets over their seeds"
	@for bin in $(FUZZ_BIN); do \
	  name=$$(basename $$bin); seeds=tests/fuzz/seeds/$${name#fuzz_}; \
	  $$bin -runs=0 -rss_limit_mb=2048 -timeout=10 $$( [ -d $$seeds ] && echo $$seeds ) >$(BUILD)/fuzz/$$name.log 2>&1 \
	    || { cat $(BUILD)/fuzz/$$name.log; echo "$$name failed on its seeds"; exit 1; }; \
	  echo "$$name: $$(tail -1 $(BUILD)/fuzz/$$name.log)"; \
	done

# The unit names /usr/bin/precis and /usr/share/doc/precis: rewritten to $(BINDIR), $(DOCDIR).
# /etc/precis/precis.conf is never written: only precis.conf.example. On the
# live system (no DESTDIR) the precis user is created and systemd reloaded.
install: precis
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/prompts $(DESTDIR)$(DATADIR)/sql $(DESTDIR)$(DOCDIR) \
	  $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(SYSCONFDIR)/precis
	install -m 0755 precis $(DESTDIR)$(BINDIR)/precis
	@if ls prompts/* >/dev/null 2>&1; then install -m 0644 prompts/* $(DESTDIR)$(DATADIR)/prompts/; fi
	@if ls sql/*.sql >/dev/null 2>&1; then install -m 0644 sql/*.sql $(DESTDIR)$(DATADIR)/sql/; fi
	sed 's#/usr/bin/precis#$(BINDIR)/precis#g; s#/usr/share/doc/precis#$(DOCDIR)#g' deploy/precis.service \
	  > $(DESTDIR)$(UNITDIR)/precis.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/precis.service
	install -m 0644 deploy/precis.sysusers $(DESTDIR)$(SYSUSERSDIR)/precis.conf
	install -m 0644 deploy/precis.conf.example $(DESTDIR)$(SYSCONFDIR)/precis/precis.conf.example
	install -m 0644 docs/operations.md deploy/grafana-dashboard.json $(DESTDIR)$(DOCDIR)/
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then \
	  systemd-sysusers $(SYSUSERSDIR)/precis.conf && systemctl daemon-reload; fi
	@[ -n "$(DESTDIR)" ] || [ -f $(SYSCONFDIR)/precis/precis.conf ] || \
	  echo "next: write $(SYSCONFDIR)/precis/precis.conf (see precis.conf.example), then systemctl enable --now precis"

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/precis $(DESTDIR)$(UNITDIR)/precis.service $(DESTDIR)$(SYSUSERSDIR)/precis.conf
	rm -f $(DESTDIR)$(SYSCONFDIR)/precis/precis.conf.example
	rm -rf $(DESTDIR)$(DATADIR) $(DESTDIR)$(DOCDIR)
	rmdir $(DESTDIR)$(SYSCONFDIR)/precis 2>/dev/null || true

clean:
	rm -rf $(BUILD) precis

FORCE:

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
