# controllers: reconcilers, pod/CronJob generation, config hash, desired-state documents.
controllers_DEPS := core domain fsm
# tests/test_ctlcmd.c covers the pieces of `the0-runtime controller` (cmd_controller.c) that need no
# server; that file wires the real adapters, so its test links them (a known violation in ci/layers.txt
# until the subcommand moves to cmd/).
controllers_TEST_DEPS := adapters
