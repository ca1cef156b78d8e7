# fakes: in-process Kubernetes API server, kubelet, CronJob/Job controllers, MinIO, NATS and MongoDB fakes.
fakes_DEPS := core fsm domain sim
