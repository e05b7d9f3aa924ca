/* TLS secrets embedded in a pcapng file: Decryption Secrets Blocks.
 *
 * `editcap --inject-secrets tls,keys.txt in.pcap out.pcapng` (Wireshark)
 * stores an NSS key log inside the capture as a Decryption Secrets Block
 * (pcapng, draft-ietf-opsawg-pcapng section 4.7: block type 0x0000000A,
 * secrets type 0x544c534b "TLSK", then the key log text).  libpcap reads
 * pcapng packets for corscope but skips every block it does not know, DSBs
 * included, so this file pair walks the blocks of the file itself, reading
 * only block headers and the DSBs, and hands each secrets payload to the
 * caller (who gives TLS key log text to cs_tls_keylog_add_text()).
 *
 * It reads with pread() at its own offsets, so the descriptor's position
 * (libpcap's reader may share the file) does not move; a pipe cannot be read
 * twice, so on one it reports ESPIPE and does nothing.  Each block is
 * bounded: a DSB longer than max_block is skipped and counted, one cut off
 * by the end of the file is counted as truncated; a block header that makes
 * no sense (length not a multiple of 4, below 12) ends the walk, counted. */
#ifndef CS_PCAPNG_SECRETS_H
#define CS_PCAPNG_SECRETS_H

#include <stddef.h>
#include <stdint.h>

#define CS_PCAPNG_BLOCK_SHB 0x0A0D0D0Au
#define CS_PCAPNG_BLOCK_DSB 0x0000000Au
#define CS_PCAPNG_SECRETS_TLS_KEYLOG 0x544c534bu /* "TLSK": NSS key log text */
#define CS_PCAPNG_ERRBUF_SIZE 256

struct cs_pcapng_secrets_stats {
    uint64_t blocks;         /* blocks walked, of any type */
    uint64_t secrets_blocks; /* DSBs whose payload was handed out */
    uint64_t secrets_bytes;  /* payload bytes handed out */
    uint64_t other_secrets;  /* DSBs of another secrets type (WireGuard, SSH...): handed out too */
    uint64_t oversized;      /* DSBs over max_block: skipped */
    uint64_t truncated;      /* a DSB cut off by the end of the file or inconsistent inside */
    uint64_t bad_blocks;     /* a block header that ended the walk */
};

/* Receives one DSB's payload: secrets_type and the bytes (valid during the
 * call only; for TLSK, key log text, not NUL-terminated). */
typedef void (*cs_pcapng_secrets_cb)(void *ctx, uint32_t secrets_type, const uint8_t *data, size_t len);

/* Walks every block of the pcapng file open at fd and calls cb for each
 * Decryption Secrets Block of at most max_block bytes (0:
 * CS_DEFAULT_PCAPNG_MAX_SECRETS).  A file that is not pcapng (classic pcap)
 * has no blocks: returns 0, nothing counted.  Returns 0 when the walk ended
 * (end of file or a bad block, counted in st), -1 on a read error or a pipe
 * with a message in errbuf.  st is zeroed first. */
int cs_pcapng_read_secrets(int fd, size_t max_block, cs_pcapng_secrets_cb cb, void *ctx,
                           struct cs_pcapng_secrets_stats *st, char errbuf[CS_PCAPNG_ERRBUF_SIZE]);

#endif
