/* SPDX-License-Identifier: Apache-2.0 */
/* Writing FastCGI STDOUT records ourselves, 64 KiB at a time. */
#ifndef IMAGEXFER_FASTCGI_RECORDS_H
#define IMAGEXFER_FASTCGI_RECORDS_H

#include <stddef.h>
#include <stdint.h>

/* Write count bytes as FCGI_STDOUT records of request_id to fd, many
 * records per writev.  Returns 0, or -1 with errno (EPIPE: the web server
 * closed the connection, usually because the client left). */
int fastcgi_write_stdout (int fd, int request_id, const void *buf,
                          size_t count);

/* The same with head_count bytes of head first, in the same writev: a
 * response's head and the start of its body reach the web server in
 * one write, so it wakes and parses once. */
int fastcgi_write_stdout_after (int fd, int request_id, const void *head,
                                size_t head_count, const void *buf,
                                size_t count);

/* The same, and the response ends there: the records that end the
 * request (an empty FCGI_STDOUT record and FCGI_END_REQUEST, status 0)
 * go out in the last writev, so that the web server reads the end of
 * the response with its last bytes, in one wake-up.  The caller must
 * keep libfcgi from writing them again (request.c). */
int fastcgi_write_stdout_last (int fd, int request_id, const void *head,
                               size_t head_count, const void *buf,
                               size_t count);

/* The same for count bytes of file_fd at offset, copied by the kernel
 * (sendfile) instead of through a user buffer. */
int fastcgi_sendfile_stdout (int fd, int request_id, int file_fd,
                             uint64_t offset, uint64_t count);

/* Tell the web server, at a record boundary, that the response is
 * broken: a record header no web server accepts (version 0).  Closing
 * the connection alone is not enough: nginx takes a connection closed
 * after whole records for the end of the response and leaves its client
 * waiting for the rest; an invalid record makes it (and lighttpd) cut
 * the client's connection.  Waits at most timeout_ms for room in the
 * socket; best effort, no error. */
void fastcgi_write_broken (int fd, int timeout_ms);

#endif
