/* Community ID v1 against the spec's published vectors (the ones Zeek's
 * own test and the spec's baseline use), both directions and both seeds,
 * IPv4 and IPv6; and the event id: stable for the same input, different
 * when any of its parts differs. */
#include <arpa/inet.h>
#include <string.h>

#include <glib.h>

#include "testutil.h"
#include "fleet_ids.h"

static struct cs_addr ip(const char *text)
{
    struct cs_addr a;
    memset(&a, 0, sizeof(a));
    if (inet_pton(AF_INET, text, a.bytes) == 1) {
        a.family = 4;
    } else {
        CU_ASSERT_FATAL(inet_pton(AF_INET6, text, a.bytes) == 1);
        a.family = 6;
    }
    return a;
}

static void check(const char *src, uint16_t sport, const char *dst, uint16_t dport, uint8_t proto,
                  uint16_t seed, const char *want)
{
    struct cs_addr a = ip(src), b = ip(dst);
    char got[CS_COMMUNITY_ID_LEN];
    cs_community_id_v1(&a, sport, &b, dport, proto, seed, got);
    CU_ASSERT_STRING_EQUAL(got, want);
    cs_community_id_v1(&b, dport, &a, sport, proto, seed, got); /* the other direction */
    CU_ASSERT_STRING_EQUAL(got, want);
}

static void test_published_vectors(void)
{
    check("1.2.3.4", 1122, "5.6.7.8", 3344, 6, 0, "1:wCb3OG7yAFWelaUydu0D+125CLM=");
    check("1.2.3.4", 1122, "5.6.7.8", 3344, 17, 0, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=");
    check("1.2.3.4", 8, "5.6.7.8", 0, 1, 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=");
    check("fe80:1:203:405:607:809:a0b:c0d", 128, "fe80:1011:1213:1415:1617:1819:1a1b:1c1d", 129, 58,
          0, "1:0bf7hyMJUwt3fMED7z8LIfRpBeo=");
    check("1.2.3.4", 1122, "5.6.7.8", 3344, 6, 1, "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk=");
    check("1.2.3.4", 1122, "5.6.7.8", 3344, 17, 1, "1:OShq+iKDAMVouh/4bMxB9Sz4amw=");
    check("1.2.3.4", 8, "5.6.7.8", 0, 1, 1, "1:9pr4ZGTICiuZoIh90RRYE2RyXpU=");
    check("fe80:1:203:405:607:809:a0b:c0d", 128, "fe80:1011:1213:1415:1617:1819:1a1b:1c1d", 129, 58,
          1, "1:IO27GQzPuCtNnwFvjWALMHu5tJE=");
    check("192.168.0.1", 12345, "10.0.0.5", 80, 6, 0, "1:JHvDxB6S6/K68OntUBf4DJZYvkM=");
}

static void test_event_id(void)
{
    struct cs_flow_key f;
    memset(&f, 0, sizeof(f));
    f.client = ip("1.2.3.4");
    f.server = ip("5.6.7.8");
    f.client_port = 1122;
    f.server_port = 3344;
    f.first_ts = 1767225600123456789LL;
    char cid[CS_COMMUNITY_ID_LEN], a[CS_EVENT_ID_LEN], b[CS_EVENT_ID_LEN];
    uint8_t key[16], key2[16];
    uint64_t s1 = cs_sensor_key("sensor-a"), s2 = cs_sensor_key("sensor-b");
    CU_ASSERT_NOT_EQUAL(s1, s2);

    cs_flow_ids(&f, s1, cid, key);
    CU_ASSERT_STRING_EQUAL(cid, "1:wCb3OG7yAFWelaUydu0D+125CLM="); /* the spec's vector again */
    cs_event_id(key, 0, 3, a);
    CU_ASSERT_EQUAL(strlen(a), 32);
    cs_flow_ids(&f, s1, cid, key2);
    cs_event_id(key2, 0, 3, b);
    CU_ASSERT_STRING_EQUAL(a, b); /* same input, same id */
    /* in two steps (the report keeps the digest): the same ids */
    uint8_t md[CS_FLOW_DIGEST_LEN];
    char cid2[CS_COMMUNITY_ID_LEN];
    cs_flow_digest(&f, md);
    cs_flow_ids_of(&f, md, s1, cid2, key2);
    CU_ASSERT_STRING_EQUAL(cid2, cid);
    CU_ASSERT_EQUAL(memcmp(key2, key, sizeof key), 0);
    cs_flow_ids(&f, s2, cid, key2);
    cs_event_id(key2, 0, 3, b);
    CU_ASSERT_STRING_NOT_EQUAL(a, b); /* another sensor */
    cs_event_id(key, 1, 3, b);
    CU_ASSERT_STRING_NOT_EQUAL(a, b); /* another stream */
    cs_event_id(key, 0, 4, b);
    CU_ASSERT_STRING_NOT_EQUAL(a, b); /* another position */
    struct cs_flow_key g = f;
    g.first_ts++;
    cs_flow_ids(&g, s1, cid, key2);
    cs_event_id(key2, 0, 3, b);
    CU_ASSERT_STRING_NOT_EQUAL(a, b); /* the same tuple, a later connection */
    g = f;
    g.client_port++;
    cs_flow_ids(&g, s1, cid, key2);
    cs_event_id(key2, 0, 3, b);
    CU_ASSERT_STRING_NOT_EQUAL(a, b); /* another tuple */

    /* within one connection, 100k (stream, index) pairs: all distinct */
    GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (uint32_t st = 0; st < 100; st++)
        for (uint32_t ix = 0; ix < 1000; ix++) {
            cs_event_id(key, st * 2 + 1, ix, a);
            CU_ASSERT_FATAL(g_hash_table_add(seen, g_strdup(a)));
        }
    g_hash_table_destroy(seen);
}

int main(void)
{
    static const struct cs_test_case cases[] = {
        {"Community ID v1: published vectors, both directions", test_published_vectors},
        {"event id: stable, and different when a part differs", test_event_id},
        {NULL, NULL},
    };
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    cs_test_add_suite("fleet_ids", cases);
    return cs_test_run();
}
