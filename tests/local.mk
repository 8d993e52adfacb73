# SPDX-License-Identifier: Apache-2.0
# make check: C unit tests and the bats suites, all speaking TAP.
LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
TEST_EXTENSIONS = .bats
BATS_LOG_DRIVER = $(LOG_DRIVER)
# bats exits 1 when a case failed, and that case says "not ok" already:
# counting the exit status too would count each failure twice.  A bats
# that breaks still fails: a broken file is a failed case, one that stops
# early ran fewer cases than its plan, and tests/run-bats bails out on
# any other status.
AM_BATS_LOG_DRIVER_FLAGS = --ignore-exit
BATS_LOG_COMPILER = $(top_srcdir)/tests/run-bats
AM_TESTS_ENVIRONMENT = \
	top_srcdir='$(abs_top_srcdir)'; export top_srcdir; \
	top_builddir='$(abs_top_builddir)'; export top_builddir; \
	$(NULL)

# Unit tests link the core library (LDADD is their default).
LDADD = $(IMAGEXFER_CORE_LIBS)

# One line per unit test program; add yours, never rewrite the list.
check_PROGRAMS += \
	tests/unit/test-range \
	tests/unit/test-transfer \
	tests/unit/test-config \
	tests/unit/test-extents \
	tests/unit/test-backend-file \
	tests/unit/test-backend-file-write \
	tests/unit/test-backend-file-keep \
	tests/unit/test-stats \
	tests/unit/test-lifecycle \
	tests/unit/test-checksum \
	tests/unit/test-backend-nbd \
	tests/unit/test-text-parse \
	tests/unit/test-http-status \
	tests/unit/test-request \
	tests/unit/test-pipeline \
	tests/unit/test-fastcgi-records \
	tests/unit/test-fastcgi-stdin \
	tests/unit/test-images-routes \
	tests/unit/test-spool-admin \
	tests/unit/test-admin-access \
	tests/unit/test-backend-client \
	tests/unit/test-fastcgi-peers \
	tests/unit/test-connection-wait \
	$(NULL)
TESTS += $(check_PROGRAMS)

# The NBD backend's test reads in a second thread, as the pipeline does.
tests_unit_test_backend_nbd_CFLAGS = $(AM_CFLAGS) -pthread
tests_unit_test_backend_nbd_LDADD = $(IMAGEXFER_CORE_LIBS) -lpthread

# Unit tests of the FastCGI layer link its library (and so libfcgi).
FCGI_TEST_CFLAGS = $(AM_CFLAGS) $(FCGI_CFLAGS) -pthread -I$(top_srcdir)/fcgi \
	-I$(top_srcdir)/fcgi/images -I$(top_srcdir)/fcgi/api \
	-I$(top_srcdir)/fcgi/tickets
tests_unit_test_http_status_CFLAGS = $(FCGI_TEST_CFLAGS)
tests_unit_test_http_status_LDADD = $(IMAGEXFER_FCGI_LIBS)
tests_unit_test_request_CFLAGS = $(FCGI_TEST_CFLAGS)
tests_unit_test_request_LDADD = $(IMAGEXFER_FCGI_LIBS)
tests_unit_test_pipeline_CFLAGS = $(FCGI_TEST_CFLAGS)
tests_unit_test_pipeline_LDADD = $(IMAGEXFER_FCGI_LIBS)
tests_unit_test_fastcgi_records_CFLAGS = $(FCGI_TEST_CFLAGS)
tests_unit_test_fastcgi_records_LDADD = $(IMAGEXFER_FCGI_LIBS)
tests_unit_test_fastcgi_stdin_CFLAGS = $(FCGI_TEST_CFLAGS)
tests_unit_test_fastcgi_stdin_LDADD = $(IMAGEXFER_FCGI_LIBS)
tests_unit_test_images_routes_CFLAGS = $(FCGI_TEST_CFLAGS)
tests_unit_test_images_routes_LDADD = $(IMAGEXFER_FCGI_LIBS)
tests_unit_test_admin_access_CFLAGS = $(FCGI_TEST_CFLAGS)
tests_unit_test_admin_access_LDADD = $(IMAGEXFER_FCGI_LIBS)
tests_unit_test_fastcgi_peers_CFLAGS = $(FCGI_TEST_CFLAGS)
tests_unit_test_fastcgi_peers_LDADD = $(IMAGEXFER_FCGI_LIBS)
tests_unit_test_connection_wait_CFLAGS = $(FCGI_TEST_CFLAGS)
tests_unit_test_connection_wait_LDADD = $(IMAGEXFER_FCGI_LIBS)

EXTRA_DIST += \
	tests/include-cycles \
	tests/run-bats \
	tests/unit/extents-check.h \
	tests/unit/fastcgi-write.h \
	tests/unit/tap.h \
	tests/unit/unix-listener.h \
	$(NULL)

include tests/bats/local.mk

# The C unit tests under valgrind: any error or leak fails the test.
check-valgrind:
	$(MAKE) $(AM_MAKEFLAGS) check TESTS="$(check_PROGRAMS)" \
	  LOG_COMPILER="valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite"
.PHONY: check-valgrind

# No two modules of the product may include each other's headers, even
# through others.
check-include-cycles:
	$(top_srcdir)/tests/include-cycles $(top_srcdir)
.PHONY: check-include-cycles
