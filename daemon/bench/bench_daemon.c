/* bench_daemon.c: figures of a real `the0-runtime daemon sync` process against the S3 server in MINIO_ENDPOINT
 * (s3rver via ci/bench-daemon.sh): state-change -> object-updated latency for isolated writes (median, p99),
 * write -> MinIO latency under a steady writer (one write every 100 ms; p50, p99, max), and log-shipping
 * throughput. Figures only, never pass/fail on timing. BENCH_DEBUG=1 prints each steady write's times. */
#include <archive.h>
#include <archive_entry.h>
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

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static long long pct(const long long *v, int n, int p) { return v[(n * p) / 100 < n ? (n * p) / 100 : n - 1]; }

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

/* The "v" of <name> inside the state archive BODY (-1 when absent). */
static int archived_version(const objstore_buf *body, const char *name)
{
    struct archive *a = archive_read_new();
    archive_read_support_filter_gzip(a);
    archive_read_support_format_tar(a);
    int v = -1;
    struct archive_entry *e;
    if (archive_read_open_memory(a, body->data, body->len) == ARCHIVE_OK)
        while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
            if (strcmp(archive_entry_pathname(e), name)) continue;
            char buf[128] = "";
            la_ssize_t n = archive_read_data(a, buf, sizeof buf - 1);
            if (n > 0) {
                buf[n] = '\0';
                const char *p = strstr(buf, "\"v\":");
                if (p) v = atoi(p + 4);
            }
            break;
        }
    archive_read_free(a);
    return v;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench-daemon PATH/the0-runtime [rounds] [log-MiB] [steady-seconds]\n");
        return 2;
    }
    int rounds = argc > 2 ? atoi(argv[2]) : 40;
    int log_mib = argc > 3 ? atoi(argv[3]) : 8;
    int steady_s = argc > 4 ? atoi(argv[4]) : 20;
    s3_config cfg;
    t0_err e = {0};
    if (s3_config_from_env(&cfg, &e) != T0_OK) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    s3_client *c;
    if (s3_client_new(&cfg, &c, &e) != T0_OK) return 1;
    char dir[] = "/tmp/the0-bench-XXXXXX", state[256], logs[256], done[256], id[64], p[300];
    if (!mkdtemp(dir)) return 1;
    snprintf(state, sizeof state, "%s/state", dir);
    snprintf(logs, sizeof logs, "%s/logs", dir);
    snprintf(done, sizeof done, "%s/done", dir);
    mkdir(state, 0755);
    mkdir(logs, 0755);
    snprintf(id, sizeof id, "bench-%ld-%d", (long)time(NULL), getpid());
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(argv[1], argv[1], "daemon", "sync", "--bot-id", id, "--state-path", state, "--logs-path", logs,
              "--watch-done", done, "--interval", "60s", (char *)NULL);
        _exit(127);
    }
    usleep(300000);
    char key[200];
    snprintf(key, sizeof key, "%s/state.tar.gz", id);

    /* 1. isolated writes: one write, then wait for the object to change */
    long long *lat = calloc((size_t)rounds, sizeof *lat);
    char last[80] = "";
    snprintf(p, sizeof p, "%s/portfolio.json", state);
    for (int i = 0; i < rounds; i++) {
        char text[80];
        snprintf(text, sizeof text, "{\"round\":%d,\"btc\":%d.5}\n", i, i);
        write_file(p, text);
        int64_t t0 = t0_mono_ms();
        for (;;) {
            objstore_meta m = {0};
            if (s3_head(c, cfg.state_bucket, key, &m, &e) == T0_OK) {
                const char *h = objstore_meta_get(&m, "the0-sha256");
                if (h && strcmp(h, last)) {
                    snprintf(last, sizeof last, "%s", h);
                    break;
                }
            }
            if (t0_mono_ms() - t0 > 20000) {
                fprintf(stderr, "round %d: no upload within 20 s\n", i);
                break;
            }
            usleep(2000);
        }
        lat[i] = t0_mono_ms() - t0;
        usleep(50000);
    }
    qsort(lat, (size_t)rounds, sizeof *lat, cmp_ll);
    printf("daemon sync: isolated state change -> object updated: median %lld ms, p99 %lld ms, max %lld ms (%d rounds, "
           "debounce 200 ms, polling HEAD every 2 ms)\n",
           lat[rounds / 2], pct(lat, rounds, 99), lat[rounds - 1], rounds);
    free(lat);

    /* 2. a steady writer: one write every 100 ms; when did each version reach MinIO? */
    int nw = steady_s * 10;
    int64_t *written = calloc((size_t)nw + 1, sizeof *written), *seen = calloc((size_t)nw + 1, sizeof *seen);
    snprintf(p, sizeof p, "%s/steady.json", state);
    char etag[80] = "";
    int wrote = 0, max_seen = 0;
    int64_t start = t0_mono_ms(), next = start;
    while (max_seen < nw && t0_mono_ms() - start < (int64_t)steady_s * 1000 + 15000) {
        int64_t now = t0_mono_ms();
        if (wrote < nw && now >= next) {
            char text[64];
            snprintf(text, sizeof text, "{\"v\":%d}\n", ++wrote);
            write_file(p, text);
            written[wrote] = t0_mono_ms();
            next += 100;
        }
        objstore_meta m = {0};
        if (s3_head(c, cfg.state_bucket, key, &m, &e) == T0_OK && strcmp(m.etag, etag)) {
            objstore_buf b = {0};
            objstore_meta gm = {0};
            if (s3_get(c, cfg.state_bucket, key, &b, &gm, &e) == T0_OK) {
                snprintf(etag, sizeof etag, "%s", gm.etag);
                int v = archived_version(&b, "steady.json");
                int64_t t = t0_mono_ms();
                for (int k = max_seen + 1; k <= v && k <= nw; k++) seen[k] = t;
                if (v > max_seen) max_seen = v > nw ? nw : v;
            }
            objstore_buf_free(&b);
        }
        usleep(5000);
    }
    long long *sl = calloc((size_t)nw, sizeof *sl);
    int ns = 0, lost = 0;
    for (int k = 1; k <= wrote; k++) {
        if (seen[k]) {
            sl[ns++] = seen[k] - written[k];
            if (getenv("BENCH_DEBUG"))
                fprintf(stderr, "v%d written +%lld seen +%lld\n", k, (long long)(written[k] - start), (long long)(seen[k] - start));
        } else {
            lost++;
            if (getenv("BENCH_DEBUG")) fprintf(stderr, "v%d written +%lld never seen (wrote %d, max seen %d)\n", k, (long long)(written[k] - start), wrote, max_seen);
        }
    }
    if (ns) {
        qsort(sl, (size_t)ns, sizeof *sl, cmp_ll);
        printf("daemon sync: steady writer (every 100 ms for %d s) write -> MinIO: p50 %lld ms, p99 %lld ms, max %lld ms "
               "(%d writes; debounce 200 ms, maximum wait 300 ms; HEAD/GET polling every ~5 ms)%s\n",
               steady_s, pct(sl, ns, 50), pct(sl, ns, 99), sl[ns - 1], ns, lost ? " -- some writes never seen!" : "");
        if (lost) printf("daemon sync: steady writer: %d of %d writes never reached MinIO\n", lost, wrote);
    } else {
        printf("daemon sync: steady writer: no write reached MinIO within %d s\n", steady_s + 15);
    }
    free(sl);
    free(written);
    free(seen);

    /* 3. log shipping: write LOG_MIB of 100-byte lines at once, time until the day's object holds them all */
    snprintf(p, sizeof p, "%s/bot.log", logs);
    FILE *f = fopen(p, "a");
    char line[101];
    memset(line, 'x', 99);
    line[99] = '\n';
    line[100] = '\0';
    long long total = (long long)log_mib << 20, bytes = 0;
    int64_t t0 = t0_mono_ms();
    while (bytes < total) {
        fputs(line, f);
        bytes += 100;
    }
    fclose(f);
    char lkey[200];
    dsync_logs_key(id, time(NULL), lkey, sizeof lkey);
    for (;;) {
        objstore_meta m = {0};
        if (s3_head(c, "bot-logs", lkey, &m, &e) == T0_OK && objstore_meta_get(&m, "the0-end") &&
            strtoll(objstore_meta_get(&m, "the0-end"), NULL, 10) >= bytes)
            break;
        if (t0_mono_ms() - t0 > 120000) {
            fprintf(stderr, "logs: not shipped within 120 s\n");
            break;
        }
        usleep(5000);
    }
    int64_t ms = t0_mono_ms() - t0;
    printf("daemon sync: log shipping: %d MiB in %lld ms = %.1f MiB/s (8 MiB chunks, read-modify-write of the day's "
           "object)\n",
           log_mib, (long long)ms, ms > 0 ? log_mib * 1000.0 / (double)ms : 0.0);
    FILE *d = fopen(done, "w");
    fputs("0\n", d);
    fclose(d);
    int status;
    waitpid(pid, &status, 0);
    s3_client_free(c);
    s3_config_free(&cfg);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) return 1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
