fsm_DEPS := core
