/* fs_posix.h: the filesystem port (core/fs.h) on POSIX, with inotify change notification delivered on
 * the production loop (adapters/rtloop.h). */
#ifndef T0_ADAPTERS_FS_POSIX_H
#define T0_ADAPTERS_FS_POSIX_H

#include "adapters/rtloop.h"
#include "core/fs.h"
#include "core/t0.h"

typedef struct fs_posix fs_posix;

/* fs_posix_new: a POSIX filesystem. LOOP (borrowed, may be NULL) delivers watch callbacks; without a loop
 * watch fails with T0_EUNAVAILABLE (init needs none). The caller owns *out (fs_posix_free; NULL is a
 * no-op; watches still open are removed). Thread contract: one loop thread, like rtloop.
 *
 * Fault points (libfiu, for tests): posixfs/write fails a write with ENOSPC after writing half of it
 * (a short write, as a filling disk does), posixfs/read fails a read with EIO, posixfs/rename fails a
 * rename with EIO. */
t0_status fs_posix_new(rtloop *loop, fs_posix **out, t0_err *err);
void fs_posix_free(fs_posix *p);

/* fs_posix_port: the port view (ctx = P). */
fs_port fs_posix_port(fs_posix *p);

#endif
