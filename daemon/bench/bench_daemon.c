/* bench_daemon.c: state-change -> object-updated latency (median, p99) and log-shipping throughput of a real
 * `the0-runtime daemon sync` process against the S3 server in MINIO_ENDPOINT (s3rver via ci/bench-daemon.sh). */
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
#include "daemon/daemon.h"

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench-daemon PATH/the0-runtime [rounds] [log-MiB]\n");
        return 2;
    }
    int rounds = argc > 2 ? atoi(argv[2]) : 40;
    int log_mib = argc > 3 ? atoi(argv[3]) : 8;
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
    long long *lat = calloc((size_t)rounds, sizeof *lat);
    char last[80] = "";
    for (int i = 0; i < rounds; i++) {
        snprintf(p, sizeof p, "%s/portfolio.json", state);
        FILE *f = fopen(p, "w");
        fprintf(f, "{\"round\":%d,\"btc\":%d.5}\n", i, i);
        fclose(f);
        int64_t t0 = dd_now_ms();
        for (;;) {
            objstore_meta m = {0};
            if (s3_head(c, cfg.state_bucket, key, &m, &e) == T0_OK) {
                const char *h = objstore_meta_get(&m, "the0-sha256");
                if (h && strcmp(h, last)) {
                    snprintf(last, sizeof last, "%s", h);
                    break;
                }
            }
            if (dd_now_ms() - t0 > 20000) {
                fprintf(stderr, "round %d: no upload within 20 s\n", i);
                break;
            }
            usleep(2000);
        }
        lat[i] = dd_now_ms() - t0;
        usleep(50000);
    }
    qsort(lat, (size_t)rounds, sizeof *lat, cmp_ll);
    printf("daemon sync: state change -> object updated: median %lld ms, p99 %lld ms, max %lld ms (%d rounds, "
           "debounce 200 ms, polling HEAD every 2 ms)\n",
           lat[rounds / 2], lat[(rounds * 99) / 100 < rounds ? (rounds * 99) / 100 : rounds - 1], lat[rounds - 1], rounds);
    /* log shipping: write LOG_MIB of 100-byte lines at once, time until the day's object holds them all */
    snprintf(p, sizeof p, "%s/bot.log", logs);
    FILE *f = fopen(p, "a");
    char line[101];
    memset(line, 'x', 99);
    line[99] = '\n';
    line[100] = '\0';
    long long total = (long long)log_mib << 20, written = 0;
    int64_t t0 = dd_now_ms();
    while (written < total) {
        fputs(line, f);
        written += 100;
    }
    fclose(f);
    char lkey[200];
    dsync_logs_key(id, time(NULL), lkey, sizeof lkey);
    for (;;) {
        objstore_meta m = {0};
        if (s3_head(c, "bot-logs", lkey, &m, &e) == T0_OK && objstore_meta_get(&m, "the0-end") &&
            strtoll(objstore_meta_get(&m, "the0-end"), NULL, 10) >= written)
            break;
        if (dd_now_ms() - t0 > 120000) {
            fprintf(stderr, "logs: not shipped within 120 s\n");
            break;
        }
        usleep(5000);
    }
    int64_t ms = dd_now_ms() - t0;
    printf("daemon sync: log shipping: %d MiB in %lld ms = %.1f MiB/s (8 MiB chunks, read-modify-write of the day's "
           "object)\n",
           log_mib, (long long)ms, ms > 0 ? log_mib * 1000.0 / (double)ms : 0.0);
    FILE *d = fopen(done, "w");
    fputs("0\n", d);
    fclose(d);
    int status;
    waitpid(pid, &status, 0);
    free(lat);
    s3_client_free(c);
    s3_config_free(&cfg);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) return 1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
