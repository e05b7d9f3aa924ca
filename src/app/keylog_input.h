/* Where corscope's TLS secrets come from: the --keylog files (or
 * $SSLKEYLOGFILE), re-read as they grow during a live capture, and the
 * Decryption Secrets Blocks of pcapng inputs.  Owns the key table
 * (tls_keylog.h) the pipeline's TLS row reads; main drives it.
 *
 * Lines that are not usable secrets (garbage, wrong lengths) are counted;
 * the first time some appear, one warning line goes to stderr.  Comment
 * lines (Firefox starts its file with one) and labels not needed to decrypt
 * (EXPORTER_SECRET) are not bad lines. */
#ifndef CS_KEYLOG_INPUT_H
#define CS_KEYLOG_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stats.h"

struct cs_keylog_input;
struct cs_tls_keylog;

/* A key table of at most max_bytes (--max-keylog-bytes).  once: the files
 * are read once (-r), so the last line of a file counts even without its
 * newline; otherwise (live) it waits for the next refresh.  NULL: no memory. */
struct cs_keylog_input *cs_keylog_input_new(size_t max_bytes, bool once);
void cs_keylog_input_free(struct cs_keylog_input *ki);

/* Reads a key log file now and remembers it for cs_keylog_input_refresh.
 * -1 with a message in errbuf when it cannot be read (or too many files). */
int cs_keylog_input_add_file(struct cs_keylog_input *ki, const char *path, char *errbuf, size_t errlen);

/* The secrets of a capture file's pcapng Decryption Secrets Blocks, read
 * through a descriptor of its own (the capture reader keeps its own);
 * stdin ("-"), pipes and other non-regular files are skipped. */
void cs_keylog_input_add_capture(struct cs_keylog_input *ki, const char *path);

/* Reads what the files gained.  Returns the number of new secrets (the
 * caller then lets waiting connections retry). */
int cs_keylog_input_refresh(struct cs_keylog_input *ki);

const struct cs_tls_keylog *cs_keylog_input_table(const struct cs_keylog_input *ki);

/* The key-log line counts, into the summary's TLS counters. */
void cs_keylog_input_summarize(const struct cs_keylog_input *ki, struct cs_tls_stats *st);

#endif
