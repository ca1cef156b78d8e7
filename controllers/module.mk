# controllers: reconcilers, pod/CronJob generation, config hash, desired-state documents.
controllers_DEPS := core domain fsm
