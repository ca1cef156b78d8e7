/* daemon.c: `the0-runtime daemon` dispatch and the small file/time helpers init and sync share. */
#include "daemon/daemon.h"

#include "core/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <fiu-local.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int daemon_init_cmd(int argc, char **argv) { return dinit_main(argc, argv); }
static int daemon_sync_cmd(int argc, char **argv) { return dsync_main(argc, argv); }

int daemon_main(int argc, char **argv)
{
    static const cli_sub subs[] = {
        {"init", "--bot-id ID ...", "init container: download code and state from MinIO, write entrypoint.sh",
         daemon_init_cmd},
        {"sync", "--bot-id ID ...", "sidecar: ship state and logs to MinIO until the done file or SIGTERM",
         daemon_sync_cmd},
    };
    /* usage errors exit 1 here, as the reference's cobra commands do */
    static const cli_group g = {"the0-runtime daemon", "The pod-side daemon of bot pods.", subs, 2, NULL, 1};
    return cli_dispatch(&g, argc, argv);
}

t0_status dd_mkdirs(const char *path, mode_t mode, t0_err *err)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return t0_fail(err, T0_EINVAL, "mkdir \"%s\": bad path", path);
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; ; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, mode) != 0 && errno != EEXIST) {
                int e = errno;
                t0_fail(err, T0_EIO, "mkdir %s: %s", buf, strerror(e));
                if (err) err->sys_errno = e;
                return T0_EIO;
            }
            *p = c;
            if (!c) break;
        }
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return t0_fail(err, T0_EIO, "mkdir %s: exists and is not a directory", path);
    return T0_OK;
}

t0_status dd_write_atomic(const char *path, const void *data, size_t len, mode_t mode, t0_err *err)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        int e = errno;
        t0_fail(err, T0_EIO, "write %s: %s", tmp, strerror(e));
        if (err) err->sys_errno = e;
        return T0_EIO;
    }
    size_t off = 0;
    int e = 0;
    while (off < len) {
        ssize_t w;
        if (fiu_fail("daemon/state/write")) {
            errno = ENOSPC;
            w = -1;
        } else {
            w = write(fd, (const char *)data + off, len - off);
        }
        if (w < 0) {
            if (errno == EINTR) continue;
            e = errno;
            break;
        }
        off += (size_t)w;
    }
    if (!e && fsync(fd) != 0) e = errno;
    if (close(fd) != 0 && !e) e = errno;
    if (!e && rename(tmp, path) != 0) e = errno;
    if (e) {
        unlink(tmp);
        t0_fail(err, T0_EIO, "write %s: %s", path, strerror(e));
        if (err) err->sys_errno = e;
        return T0_EIO;
    }
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", path);
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    return T0_OK;
}

int64_t dd_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void dd_sleep_ms(long ms)
{
    if (ms <= 0) return;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

bool dd_open_s3(s3_config *cfg, s3_client **c)
{
    t0_err err = {0};
    *c = NULL;
    if (s3_config_from_env(cfg, &err) != T0_OK) {
        fprintf(stderr, "Error: %s\n", err.msg);
        return false;
    }
    if (s3_client_new(cfg, c, &err) != T0_OK) {
        fprintf(stderr, "Error: failed to create MinIO client: %s\n", err.msg);
        s3_config_free(cfg);
        return false;
    }
    return true;
}
