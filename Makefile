# the0-k8s: one Makefile, everything builds into build/ (see README.md). `make help` lists every target: it
# prints the text after "##" on each target's line in this file and the included *.mk, so a target is
# documented where it is defined (ci/check-cli.sh fails when a .PHONY target has no such text).

SHELL := /bin/bash
.DEFAULT_GOAL := all

# Modules: one folder each. MODULE/*.c is the module's library; MODULE/tests/*.c its Criterion tests;
# MODULE/module.mk may set MODULE_DEPS (other modules it links against), MODULE_TEST_DEPS (modules only its
# tests link, e.g. a sibling used as the independent peer of a conformance test) and add TEST_TARGETS.
MODULES := core domain fsm controllers fakes sim scenarios daemon adapters

PKGS := libcurl libcjson libmongoc-1.0 libbson-1.0 libnats criterion libfiu libarchive libmicrohttpd \
        yaml-0.1 libcrypto zlib libxxhash

# Install missing build dependencies before anything else, so a fresh machine needs no manual step.
ifeq ($(filter deps help,$(MAKECMDGOALS)),)
  ifneq ($(shell pkg-config --exists $(PKGS) jemalloc && echo ok),ok)
    $(info make: pkg-config modules missing; running ci/deps.sh)
    DEPS_LOG := $(shell bash ci/deps.sh 1>&2; echo $$?)
    ifneq ($(DEPS_LOG),0)
      $(error ci/deps.sh failed; see its output above)
    endif
  endif
endif

BUILD ?= build
CC ?= cc
OPT ?= -O2
SAN ?=
ifeq ($(SAN),1)
  SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
  OPT := -O1
endif
WARN := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wno-missing-field-initializers -Wno-format-truncation
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# FIU=1 (default): libfiu fault points are compiled in (tests, the simulator). FIU=0: fiu-local.h's no-op
# stubs and no libfiu at link time, for the production image (make release, deploy/Dockerfile).
FIU ?= 1
ifneq ($(FIU),1)
  PKG_LIBS := $(shell pkg-config --libs $(filter-out libfiu criterion,$(PKGS)) 2>/dev/null)
endif
CFLAGS_ALL := -std=c11 -D_GNU_SOURCE $(if $(filter 1,$(FIU)),-DFIU_ENABLE=1) $(OPT) -g $(WARN) $(SANFLAGS) -I. $(PKG_CFLAGS) $(CFLAGS)
LDFLAGS_ALL := $(SANFLAGS) $(LDFLAGS)
LIBS_ALL := $(PKG_LIBS) -lm -lpthread $(LIBS)
# the0-sim, the runtime and their benchmarks allocate and free millions of small cJSON nodes; jemalloc does
# that about a fifth faster than glibc's malloc (docs/soak.md) and has no glibc-style consolidation passes
# over freed lists (a third of a 100,000-pod re-list; docs/bench.md). The tests keep glibc, and sanitizer
# builds bring their own allocator.
ALLOC_LIBS := $(if $(filter 1,$(SAN)),,$(shell pkg-config --libs jemalloc 2>/dev/null))

TEST_TARGETS :=
BINARIES := $(BUILD)/the0-runtime $(BUILD)/the0-sim
# Modules each binary links (order does not matter: archives are linked as a group).
RUNTIME_MODULES := core domain fsm controllers daemon adapters
SIM_MODULES := core domain fsm controllers daemon fakes sim scenarios

-include $(wildcard $(addsuffix /module.mk,$(MODULES)))
-include e2e/e2e.mk
-include deploy/deploy.mk
-include fuzz/fuzz.mk

# ---- per-module rules ---------------------------------------------------------------------------
define module_rules
$(1)_SRCS := $$(wildcard $(1)/*.c)
$(1)_OBJS := $$(patsubst %.c,$(BUILD)/obj/%.o,$$($(1)_SRCS))
$(1)_TSRCS := $$(wildcard $(1)/tests/*.c)
$(1)_TOBJS := $$(patsubst %.c,$(BUILD)/obj/%.o,$$($(1)_TSRCS))
$(BUILD)/lib/lib$(1).a: $$($(1)_OBJS)
	@mkdir -p $$(@D)
	@rm -f $$@
	$$(Q)$$(if $$^,ar rcs $$@ $$^,ar rcs $$@)
$(1)_BSRCS := $$(wildcard $(1)/bench/*.c)
BENCH_BINS += $$(patsubst $(1)/bench/%.c,$(BUILD)/bench/%,$$($(1)_BSRCS))
$(BUILD)/bench/%: $(BUILD)/obj/$(1)/bench/%.o $$(foreach m,$(1) $$($(1)_DEPS) core,$(BUILD)/lib/lib$$(m).a)
	@mkdir -p $$(@D)
	@$$(if $$(Q),echo "  LINK    $$@")
	$$(Q)$$(CC) $$(LDFLAGS_ALL) -o $$@ $$< -Wl,--start-group $$(filter %.a,$$^) -Wl,--end-group $$(LIBS_ALL)
ifneq ($$($(1)_TSRCS),)
TEST_BINS += $(BUILD)/tests/test-$(1)
$(BUILD)/tests/test-$(1): $$($(1)_TOBJS) $$(foreach m,$(1) $$($(1)_DEPS) $$($(1)_TEST_DEPS) core,$(BUILD)/lib/lib$$(m).a)
	@mkdir -p $$(@D)
	@$$(if $$(Q),echo "  LINK    $$@")
	$$(Q)$$(CC) $$(LDFLAGS_ALL) -o $$@ $$($(1)_TOBJS) -Wl,--start-group $$(filter %.a,$$^) -Wl,--end-group $$(LIBS_ALL)
endif
endef
$(foreach m,$(MODULES),$(eval $(call module_rules,$(m))))

ALL_OBJS := $(foreach m,$(MODULES),$($(m)_OBJS) $($(m)_TOBJS) $(patsubst %.c,$(BUILD)/obj/%.o,$($(m)_BSRCS)))

V ?= 0
Q := $(if $(filter 1,$(V)),,@)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

-include $(ALL_OBJS:.o=.d) $(BUILD)/obj/cmd/*.d $(BUILD)/obj/cmd/tests/*.d

# The commit goes into core/version.o only (the0_build_info); its stamp file changes when the commit does.
T0_COMMIT := $(shell git describe --always --dirty --abbrev=12 --exclude='*' 2>/dev/null || echo unknown)
$(BUILD)/gen/commit: FORCE
	@mkdir -p $(@D)
	@echo '$(T0_COMMIT)' | cmp -s - $@ || echo '$(T0_COMMIT)' > $@
$(BUILD)/obj/core/version.o: $(BUILD)/gen/commit
$(BUILD)/obj/core/version.o: CFLAGS_ALL += -DT0_COMMIT='"$(T0_COMMIT)"'
FORCE: # always out of date (not .PHONY: make help lists those)

# cmd/: the top layer, the command lines of both binaries. cmd/the0-runtime.c and cmd/runtime_*.c make the
# runtime, cmd/the0-sim.c and cmd/sim_*.c the simulator.
RUNTIME_CMD_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,cmd/the0-runtime.c $(wildcard cmd/runtime_*.c))
SIM_CMD_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,cmd/the0-sim.c $(wildcard cmd/sim_*.c))

$(BUILD)/the0-runtime: $(RUNTIME_CMD_OBJS) $(foreach m,$(RUNTIME_MODULES),$(BUILD)/lib/lib$(m).a)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $(RUNTIME_CMD_OBJS) -Wl,--start-group $(filter %.a,$^) -Wl,--end-group $(LIBS_ALL) $(ALLOC_LIBS)

# cmd/tests/*.c: tests of the command lines' pieces that need no server, and tests that put two siblings
# together (test_kube_http.c: the production REST adapter against the served fake API server), linked with
# every cmd/ file but the two main()s and with every module.
CMD_TEST_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard cmd/tests/*.c))
CMD_LIB_OBJS := $(filter-out $(BUILD)/obj/cmd/the0-runtime.o $(BUILD)/obj/cmd/the0-sim.o,$(RUNTIME_CMD_OBJS) $(SIM_CMD_OBJS))
TEST_BINS += $(BUILD)/tests/test-cmd
$(BUILD)/tests/test-cmd: $(CMD_TEST_OBJS) $(CMD_LIB_OBJS) $(foreach m,$(sort $(RUNTIME_MODULES) $(SIM_MODULES)),$(BUILD)/lib/lib$(m).a)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $(CMD_TEST_OBJS) $(CMD_LIB_OBJS) -Wl,--start-group $(filter %.a,$^) -Wl,--end-group $(LIBS_ALL)

$(BUILD)/the0-sim: $(SIM_CMD_OBJS) $(foreach m,$(SIM_MODULES),$(BUILD)/lib/lib$(m).a)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $(SIM_CMD_OBJS) -Wl,--start-group $(filter %.a,$^) -Wl,--end-group $(LIBS_ALL) $(ALLOC_LIBS)

# ---- top-level targets --------------------------------------------------------------------------
.PHONY: all test check run bench deps docs docs-check layers-check unit help clean fuzz soak e2e cli-check images

all: $(BINARIES) $(TEST_BINS) ## build libraries, both binaries and every test binary into build/ (the default)

# Unit tier: every module's Criterion binary. A failing binary fails the target, after all have run.
unit: $(TEST_BINS) ## the unit tier: every module's Criterion binary
	@rc=0; for t in $(TEST_BINS); do echo "== $$t"; $$t $(CRITERION_FLAGS) || rc=1; done; exit $$rc

docs-check: $(BUILD)/the0-sim ## fail when docs/fsm/*.md or docs/faults.md is stale against the FSM tables or the fault points
	@bash ci/check-gen-docs.sh $(BUILD)/the0-sim

# The module layering (DESIGN.md §2, ci/layers.txt): module.mk dependencies and #includes; a back edge fails.
layers-check: ## fail when a module includes or depends on a module the layers of ci/layers.txt forbid
	@bash ci/check-layers.sh

docs: $(BUILD)/the0-sim ## regenerate docs/fsm/*.md from the FSM tables and docs/faults.md from the fault points
	@bash ci/check-gen-docs.sh $(BUILD)/the0-sim --write

test: all ## every test tier that runs here (layering, unit, docs, scenarios, soak smoke, integration, e2e, packaging, CLI)
	@$(MAKE) --no-print-directory layers-check unit docs-check $(TEST_TARGETS)
	@echo "make test: all tiers passed"

# Sanitizer build of the whole unit suite. Criterion does not fail a test on a LeakSanitizer report
# printed by its worker, so the log is scanned and any report fails the target.
check: ## the unit suite under ASan+UBSan (-fno-sanitize-recover=all); a leak report fails it
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 all
	@set -o pipefail; rc=0; for t in $(patsubst $(BUILD)/%,build/asan/%,$(TEST_BINS)); do \
	  echo "== $$t (asan+ubsan)"; \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 LSAN_OPTIONS=suppressions=$(CURDIR)/ci/lsan.supp UBSAN_OPTIONS=print_stacktrace=1 \
	    $$t $(CRITERION_FLAGS) 2>&1 | tee build/asan/last.log || rc=1; \
	  if grep -q -E 'ERROR: (LeakSanitizer|AddressSanitizer)|runtime error:' build/asan/last.log; then \
	    echo "make check: sanitizer report in $$t"; rc=1; fi; \
	done; exit $$rc

run: $(BUILD)/the0-sim ## the simulator replaying the embedded demo fleet
	$(BUILD)/the0-sim run

bench: all $(BENCH_BINS) ## benchmarks that print figures (never pass/fail on time)
	@bash ci/bench.sh $(BUILD)

deps: ## install the Debian packages the build needs (done automatically when one is missing)
	bash ci/deps.sh

images: ## the container images real pods run, built with podman from Debian's packages (ci/images.sh; cached)
	@bash ci/images.sh build

help: ## this list (generated from the ## comments of the makefiles)
	@echo "usage: make [TARGET...] [V=1] [BUILD=DIR] [SAN=1] [FIU=0]"
	@awk '/^[a-z][a-z0-9-]*:[^=].*## / { i = index($$0, "## "); t = $$0; sub(/:.*/, "", t); \
	  printf "  make %-22s %s\n", t, substr($$0, i + 3) }' \
	  $(filter-out %.d,$(MAKEFILE_LIST))

TEST_TARGETS += cli-check
cli-check: $(BINARIES) ## usage errors and help of every command of both binaries (part of make test)
	@bash ci/check-cli.sh $(BUILD)/the0-runtime $(BUILD)/the0-sim

clean: ## remove build/
	rm -rf build
