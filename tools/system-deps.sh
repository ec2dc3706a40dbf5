#!/usr/bin/env bash
# Debian packages the README commands need beyond Python:
#   dataset-fashion-mnist  the real Fashion-MNIST IDX files (/usr/share/datasets/
#                          fashion-mnist), read by the data tests, the seed E page
#                          and the benchmarks;
#   chromium               headless browser for the test of the built site.
# The README's Set-up lists them with the versions tested (dpkg-query -W NAME...).
# Installs what is missing when run as root with apt-get (a fresh machine or CI);
# otherwise names what is missing and fails, so nothing is silently skipped.
set -euo pipefail
missing=()
for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
    echo "Missing Debian packages: ${missing[*]}" >&2
    echo "Install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
fi
