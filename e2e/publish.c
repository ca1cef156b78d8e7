/* publish.c: publish bot/schedule events to NATS exactly as the0's API does (JetStream publish to stream
 * THE0_EVENTS, payloads from fakes/payloads.h), for the live end-to-end runs (e2e/live.sh). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>
#include <nats/nats.h>

#include "fakes/payloads.h"

static const char *const SUBJECTS[] = {"the0.bot.created",          "the0.bot.updated",          "the0.bot.deleted",
                                       "the0.bot-schedule.created", "the0.bot-schedule.updated", "the0.bot-schedule.deleted"};

static void usage(FILE *f)
{
    fprintf(f, "usage: publish --url NATS_URL [--core] [--wrapped] [--config JSON] [--runtime NAME] [--ack-times] "
               "bot|schedule created|updated|deleted ID...\n"
               "       publish --print-document [--config JSON] [--runtime NAME] bot|schedule created ID\n"
               "\n"
               "Publishes one event per ID as the0's API does: a JetStream publish (acknowledged) to stream THE0_EVENTS,\n"
               "created when absent as the API creates it (the six the0.bot.* / the0.bot-schedule.* subjects, limits\n"
               "retention, file storage, max age 7 days). --core publishes without JetStream. --config is the bot's user\n"
               "config (default {\"symbol\":\"BTC/USD\"}; schedules get \"schedule\":\"*/5 * * * *\" unless it has one).\n"
               "--wrapped uses the wrapped payload format. --runtime sets the bot's runtime (default python3.11; an\n"
               "unknown one makes a bot whose pod cannot be generated). Exit 0 when every event was acknowledged, 1\n"
               "otherwise. --ack-times prints \"ID NS\" per ID: the wall-clock time (ns) its acknowledgement arrived\n"
               "(benchmarks). --print-document prints the MongoDB document the controller stores for the event (for\n"
               "`the0-runtime render`) and publishes nothing.\n");
}

/* ensure_stream: THE0_EVENTS as the API creates it (reference §3: limits, file storage, 7 days). */
static natsStatus ensure_stream(jsCtx *js)
{
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetStreamInfo(&si, js, "THE0_EVENTS", NULL, &jerr);
    if (s == NATS_OK) {
        jsStreamInfo_Destroy(si);
        return NATS_OK;
    }
    jsStreamConfig sc;
    jsStreamConfig_Init(&sc);
    sc.Name = "THE0_EVENTS";
    sc.Subjects = (const char **)SUBJECTS;
    sc.SubjectsLen = (int)(sizeof SUBJECTS / sizeof SUBJECTS[0]);
    sc.Retention = js_LimitsPolicy;
    sc.Storage = js_FileStorage;
    sc.MaxAge = 7LL * 24 * 3600 * 1000000000LL;
    s = js_AddStream(&si, js, &sc, NULL, &jerr);
    if (s == NATS_OK) jsStreamInfo_Destroy(si);
    return s;
}

/* What a publishing run was asked for (the flags and the command's first two words). */
typedef struct publish_opts {
    const char *url, *runtime;
    bool core, wrapped, ack_times, scheduled;
    payload_op op;
} publish_opts;

/* publish_all: connect to O->url and publish O->op of each of the N ids with config CFG (borrowed), core
 * NATS or JetStream (the stream made when missing); 0 when every publish was taken, 1 otherwise (said on
 * stderr). With ack_times, prints "ID NS" (wall clock) as each publish is acknowledged. */
static int publish_all(const publish_opts *o, const cJSON *cfg, char **ids, int n)
{
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    int rc = 1;
    natsStatus s = natsConnection_ConnectTo(&nc, o->url);
    if (s == NATS_OK && !o->core) s = natsConnection_JetStream(&js, nc, NULL);
    if (s == NATS_OK && !o->core) s = ensure_stream(js);
    if (s != NATS_OK) {
        fprintf(stderr, "publish: %s: %s\n", o->url, natsStatus_GetText(s));
        goto out;
    }
    rc = 0;
    for (int k = 0; k < n; k++) {
        payload_bot b = {.id = ids[k], .scheduled = o->scheduled, .config = cfg, .runtime = o->runtime};
        t0_err err = {0};
        char *msg = o->wrapped ? payload_wrapped(&b, o->op, 1767225600000LL, &err) : payload_direct(&b, o->op, &err);
        if (!msg) {
            fprintf(stderr, "publish: %s: %s\n", ids[k], err.msg);
            rc = 1;
            break;
        }
        const char *subj = payload_subject(o->scheduled, o->op);
        jsPubAck *ack = NULL;
        jsErrCode jerr = 0;
        s = o->core ? natsConnection_PublishString(nc, subj, msg) : js_Publish(&ack, js, subj, msg, (int)strlen(msg), NULL, &jerr);
        free(msg);
        jsPubAck_Destroy(ack);
        if (s != NATS_OK) {
            fprintf(stderr, "publish: %s %s: %s (js error %d)\n", subj, ids[k], natsStatus_GetText(s), (int)jerr);
            rc = 1;
            break;
        }
        if (o->ack_times) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            printf("%s %lld\n", ids[k], (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
        }
    }
    if (o->core && rc == 0 && natsConnection_FlushTimeout(nc, 5000) != NATS_OK) rc = 1;
out:
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    nats_Close();
    return rc;
}

int main(int argc, char **argv)
{
    const char *url = NULL, *config = NULL, *runtime = NULL;
    bool core = false, wrapped = false, print_doc = false, ack_times = false;
    int i = 1;
    for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
        if (!strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--print-document")) {
            print_doc = true;
        } else if (!strcmp(argv[i], "--ack-times")) {
            ack_times = true;
        } else if (!strcmp(argv[i], "--core")) {
            core = true;
        } else if (!strcmp(argv[i], "--wrapped")) {
            wrapped = true;
        } else if (!strcmp(argv[i], "--url") && i + 1 < argc) {
            url = argv[++i];
        } else if (!strcmp(argv[i], "--config") && i + 1 < argc) {
            config = argv[++i];
        } else if (!strcmp(argv[i], "--runtime") && i + 1 < argc) {
            runtime = argv[++i];
        } else {
            usage(stderr);
            return 2;
        }
    }
    if ((!url && !print_doc) || argc - i < 3) {
        usage(stderr);
        return 2;
    }
    bool scheduled = !strcmp(argv[i], "schedule");
    int op = payload_op_parse(argv[i + 1]);
    if ((!scheduled && strcmp(argv[i], "bot")) || op < 0) {
        usage(stderr);
        return 2;
    }
    cJSON *cfg = cJSON_Parse(config ? config : "{\"symbol\":\"BTC/USD\"}");
    if (!cJSON_IsObject(cfg)) {
        fprintf(stderr, "publish: --config is not a JSON object\n");
        cJSON_Delete(cfg);
        return 2;
    }
    if (scheduled && !cJSON_GetObjectItemCaseSensitive(cfg, "schedule")) cJSON_AddStringToObject(cfg, "schedule", "*/5 * * * *");
    if (print_doc) {
        payload_bot b = {.id = argv[i + 2], .scheduled = scheduled, .config = cfg, .runtime = runtime};
        cJSON *doc = payload_document(&b);
        char *text = doc ? cJSON_Print(doc) : NULL;
        if (text) printf("%s\n", text);
        free(text);
        cJSON_Delete(doc);
        cJSON_Delete(cfg);
        return text ? 0 : 1;
    }

    int rc = publish_all(&(publish_opts){url, runtime, core, wrapped, ack_times, scheduled, (payload_op)op}, cfg,
                         argv + i + 2, argc - i - 2);
    cJSON_Delete(cfg);
    return rc;
}
