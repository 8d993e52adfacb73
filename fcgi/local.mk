# The FastCGI layer: a library of everything but main.c, so the unit
# tests link the same objects the program does.
noinst_LIBRARIES += fcgi/libimagexfer-fcgi.a

fcgi_libimagexfer_fcgi_a_SOURCES = \
	fcgi/api.c \
	fcgi/api.h \
	fcgi/api-internal.h \
	fcgi/api-metrics.c \
	fcgi/api-response.c \
	fcgi/api-response.h \
	fcgi/api-transfers.c \
	fcgi/fastcgi-records.c \
	fcgi/fastcgi-records.h \
	fcgi/http-status.c \
	fcgi/http-status.h \
	fcgi/images.c \
	fcgi/images.h \
	fcgi/images-checksum.c \
	fcgi/images-data.c \
	fcgi/images-extents.c \
	fcgi/images-get.c \
	fcgi/images-handlers.h \
	fcgi/images-ops.c \
	fcgi/images-request.c \
	fcgi/images-request.h \
	fcgi/images-routes.c \
	fcgi/images-routes.h \
	fcgi/pipeline.c \
	fcgi/pipeline.h \
	fcgi/request.c \
	fcgi/request.h \
	fcgi/supervisor.c \
	fcgi/supervisor.h \
	fcgi/worker.c \
	fcgi/worker.h \
	$(NULL)
fcgi_libimagexfer_fcgi_a_CFLAGS = $(AM_CFLAGS) $(FCGI_CFLAGS) -pthread

# Everything that links the FastCGI layer needs these (the core library
# comes after it: the layer calls into it).
IMAGEXFER_FCGI_LIBS = fcgi/libimagexfer-fcgi.a $(IMAGEXFER_CORE_LIBS) \
	$(FCGI_LIBS) -lpthread

# The FastCGI program.
bin_PROGRAMS += fcgi/imagexfer-fcgi

fcgi_imagexfer_fcgi_SOURCES = fcgi/main.c
fcgi_imagexfer_fcgi_CFLAGS = $(AM_CFLAGS) $(FCGI_CFLAGS) -pthread
fcgi_imagexfer_fcgi_LDADD = $(IMAGEXFER_FCGI_LIBS)
