# fuzz/fuzz.mk: libFuzzer targets (clang 14, ASan+UBSan) built into $(BUILD)/fuzz/; `make fuzz`, `make fuzz-smoke`.
#
# fuzz/fuzz_<name>.c is target <name>. Module sources are compiled again with clang into $(BUILD)/fuzz/obj/
# (never mixed with the gcc objects) and archived per module, so a target links only what it uses.
# A target links the controllers module unless FUZZ_MODULE_<name> names another, plus that module's
# <module>_DEPS (from its module.mk) and core (see fuzz/README.md).

FUZZ_CC ?= clang-14
# the clang toolchain and the fuzzer runtime come from Debian, installed on demand
ifneq ($(filter fuzz fuzz-smoke fuzz-build,$(MAKECMDGOALS)),)
  ifneq ($(shell command -v $(FUZZ_CC) >/dev/null && dpkg-query -W -f='$${Status}' libclang-rt-14-dev 2>/dev/null | grep -c 'ok installed'),1)
    $(info make: installing the clang toolchain for fuzzing (ci/deps.sh fuzz))
    FUZZ_DEPS_RC := $(shell bash ci/deps.sh fuzz 1>&2; echo $$?)
  endif
endif
FUZZ_SECONDS ?= 30
FUZZ_SMOKE_SECONDS ?= 3
FUZZ_DIR := $(BUILD)/fuzz
FUZZ_SAN := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -DFIU_ENABLE=1 -O1 -g $(FUZZ_SAN) -I. $(PKG_CFLAGS)
# Criterion is a test-only dependency: the harnesses must not need it.
FUZZ_LIBS := $(filter-out -lcriterion,$(PKG_LIBS)) -lm -lpthread

FUZZ_MODULE_zip := daemon
FUZZ_MODULE_targz := daemon
FUZZ_MODULE_scenario := scenarios
FUZZ_MODULE_kubeconfig := adapters
FUZZ_MODULE_kubestatus := adapters
FUZZ_MODULE_apiwrite := fakes

FUZZ_TARGETS := $(sort $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c)))
FUZZ_BINS := $(addprefix $(FUZZ_DIR)/fuzz_,$(FUZZ_TARGETS))
fuzz_deps = $(sort $(foreach m,$(or $(FUZZ_MODULE_$(1)),controllers),$(m) $($(m)_DEPS)) core)
FUZZ_MODS := $(sort $(foreach t,$(FUZZ_TARGETS),$(call fuzz_deps,$(t))))

# One clang-built archive per module the targets need.
define fuzz_module_rules
FUZZ_OBJS_$(1) := $$(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$$(wildcard $(1)/*.c))
$(FUZZ_DIR)/lib/lib$(1).a: $$(FUZZ_OBJS_$(1))
	@mkdir -p $$(@D)
	@rm -f $$@
	$$(Q)ar rcs $$@ $$^
endef
$(foreach m,$(FUZZ_MODS),$(eval $(call fuzz_module_rules,$(m))))

define fuzz_target_rules
$(FUZZ_DIR)/fuzz_$(1): $(FUZZ_DIR)/obj/fuzz/fuzz_$(1).o $$(foreach m,$$(call fuzz_deps,$(1)),$(FUZZ_DIR)/lib/lib$$(m).a)
	@$$(if $$(Q),echo "  FUZZLD  $$@")
	$$(Q)$$(FUZZ_CC) $$(FUZZ_SAN) -o $$@ $$< -Wl,--start-group $$(filter %.a,$$^) -Wl,--end-group -Wl,--as-needed $$(FUZZ_LIBS)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_target_rules,$(t))))

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  FUZZCC  $<")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

-include $(wildcard $(FUZZ_DIR)/obj/*/*.d $(FUZZ_DIR)/obj/*/*/*.d)

.PHONY: fuzz fuzz-smoke fuzz-build
fuzz-build: $(FUZZ_BINS) ## build the fuzz targets only

# Each target: replay fuzz/regressions/<name>/, then fuzz for FUZZ_SECONDS from fuzz/corpus/<name>/, new
# inputs going to $(BUILD)/fuzz/corpus/<name>/. Fails (after all targets ran) when any crashed.
fuzz: $(FUZZ_BINS) ## libFuzzer targets for every parser, bounded in time (fuzz/README.md)
	@bash fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_DIR) $(FUZZ_TARGETS)

fuzz-smoke: $(FUZZ_BINS) ## a short run of every fuzz target
	@bash fuzz/run.sh $(FUZZ_SMOKE_SECONDS) $(FUZZ_DIR) $(FUZZ_TARGETS)
