# scenarios: the scenario language (parser, runner, invariant checker, replay) and the replay corpus.
scenarios_DEPS := core fsm controllers fakes sim adapters
# the0-sim links the scenario runner, whose fakes use the objstore buffer helpers of adapters/.
SIM_MODULES += adapters
# scenario tier of make test: every scenarios/*.scn twice per seed (identical traces), the wrong-expectation
# check and the corpus coverage (ci/replay-all.sh).
TEST_TARGETS += scenario-replay
.PHONY: scenario-replay
scenario-replay: $(BUILD)/the0-sim
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
