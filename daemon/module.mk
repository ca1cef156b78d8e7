# daemon: `daemon init` / `daemon sync`, entrypoints, state and log shipping, Docker-mode bootstrap.
daemon_DEPS := core fsm domain
# the unit tests run the daemon on the simulator's virtual loop and container filesystem model (fakes/podfs),
# and on the POSIX filesystem (adapters/fs_posix) for archives on real directories
daemon_TEST_DEPS := fakes sim adapters

# Integration stage (part of `make test`): real s3rver and moto (SigV4 auth on), started on free 127.0.0.1
# ports by ci/s3-servers.sh and stopped afterwards even when the tests fail. itest_pod.c runs the init and
# sync containers of the pod spec podgen generates under bubblewrap (read-only root, uid 1000, the spec's
# volumes, args and env): it links controllers for podgen, as the independent source of the spec.
DAEMON_ITEST_SRCS := $(wildcard daemon/itests/*.c) daemon/tests/helpers.c
DAEMON_ITEST_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(DAEMON_ITEST_SRCS))
-include $(DAEMON_ITEST_OBJS:.o=.d)

$(BUILD)/tests/itest-daemon: $(DAEMON_ITEST_OBJS) $(foreach m,daemon controllers fsm domain adapters core,$(BUILD)/lib/lib$(m).a)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $(DAEMON_ITEST_OBJS) -Wl,--start-group $(filter %.a,$^) -Wl,--end-group $(LIBS_ALL)

TEST_TARGETS += daemon-integration
.PHONY: daemon-integration
daemon-integration: $(BUILD)/tests/itest-daemon $(BUILD)/the0-runtime ## the daemon against real s3rver and moto (part of make test)
	@bash ci/s3-servers.sh install
	@dir=$$(mktemp -d /tmp/the0-s3-XXXXXX); \
	trap 'bash ci/s3-servers.sh stop "$$dir"; rm -rf "$$dir"' EXIT; \
	bash ci/s3-servers.sh start "$$dir" || exit 1; \
	set -a; . "$$dir/env"; set +a; \
	echo "== $(BUILD)/tests/itest-daemon (s3rver $$S3RVER_ENDPOINT, moto $$MOTO_ENDPOINT)"; \
	THE0_SRC="$(CURDIR)" THE0_RUNTIME="$(abspath $(BUILD)/the0-runtime)" $(BUILD)/tests/itest-daemon $(CRITERION_FLAGS)

# build/bench/bench_daemon (the generic bench rule) needs live servers: ci/bench-daemon.sh drives it.
# It measures the daemon through the real S3 client (ci/layers.txt allows the include), so it links adapters.
$(BUILD)/bench/bench_daemon: $(BUILD)/lib/libadapters.a
