/* ports.c: names for the port enums (see ports.h). */
#include "core/ports.h"

static const char *const kind_names[KUBE__KINDS] = {"pods", "cronjobs", "jobs", "leases", "events"};
static const char *const kind_kinds[KUBE__KINDS] = {"Pod", "CronJob", "Job", "Lease", "Event"};

const char *kube_kind_name(kube_kind k) { return (unsigned)k < KUBE__KINDS ? kind_names[k] : "?"; }
const char *kube_kind_kind(kube_kind k) { return (unsigned)k < KUBE__KINDS ? kind_kinds[k] : "?"; }

const char *store_coll_name(store_coll c)
{
    static const char *const names[STORE__COLLS] = {"bot_runner.bots", "bot_scheduler.bot_schedules",
                                                    "bot_runner.bots_deleted", "bot_scheduler.bot_schedules_deleted"};
    return (unsigned)c < STORE__COLLS ? names[c] : "?";
}
