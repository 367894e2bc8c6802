#!/usr/bin/env bash
# Install anvil (Foundry's local Ethereum node) for the tests in tests/anvil, from the npm
# registry, into the git-ignored .tools/anvil. `make anvil` runs this, and `make test` depends
# on it. Idempotent: does nothing when the pinned version is already there.
#
# The platform package (@foundry-rs/anvil-<os>-<arch>) ships the binary itself, so nothing is
# downloaded outside the registry; the wrapper package @foundry-rs/anvil would only add a
# postinstall step that picks the same platform package. --ignore-scripts: no install scripts.
#
# The binary ends up at .tools/anvil/node_modules/.bin/anvil, where tests/anvil/conftest.py
# looks for it (TOKENPULSE_ANVIL overrides the path). If it cannot be installed the script
# fails under CI (CI=true), where the tests must run; elsewhere it warns, and those tests skip.
set -euo pipefail

ANVIL_VERSION="${ANVIL_VERSION:-1.7.1}"
cd "$(dirname "$0")/../.."
prefix=.tools/anvil
bin="$prefix/node_modules/.bin/anvil"

give_up() {
  if [ "${CI:-}" = true ]; then
    echo "anvil: $* (CI needs it for tests/anvil)" >&2
    exit 1
  fi
  echo "anvil: $*; the tests in tests/anvil will be skipped" >&2
  exit 0
}

if [ -x "$bin" ]; then
  installed="$("$bin" --version 2>/dev/null || true)"
  case "$installed" in *"Version: ${ANVIL_VERSION}"$'\n'* | *"Version: ${ANVIL_VERSION}") exit 0 ;; esac
fi

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) platform=linux-amd64 ;;
  Linux-aarch64 | Linux-arm64) platform=linux-arm64 ;;
  Darwin-x86_64) platform=darwin-amd64 ;;
  Darwin-arm64) platform=darwin-arm64 ;;
  *) give_up "no npm package of anvil for $(uname -s) $(uname -m)" ;;
esac

if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "anvil: npm not found; apt-get install npm" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends npm </dev/null >/dev/null \
      || give_up "could not install npm"
  else
    give_up "npm not found (install Node.js and npm)"
  fi
fi

package="@foundry-rs/anvil-${platform}@${ANVIL_VERSION}"
echo "anvil: npm install $package into $prefix" >&2
rm -rf "$prefix"
mkdir -p "$prefix"
npm install --prefix "$prefix" --no-save --no-package-lock --ignore-scripts \
  --no-audit --no-fund --loglevel=error "$package" </dev/null >&2 \
  || give_up "npm install $package failed"
"$bin" --version >/dev/null || give_up "$bin does not run"
echo "anvil: $("$bin" --version | head -n 1)" >&2
