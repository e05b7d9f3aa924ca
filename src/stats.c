/* Names of the counters in stats.h that the writers print by kind (the
 * decoder counts frames it did not decode under enum cs_decode_skip; the
 * summary names them).  Shared by every layer, like stats.h itself. */
#include "stats.h"

static const struct {
    const char *name, *key;
} skip_names[CS_DECODE_SKIP_KINDS] = {
    [CS_DECODE_SKIP_ARP] = {"ARP", "arp"},
    [CS_DECODE_SKIP_LLC] = {"802.3 LLC (STP, ...)", "llc"},
    [CS_DECODE_SKIP_ETHERTYPE] = {"other ethertype", "other_ethertype"},
    [CS_DECODE_SKIP_PPPOE_DISCOVERY] = {"PPPoE discovery", "pppoe_discovery"},
    [CS_DECODE_SKIP_PPP_NON_IP] = {"PPP non-IP (LCP, IPCP, ...)", "ppp_non_ip"},
    [CS_DECODE_SKIP_NOT_IP] = {"not IPv4/IPv6", "not_ip"},
    [CS_DECODE_SKIP_LOOP_FAMILY] = {"other loopback family", "loopback_family"},
    [CS_DECODE_SKIP_UDP] = {"UDP", "udp"},
    [CS_DECODE_SKIP_ICMP] = {"ICMP", "icmp"},
    [CS_DECODE_SKIP_ESP] = {"IPsec ESP", "esp"},
    [CS_DECODE_SKIP_IP_OTHER] = {"other IP protocol", "other_ip_protocol"},
    [CS_DECODE_SKIP_FRAGMENT] = {"non-TCP fragment", "non_tcp_fragment"},
    [CS_DECODE_SKIP_TUNNEL] = {"unknown tunnel", "unknown_tunnel"},
    [CS_DECODE_SKIP_NESTING] = {"tunnels nested too deep", "tunnel_nesting"},
    [CS_DECODE_SKIP_LINKTYPE] = {"unknown link type", "unknown_linktype"},
};

const char *cs_decode_skip_name(enum cs_decode_skip kind)
{
    return (unsigned)kind < CS_DECODE_SKIP_KINDS ? skip_names[kind].name : "?";
}

const char *cs_decode_skip_key(enum cs_decode_skip kind)
{
    return (unsigned)kind < CS_DECODE_SKIP_KINDS ? skip_names[kind].key : "?";
}

uint64_t cs_decode_skipped_total(const struct cs_decode_stats *st)
{
    uint64_t n = 0;
    for (int k = 0; k < CS_DECODE_SKIP_KINDS; k++)
        n += st->skipped[k];
    return n;
}
