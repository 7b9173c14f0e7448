# Build and install nvme-stas (Rust). `make && sudo make install`; packagers:
# `make install DESTDIR=/tmp/root PREFIX=/usr`. Nothing here starts or enables a service.

PREFIX ?= /usr
SYSCONFDIR ?= /etc
DESTDIR ?=
CARGO ?= cargo
# Where the binaries to install are (tests install a debug build).
BUILD ?= target/release

BIN := $(DESTDIR)$(PREFIX)/bin
SBIN := $(DESTDIR)$(PREFIX)/sbin
SHARE := $(DESTDIR)$(PREFIX)/share
UNITDIR := $(DESTDIR)$(PREFIX)/lib/systemd/system
ETC := $(DESTDIR)$(SYSCONFDIR)

.PHONY: all build install install-files

all: build

build:
	$(CARGO) build --release --locked -p stafd -p stacd -p stafctl -p stacctl -p stasadm

install: build install-files

install-files:
	install -Dm755 $(BUILD)/stafd $(SBIN)/stafd
	install -Dm755 $(BUILD)/stacd $(SBIN)/stacd
	install -Dm755 $(BUILD)/stafctl $(BIN)/stafctl
	install -Dm755 $(BUILD)/stacctl $(BIN)/stacctl
	install -Dm755 $(BUILD)/stasadm $(BIN)/stasadm
	install -d $(UNITDIR)
	for u in systemd/*; do \
	  sed -e "s|/usr/sbin/|$(PREFIX)/sbin/|; s|/usr/bin/stasadm|$(PREFIX)/bin/stasadm|" "$$u" \
	    > "$(UNITDIR)/$$(basename "$$u")" && chmod 644 "$(UNITDIR)/$$(basename "$$u")"; \
	done
	install -Dm644 -t $(SHARE)/dbus-1/system.d etc/dbus-1/system.d/*.conf
	install -Dm644 -t $(SHARE)/dbus-1/interfaces etc/dbus-1/interfaces/*.xml
	install -Dm644 -t $(SHARE)/nvme-stas stafctl/schema/*.json stacctl/schema/*.json
	# Configuration files are the administrator's: only installed when missing.
	install -d -m755 $(ETC)/stas
	for f in etc/stas/*.conf; do \
	  [ -e "$(ETC)/stas/$$(basename "$$f")" ] || install -m644 "$$f" "$(ETC)/stas/"; \
	done
	for s in 1 5 7 8; do \
	  for m in man/*.$$s; do install -Dm644 "$$m" "$(SHARE)/man/man$$s/$$(basename "$$m")"; done; \
	done
	for t in stafctl stacctl; do \
	  install -d $(SHARE)/bash-completion/completions $(SHARE)/zsh/vendor-completions $(SHARE)/fish/vendor_completions.d; \
	  $(BUILD)/$$t completions bash > $(SHARE)/bash-completion/completions/$$t; \
	  $(BUILD)/$$t completions zsh > $(SHARE)/zsh/vendor-completions/_$$t; \
	  $(BUILD)/$$t completions fish > $(SHARE)/fish/vendor_completions.d/$$t.fish; \
	done
