# e2e: live end-to-end runs, part of `make test` (included from the top-level Makefile).
#   make e2e   e2e/conformance.sh (kubectl and python3-kubernetes against `the0-sim serve`), then
#              e2e/live.sh (nats-server -js, CongoDB, `the0-sim serve` and `the0-runtime controller`
#              processes; events published as the API does; observed through kubectl)
# Both scripts start every server on a free 127.0.0.1 port and stop them even when a check fails.
E2E_PUBLISH := $(BUILD)/e2e/publish

$(E2E_PUBLISH): $(BUILD)/obj/e2e/publish.o $(foreach m,fakes controllers domain fsm sim core,$(BUILD)/lib/lib$(m).a)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $< -Wl,--start-group $(filter %.a,$^) -Wl,--end-group $(LIBS_ALL)
-include $(BUILD)/obj/e2e/publish.d

TEST_TARGETS += e2e
.PHONY: e2e e2e-conformance e2e-live
e2e: $(BUILD)/the0-sim $(BUILD)/the0-runtime $(E2E_PUBLISH) ## the live conformance tier: e2e-conformance then e2e-live (part of make test)
	@bash e2e/conformance.sh $(BUILD)/the0-sim
	@bash e2e/live.sh $(BUILD)/the0-sim $(BUILD)/the0-runtime $(E2E_PUBLISH)

e2e-conformance: $(BUILD)/the0-sim ## kubectl and python3-kubernetes against the0-sim serve
	@bash e2e/conformance.sh $(BUILD)/the0-sim

e2e-live: $(BUILD)/the0-sim $(BUILD)/the0-runtime $(E2E_PUBLISH) ## the controller process against nats-server, CongoDB and the0-sim serve
	@bash e2e/live.sh $(BUILD)/the0-sim $(BUILD)/the0-runtime $(E2E_PUBLISH)
