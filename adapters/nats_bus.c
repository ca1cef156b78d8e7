/* nats_bus.c: bus_port over nats.c with per-subscription threads and loop-side handlers (see nats_bus.h). */
#include "adapters/nats_bus.h"

#include <nats/nats.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"

#define COMP "nats-bus"
#define FETCH_BATCH 16

static const char *const THE0_SUBJECTS[] = {"the0.bot.created",          "the0.bot.updated",
                                            "the0.bot.deleted",          "the0.bot-schedule.created",
                                            "the0.bot-schedule.updated", "the0.bot-schedule.deleted"};
/* the dead-letter stream keeps what the controller gave up on, and JetStream's own advisories about
 * messages that reached the server's MaxDeliver (delivered, never settled: the controller was gone) */
static const char *const DEADLETTER_SUBJECTS[] = {BUS_DEADLETTER_PREFIX ">",
                                                  "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." BUS_STREAM ".>"};

/* What the connection callbacks touch. nats.c runs them on its own thread and may run the closed
 * callback after natsConnection_Destroy returned, so this outlives the bus: the closed callback (the
 * last one for a connection) frees it. */
typedef struct cbctx {
    atomic_bool closing; /* natsbus_destroy started: the disconnect that follows is ours */
    atomic_uint_fast64_t disconnects, reconnects;
} cbctx;

struct natsbus {
    natsbus_opts o;
    cbctx *cb;
    rtloop *loop;
    natsOptions *nopts;
    natsConnection *nc;
    jsCtx *js;
    pthread_mutex_t mu; /* subs list and thread count */
    pthread_cond_t cv;
    struct bus_sub *subs;
    unsigned nthreads;
    atomic_uint_fast64_t received, acked, naked, terminated, dead_lettered, dead_letter_failures, published, fetch_errors;
};

/* Lifetime as in kube_rest's watches: the caller, the thread and a posted message each hold a
 * reference; `alive` is loop-side only; `stop` (atomic) ends the thread. */
struct bus_sub {
    natsbus *b;
    struct bus_sub *next, *prev;
    bus_msg_fn fn;
    void *ud;
    char *subject, *queue, *stream, *durable;
    bool is_durable;
    unsigned max_deliver;   /* bus_durable's */
    int64_t *backoff_ms;
    size_t nbackoff;
    uint64_t epoch;         /* the bound stream's creation time (microseconds) */
    natsSubscription *ns;
    atomic_int refs;
    atomic_bool stop;
    bool alive, user_ref;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* the durable message in flight (one at a time) */
    char *cur_subject, *cur_data;
    size_t cur_len;
    uint64_t cur_seq;
    unsigned cur_delivered;
    bool done;
    t0_status result;
    t0_err result_err;
};

void natsbus_opts_defaults(natsbus_opts *o)
{
    *o = (natsbus_opts){.ack_wait_ms = 30000, .connect_timeout_ms = 10000, .create_stream = true,
                        .stream_max_age_ms = 7LL * 24 * 3600 * 1000, .deadletter_max_age_ms = 30LL * 24 * 3600 * 1000};
}

static t0_status nfail(t0_err *err, natsStatus s, const char *what)
{
    const char *last = nats_GetLastError(NULL);
    return t0_fail(err, s == NATS_TIMEOUT ? T0_ETIMEOUT : T0_EUNAVAILABLE, "%s: %s%s%s", what, natsStatus_GetText(s),
                   last && *last ? ": " : "", last && *last ? last : "");
}

static void on_disconnected(natsConnection *nc, void *ud)
{
    (void)nc;
    cbctx *b = ud;
    if (atomic_load(&b->closing)) return;
    atomic_fetch_add(&b->disconnects, 1);
    T0_WARNK(COMP, "disconnected from NATS; reconnecting (durable consumers resume where they stopped)");
}

static void on_reconnected(natsConnection *nc, void *ud)
{
    cbctx *b = ud;
    char url[256] = "";
    natsConnection_GetConnectedUrl(nc, url, sizeof url);
    atomic_fetch_add(&b->reconnects, 1);
    char safe[256];
    T0_INFOK(COMP, "reconnected to NATS", "url", t0_redact_url(url, safe, sizeof safe));
}

static void on_closed(natsConnection *nc, void *ud)
{
    (void)nc;
    cbctx *b = ud;
    if (!atomic_load(&b->closing)) T0_WARNK(COMP, "NATS connection closed");
    free(b);
}

void natsbus_destroy(natsbus *b)
{
    if (!b) return;
    if (b->cb) atomic_store(&b->cb->closing, true);
    pthread_mutex_lock(&b->mu);
    for (struct bus_sub *s = b->subs; s; s = s->next) {
        s->alive = false;
        pthread_mutex_lock(&s->mu);
        atomic_store(&s->stop, true);
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
    }
    while (b->nthreads) pthread_cond_wait(&b->cv, &b->mu);
    pthread_mutex_unlock(&b->mu);
    while (b->subs) natsbus_port(b).unsubscribe(b, b->subs);
    if (b->js) jsCtx_Destroy(b->js);
    if (b->nc) {
        natsConnection_Close(b->nc); /* the closed callback frees b->cb */
        natsConnection_Destroy(b->nc);
    } else {
        free(b->cb); /* never connected: no callback will run */
    }
    if (b->nopts) natsOptions_Destroy(b->nopts);
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
    free(b);
}

t0_status natsbus_new(const char *url, rtloop *loop, const natsbus_opts *opts, natsbus **out, t0_err *err)
{
    if (!url || !*url || !loop) return t0_fail(err, T0_EINVAL, "nats: no URL or loop");
    natsbus *b = calloc(1, sizeof *b);
    if (!b) return t0_fail(err, T0_ENOMEM, "nats: out of memory");
    if (opts)
        b->o = *opts;
    else
        natsbus_opts_defaults(&b->o);
    b->loop = loop;
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    if (!(b->cb = calloc(1, sizeof *b->cb))) {
        natsbus_destroy(b);
        return t0_fail(err, T0_ENOMEM, "nats: out of memory");
    }
    natsStatus s = natsOptions_Create(&b->nopts);
    if (s == NATS_OK) s = natsOptions_SetURL(b->nopts, url);
    if (s == NATS_OK) s = natsOptions_SetName(b->nopts, "the0-runtime");
    if (s == NATS_OK) s = natsOptions_SetTimeout(b->nopts, b->o.connect_timeout_ms);
    if (s == NATS_OK) s = natsOptions_SetMaxReconnect(b->nopts, -1);
    if (s == NATS_OK) s = natsOptions_SetReconnectWait(b->nopts, 2000);
    if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(b->nopts, on_disconnected, b->cb);
    if (s == NATS_OK) s = natsOptions_SetReconnectedCB(b->nopts, on_reconnected, b->cb);
    if (s == NATS_OK) s = natsOptions_SetClosedCB(b->nopts, on_closed, b->cb);
    if (s != NATS_OK) {
        t0_status st = nfail(err, s, "nats: options");
        char safe[512];
        if (s == NATS_INVALID_ARG) st = t0_fail(err, T0_EINVAL, "nats: bad URL \"%s\"", t0_redact_url(url, safe, sizeof safe));
        natsbus_destroy(b);
        return st;
    }
    s = natsConnection_Connect(&b->nc, b->nopts);
    if (s != NATS_OK) {
        char what[300], safe[256];
        snprintf(what, sizeof what, "nats: connecting to %s", t0_redact_url(url, safe, sizeof safe)); /* never the password */
        t0_status st = nfail(err, s, what);
        b->nc = NULL;
        natsbus_destroy(b);
        return st == T0_ETIMEOUT ? st : T0_EUNAVAILABLE;
    }
    s = natsConnection_JetStream(&b->js, b->nc, NULL);
    if (s != NATS_OK) {
        t0_status st = nfail(err, s, "nats: JetStream context");
        natsbus_destroy(b);
        return st;
    }
    *out = b;
    return T0_OK;
}

bool natsbus_connected(natsbus *b) { return b && b->nc && natsConnection_Status(b->nc) == NATS_CONN_STATUS_CONNECTED; }

void natsbus_metrics_write(const natsbus_stats *s, bool connected, prom *out)
{
    static const struct {
        const char *name, *help;
        size_t off;
    } counters[] = {
        {"the0_nats_received_total", "NATS messages received.", offsetof(natsbus_stats, received)},
        {"the0_nats_acked_total", "JetStream messages acked after the store write.", offsetof(natsbus_stats, acked)},
        {"the0_nats_naked_total", "JetStream messages negatively acked for redelivery.", offsetof(natsbus_stats, naked)},
        {"the0_nats_terminated_total", "JetStream messages terminated as bad input.", offsetof(natsbus_stats, terminated)},
        {"the0_nats_dead_lettered_total", "JetStream messages published to the dead-letter stream.",
         offsetof(natsbus_stats, dead_lettered)},
        {"the0_nats_dead_letter_failures_total", "Dead-letter publishes that failed (redelivered instead).",
         offsetof(natsbus_stats, dead_letter_failures)},
        {"the0_nats_disconnects_total", "NATS disconnections.", offsetof(natsbus_stats, disconnects)},
        {"the0_nats_reconnects_total", "NATS reconnections.", offsetof(natsbus_stats, reconnects)},
    };
    for (size_t i = 0; i < sizeof counters / sizeof *counters; i++) {
        prom_family(out, counters[i].name, "counter", counters[i].help);
        prom_sample(out, counters[i].name, NULL, (double)*(const uint64_t *)((const char *)s + counters[i].off));
    }
    prom_family(out, "the0_nats_connected", "gauge", "1 while connected to NATS.");
    prom_sample(out, "the0_nats_connected", NULL, connected);
}

void natsbus_stats_get(natsbus *b, natsbus_stats *o)
{
    o->received = atomic_load(&b->received);
    o->acked = atomic_load(&b->acked);
    o->naked = atomic_load(&b->naked);
    o->terminated = atomic_load(&b->terminated);
    o->dead_lettered = atomic_load(&b->dead_lettered);
    o->dead_letter_failures = atomic_load(&b->dead_letter_failures);
    o->published = atomic_load(&b->published);
    o->disconnects = atomic_load(&b->cb->disconnects);
    o->reconnects = atomic_load(&b->cb->reconnects);
    o->fetch_errors = atomic_load(&b->fetch_errors);
}

/* ensure: STREAM exists (created with SUBJECTS, limits retention, file storage and MAX_AGE_MS when
 * missing and create_stream is set); its creation time in *CREATED_US (may be NULL). */
static t0_status ensure(natsbus *b, const char *stream, const char *const *subjects, int nsubjects, int64_t max_age_ms,
                        uint64_t *created_us, t0_err *err)
{
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetStreamInfo(&si, b->js, stream, NULL, &jerr);
    if (s != NATS_OK) {
        if (s != NATS_NOT_FOUND && jerr != JSStreamNotFoundErr) return nfail(err, s, "nats: stream info");
        if (!b->o.create_stream) return t0_fail(err, T0_ENOTFOUND, "nats: stream %s does not exist", stream);
        jsStreamConfig sc;
        jsStreamConfig_Init(&sc);
        sc.Name = stream;
        sc.Subjects = (const char **)subjects;
        sc.SubjectsLen = nsubjects;
        sc.Retention = js_LimitsPolicy;
        sc.Storage = js_FileStorage;
        sc.MaxAge = max_age_ms * 1000000LL;
        s = js_AddStream(&si, b->js, &sc, NULL, &jerr);
        if (s != NATS_OK) {
            /* another instance (or the API) may have created it meanwhile */
            if (js_GetStreamInfo(&si, b->js, stream, NULL, NULL) != NATS_OK) {
                char what[128];
                snprintf(what, sizeof what, "nats: creating stream %s (js error %d)", stream, (int)jerr);
                return nfail(err, s, what);
            }
        } else {
            T0_INFO(COMP, "created stream %s (limits retention, file storage, max age %lld s)", stream,
                    (long long)(max_age_ms / 1000));
        }
    }
    if (created_us) *created_us = si->Created > 0 ? (uint64_t)(si->Created / 1000) : 1;
    jsStreamInfo_Destroy(si);
    return T0_OK;
}

t0_status natsbus_ensure_stream(natsbus *b, const char *stream, t0_err *err)
{
    return ensure(b, stream, THE0_SUBJECTS, (int)T0_ARRAY_LEN(THE0_SUBJECTS), b->o.stream_max_age_ms, NULL, err);
}

t0_status natsbus_ensure_deadletter(natsbus *b, t0_err *err)
{
    return ensure(b, BUS_DEADLETTER_STREAM, DEADLETTER_SUBJECTS, (int)T0_ARRAY_LEN(DEADLETTER_SUBJECTS),
                  b->o.deadletter_max_age_ms, NULL, err);
}

/* ---- subscription lifetime -------------------------------------------------------------------- */
static void sub_release(struct bus_sub *s)
{
    if (atomic_fetch_sub(&s->refs, 1) != 1) return;
    free(s->subject);
    free(s->queue);
    free(s->stream);
    free(s->durable);
    free(s->cur_subject);
    free(s->cur_data);
    free(s->backoff_ms);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

static void thread_exit(struct bus_sub *s)
{
    natsbus *b = s->b;
    pthread_mutex_lock(&b->mu);
    b->nthreads--;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
    sub_release(s);
}

static void pause_ms(struct bus_sub *s, int64_t ms)
{
    struct timespec ts = t0_deadline(CLOCK_REALTIME, ms);
    pthread_mutex_lock(&s->mu);
    while (!atomic_load(&s->stop))
        if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) != 0) break;
    pthread_mutex_unlock(&s->mu);
}

/* ---- core subscriptions ----------------------------------------------------------------------- */
typedef struct core_msg {
    struct bus_sub *s;
    char *subject, *data;
    size_t len;
} core_msg;

static void core_free(void *ud)
{
    core_msg *m = ud;
    free(m->subject);
    free(m->data);
    sub_release(m->s);
    free(m);
}

static void core_deliver(void *ud)
{
    core_msg *m = ud;
    if (m->s->alive) {
        bus_msg msg = {.subject = m->subject, .data = m->data, .len = m->len};
        t0_err err = {0};
        t0_status st = m->s->fn(m->s->ud, &msg, &err);
        if (st != T0_OK)
            T0_DEBUG(COMP, "%s: handler returned %s (core subscription: no redelivery)", m->subject, t0_status_name(st));
    }
    core_free(m);
}

static void *core_thread(void *arg)
{
    struct bus_sub *s = arg;
    natsbus *b = s->b;
    while (!atomic_load(&s->stop)) {
        natsMsg *msg = NULL;
        natsStatus ns = natsSubscription_NextMsg(&msg, s->ns, 500);
        if (ns == NATS_TIMEOUT) continue;
        if (ns != NATS_OK) {
            if (ns == NATS_SLOW_CONSUMER) {
                T0_WARN(COMP, "%s: slow consumer: messages were dropped by the client", s->subject);
                continue;
            }
            if (atomic_load(&s->stop)) break;
            pause_ms(s, 500);
            continue;
        }
        atomic_fetch_add(&b->received, 1);
        core_msg *m = calloc(1, sizeof *m);
        int len = natsMsg_GetDataLength(msg);
        if (m && (m->subject = strdup(natsMsg_GetSubject(msg))) && (m->data = malloc((size_t)len + 1))) {
            memcpy(m->data, natsMsg_GetData(msg), (size_t)len);
            m->data[len] = 0;
            m->len = (size_t)len;
            m->s = s;
            atomic_fetch_add(&s->refs, 1);
            if (rtloop_post(b->loop, core_deliver, core_free, m) != T0_OK) core_free(m);
        } else if (m) {
            free(m->subject);
            free(m);
            T0_ERROR(COMP, "%s: out of memory: message dropped", natsMsg_GetSubject(msg));
        }
        natsMsg_Destroy(msg);
    }
    natsSubscription_Unsubscribe(s->ns);
    natsSubscription_Destroy(s->ns);
    s->ns = NULL;
    thread_exit(s);
    return NULL;
}

/* ---- durable consumers ------------------------------------------------------------------------ */
/* durable_bind: make sure the stream, the dead-letter stream and the consumer exist (the consumer updated
 * to our settings), then bind a pull subscription to it and note the stream's epoch. */
static t0_status durable_bind(struct bus_sub *s, t0_err *err)
{
    natsbus *b = s->b;
    uint64_t epoch = 0, again = 0;
    t0_status st = ensure(b, s->stream, THE0_SUBJECTS, (int)T0_ARRAY_LEN(THE0_SUBJECTS), b->o.stream_max_age_ms, &epoch, err);
    if (st == T0_OK && s->max_deliver) st = natsbus_ensure_deadletter(b, err);
    if (st != T0_OK) return st;
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = s->durable;
    cc.FilterSubject = s->subject;
    cc.AckPolicy = js_AckExplicit;
    cc.DeliverPolicy = js_DeliverAll;
    cc.AckWait = b->o.ack_wait_ms * 1000000LL;
    /* the server's bound leaves room for a failed dead-letter publish (BUS_MAXDELIVER_SLACK). No server
     * BackOff: nats-server makes BackOff[0] the AckWait, which would redeliver messages waiting in a
     * fetched batch behind a slow handler; each nak carries its delay instead. */
    cc.MaxDeliver = s->max_deliver ? (int64_t)s->max_deliver + BUS_MAXDELIVER_SLACK : -1;
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    natsStatus ns = js_AddConsumer(&ci, b->js, s->stream, &cc, NULL, &jerr);
    if (ns != NATS_OK) {
        /* it exists with other settings (an older version of us): update it, else use it as it is */
        jsErrCode uerr = 0;
        if (js_UpdateConsumer(&ci, b->js, s->stream, &cc, NULL, &uerr) != NATS_OK) {
            T0_WARN(COMP, "durable consumer %s exists with other settings and cannot be updated (js error %d): used as it is",
                    s->durable, (int)uerr);
            if (js_GetConsumerInfo(&ci, b->js, s->stream, s->durable, NULL, NULL) != NATS_OK) {
                char what[256];
                snprintf(what, sizeof what, "nats: durable consumer %s on %s filter %s (js error %d)", s->durable,
                         s->stream, s->subject, (int)jerr);
                return nfail(err, ns, what);
            }
        }
    }
    jsConsumerInfo_Destroy(ci);
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = s->stream;
    so.Consumer = s->durable;
    ns = js_PullSubscribe(&s->ns, b->js, s->subject, s->durable, NULL, &so, &jerr);
    if (ns != NATS_OK) {
        s->ns = NULL;
        char what[256];
        snprintf(what, sizeof what, "nats: pull subscribe %s (js error %d)", s->durable, (int)jerr);
        return nfail(err, ns, what);
    }
    /* the stream may have been deleted and created again while we bound (the API does so at start): the
     * epoch must be the bound stream's, or its new sequences would look older than the old ones */
    st = ensure(b, s->stream, THE0_SUBJECTS, (int)T0_ARRAY_LEN(THE0_SUBJECTS), b->o.stream_max_age_ms, &again, err);
    if (st == T0_OK && again != epoch) st = t0_fail(err, T0_EUNAVAILABLE, "nats: stream %s was recreated while binding", s->stream);
    if (st != T0_OK) {
        natsSubscription_Destroy(s->ns);
        s->ns = NULL;
        return st;
    }
    s->epoch = epoch;
    return T0_OK;
}

static void durable_deliver(void *ud)
{
    struct bus_sub *s = ud;
    bus_msg msg = {.subject = s->cur_subject, .data = s->cur_data, .len = s->cur_len, .stream_seq = s->cur_seq,
                   .stream_epoch = s->epoch, .delivered = s->cur_delivered, .max_deliver = s->max_deliver};
    t0_err err = {0};
    t0_status st = s->alive ? s->fn(s->ud, &msg, &err) : t0_fail(&err, T0_EUNAVAILABLE, "unsubscribed");
    pthread_mutex_lock(&s->mu);
    s->result = st;
    s->result_err = err;
    s->done = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    sub_release(s);
}

static void durable_drop(void *ud) { sub_release(ud); }

/* backoff: the nak delay after failed delivery N */
static int64_t backoff(const struct bus_sub *s, unsigned n)
{
    if (!s->nbackoff) return s->b->o.ack_wait_ms;
    size_t i = n < 1 ? 0 : n - 1;
    return s->backoff_ms[i < s->nbackoff ? i : s->nbackoff - 1];
}

/* dead_letter: publish MSG on the dead-letter subject with where it came from and WHY (JetStream
 * publish: stored before we terminate the original). */
static bool dead_letter(struct bus_sub *s, natsMsg *msg, const char *why)
{
    natsbus *b = s->b;
    char subj[512], seq[32], dl[16], ep[32];
    snprintf(subj, sizeof subj, "%s%s", BUS_DEADLETTER_PREFIX, s->cur_subject);
    snprintf(seq, sizeof seq, "%llu", (unsigned long long)s->cur_seq);
    snprintf(dl, sizeof dl, "%u", s->cur_delivered);
    snprintf(ep, sizeof ep, "%llu", (unsigned long long)s->epoch);
    natsMsg *out = NULL;
    natsStatus ns = natsMsg_Create(&out, subj, NULL, natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
    if (ns == NATS_OK) ns = natsMsgHeader_Set(out, "The0-Subject", s->cur_subject);
    if (ns == NATS_OK) ns = natsMsgHeader_Set(out, "The0-Stream", s->stream);
    if (ns == NATS_OK) ns = natsMsgHeader_Set(out, "The0-Stream-Epoch", ep);
    if (ns == NATS_OK) ns = natsMsgHeader_Set(out, "The0-Stream-Seq", seq);
    if (ns == NATS_OK) ns = natsMsgHeader_Set(out, "The0-Delivered", dl);
    if (ns == NATS_OK) ns = natsMsgHeader_Set(out, "The0-Error", why && *why ? why : "(no reason given)");
    jsErrCode jerr = 0;
    jsPubAck *pa = NULL;
    if (ns == NATS_OK) ns = js_PublishMsg(&pa, b->js, out, NULL, &jerr);
    jsPubAck_Destroy(pa);
    natsMsg_Destroy(out);
    if (ns != NATS_OK) {
        atomic_fetch_add(&b->dead_letter_failures, 1);
        T0_ERROR(COMP, "%s seq %s: dead-letter publish to %s failed (%s, js error %d): redelivered instead", s->cur_subject,
                 seq, subj, natsStatus_GetText(ns), (int)jerr);
        return false;
    }
    atomic_fetch_add(&b->dead_lettered, 1);
    return true;
}

/* handle: run one message through the loop and settle it. Returns false when the thread must stop. */
static bool handle(struct bus_sub *s, natsMsg *msg)
{
    natsbus *b = s->b;
    atomic_fetch_add(&b->received, 1);
    int len = natsMsg_GetDataLength(msg);
    free(s->cur_subject);
    free(s->cur_data);
    s->cur_subject = strdup(natsMsg_GetSubject(msg));
    s->cur_data = malloc((size_t)len + 1);
    jsMsgMetaData *meta = NULL;
    if (!s->cur_subject || !s->cur_data || natsMsg_GetMetaData(&meta, msg) != NATS_OK) {
        natsMsg_NakWithDelay(msg, backoff(s, 1), NULL);
        jsMsgMetaData_Destroy(meta);
        return true;
    }
    s->cur_seq = meta->Sequence.Stream;
    s->cur_delivered = (unsigned)meta->NumDelivered;
    jsMsgMetaData_Destroy(meta);
    memcpy(s->cur_data, natsMsg_GetData(msg), (size_t)len);
    s->cur_data[len] = 0;
    s->cur_len = (size_t)len;
    pthread_mutex_lock(&s->mu);
    s->done = false;
    pthread_mutex_unlock(&s->mu);
    atomic_fetch_add(&s->refs, 1);
    if (rtloop_post(b->loop, durable_deliver, durable_drop, s) != T0_OK) {
        sub_release(s);
        natsMsg_NakWithDelay(msg, backoff(s, s->cur_delivered), NULL);
        return true;
    }
    pthread_mutex_lock(&s->mu);
    while (!s->done && !atomic_load(&s->stop)) pthread_cond_wait(&s->cv, &s->mu);
    bool done = s->done;
    t0_status st = s->result;
    t0_err why = s->result_err;
    pthread_mutex_unlock(&s->mu);
    if (!done) return false; /* stopping: not acked, so JetStream redelivers it to the next consumer run */
    if (st == T0_OK) {
        jsErrCode jerr = 0;
        natsStatus ns = natsMsg_AckSync(msg, NULL, &jerr);
        if (ns == NATS_OK)
            atomic_fetch_add(&b->acked, 1);
        else
            T0_WARN(COMP, "%s: ack failed (%s): the message will be redelivered (its version makes it a no-op)",
                    s->cur_subject, natsStatus_GetText(ns));
    } else if (t0_status_retryable(st)) {
        if (s->max_deliver && s->cur_delivered >= s->max_deliver && dead_letter(s, msg, why.msg)) {
            natsMsg_Term(msg, NULL);
        } else {
            natsMsg_NakWithDelay(msg, backoff(s, s->cur_delivered), NULL);
            atomic_fetch_add(&b->naked, 1);
        }
    } else {
        natsMsg_Term(msg, NULL); /* bad input: never redelivered */
        atomic_fetch_add(&b->terminated, 1);
    }
    return true;
}

static void *durable_thread(void *arg)
{
    struct bus_sub *s = arg;
    natsbus *b = s->b;
    int64_t last_warn = 0;
    while (!atomic_load(&s->stop)) {
        if (!s->ns) {
            t0_err e = {0};
            if (durable_bind(s, &e) != T0_OK) {
                T0_WARNK(COMP, "durable consumer not bound", "durable", s->durable, "error", e.msg);
                pause_ms(s, 2000);
                continue;
            }
            T0_INFO(COMP, "durable consumer %s bound again on %s", s->durable, s->stream);
        }
        natsMsgList list = {0};
        jsErrCode jerr = 0;
        natsStatus ns = natsSubscription_Fetch(&list, s->ns, FETCH_BATCH, 1000, &jerr);
        if (ns == NATS_TIMEOUT) continue;
        if (ns != NATS_OK) {
            atomic_fetch_add(&b->fetch_errors, 1);
            int64_t now = (int64_t)time(NULL);
            if (now - last_warn >= 10) {
                T0_WARN(COMP, "fetch from %s: %s (js error %d)", s->durable, natsStatus_GetText(ns), (int)jerr);
                last_warn = now;
            }
            /* the consumer or the stream may be gone (the API recreates THE0_EVENTS on start): re-bind */
            if (ns == NATS_NOT_FOUND || jerr == JSConsumerNotFoundErr || jerr == JSStreamNotFoundErr ||
                ns == NATS_INVALID_SUBSCRIPTION) {
                natsSubscription_Destroy(s->ns);
                s->ns = NULL;
            }
            pause_ms(s, 1000);
            continue;
        }
        bool go = true;
        for (int i = 0; i < list.Count && go; i++) go = handle(s, list.Msgs[i]);
        natsMsgList_Destroy(&list);
        if (!go) break;
    }
    if (s->ns) natsSubscription_Destroy(s->ns); /* not Unsubscribe: the durable consumer stays */
    s->ns = NULL;
    thread_exit(s);
    return NULL;
}

/* ---- port ------------------------------------------------------------------------------------- */
static t0_status start_sub(natsbus *b, struct bus_sub *s, void *(*fn)(void *), bus_sub **out, t0_err *err)
{
    atomic_init(&s->refs, 2);
    atomic_init(&s->stop, false);
    s->alive = s->user_ref = true;
    pthread_mutex_lock(&b->mu);
    s->next = b->subs;
    if (s->next) s->next->prev = s;
    b->subs = s;
    b->nthreads++;
    pthread_mutex_unlock(&b->mu);
    int rc = t0_thread_detached(fn, s);
    if (rc != 0) {
        pthread_mutex_lock(&b->mu);
        b->nthreads--;
        pthread_mutex_unlock(&b->mu);
        if (s->ns) natsSubscription_Destroy(s->ns);
        s->ns = NULL;
        sub_release(s); /* the thread's reference */
        natsbus_port(b).unsubscribe(b, s);
        return t0_fail(err, T0_EUNAVAILABLE, "nats: cannot start a thread: %s", strerror(rc));
    }
    *out = s;
    return T0_OK;
}

static struct bus_sub *sub_alloc(natsbus *b, const char *subject, bus_msg_fn fn, void *ud)
{
    struct bus_sub *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->b = b;
    s->fn = fn;
    s->ud = ud;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (!(s->subject = strdup(subject))) {
        atomic_init(&s->refs, 1);
        sub_release(s);
        return NULL;
    }
    return s;
}

static t0_status b_subscribe(void *ctx, const char *subject, const char *queue, bus_msg_fn fn, void *ud, bus_sub **out,
                             t0_err *err)
{
    natsbus *b = ctx;
    if (!subject || !fn) return t0_fail(err, T0_EINVAL, "nats subscribe: no subject or handler");
    struct bus_sub *s = sub_alloc(b, subject, fn, ud);
    if (!s) return t0_fail(err, T0_ENOMEM, "nats subscribe %s: out of memory", subject);
    natsStatus ns = queue && *queue ? natsConnection_QueueSubscribeSync(&s->ns, b->nc, subject, queue)
                                    : natsConnection_SubscribeSync(&s->ns, b->nc, subject);
    if (ns == NATS_OK) ns = natsSubscription_SetPendingLimits(s->ns, 65536, 64 * 1024 * 1024);
    if (ns != NATS_OK) {
        char what[200];
        snprintf(what, sizeof what, "nats subscribe %s queue %s", subject, queue ? queue : "-");
        if (s->ns) natsSubscription_Destroy(s->ns);
        atomic_init(&s->refs, 1);
        sub_release(s);
        return nfail(err, ns, what);
    }
    return start_sub(b, s, core_thread, out, err);
}

static t0_status b_subscribe_durable(void *ctx, const bus_durable *o, bus_msg_fn fn, void *ud, bus_sub **out, t0_err *err)
{
    natsbus *b = ctx;
    if (!o || !o->stream || !o->subject || !o->durable || !fn || (o->nbackoff && !o->backoff_ms))
        return t0_fail(err, T0_EINVAL, "nats durable: missing argument");
    struct bus_sub *s = sub_alloc(b, o->subject, fn, ud);
    if (!s || !(s->stream = strdup(o->stream)) || !(s->durable = strdup(o->durable)) ||
        (o->nbackoff && !(s->backoff_ms = malloc(o->nbackoff * sizeof *s->backoff_ms)))) {
        if (s) atomic_init(&s->refs, 1), sub_release(s);
        return t0_fail(err, T0_ENOMEM, "nats durable %s: out of memory", o->durable);
    }
    if (o->nbackoff) memcpy(s->backoff_ms, o->backoff_ms, o->nbackoff * sizeof *s->backoff_ms);
    s->nbackoff = o->nbackoff;
    s->max_deliver = o->max_deliver;
    s->is_durable = true;
    t0_status st = durable_bind(s, err);
    if (st != T0_OK) {
        atomic_init(&s->refs, 1);
        sub_release(s);
        return st;
    }
    T0_INFO(COMP, "durable consumer %s on %s (filter %s, max deliver %u): ack after the handler succeeds", o->durable,
            o->stream, o->subject, o->max_deliver);
    return start_sub(b, s, durable_thread, out, err);
}

static void b_unsubscribe(void *ctx, bus_sub *s)
{
    natsbus *b = ctx;
    if (!s || !s->user_ref) return;
    s->alive = false;
    s->user_ref = false;
    pthread_mutex_lock(&b->mu);
    if (s->prev) s->prev->next = s->next;
    else b->subs = s->next;
    if (s->next) s->next->prev = s->prev;
    s->next = s->prev = NULL;
    pthread_mutex_unlock(&b->mu);
    pthread_mutex_lock(&s->mu);
    atomic_store(&s->stop, true);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    sub_release(s);
}

static t0_status b_publish(void *ctx, const char *subject, const char *data, size_t len, t0_err *err)
{
    natsbus *b = ctx;
    natsStatus ns = natsConnection_Publish(b->nc, subject, data, (int)len);
    if (ns != NATS_OK) {
        char what[200];
        snprintf(what, sizeof what, "nats publish %s", subject);
        return nfail(err, ns, what);
    }
    atomic_fetch_add(&b->published, 1);
    return T0_OK;
}

bus_port natsbus_port(natsbus *b) { return (bus_port){b, b_subscribe, b_subscribe_durable, b_unsubscribe, b_publish}; }
