/* Stored responses for judging a 304 (see stored.h).  An entry is one
 * allocation: its fixed part, then its strings (Origin, URL, ETag,
 * Last-Modified, each kept field's name and value).  Entries are found by the
 * timeline's 64-bit key of (client, Origin, URL) (cs_timeline_request_key,
 * never 0) and checked against the strings they keep; a ring of (hash, sequence) in insertion order says which is oldest
 * when the table is full (a replaced entry leaves a stale slot that is
 * skipped). */
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "corscope/header.h"
#include "stored.h"

struct span {
    uint16_t off, len; /* in the entry's data */
};

struct entry {
    uint64_t seq; /* of its newest ring slot */
    uint64_t frame;
    int status;
    uint32_t bytes; /* of the whole allocation */
    struct span origin, url, etag, last_modified;
    uint8_t n_fields;
    struct span name[CS_STORED_FIELDS], value[CS_STORED_FIELDS];
    char data[];
};

struct ring_slot {
    uint64_t key, seq;
};

struct cs_stored {
    GHashTable *entries; /* hash (as a pointer) -> struct entry */
    struct ring_slot *ring;
    size_t max, head, len; /* ring: len slots from head */
    uint64_t next_seq;
    size_t bytes, count;        /* of the entries (count: not GLib's, so a miss reads only this) */
    struct cs_stored_view view; /* the last 304's (cs_stored_revalidate) */
};

struct cs_stored *cs_stored_new(size_t max)
{
    struct cs_stored *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->max = max ? max : CS_STORED_MAX;
    s->entries = g_hash_table_new_full(NULL, NULL, NULL, free);
    s->ring = calloc(s->max, sizeof *s->ring);
    if (!s->ring) {
        cs_stored_free(s);
        return NULL;
    }
    return s;
}

void cs_stored_free(struct cs_stored *s)
{
    if (!s)
        return;
    g_hash_table_destroy(s->entries);
    free(s->ring);
    free(s);
}

size_t cs_stored_bytes(const struct cs_stored *s)
{
    /* the entries, the ring, and GLib's table: three words a slot, about
     * twice as many slots as entries */
    return s->bytes + s->max * sizeof *s->ring + 6 * sizeof(void *) * s->count;
}

static const char *at(const struct entry *e, struct span s)
{
    return e->data + s.off;
}

static bool span_is(const struct entry *e, struct span s, const char *p, size_t n)
{
    return s.len == n && memcmp(at(e, s), p, n) == 0;
}

/* The entry for (client, origin, url), or NULL. */
static struct entry *find(struct cs_stored *s, uint64_t key, const char *origin, size_t origin_len,
                          const char *url)
{
    struct entry *e = g_hash_table_lookup(s->entries, GSIZE_TO_POINTER(key));
    if (e && (!span_is(e, e->origin, origin, origin_len) || !span_is(e, e->url, url, strlen(url))))
        return NULL; /* another pair with the same hash: not this one */
    return e;
}

static void forget(struct cs_stored *s, uint64_t key)
{
    struct entry *e = g_hash_table_lookup(s->entries, GSIZE_TO_POINTER(key));
    if (e) {
        s->bytes -= e->bytes;
        s->count--;
        g_hash_table_remove(s->entries, GSIZE_TO_POINTER(key));
    }
}

/* Drops the oldest ring slot, and its entry if the slot is still its
 * newest (a refreshed entry's older slots are stale). */
static void ring_pop(struct cs_stored *s)
{
    struct ring_slot old = s->ring[s->head];
    s->head = (s->head + 1) % s->max;
    s->len--;
    struct entry *e = g_hash_table_lookup(s->entries, GSIZE_TO_POINTER(old.key));
    if (e && e->seq == old.seq)
        forget(s, old.key);
}

/* Takes a ring slot for key, making room first: for one more slot, and
 * for `bytes` more within the budget. */
static uint64_t ring_push(struct cs_stored *s, uint64_t key, size_t bytes)
{
    while (s->len == s->max || (s->len && s->bytes + bytes > CS_STORED_BUDGET))
        ring_pop(s);
    uint64_t seq = ++s->next_seq;
    s->ring[(s->head + s->len) % s->max] = (struct ring_slot){key, seq};
    s->len++;
    return seq;
}

static bool is_kept_field(const corscope_header *h)
{
    static const char ac[] = "access-control-";
    if (h->name_len == 4)
        return g_ascii_strncasecmp(h->name, "vary", 4) == 0;
    return h->name_len > sizeof ac - 1 && g_ascii_strncasecmp(h->name, ac, sizeof ac - 1) == 0;
}

/* Cache-Control of rs says no-store (RFC 9111 §5.2.2.5): not stored. */
static bool no_store(const corscope_response *rs)
{
    for (size_t i = 0; i < rs->n_headers; i++) {
        const corscope_header *h = &rs->headers[i];
        if (h->name_len == 13 && g_ascii_strncasecmp(h->name, "cache-control", 13) == 0 &&
            g_strstr_len(h->value, (gssize)h->value_len, "no-store"))
            return true;
    }
    return false;
}

/* Appends p[0..n) to the entry being built; its span. */
static struct span put(char *data, size_t *used, const char *p, size_t n)
{
    struct span s = {(uint16_t)*used, (uint16_t)n};
    if (n)
        memcpy(data + *used, p, n);
    *used += n;
    return s;
}

/* Builds an entry from the validators and the kept kinds among fields (a
 * response's, or a 304's merged with the stored ones).  NULL when it would
 * be too large. */
static struct entry *build(const char *origin, size_t origin_len, const char *url, int status,
                           uint64_t frame, const corscope_header *etag, const corscope_header *lm,
                           const corscope_header *fields, size_t n_fields)
{
    size_t url_len = strlen(url);
    size_t need = origin_len + url_len + (etag ? etag->value_len : 0) + (lm ? lm->value_len : 0);
    size_t n = 0;
    for (size_t i = 0; i < n_fields; i++)
        if (is_kept_field(&fields[i])) {
            need += fields[i].name_len + fields[i].value_len;
            n++;
        }
    if (n > CS_STORED_FIELDS || need > CS_STORED_MAX_BYTES)
        return NULL;
    struct entry *e = malloc(sizeof *e + need);
    if (!e)
        return NULL;
    size_t used = 0;
    e->bytes = (uint32_t)(sizeof *e + need);
    e->frame = frame;
    e->status = status;
    e->origin = put(e->data, &used, origin, origin_len);
    e->url = put(e->data, &used, url, url_len);
    e->etag = put(e->data, &used, etag ? etag->value : NULL, etag ? etag->value_len : 0);
    e->last_modified = put(e->data, &used, lm ? lm->value : NULL, lm ? lm->value_len : 0);
    e->n_fields = 0;
    for (size_t i = 0; i < n_fields; i++)
        if (is_kept_field(&fields[i])) {
            e->name[e->n_fields] = put(e->data, &used, fields[i].name, fields[i].name_len);
            e->value[e->n_fields] = put(e->data, &used, fields[i].value, fields[i].value_len);
            e->n_fields++;
        }
    return e;
}

static void insert(struct cs_stored *s, uint64_t key, struct entry *e)
{
    forget(s, key);
    e->seq = ring_push(s, key, e->bytes);
    g_hash_table_insert(s->entries, GSIZE_TO_POINTER(key), e);
    s->bytes += e->bytes;
    s->count++;
}

void cs_stored_response(struct cs_stored *s, uint64_t key, const char *origin, size_t origin_len,
                        const char *url, const corscope_request *rq, const corscope_response *rs,
                        uint64_t frame)
{
    if (!s || !key || !url || rs->status < 200 || rs->status == 304)
        return;
    bool get = rq->method_len == 3 && memcmp(rq->method, "GET", 3) == 0;
    bool head = rq->method_len == 4 && memcmp(rq->method, "HEAD", 4) == 0;
    if (!get && !head)
        return;
    /* one pass, by length first: this runs for every cross-origin GET */
    const corscope_header *etag = NULL, *lm = NULL;
    for (size_t i = 0; i < rs->n_headers; i++) {
        const corscope_header *h = &rs->headers[i];
        if (h->name_len == 4 && !etag && g_ascii_strncasecmp(h->name, "etag", 4) == 0)
            etag = h;
        else if (h->name_len == 13 && !lm && g_ascii_strncasecmp(h->name, "last-modified", 13) == 0)
            lm = h;
    }
    if (!etag && !lm) {
        /* not revalidatable: it replaced whatever the browser had stored */
        if (s->count && find(s, key, origin, origin_len, url))
            forget(s, key);
        return;
    }
    struct entry *e = no_store(rs) ? NULL
                                   : build(origin, origin_len, url, rs->status, frame, etag, lm,
                                           rs->headers, rs->n_headers);
    if (e)
        insert(s, key, e);
    else if (find(s, key, origin, origin_len, url))
        forget(s, key);
}

/* An entity-tag without its weakness prefix (RFC 9110 §8.8.3.2: the weak
 * comparison, which If-None-Match uses). */
static void opaque_tag(const char **p, size_t *n)
{
    if (*n >= 2 && (*p)[0] == 'W' && (*p)[1] == '/') {
        *p += 2;
        *n -= 2;
    }
}

/* Does If-None-Match's list (RFC 9110 §13.1.2) name the tag t? */
static bool none_match_names(const char *v, size_t n, const char *t, size_t tn)
{
    opaque_tag(&t, &tn);
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t start = i;
        bool quoted = false;
        while (i < n && (quoted || v[i] != ',')) {
            if (v[i] == '"')
                quoted = !quoted;
            i++;
        }
        const char *el = v + start;
        size_t len = i - start;
        while (len && (el[len - 1] == ' ' || el[len - 1] == '\t'))
            len--;
        if (len == 1 && el[0] == '*')
            return true;
        opaque_tag(&el, &len);
        if (len && len == tn && memcmp(el, t, tn) == 0)
            return true;
    }
    return false;
}

/* Do rq's conditions name e's validators (the browser sends back what it
 * stored: the ETag in If-None-Match, Last-Modified in If-Modified-Since)? */
static bool conditions_match(const struct entry *e, const corscope_request *rq)
{
    const corscope_header *inm = corscope_header_find(rq->headers, rq->n_headers, "If-None-Match");
    if (inm && e->etag.len)
        return none_match_names(inm->value, inm->value_len, at(e, e->etag), e->etag.len);
    const corscope_header *ims = corscope_header_find(rq->headers, rq->n_headers, "If-Modified-Since");
    return !inm && ims && e->last_modified.len && span_is(e, e->last_modified, ims->value, ims->value_len);
}

/* Is the stored field i of e updated by one of rs's fields (same name)? */
static bool updated_by(const struct entry *e, size_t i, const corscope_response *rs)
{
    for (size_t k = 0; k < rs->n_headers; k++)
        if (rs->headers[k].name_len == e->name[i].len &&
            g_ascii_strncasecmp(rs->headers[k].name, at(e, e->name[i]), e->name[i].len) == 0)
            return true;
    return false;
}

const struct cs_stored_view *cs_stored_revalidate(struct cs_stored *s, uint64_t key, const char *origin,
                                                  size_t origin_len, const char *url,
                                                  const corscope_request *rq, const corscope_response *rs)
{
    struct cs_stored_view *view = s ? &s->view : NULL;
    if (!s || !key || !url || rs->status != 304 || !s->count)
        return NULL;
    struct entry *e = find(s, key, origin, origin_len, url);
    if (!e || !conditions_match(e, rq))
        return NULL;
    /* RFC 9111 §3.2: the 304's fields replace the stored fields of the
     * same name; the others stay.  Merged here (the kept kinds only: what
     * the classifier reads of a response): the 304's, then the stored ones
     * it did not send. */
    size_t n = 0;
    for (size_t k = 0; k < rs->n_headers; k++)
        if (is_kept_field(&rs->headers[k])) {
            if (n == CS_STORED_FIELDS)
                return NULL;
            view->fields[n++] = rs->headers[k];
        }
    for (size_t i = 0; i < e->n_fields; i++)
        if (!updated_by(e, i, rs)) {
            if (n == CS_STORED_FIELDS)
                return NULL;
            view->fields[n++] = (corscope_header){at(e, e->name[i]), e->name[i].len, at(e, e->value[i]),
                                                  e->value[i].len};
        }
    /* The stored response takes the update (a new ETag or Last-Modified
     * too), as the browser's does. */
    const corscope_header *etag = corscope_header_find(rs->headers, rs->n_headers, "ETag");
    const corscope_header *lm = corscope_header_find(rs->headers, rs->n_headers, "Last-Modified");
    corscope_header old_etag = {"ETag", 4, at(e, e->etag), e->etag.len};
    corscope_header old_lm = {"Last-Modified", 13, at(e, e->last_modified), e->last_modified.len};
    struct entry *next = build(origin, origin_len, url, e->status, e->frame,
                               etag ? etag : e->etag.len ? &old_etag
                                                         : NULL,
                               lm ? lm : e->last_modified.len ? &old_lm
                                                              : NULL,
                               view->fields, n);
    if (!next) {
        forget(s, key); /* the update does not fit: the browser's is no longer ours */
        return NULL;
    }
    insert(s, key, next); /* frees e */
    /* the view reads next's copies, field for field (build kept them all) */
    for (size_t i = 0; i < next->n_fields; i++)
        view->fields[i] = (corscope_header){at(next, next->name[i]), next->name[i].len,
                                            at(next, next->value[i]), next->value[i].len};
    view->frame = next->frame;
    view->resp = (corscope_response){.status = next->status,
                                     .headers = view->fields,
                                     .n_headers = next->n_fields};
    return view;
}
