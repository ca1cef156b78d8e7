# daemon: `daemon init` / `daemon sync`, entrypoints, state and log shipping, Docker-mode bootstrap.
daemon_DEPS := core fsm adapters
