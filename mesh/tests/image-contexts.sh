#!/usr/bin/env bash
# Usage: image-contexts.sh WORKFLOW (from the repository root).
# Reads the matrix of images.yml (name, context, file), and checks that there
# are the five images, each Dockerfile exists, and every COPY/ADD source that
# is not from another stage exists in that image's build context: a wrong
# context fails here instead of in the first push to DockerHub.
set -uo pipefail
workflow="$1"
errors=0 images=0
check_image() {
  local name="$1" context="$2" file="$3"
  images=$((images + 1))
  local errors_before=$errors
  if [[ ! -f "$file" ]]; then
    echo "$name: $file does not exist"
    errors=$((errors + 1))
    return
  fi
  local line
  local -a words
  while read -r line; do
    read -r -a words <<<"$line"
    [[ "${words[*]}" == *--from=* ]] && continue
    local sources=() word
    for word in "${words[@]:1}"; do
      [[ "$word" == --* ]] || sources+=("$word")
    done
    unset 'sources[${#sources[@]}-1]' # the last word is the destination
    for word in "${sources[@]}"; do
      if ! compgen -G "$context/$word" >/dev/null; then
        echo "$name: '$line' copies $word, which is not in context $context/"
        errors=$((errors + 1))
      fi
    done
  done < <(grep -E '^(COPY|ADD)[[:space:]]' "$file")
  ((errors == errors_before)) && echo "ok $name: context $context, $file"
}
name="" context=""
while read -r line; do
  case "$line" in
    "- name: "*) name="${line#- name: }" ;;
    "context: "*) context="${line#context: }" ;;
    "file: "*) check_image "$name" "$context" "${line#file: }" ;;
  esac
done < <(sed -n 's/^ *\(- name: \|context: \|file: \)\([^$ ][^ ]*\)$/\1\2/p' "$workflow")
if ((images != 5)); then
  echo "want 5 images in $workflow, found $images"
  errors=$((errors + 1))
fi
((errors == 0))
