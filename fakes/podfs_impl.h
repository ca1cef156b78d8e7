/* podfs_impl.h: the container filesystem model's internals, shared by its files and by nothing else
 * (podfs.h is the contract):
 *   podfs.c         the trees (nodes, volumes), pods, views and their mounts
 *   podfs_access.c  errors, permissions, path resolution across mounts and symlinks
 *   podfs_ops.c     the fs_port of a view: file and directory operations, with their fault points
 *   podfs_watch.c   watches and their notifications (delivered on the loop, inotify's way) */
#ifndef T0_FAKES_PODFS_IMPL_H
#define T0_FAKES_PODFS_IMPL_H

#include "fakes/podfs.h"

#define DEFAULT_CAPACITY (UINT64_C(1) << 30)
#define TERM_CAPACITY (64u * 1024u)
#define MAX_DEPTH 128 /* directories on one resolution path */
#define MAX_LINKS 40  /* symlinks followed in one resolution (Linux's limit) */
#define PATH_CAP 4096

typedef struct pvol pvol;
typedef struct pnode pnode;

struct pnode {
    char *name;
    size_t namelen;
    fs_type type;
    uint32_t perm, uid, gid;
    char *data; /* file content or link target (NUL-terminated for links) */
    size_t len, cap;
    pnode *parent; /* within its volume; NULL for a volume's root */
    pnode **kids;
    size_t nkids, capkids;
    pnode *mnt; /* a mount point of a root filesystem: the mounted volume's root (or file) */
    bool mnt_ro;
    uint64_t ino;
    int64_t mtime_ns, ctime_ns;
    int refs; /* the tree's link + open files + watches */
    pvol *vol;
};

struct pvol {
    podfs *p;
    char *name;
    uint64_t id, capacity, used;
    bool read_only, full; /* full: a fault filled it for good */
    pnode *root;
    pvol *next;
};

struct fs_file {
    pnode *n;
    int flags;
    bool ro;
    podfs_view *v;
    fs_file *prev, *next; /* the view's open files */
    char path[];
};

struct fs_watch {
    uint64_t id;
    podfs_view *v;
    pnode *dir;
    unsigned flags;
    fs_watch_fn fn;
    void *ud;
    fs_watch *next;  /* the pod's watches */
};

typedef struct note {
    uint64_t watch;
    char *name;
} note;

/* A resolution a view remembers (pf_resolve): what PATH named while the pod's tree was at generation GEN. */
#define RC_N 4     /* per view: the daemon and the bot ask about the same few paths again and again */
#define RC_PATH 96 /* longer paths are not remembered */
typedef struct rc_ent {
    uint64_t gen; /* podfs.gen + 1 when resolved; 0: empty */
    pnode *node, *parent;
    int eno;
    uint16_t plen, lastoff, lastlen; /* the last component is PATH[lastoff, lastoff + lastlen) */
    bool follow, node_ro, parent_ro;
    char path[RC_PATH];
} rc_ent;

struct podfs_view {
    podfs *p;
    pvol *rootfs, *term;
    uint32_t uid, gid, fs_group;
    bool caps_dropped;
    fs_file *files;
    podfs_view *prev, *next;
    rc_ent rc[RC_N];
    unsigned rc_next; /* the entry the next miss replaces */
};

struct podfs {
    const loop_port *loop;
    struct sim_faults *faults;
    pvol *vols; /* the pod's volumes */
    podfs_view *views;
    fs_watch *watches;
    uint64_t next_ino, next_vol, next_watch;
    uint64_t gen; /* bumped by every change a resolution depends on: entries, mounts, permissions, read-only */
    note *notes;
    size_t nnotes, capnotes;
    uint64_t timer;
    podfs_stats stats;
    podfs_script script;
    bool in_hook;
    void (*on_full)(void *ud, const char *volume);
    void *on_full_ud;
};

enum { P_X = 1, P_W = 2, P_R = 4 };

typedef struct res {
    pnode *node;    /* what PATH names (NULL when it does not exist) */
    pnode *parent;  /* the directory holding the last component (NULL for "/") */
    bool node_ro, parent_ro;
    char last[512]; /* the last component */
    size_t lastlen;
    int eno;
    size_t lastoff; /* where the last component starts in PATH (when no symlink was followed) */
    int links;      /* symlinks followed */
} res;

static inline int64_t now_ns(const podfs *p) { return p->loop->now_ms(p->loop->ctx) * INT64_C(1000000); }
static inline podfs *pod_of(void *ctx) { return ((podfs_view *)ctx)->p; }

/* ---- trees (podfs.c) ------------------------------------------------------------------------------- */
/* pf_node_new: a node of VOL named NAME (LEN bytes), one reference; NULL when out of memory. */
pnode *pf_node_new(podfs *p, pvol *vol, const char *name, size_t len, fs_type t, uint32_t perm, uint32_t uid,
                   uint32_t gid);
/* pf_node_release: drop a reference to N (NULL: none); the last one frees N and releases its subtree. */
void pf_node_release(pnode *n);
/* pf_child: the entry NAME (LEN bytes) of directory D, or NULL */
pnode *pf_child(const pnode *d, const char *name, size_t len);
/* pf_tree_changed: resolutions remembered before N's tree changed are forgotten (rc_ent.gen); pf_attach and
 * pf_detach call it, and whatever changes a mount, a permission or a read-only flag */
void pf_tree_changed(const pnode *n);
/* pf_attach: N becomes an entry of D; false when out of memory */
bool pf_attach(pnode *d, pnode *n);
/* pf_detach: take N out of its directory, keeping the order of the others (listings stay stable). */
void pf_detach(pnode *n);

/* ---- access (podfs_access.c) ---------------------------------------------------------------------- */
/* pf_fail: the error of OP on PATH failing with errno E (ENOENT: T0_ENOTFOUND, EEXIST: T0_EEXIST, else
 * T0_EIO with err->sys_errno E). */
t0_status pf_fail(t0_err *err, int e, const char *op, const char *path);
/* pf_allowed: V's process may do WANT (P_* bits) to N */
bool pf_allowed(const podfs_view *v, const pnode *n, unsigned want);
/* pf_sticky_blocks: the sticky bit of directory D keeps V from removing or renaming N */
bool pf_sticky_blocks(const podfs_view *v, const pnode *d, const pnode *n);
/* pf_resolve: walk PATH in V's tree, across mount points, following symlinks (a final one only when FOLLOW).
 * Returns 0 and fills *R (node NULL with eno ENOENT when only the last component is missing: parent and
 * last are set then), or the errno. A view remembers its last few resolutions that followed no symlink,
 * for as long as the pod's tree does not change (podfs.gen): a walk touches a node per step and every
 * entry of each directory on the way, cold in a simulator running thousands of pods (a sync daemon asks
 * about its log file and state directory at every scan). */
int pf_resolve(podfs_view *v, const char *path, bool follow, res *r);

/* ---- the port (podfs_ops.c) ------------------------------------------------------------------------ */
/* pf_file_free: close F (no notification) */
void pf_file_free(fs_file *f);

/* ---- watches (podfs_watch.c) ----------------------------------------------------------------------- */
/* pf_changed: N changed; every watch whose directory is N, N's parent, or (tree watches) an ancestor of N
 * within N's volume hears about it. */
void pf_changed(podfs *p, pnode *n);
/* pf_touch_dir: directory D's entries changed: its times move, and (as inotify does it) the watches hear
 * about the entries themselves, not about D. */
void pf_touch_dir(podfs *p, pnode *d);
/* pf_touch: N changed (CONTENT: its data too): its times move and its watches hear about it */
void pf_touch(podfs *p, pnode *n, bool content);
/* pf_watch, pf_unwatch: the fs_port's watch and unwatch (CTX a podfs_view) */
t0_status pf_watch(void *ctx, const char *dir, unsigned flags, fs_watch_fn fn, void *ud, fs_watch **out, t0_err *err);
void pf_unwatch(void *ctx, fs_watch *w);

#endif
