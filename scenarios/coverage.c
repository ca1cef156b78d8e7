/* coverage.c: FSM transition coverage over scenario runs (scn_coverage): which table rows fired. */
#include <stdlib.h>
#include <string.h>

#include "fsm/tables.h"
#include "scenarios/scn.h"

t0_status scn_coverage_init(scn_coverage *c, t0_err *err)
{
    memset(c, 0, sizeof *c);
    if (fsm_coverage_init(&c->bot, &fsm_bot_table) != T0_OK || fsm_coverage_init(&c->sched, &fsm_schedule_table) != T0_OK ||
        fsm_coverage_init(&c->pod, &fsm_pod_table) != T0_OK || fsm_coverage_init(&c->sync, &fsm_sync_table) != T0_OK) {
        scn_coverage_free(c);
        return t0_fail(err, T0_ENOMEM, "coverage: out of memory");
    }
    c->init = true;
    return T0_OK;
}

void scn_coverage_free(scn_coverage *c)
{
    fsm_coverage_free(&c->bot);
    fsm_coverage_free(&c->sched);
    fsm_coverage_free(&c->pod);
    fsm_coverage_free(&c->sync);
    c->init = false;
}

static void report_one(const fsm_coverage *c, FILE *out, bool list)
{
    size_t total = 0, fired = fsm_coverage_fired(c, &total);
    fprintf(out, "coverage %s: %zu/%zu rows fired\n", c->table->name, fired, total);
    if (!list) return;
    char when[200];
    for (size_t i = 0; i < c->table->nrows; i++) {
        const fsm_row *r = &c->table->rows[i];
        if (r->kind != FSM_ROW_GO || c->fired[i]) continue;
        fsm_format_when(c->table, r, when, sizeof when);
        fprintf(out, "  never fired: %s row %zu: %s -%s%s%s-> %s (%s)\n", c->table->name, i,
                r->from == FSM_ANY ? "*" : fsm_state_name(c->table, r->from), fsm_event_name(c->table, r->event),
                when[0] ? " if " : "", when, r->to == FSM_SAME ? "(same)" : fsm_state_name(c->table, r->to), r->why);
    }
}

void scn_coverage_report(const scn_coverage *c, FILE *out)
{
    report_one(&c->bot, out, true);
    report_one(&c->sched, out, true);
    report_one(&c->pod, out, false);
    report_one(&c->sync, out, false);
}
