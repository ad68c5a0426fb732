#!/usr/bin/env bash
# Build "Step Desk.app" and a drag-to-Applications .dmg on macOS, from the project folder:
#
#     resources/packaging/macos/build_dmg.sh
#
# Output: dist/Step Desk.app and dist/StepDesk-VERSION-macos-ARCH.dmg (an arm64 build runs
# on Apple silicon only; build on an Intel runner for x86_64).
# Signing and notarization happen only when these are set (see resources/packaging/README.md):
#   CODESIGN_IDENTITY   "Developer ID Application: Name (TEAMID)" in the login keychain
#   NOTARY_PROFILE      a `xcrun notarytool store-credentials` profile name
# PYTHON picks the interpreter (default: .venv/bin/python, else python3).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
HERE="$ROOT/resources/packaging/macos"
if [ -z "${PYTHON:-}" ]; then
  if [ -x "$ROOT/.venv/bin/python" ]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=python3; fi
fi
cd "$ROOT"
"$PYTHON" -m PyInstaller --noconfirm --log-level WARN --workpath build/pyinstaller \
  --distpath dist build.spec
APP="dist/Step Desk.app"
VERSION="$("$APP/Contents/MacOS/stepdesk" --version | awk '{print $2}')"

if [ -n "${CODESIGN_IDENTITY:-}" ]; then
  # Hardened runtime (required for notarization); the entitlements let Python's ctypes/cffi
  # callbacks and the bundled, separately built libraries load.
  codesign --force --deep --timestamp --options runtime \
    --entitlements "$HERE/entitlements.plist" --sign "$CODESIGN_IDENTITY" "$APP"
  codesign --verify --strict --verbose=2 "$APP"
fi

STAGE="build/dmg"
rm -rf "$STAGE" && mkdir -p "$STAGE"
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
DMG="dist/StepDesk-$VERSION-macos-$(uname -m).dmg"
hdiutil create -volname "Step Desk" -srcfolder "$STAGE" -ov -format UDZO "$DMG"
rm -rf "$STAGE"

if [ -n "${CODESIGN_IDENTITY:-}" ]; then
  codesign --force --timestamp --sign "$CODESIGN_IDENTITY" "$DMG"
fi
if [ -n "${NOTARY_PROFILE:-}" ]; then
  xcrun notarytool submit "$DMG" --keychain-profile "$NOTARY_PROFILE" --wait
  xcrun stapler staple "$DMG"
fi
du -sh "$APP" "$DMG"
