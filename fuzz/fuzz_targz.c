/* fuzz_targz.c: libFuzzer target for dar_extract on state tar.gz (plain tar too: libarchive detects the filter); body and oracles in archive_harness.h. */
#define FUZZ_FORMAT DAR_TARGZ
#include "fuzz/archive_harness.h"
