# adapters: real ports (S3 over libcurl SigV4; Kubernetes REST, MongoDB, NATS; the wall-clock event loop).
# The unit tests also cover the pieces of `the0-runtime controller` (controllers/cmd_controller.c) that
# need no server, hence fsm and controllers.
adapters_DEPS := core fsm controllers
