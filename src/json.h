/* Minimal JSON writing on a stdio stream: strings escaped so that the output
 * is valid JSON (and valid UTF-8) whatever bytes the capture held. */
#ifndef CS_JSON_H
#define CS_JSON_H

#include <stddef.h>
#include <stdio.h>
#include "packet.h"

/* Writes s[0..len) as a JSON string literal, quotes included.  Valid UTF-8
 * sequences pass through; control characters are escaped; every byte that is
 * not part of a valid UTF-8 sequence is written as \u00XX (its Latin-1
 * reading), so nothing is dropped and the result is always valid. */
void cs_json_string(FILE *out, const char *s, size_t len);

/* A NUL-terminated string, or null when s is NULL. */
void cs_json_cstr(FILE *out, const char *s);

/* "2026-01-01T00:00:00.000000Z" (RFC 3339, microseconds, UTC), quoted. */
void cs_json_time(FILE *out, cs_time_ns ts);

/* Formats ts as RFC 3339 with microseconds into buf (at least 32 bytes). */
const char *cs_format_time(cs_time_ns ts, char *buf, size_t buflen);

/* "2026-01-01 00:00:00.123456Z": the same instant for people. */
const char *cs_format_time_text(cs_time_ns ts, char *buf, size_t buflen);

#endif
