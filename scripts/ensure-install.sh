#!/bin/sh
# Installs the project's dependencies (Node 24 itself among them: the npm package `node`)
# when node_modules is missing or older than package-lock.json. Runs under whatever `node`
# the machine has (20 on a fresh machine): npm only unpacks packages here, nothing runs on 20.
set -e
cd "$(dirname "$0")/.."
marker=node_modules/.gojinn-installed
if [ -f "$marker" ] && [ "$marker" -nt package-lock.json ] && [ "$marker" -nt package.json ]; then
  exit 0
fi
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
else
  npm install --no-audit --no-fund --loglevel=error
fi
touch "$marker"
