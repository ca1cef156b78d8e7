# controllers: reconcilers, pod/CronJob generation, config hash, desired-state documents.
controllers_DEPS := core domain fsm
# test_subscriber.c checks the intake's versioned writes against the fake MongoDB (its independent peer);
# only the tests link it.
controllers_TEST_DEPS := fakes sim
