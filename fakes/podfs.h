/* podfs.h: the container filesystem model of the simulated kubelet: one pod's volumes and one view per
 * container behind the filesystem port (core/fs.h), so that the daemon and the bot programs in a simulated
 * pod see what a container of that pod spec would see. */
#ifndef T0_FAKES_PODFS_H
#define T0_FAKES_PODFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/fs.h"
#include "core/ports.h"
#include "core/t0.h"

struct sim_faults;

/* The model.
 * - A pod has volumes (emptyDir): one tree each, created empty with mode 0777 (as the kubelet makes an
 *   emptyDir), shared by every container that mounts it, alive as long as the pod. A volume has a
 *   capacity in bytes of file data; a write that does not fit writes what fits and fails with ENOSPC
 *   (fs.h: "bytes written before the failure may remain"), and space() reports what is left.
 * - A container's view: its own root filesystem (the image: "/", "/tmp" 1777, "/dev", and the parents of
 *   its mount points, owned by root, 0755), read-only when the container's readOnlyRootFilesystem says so;
 *   the volumes at their mountPaths (a readOnly mount refuses every change with EROFS); and its
 *   terminationMessagePath (default /dev/termination-log), a writable file even on a read-only root,
 *   whose content the kubelet reads when the container ends. A new view (a restarted container) has a
 *   fresh root filesystem and an empty termination file; the volumes keep their content.
 * - Names are bytes (any but '/' and NUL; UTF-8 or not). "." and ".." and symlinks (absolute targets from
 *   the view's root, relative ones from the link's directory) resolve as POSIX does, across mount points.
 * - Permissions: the view runs as UID/GID (the securityContext's runAsUser/runAsGroup, supplementary group
 *   fsGroup). Owner, group and other bits are checked for search (x) on every directory passed, write on
 *   the directory for creating, removing and renaming entries, and read/write on files opened. UID 0 skips
 *   the bits only while it keeps its capabilities (capabilities.drop ALL takes CAP_DAC_OVERRIDE away).
 *   New entries belong to the view's uid and gid.
 * - Errors follow fs.h's contract with POSIX errno values: ENOENT, EEXIST, EROFS, EACCES, ENOSPC, EIO,
 *   ENOTDIR, EISDIR, ENOTEMPTY, ELOOP, EXDEV (a rename between volumes), EBUSY (a mount point), EINVAL.
 * - Watches: exact (no change is ever lost, so no overflow report), delivered on the loop by a zero-delay
 *   timer (never from inside a port call), a change reported once per (watch, name) in a row. A watch
 *   covers one volume: changes below a mount point inside the watched directory are not reported.
 * - Fault points of the seeded registry (docs/faults.md): `podfs/write` — error: EIO, nothing written;
 *   enospc: the volume fills up (half of the write lands, ENOSPC, and the volume stays full for the rest of
 *   its life); short: half of the write lands, then EIO. `podfs/read` — error: EIO. `podfs/rename` —
 *   error: EIO, nothing renamed. They apply to every process of the pod, bot and daemon alike. */

typedef struct podfs podfs;
typedef struct podfs_view podfs_view;

/* podfs_new: a pod's filesystem world without volumes. LOOP (borrowed) gives times and delivers watches;
 * FAULTS (borrowed, may be NULL) drives the podfs fault points. */
t0_status podfs_new(const loop_port *loop, struct sim_faults *faults, podfs **out, t0_err *err);
/* podfs_destroy: drop every volume and view (the pod is gone). Views must not be used afterwards; their
 * open files and watches are released here. NULL is a no-op. */
void podfs_destroy(podfs *p);

/* podfs_add_volume: an empty volume NAME of CAPACITY bytes (0: 1 GiB, a node's free disk). T0_EEXIST when
 * the pod has one of that name. */
t0_status podfs_add_volume(podfs *p, const char *name, uint64_t capacity, t0_err *err);
/* podfs_volume_used / podfs_volume_capacity: file bytes on volume NAME, and its capacity (0 when unknown).
 * podfs_volume_set_capacity: change it (scenarios: a small disk); a volume already over it is full. */
uint64_t podfs_volume_used(const podfs *p, const char *name);
uint64_t podfs_volume_capacity(const podfs *p, const char *name);
bool podfs_volume_set_capacity(podfs *p, const char *name, uint64_t capacity);

typedef struct podfs_mount {
    const char *volume; /* a volume of the pod */
    const char *path;   /* absolute mountPath */
    bool read_only;
} podfs_mount;

typedef struct podfs_view_opts {
    bool read_only_root;
    uint32_t uid, gid, fs_group; /* fs_group 0: none */
    bool caps_dropped;           /* capabilities.drop contains ALL */
    const podfs_mount *mounts;
    size_t nmounts;
    const char *termination_path; /* NULL or "": /dev/termination-log */
} podfs_view_opts;

/* podfs_view_new: a container's view. T0_ENOTFOUND (message "volume NAME not found") when a mount names no
 * volume of the pod; T0_EINVAL when a mountPath is not absolute or two mounts share a path. */
t0_status podfs_view_new(podfs *p, const podfs_view_opts *o, podfs_view **out, t0_err *err);
/* podfs_view_mount: mount volume NAME at PATH in V as a container runtime does before the process starts
 * (podfs_view_new uses it; unit tests add mounts later). podfs_view_set_root: V's root filesystem
 * read-only or not, and its capacity (0: 1 GiB). */
t0_status podfs_view_mount(podfs_view *v, const char *volume, const char *path, bool read_only, t0_err *err);
void podfs_view_set_root(podfs_view *v, bool read_only, uint64_t capacity);
/* podfs_view_port: the filesystem port of V (ctx = V). */
fs_port podfs_view_port(podfs_view *v);
/* podfs_view_termination: the termination file's content, at most CAP-1 bytes (Kubernetes keeps 4096),
 * NUL-terminated, trailing whitespace kept. Returns its length. */
size_t podfs_view_termination(const podfs_view *v, char *buf, size_t cap);
/* podfs_view_destroy: the container is gone: its files are closed, its watches end (no callback runs
 * afterwards), its root filesystem goes. NULL is a no-op. */
void podfs_view_destroy(podfs_view *v);

/* podfs_on_full: FN(UD, volume name) when a write to a pod volume fails with ENOSPC (the volume is full:
 * a write was cut short), once per write. */
void podfs_on_full(podfs *p, void (*fn)(void *ud, const char *volume), void *ud);

/* Scripted faults for unit tests (the simulator uses the fault points). Each applies to the next calls of
 * its kind; counters go down as they fire: fail_writes: half of the write lands, then it fails with
 * fail_errno (default EIO); short_reads: a read returns at most one byte; fail_reads: a read fails with
 * EIO; fail_renames: a rename fails with EIO. before_read: called before every read of a regular file with
 * the path it was opened by (a test may change the file "while it is read"). */
typedef struct podfs_script {
    int fail_writes, fail_errno;
    int short_reads, fail_reads;
    int fail_renames;
    void (*before_read)(void *ud, const char *path);
    void *before_read_ud;
} podfs_script;
podfs_script *podfs_script_of(podfs *p);

/* Counters for tests and the soak report. */
typedef struct podfs_stats {
    uint64_t writes, write_faults, enospc, reads, read_faults, notes;
} podfs_stats;
void podfs_get_stats(const podfs *p, podfs_stats *out);

#endif
