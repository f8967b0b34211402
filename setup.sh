#!/usr/bin/env bash
# Installs everything pressrun needs on a fresh Debian machine, once:
#   - Chromium, fonts, and the PDF and image tools the tests use (Debian packages;
#     fonts-wqy-microhei is the TrueType CJK fallback template/fontconfig/fonts.conf
#     prefers: Noto CJK is OpenType-CFF, which Chromium prints as Type 3;
#     fonts-lxgw-wenkai and fonts-nanum give bold CJK text a real TrueType bold
#     face, see template/page_spec.ts appendBoldFallbacks)
#   - redis-server for queue mode's tests: each test starts its own
#   - zbar-tools and dmtx-utils: the barcode tests read the printed Code 128,
#     EAN-13 (zbarimg) and Data Matrix (dmtxread) codes back
#   - Deno and the npm dependencies (npm ci, from package-lock.json)
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")"

packages=(chromium fonts-liberation fonts-noto-core fonts-noto-cjk fonts-wqy-microhei fonts-lxgw-wenkai fonts-nanum poppler-utils qpdf imagemagick ghostscript redis-server zbar-tools dmtx-utils)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]} (apt)" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x node_modules/.bin/deno ] || ! npm ls --omit=optional >/dev/null 2>&1; then
  echo "setup: installing Deno and npm packages (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
