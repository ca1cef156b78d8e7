/* ports.c: names for the port enums (see ports.h). */
#include "core/ports.h"

static const char *const kind_names[KUBE__KINDS] = {"pods", "cronjobs", "jobs", "leases", "events"};
static const char *const kind_kinds[KUBE__KINDS] = {"Pod", "CronJob", "Job", "Lease", "Event"};

const char *kube_kind_name(kube_kind k) { return (unsigned)k < KUBE__KINDS ? kind_names[k] : "?"; }
const char *kube_kind_kind(kube_kind k) { return (unsigned)k < KUBE__KINDS ? kind_kinds[k] : "?"; }

const char *store_coll_name(store_coll c)
{
    return c == STORE_BOTS ? "bot_runner.bots" : c == STORE_SCHEDULES ? "bot_scheduler.bot_schedules" : "?";
}
