# SPDX-License-Identifier: Apache-2.0
# The core library: no FastCGI in it.  One folder per concern: util
# (small helpers, the descriptor schema machinery), config, state (the shared statistics table), backend
# (the interface, the registry, each kind), transfer (descriptors, the
# spool, lifecycle).  No two modules include each other's headers
# (tests/include-cycles checks).
noinst_LIBRARIES += src/libimagexfer.a

src_libimagexfer_a_SOURCES = \
	src/util/checked.h \
	src/util/cleanup.c \
	src/util/cleanup.h \
	src/util/descriptor-field.c \
	src/util/descriptor-field.h \
	src/util/error.c \
	src/util/error.h \
	src/util/fullio.c \
	src/util/fullio.h \
	src/util/json-field.c \
	src/util/json-field.h \
	src/util/log.c \
	src/util/log.h \
	src/util/log-output.c \
	src/util/log-limited.c \
	src/util/log-limited.h \
	src/util/monotonic.c \
	src/util/monotonic.h \
	src/util/process-id.c \
	src/util/process-id.h \
	src/util/process-info.c \
	src/util/process-info.h \
	src/util/range.c \
	src/util/range.h \
	src/util/service-notify.c \
	src/util/service-notify.h \
	src/util/text-parse.c \
	src/util/text-parse.h \
	src/config/config-dirs.c \
	src/config/config-file.h \
	src/config/config.c \
	src/state/events.c \
	src/state/events.h \
	src/state/stats-clock.c \
	src/state/stats-clock.h \
	src/state/stats-entry.c \
	src/state/stats-entry.h \
	src/state/stats-limits.h \
	src/state/stats-map.c \
	src/state/stats-map.h \
	src/state/stats-sigbus.c \
	src/state/stats-sigbus.h \
	src/state/stats-ranges.c \
	src/state/stats-ranges.h \
	src/state/stats-read.c \
	src/state/stats-read.h \
	src/state/stats-slots.c \
	src/state/stats-slots.h \
	src/state/stats.c \
	src/state/stats.h \
	src/backend/backend-file-descriptor.c \
	src/backend/backend-file-direct.c \
	src/backend/backend-file-keep.c \
	src/backend/backend-file.c \
	src/backend/backend-file.h \
	src/backend/backend-http-checksum.c \
	src/backend/backend-http-descriptor.c \
	src/backend/backend-http-exchange.c \
	src/backend/backend-http-extents.c \
	src/backend/backend-http-handle.c \
	src/backend/backend-http-open.c \
	src/backend/backend-http.c \
	src/backend/backend-http.h \
	src/backend/backend-nbd-descriptor.c \
	src/backend/backend-nbd-host.c \
	src/backend/backend-nbd-host.h \
	src/backend/backend-nbd-extents.c \
	src/backend/backend-nbd-open.c \
	src/backend/backend-nbd-wait.c \
	src/backend/backend-nbd.c \
	src/backend/backend-nbd.h \
	src/backend/backend-registry.c \
	src/backend/backend-registry.h \
	src/backend/backend.c \
	src/backend/backend.h \
	src/backend/checksum.c \
	src/backend/checksum.h \
	src/backend/extents.c \
	src/backend/extents.h \
	src/transfer/descriptor-cache.c \
	src/transfer/descriptor-cache.h \
	src/transfer/lifecycle.c \
	src/transfer/lifecycle.h \
	src/transfer/spool-admin.c \
	src/transfer/spool-admin.h \
	src/transfer/transfer-fields.c \
	src/transfer/transfer-json.c \
	src/transfer/transfer-load.c \
	src/transfer/transfer-status.c \
	src/transfer/transfer-status.h \
	src/transfer/transfer-time.c \
	src/transfer/transfer.c \
	src/transfer/transfer.h \
	$(NULL)
src_libimagexfer_a_CFLAGS = $(AM_CFLAGS) $(LIBNBD_CFLAGS) $(SODIUM_CFLAGS) $(LIBCURL_CFLAGS)

# Everything that links the core library needs these.
IMAGEXFER_CORE_LIBS = src/libimagexfer.a $(JSONC_LIBS) $(LIBNBD_LIBS) $(SODIUM_LIBS) $(LIBCURL_LIBS)
