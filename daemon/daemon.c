/* daemon.c: small helpers init and sync share: flags, durations, the termination message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "daemon/daemon.h"

/* Match "--name value" or "--name=value" at argv[*i]; advances *i past a separate value. */
int dd_flag(int argc, char **argv, int *i, const char *name, const char **val)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, "--", 2) || strncmp(a + 2, name, n)) return 0;
    if (a[2 + n] == '=') {
        *val = a + 3 + n;
        return 1;
    }
    if (a[2 + n] != '\0') return 0;
    if (*i + 1 >= argc) return -1;
    *val = argv[++*i];
    return 1;
}

long dd_parse_duration(const char *s)
{
    if (!s || !*s) return -1;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end == '\0') return v < 0 ? -1 : v * 1000; /* bare integer: seconds */
    double total = 0;
    const char *p = s;
    while (*p) {
        char *e;
        double n = strtod(p, &e);
        if (e == p || n < 0) return -1;
        p = e;
        double mul;
        if (!strncmp(p, "ms", 2)) {
            mul = 1;
            p += 2;
        } else if (*p == 's') {
            mul = 1000;
            p++;
        } else if (*p == 'm') {
            mul = 60000;
            p++;
        } else if (*p == 'h') {
            mul = 3600000;
            p++;
        } else {
            return -1;
        }
        total += n * mul;
    }
    return (long)total;
}

void dd_termination_message(const fs_port *fs, const char *path, const char *msg)
{
    if (!path || !*path) return;
    char line[4096]; /* Kubernetes keeps at most 4096 bytes of it */
    int n = snprintf(line, sizeof line, "%s\n", msg);
    if (n < 0) return;
    if ((size_t)n >= sizeof line) n = (int)sizeof line - 1;
    t0_err e = {0};
    fs_file *f;
    /* in place, never by rename: the kubelet bind-mounts this one file */
    if (fs->open(fs->ctx, path, FS_WRITE | FS_TRUNC, 0, &f, &e) != T0_OK) {
        T0_DEBUG("daemon", "termination message not written: %s", e.msg);
        return;
    }
    if (fs->write(fs->ctx, f, 0, line, (size_t)n, &e) != T0_OK) T0_DEBUG("daemon", "termination message: %s", e.msg);
    fs->close(fs->ctx, f, NULL);
}
