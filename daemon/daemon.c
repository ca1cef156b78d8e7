/* daemon.c: small helpers init and sync share: the termination message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "daemon/daemon.h"

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
