#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "error.h"
#include "text-buffer.h"

int
text_buffer_printf (struct text_buffer *buffer, const char *fmt, ...)
{
  va_list args;
  int n;

  for (;;) {
    size_t room = buffer->capacity - buffer->length;

    va_start (args, fmt);
    n = vsnprintf (buffer->data ? buffer->data + buffer->length : NULL, room,
                   fmt, args);
    va_end (args);
    if (n < 0) {
      error_set (EINVAL, "text formatting failed");
      return -1;
    }
    if ((size_t) n < room) {
      buffer->length += (size_t) n;
      return 0;
    }
    size_t capacity = buffer->capacity ? buffer->capacity * 2 : 4096;
    while (capacity - buffer->length <= (size_t) n)
      capacity *= 2;
    char *data = realloc (buffer->data, capacity);
    if (!data) {
      error_set (ENOMEM, "out of memory building a response");
      return -1;
    }
    buffer->data = data;
    buffer->capacity = capacity;
  }
}

void
text_buffer_free (struct text_buffer *buffer)
{
  free (buffer->data);
  buffer->data = NULL;
  buffer->length = buffer->capacity = 0;
}
