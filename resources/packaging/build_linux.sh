#!/usr/bin/env bash
# Build Step Desk for Linux in one command, from the project folder:
#
#     resources/packaging/build_linux.sh
#
# Produces, in dist/:
#   stepdesk/                               the one-folder bundle (run dist/stepdesk/stepdesk)
#   stepdesk-VERSION-linux-ARCH.tar.gz      that folder, for any distribution
#   stepdesk_VERSION_DEBARCH.deb            /opt/stepdesk, /usr/bin/stepdesk, a .desktop entry
#                                           with image/video MIME types, hicolor icons
#
# Needs: a Python with the project and its `build` extra installed (PyInstaller), dpkg-deb.
# Environment (all optional):
#   PYTHON            interpreter to build with (default: .venv/bin/python, else python3)
#   DIST_DIR          output folder (default: dist)       BUILD_DIR  work folder (default: build)
#   DEB_COMPRESSION   zstd (default: fast, ~80 MB, dpkg >= 1.21.18 / Debian 12 / Ubuntu 21.10)
#                     or xz (smaller, ~65 MB, readable by every dpkg, minutes on 2 cores)
#   DEB_LEVEL         compression level for dpkg-deb -z (default 9 for zstd, 6 for xz)
#   MAINTAINER        the .deb's Maintainer field
#   STEPDESK_DEBUG_BUILD=1   console build with symbols (see build.spec)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PACKAGING="$ROOT/resources/packaging"
DIST_DIR="$(mkdir -p "${DIST_DIR:-$ROOT/dist}" && cd "${DIST_DIR:-$ROOT/dist}" && pwd)"
BUILD_DIR="$(mkdir -p "${BUILD_DIR:-$ROOT/build}" && cd "${BUILD_DIR:-$ROOT/build}" && pwd)"
if [ -z "${PYTHON:-}" ]; then
  if [ -x "$ROOT/.venv/bin/python" ]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=python3; fi
fi
COMPRESSION="${DEB_COMPRESSION:-zstd}"
if [ "$COMPRESSION" = zstd ]; then LEVEL="${DEB_LEVEL:-9}"; else LEVEL="${DEB_LEVEL:-6}"; fi
MAINTAINER="${MAINTAINER:-Step Desk maintainers <stepdesk@users.noreply.github.com>}"
command -v dpkg-deb >/dev/null || { echo "build_linux.sh: dpkg-deb is required (apt-get install dpkg)" >&2; exit 2; }

step() { printf '\n== %s (%ss)\n' "$1" "$SECONDS"; }

step "PyInstaller bundle"
"$PYTHON" -m PyInstaller --noconfirm --log-level WARN \
  --workpath "$BUILD_DIR/pyinstaller" --distpath "$DIST_DIR" "$ROOT/build.spec"
BUNDLE="$DIST_DIR/stepdesk"
VERSION="$("$BUNDLE/stepdesk" --version | awk '{print $2}')"  # also proves the binary starts
[ -n "$VERSION" ] || { echo "build_linux.sh: the frozen stepdesk did not report a version" >&2; exit 1; }
ARCH="$(uname -m)"
DEB_ARCH="$(dpkg --print-architecture 2>/dev/null || echo amd64)"

step "tar.gz"
TARBALL="$DIST_DIR/stepdesk-$VERSION-linux-$ARCH.tar.gz"
tar -C "$DIST_DIR" -czf "$TARBALL" stepdesk

step ".deb"
STAGE="$BUILD_DIR/deb"
rm -rf "$STAGE"
mkdir -p "$STAGE/DEBIAN" "$STAGE/opt" "$STAGE/usr/bin" "$STAGE/usr/share/applications" \
  "$STAGE/usr/share/doc/stepdesk" "$STAGE/usr/share/icons/hicolor/scalable/apps"
cp -a "$BUNDLE" "$STAGE/opt/stepdesk"
ln -s ../../opt/stepdesk/stepdesk "$STAGE/usr/bin/stepdesk"  # relative: also works extracted
install -m 644 "$PACKAGING/linux/stepdesk.desktop" "$STAGE/usr/share/applications/stepdesk.desktop"
if command -v desktop-file-validate >/dev/null; then
  desktop-file-validate "$STAGE/usr/share/applications/stepdesk.desktop"
fi
ICONS="$ROOT/app/resources/icons"
for png in "$ICONS"/stepdesk-*.png; do
  size="$(basename "$png" .png)"; size="${size#stepdesk-}"
  install -D -m 644 "$png" "$STAGE/usr/share/icons/hicolor/${size}x${size}/apps/stepdesk.png"
done
install -m 644 "$ICONS/stepdesk.svg" "$STAGE/usr/share/icons/hicolor/scalable/apps/stepdesk.svg"
cat > "$STAGE/usr/share/doc/stepdesk/copyright" <<EOF
Step Desk is distributed under the MIT licence.
It bundles third-party software (Qt/PySide6 under the LGPL-3.0, FFmpeg with x264/x265 under the
LGPL/GPL, Python, Pillow and others); their notices and licence texts are in
/opt/stepdesk/_internal/licenses/ (NOTICES.txt lists them all).
EOF
# The newest glibc symbol version anything in the bundle asks for (libc6 itself is not bundled).
GLIBC="$(grep -raoh 'GLIBC_2\.[0-9]*' "$BUNDLE" | sed 's/GLIBC_//' | sort -t. -k1,1n -k2,2n -u | tail -1)"
INSTALLED_SIZE="$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)"
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$DEB_ARCH/" -e "s/@GLIBC@/${GLIBC:-2.28}/" \
    -e "s/@INSTALLED_SIZE@/$INSTALLED_SIZE/" -e "s|@MAINTAINER@|$MAINTAINER|" \
    "$PACKAGING/linux/control.in" > "$STAGE/DEBIAN/control"
DEB="$DIST_DIR/stepdesk_${VERSION}_${DEB_ARCH}.deb"
dpkg-deb --root-owner-group -Z"$COMPRESSION" -z"$LEVEL" --build "$STAGE" "$DEB" >/dev/null
rm -rf "$STAGE"

step "done"
du -sh "$BUNDLE" "$TARBALL" "$DEB"
