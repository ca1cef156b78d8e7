/* faults.c: the fault registry: per-point counters, seeded decisions through libfiu's external callback. */
#include "sim/faults.h"

#include <fiu-control.h>
#include <fiu.h>
#include <stdlib.h>
#include <string.h>

#include "core/hmap.h"

#define SPEC_MAGIC 0x7366A17u

/* One injection: the pattern it was enabled under and its spec. Owned by the registry. */
typedef struct injection {
    unsigned magic;
    sim_fault_spec spec;
    uint64_t remaining; /* for count triggers */
    char *pattern;
} injection;

/* Per-point counters, and whether one of the registry's patterns matches the point (armed), as of
 * injection generation gen - 1 (0: not yet known). */
typedef struct point_stat {
    uint64_t calls, faults;
    uint64_t gen;
    bool armed;
} point_stat;

struct sim_faults {
    sim_loop *loop;
    hmap points;     /* name -> point_stat* */
    hmap injections; /* pattern -> injection* */
    uint64_t gen;       /* bumped by every inject and clear */
    bool external;      /* every check asks libfiu (sim_faults_external) */
};

static sim_faults *g_active;
static point_stat *g_current; /* the point being checked (single-threaded loop) */
static bool g_fiu_ready;

static const char *const kind_names[SIM_FAULT__COUNT] = {
    [SIM_FAULT_NONE] = "none",         [SIM_FAULT_ERROR] = "error",        [SIM_FAULT_TOOMANY] = "429",
    [SIM_FAULT_TIMEOUT] = "timeout",   [SIM_FAULT_TIMEOUT_APPLIED] = "timeout-applied",
    [SIM_FAULT_LATENCY] = "latency",   [SIM_FAULT_DROP] = "drop",          [SIM_FAULT_DUPLICATE] = "duplicate",
    [SIM_FAULT_REORDER] = "reorder",   [SIM_FAULT_GONE] = "gone",          [SIM_FAULT_CLOSE] = "close",
    [SIM_FAULT_STALE] = "stale",       [SIM_FAULT_ENOSPC] = "enospc",      [SIM_FAULT_SHORT] = "short",
};

const char *sim_fault_kind_name(sim_fault_kind k) { return (unsigned)k < SIM_FAULT__COUNT ? kind_names[k] : "?"; }

int sim_fault_kind_parse(const char *s)
{
    for (int i = 0; s && i < SIM_FAULT__COUNT; i++)
        if (!strcmp(s, kind_names[i])) return i;
    return -1;
}

t0_status sim_faults_new(sim_loop *loop, sim_faults **out, t0_err *err)
{
    if (g_active) return t0_fail(err, T0_ESTATE, "sim_faults_new: another fault registry is active in this process");
    sim_faults *f = calloc(1, sizeof *f);
    if (!f) return t0_fail(err, T0_ENOMEM, "sim_faults_new: out of memory");
    if (!g_fiu_ready) {
        fiu_init(0);
        g_fiu_ready = true;
    }
    f->loop = loop;
    f->external = getenv("FIU_CTRL_FIFO") || getenv("FIU_ENABLE");
    hmap_init(&f->points);
    hmap_init(&f->injections);
    g_active = f;
    *out = f;
    return T0_OK;
}

static void injection_free(injection *in)
{
    if (!in) return;
    fiu_disable(in->pattern);
    free(in->pattern);
    free(in);
}

void sim_faults_destroy(sim_faults *f)
{
    if (!f) return;
    for (hmap_entry *e = hmap_first(&f->injections); e; e = hmap_next(&f->injections, e))
        injection_free(e->val);
    for (hmap_entry *e = hmap_first(&f->points); e; e = hmap_next(&f->points, e)) free(e->val);
    hmap_free(&f->injections);
    hmap_free(&f->points);
    if (g_active == f) g_active = NULL;
    g_current = NULL;
    free(f);
}

/* libfiu external callback: *failinfo is the injection enabled for the matching pattern. */
static int decide_cb(const char *name, int *failnum, void **failinfo, unsigned int *flags)
{
    (void)name, (void)failnum, (void)flags;
    injection *in = failinfo ? *failinfo : NULL;
    if (!in || in->magic != SPEC_MAGIC || !g_active || !g_current) return 0;
    const sim_fault_spec *s = &in->spec;
    if (s->first_call) {
        uint64_t last = s->last_call ? s->last_call : s->first_call;
        return g_current->calls >= s->first_call && g_current->calls <= last;
    }
    if (s->count) {
        if (!in->remaining) return 0;
        in->remaining--;
        return 1;
    }
    return sim_rand_chance(g_active->loop, s->probability);
}

static int default_http(t0_status st)
{
    switch (st) {
    case T0_ENOTFOUND: return 404;
    case T0_EEXIST:
    case T0_ECONFLICT: return 409;
    case T0_EINVALID: return 422;
    case T0_ETOOMANY: return 429;
    case T0_EGONE: return 410;
    case T0_EFORBIDDEN: return 403;
    case T0_EUNAVAILABLE: return 503;
    case T0_ETIMEOUT: return 504;
    case T0_EINVAL: return 400;
    default: return 500;
    }
}

t0_status sim_faults_inject(sim_faults *f, const char *pattern, const sim_fault_spec *spec, t0_err *err)
{
    if (!f || !pattern || !*pattern || !spec) return t0_fail(err, T0_EINVAL, "sim_faults_inject: missing argument");
    if (spec->kind <= SIM_FAULT_NONE || spec->kind >= SIM_FAULT__COUNT)
        return t0_fail(err, T0_EINVAL, "fault %s: unknown kind %d", pattern, (int)spec->kind);
    if (spec->probability < 0 || spec->probability > 1)
        return t0_fail(err, T0_EINVAL, "fault %s: probability %g outside [0,1]", pattern, spec->probability);
    if (spec->last_call && spec->last_call < spec->first_call)
        return t0_fail(err, T0_EINVAL, "fault %s: calls %llu..%llu is empty", pattern,
                       (unsigned long long)spec->first_call, (unsigned long long)spec->last_call);
    if (!spec->first_call && !spec->count && spec->probability <= 0)
        return t0_fail(err, T0_EINVAL, "fault %s: no trigger (probability 0, no count, no call range)", pattern);
    injection *in = calloc(1, sizeof *in);
    if (!in || !(in->pattern = strdup(pattern))) {
        free(in);
        return t0_fail(err, T0_ENOMEM, "fault %s: out of memory", pattern);
    }
    in->magic = SPEC_MAGIC;
    in->spec = *spec;
    in->remaining = spec->count;
    if (in->spec.kind == SIM_FAULT_ERROR && in->spec.status == T0_OK) in->spec.status = T0_EINTERNAL;
    if (in->spec.kind == SIM_FAULT_ERROR && !in->spec.http_status) in->spec.http_status = default_http(in->spec.status);
    if ((in->spec.kind == SIM_FAULT_TOOMANY || in->spec.kind == SIM_FAULT_LATENCY || in->spec.kind == SIM_FAULT_REORDER) &&
        in->spec.ms <= 0)
        in->spec.ms = 1000;
    void *old = NULL;
    if (hmap_put(&f->injections, pattern, in, &old) != T0_OK) {
        free(in->pattern);
        free(in);
        return t0_fail(err, T0_ENOMEM, "fault %s: out of memory", pattern);
    }
    if (old) injection_free(old); /* disables the pattern first: libfiu leaks a replaced entry's name */
    f->gen++;
    if (fiu_enable_external(in->pattern, 1, in, 0, decide_cb) != 0) {
        hmap_del(&f->injections, pattern);
        free(in->pattern);
        free(in);
        return t0_fail(err, T0_EINTERNAL, "fault %s: fiu_enable_external failed", pattern);
    }
    return T0_OK;
}

bool sim_faults_clear(sim_faults *f, const char *pattern)
{
    if (!f || !pattern) return false;
    f->gen++;
    if (!strcmp(pattern, "*")) {
        bool any = f->injections.count > 0;
        for (hmap_entry *e = hmap_first(&f->injections); e; e = hmap_next(&f->injections, e))
            injection_free(e->val);
        hmap_free(&f->injections);
        return any;
    }
    injection *in = hmap_del(&f->injections, pattern);
    injection_free(in);
    return in != NULL;
}

static point_stat *stat_of(sim_faults *f, const char *point)
{
    point_stat *ps = hmap_get(&f->points, point);
    if (ps) return ps;
    ps = calloc(1, sizeof *ps);
    if (!ps) return NULL;
    if (hmap_put(&f->points, point, ps, NULL) != T0_OK) {
        free(ps);
        return NULL;
    }
    return ps;
}

/* A point enabled from outside (fiu-ctrl, fiu_enable) with failnum = an HTTP status. */
static void hit_from_failnum(int failnum, sim_fault_hit *h)
{
    *h = (sim_fault_hit){.kind = SIM_FAULT_ERROR, .http_status = failnum, .status = T0_EINTERNAL};
    switch (failnum) {
    case 404: h->status = T0_ENOTFOUND; break;
    case 409: h->status = T0_ECONFLICT; break;
    case 410: h->kind = SIM_FAULT_GONE; h->status = T0_EGONE; break;
    case 422: h->status = T0_EINVALID; break;
    case 429: h->kind = SIM_FAULT_TOOMANY; h->status = T0_ETOOMANY; h->ms = 1000; break;
    case 503: h->status = T0_EUNAVAILABLE; break;
    case 504: h->kind = SIM_FAULT_TIMEOUT; h->status = T0_ETIMEOUT; break;
    default: h->http_status = 500; break;
    }
}

void sim_faults_external(sim_faults *f, bool on)
{
    if (f) f->external = on;
}

/* armed: whether one of F's patterns matches POINT as libfiu matches them (the name itself, or a prefix
 * followed by '*') */
static bool armed(sim_faults *f, const char *point)
{
    for (hmap_entry *e = hmap_first(&f->injections); e; e = hmap_next(&f->injections, e)) {
        const char *p = ((const injection *)e->val)->pattern;
        size_t n = strlen(p);
        if (n && p[n - 1] == '*' ? !strncmp(point, p, n - 1) : !strcmp(point, p)) return true;
    }
    return false;
}

bool sim_faults_check(sim_faults *f, const char *point, sim_fault_hit *hit)
{
    if (!f || !point) return false;
    point_stat *ps = stat_of(f, point);
    if (!ps) return false;
    ps->calls++;
    if (!f->external) {
        if (ps->gen != f->gen + 1) {
            ps->armed = armed(f, point);
            ps->gen = f->gen + 1;
        }
        if (!ps->armed) return false;
    }
    g_current = ps;
    int r = fiu_fail(point);
    g_current = NULL;
    if (!r) return false;
    sim_fault_hit h = {0};
    injection *in = fiu_failinfo();
    if (in && in->magic == SPEC_MAGIC) {
        h.kind = in->spec.kind;
        h.ms = in->spec.ms;
        switch (h.kind) {
        case SIM_FAULT_ERROR: h.status = in->spec.status; h.http_status = in->spec.http_status; break;
        case SIM_FAULT_TOOMANY: h.status = T0_ETOOMANY; h.http_status = 429; break;
        case SIM_FAULT_TIMEOUT:
        case SIM_FAULT_TIMEOUT_APPLIED: h.status = T0_ETIMEOUT; h.http_status = 504; break;
        case SIM_FAULT_GONE: h.status = T0_EGONE; h.http_status = 410; break;
        default: h.status = T0_OK; break;
        }
    } else
        hit_from_failnum(r, &h);
    ps->faults++;
    if (hit) *hit = h;
    return true;
}

t0_status sim_faults_fail(const sim_fault_hit *hit, const char *point, t0_err *err)
{
    if (!hit || hit->status == T0_OK) return T0_OK;
    t0_fail(err, hit->status, "%s: injected %s (HTTP %d)", point, sim_fault_kind_name(hit->kind), hit->http_status);
    if (err) {
        err->http_status = hit->http_status;
        err->retry_after_ms = hit->kind == SIM_FAULT_TOOMANY ? hit->ms : 0;
    }
    return hit->status;
}

uint64_t sim_faults_calls(const sim_faults *f, const char *point)
{
    const point_stat *ps = f && point ? hmap_get(&f->points, point) : NULL;
    return ps ? ps->calls : 0;
}

uint64_t sim_faults_injected(const sim_faults *f, const char *point)
{
    const point_stat *ps = f && point ? hmap_get(&f->points, point) : NULL;
    return ps ? ps->faults : 0;
}

void sim_faults_report(const sim_faults *f, FILE *out)
{
    if (!f || !f->points.count) return;
    hmap_entry **v = hmap_sorted(&f->points, NULL, NULL, NULL);
    for (size_t i = 0; v && v[i]; i++) {
        const point_stat *ps = v[i]->val;
        fprintf(out, "%-28s %10llu calls %8llu faults\n", v[i]->key, (unsigned long long)ps->calls,
                (unsigned long long)ps->faults);
    }
    free(v);
}

/* ---- documented points ------------------------------------------------------------------------ */
/* The object store: MinIO answers 500 InternalError and 503 SlowDown/ServiceUnavailable; a 404 only for an
 * object that is really gone (the fake answers it by itself). */
#define KW "error=500,503 timeout"
/* The API server's points list the errors it really answers there for an object that exists: 500, 503,
 * 504 (etcd, overload, webhooks) and, where they can happen, 403 (a quota exceeded on create) and 409 (a
 * conflicting writer on update). A 404 is what it answers for an object that is really gone, a 409 on
 * create is AlreadyExists for one that really exists, and a 422 depends on the object alone: the fake
 * answers those by itself, they are no fault. */
#define KE "error=500,503,504"
#define KUBE_POINTS(kind, what)                                                                                   \
    {"kube/" kind "/create", KE ",403 429 timeout timeout-applied", "create a " what " (POST)"},                  \
        {"kube/" kind "/get", KE " 429 timeout", "read one " what " (GET)"},                                       \
        {"kube/" kind "/list", KE " 429 timeout stale",                                                             \
         "list " what "s (GET collection; the first page of a list in pages); stale = the previous identical list (a " \
         "watch-cache read: a client listing with resourceVersion=0 sees it; ours lists without one, which a real "   \
         "server answers from etcd)"},                                                                               \
        {"kube/" kind "/continue", KE " 429 timeout gone",                                                          \
         "a later page of a list of " what "s (GET collection with continue=); gone = 410 Expired (etcd compacted "   \
         "the list's revision between two pages: the token is dead, list again)"},                                   \
        {"kube/" kind "/update", KE ",409 429 timeout timeout-applied", "replace a " what " (PUT)"},              \
        {"kube/" kind "/update_status", KE ",409 429 timeout timeout-applied", "replace a " what "'s status (PUT .../status)"}, \
        {"kube/" kind "/delete", KE " 429 timeout timeout-applied", "delete a " what " (DELETE)"},                \
        {"kube/" kind "/watch", KE " 429 timeout gone", "start a watch on " what "s; gone = 410 at once"}

static const sim_fault_point points[] = {
    KUBE_POINTS("pod", "Pod"),
    KUBE_POINTS("cronjob", "CronJob"),
    KUBE_POINTS("job", "Job"),
    KUBE_POINTS("lease", "Lease"),
    KUBE_POINTS("event", "Event"),
    {"kube/watch", "drop duplicate latency gone close",
     "one watch event delivered to one watcher: drop = unobserved state, gone = 410 and the watch ends, "
     "close = the stream ends"},
    {"kubelet/pull", "error", "an image pull of a pod (error: the pull fails, ErrImagePull then backoff)"},
    {"kubelet/start", "error", "a container start (error: it ends at once with StartError, exit 128; the restart policy "
                               "and CrashLoopBackOff apply)"},
    {"podfs/write", "error enospc short",
     "a write to a simulated container's filesystem (fakes/podfs.h): error = EIO, nothing written; enospc = the "
     "volume fills up: half lands, ENOSPC, and it stays full; short = half lands, then EIO"},
    {"podfs/read", "error", "a read from a simulated container's filesystem: EIO"},
    {"podfs/rename", "error", "a rename in a simulated container's filesystem: EIO, nothing renamed"},
    {"s3/get", KW, "GetObject on the fake MinIO"},
    {"s3/put", KW " timeout-applied", "PutObject on the fake MinIO; timeout-applied = the object is stored and the "
                                      "client times out all the same (a response lost on its way back)"},
    {"s3/head", KW, "HeadObject on the fake MinIO"},
    {"s3/delete", KW, "DeleteObject on the fake MinIO"},
    {"s3/list", KW, "ListObjects on the fake MinIO"},
    {"s3/ensure_bucket", KW, "bucket creation/check on the fake MinIO"},
    {"nats/publish", "error=500,503 timeout", "a publish to the fake NATS"},
    {"nats/deliver", "drop duplicate reorder latency", "one message delivered to one subscriber"},
    {"nats/subscribe", "error=500,503 timeout", "a subscription (core or durable)"},
    {"mongo/find", "error=500,503,504 timeout", "find_enabled on the fake MongoDB"},
    {"mongo/get", "error=500,503,504 timeout", "get one document from the fake MongoDB"},
    {"mongo/upsert", "error=500,503,504 timeout timeout-applied",
     "upsert into the fake MongoDB (also the intake's conditional sets and inserts); timeout-applied = the write "
     "happened, the answer was lost (a write concern timeout)"},
    {"mongo/remove", "error=500,503,504 timeout timeout-applied", "delete from the fake MongoDB"},
};

const sim_fault_point *sim_faults_points(size_t *n)
{
    *n = T0_ARRAY_LEN(points);
    return points;
}

/* kinds_take: whether a point's KINDS ("error=500,503 429 timeout ...") list SPEC's kind; for an error,
 * whether they list its HTTP status (a bare "error" takes any). *ERRORS: whether they take errors at all. */
static bool kinds_take(const char *kinds, const sim_fault_spec *spec, bool *errors)
{
    const char *want = sim_fault_kind_name(spec->kind);
    *errors = false;
    for (const char *p = kinds; *p;) {
        size_t l = strcspn(p, " ");
        if (!strncmp(p, "error", 5) && (l == 5 || p[5] == '=')) {
            *errors = true;
            if (spec->kind == SIM_FAULT_ERROR) {
                if (l == 5) return true;
                for (const char *c = p + 6; c < p + l;) {
                    if (atoi(c) == spec->http_status) return true;
                    const char *comma = memchr(c, ',', (size_t)(p + l - c));
                    if (!comma) break;
                    c = comma + 1;
                }
            }
        } else if (strlen(want) == l && !strncmp(p, want, l)) return true;
        p += l;
        while (*p == ' ') p++;
    }
    return false;
}

bool sim_faults_realistic(const char *pattern, const sim_fault_spec *spec, char *why, size_t cap)
{
    size_t pl = strlen(pattern);
    bool wild = pl && pattern[pl - 1] == '*', any = false, some = false;
    char kind[32];
    if (spec->kind == SIM_FAULT_ERROR) snprintf(kind, sizeof kind, "error=%d", spec->http_status);
    else snprintf(kind, sizeof kind, "%s", sim_fault_kind_name(spec->kind));
    for (size_t i = 0; i < T0_ARRAY_LEN(points); i++) {
        const sim_fault_point *pt = &points[i];
        if (wild ? strncmp(pt->name, pattern, pl - 1) : strcmp(pt->name, pattern)) continue;
        any = true;
        bool errors, takes = kinds_take(pt->kinds, spec, &errors);
        some |= takes;
        if (!takes && spec->kind == SIM_FAULT_ERROR && errors) {
            snprintf(why, cap, "fault %s %s: %s does not answer that to a client (it takes %s)%s", pattern, kind,
                     pt->name, pt->kinds,
                     spec->http_status == 404   ? ": a 404 is for an object that is really gone (delete it instead)"
                     : spec->http_status == 422 ? ": a 422 depends on the object alone, not on chance"
                                                : "");
            return false;
        }
    }
    if (any && !some) {
        snprintf(why, cap, "fault %s %s: no point it names takes %s (see docs/faults.md)", pattern, kind, kind);
        return false;
    }
    return true;
}

bool sim_faults_known(const char *point)
{
    for (size_t i = 0; point && i < T0_ARRAY_LEN(points); i++)
        if (!strcmp(points[i].name, point)) return true;
    return false;
}

void sim_faults_list(FILE *out)
{
    fprintf(out, "# Fault points\n\n"
                 "Generated from the point table in `sim/faults.c` by `sim_faults_list()`; do not edit by hand.\n\n"
                 "Every operation of every fake asks its named point (libfiu) whether it fails. Decisions come from\n"
                 "the simulation's seeded PRNG, so a seed replays its faults exactly. Triggers: a probability per\n"
                 "call, the next N calls, or calls k..m of the point (\"fail exactly the k-th call\"). Patterns may\n"
                 "end in `*` (`kube/*`, `kube/pod/*`). Points enabled from outside with fiu-ctrl fail with the HTTP\n"
                 "status given as failnum (409, 404, 410, 422, 429, 503, 504; anything else is 500); the0-sim\n"
                 "sees them when it runs under fiu-run (otherwise a point without an injection of its own is not\n"
                 "asked of libfiu at all, which keeps soak runs fast).\n\n"
                 "Kinds: `error` (any status; default 500), `429` (Retry-After), `timeout` (nothing applied),\n"
                 "`timeout-applied` (the write happened but the caller sees a timeout), `latency`, `drop`,\n"
                 "`duplicate`, `reorder`, `gone` (410), `close` (stream ends), `stale` (an older snapshot), `enospc`\n"
                 "(the volume fills up) and `short` (part of a write lands, then EIO) for the container filesystem.\n"
                 "A point lists the kinds a real server produces there; `error=500,503` lists the HTTP statuses an\n"
                 "error may have (`fault` statements with any other are rejected: a 404 only comes from an object\n"
                 "that is really gone, a 409 on create only from one that really exists, and the fake answers those\n"
                 "by itself).\n\n"
                 "| point | kinds | what |\n|---|---|---|\n");
    for (size_t i = 0; i < T0_ARRAY_LEN(points); i++)
        fprintf(out, "| `%s` | %s | %s |\n", points[i].name, points[i].kinds, points[i].what);
}
