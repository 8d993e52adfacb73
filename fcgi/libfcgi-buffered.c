/* SPDX-License-Identifier: Apache-2.0 */
#include <config.h>

#include <fastcgi.h>

#include "libfcgi-buffered.h"

/* libfcgi keeps the end of its buffer in a private structure
 * (FCGX_Stream_Data in fcgiapp.c), unchanged in every release from
 * 2.1.1 to 2.4.7.  Its last member points back to the request, which
 * lets us check the layout before trusting it. */
struct libfcgi_stream_data {
  unsigned char *buff;
  int bufflen;
  unsigned char *mBuff;
  unsigned char *buffStop;      /* end of the bytes read */
  int type;
  int eorStop;
  int skip;
  int contentLen;
  int paddingLen;
  int isAnythingWritten;
  int rawWrite;
  FCGX_Request *reqDataPtr;
};

int
libfcgi_buffered_stdin (FCGX_Request *fcgx, const unsigned char **bytes,
                        size_t *length)
{
  FCGX_Stream *in = fcgx->in;
  const struct libfcgi_stream_data *data;

  if (!in || !in->isReader || !in->data)
    return -1;
  data = in->data;
  /* Right after the parameters: STDIN selected, no record begun, the
   * read position inside the buffer. */
  if (data->reqDataPtr != fcgx || data->type != FCGI_STDIN
      || data->bufflen <= 0 || data->contentLen != 0
      || data->paddingLen != 0 || data->skip || in->isClosed
      || in->stop != in->rdNext || in->rdNext < data->buff
      || in->rdNext > data->buffStop
      || data->buffStop > data->buff + data->bufflen)
    return -1;
  *bytes = in->rdNext;
  *length = (size_t) (data->buffStop - in->rdNext);
  return 0;
}
