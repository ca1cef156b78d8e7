# adapters: real ports (S3 over libcurl SigV4; later Kubernetes REST, MongoDB, NATS).
adapters_DEPS := core
