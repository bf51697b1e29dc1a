# etcd 3.5 beside the system's 3.4 (Debian 12 ships etcd 3.4; Debian 13
# "trixie" packages 3.5 as etcd-server/etcd-client).
#   make deps         also fetches trixie's etcd-server and etcd-client with
#                     apt-get from the mirror the system's apt sources use,
#                     through an apt config of its own under build/etcd35-apt/,
#                     and unpacks them into build/etcd35/ (dpkg-deb -x; no
#                     install; skipped when build/etcd35/usr/bin/etcd is 3.5):
#                     tests/fetch_trixie.sh etcd35 (mk/mbedtls.mk fetches
#                     mbedTLS 3.6 the same way)
#   make test-compat  every suite (the plain builds) against etcd 3.5: the
#                     harness runs `etcd`/`etcdctl` from PATH, and
#                     build/etcd35/usr/bin comes first in it
ETCD35_BIN = $(CURDIR)/build/etcd35/usr/bin

.PHONY: test-compat etcd35
deps::
	@sh tests/fetch_trixie.sh etcd35

etcd35:
	@sh tests/fetch_trixie.sh etcd35

test-compat: examples $(addprefix build/,$(SUITES))
	@test -x $(ETCD35_BIN)/etcd || { echo "test-compat: no build/etcd35/usr/bin/etcd: run make deps"; exit 1; }
	@PATH=$(ETCD35_BIN):$$PATH; export PATH; \
	v=$$(etcd --version | head -n 1); echo "test-compat: $$(command -v etcd): $$v"; \
	case "$$v" in *"Version: 3.5."*) ;; *) echo "test-compat: that etcd is not 3.5"; exit 1;; esac; \
	c=$$(etcdctl version | head -n 1); echo "test-compat: $$(command -v etcdctl): $$c"; \
	case "$$c" in *"version: 3.5."*) ;; *) echo "test-compat: that etcdctl is not 3.5"; exit 1;; esac; \
	EXAMPLES_DIR=build tests/run.sh $(addprefix build/,$(SUITES))
