/* helpers.c: test helpers (see helpers.h). */
#include "helpers.h"

#include "adapters/fs_posix.h"
#include "daemon/daemon.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void th_archive(const char *path, bool zip, const th_entry *e, size_t n)
{
    /* like Go's archive writers: names in UTF-8 (the zip's UTF-8 flag, pax path records) */
    locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    locale_t prev = utf8 ? uselocale(utf8) : (locale_t)0;
    struct archive *a = archive_write_new();
    if (zip) {
        archive_write_set_format_zip(a);
    } else {
        archive_write_set_format_pax_restricted(a);
        archive_write_add_filter_gzip(a);
    }
    archive_write_open_filename(a, path);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *ae = archive_entry_new();
        if (dar_name_utf8(e[i].name)) archive_entry_set_pathname_utf8(ae, e[i].name);
        else archive_entry_set_pathname(ae, e[i].name); /* raw bytes, as a non-UTF-8 tool writes them */
        size_t len = e[i].type == 'f' ? (e[i].data ? strlen(e[i].data) : e[i].size) : 0;
        switch (e[i].type) {
        case 'd': archive_entry_set_mode(ae, AE_IFDIR | (e[i].mode ? e[i].mode : 0755)); break;
        case 'l': archive_entry_set_mode(ae, AE_IFLNK | 0777); archive_entry_set_symlink(ae, e[i].data); break;
        case 'h': archive_entry_set_mode(ae, AE_IFREG | 0644); archive_entry_set_hardlink(ae, e[i].data); break;
        default: archive_entry_set_mode(ae, AE_IFREG | (e[i].mode ? e[i].mode : 0644)); break;
        }
        archive_entry_set_size(ae, (la_int64_t)len);
        archive_write_header(a, ae);
        if (e[i].type == 'f') {
            if (e[i].data) {
                archive_write_data(a, e[i].data, len);
            } else {
                char *z = calloc(1, 65536);
                for (size_t left = len; left > 0;) {
                    size_t k = left < 65536 ? left : 65536;
                    archive_write_data(a, z, k);
                    left -= k;
                }
                free(z);
            }
        }
        archive_entry_free(ae);
    }
    archive_write_close(a);
    archive_write_free(a);
    if (utf8) {
        uselocale(prev);
        freelocale(utf8);
    }
}

char *th_tmpdir(void)
{
    char *p = strdup("/tmp/t0-daemon-test-XXXXXX");
    if (!mkdtemp(p)) abort();
    return p;
}

void th_rmrf(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", path, de->d_name);
            struct stat sb;
            if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) th_rmrf(p);
            else unlink(p);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

void th_write(const char *path, const char *data)
{
    FILE *f = fopen(path, "w");
    if (!f) abort();
    fputs(data, f);
    fclose(f);
}

char *th_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    size_t got = fread(b, 1, (size_t)n, f);
    b[got] = '\0';
    fclose(f);
    if (len) *len = got;
    return b;
}

bool th_exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

int th_count_files(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        struct stat sb;
        if (lstat(p, &sb) != 0) continue;
        if (S_ISDIR(sb.st_mode)) n += th_count_files(p);
        else if (S_ISREG(sb.st_mode)) n++;
    }
    closedir(d);
    return n;
}

const fs_port *th_fs(void)
{
    static fs_posix *p;
    static fs_port port;
    if (!p) {
        if (fs_posix_new(NULL, &p, NULL) != T0_OK) abort();
        port = fs_posix_port(p);
    }
    return &port;
}

bool th_write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) return false;
    bool ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}
