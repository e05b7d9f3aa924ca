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
/* 32 hex digits (128 bits of a SHA-256) + NUL */
#define CS_EVENT_ID_LEN 33

/* Community ID v1 (https://github.com/corelight/community-id-spec) of a
 * flow between a:aport and b:bport over IP protocol proto, in either
 * direction (the endpoints are ordered as the spec says).  For ICMP the
 * ports are the type and the counterpart type, as the spec maps them. */
void cs_community_id_v1(const struct cs_addr *a, uint16_t aport, const struct cs_addr *b,
                        uint16_t bport, uint8_t proto, uint16_t seed,
                        char out[CS_COMMUNITY_ID_LEN]);

/* The event id of transaction (stream, index) of flow f seen by sensor:
 * a hash of the sensor name, the connection's Community ID, the time of
 * its first packet, the h2 stream and the transaction's position in it.
 * Stable for a given input; distinct for distinct events. */
void cs_event_id(const char *sensor, const char *community_id, const struct cs_flow_key *f,
                 uint32_t stream, uint32_t index, char out[CS_EVENT_ID_LEN]);

#endif
