#!/usr/bin/env bash
# Installs what building Virtual CSM needs, skipping whatever is already there.
# Usage: scripts/setup.sh [--e2e]   (--e2e also installs Chromium for the browser tests)
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vcsm-target}"
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"
say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }

command -v cargo >/dev/null || { echo "cargo is missing: install Rust with rustup first" >&2; exit 1; }
command -v npm >/dev/null || { echo "npm is missing: install Node.js first" >&2; exit 1; }

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32 target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" != "0.3.10" ]; then
  say "installing cargo-leptos 0.3.10 (takes ~15 minutes once)"
  cargo install cargo-leptos --version 0.3.10 --locked
fi

# wasm-bindgen's CLI must match the library version in Cargo.lock exactly.
wbg_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wbg_version" ]; then
  say "installing wasm-bindgen-cli $wbg_version"
  cargo install wasm-bindgen-cli --version "$wbg_version"
fi

# Tailwind CLI and Playwright come from npm; browsers never (they can't be downloaded here).
# binaryen's wasm-opt (for release builds) comes from npm too: Debian's is too old for this
# wasm-bindgen (the optimised bundle fails to hydrate), and cargo-leptos can't download one here.
if [ ! -d node_modules/@tailwindcss/cli ] || [ ! -d node_modules/@playwright/test ] || [ ! -x node_modules/.bin/wasm-opt ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages"
  # `npm install`, not `npm ci`: npm 11 rejects lock files without every platform's optional packages.
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund
fi

if [ "${1:-}" = "--e2e" ] && [ ! -x /usr/bin/chromium ]; then
  say "installing Debian's Chromium for the browser tests"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null
fi
