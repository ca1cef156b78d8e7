# fakes: in-process Kubernetes API server, kubelet, CronJob/Job controllers, MinIO, NATS and MongoDB fakes.
fakes_DEPS := core fsm domain sim
# test_kube_http.c drives the served fake API server with the real REST client (adapters/kube_rest) as
# its independent peer; only the tests link it.
fakes_TEST_DEPS := adapters
