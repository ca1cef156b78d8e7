# adapters: real ports (S3 over libcurl SigV4; Kubernetes REST, MongoDB, NATS; the wall-clock event loop).
adapters_DEPS := core domain

# Integration stage (part of `make test`): real nats-server -js and CongoDB (MongoDB wire protocol) on
# free 127.0.0.1 ports, started by ci/adapters-integration.sh and stopped even when the tests fail.
ADAPTERS_ITEST_SRCS := $(wildcard adapters/itests/*.c)
ADAPTERS_ITEST_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(ADAPTERS_ITEST_SRCS))
-include $(ADAPTERS_ITEST_OBJS:.o=.d)

$(BUILD)/tests/itest-adapters: $(ADAPTERS_ITEST_OBJS) $(foreach m,adapters controllers domain fsm core,$(BUILD)/lib/lib$(m).a)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $(ADAPTERS_ITEST_OBJS) -Wl,--start-group $(filter %.a,$^) -Wl,--end-group $(LIBS_ALL)

TEST_TARGETS += adapters-integration
.PHONY: adapters-integration
adapters-integration: $(BUILD)/tests/itest-adapters $(BUILD)/the0-runtime ## adapters against real nats-server -js and CongoDB (part of make test)
	@bash ci/adapters-integration.sh $(BUILD)/tests/itest-adapters $(BUILD)/the0-runtime $(CRITERION_FLAGS)
