/* docver.h: the version of a desired-state document: where in the NATS event stream THE0_EVENTS the event
 * (or the direct MongoDB write) it was last written from stands (docs/intake.md). The intake applies an
 * event only when it is newer than the document and than the id's delete tombstone, so events of one id
 * take effect in publish order whatever is redelivered.
 *
 * Text form, stored in the document's STORE_VERSION_FIELD ("the0_version"), fixed width so that the text
 * order is the version order (MongoDB compares strings bytewise: a store can select "older than V"):
 *   "EEEEEEEEEEEEEEEE:SSSSSSSSSSSSSSSSSSSS"         the event with stream sequence S
 *   "EEEEEEEEEEEEEEEE:SSSSSSSSSSSSSSSSSSSS:direct"  a direct write made when the stream's last sequence
 *                                                   was S: newer than event S and every event before
 *                                                   it, older than event S+1
 * E (16 digits) is the stream's creation time in microseconds since the Unix epoch: the API deletes and
 * creates THE0_EVENTS again at each start and its sequences restart at 1, so every event of a newer
 * stream is newer than every event of an older one. S has 20 digits, zero-padded. A document without the
 * field, or with anything else in it, has no version: it is older than every event. */
#ifndef DOMAIN_DOCVER_H
#define DOMAIN_DOCVER_H

#include <stdbool.h>
#include <stdint.h>

#include <cJSON.h>

#define DOCVER_TEXT_MAX 48
/* DOCVER_REGEX: the text form as a regular expression (a store's test for "well-formed"). */
#define DOCVER_REGEX "^[0-9]{16}:[0-9]{20}(:direct)?$"

typedef struct docver {
    uint64_t epoch; /* 0: no version */
    uint64_t seq;
    bool direct;
} docver;

/* docver_parse: S in the text form above into *OUT; false (and *OUT = no version) when S is not one. */
bool docver_parse(const char *s, docver *out);
/* docver_format: the text form of V (V must have a version, its epoch 16 decimal digits). */
void docver_format(const docver *v, char out[DOCVER_TEXT_MAX]);
/* docver_cmp: <0, 0, >0 as A is older than, the same as, newer than B (no version is the oldest). */
int docver_cmp(const docver *a, const docver *b);
/* docver_of: the version DOC carries (no version when DOC is NULL or has none). */
docver docver_of(const cJSON *doc);
/* docver_older: whether DOC has no version or one older than V (the store's "older than" condition). */
bool docver_older(const cJSON *doc, const docver *v);
static inline bool docver_is_set(const docver *v) { return v->epoch != 0; }

#endif
