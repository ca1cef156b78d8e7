/* cronjob_ctl.c: the simulated CronJob and Job controllers (see cronjob_ctl.h for the semantics). */
#include "fakes/cronjob_ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hmap.h"
#include "core/json.h"
#include "core/log.h"
#include "domain/cronexpr.h"

#define COMP "cronjob-controller"
#define MAX_MISSED 100

typedef struct cjrec cjrec;

typedef struct jobrec {
    cronctl *c;
    char *ns, *name, *uid;
    cjrec *cj;          /* the CronJob that owns it, or NULL */
    int64_t sched_ms;   /* scheduled time (from the name's annotation) or creation */
    int64_t start_ms, finish_ms;
    int failed, succeeded, backoff_limit;
    bool finished, ok, deleting;
    char active_pod[300];
    uint64_t t_retry, t_deadline;
} jobrec;

struct cjrec {
    cronctl *c;
    char *ns, *name, *uid, *key;
    double gen;
    uint64_t timer;
    jobrec **jobs;
    size_t njobs, cap;
    int64_t last_success_ms;
    bool tz_reported;
};

struct cronctl {
    sim_loop *loop;
    kfake *api;
    kube_port sys;
    cronctl_opts opts;
    kube_watch *wcj, *wjob, *wpod;
    hmap cjs;  /* "ns/name" -> cjrec */
    hmap jobs; /* uid -> jobrec */
    bool down;
    uint64_t event_seq;
    cronctl_stats st;
};

static int64_t now(const cronctl *c) { return sim_loop_now(c->loop); }

static int64_t ts_of(const cJSON *o, const char *path)
{
    int64_t ms = 0;
    const char *s = kfake_str(o, path);
    return s && sim_parse_rfc3339(s, &ms) ? ms : 0;
}

static double num_of(const cJSON *o, const char *parent, const char *name, double dflt)
{
    const cJSON *p = parent ? t0_json_get(o, parent) : o;
    const cJSON *v = t0_json_get(p, name);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

/* record: an Event object about an object (kind/ns/name/uid), as kube-controller-manager writes them. */
static void record(cronctl *c, const char *kind, const char *ns, const char *name, const char *uid, const char *type,
                   const char *reason, const char *msg)
{
    char ename[400], ts[32];
    snprintf(ename, sizeof ename, "%s.%016llx", name, (unsigned long long)++c->event_seq);
    cJSON *e = cJSON_CreateObject();
    cJSON *md = cJSON_AddObjectToObject(e, "metadata");
    cJSON_AddStringToObject(md, "name", ename);
    cJSON *io = cJSON_AddObjectToObject(e, "involvedObject");
    cJSON_AddStringToObject(io, "kind", kind);
    cJSON_AddStringToObject(io, "namespace", ns);
    cJSON_AddStringToObject(io, "name", name);
    cJSON_AddStringToObject(io, "uid", uid);
    cJSON_AddStringToObject(e, "type", type);
    cJSON_AddStringToObject(e, "reason", reason);
    cJSON_AddStringToObject(e, "message", msg);
    cJSON_AddStringToObject(e, "firstTimestamp", sim_format_rfc3339(now(c), ts, sizeof ts));
    cJSON_AddStringToObject(e, "lastTimestamp", ts);
    cJSON_AddNumberToObject(e, "count", 1);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(e, "source"), "component", !strcmp(kind, "Job") ? "job-controller" : "cronjob-controller");
    t0_err err = {0};
    if (c->sys.create(c->sys.ctx, KUBE_EVENT, ns, e, NULL, &err) != T0_OK) T0_WARN(COMP, "event %s: %s", reason, err.msg);
    cJSON_Delete(e);
    T0_DEBUG(COMP, "%s %s/%s: %s %s: %s", kind, ns, name, type, reason, msg);
}

/* ---- CronJob status --------------------------------------------------------------------------- */
static void cj_write_status(cronctl *c, cjrec *r, int64_t last_schedule)
{
    const cJSON *obj = kfake_peek(c->api, KUBE_CRONJOB, r->ns, r->name);
    if (!obj) return;
    cJSON *o = cJSON_CreateObject();
    cJSON *md = cJSON_AddObjectToObject(o, "metadata");
    cJSON_AddStringToObject(md, "name", r->name);
    cJSON_AddStringToObject(md, "uid", r->uid);
    cJSON *st = cJSON_AddObjectToObject(o, "status");
    cJSON *active = cJSON_CreateArray();
    for (size_t i = 0; i < r->njobs; i++) {
        jobrec *j = r->jobs[i];
        if (j->finished) continue;
        cJSON *ref = cJSON_CreateObject();
        cJSON_AddStringToObject(ref, "apiVersion", "batch/v1");
        cJSON_AddStringToObject(ref, "kind", "Job");
        cJSON_AddStringToObject(ref, "name", j->name);
        cJSON_AddStringToObject(ref, "namespace", j->ns);
        cJSON_AddStringToObject(ref, "uid", j->uid);
        cJSON_AddItemToArray(active, ref);
    }
    if (cJSON_GetArraySize(active))
        cJSON_AddItemToObject(st, "active", active);
    else
        cJSON_Delete(active);
    char ts[32];
    int64_t ls = last_schedule ? last_schedule : ts_of(obj, "status.lastScheduleTime");
    if (ls) cJSON_AddStringToObject(st, "lastScheduleTime", sim_format_rfc3339(ls, ts, sizeof ts));
    int64_t lsucc = r->last_success_ms ? r->last_success_ms : ts_of(obj, "status.lastSuccessfulTime");
    if (lsucc) cJSON_AddStringToObject(st, "lastSuccessfulTime", sim_format_rfc3339(lsucc, ts, sizeof ts));
    t0_err err = {0};
    if (c->sys.update_status(c->sys.ctx, KUBE_CRONJOB, r->ns, o, NULL, &err) != T0_OK)
        T0_WARN(COMP, "cronjob %s: status: %s", r->key, err.msg);
    cJSON_Delete(o);
}

static void delete_job(cronctl *c, jobrec *j)
{
    if (j->deleting) return;
    j->deleting = true;
    kube_delete_opts bg = {.propagation = KUBE_PROP_BACKGROUND, .grace_seconds = -1};
    t0_err err = {0};
    if (c->sys.remove(c->sys.ctx, KUBE_JOB, j->ns, j->name, &bg, &err) != T0_OK) T0_WARN(COMP, "delete job %s: %s", j->name, err.msg);
}

static int cmp_job_age(const void *a, const void *b)
{
    const jobrec *x = *(jobrec *const *)a, *y = *(jobrec *const *)b;
    if (x->sched_ms != y->sched_ms) return x->sched_ms < y->sched_ms ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* History limits: delete the oldest finished Jobs beyond successful/failedJobsHistoryLimit. */
static void cj_history(cronctl *c, cjrec *r)
{
    const cJSON *obj = kfake_peek(c->api, KUBE_CRONJOB, r->ns, r->name);
    if (!obj) return;
    int lim[2] = {(int)num_of(obj, "spec", "failedJobsHistoryLimit", 1), (int)num_of(obj, "spec", "successfulJobsHistoryLimit", 3)};
    jobrec **v = r->njobs ? malloc(r->njobs * sizeof *v) : NULL;
    if (!v) return;
    for (int ok = 0; ok < 2; ok++) {
        size_t n = 0;
        for (size_t i = 0; i < r->njobs; i++)
            if (r->jobs[i]->finished && r->jobs[i]->ok == (bool)ok && !r->jobs[i]->deleting) v[n++] = r->jobs[i];
        qsort(v, n, sizeof *v, cmp_job_age);
        for (size_t i = 0; n > (size_t)lim[ok] && i < n - (size_t)lim[ok]; i++) {
            c->st.history_deleted++;
            delete_job(c, v[i]);
        }
    }
    free(v);
}

static void cj_detach_job(cjrec *r, jobrec *j)
{
    for (size_t i = 0; r && i < r->njobs; i++)
        if (r->jobs[i] == j) {
            r->jobs[i] = r->jobs[--r->njobs];
            break;
        }
    j->cj = NULL;
}

static bool cj_attach_job(cjrec *r, jobrec *j)
{
    if (r->njobs == r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 8;
        jobrec **nv = realloc(r->jobs, nc * sizeof *nv);
        if (!nv) return false;
        r->jobs = nv;
        r->cap = nc;
    }
    r->jobs[r->njobs++] = j;
    j->cj = r;
    return true;
}

/* ---- the CronJob controller ------------------------------------------------------------------ */
static void cj_fire(void *ud);
static void job_track(cronctl *c, const cJSON *obj);

static bool tz_is_utc(const char *tz)
{
    return !tz || !strcmp(tz, "UTC") || !strcmp(tz, "Etc/UTC") || !strcmp(tz, "GMT") || !strcmp(tz, "Etc/GMT") || !strcmp(tz, "Z");
}

static void cj_arm(cronctl *c, cjrec *r, const cJSON *obj)
{
    if (r->timer) sim_loop_cancel(c->loop, r->timer);
    r->timer = 0;
    if (c->down) return;
    cronexpr ce;
    if (cronexpr_parse(kfake_str(obj, "spec.schedule"), &ce, NULL) != T0_OK) return;
    int64_t next;
    if (cronexpr_next(&ce, now(c) / 1000, &next, NULL) != T0_OK) return;
    r->timer = sim_loop_timer_at(c->loop, next * 1000, cj_fire, r);
}

/* cj_time_zone_known: whether SPEC's timeZone is one the simulator can schedule in (UTC); else an
 * UnknownTimeZone Warning, once per CronJob. */
static bool cj_time_zone_known(cronctl *c, cjrec *r, const cJSON *spec)
{
    const char *tz = kfake_str(spec, "timeZone");
    if (tz_is_utc(tz)) return true;
    if (!r->tz_reported) {
        char m[200];
        snprintf(m, sizeof m, "invalid timeZone: %s: unknown time zone %s (the simulator knows only UTC)", tz, tz);
        record(c, "CronJob", r->ns, r->name, r->uid, "Warning", "UnknownTimeZone", m);
        r->tz_reported = true;
    }
    return false;
}

/* cj_latest_in_window: the most recent schedule time of CE in (EARLIEST, T] (ms), searched back from T in
 * doubling windows as the modern controller does after too many missed times; 0 when there is none. */
static int64_t cj_latest_in_window(const cronexpr *ce, int64_t earliest, int64_t t)
{
    int64_t most_recent = 0, nx;
    for (int64_t span = 60; span <= INT64_C(5) * 366 * 86400 && !most_recent; span *= 2) {
        int64_t from = t / 1000 - span, best = 0;
        if (from < earliest / 1000) from = earliest / 1000;
        for (int64_t pos = from; cronexpr_next(ce, pos, &nx, NULL) == T0_OK && nx * 1000 <= t; pos = nx) best = nx;
        most_recent = best * 1000;
        if (from == earliest / 1000) break;
    }
    return most_recent;
}

/* cj_due_time: the schedule time a Job should run for now (*DUE, ms): the most recent time missed since the
 * last schedule (or creation, or now - startingDeadlineSeconds). False when none is due: none missed, too
 * many missed (legacy behaviour), or the most recent one is past its starting deadline (with the Events
 * kube-controller-manager records). */
static bool cj_due_time(cronctl *c, cjrec *r, const cJSON *obj, const cronexpr *ce, int64_t *due)
{
    const cJSON *sds = t0_json_get(t0_json_get(obj, "spec"), "startingDeadlineSeconds");
    int64_t t = now(c);
    int64_t earliest = ts_of(obj, "status.lastScheduleTime");
    if (!earliest) earliest = ts_of(obj, "metadata.creationTimestamp");
    if (cJSON_IsNumber(sds) && t - (int64_t)sds->valuedouble * 1000 > earliest) earliest = t - (int64_t)sds->valuedouble * 1000;
    int missed = 0;
    int64_t most_recent = 0, cur = earliest / 1000, nx;
    while (cronexpr_next(ce, cur, &nx, NULL) == T0_OK && nx * 1000 <= t) {
        most_recent = nx * 1000;
        cur = nx;
        if (++missed > MAX_MISSED) break;
    }
    if (!missed) return false;
    if (missed > MAX_MISSED) {
        c->st.missed_too_many++;
        record(c, "CronJob", r->ns, r->name, r->uid, "Warning", "TooManyMissedTimes",
               "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew");
        if (!c->opts.modern_missed) {
            T0_ERROR(COMP, "cronjob %s: too many missed start times (> 100). Set or decrease .spec.startingDeadlineSeconds or check clock skew",
                     r->key);
            return false;
        }
        most_recent = cj_latest_in_window(ce, earliest, t);
        if (!most_recent) return false;
    }
    if (cJSON_IsNumber(sds) && most_recent + (int64_t)sds->valuedouble * 1000 < t) {
        c->st.missed_deadline++;
        record(c, "CronJob", r->ns, r->name, r->uid, "Warning", "MissedSchedule", "Missed scheduled time to start a job");
        return false;
    }
    *due = most_recent;
    return true;
}

/* cj_apply_concurrency: SPEC's concurrencyPolicy against the Jobs still running: false when a new one may not
 * start (Forbid); Replace deletes the running ones first; Allow lets them be. */
static bool cj_apply_concurrency(cronctl *c, cjrec *r, const cJSON *spec)
{
    const char *policy = kfake_str(spec, "concurrencyPolicy");
    size_t active = 0;
    for (size_t i = 0; i < r->njobs; i++) active += !r->jobs[i]->finished;
    if (active && policy && !strcmp(policy, "Forbid")) {
        c->st.skipped_forbid++;
        T0_INFO(COMP, "cronjob %s: not starting job because prior execution is running and concurrency policy is Forbid", r->key);
        return false;
    }
    if (active && policy && !strcmp(policy, "Replace")) {
        for (size_t i = 0; i < r->njobs; i++)
            if (!r->jobs[i]->finished) {
                char m[400];
                snprintf(m, sizeof m, "Deleted job %s", r->jobs[i]->name);
                record(c, "CronJob", r->ns, r->name, r->uid, "Normal", "SuccessfulDelete", m);
                delete_job(c, r->jobs[i]);
                c->st.replaced++;
            }
    }
    return true;
}

/* cj_job_object: the Job JNAME for schedule time DUE from SPEC's jobTemplate, owned by R (caller owns). */
static cJSON *cj_job_object(const cjrec *r, const cJSON *spec, const char *jname, int64_t due)
{
    const cJSON *jt = t0_json_get(spec, "jobTemplate");
    cJSON *job = cJSON_CreateObject();
    cJSON *md = cJSON_AddObjectToObject(job, "metadata");
    cJSON_AddStringToObject(md, "name", jname);
    const cJSON *tl = t0_json_get(t0_json_get(jt, "metadata"), "labels");
    if (tl) cJSON_AddItemToObject(md, "labels", cJSON_Duplicate(tl, 1));
    char ts[32];
    cJSON_AddStringToObject(cJSON_AddObjectToObject(md, "annotations"), "batch.kubernetes.io/cronjob-scheduled-timestamp",
                            sim_format_rfc3339(due, ts, sizeof ts));
    cJSON *refs = cJSON_AddArrayToObject(md, "ownerReferences");
    cJSON *ref = cJSON_CreateObject();
    cJSON_AddStringToObject(ref, "apiVersion", "batch/v1");
    cJSON_AddStringToObject(ref, "kind", "CronJob");
    cJSON_AddStringToObject(ref, "name", r->name);
    cJSON_AddStringToObject(ref, "uid", r->uid);
    cJSON_AddBoolToObject(ref, "controller", 1);
    cJSON_AddBoolToObject(ref, "blockOwnerDeletion", 1);
    cJSON_AddItemToArray(refs, ref);
    const cJSON *js = t0_json_get(jt, "spec");
    cJSON_AddItemToObject(job, "spec", js ? cJSON_Duplicate(js, 1) : cJSON_CreateObject());
    return job;
}

/* cj_create_job: create the Job JNAME for DUE and track it at once (in status.active, as the real
 * controller does). True when it exists now (created, or there already): the status is to be written. */
static bool cj_create_job(cronctl *c, cjrec *r, const cJSON *spec, const char *jname, int64_t due)
{
    cJSON *job = cj_job_object(r, spec, jname, due);
    cJSON *created = NULL;
    t0_err err = {0};
    t0_status st = c->sys.create(c->sys.ctx, KUBE_JOB, r->ns, job, &created, &err);
    cJSON_Delete(job);
    if (created) job_track(c, created);
    cJSON_Delete(created);
    if (st != T0_OK && st != T0_EEXIST) {
        record(c, "CronJob", r->ns, r->name, r->uid, "Warning", "FailedCreate", err.msg);
        return false;
    }
    if (st == T0_OK) {
        c->st.jobs_created++;
        char m[400];
        snprintf(m, sizeof m, "Created job %s", jname);
        record(c, "CronJob", r->ns, r->name, r->uid, "Normal", "SuccessfulCreate", m);
    }
    return true;
}

/* cj_sync: what kube-controller-manager does for one CronJob at an activation or after downtime: skip a
 * deleted, suspended or unschedulable one, find the time due, honour the concurrency policy, start the Job
 * for that time (once: its name says the time) and write the status. */
static void cj_sync(cronctl *c, cjrec *r)
{
    const cJSON *obj = kfake_peek(c->api, KUBE_CRONJOB, r->ns, r->name);
    if (!obj || kfake_str(obj, "metadata.deletionTimestamp")) return;
    const cJSON *spec = t0_json_get(obj, "spec");
    if (cJSON_IsTrue(t0_json_get(spec, "suspend"))) return;
    if (!cj_time_zone_known(c, r, spec)) return;
    cronexpr ce;
    t0_err err = {0};
    if (cronexpr_parse(kfake_str(spec, "schedule"), &ce, &err) != T0_OK) {
        record(c, "CronJob", r->ns, r->name, r->uid, "Warning", "InvalidSchedule", err.msg);
        return;
    }
    int64_t due = 0;
    if (!cj_due_time(c, r, obj, &ce, &due)) return;
    char jname[300];
    snprintf(jname, sizeof jname, "%s-%lld", r->name, (long long)(due / 60000));
    if (kfake_peek(c->api, KUBE_JOB, r->ns, jname)) return; /* already started for this time */
    if (!cj_apply_concurrency(c, r, spec)) return;
    if (cj_create_job(c, r, spec, jname, due)) cj_write_status(c, r, due);
}

static void cj_fire(void *ud)
{
    cjrec *r = ud;
    cronctl *c = r->c;
    r->timer = 0;
    if (c->down) return;
    cj_sync(c, r);
    const cJSON *obj = kfake_peek(c->api, KUBE_CRONJOB, r->ns, r->name);
    if (obj) cj_arm(c, r, obj);
}

static void cj_free(cronctl *c, cjrec *r)
{
    if (r->timer) sim_loop_cancel(c->loop, r->timer);
    for (size_t i = 0; i < r->njobs; i++) r->jobs[i]->cj = NULL;
    free(r->jobs);
    free(r->ns);
    free(r->name);
    free(r->uid);
    free(r->key);
    free(r);
}

static cjrec *cj_find_uid(cronctl *c, const char *ns, const char *name, const char *uid)
{
    char key[600];
    snprintf(key, sizeof key, "%s/%s", ns, name);
    cjrec *r = hmap_get(&c->cjs, key);
    return r && !strcmp(r->uid, uid) ? r : NULL;
}

static void on_cronjob(void *ud, kube_watch_type type, const cJSON *obj)
{
    cronctl *c = ud;
    if (!obj) return;
    const char *ns = kfake_str(obj, "metadata.namespace"), *name = kfake_str(obj, "metadata.name"), *uid = kfake_str(obj, "metadata.uid");
    char key[600];
    snprintf(key, sizeof key, "%s/%s", ns, name);
    cjrec *r = hmap_get(&c->cjs, key);
    if (r && strcmp(r->uid, uid)) {
        hmap_del(&c->cjs, key);
        cj_free(c, r);
        r = NULL;
    }
    if (type == KUBE_WATCH_DELETED) {
        if (r) {
            hmap_del(&c->cjs, key);
            cj_free(c, r);
        }
        return;
    }
    double gen = num_of(obj, "metadata", "generation", 1);
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r) return;
        r->c = c;
        r->ns = strdup(ns);
        r->name = strdup(name);
        r->uid = strdup(uid);
        r->key = strdup(key);
        if (!r->ns || !r->name || !r->uid || !r->key || hmap_put(&c->cjs, key, r, NULL) != T0_OK) {
            cj_free(c, r);
            return;
        }
    } else if (gen == r->gen)
        return; /* a status write: nothing to re-arm */
    r->gen = gen;
    r->tz_reported = false;
    cj_arm(c, r, obj);
}

/* ---- the Job controller ----------------------------------------------------------------------- */
static void job_write_status(cronctl *c, jobrec *j, const char *cond, const char *reason, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *md = cJSON_AddObjectToObject(o, "metadata");
    cJSON_AddStringToObject(md, "name", j->name);
    cJSON_AddStringToObject(md, "uid", j->uid);
    cJSON *st = cJSON_AddObjectToObject(o, "status");
    char ts[32];
    cJSON_AddStringToObject(st, "startTime", sim_format_rfc3339(j->start_ms, ts, sizeof ts));
    if (!j->finished && j->active_pod[0]) cJSON_AddNumberToObject(st, "active", 1);
    if (j->succeeded) cJSON_AddNumberToObject(st, "succeeded", j->succeeded);
    if (j->failed) cJSON_AddNumberToObject(st, "failed", j->failed);
    if (cond) {
        cJSON *conds = cJSON_AddArrayToObject(st, "conditions");
        cJSON *cd = cJSON_CreateObject();
        cJSON_AddStringToObject(cd, "type", cond);
        cJSON_AddStringToObject(cd, "status", "True");
        if (reason) cJSON_AddStringToObject(cd, "reason", reason);
        if (msg) cJSON_AddStringToObject(cd, "message", msg);
        cJSON_AddStringToObject(cd, "lastTransitionTime", sim_format_rfc3339(now(c), ts, sizeof ts));
        cJSON_AddItemToArray(conds, cd);
        if (!strcmp(cond, "Complete")) cJSON_AddStringToObject(st, "completionTime", ts);
    }
    t0_err err = {0};
    if (c->sys.update_status(c->sys.ctx, KUBE_JOB, j->ns, o, NULL, &err) != T0_OK && err.code != T0_ENOTFOUND)
        T0_WARN(COMP, "job %s: status: %s", j->name, err.msg);
    cJSON_Delete(o);
}

static void job_create_pod(cronctl *c, jobrec *j)
{
    const cJSON *obj = kfake_peek(c->api, KUBE_JOB, j->ns, j->name);
    if (!obj || j->finished || kfake_str(obj, "metadata.deletionTimestamp")) return;
    const cJSON *tmpl = t0_json_get(t0_json_get(obj, "spec"), "template");
    static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
    char pname[300], suf[6];
    for (int i = 0; i < 5; i++) suf[i] = alphabet[sim_rand_range(c->loop, 0, (int64_t)sizeof alphabet - 2)];
    suf[5] = '\0';
    snprintf(pname, sizeof pname, "%s-%s", j->name, suf);
    cJSON *p = cJSON_CreateObject();
    cJSON *md = cJSON_AddObjectToObject(p, "metadata");
    cJSON_AddStringToObject(md, "name", pname);
    const cJSON *tl = t0_json_get(t0_json_get(tmpl, "metadata"), "labels");
    cJSON *labels = tl ? cJSON_Duplicate(tl, 1) : cJSON_CreateObject();
    cJSON_AddItemToObject(md, "labels", labels);
    cJSON_AddStringToObject(labels, "controller-uid", j->uid);
    cJSON_AddStringToObject(labels, "job-name", j->name);
    cJSON_AddStringToObject(labels, "batch.kubernetes.io/controller-uid", j->uid);
    cJSON_AddStringToObject(labels, "batch.kubernetes.io/job-name", j->name);
    cJSON *refs = cJSON_AddArrayToObject(md, "ownerReferences");
    cJSON *ref = cJSON_CreateObject();
    cJSON_AddStringToObject(ref, "apiVersion", "batch/v1");
    cJSON_AddStringToObject(ref, "kind", "Job");
    cJSON_AddStringToObject(ref, "name", j->name);
    cJSON_AddStringToObject(ref, "uid", j->uid);
    cJSON_AddBoolToObject(ref, "controller", 1);
    cJSON_AddBoolToObject(ref, "blockOwnerDeletion", 1);
    cJSON_AddItemToArray(refs, ref);
    const cJSON *ps = t0_json_get(tmpl, "spec");
    cJSON_AddItemToObject(p, "spec", ps ? cJSON_Duplicate(ps, 1) : cJSON_CreateObject());
    t0_err err = {0};
    if (c->sys.create(c->sys.ctx, KUBE_POD, j->ns, p, NULL, &err) == T0_OK) {
        snprintf(j->active_pod, sizeof j->active_pod, "%s", pname);
        c->st.pods_created++;
        char m[400];
        snprintf(m, sizeof m, "Created pod: %s", pname);
        record(c, "Job", j->ns, j->name, j->uid, "Normal", "SuccessfulCreate", m);
        job_write_status(c, j, NULL, NULL, NULL);
    } else
        record(c, "Job", j->ns, j->name, j->uid, "Warning", "FailedCreate", err.msg);
    cJSON_Delete(p);
}

static void on_job_retry(void *ud)
{
    jobrec *j = ud;
    j->t_retry = 0;
    if (!j->c->down) job_create_pod(j->c, j);
}

static void job_finish(cronctl *c, jobrec *j, bool ok, const char *reason, const char *msg)
{
    if (j->finished) return;
    j->finished = true;
    j->ok = ok;
    j->finish_ms = now(c);
    if (j->t_retry) sim_loop_cancel(c->loop, j->t_retry);
    if (j->t_deadline) sim_loop_cancel(c->loop, j->t_deadline);
    j->t_retry = j->t_deadline = 0;
    job_write_status(c, j, ok ? "Complete" : "Failed", reason, msg);
    if (ok) {
        c->st.jobs_succeeded++;
        record(c, "Job", j->ns, j->name, j->uid, "Normal", "Completed", "Job completed");
    } else {
        c->st.jobs_failed++;
        record(c, "Job", j->ns, j->name, j->uid, "Warning", reason, msg);
    }
    cjrec *r = j->cj;
    if (r) {
        if (ok) r->last_success_ms = j->finish_ms;
        char m[400];
        snprintf(m, sizeof m, "Saw completed job: %s, condition: %s", j->name, ok ? "Complete" : "Failed");
        record(c, "CronJob", r->ns, r->name, r->uid, "Normal", "SawCompletedJob", m);
        cj_write_status(c, r, 0);
        cj_history(c, r);
    }
}

static void on_job_deadline(void *ud)
{
    jobrec *j = ud;
    cronctl *c = j->c;
    j->t_deadline = 0;
    if (j->finished || c->down) return;
    if (j->active_pod[0]) {
        t0_err err = {0};
        c->sys.remove(c->sys.ctx, KUBE_POD, j->ns, j->active_pod, NULL, &err);
        j->active_pod[0] = '\0';
    }
    c->st.jobs_deadline_exceeded++;
    job_finish(c, j, false, "DeadlineExceeded", "Job was active longer than specified deadline");
}

static void job_free(cronctl *c, jobrec *j)
{
    if (j->t_retry) sim_loop_cancel(c->loop, j->t_retry);
    if (j->t_deadline) sim_loop_cancel(c->loop, j->t_deadline);
    if (j->cj) cj_detach_job(j->cj, j);
    free(j->ns);
    free(j->name);
    free(j->uid);
    free(j);
}

static void on_job(void *ud, kube_watch_type type, const cJSON *obj)
{
    cronctl *c = ud;
    if (!obj) return;
    const char *uid = kfake_str(obj, "metadata.uid");
    jobrec *j = hmap_get(&c->jobs, uid);
    if (type == KUBE_WATCH_DELETED) {
        if (j) {
            hmap_del(&c->jobs, uid);
            cjrec *r = j->cj;
            job_free(c, j);
            if (r) cj_write_status(c, r, 0);
        }
        return;
    }
    if (j) {
        if (kfake_str(obj, "metadata.deletionTimestamp")) j->deleting = true;
        return;
    }
    if (type != KUBE_WATCH_ADDED || kfake_str(obj, "status.startTime")) return; /* adopted Jobs are not resumed */
    job_track(c, obj);
}

/* job_track: start running a new Job (from the watch, or at once for Jobs this controller created). */
static void job_track(cronctl *c, const cJSON *obj)
{
    const char *uid = kfake_str(obj, "metadata.uid");
    if (!uid || hmap_get(&c->jobs, uid)) return;
    jobrec *j = calloc(1, sizeof *j);
    if (!j) return;
    j->c = c;
    j->ns = strdup(kfake_str(obj, "metadata.namespace"));
    j->name = strdup(kfake_str(obj, "metadata.name"));
    j->uid = strdup(uid);
    if (!j->ns || !j->name || !j->uid || hmap_put(&c->jobs, uid, j, NULL) != T0_OK) {
        job_free(c, j);
        return;
    }
    j->start_ms = now(c);
    const cJSON *ann = t0_json_get(t0_json_get(obj, "metadata"), "annotations");
    const cJSON *sa = t0_json_get(ann, "batch.kubernetes.io/cronjob-scheduled-timestamp");
    if (!cJSON_IsString(sa) || !sim_parse_rfc3339(sa->valuestring, &j->sched_ms)) j->sched_ms = ts_of(obj, "metadata.creationTimestamp");
    j->backoff_limit = (int)num_of(obj, "spec", "backoffLimit", 6);
    const cJSON *it;
    cJSON_ArrayForEach(it, t0_json_get(t0_json_get(obj, "metadata"), "ownerReferences"))
    {
        const char *k = kfake_str(it, "kind");
        if (!k || strcmp(k, "CronJob") || !cJSON_IsTrue(t0_json_get(it, "controller"))) continue;
        cjrec *r = cj_find_uid(c, j->ns, kfake_str(it, "name"), kfake_str(it, "uid"));
        if (r) cj_attach_job(r, j);
    }
    const cJSON *ads = t0_json_get(t0_json_get(obj, "spec"), "activeDeadlineSeconds");
    if (cJSON_IsNumber(ads)) j->t_deadline = sim_loop_timer(c->loop, (int64_t)ads->valuedouble * 1000, on_job_deadline, j);
    if (!c->down) job_create_pod(c, j);
}

static void on_job_pod(void *ud, kube_watch_type type, const cJSON *obj)
{
    cronctl *c = ud;
    if (!obj) return;
    const cJSON *labels = t0_json_get(t0_json_get(obj, "metadata"), "labels");
    const cJSON *cu = t0_json_get(labels, "controller-uid");
    jobrec *j = cJSON_IsString(cu) ? hmap_get(&c->jobs, cu->valuestring) : NULL;
    const char *pname = kfake_str(obj, "metadata.name");
    if (!j || j->finished || !pname || strcmp(pname, j->active_pod)) return;
    const char *phase = kfake_str(obj, "status.phase");
    bool deleted = type == KUBE_WATCH_DELETED;
    if (phase && !strcmp(phase, "Succeeded")) {
        j->active_pod[0] = '\0';
        j->succeeded = 1;
        job_finish(c, j, true, NULL, NULL);
        return;
    }
    if ((phase && !strcmp(phase, "Failed")) || deleted) {
        j->active_pod[0] = '\0';
        if (deleted && !(phase && !strcmp(phase, "Failed"))) { /* removed while running: replace it */
            if (!j->deleting && !c->down) job_create_pod(c, j);
            return;
        }
        j->failed++;
        if (j->failed > j->backoff_limit) {
            job_finish(c, j, false, "BackoffLimitExceeded", "Job has reached the specified backoff limit");
            return;
        }
        job_write_status(c, j, NULL, NULL, NULL);
        int64_t d = (int64_t)10000 << (j->failed - 1 > 6 ? 6 : j->failed - 1);
        if (d > 360000) d = 360000;
        j->t_retry = sim_loop_timer(c->loop, d, on_job_retry, j);
    }
}

/* ---- public API ------------------------------------------------------------------------------- */
t0_status cronctl_new(sim_loop *loop, kfake *api, const cronctl_opts *opts, cronctl **out, t0_err *err)
{
    cronctl *c = calloc(1, sizeof *c);
    if (!c) return t0_fail(err, T0_ENOMEM, "cronctl_new: out of memory");
    c->loop = loop;
    c->api = api;
    c->sys = kfake_system_port(api);
    if (opts) c->opts = *opts;
    hmap_init(&c->cjs);
    hmap_init(&c->jobs);
    t0_status st = c->sys.watch(c->sys.ctx, KUBE_CRONJOB, NULL, NULL, NULL, on_cronjob, c, &c->wcj, err);
    if (st == T0_OK) st = c->sys.watch(c->sys.ctx, KUBE_JOB, NULL, NULL, NULL, on_job, c, &c->wjob, err);
    if (st == T0_OK) st = c->sys.watch(c->sys.ctx, KUBE_POD, NULL, "controller-uid", NULL, on_job_pod, c, &c->wpod, err);
    if (st != T0_OK) {
        cronctl_destroy(c);
        return st;
    }
    *out = c;
    return T0_OK;
}

void cronctl_destroy(cronctl *c)
{
    if (!c) return;
    if (c->wcj) c->sys.unwatch(c->sys.ctx, c->wcj);
    if (c->wjob) c->sys.unwatch(c->sys.ctx, c->wjob);
    if (c->wpod) c->sys.unwatch(c->sys.ctx, c->wpod);
    for (hmap_entry *e = hmap_first(&c->jobs); e; e = hmap_next(&c->jobs, e)) {
        jobrec *j = e->val;
        j->cj = NULL;
        job_free(c, j);
    }
    for (hmap_entry *e = hmap_first(&c->cjs); e; e = hmap_next(&c->cjs, e)) {
        cjrec *r = e->val;
        r->njobs = 0;
        cj_free(c, r);
    }
    hmap_free(&c->jobs);
    hmap_free(&c->cjs);
    free(c);
}

void cronctl_set_down(cronctl *c, bool down)
{
    if (c->down == down) return;
    c->down = down;
    hmap_entry **v = hmap_sorted(&c->cjs, NULL, NULL, NULL); /* in key order: the order reaches the trace */
    for (size_t k = 0; v && v[k]; k++) {
        cjrec *r = v[k]->val;
        if (down) {
            if (r->timer) sim_loop_cancel(c->loop, r->timer);
            r->timer = 0;
        } else {
            cj_sync(c, r); /* catch up at once: the missed-start rules decide */
            const cJSON *obj = kfake_peek(c->api, KUBE_CRONJOB, r->ns, r->name);
            if (obj) cj_arm(c, r, obj);
        }
    }
    free(v);
}

void cronctl_get_stats(const cronctl *c, cronctl_stats *out) { *out = c->st; }
