# e2e: live end-to-end runs, part of `make test` (included from the top-level Makefile).
#   make e2e   e2e/conformance.sh (kubectl and python3-kubernetes against `the0-sim serve`), e2e/strict.sh
#              (serve refuses what a real API server refuses; the controller's objects pass strict
#              validation), e2e/live.sh (nats-server -js, CongoDB, `the0-sim serve` and `the0-runtime
#              controller` processes; events published as the API does; observed through kubectl), then
#              e2e/ops.sh (probes, Events, metrics with promtool, logs)
# Every script starts every server on a free 127.0.0.1 port and stops them even when a check fails.
#   make e2e-real-pods   e2e/real-pods.sh: the controller in its image, bots as real containers (serve
#              --run-pods, podman), moto with SigV4 auth; builds the images first (make images, cached).
#              Part of `make test` (REAL_PODS=0 leaves it out, e.g. on a machine without podman).
E2E_PUBLISH := $(BUILD)/e2e/publish

$(E2E_PUBLISH): $(BUILD)/obj/e2e/publish.o $(foreach m,fakes controllers domain fsm sim core,$(BUILD)/lib/lib$(m).a)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $< -Wl,--start-group $(filter %.a,$^) -Wl,--end-group $(LIBS_ALL)
-include $(BUILD)/obj/e2e/publish.d

TEST_TARGETS += e2e
REAL_PODS ?= 1
ifeq ($(REAL_PODS),1)
TEST_TARGETS += e2e-real-pods
endif
.PHONY: e2e e2e-conformance e2e-strict e2e-live e2e-ops e2e-real-pods ci-images
e2e: $(BUILD)/the0-sim $(BUILD)/the0-runtime $(E2E_PUBLISH) ## the live conformance tier: e2e-conformance, e2e-strict, e2e-live then e2e-ops (part of make test)
	@bash e2e/conformance.sh $(BUILD)/the0-sim
	@bash e2e/strict.sh $(BUILD)/the0-sim $(BUILD)/the0-runtime
	@bash e2e/live.sh $(BUILD)/the0-sim $(BUILD)/the0-runtime $(E2E_PUBLISH)
	@bash e2e/ops.sh $(BUILD)/the0-sim $(BUILD)/the0-runtime $(E2E_PUBLISH)

e2e-conformance: $(BUILD)/the0-sim ## kubectl and python3-kubernetes against the0-sim serve
	@bash e2e/conformance.sh $(BUILD)/the0-sim

e2e-strict: $(BUILD)/the0-sim $(BUILD)/the0-runtime ## serve refuses what a real API server refuses (kubectl, curl)
	@bash e2e/strict.sh $(BUILD)/the0-sim $(BUILD)/the0-runtime

e2e-live: $(BUILD)/the0-sim $(BUILD)/the0-runtime $(E2E_PUBLISH) ## the controller process against nats-server, CongoDB and the0-sim serve
	@bash e2e/live.sh $(BUILD)/the0-sim $(BUILD)/the0-runtime $(E2E_PUBLISH)

e2e-ops: $(BUILD)/the0-sim $(BUILD)/the0-runtime $(E2E_PUBLISH) ## the controller's probes, Events, metrics (promtool) and logs
	@bash e2e/ops.sh $(BUILD)/the0-sim $(BUILD)/the0-runtime $(E2E_PUBLISH)

e2e-real-pods: $(BUILD)/the0-sim $(BUILD)/the0-runtime $(E2E_PUBLISH) ## the controller in its image, bots as real containers (serve --run-pods); part of make test (REAL_PODS=0: not)
	@bash e2e/real-pods.sh $(BUILD)/the0-sim $(BUILD)/the0-runtime $(E2E_PUBLISH)

# ci-images: what .ci/run builds before `make test`: the images, when the real-pods stage is on (a cold
# build takes minutes; its time is printed apart from the tests').
ci-images: ## what .ci/run builds before make test: the images, when REAL_PODS=1
ifeq ($(REAL_PODS),1)
	@bash ci/images.sh build
else
	@echo "ci-images: skipped (REAL_PODS=$(REAL_PODS): the real-pods stage is not in make test)"
endif
