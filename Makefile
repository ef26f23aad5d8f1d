# Builds and installs libfilter's C library: the shared library with its
# soname, the static library, the header and a pkg-config file.
#
#   make                         cargo build --release (the library only)
#   make install PREFIX=/opt/lf  installs under PREFIX (default /usr/local);
#                                DESTDIR is honoured for staging
#   make uninstall PREFIX=...
#   make header                  regenerates include/libfilter.h (cbindgen)
#   make c-tests                 scripts/c-tests.sh: install to a temporary
#                                prefix, build and run bindings/c under
#                                valgrind and ASan
#
# The soname carries the ABI version: libfilter.so.MAJOR, or
# libfilter.so.0.MINOR before 1.0 (../shared/DESIGN.md), set by build.rs.
# Installed: lib/libfilter.so.X.Y.Z (the file), lib/libfilter.so.<abi>
# (the soname link), lib/libfilter.so (the link-time link), lib/libfilter.a,
# include/libfilter.h and lib/pkgconfig/libfilter.pc.

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
CARGO ?= cargo
TARGET_DIR ?= $(if $(CARGO_TARGET_DIR),$(CARGO_TARGET_DIR),target)
RELEASE_DIR := $(TARGET_DIR)/release

VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
MAJOR := $(word 1,$(subst ., ,$(VERSION)))
MINOR := $(word 2,$(subst ., ,$(VERSION)))
ABI := $(if $(filter 0,$(MAJOR)),0.$(MINOR),$(MAJOR))
REALNAME := libfilter.so.$(VERSION)
SONAME := libfilter.so.$(ABI)
# What a static link needs besides libfilter.a (rustc's
# --print native-static-libs for this target).
LIBS_PRIVATE ?= -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc

.PHONY: all build install uninstall header check-header c-tests clean

all: build

build:
	$(CARGO) build --release -p libfilter --lib

install: build
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 0755 $(RELEASE_DIR)/libfilter.so $(DESTDIR)$(LIBDIR)/$(REALNAME)
	ln -sf $(REALNAME) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libfilter.so
	install -m 0644 $(RELEASE_DIR)/libfilter.a $(DESTDIR)$(LIBDIR)/libfilter.a
	install -m 0644 include/libfilter.h $(DESTDIR)$(INCLUDEDIR)/libfilter.h
	@printf '%s\n' \
		'prefix=$(PREFIX)' \
		'libdir=$(LIBDIR)' \
		'includedir=$(INCLUDEDIR)' \
		'' \
		'Name: libfilter' \
		'Description: Embeddable e-mail scanning: MIME, signatures and spam rules' \
		'Version: $(VERSION)' \
		'Libs: -L$${libdir} -lfilter' \
		'Libs.private: $(LIBS_PRIVATE)' \
		'Cflags: -I$${includedir}' \
		> $(DESTDIR)$(PKGCONFIGDIR)/libfilter.pc

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/$(REALNAME) $(DESTDIR)$(LIBDIR)/$(SONAME) \
		$(DESTDIR)$(LIBDIR)/libfilter.so $(DESTDIR)$(LIBDIR)/libfilter.a \
		$(DESTDIR)$(INCLUDEDIR)/libfilter.h $(DESTDIR)$(PKGCONFIGDIR)/libfilter.pc

header:
	cbindgen --config cbindgen.toml --quiet --output include/libfilter.h src/capi/mod.rs

check-header:
	$(CARGO) test --test capi_header

c-tests:
	bash scripts/c-tests.sh

clean:
	$(CARGO) clean
