/* memfs.c: the daemon's unit tests' filesystem: one root container of fakes/podfs (see memfs.h). */
#include "memfs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct memfs {
    podfs *p;
    podfs_view *v;
};

memfs *memfs_new(const loop_port *loop)
{
    memfs *m = calloc(1, sizeof *m);
    podfs_view_opts o = {.uid = 0}; /* root with its capabilities: permission bits do not get in the way */
    if (!m || podfs_new(loop, NULL, &m->p, NULL) != T0_OK || podfs_view_new(m->p, &o, &m->v, NULL) != T0_OK) abort();
    return m;
}

void memfs_free(memfs *m)
{
    if (!m) return;
    podfs_destroy(m->p);
    free(m);
}

fs_port memfs_port(memfs *m) { return podfs_view_port(m->v); }
memfs_faults *memfs_faults_of(memfs *m) { return podfs_script_of(m->p); }

uint64_t memfs_writes(memfs *m)
{
    podfs_stats s;
    podfs_get_stats(m->p, &s);
    return s.writes;
}

void memfs_volume(memfs *m, const char *path, uint64_t capacity, bool read_only)
{
    if (!strcmp(path, "/")) {
        podfs_view_set_root(m->v, read_only, capacity);
        return;
    }
    t0_err err = {0};
    if (podfs_add_volume(m->p, path, capacity, &err) != T0_OK ||
        podfs_view_mount(m->v, path, path, read_only, &err) != T0_OK) {
        fprintf(stderr, "memfs_volume %s: %s\n", path, err.msg);
        abort();
    }
}

uint64_t memfs_used(memfs *m, const char *path)
{
    fs_port p = memfs_port(m);
    uint64_t avail = 0, total = 0;
    return p.space(p.ctx, path, &avail, &total, NULL) == T0_OK ? total - avail : 0;
}

bool memfs_put(memfs *m, const char *path, const char *data)
{
    fs_port p = memfs_port(m);
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (fs_mkdirs(&p, dir, 0755, NULL) != T0_OK) return false;
    }
    return fs_write_all(&p, path, data, strlen(data), 0644, NULL) == T0_OK;
}

char *memfs_get(memfs *m, const char *path, size_t *len)
{
    fs_port p = memfs_port(m);
    char *s = NULL;
    return fs_read_all(&p, path, SIZE_MAX / 2, &s, len, NULL) == T0_OK ? s : NULL;
}

bool memfs_exists(memfs *m, const char *path)
{
    fs_port p = memfs_port(m);
    fs_stat sb;
    return p.lstat(p.ctx, path, &sb, NULL) == T0_OK;
}

static int count(const fs_port *p, const char *dir)
{
    fs_stat sb;
    if (p->lstat(p->ctx, dir, &sb, NULL) != T0_OK) return 0;
    if (sb.type == FS_REG) return 1;
    if (sb.type != FS_DIR) return 0;
    fs_list l = {0};
    if (p->list(p->ctx, dir, &l, NULL) != T0_OK) return 0;
    int c = 0;
    for (size_t i = 0; i < l.n; i++) {
        char path[4096];
        if (fs_join(path, sizeof path, dir, l.names[i], NULL) == T0_OK) c += count(p, path);
    }
    fs_list_free(&l);
    return c;
}

int memfs_count_files(memfs *m, const char *dir)
{
    fs_port p = memfs_port(m);
    return count(&p, dir);
}
