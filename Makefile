# The project's entry points. `make test` is what CI runs (.ci/run).
#
#   make build     static, stripped scanner binaries (x86_64-unknown-linux-gnu, glibc crt-static)
#   make images    one FROM scratch image per scanner: localhost/<binary>:latest
#   make install   atomic install each image (or, without atomic, run its INSTALL label with podman)
#   make uninstall the reverse
#   make test      every crate's tests, then the end-to-end test of the images under podman
#   make bench     every benchmark script in bench/
#   make fuzz      every fuzz target for FUZZ_SECONDS each (cargo-fuzz; fuzz/run-all.sh)
#   make demo      build the demo sample (tests/demo: an image with real CentOS 7 packages, one
#                  file tampered, and a repository with a curl update and its advisory) and scan it
CARGO ?= cargo
PODMAN ?= podman
TARGET ?= x86_64-unknown-linux-gnu
IMAGE_PREFIX ?= localhost/
IMAGE_TAG ?= latest
# Where `make install` writes manifests: the host's /etc/atomic.d unless told otherwise.
ATOMIC_D ?= /etc/atomic.d

# podman on these machines needs runc and low rlimits (see tests/e2e/containers.conf).
CONTAINERS_CONF ?= $(CURDIR)/tests/e2e/containers.conf
export CONTAINERS_CONF

TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
RELEASE_DIR := $(TARGET_DIR)/$(TARGET)/release
CONTEXT_DIR := $(TARGET_DIR)/image-context
# The demo sample, made by tests/demo/make-sample.sh (which removes only a folder it made).
DEMO_DIR := $(TARGET_DIR)/demo-sample
DEMO_IMAGE := oci:$(DEMO_DIR)/layout:demo
DEMO_REPO := $(DEMO_DIR)/repo

# Each scanner binary and its crate; a crate not written yet is left out.
SCANNER_CRATES := scanner-rpm-verify:scanners/rpm-verify \
                  pipeline-scanner:scanners/pipeline-scanner \
                  security-advisories:scanners/security-advisories \
                  image-scan:scanners/image-scan
SCANNERS ?= $(strip $(foreach p,$(SCANNER_CRATES),$(if $(wildcard $(word 2,$(subst :, ,$(p)))/src/main.rs),$(word 1,$(subst :, ,$(p))))))

.PHONY: build images install uninstall test test-e2e bench demo fuzz deps

# The Debian packages the tests and the demo need: installed when run as root with apt,
# otherwise named (.ci/deps).
deps:
	bash .ci/deps

build:
	@test -n "$(SCANNERS)" || { echo "no scanner crates found" >&2; exit 2; }
	RUSTFLAGS='-C target-feature=+crt-static' $(CARGO) build --release --target $(TARGET) --workspace $(addprefix --bin ,$(SCANNERS))
	@for b in $(SCANNERS); do \
	  if ldd $(RELEASE_DIR)/$$b >/dev/null 2>&1 && ! ldd $(RELEASE_DIR)/$$b 2>&1 | grep -q 'statically linked'; then \
	    echo "$$b is dynamically linked:" >&2; ldd $(RELEASE_DIR)/$$b >&2; exit 1; fi; \
	  echo "$(RELEASE_DIR)/$$b: static, $$(stat -c %s $(RELEASE_DIR)/$$b) bytes"; \
	done

# The build arguments come from the binary itself (its embedded manifest), so the manifest
# stays the single source of the scanner's atomic name and default scan.
images: build
	@set -e; for b in $(SCANNERS); do \
	  bin=$(RELEASE_DIR)/$$b; ctx=$(CONTEXT_DIR)/$$b; \
	  rm -rf $$ctx; mkdir -p $$ctx/tmp; cp $$bin $$ctx/$$b; \
	  manifest=$$(env -u IMAGE $$bin manifest); \
	  atomic_name=$$(printf '%s\n' "$$manifest" | sed -n 's/^scanner_name: *//p'); \
	  default_scan=$$(printf '%s\n' "$$manifest" | sed -n 's/^default_scan: *//p'); \
	  description=$$(printf '%s\n' "$$manifest" | sed -n 's/^ *description: *//p' | head -n 1 | tr -d "\"'"); \
	  version=$$($$bin --version | awk '{print $$2}'); \
	  echo "image $(IMAGE_PREFIX)$$b:$(IMAGE_TAG) (atomic name $$atomic_name, default scan $$default_scan)"; \
	  $(PODMAN) build --quiet --no-cache --build-arg SCANNER=$$b --build-arg ATOMIC_NAME="$$atomic_name" \
	    --build-arg DEFAULT_SCAN="$$default_scan" --build-arg VERSION="$$version" \
	    --build-arg DESCRIPTION="$$description" \
	    -t $(IMAGE_PREFIX)$$b:$(IMAGE_TAG) -f Containerfile $$ctx; \
	  $(PODMAN) image inspect --format '{{.Size}}' $(IMAGE_PREFIX)$$b:$(IMAGE_TAG) | \
	    awk -v img=$(IMAGE_PREFIX)$$b:$(IMAGE_TAG) '{ printf "%s: %.2f MiB\n", img, $$1 / 1048576 }'; \
	done

# atomic install where atomic exists; otherwise the INSTALL label, run as atomic runs it:
# ${IMAGE} replaced by the image name, then split on white space.
install uninstall: images
	@set -e; label=$$(echo $@ | tr a-z A-Z); mkdir -p $(ATOMIC_D); \
	for b in $(SCANNERS); do img=$(IMAGE_PREFIX)$$b:$(IMAGE_TAG); \
	  if command -v atomic >/dev/null 2>&1 && [ "$(ATOMIC_D)" = /etc/atomic.d ]; then \
	    echo "atomic $@ $$img"; atomic $@ $$img; \
	  else \
	    cmd=$$($(PODMAN) image inspect --format "{{index .Config.Labels \"$$label\"}}" $$img | \
	      sed -e "s|\$${IMAGE}|$$img|g" -e "s|-v /etc/atomic.d/:|-v $(ATOMIC_D)/:|" -e "s|^docker |$(PODMAN) |"); \
	    echo "$$cmd"; $$cmd; \
	  fi; \
	done

# The scanner binaries are built first: the adversarial suites run them as an attacker's
# image would meet them (under strace), and reuse target/debug/<scanner> when it is current.
# The end-to-end test needs the images; it is #[ignore]d so that `cargo test --workspace`
# alone does not run it half-prepared.
test: deps
	$(CARGO) build --workspace --bins
	$(CARGO) test --workspace
	$(MAKE) test-e2e

test-e2e: images
	E2E_SCANNERS="$(SCANNERS)" E2E_BIN_DIR="$(RELEASE_DIR)" E2E_IMAGE_PREFIX="$(IMAGE_PREFIX)" \
	  E2E_IMAGE_TAG="$(IMAGE_TAG)" $(CARGO) test --test integration -- --ignored --test-threads=1 \
	  e2e_atomic:: image_scan_rescan::kube_play::

# The fuzz targets (fuzz/, its own cargo workspace) run one after the other, each from a
# corpus seeded with tests/fixtures; a crash fails the target (needs `cargo install cargo-fuzz`).
FUZZ_SECONDS ?= 60
fuzz:
	bash fuzz/run-all.sh $(FUZZ_SECONDS)

bench:
	@set -e; found=0; for s in bench/*.sh; do [ -f "$$s" ] || continue; found=1; echo "== $$s"; bash "$$s"; done; \
	  [ $$found = 1 ] || { echo "no benchmark scripts in bench/" >&2; exit 2; }

# The demo sample (tests/demo/README.md), made by tests/demo/make-sample.sh from the
# repository's files: an OCI image of three layers (the real CentOS 7 centos-release and
# curl packages installed by rpm; /usr/bin/curl changed; the man pages removed) and a yum
# repository offering a curl update (a stand-in package) with its real advisory,
# CESA-2020:5002 (CVE-2020-8177). rpmdb-query names each package's layer; image-scan reads
# the image in place once (no unpacking) and runs the three checks on it — tampered files
# with the layer that changed them, the update, the advisory — reading the repository with
# --no-image-repos --repo demo=file://$(DEMO_REPO), and prints the combined table.
demo: deps
	$(MAKE) build SCANNERS="image-scan rpmdb-query"
	bash tests/demo/make-sample.sh $(DEMO_DIR)
	$(RELEASE_DIR)/rpmdb-query --image $(DEMO_IMAGE) --layers
	$(RELEASE_DIR)/image-scan --image $(DEMO_IMAGE) --no-image-repos --repo demo=file://$(DEMO_REPO) --format table
