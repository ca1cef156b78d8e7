/* memfs.h: an in-memory filesystem port for the daemon's unit tests: one container of the simulator's
 * container filesystem model (fakes/podfs.h) running as root, with volumes mounted where a test asks,
 * scripted faults, and helpers to set files up and look at them. */
#ifndef T0_DAEMON_TEST_MEMFS_H
#define T0_DAEMON_TEST_MEMFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/fs.h"
#include "core/ports.h"
#include "fakes/podfs.h"

typedef struct memfs memfs;

/* memfs_new: a root filesystem ("/", /tmp, /dev, writable, 1 GiB) with nothing mounted. LOOP (borrowed) gives mtimes and delivers
 * watch callbacks (a zero-delay timer: never from inside a port call). */
memfs *memfs_new(const loop_port *loop);
void memfs_free(memfs *m);
fs_port memfs_port(memfs *m);

/* memfs_volume: mount a new volume of CAPACITY bytes (0 = 1 GiB) of file data at PATH (what the root had
 * there is hidden, as under a mount); PATH "/" sets the root filesystem instead. READ_ONLY: every change
 * below it fails with EROFS (a container's readOnlyRootFilesystem when PATH is "/"). */
void memfs_volume(memfs *m, const char *path, uint64_t capacity, bool read_only);
/* memfs_used: file bytes on the volume holding PATH. */
uint64_t memfs_used(memfs *m, const char *path);

/* Faults: podfs's scripted faults (fakes/podfs.h, podfs_script). */
typedef podfs_script memfs_faults;
memfs_faults *memfs_faults_of(memfs *m);

/* Test helpers (through the same checks as the port: capacity and read-only count). */
bool memfs_put(memfs *m, const char *path, const char *data); /* mkdir -p the parent, write the file */
char *memfs_get(memfs *m, const char *path, size_t *len);     /* owned copy, or NULL */
bool memfs_exists(memfs *m, const char *path);
int memfs_count_files(memfs *m, const char *dir);             /* regular files below DIR */
uint64_t memfs_writes(memfs *m);                               /* successful write calls so far */

#endif
