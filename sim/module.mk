# sim: the simulation loop (virtual clock, timer heap, seeded PRNG) and the fault registry.
sim_DEPS := core
