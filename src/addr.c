/* Address helpers shared by every stage that prints or compares addresses. */
#include <arpa/inet.h>
#include <string.h>
#include <time.h>

#include "packet.h"

unsigned cs_addr_format_len(const struct cs_addr *a, char *buf, unsigned buflen)
{
    /* IPv4 by hand when it surely fits ("255.255.255.255" + NUL): inet_ntop
     * formats it with sprintf, ~1.8k instructions per address.  Same text. */
    if (a->family != 6 && buflen >= 16) {
        unsigned n = 0;
        for (int i = 0; i < 4; i++) {
            unsigned v = a->bytes[i];
            if (i)
                buf[n++] = '.';
            if (v >= 100)
                buf[n++] = (char)('0' + v / 100);
            if (v >= 10)
                buf[n++] = (char)('0' + v / 10 % 10);
            buf[n++] = (char)('0' + v % 10);
        }
        buf[n] = '\0';
        return n;
    }
    if (!buflen)
        return 0;
    if (!inet_ntop(a->family == 6 ? AF_INET6 : AF_INET, a->bytes, buf, buflen))
        buf[0] = '\0';
    return (unsigned)strlen(buf);
}

const char *cs_addr_format(const struct cs_addr *a, char *buf, unsigned buflen)
{
    cs_addr_format_len(a, buf, buflen);
    return buf;
}

cs_time_ns cs_wall_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (cs_time_ns)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
