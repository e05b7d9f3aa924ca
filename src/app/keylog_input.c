/* TLS secrets from key log files and pcapng Decryption Secrets Blocks
 * (keylog_input.h). */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keylog_input.h"
#include "limits.h"
#include "pcapng_secrets.h"
#include "tls_keylog.h"

struct cs_keylog_input {
    struct cs_tls_keylog *kl;
    const char *paths[CS_TLS_KEYLOG_MAX_FILES]; /* argv's or the environment's */
    unsigned n_paths;
    bool warned_bad_lines, warned_reread;
    bool once; /* files read once (-r): a last line without newline counts */
};

static uint64_t bad_lines(const struct cs_tls_keylog_stats *s)
{
    return s->lines_ignored - s->ignored_comment - s->ignored_unused_label;
}

/* One warning line, the first time unusable lines are seen. */
static void warn_bad_lines(struct cs_keylog_input *ki, const char *where)
{
    struct cs_tls_keylog_stats s;
    cs_tls_keylog_get_stats(ki->kl, &s);
    if (ki->warned_bad_lines || bad_lines(&s) == 0)
        return;
    ki->warned_bad_lines = true;
    fprintf(stderr, "corscope: warning: %llu key log line%s in %s could not be used (not NSS key log "
                    "secrets, or too many for --max-keylog-bytes); counted in the summary\n",
            (unsigned long long)bad_lines(&s), bad_lines(&s) == 1 ? "" : "s", where);
}

struct cs_keylog_input *cs_keylog_input_new(size_t max_bytes, bool once)
{
    struct cs_keylog_input *ki = calloc(1, sizeof *ki);
    if (!ki || !(ki->kl = cs_tls_keylog_new(max_bytes))) {
        free(ki);
        return NULL;
    }
    ki->once = once;
    return ki;
}

void cs_keylog_input_free(struct cs_keylog_input *ki)
{
    if (!ki)
        return;
    cs_tls_keylog_free(ki->kl);
    free(ki);
}

int cs_keylog_input_add_file(struct cs_keylog_input *ki, const char *path, char *errbuf, size_t errlen)
{
    if (ki->n_paths == CS_TLS_KEYLOG_MAX_FILES) {
        snprintf(errbuf, errlen, "--keylog: at most %u files", CS_TLS_KEYLOG_MAX_FILES);
        return -1;
    }
    if (cs_tls_keylog_read_file_ex(ki->kl, path, ki->once, errbuf, errlen) < 0)
        return -1;
    ki->paths[ki->n_paths++] = path;
    warn_bad_lines(ki, path);
    return 0;
}

static void on_secrets(void *ctx, uint32_t type, const uint8_t *data, size_t len)
{
    struct cs_keylog_input *ki = ctx;
    if (type == CS_PCAPNG_SECRETS_TLS_KEYLOG)
        cs_tls_keylog_add_text(ki->kl, (const char *)data, len);
}

void cs_keylog_input_add_capture(struct cs_keylog_input *ki, const char *path)
{
    if (strcmp(path, "-") == 0)
        return;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO must not block here */
    if (fd < 0)
        return; /* the capture reader reports it */
    struct stat sb;
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
        struct cs_pcapng_secrets_stats st;
        char errbuf[CS_PCAPNG_ERRBUF_SIZE];
        if (cs_pcapng_read_secrets(fd, CS_DEFAULT_PCAPNG_MAX_SECRETS, on_secrets, ki, &st, errbuf) < 0)
            fprintf(stderr, "corscope: %s: reading its TLS secrets: %s\n", path, errbuf);
        warn_bad_lines(ki, path);
    }
    close(fd);
}

int cs_keylog_input_refresh(struct cs_keylog_input *ki)
{
    int added = 0;
    for (unsigned i = 0; i < ki->n_paths; i++) {
        char errbuf[256];
        int n = cs_tls_keylog_read_file(ki->kl, ki->paths[i], errbuf, sizeof errbuf);
        if (n > 0)
            added += n;
        else if (n < 0 && !ki->warned_reread) {
            /* e.g. privileges dropped (-Z) and the file is its owner's only */
            ki->warned_reread = true;
            fprintf(stderr, "corscope: warning: cannot re-read the key log: %s\n", errbuf);
        }
        warn_bad_lines(ki, ki->paths[i]);
    }
    return added;
}

const struct cs_tls_keylog *cs_keylog_input_table(const struct cs_keylog_input *ki)
{
    return ki->kl;
}

void cs_keylog_input_summarize(const struct cs_keylog_input *ki, struct cs_tls_stats *st)
{
    struct cs_tls_keylog_stats s;
    cs_tls_keylog_get_stats(ki->kl, &s);
    st->keylog_lines_read = s.lines_read;
    st->keylog_lines_used = s.lines_used;
    st->keylog_lines_ignored = bad_lines(&s);
}
