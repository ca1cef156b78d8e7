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
