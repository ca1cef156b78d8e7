# scenarios: the scenario language (parser, runner, invariant checker, replay) and the replay corpus.
scenarios_DEPS := core fsm controllers fakes sim adapters
