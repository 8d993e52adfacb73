# The core library: no FastCGI in it.
noinst_LIBRARIES += src/libimagexfer.a

src_libimagexfer_a_SOURCES = \
	src/backend.c \
	src/backend.h \
	src/backend-registry.c \
	src/backend-registry.h \
	src/backend-file.c \
	src/backend-file.h \
	src/backend-file-descriptor.c \
	src/backend-nbd.c \
	src/backend-nbd.h \
	src/backend-nbd-descriptor.c \
	src/backend-nbd-extents.c \
	src/backend-nbd-open.c \
	src/backend-nbd-wait.c \
	src/checked.h \
	src/checksum.c \
	src/checksum.h \
	src/cleanup.c \
	src/cleanup.h \
	src/config.c \
	src/config-file.h \
	src/descriptor-field.c \
	src/descriptor-field.h \
	src/error.c \
	src/error.h \
	src/events.c \
	src/events.h \
	src/extents.c \
	src/extents.h \
	src/fullio.c \
	src/fullio.h \
	src/json-field.c \
	src/json-field.h \
	src/lifecycle.c \
	src/lifecycle.h \
	src/log.c \
	src/log.h \
	src/range.c \
	src/range.h \
	src/spool-admin.c \
	src/spool-admin.h \
	src/stats.c \
	src/stats.h \
	src/stats-clock.c \
	src/stats-clock.h \
	src/stats-entry.c \
	src/stats-entry.h \
	src/stats-limits.h \
	src/stats-map.c \
	src/stats-map.h \
	src/stats-ranges.c \
	src/stats-ranges.h \
	src/stats-read.c \
	src/stats-read.h \
	src/stats-slots.c \
	src/stats-slots.h \
	src/text-parse.c \
	src/text-parse.h \
	src/transfer.c \
	src/transfer.h \
	src/transfer-json.c \
	src/transfer-load.c \
	src/transfer-status.c \
	src/transfer-status.h \
	src/transfer-fields.c \
	src/transfer-time.c \
	$(NULL)
src_libimagexfer_a_CFLAGS = $(AM_CFLAGS) $(LIBNBD_CFLAGS) $(SODIUM_CFLAGS)

# Everything that links the core library needs these.
IMAGEXFER_CORE_LIBS = src/libimagexfer.a $(JSONC_LIBS) $(LIBNBD_LIBS) $(SODIUM_LIBS)
