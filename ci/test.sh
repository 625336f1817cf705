#!/usr/bin/env bash
# The CI job: the same command a developer runs.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo xtask test "$@"
