#!/usr/bin/env bash
# chaos.sh — break a local cluster on a seeded schedule and check what its nodes said.
# `scripts/chaos.sh help` for usage; the work is in nemesis/ (built to dist/nemesis/).
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ ! -f "$REPO_ROOT/dist/nemesis/main.js" ]; then
  echo "chaos.sh: dist/nemesis/main.js is missing: build first with \`npm run build\`" >&2
  exit 1
fi
exec node "$REPO_ROOT/dist/nemesis/main.js" "$@"
