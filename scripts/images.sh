#!/usr/bin/env bash
# The five images, built here with podman from the very Dockerfiles and build
# contexts GitHub Actions uses (scripts/images-matrix.sh reads them from
# .github/workflows/images.yml), on local stand-ins of their base images
# (scripts/base-images.sh), and tagged as the workflow tags them:
# docker.io/$DOCKERHUB_USERNAME/so1-<name>:$IMAGE_TAG.
#
#   scripts/images.sh build   build the five images, print each one's size
#   scripts/images.sh tag     print the tag (IMAGE_TAG, default: the short git SHA,
#                             which the workflow publishes for every push to main)
#   scripts/images.sh list    print NAME IMAGE, one image a line
#
# A Dockerfile's own ignore file (<Dockerfile>.dockerignore, which BuildKit
# reads for `-f <Dockerfile>`) is passed to podman as --ignorefile, so both
# send the same files; otherwise the context's .dockerignore applies to both.
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# shellcheck source=mesh/deploy-lib.sh
source "$PROJECT_ROOT/mesh/deploy-lib.sh"

podman=("$PROJECT_ROOT/scripts/podman.sh")
DOCKERHUB_USERNAME="${DOCKERHUB_USERNAME:-so1fase2}"

image_tag() { echo "${IMAGE_TAG:-$(default_image_tag)}"; }

list() {
  local tag name context file
  tag="$(image_tag)"
  while read -r name context file; do
    echo "$name docker.io/$DOCKERHUB_USERNAME/$name:$tag"
  done < <("$PROJECT_ROOT/scripts/images-matrix.sh")
}

build() {
  "$PROJECT_ROOT/scripts/base-images.sh"
  local tag name context file image ignore
  tag="$(image_tag)"
  while read -r name context file; do
    image="docker.io/$DOCKERHUB_USERNAME/$name:$tag"
    ignore=()
    [[ -f "$PROJECT_ROOT/$file.dockerignore" ]] && ignore=(--ignorefile "$PROJECT_ROOT/$file.dockerignore")
    echo "building $image (context $context/, $file)" >&2
    if ! "${podman[@]}" build --pull=never --quiet "${ignore[@]}" -f "$PROJECT_ROOT/$file" -t "$image" \
      "$PROJECT_ROOT/$context" >"$RUN_DIR/image-$name.log" 2>&1; then
      tail -n 40 "$RUN_DIR/image-$name.log" >&2
      echo "error: building $image failed (whole log: $RUN_DIR/image-$name.log)" >&2
      exit 1
    fi
  done < <("$PROJECT_ROOT/scripts/images-matrix.sh")
  printf '%-60s %10s\n' IMAGE SIZE
  while read -r name image; do
    printf '%-60s %10s\n' "$image" "$("${podman[@]}" image inspect --format '{{.Size}}' "$image" | numfmt --to=si --suffix=B)"
  done < <(list)
}

case "${1:-}" in
  build) build ;;
  tag) image_tag ;;
  list) list ;;
  *)
    echo "usage: scripts/images.sh build|tag|list" >&2
    exit 2
    ;;
esac
