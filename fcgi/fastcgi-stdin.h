/* SPDX-License-Identifier: Apache-2.0 */
/* Reading a request body as whole FastCGI STDIN records.
 *
 * libfcgi reads the connection 8 KiB at a time and copies every piece
 * out of its own buffer: ~130,000 read() per GiB uploaded, and the
 * worker busy for most of a core.  This reader reads as much as the
 * caller asks for straight into the caller's buffer (one readv of up to
 * a whole chunk), then parses the record headers it brought in place,
 * moving the content over the headers and padding between records.
 * What a read brings beyond the caller's buffer waits in a small carry
 * buffer for the next call.
 *
 * One reader per request; the connection belongs to the caller. */
#ifndef IMAGEXFER_FASTCGI_STDIN_H
#define IMAGEXFER_FASTCGI_STDIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <fastcgi.h>

/* Bytes a readv may bring beyond the caller's buffer. */
#define FASTCGI_STDIN_CARRY 65536

struct fastcgi_stdin {
  int fd;
  int request_id;
  size_t content_left;          /* of the current STDIN record */
  size_t skip_left;             /* padding, or a record not ours */
  unsigned char header[FCGI_HEADER_LEN]; /* a header read in part */
  size_t header_length;
  bool ended;                   /* the empty STDIN record came */
  int error;                    /* errno of a failure; it sticks */
  uint64_t position;            /* stream bytes consumed, from the start */
  uint64_t header_position;     /* where the header in header began */
  uint64_t last_content_position; /* of the last content byte read */
  size_t buffered;              /* of them, read ahead by libfcgi */
  /* Why the stream failed with EPROTO, for the message: the bytes that
   * came (a record header, or what followed the end record), where they
   * came, and what was expected there instead. */
  enum fastcgi_stdin_expected {
    FASTCGI_STDIN_EXPECTED_NOTHING_WRONG,
    FASTCGI_STDIN_EXPECTED_VERSION_1,   /* a header of another version */
    FASTCGI_STDIN_EXPECTED_STDIN,       /* a record of the wrong type */
    FASTCGI_STDIN_EXPECTED_SILENCE,     /* bytes after the end record */
    FASTCGI_STDIN_EXPECTED_END,         /* content past Content-Length */
  } expected;
  unsigned char unexpected[FCGI_HEADER_LEN];
  size_t unexpected_length;
  uint64_t unexpected_position;
  size_t carry_start, carry_length;
  unsigned char carry[FASTCGI_STDIN_CARRY];
};

/* Start reading request_id's STDIN from fd at a record boundary.
 * buffered is what was already read from fd past that boundary (by
 * libfcgi while it read the parameters); it is copied.  Returns 0, or -1
 * with errno EPROTO when buffered is larger than the carry buffer. */
int fastcgi_stdin_start (struct fastcgi_stdin *in, int fd, int request_id,
                         const void *buffered, size_t length);

/* Read up to count content bytes (count > 0).  Returns the bytes read,
 * 0 at the end of the STDIN stream, or -1 with errno: EAGAIN (no byte
 * within the socket's receive timeout), EPIPE (the connection closed
 * before the stream ended), ECONNABORTED (the web server aborted the
 * request), EPROTO (a record this reader cannot take), or the read's
 * own error.  After an error every call fails the same way. */
ssize_t fastcgi_stdin_read (struct fastcgi_stdin *in, void *buf,
                            size_t count);

/* Whether the end record of the stream is among the bytes already read
 * (those libfcgi read ahead, usually), with nothing after it: then the
 * web server has nothing more to send for this request.  Reads nothing
 * from the connection; consumes no content. */
bool fastcgi_stdin_ended_buffered (struct fastcgi_stdin *in);

/* After EPROTO: the bytes that came where something else was expected
 * (in hex), what they are, where they came and what was expected, e.g.
 * "record header 01 01 00 01 00 08 00 00 (FCGI_BEGIN_REQUEST, request 1,
 * content 8, padding 0) at byte 0 of request 1's FCGI_STDIN stream (0
 * bytes of it read ahead by libfcgi), where FCGI_STDIN (or
 * FCGI_ABORT_REQUEST) of this request was expected".  Empty for other
 * errors.  Returns buf. */
const char *fastcgi_stdin_describe_error (const struct fastcgi_stdin *in,
                                          char *buf, size_t size);

/* Consume the stream up to its end record (there must be no content
 * left: EPROTO otherwise), so that the connection is at a record
 * boundary for the next request.  0, or -1 with errno. */
int fastcgi_stdin_finish (struct fastcgi_stdin *in);

#endif
