/* Cookie evidence for the credentials mode (issue 16 §1; cors-reasons.md
 * §1.2).  Per client address, the scheme+host pairs it has sent a Cookie
 * header to: a bounded table (CS_COOKIE_HOSTS_MAX pairs in all; a full table
 * takes no more, counted), grown as used, its bytes counted in --max-memory.
 *
 * The rules, each proved with the real browsers (tests/browser,
 * cookie-same-site-* and cookie-cross-*):
 * - a CORS request that carries Cookie was sent with credentials "include";
 * - a same-site CORS request (site.h: the Origin and the target) without
 *   Cookie, from a client that sent a cookie to that scheme+host before,
 *   was sent with credentials "omit" (or "same-origin", the same thing
 *   cross-origin): a same-site credentialed request carries the host's
 *   cookies whatever their SameSite attribute;
 * - a cross-site request without Cookie proves nothing: Chromium withholds
 *   SameSite=Lax-by-default cookies and, with third-party cookies blocked,
 *   even SameSite=None ones, where Firefox sends them. */
#ifndef CS_COOKIES_H
#define CS_COOKIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "corscope/cors.h"
#include "packet.h"
#include "site.h"

#define CS_COOKIE_HOSTS_MAX 4096u /* client + scheme+host pairs remembered */

enum cs_cookie_evidence {
    CS_COOKIE_NONE,     /* says nothing about the credentials mode */
    CS_COOKIE_SENT,     /* the request carries Cookie: "include" */
    CS_COOKIE_WITHHELD, /* same-site, no Cookie, the host had cookies: "omit" */
};

struct cs_cookies;

/* max_hosts: the table's bound (0: CS_COOKIE_HOSTS_MAX).  NULL: out of memory. */
struct cs_cookies *cs_cookies_new(size_t max_hosts);
void cs_cookies_free(struct cs_cookies *c);

/* One request of client (any kind: a page load's Cookie counts too): what
 * its Cookie header, or its absence, says about its credentials mode, then
 * remembers that client sent a cookie to the URL's scheme+host if it did.
 * origin: its Origin header (NULL or "null": no same-site evidence); url:
 * "scheme://host[:port]/..." (the classifier's). */
enum cs_cookie_evidence cs_cookies_request(struct cs_cookies *c, struct cs_site *site,
                                           const struct cs_addr *client, const corscope_request *req,
                                           const char *origin, size_t origin_len, const char *url);

/* What the table costs now (counted in --max-memory), and how many pairs
 * it refused for being full (the summary's caps_hit "cookie_hosts"). */
size_t cs_cookies_bytes(const struct cs_cookies *c);
uint64_t cs_cookies_refused(const struct cs_cookies *c);

#endif
