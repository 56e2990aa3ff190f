#!/usr/bin/env bash
# Prints the image matrix of .github/workflows/images.yml, one image a line:
# NAME CONTEXT DOCKERFILE (paths relative to the repository root). Everything
# that builds or checks the images reads it from here, so the local builds use
# exactly the contexts and Dockerfiles GitHub Actions uses.
set -euo pipefail
workflow="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.github/workflows/images.yml}"
sed -n 's/^ *\(- name: \|context: \|file: \)\([^$ ][^ ]*\)$/\1\2/p' "$workflow" |
  awk '/^- name: / { name = $3 } /^context: / { context = $2 } /^file: / { print name, context, $2 }'
