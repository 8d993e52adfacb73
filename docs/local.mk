# SPDX-License-Identifier: Apache-2.0
# docs/: the user documentation, installed under $(docdir).
dist_doc_DATA = \
	docs/api.md \
	docs/transfers.md \
	docs/configuration.md \
	docs/deploy.md \
	docs/design.md \
	docs/benchmark.md \
	$(NULL)
