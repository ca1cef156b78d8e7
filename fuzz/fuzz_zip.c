/* fuzz_zip.c: libFuzzer target for dar_extract on code zips; body and oracles in archive_harness.h. */
#define FUZZ_FORMAT DAR_ZIP
#include "fuzz/archive_harness.h"
