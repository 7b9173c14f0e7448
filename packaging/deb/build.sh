#!/bin/sh
# Builds the Debian package from this repository: `packaging/deb/build.sh [OUTDIR]`.
# Uses `make install` into a staging root, then dpkg-deb; BUILD= selects prebuilt binaries
# (default: a release build made here).
set -eu

repo=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$repo/target/deb}
build=${BUILD:-}
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -n1)
arch=$(dpkg --print-architecture)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
chmod 755 "$stage"

cd "$repo"
if [ -z "$build" ]; then
    make -s build
    build=target/release
fi
make -s install-files DESTDIR="$stage" PREFIX=/usr BUILD="$build"
strip --strip-unneeded --remove-section=.comment --remove-section=.note \
    "$stage"/usr/sbin/* "$stage"/usr/bin/*
gzip -9n "$stage"/usr/share/man/man*/*

doc="$stage/usr/share/doc/nvme-stas-rs"
install -d "$doc"
install -m644 packaging/deb/copyright "$doc/copyright"
date=$(date -R -d "@${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")
printf 'nvme-stas-rs (%s) unstable; urgency=medium\n\n  * Built from the repository.\n\n -- nvme-stas-rs maintainers <nvme-stas-rs@example.invalid>  %s\n' \
    "$version" "$date" | gzip -9n > "$doc/changelog.gz"

install -d "$stage/DEBIAN"
for s in postinst prerm postrm; do
    install -m755 "packaging/deb/$s" "$stage/DEBIAN/$s"
done
( cd "$stage" && find etc -type f | LC_ALL=C sort | sed 's|^|/|' ) > "$stage/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<CONTROL
Package: nvme-stas-rs
Version: $version
Architecture: $arch
Maintainer: nvme-stas-rs maintainers <nvme-stas-rs@example.invalid>
Installed-Size: $size
Depends: libc6 (>= 2.36), dbus
Recommends: avahi-daemon, nvme-cli
Conflicts: nvme-stas
Replaces: nvme-stas
Provides: nvme-stas
Section: admin
Priority: optional
Homepage: https://example.invalid/nvme-stas-rs
Description: NVMe over Fabrics STorage Appliance Services (Rust)
 stafd finds NVMe over Fabrics discovery controllers (configured, NBFT, mDNS and
 referrals) and keeps their discovery log pages; stacd connects and disconnects
 the I/O controllers they list. stafctl and stacctl query them over D-Bus;
 stasadm manages the host identity. A drop-in for the Python nvme-stas.
CONTROL
mkdir -p "$out"
deb="$out/nvme-stas-rs_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
