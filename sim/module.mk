# sim: the simulation loop (a virtual clock over the core timer heap and PRNG) and the fault registry.
sim_DEPS := core
