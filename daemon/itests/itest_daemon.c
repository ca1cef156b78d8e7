/* itest_daemon.c: integration tests against real s3rver and moto (auth on) started by ci/s3-servers.sh:
 * the S3 client, and the0-runtime daemon init/sync as processes (round trips, SIGKILLed sidecar). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "adapters/s3.h"
#include "core/clock.h"
#include "daemon/daemon.h"
#include "daemon/tests/helpers.h"

static const char *need(const char *name)
{
    const char *v = getenv(name);
    cr_assert(v && *v, "%s is not set: run via `make daemon-integration` (ci/s3-servers.sh starts the servers)", name);
    return v;
}

static s3_client *client(const char *ep, const char *ak, const char *sk)
{
    s3_config cfg = {.endpoint = (char *)ep, .access_key = (char *)ak, .secret_key = (char *)sk, .timeout_ms = 10000};
    s3_client *c = NULL;
    t0_err e = {0};
    cr_assert_eq(s3_client_new(&cfg, &c, &e), T0_OK, "%s", e.msg);
    return c;
}

Test(moto_auth, right_key_works_wrong_secret_is_rejected)
{
    const char *ep = need("MOTO_ENDPOINT"), *ak = need("MOTO_ACCESS_KEY"), *sk = need("MOTO_SECRET_KEY");
    s3_client *c = client(ep, ak, sk);
    t0_err e = {0};
    cr_assert_eq(s3_ensure_bucket(c, "bot-state", &e), T0_OK, "%s", e.msg);
    cr_assert_eq(s3_ensure_bucket(c, "bot-state", &e), T0_OK, "second create: %s", e.msg);
    objstore_meta m = {0};
    objstore_meta_set(&m, "the0-sha256", "abc");
    cr_assert_eq(s3_put(c, "bot-state", "b1/state.tar.gz", "state-bytes", 11, "application/gzip", &m, &e), T0_OK,
                 "%s", e.msg);
    objstore_buf b = {0};
    objstore_meta got = {0};
    cr_assert_eq(s3_get(c, "bot-state", "b1/state.tar.gz", &b, &got, &e), T0_OK, "%s", e.msg);
    cr_assert_str_eq(b.data, "state-bytes");
    cr_assert_str_eq(objstore_meta_get(&got, "the0-sha256") ? objstore_meta_get(&got, "the0-sha256") : "(none)", "abc");
    objstore_buf_free(&b);
    cr_assert_eq(s3_head(c, "bot-state", "b1/state.tar.gz", &got, &e), T0_OK, "%s", e.msg);
    cr_assert_eq(got.size, 11);
    objstore_list l;
    cr_assert_eq(s3_list(c, "bot-state", "b1", &l, &e), T0_OK, "%s", e.msg); /* moto: no '/' in signed prefixes */
    cr_assert_eq(l.n, 1, "listed %zu", l.n);
    objstore_list_free(&l);
    cr_assert_eq(s3_get(c, "bot-state", "b1/none", &b, NULL, &e), T0_ENOTFOUND);
    cr_assert(strstr(e.msg, "NoSuchKey"), "%s", e.msg);
    cr_assert_eq(s3_delete(c, "bot-state", "b1/state.tar.gz", &e), T0_OK, "%s", e.msg);
    s3_client_free(c);

    s3_client *bad = client(ep, ak, "definitely-not-the-secret");
    t0_status st = s3_put(bad, "bot-state", "b1/x", "x", 1, "text/plain", NULL, &e);
    cr_assert_eq(st, T0_EFORBIDDEN, "wrong secret: got %s (%s)", t0_status_name(st), e.msg);
    cr_assert(strstr(e.msg, "SignatureDoesNotMatch") && strstr(e.msg, "put bot-state/b1/x"), "%s", e.msg);
    s3_client_free(bad);
}

/* A body that reads fine once (the client hashes it first) and then fails at byte CUT: the client aborts
 * the PUT with part of the body sent, as a SIGKILLed daemon does. */
typedef struct cut_body {
    off_t pos, cut;
    int passes;
} cut_body;

static ssize_t cut_read(void *ud, char *buf, size_t n)
{
    cut_body *b = ud;
    if (b->passes >= 2 && b->pos >= b->cut) return -1;
    size_t left = (size_t)(400000 - b->pos);
    if (n > left) n = left;
    memset(buf, 'B', n);
    b->pos += (off_t)n;
    return (ssize_t)n;
}

static int cut_seek(void *ud, off64_t *off, int whence)
{
    cut_body *b = ud;
    if (whence != SEEK_SET) return -1;
    b->pos = *off;
    if (*off == 0) b->passes++;
    return 0;
}

/* The precondition of the SIGKILL test below (DESIGN §5, no log loss across sidecar restarts): a PUT cut
 * off in the middle leaves the previous object whole, body and metadata, as S3 and MinIO guarantee.
 * moto does; s3rver 3.7.1 does not (it keeps the part that arrived under the old metadata), so the tests
 * that kill a daemon mid-PUT run against moto. */
Test(moto_auth, an_interrupted_put_leaves_the_previous_object_whole)
{
    s3_client *c = client(need("MOTO_ENDPOINT"), need("MOTO_ACCESS_KEY"), need("MOTO_SECRET_KEY"));
    t0_err e = {0};
    cr_assert_eq(s3_ensure_bucket(c, "bot-logs", &e), T0_OK, "%s", e.msg);
    char key[64];
    snprintf(key, sizeof key, "cut-%ld-%d", (long)time(NULL), getpid());
    objstore_meta m = {0};
    objstore_meta_set(&m, "the0-end", "1");
    cr_assert_eq(s3_put(c, "bot-logs", key, "old-bytes", 9, "text/plain", &m, &e), T0_OK, "%s", e.msg);
    cut_body cb = {.cut = 150000};
    FILE *f = fopencookie(&cb, "r", (cookie_io_functions_t){.read = cut_read, .seek = cut_seek});
    objstore_meta_set(&m, "the0-end", "2");
    t0_status st = s3_put_file(c, "bot-logs", key, f, "text/plain", &m, &e);
    fclose(f);
    cr_assert_neq(st, T0_OK, "the cut-off PUT reported success");
    objstore_buf b = {0};
    objstore_meta got = {0};
    cr_assert_eq(s3_get(c, "bot-logs", key, &b, &got, &e), T0_OK, "%s", e.msg);
    const char *end = objstore_meta_get(&got, "the0-end");
    cr_assert(b.len == 9 && !memcmp(b.data, "old-bytes", 9) && end && !strcmp(end, "1"),
              "after an interrupted PUT: expected the old object (9 bytes \"old-bytes\", the0-end 1), got %zu bytes "
              "starting \"%.10s\", the0-end %s", b.len, b.len ? b.data : "", end ? end : "(none)");
    objstore_buf_free(&b);
    s3_client_free(c);
}

Test(s3rver, every_operation_with_special_keys_and_streams)
{
    s3_client *c = client(need("S3RVER_ENDPOINT"), "S3RVER", "S3RVER");
    t0_err e = {0};
    /* A bucket of its own: s3rver answers HEAD bucket by reading every object's metadata file and fails it
     * with a 500 while another test rewrites one (ci/s3-servers.sh). */
    const char *bkt = "s3rver-ops";
    cr_assert_eq(s3_ensure_bucket(c, bkt, &e), T0_OK, "%s", e.msg);
    const char *key = "u1/my bot+x/1.0.0=~ü";
    cr_assert_eq(s3_put(c, bkt, key, "zip", 3, NULL, NULL, &e), T0_OK, "%s", e.msg);
    objstore_list l;
    cr_assert_eq(s3_list(c, bkt, "u1/my bot+x/", &l, &e), T0_OK, "%s", e.msg);
    cr_assert_eq(l.n, 1, "listed %zu", l.n);
    cr_assert_str_eq(l.keys[0], key);
    objstore_list_free(&l);
    /* 5 MiB streamed both ways */
    FILE *in = tmpfile();
    for (int i = 0; i < 5 << 20; i++) fputc('a' + i % 26, in);
    cr_assert_eq(s3_put_file(c, bkt, "big", in, "application/octet-stream", NULL, &e), T0_OK, "%s", e.msg);
    FILE *out = tmpfile();
    objstore_meta m;
    cr_assert_eq(s3_get_file(c, bkt, "big", out, &m, &e), T0_OK, "%s", e.msg);
    cr_assert_eq(ftell(out), 5 << 20, "got %ld bytes", ftell(out));
    fseek(in, 0, SEEK_SET);
    fseek(out, 0, SEEK_SET);
    for (int i = 0; i < 5 << 20; i++) cr_assert_eq(fgetc(in), fgetc(out), "byte %d differs", i);
    fclose(in);
    fclose(out);
    cr_assert_eq(s3_get(c, "no-such-bucket", "k", &(objstore_buf){0}, NULL, &e), T0_ENOTFOUND);
    cr_assert(strstr(e.msg, "NoSuchBucket") && strstr(e.msg, "no-such-bucket/k"), "%s", e.msg);
    s3_client_free(c);
}

/* ---- the binary as a process ---------------------------------------------------------------------------- */

/* The daemon processes' environment: the given server and keys. */
static void server_env(const char *ep, const char *ak, const char *sk)
{
    setenv("MINIO_ENDPOINT", ep, 1);
    setenv("MINIO_ACCESS_KEY", ak, 1);
    setenv("MINIO_SECRET_KEY", sk, 1);
    setenv("THE0_INIT_ATTEMPTS", "2", 1);
    setenv("THE0_RETRY_BASE_MS", "50", 1);
}

static void s3rver_env(void) { server_env(need("S3RVER_ENDPOINT"), "S3RVER", "S3RVER"); }

/* moto: for tests that kill a daemon in the middle of a PUT. The product's exactly-once log shipping relies
 * on S3's atomic PUT (an interrupted PUT leaves the previous object whole); s3rver 3.7.1 truncates the
 * object file when the request starts and keeps what arrived when the client dies, under the OLD metadata
 * (see the moto_auth test below that checks this precondition). */
static void moto_env(void) { server_env(need("MOTO_ENDPOINT"), need("MOTO_ACCESS_KEY"), need("MOTO_SECRET_KEY")); }

static pid_t spawn(char *const argv[], const char *logpath)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static int wait_rc(pid_t pid)
{
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int run_init(const char *bin, const char *id, const char *d)
{
    char bot[600], state[600], log[600];
    snprintf(bot, sizeof bot, "%s/bot", d);
    snprintf(state, sizeof state, "%s/state", d);
    snprintf(log, sizeof log, "%s/init.log", d);
    char *argv[] = {(char *)bin, "daemon", "init", "--bot-id", (char *)id, "--code-path", bot, "--state-path", state,
                    NULL};
    return wait_rc(spawn(argv, log));
}

/* start_sync: `daemon sync` on D's state and logs; MAX_DELAY: its --logs-max-delay (NULL: the default) */
static pid_t start_sync_paced(const char *bin, const char *id, const char *d, const char *max_delay)
{
    static char state[600], logs[600], done[600], log[600];
    snprintf(state, sizeof state, "%s/state", d);
    snprintf(logs, sizeof logs, "%s/logs", d);
    snprintf(done, sizeof done, "%s/done", d);
    snprintf(log, sizeof log, "%s/sync.log", d);
    mkdir(logs, 0755);
    char *argv[] = {(char *)bin, "daemon", "sync", "--bot-id", (char *)id, "--state-path", state, "--logs-path", logs,
                    "--watch-done", done, "--interval", "1s", max_delay ? "--logs-max-delay" : NULL, (char *)max_delay,
                    NULL};
    return spawn(argv, log);
}

static pid_t start_sync(const char *bin, const char *id, const char *d) { return start_sync_paced(bin, id, d, NULL); }

static void unique_id(char *out, size_t cap, const char *tag)
{
    snprintf(out, cap, "%s-%ld-%d", tag, (long)time(NULL), getpid());
}

Test(daemon_process, init_sync_podgone_init_restores_bytes_and_deletions, .timeout = 60)
{
    s3rver_env();
    const char *bin = need("THE0_RUNTIME");
    char id[64], *d = th_tmpdir(), p[700];
    unique_id(id, sizeof id, "rt");
    cr_assert_eq(run_init(bin, id, d), 0, "first init failed (first run must succeed)");
    snprintf(p, sizeof p, "%s/state/.the0-state", d);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/state/.the0-state/portfolio.json", d);
    th_write(p, "{\"btc\":1.25,\"usd\":1000}");
    snprintf(p, sizeof p, "%s/state/.the0-state/orders.json", d);
    th_write(p, "[1,2,3]");
    pid_t s = start_sync(bin, id, d);
    usleep(1500 * 1000);
    snprintf(p, sizeof p, "%s/done", d);
    th_write(p, "0\n");
    cr_assert_eq(wait_rc(s), 0, "sync after the done file");
    /* pod gone: all dirs wiped; a new pod's init restores the same bytes */
    th_rmrf(d);
    mkdir(d, 0755);
    cr_assert_eq(run_init(bin, id, d), 0);
    snprintf(p, sizeof p, "%s/state/.the0-state/portfolio.json", d);
    char *got = th_read(p, NULL);
    cr_assert_str_eq(got ? got : "(missing)", "{\"btc\":1.25,\"usd\":1000}");
    free(got);
    /* delete one file; the deletion survives the next round trip */
    snprintf(p, sizeof p, "%s/state/.the0-state/orders.json", d);
    unlink(p);
    s = start_sync(bin, id, d);
    usleep(1500 * 1000);
    kill(s, SIGTERM);
    cr_assert_eq(wait_rc(s), 0, "sync after SIGTERM");
    th_rmrf(d);
    mkdir(d, 0755);
    cr_assert_eq(run_init(bin, id, d), 0);
    cr_assert(!th_exists(p), "deleted orders.json came back");
    snprintf(p, sizeof p, "%s/state/.the0-state/portfolio.json", d);
    cr_assert(th_exists(p), "portfolio.json lost");
    th_rmrf(d);
    free(d);
}

Test(daemon_process, sidecar_sigkilled_mid_stream_ships_every_line_once, .timeout = 120)
{
    moto_env(); /* SIGKILL mid-PUT: needs a server whose PUT is atomic, as S3's and MinIO's are */
    const char *bin = need("THE0_RUNTIME");
    char id[64], *d = th_tmpdir(), logp[700];
    unique_id(id, sizeof id, "kill");
    snprintf(logp, sizeof logp, "%s/logs", d);
    mkdir(logp, 0755);
    snprintf(logp, sizeof logp, "%s/logs/bot.log", d);
    pid_t writer = fork();
    if (writer == 0) { /* the bot: 3000 numbered lines, a few ms apart */
        for (int i = 0; i < 3000; i++) {
            FILE *f = fopen(logp, "a");
            fprintf(f, "line %05d\n", i);
            fclose(f);
            if (i % 10 == 0) usleep(8000);
        }
        _exit(0);
    }
    srand((unsigned)getpid());
    int kills = 0;
    for (int round = 0; round < 6; round++) {
        pid_t s = start_sync(bin, id, d);
        usleep((useconds_t)(250000 + rand() % 400000));
        kill(s, SIGKILL);
        wait_rc(s);
        kills++;
    }
    cr_assert_eq(wait_rc(writer), 0);
    char done[700];
    snprintf(done, sizeof done, "%s/done", d);
    pid_t s = start_sync(bin, id, d);
    usleep(300000);
    th_write(done, "0\n");
    cr_assert_eq(wait_rc(s), 0);
    /* every line exactly once in the day's object */
    s3_client *c = client(need("MOTO_ENDPOINT"), need("MOTO_ACCESS_KEY"), need("MOTO_SECRET_KEY"));
    char key[200];
    dsync_logs_key(id, time(NULL), key, sizeof key);
    objstore_buf b = {0};
    t0_err e = {0};
    cr_assert_eq(s3_get(c, "bot-logs", key, &b, NULL, &e), T0_OK, "%s", e.msg);
    static int seen[3000];
    int bad = 0;
    for (char *line = strtok(b.data, "\n"); line; line = strtok(NULL, "\n")) {
        char *l = strstr(line, "line ");
        if (!l) {
            bad++;
            continue;
        }
        int n = atoi(l + 5);
        if (n >= 0 && n < 3000) seen[n]++;
    }
    int missing = 0, dup = 0;
    for (int i = 0; i < 3000; i++) missing += seen[i] == 0, dup += seen[i] > 1;
    cr_log_info("sidecar SIGKILLed %d times; %d lines missing, %d duplicated", kills, missing, dup);
    cr_assert_eq(missing, 0, "%d lines missing", missing);
    cr_assert_eq(dup, 0, "%d lines duplicated", dup);
    cr_assert_eq(bad, 0, "%d malformed records", bad);
    objstore_buf_free(&b);
    s3_client_free(c);
    th_rmrf(d);
    free(d);
}

/* The day object holds TEXT (polled every 100 ms for up to WAIT_MS). */
static bool day_object_has(s3_client *c, const char *id, const char *text, int wait_ms)
{
    char key[200];
    for (int t = 0;; t += 100) {
        dsync_logs_key(id, time(NULL), key, sizeof key);
        objstore_buf b = {0};
        t0_err e = {0};
        bool has = s3_get(c, "bot-logs", key, &b, NULL, &e) == T0_OK && b.data && strstr(b.data, text);
        objstore_buf_free(&b);
        if (has || t >= wait_ms) return has;
        usleep(100000);
    }
}

/* The shipped process paces its appends (daemon.h): once the day's object is 16 KiB, a short new line waits
 * for --logs-max-delay (6 s here) instead of rewriting the object at once; the inotify watch, the timer and
 * the S3 client are the production ones. The "not yet" look comes 1 s after the line (5 s before it is due). */
Test(daemon_process, appends_to_a_large_log_object_wait_for_the_maximum_delay, .timeout = 90)
{
    s3rver_env();
    const char *bin = need("THE0_RUNTIME");
    char id[64], *d = th_tmpdir(), logp[700], done[700];
    unique_id(id, sizeof id, "pace");
    pid_t s = start_sync_paced(bin, id, d, "6s");
    snprintf(logp, sizeof logp, "%s/logs/bot.log", d);
    FILE *f = fopen(logp, "a");
    cr_assert_not_null(f);
    for (int i = 0; i < 200; i++) fprintf(f, "line %05d %-88s\n", i, "of a bot that logs a lot at its start");
    fclose(f);
    s3_client *c = client(need("S3RVER_ENDPOINT"), "S3RVER", "S3RVER");
    bool first = day_object_has(c, id, "line 00199", 20000), early = false, later = false;
    if (first) {
        f = fopen(logp, "a");
        fputs("a short line that waits\n", f);
        fclose(f);
        usleep(1000000);
        early = day_object_has(c, id, "a short line that waits", 0);
        later = day_object_has(c, id, "a short line that waits", 20000);
    }
    cr_log_info("paced append: shipped 1 s after it was written: %s; within 21 s: %s", early ? "yes" : "no", later ? "yes" : "no");
    snprintf(done, sizeof done, "%s/done", d);
    th_write(done, "0\n"); /* the sidecar ends before anything is asserted: a failed test leaves no process */
    int rc = wait_rc(s);
    cr_assert(first, "the first 20 KB were not shipped within 20 s");
    cr_assert(!early, "a 24-byte line rewrote the 20 KB object at once: appends are not paced");
    cr_assert(later, "the held line was not shipped after the maximum delay");
    cr_assert_eq(rc, 0);
    s3_client_free(c);
    th_rmrf(d);
    free(d);
}

/* peak_rss_kib: VmHWM of process PID (its peak resident set), or -1 */
static long peak_rss_kib(pid_t pid)
{
    char p[64], line[256];
    snprintf(p, sizeof p, "/proc/%d/status", (int)pid);
    FILE *f = fopen(p, "r");
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6)) kib = strtol(line + 6, NULL, 10);
    if (f) fclose(f);
    return kib;
}

/* A chatty bot's day log as large as the sidecar's memory limit (64 MiB in the pod spec): the shipped process
 * appends to a 64 MiB day object (a predecessor's) through its spool file, so its peak resident set stays below
 * half the object's size (about 17 MiB of it is the process at rest). It held the whole object in memory before:
 * 89 MiB for a 32 MiB object, OOM-killed on a busy day. */
Test(daemon_process, appending_to_a_day_log_larger_than_memory_holds_it_on_disk, .timeout = 120)
{
    s3rver_env();
    const char *bin = need("THE0_RUNTIME");
    char id[64], *d = th_tmpdir(), logp[700], done[700], key[200];
    unique_id(id, sizeof id, "bigday");
    s3_client *c = client(need("S3RVER_ENDPOINT"), "S3RVER", "S3RVER");
    size_t big = 64u << 20;
    char *old = malloc(big);
    cr_assert_not_null(old);
    for (size_t i = 0; i < big; i++) old[i] = i % 100 == 99 ? '\n' : (char)('a' + i % 26);
    t0_err e = {0};
    dsync_logs_key(id, time(NULL), key, sizeof key);
    cr_assert_eq(s3_ensure_bucket(c, "bot-logs", &e), T0_OK, "%s", e.msg);
    cr_assert_eq(s3_put(c, "bot-logs", key, old, big, "text/plain", NULL, &e), T0_OK, "%s", e.msg);
    pid_t s = start_sync_paced(bin, id, d, "0s");
    snprintf(logp, sizeof logp, "%s/logs/bot.log", d);
    FILE *f = fopen(logp, "a");
    cr_assert_not_null(f);
    fputs("the line after 64 MiB\n", f);
    fclose(f);
    const size_t want = big + strlen("[YYYY-MM-DD HH:MM:SS] the line after 64 MiB\n");
    objstore_meta m = {0};
    bool landed = false;
    for (int t = 0; t < 60000 && !landed; t += 100) {
        landed = s3_head(c, "bot-logs", key, &m, &e) == T0_OK && m.size == want;
        if (!landed) usleep(100000);
    }
    long peak = peak_rss_kib(s); /* the sidecar still runs: its peak so far covers the append */
    snprintf(done, sizeof done, "%s/done", d);
    th_write(done, "0\n"); /* the sidecar ends before anything is asserted: a failed test leaves no process */
    int rc = wait_rc(s);
    cr_log_info("append to a %zu-byte day object: landed %s; the sidecar's peak resident set %ld KiB", big,
                landed ? "yes" : "no", peak);
    cr_assert(landed, "the append did not land within 60 s (object %llu bytes, want %zu)", (unsigned long long)m.size, want);
    cr_assert(peak > 0 && peak < (long)(big >> 11), "the sidecar's peak resident set was %ld KiB for a %zu MiB day object",
              peak, big >> 20);
    objstore_buf b = {0};
    cr_assert_eq(s3_get(c, "bot-logs", key, &b, NULL, &e), T0_OK, "%s", e.msg);
    cr_assert(b.len == want && !memcmp(b.data, old, big) && strstr(b.data + big, "] the line after 64 MiB\n"),
              "the object is %zu bytes; its tail: %.60s", b.len, b.len > big ? b.data + big : "");
    cr_assert_eq(rc, 0);
    objstore_buf_free(&b);
    free(old);
    s3_client_free(c);
    th_rmrf(d);
    free(d);
}

/* Docker mode: SIGTERM to bootstrap.sh reaches the bot at once, the done file gets its status, and the
 * final sync ships the state the bot wrote while shutting down. */
Test(bootstrap, sigterm_is_forwarded_and_state_shipped, .timeout = 60)
{
    s3rver_env();
    const char *bin = need("THE0_RUNTIME");
    char id[64], *d = th_tmpdir(), p[700], zip[700];
    unique_id(id, sizeof id, "boot");
    snprintf(zip, sizeof zip, "%s/code.zip", d);
    th_entry code[] = {{'f', "trader",
                        "#!/bin/bash\n"
                        "trap 'echo got TERM; echo saved > \"$STATE\"/.the0-state/last.txt; exit 7' TERM\n"
                        "mkdir -p \"$STATE\"/.the0-state\n"
                        "echo running\n"
                        "while true; do sleep 0.1; done\n",
                        0, 0755}};
    th_archive(zip, true, code, 1);
    s3_client *c = client(need("S3RVER_ENDPOINT"), "S3RVER", "S3RVER");
    t0_err e = {0}; /* custom-bots exists from the server's start (ci/s3-servers.sh): no HEAD bucket */
    FILE *zf = fopen(zip, "rb");
    char key[128];
    snprintf(key, sizeof key, "u1/%s/1.0.0", id);
    cr_assert_eq(s3_put_file(c, "custom-bots", key, zf, "application/zip", NULL, &e), T0_OK, "%s", e.msg);
    fclose(zf);
    char bot[700], state[700], var[700];
    snprintf(bot, sizeof bot, "%s/bot", d);
    snprintf(state, sizeof state, "%s/state", d);
    snprintf(var, sizeof var, "%s/var", d);
    setenv("BOT_ID", id, 1);
    setenv("CODE_FILE", key, 1);
    setenv("RUNTIME", "gcc13", 1);
    setenv("ENTRYPOINT", "trader", 1);
    setenv("IS_SCHEDULED", "true", 1);
    setenv("STATE", state, 1);
    setenv("THE0_RUNTIME", bin, 1);
    setenv("THE0_BOT_DIR", bot, 1);
    setenv("THE0_STATE_DIR", state, 1);
    setenv("THE0_VAR_DIR", var, 1);
    char script[700], log[700];
    snprintf(script, sizeof script, "%s/daemon/bootstrap.sh", need("THE0_SRC"));
    snprintf(log, sizeof log, "%s/bootstrap.log", d);
    char *argv[] = {"/bin/bash", script, NULL};
    pid_t pid = spawn(argv, log);
    snprintf(p, sizeof p, "%s/logs/bot.log", var);
    for (int i = 0; i < 100; i++) { /* wait until the bot runs */
        char *l = th_read(p, NULL);
        bool up = l && strstr(l, "running");
        free(l);
        if (up) break;
        usleep(100000);
    }
    int64_t t0 = t0_mono_ms();
    kill(pid, SIGTERM);
    int rc = wait_rc(pid);
    int64_t took = t0_mono_ms() - t0;
    char *blog = th_read(log, NULL);
    cr_assert_eq(rc, 7, "bootstrap exit %d (want the bot's 7); log:\n%s", rc, blog ? blog : "");
    free(blog);
    cr_assert_lt(took, 20000, "shutdown took %lld ms", (long long)took);
    char *botlog = th_read(p, NULL);
    cr_assert(botlog && strstr(botlog, "got TERM"), "the bot never saw SIGTERM: %s", botlog ? botlog : "(none)");
    free(botlog);
    snprintf(p, sizeof p, "%s/done", var);
    char *done = th_read(p, NULL);
    cr_assert_str_eq(done ? done : "(none)", "7\n");
    free(done);
    /* the state written during shutdown is in the bucket: restore it elsewhere */
    char *d2 = th_tmpdir();
    cr_assert_eq(run_init(bin, id, d2), 0);
    snprintf(p, sizeof p, "%s/state/.the0-state/last.txt", d2);
    char *last = th_read(p, NULL);
    cr_assert_str_eq(last ? last : "(missing)", "saved\n");
    free(last);
    s3_client_free(c);
    th_rmrf(d2);
    free(d2);
    th_rmrf(d);
    free(d);
}
