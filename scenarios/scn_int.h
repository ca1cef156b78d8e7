/* scn_int.h: helpers shared by the scenario module's files (not part of its contract). */
#ifndef T0_SCN_INT_H
#define T0_SCN_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "fakes/payloads.h"
#include "scenarios/scn.h"
#include "sim/faults.h"

/* The built-in invariant names (NULL-terminated). */
extern const char *const scn_invariant_names[];

bool scn_tok_is_kv(const scn_tok *t);
bool scn_parse_bool(const char *v, bool *out);
bool scn_parse_range(const char *v, uint64_t *a, uint64_t *b);
/* scn_http_to_status: 404/409/410/422/429/401/403/5xx -> t0_status; -1 for anything else. */
int scn_http_to_status(int code);
static inline int scn_fault_kind_parse(const char *s) { return sim_fault_kind_parse(s); }

#endif
