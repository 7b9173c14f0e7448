#!/usr/bin/env bash
# Installs every system dependency of the test tiers, idempotently, on Debian 12.
# Safe to re-run: each step checks before it acts.
set -euo pipefail

need_root() {
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then sudo "$@"; else
            echo "install-deps: need root for: $*" >&2; return 1
        fi
    else "$@"; fi
}

APT_PKGS=(dbus systemd avahi-daemon avahi-utils libudev-dev pkg-config qemu-system-x86 busybox-static
          nvme-cli tshark mandoc iproute2 kmod udev python3-dbus fio strace make lintian libssl-dev keyutils)

missing=()
for p in "${APT_PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

# The 6.12 kernel (with nvmet, nvme-tcp, configfs modules) the vm tier boots.
kernel_installed() { ls /boot/vmlinuz-6.12.*+deb12-amd64 >/dev/null 2>&1; }

if [ ${#missing[@]} -gt 0 ] || ! kernel_installed; then
    export DEBIAN_FRONTEND=noninteractive
    need_root apt-get update -qq
    if [ ${#missing[@]} -gt 0 ]; then
        echo "install-deps: apt-get install ${missing[*]}"
        echo "wireshark-common wireshark-common/install-setuid boolean false" | need_root debconf-set-selections
        need_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    if ! kernel_installed; then
        kpkg=$(apt-cache search --names-only '^linux-image-6\.12\..*\+deb12-amd64-unsigned$' \
               | awk '{print $1}' | sort -V | tail -n1)
        [ -n "$kpkg" ] || { echo "install-deps: no 6.12 kernel package found" >&2; exit 1; }
        echo "install-deps: apt-get install $kpkg"
        need_root apt-get install -y -qq --no-install-recommends "$kpkg" >/dev/null
    fi
fi

if ! command -v vng >/dev/null 2>&1; then
    echo "install-deps: pip install virtme-ng"
    python3 -m pip install -q --disable-pip-version-check virtme-ng
fi

if ! cargo fuzz --version >/dev/null 2>&1 && [ "${STAS_SKIP_FUZZ_INSTALL:-0}" != 1 ]; then
    : # cargo-fuzz needs nightly; the bounded fuzz runs use the stable replay harness instead.
fi
echo "install-deps: ok"
