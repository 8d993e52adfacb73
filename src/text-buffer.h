/* A growing text buffer for responses built piece by piece. */
#ifndef IMAGEXFER_TEXT_BUFFER_H
#define IMAGEXFER_TEXT_BUFFER_H

#include <stddef.h>

struct text_buffer {
  char *data;
  size_t length;
  size_t capacity;
};

/* Append formatted text.  Returns 0, or -1 with error_set (ENOMEM). */
int text_buffer_printf (struct text_buffer *buffer, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));
void text_buffer_free (struct text_buffer *buffer);

#endif
