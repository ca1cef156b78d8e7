# scenarios: the scenario language (parser, runner, invariant checker, replay) and the replay corpus.
scenarios_DEPS := core fsm domain controllers daemon fakes sim
# scenario tier of make test: every scenarios/*.scn twice per seed (identical traces), the wrong-expectation
# check and the corpus coverage (ci/replay-all.sh).
TEST_TARGETS += scenario-replay
.PHONY: scenario-replay
scenario-replay: $(BUILD)/the0-sim ## every scenarios/*.scn twice per seed, identical traces, corpus coverage (part of make test)
	@bash ci/replay-all.sh $(BUILD)/the0-sim
# the demo fleet is embedded in the0-sim (`the0-sim run`, `make run`) so the binary works from any
# directory: scenarios/demo.scn becomes the C string scn_demo_text in build/gen/demo_scn.c, compiled into
# libscenarios.a (the archive rule takes every prerequisite). `?` is escaped: -std=c11 has trigraphs.
$(BUILD)/gen/demo_scn.c: scenarios/demo.scn scenarios/module.mk
	@mkdir -p $(@D)
	@$(if $(Q),echo "  GEN     $@")
	$(Q){ echo '/* generated from scenarios/demo.scn by scenarios/module.mk; do not edit */'; \
	  echo 'const char scn_demo_text[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' -e 's/^/"/' -e 's/$$/\\n"/' scenarios/demo.scn; \
	  echo ';'; } >$@.tmp && mv $@.tmp $@
$(BUILD)/gen/demo_scn.o: $(BUILD)/gen/demo_scn.c
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_ALL) -c $< -o $@
$(BUILD)/lib/libscenarios.a: $(BUILD)/gen/demo_scn.o
# soak tier of make test: ci/soak-smoke.sh: 200 seeds in safety mode (10 bots, 1 simulated hour, 2 jobs), 100
# liveness seeds of 100 bots and 4 of 500 bots, and exhaustive crash/fault sweeps of four small corpus files
# (docs/soak.md).
TEST_TARGETS += soak-smoke
.PHONY: soak-smoke
soak-smoke: $(BUILD)/the0-sim ## short soaks (safety, liveness at 100 and 500 bots) and four sweeps (part of make test)
	@bash ci/soak-smoke.sh $(BUILD)/the0-sim
# make soak: a long campaign over every CPU (SOAK_SEEDS, SOAK_FLAGS e.g. "--mode liveness"); SOAK_BOTS, a list
# of fleet sizes, runs SOAK_SEEDS seeds at each (SOAK_BOTS="100 500": a mix; fleet size drives which failures
# show). Failing seeds and their shrunk scenarios land in $(BUILD)/soak/ (bots-B/ for each size of a mix).
SOAK_SEEDS ?= 5000
SOAK_BOTS ?=
soak: $(BUILD)/the0-sim ## a long soak campaign over every CPU (SOAK_SEEDS, SOAK_BOTS: fleet sizes, SOAK_FLAGS)
	$(if $(strip $(SOAK_BOTS)),set -e; $(foreach b,$(SOAK_BOTS),$(BUILD)/the0-sim soak --seeds $(SOAK_SEEDS) \
	    --jobs $$(nproc) --bots $(b) --out $(BUILD)/soak/bots-$(b) $(SOAK_FLAGS);),$(BUILD)/the0-sim soak \
	    --seeds $(SOAK_SEEDS) --jobs $$(nproc) --out $(BUILD)/soak $(SOAK_FLAGS))
# bench_sim and bench_resync measure what the0-sim and the runtime do, so they link the same allocator
# (Makefile: ALLOC_LIBS); bench_resync reads its bytes-per-bot figure from jemalloc's statistics (from
# glibc's mallinfo2 in a sanitizer build, which has no jemalloc).
$(BUILD)/bench/bench_sim $(BUILD)/bench/bench_resync: LIBS_ALL += $(ALLOC_LIBS)
$(BUILD)/obj/scenarios/bench/bench_resync.o: CFLAGS_ALL += $(if $(ALLOC_LIBS),-DT0_JEMALLOC=1)
