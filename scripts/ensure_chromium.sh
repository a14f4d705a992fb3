#!/usr/bin/env bash
# Install Debian's headless-capable Chromium for the report tests (tests/reports/test_reports.py),
# unless it is already there. The tests open report.html in it to check it renders with no
# console errors and to write a screenshot. Needs root (the CI and dev containers run as root).
set -euo pipefail

if [ -x /usr/bin/chromium ] && [ -x /usr/bin/pdftotext ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "ensure_chromium: /usr/bin/chromium is missing and this is not root; the browser" \
         "tests will be skipped (install it with: apt-get install -y chromium)." >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends chromium poppler-utils
