# controllers: reconcilers, pod/CronJob generation, config hash, desired-state documents.
controllers_DEPS := core domain fsm
# Tests only (their independent peer): test_subscriber.c checks the intake's versioned writes against the
# fake MongoDB (fakes, sim).
controllers_TEST_DEPS := fakes sim
