/* kube_rest_watch.c: the REST client's watch streams (see kube_rest.h): a thread per stream reads
 * newline-delimited events and posts them to the loop thread. */
#include "adapters/kube_rest.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "adapters/kube_rest_impl.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/log.h"

/* ---- watch ------------------------------------------------------------------------------------ */
/* Lifetime: the watch is shared by its thread, by the caller (until unwatch) and by every event posted
 * to the loop; it is freed when the last reference goes. `alive` is read and written on the loop
 * thread only: unwatch clears it, and a posted event checks it before calling FN, so nothing is
 * delivered after unwatch. `stop` (atomic) tells the thread to end its stream. */
struct kube_watch {
    kuberest *k;
    struct kube_watch *next, *prev; /* k->watches, under k->mu while the thread runs */
    kube_kind kind;
    char *url;
    kube_watch_fn fn;
    void *ud;
    atomic_int refs;
    atomic_bool stop;
    bool alive, user_ref;
    pthread_mutex_t mu; /* for the interruptible pause between failed attempts */
    pthread_cond_t cv;
    /* thread side */
    kr_buf line;
    long http;
    bool ended; /* a terminal event (GONE/CLOSED) was posted */
    kr_buf errbody;
    char what[160];
};

static void w_release(struct kube_watch *w)
{
    if (atomic_fetch_sub(&w->refs, 1) != 1) return;
    free(w->url);
    free(w->line.p);
    free(w->errbody.p);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}

static void unlink_watch(kuberest *k, struct kube_watch *w)
{
    if (w->prev) w->prev->next = w->next;
    else k->watches = w->next;
    if (w->next) w->next->prev = w->prev;
    w->next = w->prev = NULL;
}

typedef struct w_event {
    struct kube_watch *w;
    kube_watch_type type;
    cJSON *obj;
} w_event;

static void w_deliver(void *ud)
{
    w_event *e = ud;
    if (e->w->alive) e->w->fn(e->w->ud, e->type, e->obj);
    cJSON_Delete(e->obj);
    w_release(e->w);
    free(e);
}

static void w_drop(void *ud)
{
    w_event *e = ud;
    cJSON_Delete(e->obj);
    w_release(e->w);
    free(e);
}

/* w_post: hand an event (taking OBJ) to the loop. */
static void w_post(struct kube_watch *w, kube_watch_type type, cJSON *obj)
{
    w_event *e = malloc(sizeof *e);
    if (!e) {
        cJSON_Delete(obj);
        return;
    }
    atomic_fetch_add(&w->refs, 1);
    *e = (w_event){w, type, obj};
    if (rtloop_post(w->k->loop, w_deliver, w_drop, e) != T0_OK) w_drop(e);
    if (type == KUBE_WATCH_GONE || type == KUBE_WATCH_CLOSED) w->ended = true;
}

/* w_line: one newline-delimited event. Returns false to end the stream. */
static bool w_line(struct kube_watch *w, char *s)
{
    while (*s == ' ' || *s == '\r') s++;
    if (!*s) return true;
    t0_json_text_drop(s, strlen(s), kr_drop_for(w->k, DROP_WATCH, w->kind)); /* keeps S NUL-terminated */
    cJSON *ev = cJSON_Parse(s);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(ev, "type");
    cJSON *obj = cJSON_DetachItemFromObjectCaseSensitive(ev, "object");
    bool go = true;
    if (!cJSON_IsString(type) || !cJSON_IsObject(obj)) {
        T0_WARN(COMP, "%s: malformed watch event (%.80s): restarting the watch", w->what, s);
        w_post(w, KUBE_WATCH_CLOSED, NULL);
        go = false;
    } else if (!strcmp(type->valuestring, "ADDED") || !strcmp(type->valuestring, "MODIFIED") ||
               !strcmp(type->valuestring, "DELETED")) {
        kube_watch_type t = type->valuestring[0] == 'A' ? KUBE_WATCH_ADDED
                            : type->valuestring[0] == 'M' ? KUBE_WATCH_MODIFIED
                                                          : KUBE_WATCH_DELETED;
        w_post(w, t, obj);
        obj = NULL;
    } else if (!strcmp(type->valuestring, "BOOKMARK")) {
        w_post(w, KUBE_WATCH_BOOKMARK, obj); /* progress only: where a watch may resume */
        obj = NULL;
    } else if (!strcmp(type->valuestring, "ERROR")) {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(obj, "code");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(obj, "message");
        bool gone = cJSON_IsNumber(code) && code->valueint == 410;
        T0_INFO(COMP, "%s: watch ERROR %d: %s%s", w->what, cJSON_IsNumber(code) ? code->valueint : 0,
                cJSON_IsString(msg) ? msg->valuestring : "", gone ? " (re-list)" : "");
        w_post(w, gone ? KUBE_WATCH_GONE : KUBE_WATCH_CLOSED, NULL);
        go = false;
    } else {
        T0_DEBUG(COMP, "%s: ignoring watch event type %s", w->what, type->valuestring);
    }
    cJSON_Delete(obj);
    cJSON_Delete(ev);
    return go;
}

static size_t w_on_body(char *d, size_t sz, size_t nm, void *ud)
{
    struct kube_watch *w = ud;
    size_t n = sz * nm;
    if (atomic_load(&w->stop) || w->ended) return 0;
    if (w->http != 200) return kr_buf_add(&w->errbody, d, n) ? 0 : n;
    if (kr_buf_add(&w->line, d, n)) return 0;
    char *start = w->line.p, *nl;
    while ((nl = memchr(start, '\n', w->line.n - (size_t)(start - w->line.p)))) {
        *nl = 0;
        if (!w_line(w, start)) return 0;
        start = nl + 1;
    }
    size_t rest = w->line.n - (size_t)(start - w->line.p);
    memmove(w->line.p, start, rest);
    w->line.n = rest;
    w->line.p[rest] = 0;
    return n;
}

static int w_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a, (void)b, (void)c, (void)d;
    struct kube_watch *w = ud;
    return atomic_load(&w->stop) ? 1 : 0;
}

typedef struct w_ctx {
    struct kube_watch *w;
    CURL *c;
} w_ctx;

static size_t w_on_body_c(char *d, size_t sz, size_t nm, void *ud)
{
    w_ctx *x = ud;
    if (!x->w->http) curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &x->w->http);
    return w_on_body(d, sz, nm, x->w);
}

/* w_pause: wait MS unless unwatch/destroy asks the thread to stop. */
static void w_pause(struct kube_watch *w, int64_t ms)
{
    struct timespec ts = t0_deadline(CLOCK_REALTIME, ms); /* w->cv has the default clock */
    pthread_mutex_lock(&w->mu);
    while (!atomic_load(&w->stop))
        if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) != 0) break;
    pthread_mutex_unlock(&w->mu);
}

static void *w_thread(void *arg)
{
    struct kube_watch *w = arg;
    kuberest *k = w->k;
    CURL *c = curl_easy_init();
    int64_t t0 = t0_mono_ms();
    if (c) {
        kr_rate_wait(k);
        w_ctx x = {w, c};
        struct curl_slist *h = kr_auth_header(k, curl_slist_append(NULL, "Accept: application/json"));
        kr_tls_setup(k, c);
        curl_easy_setopt(c, CURLOPT_URL, w->url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, w_on_body_c);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, w_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, w);
        curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
        CURLcode rc = curl_easy_perform(c);
        if (!w->http) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &w->http);
        curl_slist_free_all(h);
        curl_easy_cleanup(c);
        bool failed = rc != CURLE_OK && !w->ended;
        kr_record(k, KR_WATCH, w->http, (double)(t0_mono_ms() - t0) / 1000.0, failed || (w->http && w->http != 200));
        if (!atomic_load(&w->stop) && !w->ended) {
            if (w->http == 410) {
                w_post(w, KUBE_WATCH_GONE, NULL);
            } else {
                if (rc != CURLE_OK)
                    T0_WARN(COMP, "%s: watch stream failed: %s", w->what, curl_easy_strerror(rc));
                else if (w->http != 200) {
                    t0_err e = {0};
                    kuberest_map_error(w->http, w->errbody.p, NULL, w->what, &e);
                    T0_WARN(COMP, "watch: %s", e.msg);
                }
                /* a stream that failed quickly is not re-opened in a hot loop */
                if (t0_mono_ms() - t0 < 1000) w_pause(w, 1000);
                if (!atomic_load(&w->stop)) w_post(w, KUBE_WATCH_CLOSED, NULL);
            }
        }
    } else if (!atomic_load(&w->stop)) {
        w_pause(w, 1000);
        w_post(w, KUBE_WATCH_CLOSED, NULL);
    }
    pthread_mutex_lock(&k->mu);
    k->nthreads--;
    pthread_cond_broadcast(&k->cv);
    pthread_mutex_unlock(&k->mu);
    w_release(w);
    return NULL;
}

t0_status kr_watch(void *ctx, kube_kind kind, const char *ns, const char *selector, const char *from_rv,
                         kube_watch_fn fn, void *ud, kube_watch **out, t0_err *err)
{
    kuberest *k = ctx;
    char path[2048], what[160];
    snprintf(what, sizeof what, "watch %s in %s", kube_kind_name(kind), ns ? ns : "");
    if (!fn || kuberest_path(kind, ns, NULL, path, sizeof path) != T0_OK)
        return t0_fail(err, T0_EINVAL, "%s: bad kind or namespace", what);
    char q[64];
    snprintf(q, sizeof q, "?watch=true&allowWatchBookmarks=true&timeoutSeconds=%d", k->o.watch_timeout_s);
    strncat(path, q, sizeof path - strlen(path) - 1);
    if (kr_append_query(k->easy, path, sizeof path, "resourceVersion", from_rv) != T0_OK ||
        kr_append_query(k->easy, path, sizeof path, "labelSelector", selector) != T0_OK)
        return t0_fail(err, T0_EINVAL, "%s: selector or resourceVersion too long", what);
    struct kube_watch *w = calloc(1, sizeof *w);
    size_t ul = strlen(k->cfg.server) + strlen(path) + 1;
    if (!w || !(w->url = malloc(ul))) {
        free(w);
        return t0_fail(err, T0_ENOMEM, "%s: out of memory", what);
    }
    snprintf(w->url, ul, "%s%s", k->cfg.server, path);
    snprintf(w->what, sizeof w->what, "%s", what);
    w->k = k;
    w->kind = kind;
    w->fn = fn;
    w->ud = ud;
    w->alive = w->user_ref = true;
    atomic_init(&w->refs, 2); /* the caller's and the thread's */
    atomic_init(&w->stop, false);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    pthread_mutex_lock(&k->mu);
    w->next = k->watches;
    if (w->next) w->next->prev = w;
    k->watches = w;
    k->nthreads++;
    pthread_mutex_unlock(&k->mu);
    int rc = t0_thread_detached(w_thread, w);
    if (rc != 0) {
        pthread_mutex_lock(&k->mu);
        unlink_watch(k, w);
        k->nthreads--;
        pthread_mutex_unlock(&k->mu);
        atomic_store(&w->refs, 1);
        w_release(w);
        return t0_fail(err, T0_EUNAVAILABLE, "%s: cannot start a thread: %s", what, strerror(rc));
    }
    *out = w;
    return T0_OK;
}

static void w_stop(struct kube_watch *w)
{
    pthread_mutex_lock(&w->mu);
    atomic_store(&w->stop, true);
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

void kr_unwatch(void *ctx, kube_watch *w)
{
    kuberest *k = ctx;
    if (!w || !w->user_ref) return;
    w->alive = false;
    w->user_ref = false;
    pthread_mutex_lock(&k->mu);
    unlink_watch(k, w);
    pthread_mutex_unlock(&k->mu);
    w_stop(w);
    w_release(w);
}

void kr_watches_end(kuberest *k)
{
    pthread_mutex_lock(&k->mu);
    for (struct kube_watch *w = k->watches; w; w = w->next) {
        w->alive = false;
        w_stop(w);
    }
    while (k->nthreads) pthread_cond_wait(&k->cv, &k->mu);
    /* watches the caller never unwatched: drop the caller's reference (the handles die with K) */
    while (k->watches) {
        struct kube_watch *w = k->watches;
        unlink_watch(k, w);
        w->user_ref = false;
        w_release(w);
    }
    pthread_mutex_unlock(&k->mu);
}
