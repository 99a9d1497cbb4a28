#!/usr/bin/env bash
# macOS build (Apple Silicon): .app via the shared PyInstaller spec, smoke test, codesign,
# .dmg, notarization. Run on a Mac with Xcode command-line tools:
#
#   installers/macos/build.sh
#
# Signing and notarization happen only when their secrets are in the environment:
#   MACOS_SIGN_IDENTITY       "Developer ID Application: Name (TEAMID)"; without it: ad-hoc signature
#   MACOS_CERT_P12_BASE64, MACOS_CERT_PASSWORD
#                             (CI) the certificate, imported into a temporary keychain
#   NOTARY_APPLE_ID, NOTARY_TEAM_ID, NOTARY_PASSWORD (app-specific password)
#     or NOTARY_KEY_ID, NOTARY_ISSUER, NOTARY_KEY_P8_BASE64 (App Store Connect API key)
# Outputs: build/out/gptoss-desktop-<version>-macos-arm64.dmg
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
VERSION="$(sed -n 's/^__version__ = "\(.*\)"/\1/p' gptoss_desktop/__init__.py)"
ARCH="$(uname -m)"
BUILD="$ROOT/build"
APP="$BUILD/dist/gpt-oss Desktop.app"
OUT="$BUILD/out"
DMG="$OUT/gptoss-desktop-$VERSION-macos-$ARCH.dmg"
BUNDLE_MAX_MIB="${BUNDLE_MAX_MIB:-230}"
DMG_MAX_MIB="${DMG_MAX_MIB:-90}"
ENTITLEMENTS="$ROOT/installers/macos/entitlements.plist"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"; [[ -n "${KEYCHAIN:-}" ]] && security delete-keychain "$KEYCHAIN" || true' EXIT

step() { printf '\n==> %s\n' "$*"; }
fail() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }
mib() { echo $(( $(du -sk "$1" | cut -f1) / 1024 )); }

step "distribution environment (Metal)"
PY="$("$ROOT/installers/dist_env.sh" | tail -n1)"

step "PyInstaller .app"
rm -rf "$APP" "$BUILD/dist/gptoss-desktop" "$OUT"
mkdir -p "$OUT"
"$PY" -m PyInstaller --noconfirm --log-level WARN --distpath "$BUILD/dist" --workpath "$BUILD/pyinstaller" \
  installers/gptoss-desktop.spec
[[ -d "$APP" ]] || fail "PyInstaller made no .app"
# The wheel holds each llama.cpp library three times: one file, two symlinks (one ggml instance).
"$PY" "$ROOT/installers/tools/bundle_tool.py" dedupe "$APP/Contents"
size="$(mib "$APP")"
echo "size: app ${size} MiB (budget ${BUNDLE_MAX_MIB} MiB)"
(( size <= BUNDLE_MAX_MIB )) || fail "app over budget"

step "smoke test"
for platform in offscreen cocoa; do
  line="$(QT_QPA_PLATFORM=$platform GPTOSS_HOME="$WORK/home-$platform" \
    "$APP/Contents/MacOS/gptoss-desktop" --self-test 2>&1)" || fail "self-test failed ($platform): $line"
  grep -q "self-test OK" <<<"$line" || fail "no OK line ($platform): $line"
  echo "self-test [$platform]: $line"
done
grep -q "on Metal" <<<"$line" || echo "warning: the demo model did not run on Metal: $line" >&2

step "codesign"
if [[ -n "${MACOS_CERT_P12_BASE64:-}" ]]; then
  KEYCHAIN="$WORK/signing.keychain-db"
  security create-keychain -p "" "$KEYCHAIN"
  security set-keychain-settings "$KEYCHAIN"
  security unlock-keychain -p "" "$KEYCHAIN"
  echo "$MACOS_CERT_P12_BASE64" | base64 --decode >"$WORK/cert.p12"
  security import "$WORK/cert.p12" -k "$KEYCHAIN" -P "${MACOS_CERT_PASSWORD:-}" -T /usr/bin/codesign
  security set-key-partition-list -S apple-tool:,apple: -s -k "" "$KEYCHAIN" >/dev/null
  security list-keychains -d user -s "$KEYCHAIN" $(security list-keychains -d user | tr -d '"')
fi
IDENTITY="${MACOS_SIGN_IDENTITY:--}"
SIGN=(codesign --force --options runtime --entitlements "$ENTITLEMENTS" --sign "$IDENTITY")
[[ "$IDENTITY" != "-" ]] && SIGN+=(--timestamp)  # ad-hoc signatures take no timestamp
# Inside out: every Mach-O file, then the app with the hardened runtime and entitlements.
find "$APP/Contents" -type f \( -name '*.dylib' -o -name '*.so' -o -perm -u+x \) -print0 |
  while IFS= read -r -d '' f; do
    if file -b "$f" | grep -q "Mach-O"; then
      "${SIGN[@]}" "$f"
    fi
  done
"${SIGN[@]}" "$APP"
codesign --verify --deep --strict "$APP"
[[ "$IDENTITY" == "-" ]] && echo "ad-hoc signature (no MACOS_SIGN_IDENTITY): users must right-click > Open the first time"
line="$(QT_QPA_PLATFORM=offscreen GPTOSS_HOME="$WORK/home-signed" "$APP/Contents/MacOS/gptoss-desktop" --self-test 2>&1)" \
  || fail "self-test failed after signing: $line"
echo "self-test [signed]: $line"

step ".dmg"
mkdir -p "$WORK/dmg"
cp -R "$APP" "$WORK/dmg/"
ln -s /Applications "$WORK/dmg/Applications"
hdiutil create -volname "gpt-oss Desktop" -srcfolder "$WORK/dmg" -fs HFS+ -format ULFO -ov "$DMG" >/dev/null
[[ "$IDENTITY" != "-" ]] && codesign --force --timestamp --sign "$IDENTITY" "$DMG"
size="$(mib "$DMG")"
echo "size: dmg ${size} MiB (budget ${DMG_MAX_MIB} MiB)"
(( size <= DMG_MAX_MIB )) || fail "dmg over budget"

step "notarization"
if [[ -n "${NOTARY_KEY_ID:-}" ]]; then
  echo "$NOTARY_KEY_P8_BASE64" | base64 --decode >"$WORK/notary.p8"
  xcrun notarytool submit "$DMG" --key "$WORK/notary.p8" --key-id "$NOTARY_KEY_ID" \
    --issuer "$NOTARY_ISSUER" --wait
  xcrun stapler staple "$DMG"
elif [[ -n "${NOTARY_APPLE_ID:-}" ]]; then
  xcrun notarytool submit "$DMG" --apple-id "$NOTARY_APPLE_ID" --team-id "$NOTARY_TEAM_ID" \
    --password "$NOTARY_PASSWORD" --wait
  xcrun stapler staple "$DMG"
else
  echo "skipped: no NOTARY_* secrets in the environment"
fi
step "done: $DMG"
