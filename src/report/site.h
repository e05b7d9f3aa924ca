/* Same-site (HTML "schemeful same site"): two URLs or origins are same-site
 * when their schemes are equal and their hosts have the same registrable
 * domain (public suffix plus one label, from the Public Suffix List by
 * libpsl).  The cookie evidence (cookies.h) rests on it: a same-site
 * credentialed request carries every cookie of its host, whatever its
 * SameSite attribute.
 *
 * A top-level domain that no rule of the list names falls under the
 * list's implicit "*" rule (app.corscope.test: corscope.test), as in both
 * browsers: measured with tests/browser, where a SameSite=Lax cookie of
 * api.corscope.test goes with credentialed fetches from app.corscope.test in
 * Firefox ESR 153 and Chromium 156 (Lax cookies never go cross-site).  IP
 * literals and localhost have no registrable domain: they compare by host.
 * When in doubt the answer is cross-site: that only loses evidence, where
 * a wrong same-site would invent it. */
#ifndef CS_SITE_H
#define CS_SITE_H

#include <stdbool.h>
#include <stddef.h>

#define CS_SITE_HOST_MAX 256 /* longer hosts have no registrable domain here */

/* The scheme and host of "scheme://host[:port][/...]" (an Origin value or a
 * URL); the host without brackets' removal, port or path.  False when s has
 * no "://" or an empty host ("null" origins). */
bool cs_site_split(const char *s, size_t len, const char **scheme, size_t *scheme_len,
                   const char **host, size_t *host_len);

struct cs_site;

/* The Public Suffix List is loaded at the first question that needs it
 * (libpsl: the newer of its built-in list and Debian's publicsuffix
 * package).  Without a list every host is its own site.  NULL: out of
 * memory. */
struct cs_site *cs_site_new(void);
void cs_site_free(struct cs_site *s);

/* The registrable domain of host (lower-cased into out, NUL-terminated):
 * false for IP literals, localhost, a public suffix itself, or a host
 * longer than CS_SITE_HOST_MAX. */
bool cs_site_registrable(struct cs_site *s, const char *host, size_t len, char *out, size_t size);

/* Whether a and b ("scheme://host..." each) are same-site.  Unparsable
 * input is cross-site. */
bool cs_site_same(struct cs_site *s, const char *a, size_t a_len, const char *b, size_t b_len);

#endif
