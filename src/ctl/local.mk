# SPDX-License-Identifier: Apache-2.0
# imagexferctl: the operator's command-line tool.
bin_PROGRAMS += src/ctl/imagexferctl

src_ctl_imagexferctl_SOURCES = \
	src/ctl/add.c \
	src/ctl/cancel.c \
	src/ctl/extend.c \
	src/ctl/ctl.h \
	src/ctl/list.c \
	src/ctl/main.c \
	src/ctl/watch.c \
	$(NULL)
src_ctl_imagexferctl_LDADD = $(IMAGEXFER_CORE_LIBS)
