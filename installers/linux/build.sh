#!/usr/bin/env bash
# Linux build, end to end: one-folder bundle, AppDir, .deb, .AppImage (where appimagetool is),
# budget and glibc checks, smoke tests. Run from anywhere, as root or with sudo for apt-get:
#
#   installers/linux/build.sh
#
# Environment: PYTHON (python for build/venv-dist, default python3), GLIBC_MAX and GLIBCXX_MAX
# (default 2.35 and 3.4.30: Ubuntu 22.04, the oldest distribution supported), BUNDLE_MAX_MIB (230), DEB_MAX_MIB (75), APPIMAGE_MAX_MIB (100), GPTOSS_DEMO_MODEL (a .gguf to bundle
# instead of the project's tiny-harmony.gguf), SKIP_APT=1 (never call apt-get).
# Outputs in build/out/: the .deb, the .AppImage (if built), and build-report.txt.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
APP=gptoss-desktop
APP_ID=io.github.gptoss_desktop.GptossDesktop
VERSION="$(sed -n 's/^__version__ = "\(.*\)"/\1/p' gptoss_desktop/__init__.py)"
ARCH_DEB="$(dpkg --print-architecture 2>/dev/null || echo amd64)"
ARCH="$(uname -m)"
GLIBC_MAX="${GLIBC_MAX:-2.35}"
GLIBCXX_MAX="${GLIBCXX_MAX:-3.4.30}"
BUNDLE_MAX_MIB="${BUNDLE_MAX_MIB:-230}"
DEB_MAX_MIB="${DEB_MAX_MIB:-75}"
APPIMAGE_MAX_MIB="${APPIMAGE_MAX_MIB:-100}"
BUILD="$ROOT/build"
DIST="$BUILD/dist"
BUNDLE="$DIST/$APP"
APPDIR="$BUILD/AppDir"
DEBROOT="$BUILD/deb-root"
OUT="$BUILD/out"
DEB="$OUT/${APP}_${VERSION}_${ARCH_DEB}.deb"
APPIMAGE="$OUT/${APP}-${VERSION}-${ARCH}.AppImage"
REPORT="$OUT/build-report.txt"
SMOKE="$(mktemp -d)"
trap 'rm -rf "$SMOKE"' EXIT

step() { printf '\n==> %s\n' "$*"; }
report() { printf '%s\n' "$*" | tee -a "$REPORT"; }
fail() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }

# --- 0. build host packages ------------------------------------------------------------------
# xcb plugin dependencies must be on the build host, or the bundle aborts under X11.
HOST_PACKAGES=(binutils xvfb xauth desktop-file-utils appstream
  libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-cursor0 libxcb-xkb1
  libxcb-shape0 libxcb-randr0 libxcb-xfixes0 libxcb-sync1 libxkbcommon-x11-0 libx11-xcb1
  libegl1 libgl1 libwayland-client0 libwayland-cursor0 libwayland-egl1 libfontconfig1 libdbus-1-3)
step "build host packages"
missing=()
for pkg in "${HOST_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  [[ "${SKIP_APT:-0}" == 1 ]] && fail "missing build host packages: ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "all present: ${HOST_PACKAGES[*]}"

# --- 1. distribution venv (llama.cpp built for any x86-64 CPU) --------------------------------
step "distribution environment"
PY="$("$ROOT/installers/dist_env.sh" | tail -n1)"
"$PY" -c "import llama_cpp, PyInstaller; print('llama_cpp', llama_cpp.__version__, 'PyInstaller', PyInstaller.__version__)"

# --- 2. PyInstaller one-folder bundle -------------------------------------------------------------
step "PyInstaller bundle"
rm -rf "$BUNDLE" "$OUT"
mkdir -p "$OUT"
: >"$REPORT"
"$PY" -m PyInstaller --noconfirm --log-level WARN --distpath "$DIST" --workpath "$BUILD/pyinstaller" \
  installers/gptoss-desktop.spec
TOOL=("$PY" "$ROOT/installers/tools/bundle_tool.py")
"${TOOL[@]}" dedupe "$BUNDLE"
"${TOOL[@]}" strip-debug "$BUNDLE"
modules="$(cd "$BUNDLE/_internal/llama_cpp/lib" && ls | grep -E '^libggml-(cpu|cuda|vulkan)' | tr '\n' ' ' || true)"
[[ -n "$modules" ]] || fail "no ggml backend modules in the bundle's llama_cpp/lib"
report "version: $VERSION ($ARCH)"
report "ggml backend modules: $modules"

# --- 3. checks: size budget and glibc ---------------------------------------------------------
step "bundle checks"
report "$("${TOOL[@]}" size "$BUNDLE" --max-mib "$BUNDLE_MAX_MIB")"
report "$("${TOOL[@]}" glibc "$BUNDLE" --max "$GLIBC_MAX" --max-glibcxx "$GLIBCXX_MAX")"

# --- 4. smoke tests of the bundle: offscreen and X11 (Xvfb, real xcb plugin) ------------------
smoke() {  # smoke NAME COMMAND...: run --self-test with a scratch GPTOSS_HOME, require OK
  local name="$1"; shift
  local out
  if ! out="$(GPTOSS_HOME="$SMOKE/home-$name" HOME="$SMOKE/home-$name" timeout 300 "$@" 2>&1)"; then
    printf '%s\n' "$out" >&2
    fail "self-test failed: $name"
  fi
  grep -q "self-test OK" <<<"$out" || fail "self-test printed no OK line: $name: $out"
  report "self-test [$name]: $(grep 'self-test OK' <<<"$out")"
}
step "smoke tests (bundle)"
smoke bundle-offscreen env QT_QPA_PLATFORM=offscreen "$BUNDLE/$APP" --self-test
smoke bundle-xvfb env -u QT_QPA_PLATFORM -u WAYLAND_DISPLAY \
  xvfb-run -a -s "-screen 0 1280x800x24" "$BUNDLE/$APP" --self-test
grep -q "self-test \[bundle-xvfb\]: .*xcb platform" "$REPORT" || fail "X11 smoke test did not use the xcb plugin"

# --- 5. AppDir ------------------------------------------------------------------------------------
step "AppDir"
rm -rf "$APPDIR"
install_tree() {  # install_tree PREFIX: bundle + desktop integration under PREFIX/usr
  local usr="$1/usr"
  mkdir -p "$usr/lib" "$usr/bin" "$usr/share/applications" "$usr/share/metainfo" \
    "$usr/share/icons/hicolor/scalable/apps"
  cp -a "$BUNDLE" "$usr/lib/$APP"
  ln -s "../lib/$APP/$APP" "$usr/bin/$APP"
  install -m 644 "resources/linux/$APP_ID.desktop" "$usr/share/applications/$APP_ID.desktop"
  install -m 644 resources/icons/gptoss-desktop.svg "$usr/share/icons/hicolor/scalable/apps/$APP_ID.svg"
  for png in resources/icons/png/gptoss-desktop-*.png; do
    local n="${png##*-}"; n="${n%.png}"
    install -D -m 644 "$png" "$usr/share/icons/hicolor/${n}x${n}/apps/$APP_ID.png"
  done
}
install_tree "$APPDIR"
# appimagetool validates usr/share/metainfo/<id>.appdata.xml.
install -m 644 "resources/linux/$APP_ID.metainfo.xml" "$APPDIR/usr/share/metainfo/$APP_ID.appdata.xml"
install -m 755 installers/linux/AppRun "$APPDIR/AppRun"
cp "resources/linux/$APP_ID.desktop" "$APPDIR/$APP_ID.desktop"
cp resources/icons/png/gptoss-desktop-256.png "$APPDIR/$APP_ID.png"
ln -s "$APP_ID.png" "$APPDIR/.DirIcon"
desktop-file-validate "$APPDIR/$APP_ID.desktop"
appstreamcli validate --no-net "$APPDIR/usr/share/metainfo/$APP_ID.appdata.xml" >/dev/null
smoke appdir-offscreen env QT_QPA_PLATFORM=offscreen "$APPDIR/AppRun" --self-test

# --- 6. .deb ----------------------------------------------------------------------------------------
step ".deb"
rm -rf "$DEBROOT"
install_tree "$DEBROOT"
install -m 644 "resources/linux/$APP_ID.metainfo.xml" "$DEBROOT/usr/share/metainfo/$APP_ID.metainfo.xml"
mkdir -p "$DEBROOT/DEBIAN" "$DEBROOT/usr/share/doc/$APP"
printf 'gptoss-desktop %s: see https://github.com/gptoss-desktop/gptoss-desktop\nLicense: Apache-2.0\n' \
  "$VERSION" >"$DEBROOT/usr/share/doc/$APP/copyright"
# Depends: the packages of every system library a bundled file needs (X11, Wayland, EGL/GL),
# glibc at the version the glibc check found. libqgtk3 is not bundled.
depends="$("${TOOL[@]}" deb-depends "$BUNDLE")"
glibc_need="$(sed -n 's/^glibc: bundle needs GLIBC_\([0-9.]*\).*/\1/p' "$REPORT")"
installed_kib="$(du -sk --apparent-size "$DEBROOT/usr" | cut -f1)"
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH_DEB/" -e "s/@INSTALLED_KIB@/$installed_kib/" \
  -e "s/@DEPENDS@/libc6 (>= $glibc_need), $depends/" installers/linux/control.in >"$DEBROOT/DEBIAN/control"
dpkg-deb --root-owner-group -Zxz --build "$DEBROOT" "$DEB" >/dev/null
report "deb Depends: libc6 (>= $glibc_need), $depends"
report "$("${TOOL[@]}" size "$DEB" --max-mib "$DEB_MAX_MIB")"

step "smoke tests (.deb unpacked into a scratch root)"
dpkg-deb -x "$DEB" "$SMOKE/root"
desktop-file-validate "$SMOKE/root/usr/share/applications/$APP_ID.desktop"
appstreamcli validate --no-net "$SMOKE/root/usr/share/metainfo/$APP_ID.metainfo.xml" >/dev/null
smoke deb-offscreen env QT_QPA_PLATFORM=offscreen "$SMOKE/root/usr/bin/$APP" --self-test
smoke deb-xvfb env -u QT_QPA_PLATFORM -u WAYLAND_DISPLAY \
  xvfb-run -a -s "-screen 0 1280x800x24" "$SMOKE/root/usr/bin/$APP" --self-test

# --- 7. GUI start (when the GUI exists): the window comes up under Xvfb and stays ----------------
if [[ -f gptoss_desktop/app.py ]]; then
  step "GUI start under Xvfb"
  SHOT="$OUT/gui-first-start.png"
  cat >"$SMOKE/gui.sh" <<GUI
#!/bin/sh
"$BUNDLE/$APP" >"$SMOKE/gui.log" 2>&1 &
pid=\$!
sleep 15
if ! kill -0 \$pid 2>/dev/null; then wait \$pid; echo "exited early with status \$?" >>"$SMOKE/gui.log"; exit 1; fi
command -v import >/dev/null && import -window root "$SHOT" 2>/dev/null
kill \$pid; wait \$pid 2>/dev/null
exit 0
GUI
  chmod +x "$SMOKE/gui.sh"
  GPTOSS_HOME="$SMOKE/home-gui" HOME="$SMOKE/home-gui" env -u QT_QPA_PLATFORM -u WAYLAND_DISPLAY \
    xvfb-run -a -s "-screen 0 1280x800x24" "$SMOKE/gui.sh" || { cat "$SMOKE/gui.log" >&2; fail "GUI did not stay up"; }
  report "GUI: window up under Xvfb (xcb) for 15 s$([[ -f "$SHOT" ]] && echo ", screenshot $SHOT")"
fi

# --- 8. AppImage (CI: appimagetool is not in Debian) -----------------------------------------------
step "AppImage"
if command -v appimagetool >/dev/null; then
  ARCH="$ARCH" appimagetool --no-appstream "$APPDIR" "$APPIMAGE" >/dev/null
  chmod +x "$APPIMAGE"
  report "$("${TOOL[@]}" size "$APPIMAGE" --max-mib "$APPIMAGE_MAX_MIB")"
  smoke appimage-offscreen env QT_QPA_PLATFORM=offscreen APPIMAGE_EXTRACT_AND_RUN=1 "$APPIMAGE" --self-test
else
  report "AppImage: skipped (appimagetool not installed; CI builds it from build/AppDir)"
fi

step "done"
cat "$REPORT"
