/* check.c: the incremental invariant checker of DESIGN §5. It keeps per-bot facts updated from the
 * fakes' change observers and the managers' store reads, so each simulated step costs O(1) and each
 * change O(that change); nothing scans all objects per step. Definitions: docs/scenarios.md. */
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/str.h"
#include "scenarios/world.h"

#define LBL_BOT "the0.dev/bot-id"
#define LBL_SCHED "the0.dev/schedule-id"

void scn_inv_init(scn_world *w)
{
    sim_map_init(&w->ids);
    sim_map_init(&w->log_len);
}

void scn_inv_free(scn_world *w)
{
    sim_map_entry *e;
    size_t it;
    for (e = sim_map_first(&w->ids, &it); e; e = sim_map_next(&w->ids, &it, e)) {
        scn_idinfo *in = e->val;
        free(in->id);
        free(in->log_seen);
        free(in);
    }
    sim_map_free(&w->ids);
    sim_map_free(&w->log_len);
    for (int c = 0; c < 2; c++) {
        free(w->awaiting[c]);
        w->awaiting[c] = NULL;
        w->nawaiting[c] = w->capawaiting[c] = 0;
    }
}

static scn_idinfo *idinfo(scn_world *w, store_coll c, const char *id, bool create)
{
    char key[300];
    t0_strjoin(key, sizeof key, c == STORE_BOTS ? "b:" : "s:", id);
    scn_idinfo *in = sim_map_get(&w->ids, key);
    if (in || !create) return in;
    in = calloc(1, sizeof *in);
    if (!in || !(in->id = strdup(id))) {
        free(in);
        return NULL;
    }
    in->w = w;
    in->coll = c;
    in->undesired_ms = in->observed_ms = -1;
    if (sim_map_put(&w->ids, key, in, NULL) != T0_OK) {
        free(in->id);
        free(in);
        return NULL;
    }
    return in;
}

static const char *label(const cJSON *obj, const char *key)
{
    const cJSON *l = t0_json_get(t0_json_get(obj, "metadata"), "labels");
    const cJSON *v = t0_json_get(l, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The bot a Pod/CronJob belongs to for the invariants: realtime pods (not Job pods) by bot-id, CronJobs
 * by schedule-id. NULL for anything else. */
static const char *owner_id(kube_kind k, const cJSON *obj, store_coll *c)
{
    if (k == KUBE_POD && !label(obj, "job-name") && !label(obj, "batch.kubernetes.io/job-name")) {
        *c = STORE_BOTS;
        return label(obj, LBL_BOT);
    }
    if (k == KUBE_CRONJOB) {
        *c = STORE_SCHEDULES;
        return label(obj, LBL_SCHED);
    }
    return NULL;
}

static size_t objects_of(scn_world *w, const scn_idinfo *in)
{
    return in->coll == STORE_BOTS ? kfake_count_label(w->kube, KUBE_POD, w->o.ns, LBL_BOT, in->id)
                                  : kfake_count_label(w->kube, KUBE_CRONJOB, w->o.ns, LBL_SCHED, in->id);
}

/* ---- no-orphans -------------------------------------------------------------------------------------- */
static void orphan_deadline(void *ud)
{
    scn_idinfo *in = ud;
    scn_world *w = in->w;
    in->check_timer = 0;
    if (in->desired) return;
    size_t n = objects_of(w, in);
    if (n) {
        char t1[32], t2[32];
        scn_violation(w, INV_ORPHANS, "%s %s was observed %s at %s, yet %zu %s still exist%s at %s (allowance %llds)",
                      in->coll == STORE_BOTS ? "bot" : "schedule", in->id,
                      storefake_peek(w->store, in->coll, in->id) ? "disabled" : "deleted",
                      scn_format_offset(in->observed_ms, t1, sizeof t1), n,
                      in->coll == STORE_BOTS ? (n == 1 ? "pod" : "pods") : (n == 1 ? "cronjob" : "cronjobs"),
                      n == 1 ? "s" : "", scn_format_offset(scn_now(w), t2, sizeof t2),
                      (long long)(w->o.delete_allowance_ms / 1000));
    }
}

static void arm_orphan(scn_world *w, scn_idinfo *in)
{
    if (in->check_timer) return;
    in->check_timer = sim_loop_timer(w->loop, w->o.delete_allowance_ms, orphan_deadline, in);
}

static void observe_undesired(scn_world *w, scn_idinfo *in)
{
    if (in->desired || in->observed_ms >= 0) return;
    in->observed_ms = scn_now(w);
    arm_orphan(w, in);
}

void scn_inv_store_change(scn_world *w, store_coll c, const char *id, const cJSON *doc)
{
    scn_idinfo *in = idinfo(w, c, id, true);
    if (!in) return;
    in->changed_ms = scn_now(w);
    bool desired = doc && storefake_doc_enabled(doc);
    if (!doc && in->broken) {
        in->broken = false;
        if (w->broken_docs) w->broken_docs--;
    }
    if (desired) {
        if (!in->desired) w->desired_count[c]++;
        in->desired = true;
        in->undesired_ms = in->observed_ms = -1;
        if (in->check_timer) sim_loop_cancel(w->loop, in->check_timer);
        in->check_timer = 0;
        return;
    }
    if (in->desired && w->desired_count[c]) w->desired_count[c]--;
    bool was = in->desired || in->undesired_ms < 0;
    in->desired = false;
    if (was) {
        in->undesired_ms = scn_now(w);
        in->observed_ms = -1;
    }
    if (!in->awaiting_read) {
        if (w->nawaiting[c] == w->capawaiting[c]) {
            size_t nc = w->capawaiting[c] ? 2 * w->capawaiting[c] : 16;
            scn_idinfo **na = realloc(w->awaiting[c], nc * sizeof *na);
            if (!na) return;
            w->awaiting[c] = na;
            w->capawaiting[c] = nc;
        }
        w->awaiting[c][w->nawaiting[c]++] = in;
        in->awaiting_read = true;
    }
}

void scn_inv_mark_broken(scn_world *w, store_coll c, const char *id, bool broken)
{
    scn_idinfo *in = idinfo(w, c, id, true);
    if (!in || in->broken == broken) return;
    in->broken = broken;
    if (broken) w->broken_docs++;
    else if (w->broken_docs) w->broken_docs--;
}

void scn_inv_read(scn_world *w, store_coll c, t0_status st, const cJSON *docs)
{
    if ((unsigned)c > 1) return;
    int n = cJSON_GetArraySize(docs);
    if (st != T0_OK || (n == 0 && w->desired_count[c] > 0)) {
        w->read_bad[c] = true;
        return;
    }
    w->read_bad[c] = false;
    for (size_t i = 0; i < w->nawaiting[c]; i++) {
        scn_idinfo *in = w->awaiting[c][i];
        in->awaiting_read = false;
        observe_undesired(w, in);
    }
    w->nawaiting[c] = 0;
}

void scn_inv_get(scn_world *w, store_coll c, const char *id, t0_status st, const cJSON *doc)
{
    if (st != T0_ENOTFOUND && !(st == T0_OK && !storefake_doc_enabled(doc))) return;
    scn_idinfo *in = idinfo(w, c, id, false);
    if (in) observe_undesired(w, in);
}

/* ---- state and log loss ------------------------------------------------------------------------------- */
static void loss_check(scn_world *w, scn_idinfo *in, const char *when)
{
    kubelet_bot_obs ob;
    if (!kubelet_bot_observe(w->kl, in->id, &ob)) return;
    if (ob.state_lost > in->state_lost_seen)
        scn_violation(w, INV_STATE_LOSS, "bot %s: %llu pod(s) ended with state written after the last upload (%s; "
                      "written seq %llu, uploaded seq %llu)", in->id, (unsigned long long)(ob.state_lost - in->state_lost_seen),
                      when, (unsigned long long)ob.state_written_seq, (unsigned long long)ob.state_uploaded_seq);
    if (ob.log_lines_lost > in->log_lost_seen)
        scn_violation(w, INV_LOG_LOSS, "bot %s: %llu log line(s) never shipped (%s; written %llu, shipped %llu)", in->id,
                      (unsigned long long)(ob.log_lines_lost - in->log_lost_seen), when,
                      (unsigned long long)ob.log_lines_written, (unsigned long long)ob.log_lines_shipped);
    in->state_lost_seen = ob.state_lost;
    in->log_lost_seen = ob.log_lines_lost;
}

void scn_inv_kube(scn_world *w, kube_watch_type type, kube_kind kind, const cJSON *obj, bool deletion_started)
{
    store_coll c;
    const char *id = owner_id(kind, obj, &c);
    if (!id) return;
    scn_idinfo *in = idinfo(w, c, id, true);
    if (!in) return;
    if (type == KUBE_WATCH_ADDED && !in->desired && in->observed_ms >= 0) arm_orphan(w, in);
    if (deletion_started && !w->scenario_deleting && in->desired) {
        const char *phase = kfake_str(obj, "status.phase");
        bool terminal = phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"));
        int64_t created = 0;
        const char *ct = kfake_str(obj, "metadata.creationTimestamp");
        bool current = ct && sim_parse_rfc3339(ct, &created) && created - w->t0 >= in->changed_ms;
        if (!terminal && current) {
            const char *name = kfake_str(obj, "metadata.name");
            if (w->read_bad[c])
                scn_violation(w, INV_DELETE_GUARD, "%s %s of desired %s %s deleted while the last desired-state read of "
                              "%s failed or came back empty", kube_kind_kind(kind), name ? name : "?",
                              c == STORE_BOTS ? "bot" : "schedule", id, store_coll_name(c));
            else if (w->broken_docs && !in->broken)
                scn_violation(w, INV_BAD_DOC, "%s %s of healthy %s %s deleted while %u broken document(s) are stored",
                              kube_kind_kind(kind), name ? name : "?", c == STORE_BOTS ? "bot" : "schedule", id,
                              w->broken_docs);
        }
    }
    if (type == KUBE_WATCH_DELETED && kind == KUBE_POD) {
        const char *name = kfake_str(obj, "metadata.name");
        char when[200];
        snprintf(when, sizeof when, "when pod %s was removed", name ? name : "?");
        loss_check(w, in, when);
    }
}

static bool bit_test_set(scn_idinfo *in, uint64_t n)
{
    size_t byte = (size_t)(n / 8);
    if (byte >= in->log_cap) {
        size_t nc = in->log_cap ? in->log_cap : 64;
        while (nc <= byte) nc *= 2;
        unsigned char *nb = realloc(in->log_seen, nc);
        if (!nb) return false;
        memset(nb + in->log_cap, 0, nc - in->log_cap);
        in->log_seen = nb;
        in->log_cap = nc;
    }
    bool was = in->log_seen[byte] & (1u << (n % 8));
    in->log_seen[byte] |= (unsigned char)(1u << (n % 8));
    return was;
}

void scn_inv_object(scn_world *w, const char *bucket, const char *key, const objfake_object *obj)
{
    if (strcmp(bucket, "bot-logs") || strncmp(key, "logs/", 5)) return;
    uintptr_t prev = (uintptr_t)sim_map_get(&w->log_len, key);
    if (!obj) {
        sim_map_remove(&w->log_len, key);
        return;
    }
    const char *slash = strchr(key + 5, '/');
    char id[256];
    size_t idn = slash ? (size_t)(slash - key - 5) : 0;
    if (idn >= sizeof id) idn = sizeof id - 1;
    memcpy(id, key + 5, idn);
    id[idn] = '\0';
    scn_idinfo *in = idinfo(w, STORE_BOTS, id, true);
    if (obj->len < prev) {
        scn_violation(w, INV_LOG_LOSS, "log object bot-logs/%s shrank from %zu to %zu bytes (overwritten)", key,
                      (size_t)prev, obj->len);
        prev = 0;
    }
    /* new lines: "[ts] <bot-id> <text> #<n>" */
    for (const char *p = obj->data + prev; in && p < obj->data + obj->len;) {
        const char *nl = memchr(p, '\n', (size_t)(obj->data + obj->len - p));
        const char *end = nl ? nl : obj->data + obj->len;
        const char *hash = NULL;
        for (const char *q = p; q < end; q++)
            if (*q == '#') hash = q;
        if (hash) {
            uint64_t n = strtoull(hash + 1, NULL, 10);
            if (bit_test_set(in, n)) scn_violation(w, INV_LOG_LOSS, "bot %s: log line #%llu shipped twice (bot-logs/%s)", id,
                                                   (unsigned long long)n, key);
        }
        p = nl ? nl + 1 : end;
    }
    sim_map_put(&w->log_len, key, (void *)(uintptr_t)obj->len, NULL);
}

void scn_inv_step(scn_world *w)
{
    w->res->invariant_checks++;
    if (w->max_running_reported || kubelet_max_bot_running(w->kl) <= 1) return;
    w->max_running_reported = true;
    /* rare path: find which bot (scan once, only on violation) */
    sim_map_entry *e;
    size_t it;
    for (e = sim_map_first(&w->ids, &it); e; e = sim_map_next(&w->ids, &it, e)) {
        scn_idinfo *in = e->val;
        kubelet_bot_obs ob;
        if (kubelet_bot_observe(w->kl, in->id, &ob) && ob.max_bot_running > 1) {
            scn_violation(w, INV_ONE_CONTAINER, "bot %s: %u bot containers running at once", in->id, ob.max_bot_running);
            return;
        }
    }
    scn_violation(w, INV_ONE_CONTAINER, "%u bot containers of one bot running at once", kubelet_max_bot_running(w->kl));
}

void scn_inv_final(scn_world *w)
{
    sim_map_entry *e;
    size_t it;
    for (e = sim_map_first(&w->ids, &it); e; e = sim_map_next(&w->ids, &it, e)) {
        scn_idinfo *in = e->val;
        if (in->coll == STORE_BOTS) loss_check(w, in, "at the end of the run");
    }
}
