/* helpers.h: test helpers: temp dirs, files, and hostile archives built with libarchive. */
#ifndef T0_DAEMON_TEST_HELPERS_H
#define T0_DAEMON_TEST_HELPERS_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/fs.h"

/* One archive entry: type 'f' file (data/len, or `size` zero bytes when data is NULL), 'd' dir,
 * 'l' symlink (data = target), 'h' hardlink (data = target). */
typedef struct th_entry {
    char type;
    const char *name;
    const char *data;
    size_t size;
    int mode;
} th_entry;

/* th_archive: write a zip (zip=true) or tar.gz with ENTRIES to PATH. */
void th_archive(const char *path, bool zip, const th_entry *e, size_t n);
/* th_tmpdir: a fresh directory under /tmp; caller frees the string; th_rmrf removes it. */
char *th_tmpdir(void);
void th_rmrf(const char *path);
void th_write(const char *path, const char *data);
/* th_read: whole file as a NUL-terminated string (NULL when missing); caller frees. */
char *th_read(const char *path, size_t *len);
bool th_exists(const char *path);
/* th_count_files: regular files under DIR (recursively). */
int th_count_files(const char *dir);

/* th_fs: the POSIX filesystem port (no loop: no watches), for tests on real directories. */
const fs_port *th_fs(void);
/* th_file_to_buf / th_buf_to_file: copy between files and memory (tests moving archives around). */
bool th_write_bytes(const char *path, const void *data, size_t len);

#endif
