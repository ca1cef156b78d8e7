/* soak_pool.c: the worker processes of soak and sweep (forked; items from a shared counter; fixed-size
 * messages on one pipe), the progress line and the command-line numbers they share. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scenarios/soak_int.h"

void soak_send(int fd, const soak_msg *m)
{
    const char *p = (const char *)m;
    size_t left = sizeof *m;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        p += w;
        left -= (size_t)w;
    }
}

void soak_say(int fd, uint64_t item, const char *fmt, ...)
{
    soak_msg m = {.type = SOAK_MSG_TEXT, .item = item};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m.text, sizeof m.text, fmt, ap);
    va_end(ap);
    soak_send(fd, &m);
}

bool soak_recv(int fd, soak_msg *m)
{
    char *p = (char *)m;
    size_t got = 0;
    while (got < sizeof *m) {
        ssize_t r = read(fd, p + got, sizeof *m - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        got += (size_t)r;
    }
    return true;
}

int soak_spawn(int jobs, soak_work_fn fn, void *ctx, soak_shared *sh, pid_t *pids)
{
    int p[2];
    if (pipe(p)) return -1;
    fflush(stdout);
    fflush(stderr);
    for (int j = 0; j < jobs; j++) {
        pid_t pid = fork();
        if (pid < 0) {
            pids[j] = -1;
            continue;
        }
        if (pid == 0) {
            close(p[0]);
            fn(ctx, p[1], sh, j);
            close(p[1]);
            _exit(0);
        }
        pids[j] = pid;
    }
    close(p[1]);
    return p[0];
}

int soak_reap(int jobs, const pid_t *pids)
{
    int bad = 0;
    for (int j = 0; j < jobs; j++) {
        int stv = 0;
        if (pids[j] > 0 && (waitpid(pids[j], &stv, 0) < 0 || !WIFEXITED(stv) || WEXITSTATUS(stv))) bad++;
    }
    return bad;
}

void soak_progress_show(soak_progress *p, bool final)
{
    double now = t0_mono_s(), el = now - p->t0;
    if (!final && now - p->last < (p->tty ? 0.5 : 5.0)) return;
    p->last = now;
    double rate = el > 0 ? p->done / el : 0, eta = rate > 0 ? (p->total - p->done) / rate : 0;
    fprintf(stderr, "%s%s %llu/%llu done, %.1f/s, %llu failing so far, ETA %.0fs%s", p->tty ? "\r" : "", p->what,
            (unsigned long long)p->done, (unsigned long long)p->total, rate, (unsigned long long)p->bad, eta,
            p->tty ? (final ? "\n" : "   ") : "\n");
    fflush(stderr);
}

void soak_collect_msgs(int fd, soak_progress *pr, void (*on_msg)(void *ud, soak_progress *pr, const soak_msg *m), void *ud)
{
    soak_msg m;
    for (;;) {
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, 250) > 0) {
            if (!soak_recv(fd, &m)) break;
            if (m.type == SOAK_MSG_TEXT) {
                if (pr->tty) fprintf(stderr, "\r\033[K");
                fputs(m.text, stdout);
                fflush(stdout);
            } else on_msg(ud, pr, &m);
        }
        soak_progress_show(pr, false);
    }
}

int soak_jobs_default(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

