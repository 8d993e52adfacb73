# SPDX-License-Identifier: Apache-2.0
# imagexferctl: the operator's command-line tool.
bin_PROGRAMS += src/ctl/imagexferctl

src_ctl_imagexferctl_SOURCES = \
	src/ctl/add.c \
	src/ctl/cancel.c \
	src/ctl/cloudstack-control.c \
	src/ctl/cloudstack-control.h \
	src/ctl/extend.c \
	src/ctl/ctl.h \
	src/ctl/list.c \
	src/ctl/main.c \
	src/ctl/serve-cloudstack.c \
	src/ctl/watch.c \
	$(NULL)
src_ctl_imagexferctl_LDADD = $(IMAGEXFER_CORE_LIBS)
