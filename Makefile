# rpctls: NFS over TLS for Linux (RFC 9289).  See README.md.
#
#   make            kernel, modules and user-space programs
#   make check      every test (host unit tests, then VM scenarios)
#   make demo       the main job, shown working
#   make deps       install build and test dependencies with apt, and build
#                   the stock Debian 13 peer VM for the interop suite
#   make interop    the interop suite alone (rpctls against stock Debian 13)

SHELL := /bin/bash
REPO := $(CURDIR)
BUILD := $(REPO)/build
# TREE=build/linux-NAME gives a second work tree (its modules go to
# build/linux-NAME-modules); the default tree's modules go to build/modules.
TREE ?= $(BUILD)/linux
override TREE := $(abspath $(TREE))
export TREE
MODDIR := $(if $(filter $(BUILD)/linux,$(TREE)),$(BUILD)/modules,$(TREE)-modules)
JOBS ?= $(shell nproc)
# ccache lives outside the checkout so clean clones and CI reuse it.
export CCACHE_DIR ?= /var/cache/rpctls/ccache
export CCACHE_BASEDIR := $(TREE)
export CCACHE_MAXSIZE ?= 5G
export CCACHE_NOHASHDIR := 1
export CCACHE_SLOPPINESS := time_macros,include_file_mtime,include_file_ctime
KMAKE = $(MAKE) -s -C $(TREE) ARCH=x86_64 CC="ccache gcc" \
	KBUILD_BUILD_TIMESTAMP="2026-01-01" KBUILD_BUILD_USER=rpctls \
	KBUILD_BUILD_HOST=rpctls -j$(JOBS)

DEPS_STAMP := $(BUILD)/.deps-ok

.PHONY: all deps peer interop interop-readme kernel kernel-debug kernel-locked kernel-config kernel-export kernel-check kernel-reset \
	userspace check check-host check-debug check-vm faults soak demo bench clean distclean \
	install uninstall

all: kernel userspace

deps: $(DEPS_STAMP) peer
$(DEPS_STAMP): tests/deps.sh kernel/VERSION
	@tests/deps.sh
	@mkdir -p $(BUILD) && touch $@

# The stock Debian 13 peer (tests/pair/peer-build.sh): built once from
# Debian's archive into /var/cache/rpctls/peer, rebuilt when trixie's
# kernel, ktls-utils or nfs-utils change; about 15 minutes the first time.
peer: $(DEPS_STAMP)
	@tests/pair/peer-build.sh

interop: deps all
	@tests/check interop

# The README's interoperability table, from the interop suite's last run.
interop-readme:
	@tests/interop/readme.sh

# One kernel build at a time in the shared tree (helpers, CI, make check).
kernel: deps
	@mkdir -p $(BUILD) && exec 9>$(BUILD)/.kernel.lock && flock 9 && \
	$(MAKE) --no-print-directory kernel-locked

kernel-locked:
	@kernel/tree.sh sync
	@CONFIG_EXTRA="$(CONFIG_EXTRA)" kernel/tree.sh config
	@echo "  BUILD   bzImage modules ($(JOBS) jobs)"
	@$(KMAKE) bzImage modules
	@rm -rf $(MODDIR).tmp
	@$(KMAKE) INSTALL_MOD_PATH=$(MODDIR).tmp DEPMOD=/sbin/depmod modules_install >/dev/null
	@rel=$$(cat $(TREE)/include/config/kernel.release) && \
	mkdir -p $(MODDIR).tmp/lib/modules/$$rel && /sbin/depmod -b $(MODDIR).tmp $$rel
	@rm -rf $(MODDIR) && mv $(MODDIR).tmp $(MODDIR)
	@echo "  KERNEL  $$(cat $(TREE)/include/config/kernel.release) $(TREE)/arch/x86/boot/bzImage"

# The debug variant (kernel/config/debug.config: lockdep, KASAN, kmemleak,
# DEBUG_OBJECTS, LSM hooks, kprobes) in its own tree; make check-debug runs
# tests/suites-debug on it.
kernel-debug: deps
	@$(MAKE) --no-print-directory kernel TREE=$(BUILD)/linux-debug CONFIG_EXTRA=debug

kernel-export:
	@EXPORT_PATCH="$(PATCH)" kernel/tree.sh export

kernel-check:
	@kernel/tree.sh check

kernel-reset:
	@kernel/tree.sh reset

userspace: deps
	@if [ -f tlshd/Makefile ]; then $(MAKE) -s -C tlshd BUILD=$(BUILD); fi
	@$(MAKE) -s -C tests/tlsh BUILD=$(BUILD)
	@$(MAKE) -s -C mount-helper BUILD=$(BUILD)
	@$(MAKE) -s -C rpctls-exports BUILD=$(BUILD)

# make install [DESTDIR=...] [PREFIX=/usr]: tlshd, the mount helper and
# rpctls, rpctls-exports with its units, their man pages; with DESTDIR
# empty, also the mount.nfs wrapper (mount-helper/Makefile,
# rpctls-mount(8)).  make uninstall reverses it.
PREFIX ?= /usr
UNITDIR ?= /lib/systemd/system
TLSHD_DOCS := tlshd/tlshd.8 tlshd/tlshd.conf.5 tlshd/tlshd.service
install: userspace
	@$(MAKE) -s -C mount-helper BUILD=$(BUILD) DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" UNITDIR="$(UNITDIR)" install
	@$(MAKE) -s -C rpctls-exports BUILD=$(BUILD) DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" UNITDIR="$(UNITDIR)" install
	@if ls $(TLSHD_DOCS) >/dev/null 2>&1; then \
		$(MAKE) -s -C tlshd BUILD=$(BUILD) DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" UNITDIR="$(UNITDIR)" install; \
	else \
		install -D -m 0755 $(BUILD)/bin/tlshd $(DESTDIR)$(PREFIX)/sbin/tlshd; \
		echo "  NOTE    tlshd/ has no man pages or unit yet: installed the tlshd binary only"; \
	fi
	@if [ -f tlshd/tlshd.conf.example ]; then \
		install -D -m 0644 tlshd/tlshd.conf.example $(DESTDIR)$(PREFIX)/share/doc/rpctls/tlshd.conf.example; fi

uninstall:
	@$(MAKE) -s -C mount-helper BUILD=$(BUILD) DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" UNITDIR="$(UNITDIR)" uninstall
	@$(MAKE) -s -C rpctls-exports BUILD=$(BUILD) DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" UNITDIR="$(UNITDIR)" uninstall
	rm -f $(DESTDIR)$(PREFIX)/sbin/tlshd $(DESTDIR)$(PREFIX)/share/man/man8/tlshd.8 \
		$(DESTDIR)$(PREFIX)/share/man/man5/tlshd.conf.5 $(DESTDIR)$(UNITDIR)/tlshd.service \
		$(DESTDIR)$(PREFIX)/share/doc/rpctls/tlshd.conf.example
	@rmdir $(DESTDIR)$(PREFIX)/share/doc/rpctls 2>/dev/null || true

check: deps all
	@tests/check

check-host: deps
	@kernel/tree.sh prepare
	@tests/check --host-only

# The nfsd, client, upcall and LSM-hook suites, the fault matrix's case 9
# and the soak on the debug kernel (tests/suites-debug): a second kernel
# build and slow VMs, so not part of make check.
check-debug: deps all kernel-debug
	@tests/check --suites tests/suites-debug

# The fault matrix alone (tests/suites-faults; make check runs it too):
# about 16 minutes under TCG.  RPCTLS_FAULTS_CASES picks cases.
faults: deps all
	@VM_TIMEOUT=$${VM_TIMEOUT:-3600} tests/check --suites tests/suites-faults

# The soak (tests/suites-soak): RPCTLS_SOAK_MIN minutes (default 10) of a
# mixed workload on three TLS mounts under chaos; not part of make check.
# 3 GiB for the guest: the capture of the whole soak passes through its
# tmpfs in 16 MB files.
soak: deps all
	@VM_MEM=$${VM_MEM:-3072} VM_TIMEOUT=$${VM_TIMEOUT:-$$(( $${RPCTLS_SOAK_MIN:-10} * 60 + 900 ))} \
		tests/check --suites tests/suites-soak

demo: deps all
	@tests/demo.sh

bench: deps all
	@tests/bench.sh

clean:
	@if [ -d $(TREE) ]; then $(KMAKE) clean; fi
	@rm -rf $(BUILD)/bin $(MODDIR)

distclean:
	@kernel/tree.sh check
	rm -rf $(BUILD)
