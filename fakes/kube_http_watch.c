/* kube_http_watch.c: the HTTP front's watch streams: a kfake watch per stream, its events formatted
 * (objects or Table rows) by the cluster thread into a buffer that the connection's thread drains. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "core/clock.h"
#include "core/json.h"
#include "core/log.h"
#include "fakes/kube_http_impl.h"

struct kh_watch {
    khttp *h;
    const kfake_res *r;
    int rid;
    char ns[256];
    kube_watch *kw; /* cluster thread */
    kh_fsel fs;
    bool table, headers_sent, include_object, bookmarks;
    char from_rv[32];
    /* the stream, shared with the connection's thread under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char *buf;
    size_t len, off, cap;
    bool ended;
    /* the connection's thread only */
    int fd;
    int64_t deadline;
};

/* kw_append: add one event line to the stream (cluster thread). A reader that lags too far is cut off. */
static void kw_append(kh_watch *w, char *line)
{
    size_t n = strlen(line);
    pthread_mutex_lock(&w->mu);
    if (!w->ended) {
        if (w->len + n + 1 > w->cap) {
            if (w->off) {
                memmove(w->buf, w->buf + w->off, w->len - w->off);
                w->len -= w->off;
                w->off = 0;
            }
            size_t cap = w->cap ? w->cap : 4096;
            while (cap < w->len + n + 1) cap *= 2;
            char *b = cap <= KH_MAX_WATCH_BUF ? realloc(w->buf, cap) : NULL;
            if (!b) {
                T0_WARN(KH_COMP, "watch on %s: the client is too slow (%zu bytes queued); ending the stream", w->r->plural, w->len);
                w->ended = true;
                pthread_cond_signal(&w->cv);
                pthread_mutex_unlock(&w->mu);
                return;
            }
            w->buf = b;
            w->cap = cap;
        }
        memcpy(w->buf + w->len, line, n);
        w->buf[w->len + n] = '\n';
        w->len += n + 1;
        pthread_cond_signal(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
}

static void kw_end(kh_watch *w)
{
    pthread_mutex_lock(&w->mu);
    w->ended = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* kw_send: one event line {"type":TYPE,"object":OBJECT} on the stream (OBJECT owned) */
static void kw_send(kh_watch *w, const char *type, cJSON *object)
{
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "type", type);
    if (!cJSON_AddItemToObject(ev, "object", object)) cJSON_Delete(object);
    char *line = cJSON_PrintUnformatted(ev);
    cJSON_Delete(ev);
    if (line) kw_append(w, line);
    free(line);
}

static void kw_emit(kh_watch *w, const char *type, const cJSON *obj)
{
    if (!kh_fsel_match(&w->fs, obj)) return;
    cJSON *o;
    if (w->table) {
        o = kh_table_new(w->rid, !w->headers_sent, kfake_str(obj, "metadata.resourceVersion"));
        kh_table_add(w->h, w->rid, o, obj, w->include_object);
        w->headers_sent = true;
    } else {
        o = cJSON_Duplicate(obj, 1);
        kh_wire_fix(w->rid, o);
    }
    kw_send(w, type, o);
}

/* kw_event: kfake's watch callback (cluster thread). */
static void kw_event(void *ud, kube_watch_type type, const cJSON *obj)
{
    kh_watch *w = ud;
    switch (type) {
    case KUBE_WATCH_ADDED: kw_emit(w, "ADDED", obj); break;
    case KUBE_WATCH_MODIFIED: kw_emit(w, "MODIFIED", obj); break;
    case KUBE_WATCH_DELETED: kw_emit(w, "DELETED", obj); break;
    case KUBE_WATCH_GONE: {
        char msg[128];
        snprintf(msg, sizeof msg, "too old resource version: %s (%" PRIu64 ")", w->from_rv,
                 kfake_resource_version(w->h->kube));
        kw_send(w, "ERROR", kh_status_obj(410, "Expired", msg, NULL, NULL));
        kw_end(w);
        break;
    }
    case KUBE_WATCH_CLOSED: kw_end(w); break;
    case KUBE_WATCH_BOOKMARK: /* {"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"N"}}, as asked */
        if (w->bookmarks) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "kind", w->r->kind);
            cJSON_AddStringToObject(o, "apiVersion", w->r->api_version);
            cJSON_AddItemToObject(o, "metadata", cJSON_Duplicate(t0_json_get(obj, "metadata"), 1));
            kw_send(w, "BOOKMARK", o);
        }
        break;
    }
}

/* kw_close: the stream's connection is done (cluster thread): unregister and free. */
static void kw_close(khttp *h, void *ud)
{
    kh_watch *w = ud;
    if (w->kw) kfake_unwatch(h->kube, w->kw);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w->buf);
    free(w);
    atomic_fetch_sub(&h->n_open, 1);
}

/* peer_closed: whether the client hung up (checked while the stream is idle). */
static bool peer_closed(int fd)
{
    if (fd < 0) return false;
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
    if (poll(&p, 1, 0) <= 0) return false;
    if (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) return true;
    char c;
    return recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

/* kh_watch_read: libmicrohttpd's content reader (the connection's thread): blocks until bytes, the end of the
 * stream, its deadline, the server stopping or the client hanging up. */
ssize_t kh_watch_read(void *cls, uint64_t pos, char *out, size_t max)
{
    (void)pos;
    kh_watch *w = cls;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        if (w->off < w->len) {
            size_t n = w->len - w->off < max ? w->len - w->off : max;
            memcpy(out, w->buf + w->off, n);
            w->off += n;
            if (w->off == w->len) w->off = w->len = 0;
            pthread_mutex_unlock(&w->mu);
            return (ssize_t)n;
        }
        int64_t left = w->deadline - t0_mono_ms();
        if (w->ended || atomic_load(&w->h->stopping) || left <= 0) {
            pthread_mutex_unlock(&w->mu);
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        struct timespec ts = t0_deadline(CLOCK_MONOTONIC, left < 500 ? left : 500);
        if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) == ETIMEDOUT && w->off == w->len && peer_closed(w->fd)) {
            pthread_mutex_unlock(&w->mu);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
    }
}

/* kh_watch_free: libmicrohttpd is done with the stream (any thread): hand it back to the cluster thread. */
void kh_watch_free(void *cls)
{
    kh_watch *w = cls;
    kh_job *j = calloc(1, sizeof *j);
    if (!j) {
        /* cannot post: leak rather than free an object kfake may still call back into */
        T0_ERROR(KH_COMP, "out of memory ending a watch stream");
        return;
    }
    j->fn = kw_close;
    j->ud = w;
    kh_post_job(w->h, j);
}

/* list_added: "from now" in the API server's sense: the current objects as ADDED; *RV gets the list's
 * resourceVersion, from which the watch goes on */
static t0_status list_added(khttp *h, kh_watch *w, const char *selector, char *rv, size_t cap, t0_err *err)
{
    cJSON *list = NULL;
    t0_status st = kfake_list(h->kube, w->rid, w->ns, selector, NULL, &list, err);
    if (st != T0_OK) return st;
    const char *lrv = kfake_str(list, "metadata.resourceVersion");
    snprintf(rv, cap, "%s", lrv ? lrv : "");
    const cJSON *it;
    cJSON_ArrayForEach(it, kh_item(list, "items")) kw_emit(w, "ADDED", it);
    cJSON_Delete(list);
    return T0_OK;
}

void kh_do_watch(khttp *h, kh_req *q, const kh_target *t)
{
    t0_err err = {0};
    kh_watch *w = calloc(1, sizeof *w);
    if (!w) return kh_reply_status(q, 500, "InternalError", "out of memory", t->r, NULL);
    w->h = h;
    w->r = t->r;
    w->rid = t->rid;
    w->fd = q->fd;
    w->table = q->table;
    w->include_object = !q->q_include || strcasecmp(q->q_include, "None");
    w->bookmarks = !q->table && q->q_bookmarks && !strcasecmp(q->q_bookmarks, "true"); /* never in Table form */
    snprintf(w->ns, sizeof w->ns, "%s", t->ns ? t->ns : "");
    pthread_mutex_init(&w->mu, NULL);
    kh_cond_init_mono(&w->cv);
    long secs = q->q_timeout ? strtol(q->q_timeout, NULL, 10) : 0;
    w->deadline = t0_mono_ms() + (secs > 0 ? secs : KH_WATCH_DEFAULT_S) * 1000;
    atomic_fetch_add(&h->n_open, 1);
    t0_status st = kh_fsel_parse(q->q_field, &w->fs, &err);
    const char *rv = q->q_rv;
    char list_rv[32] = "";
    if (st == T0_OK && (!rv || !*rv || !strcmp(rv, "0"))) {
        st = list_added(h, w, q->q_label, list_rv, sizeof list_rv, &err);
        rv = list_rv;
    }
    snprintf(w->from_rv, sizeof w->from_rv, "%s", rv ? rv : "");
    if (st == T0_OK) st = kfake_watch(h->kube, t->rid, w->ns, q->q_label, rv, kw_event, w, &w->kw, &err);
    if (st != T0_OK) {
        kw_close(h, w);
        return kh_reply_err(q, t->r, NULL, st, &err);
    }
    if (w->bookmarks) kfake_watch_bookmarks(h->kube, w->kw, (int64_t)h->o.bookmark_s * 1000);
    q->code = 200;
    q->watch = w;
}
