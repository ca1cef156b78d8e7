/* fake_faults.h: the one place where the store, bus and object-store fakes ask the simulation's fault
 * points (sim/faults) whether an operation fails, so each fake stays independent of that API. */
#ifndef FAKES_FAKE_FAULTS_H
#define FAKES_FAKE_FAULTS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/t0.h"

struct sim_faults;

typedef enum fake_fault_kind {
    FAKE_FAULT_NONE = 0,
    FAKE_FAULT_ERROR,     /* the call fails with .status (err filled) */
    FAKE_FAULT_DROP,      /* a message is lost */
    FAKE_FAULT_DUPLICATE, /* a message is delivered twice */
    FAKE_FAULT_DELAY,     /* the operation/message is late by .delay_ms (reordering messages) */
} fake_fault_kind;

typedef struct fake_fault {
    fake_fault_kind kind;
    t0_status status;
    int64_t delay_ms;
    bool applied; /* FAKE_FAULT_ERROR from timeout-applied: a fake that can should do the write, then fail */
} fake_fault;

/* fake_fault_at: ask the fault point POINT (e.g. "nats/deliver") once. F may be NULL (never fails).
 * On FAKE_FAULT_ERROR, err holds the injected failure (status and message naming the point). */
fake_fault_kind fake_fault_at(struct sim_faults *f, const char *point, fake_fault *out, t0_err *err);

/* fake_fault_call: fake_fault_at reduced to a call's status: T0_OK unless an error was injected (kinds
 * other than ERROR are ignored by call-style points). */
t0_status fake_fault_call(struct sim_faults *f, const char *point, t0_err *err);

#endif
