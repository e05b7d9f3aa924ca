/* Output sink: the stream the report writes to (standard output), passed
 * on to the descriptor in whole lines only.
 *
 * stdio flushes its buffer wherever it fills, so a write error (a full
 * disk, a file size limit) used to leave half a JSON line behind.  Here the
 * bytes after the last newline of each flush wait for the rest of their
 * line; a write that fails part-way through a line on a regular file is
 * cut back to the last whole line; after the first failure nothing more is
 * written, so the output is always a prefix of whole lines.  The counts say
 * how far it got, for the message on stderr. */
#ifndef CS_OUTPUT_H
#define CS_OUTPUT_H

#include <stdint.h>
#include <stdio.h>

struct cs_output;

/* A sink writing to fd (not closed by cs_output_free).  The caller may
 * setvbuf() the stream before the first write.  NULL when out of memory. */
struct cs_output *cs_output_open(int fd);

/* before(ctx) runs before each write to the descriptor and after(ctx) once
 * the bytes went out (the progress line erases itself and keeps from being
 * redrawn in between, so the two never share a line).  Set them before the
 * first write; NULL, NULL: nothing. */
void cs_output_around_write(struct cs_output *o, void (*before)(void *), void (*after)(void *),
                            void *ctx);

/* The stream to write to; owned by the sink, valid until cs_output_free. */
FILE *cs_output_stream(const struct cs_output *o);

/* Flushes the stream and an unfinished last line.  Returns 0, or the errno
 * of the first failed write (EPIPE when the reader went away). */
int cs_output_finish(struct cs_output *o);

/* Whole lines written to the descriptor, and their bytes. */
uint64_t cs_output_lines(const struct cs_output *o);
uint64_t cs_output_bytes(const struct cs_output *o);

/* Closes the stream and frees the sink (an unfinished last line is
 * dropped: call cs_output_finish first). */
void cs_output_free(struct cs_output *o);

#endif
