#!/usr/bin/env bash
# Deploys the React dashboard to Cloud Run from its Knative service file,
# web-dashboard/cloudrun/service.yaml, with this deployment's image and WS_URL
# (the ws-server's public URL: the cluster's ingress), lets anyone open it, and
# prints its URL (give it to scripts/cluster-up.sh as DASHBOARD_URL for
# ws-server's CORS).
#
# Configuration (environment or .env): GCP_PROJECT, GCP_REGION,
# DOCKERHUB_USERNAME, IMAGE_TAG, WS_URL (required, e.g. http://<ingress address>).
# DRY_RUN=1 prints every command instead of running it.
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/env.sh
source "$SCRIPT_DIR/env.sh"
# shellcheck source=mesh/deploy-lib.sh
source "$PROJECT_ROOT/mesh/deploy-lib.sh"

GCP_REGION="${GCP_REGION:-us-central1}"
DOCKERHUB_USERNAME="${DOCKERHUB_USERNAME:-so1fase2}"
IMAGE_TAG="${IMAGE_TAG:-0.1.0}"
SERVICE_FILE="${SERVICE_FILE:-$PROJECT_ROOT/web-dashboard/cloudrun/service.yaml}"
IMAGE="docker.io/$DOCKERHUB_USERNAME/so1-web-dashboard:$IMAGE_TAG"

require_vars GCP_PROJECT WS_URL
if [[ "$IMAGE_TAG" == latest ]]; then
  echo "error: IMAGE_TAG must be a pinned tag (a version or a git SHA), not latest" >&2
  exit 2
fi
if ! [[ "$WS_URL" =~ ^https?://[^/[:space:]]+ ]]; then
  echo "error: WS_URL must be an http(s) URL such as http://203.0.113.10 (got '$WS_URL')" >&2
  exit 2
fi
if [[ ! -f "$SERVICE_FILE" ]]; then
  echo "error: $SERVICE_FILE does not exist" >&2
  exit 1
fi
require_tools gcloud

# The service file names the image (a line `image: ...so1-web-dashboard...`)
# and the env var WS_URL (`- name: WS_URL` with `value:` on the next line);
# this deployment's values replace both, in a copy under RUN_DIR.
rendered="$RUN_DIR/cloudrun/service.yaml"
mkdir -p "$(dirname "$rendered")"
sed -e "s|^\([[:space:]]*\)\(- \)\{0,1\}image:.*so1-web-dashboard.*$|\1\2image: $IMAGE|" \
  -e "/name:[[:space:]]*WS_URL[[:space:]]*$/{n;s|value:.*$|value: \"$WS_URL\"|;}" \
  "$SERVICE_FILE" >"$rendered"
if ! grep -q "image: $IMAGE\$" "$rendered" || ! grep -q "value: \"$WS_URL\"" "$rendered"; then
  echo "error: $SERVICE_FILE must name the so1-web-dashboard image and a WS_URL env var; see $rendered" >&2
  exit 1
fi
service="$(sed -n '/^metadata:/,/^spec:/s/^  name:[[:space:]]*\([a-z0-9-]*\).*$/\1/p' "$rendered" | head -n1)"
if [[ -z "$service" ]]; then
  echo "error: $SERVICE_FILE has no metadata.name" >&2
  exit 1
fi
echo "wrote $rendered (service $service, image $IMAGE, WS_URL $WS_URL)"

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
