# SPDX-License-Identifier: Apache-2.0
# libFuzzer harnesses: built with ./configure --enable-fuzzing CC=clang
# (tests/fuzz/run does that in a build directory of its own), run by
# tests/fuzz/run; each has a seed corpus in tests/fuzz/corpus/<name>.
# One line per harness; add yours, never rewrite the list.
FUZZERS = \
	tests/fuzz/fuzz-range \
	tests/fuzz/fuzz-content-range \
	tests/fuzz/fuzz-percent-decode \
	tests/fuzz/fuzz-descriptor \
	tests/fuzz/fuzz-config \
	tests/fuzz/fuzz-patch-body \
	tests/fuzz/fuzz-fastcgi-request \
	$(NULL)

if FUZZING
noinst_PROGRAMS = $(FUZZERS)
endif

# The harnesses' main is libFuzzer's.
LIBFUZZER_MAIN = -fsanitize=fuzzer
# Those of the FastCGI layer link its library.
FUZZ_FCGI_COMPILE_FLAGS = $(AM_CFLAGS) $(FCGI_CFLAGS) -I$(top_srcdir)/fcgi \
	-I$(top_srcdir)/fcgi/images -I$(top_srcdir)/fcgi/api

tests_fuzz_fuzz_range_LDFLAGS = $(LIBFUZZER_MAIN)
tests_fuzz_fuzz_content_range_LDFLAGS = $(LIBFUZZER_MAIN)
tests_fuzz_fuzz_percent_decode_LDFLAGS = $(LIBFUZZER_MAIN)
tests_fuzz_fuzz_descriptor_LDFLAGS = $(LIBFUZZER_MAIN)
tests_fuzz_fuzz_config_LDFLAGS = $(LIBFUZZER_MAIN)
tests_fuzz_fuzz_patch_body_LDFLAGS = $(LIBFUZZER_MAIN)
tests_fuzz_fuzz_patch_body_CFLAGS = $(FUZZ_FCGI_COMPILE_FLAGS)
tests_fuzz_fuzz_patch_body_LDADD = $(IMAGEXFER_FCGI_LIBS)
tests_fuzz_fuzz_fastcgi_request_LDFLAGS = $(LIBFUZZER_MAIN)
tests_fuzz_fuzz_fastcgi_request_CFLAGS = $(FUZZ_FCGI_COMPILE_FLAGS)
tests_fuzz_fuzz_fastcgi_request_LDADD = $(IMAGEXFER_FCGI_LIBS)

EXTRA_DIST += \
	tests/fuzz/corpus \
	tests/fuzz/fuzz.h \
	tests/fuzz/run \
	tests/fuzz/run-long \
	$(NULL)
