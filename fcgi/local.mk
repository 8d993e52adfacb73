# The FastCGI program.
bin_PROGRAMS += fcgi/imagexfer-fcgi

fcgi_imagexfer_fcgi_SOURCES = \
	fcgi/api.c \
	fcgi/api.h \
	fcgi/api-internal.h \
	fcgi/api-metrics.c \
	fcgi/api-transfers.c \
	fcgi/fastcgi-records.c \
	fcgi/fastcgi-records.h \
	fcgi/http-status.c \
	fcgi/http-status.h \
	fcgi/images.c \
	fcgi/images.h \
	fcgi/images-data.c \
	fcgi/images-checksum.c \
	fcgi/images-extents.c \
	fcgi/images-ops.c \
	fcgi/main.c \
	fcgi/pipeline.c \
	fcgi/pipeline.h \
	fcgi/request.c \
	fcgi/request.h \
	fcgi/supervisor.c \
	fcgi/supervisor.h \
	fcgi/worker.c \
	fcgi/worker.h \
	$(NULL)
fcgi_imagexfer_fcgi_CFLAGS = $(AM_CFLAGS) $(FCGI_CFLAGS) -pthread
fcgi_imagexfer_fcgi_LDADD = $(IMAGEXFER_CORE_LIBS) $(FCGI_LIBS) -lpthread
