#!/bin/sh
# Exits 0 when $ROLLGATE_HOST serves $ROLLGATE_VERSION healthily: the app's /health answers
# `ok <version>`. ROLLGATE_VAR_PORT comes from the environment's `variables: { port: ... }`.
set -eu
answer=$(curl -fsS --max-time 3 "http://$ROLLGATE_HOST:${ROLLGATE_VAR_PORT:-8080}/health")
[ "$answer" = "ok $ROLLGATE_VERSION" ] || { echo "$ROLLGATE_HOST answered '$answer', expected 'ok $ROLLGATE_VERSION'" >&2; exit 1; }
