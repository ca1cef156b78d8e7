# sim: the simulation loop (virtual clock, timer heap, seeded PRNG), the fault registry, a string hash map.
sim_DEPS := core
