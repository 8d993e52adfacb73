# SPDX-License-Identifier: Apache-2.0
# The FastCGI layer: a library of everything but main.c, so the unit
# tests link the same objects the program does.
noinst_LIBRARIES += fcgi/libimagexfer-fcgi.a

fcgi_libimagexfer_fcgi_a_SOURCES = \
	fcgi/admin-access.c \
	fcgi/admin-access.h \
	fcgi/api/api.c \
	fcgi/api/api.h \
	fcgi/api/api-internal.h \
	fcgi/api/api-metrics.c \
	fcgi/api/api-prometheus.c \
	fcgi/api/api-response.c \
	fcgi/api/api-response.h \
	fcgi/api/api-transfers.c \
	fcgi/connection-wait.c \
	fcgi/connection-wait.h \
	fcgi/fastcgi-accept.c \
	fcgi/fastcgi-accept.h \
	fcgi/fastcgi-peers.c \
	fcgi/fastcgi-peers.h \
	fcgi/fastcgi-records.c \
	fcgi/fastcgi-records.h \
	fcgi/fastcgi-stdin.c \
	fcgi/fastcgi-stdin.h \
	fcgi/http-status.c \
	fcgi/http-status.h \
	fcgi/images/images.c \
	fcgi/images/images.h \
	fcgi/images/images-checksum.c \
	fcgi/images/images-data.c \
	fcgi/images/images-extents.c \
	fcgi/images/images-get.c \
	fcgi/images/images-handlers.h \
	fcgi/images/images-ops.c \
	fcgi/images/images-patch-body.c \
	fcgi/images/images-patch-body.h \
	fcgi/images/images-request.c \
	fcgi/images/images-request.h \
	fcgi/images/images-routes.c \
	fcgi/images/images-routes.h \
	fcgi/libfcgi-buffered.c \
	fcgi/libfcgi-buffered.h \
	fcgi/pipeline.c \
	fcgi/pipeline.h \
	fcgi/request.c \
	fcgi/request.h \
	fcgi/supervisor.c \
	fcgi/tickets/tickets.c \
	fcgi/tickets/tickets.h \
	fcgi/tickets/tickets-cancel.c \
	fcgi/tickets/tickets-extend.c \
	fcgi/tickets/tickets-internal.h \
	fcgi/supervisor.h \
	fcgi/takeover.c \
	fcgi/takeover.h \
	fcgi/worker.c \
	fcgi/worker.h \
	$(NULL)
# The layer's own folders: the core (router, requests, workers), /images,
# /api and /tickets.
FCGI_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fcgi -I$(top_srcdir)/fcgi/images \
	-I$(top_srcdir)/fcgi/api -I$(top_srcdir)/fcgi/tickets
fcgi_libimagexfer_fcgi_a_CPPFLAGS = $(FCGI_CPPFLAGS)
fcgi_libimagexfer_fcgi_a_CFLAGS = $(AM_CFLAGS) $(FCGI_CFLAGS) -pthread

# Everything that links the FastCGI layer needs these (the core library
# comes after it: the layer calls into it).
IMAGEXFER_FCGI_LIBS = fcgi/libimagexfer-fcgi.a $(IMAGEXFER_CORE_LIBS) \
	$(FCGI_LIBS) -lpthread

# The FastCGI program.
bin_PROGRAMS += fcgi/imagexfer-fcgi

fcgi_imagexfer_fcgi_SOURCES = fcgi/main.c
fcgi_imagexfer_fcgi_CPPFLAGS = $(FCGI_CPPFLAGS)
fcgi_imagexfer_fcgi_CFLAGS = $(AM_CFLAGS) $(FCGI_CFLAGS) -pthread
fcgi_imagexfer_fcgi_LDADD = $(IMAGEXFER_FCGI_LIBS)
