# domain: the0's domain rules shared by controllers, adapters and fakes: names and labels, cron
# expressions, Go-compatible JSON, bot documents, the config and spec hashes and the one digest helper.
domain_DEPS := core
