/* version.h: what the binaries report as their version and build (the0-runtime version, the0_build_info). */
#ifndef T0_CORE_VERSION_H
#define T0_CORE_VERSION_H

#define T0_VERSION "0.1.0"

/* t0_build_commit: the git commit the binary was built from ("unknown" outside a git checkout; "-dirty"
 * appended when the tree had uncommitted changes). */
const char *t0_build_commit(void);

#endif
