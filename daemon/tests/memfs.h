/* memfs.h: an in-memory filesystem port for the daemon's unit tests: a tree of files, directories and
 * symlinks with volumes (capacity, read-only), POSIX errno values, scripted faults and change notification
 * delivered on the loop. A small model of what a container sees; the simulator's own model is phase 2 of
 * issue 14. */
#ifndef T0_DAEMON_TEST_MEMFS_H
#define T0_DAEMON_TEST_MEMFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/fs.h"
#include "core/ports.h"

typedef struct memfs memfs;

/* memfs_new: an empty tree ("/" exists, writable, unlimited). LOOP (borrowed) gives mtimes and delivers
 * watch callbacks (a zero-delay timer: never from inside a port call). */
memfs *memfs_new(const loop_port *loop);
void memfs_free(memfs *m);
fs_port memfs_port(memfs *m);

/* memfs_volume: mkdir -p PATH and make it a volume of CAPACITY bytes (0 = unlimited) of file data; the
 * root "/" is the volume of everything else. READ_ONLY: every change below it fails with EROFS (a
 * container's readOnlyRootFilesystem when PATH is "/"). */
void memfs_volume(memfs *m, const char *path, uint64_t capacity, bool read_only);
/* memfs_used / memfs_avail: file bytes on the volume holding PATH, and what is left. */
uint64_t memfs_used(memfs *m, const char *path);

/* Faults (each applies to the next calls of its kind; counters go down as they fire):
 *   fail_writes with fail_errno: a write fails with that errno after writing half (a short write);
 *   short_reads: a read returns at most one byte;  fail_reads: a read fails with EIO;
 *   fail_renames: a rename fails with EIO.
 * before_read: called before every read of a regular file (a test may change the file "while it is
 * read"); PATH is the file's path as it was opened. */
typedef struct memfs_faults {
    int fail_writes, fail_errno;
    int short_reads, fail_reads;
    int fail_renames;
    void (*before_read)(void *ud, const char *path);
    void *before_read_ud;
} memfs_faults;
memfs_faults *memfs_faults_of(memfs *m);

/* Test helpers (through the same checks as the port: capacity and read-only count). */
bool memfs_put(memfs *m, const char *path, const char *data); /* mkdir -p the parent, write the file */
char *memfs_get(memfs *m, const char *path, size_t *len);     /* owned copy, or NULL */
bool memfs_exists(memfs *m, const char *path);
int memfs_count_files(memfs *m, const char *dir);             /* regular files below DIR */
uint64_t memfs_writes(memfs *m);                               /* successful write calls so far */

#endif
