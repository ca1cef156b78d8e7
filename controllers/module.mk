# controllers: reconcilers, pod/CronJob generation, config hash, desired-state documents.
controllers_DEPS := core domain fsm
# Tests only (their independent peers and the code they cover): test_subscriber.c checks the intake's
# versioned writes against the fake MongoDB (fakes, sim); test_ctlcmd.c covers the pieces of
# `the0-runtime controller` (cmd_controller.c) that need no server, and that file wires the real adapters
# (a known violation in ci/layers.txt until the subcommand moves to cmd/).
controllers_TEST_DEPS := fakes sim adapters
