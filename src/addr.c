/* Address helpers shared by every stage that prints or compares addresses. */
#include <arpa/inet.h>
#include <string.h>

#include "packet.h"

const char *cs_addr_format(const struct cs_addr *a, char *buf, unsigned buflen)
{
    if (!inet_ntop(a->family == 6 ? AF_INET6 : AF_INET, a->bytes, buf, buflen))
        buf[0] = '\0';
    return buf;
}

bool cs_addr_equal(const struct cs_addr *a, const struct cs_addr *b)
{
    return a->family == b->family && memcmp(a->bytes, b->bytes, 16) == 0;
}
