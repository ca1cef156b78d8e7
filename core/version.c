/* version.c: the build's commit, passed in by the Makefile (see version.h). */
#include "core/version.h"

#ifndef T0_COMMIT
#define T0_COMMIT "unknown"
#endif

const char *t0_build_commit(void) { return T0_COMMIT; }
