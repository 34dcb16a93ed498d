#!/usr/bin/env bash
# Debian packages the test suite needs: Chromium for the browser tests (Playwright drives Debian's
# chromium; Playwright's own browser download is not reachable). Idempotent and quiet when present.
set -eu
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
exec "$(dirname "$0")/apt_install.sh" ${need[@]+"${need[@]}"}
