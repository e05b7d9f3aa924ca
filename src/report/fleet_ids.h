/* Identifiers that let events from many sensors be merged and joined:
 * the Community ID of the connection (the flow hash Zeek and Suricata
 * emit, so corscope's events join their logs) and an event id that is the
 * same each time the same input is analysed (so a store can drop a batch
 * that was sent twice).  Owned by the report stage; pure functions over
 * the seam's types. */
#ifndef CS_FLEET_IDS_H
#define CS_FLEET_IDS_H

#include <stdint.h>
#include "packet.h"
#include "txn.h"

/* "1:" + base64 of a SHA-1 (28 characters) + NUL */
#define CS_COMMUNITY_ID_LEN 31
/* 32 hex digits (128 bits) + NUL */
#define CS_EVENT_ID_LEN 33

/* Community ID v1 (https://github.com/corelight/community-id-spec) of a
 * flow between a:aport and b:bport over IP protocol proto, in either
 * direction (the endpoints are ordered as the spec says).  For ICMP the
 * ports are the type and the counterpart type, as the spec maps them. */
void cs_community_id_v1(const struct cs_addr *a, uint16_t aport, const struct cs_addr *b,
                        uint16_t bport, uint8_t proto, uint16_t seed,
                        char out[CS_COMMUNITY_ID_LEN]);

/* Event ids, in three steps so that the costly ones run once per run and
 * once per connection, and each event adds only a cheap mix:
 * - cs_sensor_key: 64 bits of a SHA-1 of the sensor's name (once a run);
 * - cs_flow_ids: the connection's Community ID (TCP, seed 0) and its
 *   128-bit event key: the Community ID's SHA-1 mixed with the sensor key
 *   and the time of the connection's first packet (two connections with
 *   one tuple differ by their start, and the mix is a bijection);
 * - cs_event_id: the key with the h2 stream and the transaction's position
 *   mixed into its low half by a bijection, as 32 hex digits.
 * Stable for a given input; the events of one connection never share an
 * id, and those of two connections share one only if 64 bits of hashes
 * collide.  Not meant to resist a forger: it is a deduplication key. */
uint64_t cs_sensor_key(const char *sensor);
void cs_flow_ids(const struct cs_flow_key *f, uint64_t sensor_key, char community_id[CS_COMMUNITY_ID_LEN],
                 uint8_t event_key[16]);
/* cs_flow_ids in two steps, for a caller that keeps 20 bytes per
 * connection rather than both ids: the costly one (the Community ID's
 * SHA-1 of f, once per connection), and the ids from it (a base64 and two
 * mixes, for each event). */
#define CS_FLOW_DIGEST_LEN 20
void cs_flow_digest(const struct cs_flow_key *f, uint8_t md[CS_FLOW_DIGEST_LEN]);
void cs_flow_ids_of(const struct cs_flow_key *f, const uint8_t md[CS_FLOW_DIGEST_LEN],
                    uint64_t sensor_key, char community_id[CS_COMMUNITY_ID_LEN],
                    uint8_t event_key[16]);
void cs_event_id(const uint8_t event_key[16], uint32_t stream, uint32_t index,
                 char out[CS_EVENT_ID_LEN]);

#endif
