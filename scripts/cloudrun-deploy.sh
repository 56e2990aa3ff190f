#!/usr/bin/env bash
# Deploys the React dashboard to Cloud Run from its Knative service file,
# web-dashboard/cloudrun/service.yaml, with this deployment's image and
# WS_UPSTREAM (ws-server's address: the cluster's http ingress), lets anyone
# open it, and prints its URL (give it to scripts/cluster-up.sh as DASHBOARD_URL
# for ws-server's CORS). The dashboard's server proxies /socket.io/ to
# WS_UPSTREAM, so the https page never opens an http:// or ws:// URL (mixed
# content, which browsers block).
#
# Configuration (environment or .env): GCP_PROJECT, GCP_REGION,
# DOCKERHUB_USERNAME, IMAGE_TAG, WS_UPSTREAM (required, http://<ingress address>).
# DRY_RUN=1 prints every command instead of running it.
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/env.sh
source "$SCRIPT_DIR/env.sh"
# shellcheck source=mesh/deploy-lib.sh
source "$PROJECT_ROOT/mesh/deploy-lib.sh"

GCP_REGION="${GCP_REGION:-us-central1}"
DOCKERHUB_USERNAME="${DOCKERHUB_USERNAME:-so1fase2}"
IMAGE_TAG="${IMAGE_TAG:-$(default_image_tag)}"
SERVICE_FILE="${SERVICE_FILE:-$PROJECT_ROOT/web-dashboard/cloudrun/service.yaml}"
IMAGE="docker.io/$DOCKERHUB_USERNAME/so1-web-dashboard:$IMAGE_TAG"

if [[ -z "${WS_UPSTREAM:-}" && -n "${WS_URL:-}" ]]; then
  echo "error: the Cloud Run dashboard takes WS_UPSTREAM (ws-server as its server reaches it, e.g. WS_UPSTREAM=$WS_URL), not WS_URL: an https page cannot open http:// or ws:// URLs" >&2
  exit 2
fi
require_vars GCP_PROJECT WS_UPSTREAM
require_pinned_tag
require_published_image "$IMAGE"
if ! [[ "$WS_UPSTREAM" =~ ^http://[^/[:space:]\"|]+/?$ ]]; then
  echo "error: WS_UPSTREAM must be http://host[:port] with no path, such as http://203.0.113.10 (got '$WS_UPSTREAM')" >&2
  exit 2
fi
if [[ ! -f "$SERVICE_FILE" ]]; then
  echo "error: $SERVICE_FILE does not exist" >&2
  exit 1
fi
require_tools gcloud

# The service file names the image (a line `image: ...so1-web-dashboard...`)
# and the env var WS_UPSTREAM (`- name: WS_UPSTREAM` with `value:` on the next
# line); this deployment's values replace both, in a copy under RUN_DIR.
rendered="$RUN_DIR/cloudrun/service.yaml"
mkdir -p "$(dirname "$rendered")"
sed -e "s|^\([[:space:]]*\)\(- \)\{0,1\}image:.*so1-web-dashboard.*$|\1\2image: $IMAGE|" \
  -e "/name:[[:space:]]*WS_UPSTREAM[[:space:]]*$/{n;s|value:.*$|value: \"$WS_UPSTREAM\"|;}" \
  "$SERVICE_FILE" >"$rendered"
if ! grep -q "image: $IMAGE\$" "$rendered" || ! grep -qF "value: \"$WS_UPSTREAM\"" "$rendered"; then
  echo "error: $SERVICE_FILE must name the so1-web-dashboard image and a WS_UPSTREAM env var; see $rendered" >&2
  exit 1
fi
service="$(sed -n '/^metadata:/,/^spec:/s/^  name:[[:space:]]*\([a-z0-9-]*\).*$/\1/p' "$rendered" | head -n1)"
if [[ -z "$service" ]]; then
  echo "error: $SERVICE_FILE has no metadata.name" >&2
  exit 1
fi
if grep -q "name:[[:space:]]*WS_URL[[:space:]]*$" "$rendered"; then
  echo "error: $SERVICE_FILE sets WS_URL too; the dashboard refuses to start with both WS_URL and WS_UPSTREAM" >&2
  exit 1
fi
echo "wrote $rendered (service $service, image $IMAGE, WS_UPSTREAM $WS_UPSTREAM)"

run gcloud config set project "$GCP_PROJECT"
run gcloud services enable run.googleapis.com
run gcloud run services replace "$rendered" --region "$GCP_REGION"
# A public dashboard: the browser opens it without Google credentials.
run gcloud run services add-iam-policy-binding "$service" --region "$GCP_REGION" \
  --member allUsers --role roles/run.invoker
url="$(capture "https://$service-abc123-uc.a.run.app" gcloud run services describe "$service" \
  --region "$GCP_REGION" --format 'value(status.url)')"
echo "DASHBOARD_URL=$url"
echo "next: DASHBOARD_URL=$url scripts/cluster-up.sh  (ws-server accepts this origin)"
