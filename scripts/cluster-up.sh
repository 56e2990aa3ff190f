#!/usr/bin/env bash
# Brings the cluster up on GKE, in order: the cluster (Workload Identity on),
# the Gateway API CRDs, Linkerd (CRDs, control plane, viz), linkerd-smi for
# the default SPLIT=smi-trafficsplit, ingress-nginx meshed, the Cloud SQL instance (private
# IP), its database, user and schema, the Google service account for Workload
# Identity, the Secret, the overlay; then prints the ingress address.
# Idempotent where gcloud allows it: re-running skips what exists.
#
# Configuration (environment or .env): GCP_PROJECT (required), GCP_REGION,
# GCP_ZONE, CLUSTER_NAME, SQL_INSTANCE, SQL_TIER, DOCKERHUB_USERNAME, IMAGE_TAG,
# SPLIT (smi-trafficsplit, the default, | httproute-split), DASHBOARD_URL (the Cloud Run URL,
# for ws-server's CORS), DB_NAME, DB_USER, DB_PASSWORD, DB_READ_USER, DB_READ_PASSWORD,
# DB_MIGRATE_USER, DB_MIGRATE_PASSWORD, INGEST_TOKEN.
# DRY_RUN=1 prints every command instead of running it.
# Needs: gcloud, kubectl, helm, go, and the linkerd CLI at LINKERD_VERSION with
# `linkerd smi` at LINKERD_SMI_VERSION (mesh/deploy-lib.sh; checked, a mismatch is refused).
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/env.sh
source "$SCRIPT_DIR/env.sh"
# shellcheck source=mesh/deploy-lib.sh
source "$PROJECT_ROOT/mesh/deploy-lib.sh"

GCP_REGION="${GCP_REGION:-us-central1}"
GCP_ZONE="${GCP_ZONE:-us-central1-a}"
CLUSTER_NAME="${CLUSTER_NAME:-so1-fase2}"
SQL_INSTANCE="${SQL_INSTANCE:-so1-fase2-mysql}"
SQL_TIER="${SQL_TIER:-db-custom-1-3840}"
DOCKERHUB_USERNAME="${DOCKERHUB_USERNAME:-so1fase2}"
IMAGE_TAG="${IMAGE_TAG:-$(default_image_tag)}"
SPLIT="${SPLIT:-smi-trafficsplit}"
DASHBOARD_URL="${DASHBOARD_URL:-http://localhost:8088}"
# Linkerd 2.18 and 2.19 accept Gateway API 1.1.1 - 1.2.1; the tests use the same CRDs.
GATEWAY_API_VERSION="${GATEWAY_API_VERSION:-v1.2.1}"
NAMESPACE=so1-fase2
KSA=so1-fase2-app
GSA_NAME=so1-fase2-sql

require_vars GCP_PROJECT DB_NAME DB_USER DB_PASSWORD DB_READ_USER DB_READ_PASSWORD DB_MIGRATE_USER \
  DB_MIGRATE_PASSWORD INGEST_TOKEN
case "$SPLIT" in
  smi-trafficsplit | httproute-split) ;;
  *) echo "error: SPLIT must be smi-trafficsplit or httproute-split (got '$SPLIT')" >&2; exit 2 ;;
esac
require_linkerd_versions "$SPLIT"
require_pinned_tag
require_published_image "docker.io/$DOCKERHUB_USERNAME/so1-route1-python:$IMAGE_TAG" \
  "docker.io/$DOCKERHUB_USERNAME/so1-route2-node:$IMAGE_TAG" "docker.io/$DOCKERHUB_USERNAME/so1-ws-server:$IMAGE_TAG"
require_tools gcloud kubectl linkerd helm go
GSA="$GSA_NAME@$GCP_PROJECT.iam.gserviceaccount.com"

# exists CMD...: true when a describe command succeeds (DRY_RUN: never, so
# every create is printed).
exists() {
  [[ "$DRY_RUN" != 1 ]] && "$@" >/dev/null 2>&1
}

echo "== project and APIs"
run gcloud config set project "$GCP_PROJECT"
run gcloud services enable container.googleapis.com sqladmin.googleapis.com \
  servicenetworking.googleapis.com compute.googleapis.com iamcredentials.googleapis.com

echo "== private services access (Cloud SQL private IP in the cluster's VPC)"
if ! exists gcloud compute addresses describe google-managed-services-default --global; then
  run gcloud compute addresses create google-managed-services-default --global \
    --purpose=VPC_PEERING --prefix-length=16 --network=default
  run gcloud services vpc-peerings connect --service=servicenetworking.googleapis.com \
    --ranges=google-managed-services-default --network=default
fi

echo "== GKE cluster (VPC-native, Workload Identity)"
if ! exists gcloud container clusters describe "$CLUSTER_NAME" --zone "$GCP_ZONE"; then
  run gcloud container clusters create "$CLUSTER_NAME" --zone "$GCP_ZONE" \
    --num-nodes 3 --machine-type e2-standard-4 --enable-ip-alias \
    --workload-pool "$GCP_PROJECT.svc.id.goog" --release-channel regular
fi
run gcloud container clusters get-credentials "$CLUSTER_NAME" --zone "$GCP_ZONE"

echo "== Gateway API CRDs $GATEWAY_API_VERSION (before Linkerd, which needs them)"
# The CRDs ship inside the Go module (config/crd/standard), the same files the
# tests apply to their API server.
gateway_json="$(capture "{\"Dir\": \"/root/go/pkg/mod/sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION\"}" \
  go mod download -json "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION")"
gateway_dir="$(sed -n 's/.*"Dir": "\([^"]*\)".*/\1/p' <<<"$gateway_json")"
run kubectl apply --server-side -f "$gateway_dir/config/crd/standard/"

echo "== Linkerd: CRDs, control plane, viz"
run linkerd check --pre
run_pipe "linkerd install --crds | kubectl apply --server-side -f -"
run_pipe "linkerd install | kubectl apply -f -"
run linkerd check
run_pipe "linkerd viz install | kubectl apply -f -"
run linkerd viz check
if [[ "$SPLIT" == smi-trafficsplit ]]; then
  echo "== linkerd-smi (TrafficSplit split.smi-spec.io/v1alpha2)"
  run_pipe "linkerd smi install | kubectl apply -f -"
  run linkerd smi check
fi

echo "== ingress-nginx, meshed"
run helm upgrade --install ingress-nginx ingress-nginx \
  --repo https://kubernetes.github.io/ingress-nginx \
  --namespace ingress-nginx --create-namespace \
  --set-string 'controller.podAnnotations.linkerd\.io/inject=enabled' \
  --wait

echo "== Cloud SQL (MySQL 8, private IP only)"
if ! exists gcloud sql instances describe "$SQL_INSTANCE"; then
  run gcloud sql instances create "$SQL_INSTANCE" --database-version=MYSQL_8_0 \
    --tier="$SQL_TIER" --region="$GCP_REGION" --network=default --no-assign-ip
fi
if ! exists gcloud sql databases describe "$DB_NAME" --instance "$SQL_INSTANCE"; then
  run gcloud sql databases create "$DB_NAME" --instance "$SQL_INSTANCE"
fi
# Three users: the routes', ws-server's and the migration Job's (Cloud SQL gives users made
# this way its cloudsqlsuperuser role; narrowing them, as scripts/mariadb.sh does locally,
# is not done yet).
create_sql_user() { # create_sql_user USER PASSWORD
  gcloud sql users create "$1" --instance "$SQL_INSTANCE" --host=% --password="$2" ||
    gcloud sql users set-password "$1" --instance "$SQL_INSTANCE" --host=% --password="$2"
}
run_masked "gcloud sql users create $DB_USER --instance $SQL_INSTANCE --host=% --password=<hidden> (or set-password when it exists)" -- create_sql_user "$DB_USER" "$DB_PASSWORD"
run_masked "gcloud sql users create $DB_READ_USER --instance $SQL_INSTANCE --host=% --password=<hidden> (or set-password when it exists)" -- create_sql_user "$DB_READ_USER" "$DB_READ_PASSWORD"
run_masked "gcloud sql users create $DB_MIGRATE_USER --instance $SQL_INSTANCE --host=% --password=<hidden> (or set-password when it exists)" -- create_sql_user "$DB_MIGRATE_USER" "$DB_MIGRATE_PASSWORD"

echo "== Workload Identity: $NAMESPACE/$KSA acts as $GSA (roles/cloudsql.client)"
if ! exists gcloud iam service-accounts describe "$GSA"; then
  run gcloud iam service-accounts create "$GSA_NAME" --display-name "so1-fase2 Cloud SQL client"
fi
run gcloud projects add-iam-policy-binding "$GCP_PROJECT" \
  --member "serviceAccount:$GSA" --role roles/cloudsql.client --condition=None
run gcloud iam service-accounts add-iam-policy-binding "$GSA" \
  --role roles/iam.workloadIdentityUser \
  --member "serviceAccount:$GCP_PROJECT.svc.id.goog[$NAMESPACE/$KSA]"

echo "== namespace and Secrets (the apps reach Cloud SQL through the proxy on 127.0.0.1:3306)"
run kubectl apply -f "$PROJECT_ROOT/mesh/base/namespace.yaml"
DB_HOST=127.0.0.1 DB_PORT=3306 "$PROJECT_ROOT/mesh/secrets/create-secrets.sh"

echo "== the overlay: mesh/variants/gke-$SPLIT with this deployment's values"
deploy_dir="$RUN_DIR/cluster-up/kustomization"
mkdir -p "$deploy_dir"
variant_rel="$(realpath --relative-to="$deploy_dir" "$PROJECT_ROOT/mesh/variants/gke-$SPLIT")"
cat >"$deploy_dir/kustomization.yaml" <<KUSTOMIZATION
# Written by scripts/cluster-up.sh; not committed (under RUN_DIR).
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - $variant_rel
images:
  - name: docker.io/so1fase2/so1-route1-python
    newName: docker.io/$DOCKERHUB_USERNAME/so1-route1-python
    newTag: "$IMAGE_TAG"
  - name: docker.io/so1fase2/so1-route2-node
    newName: docker.io/$DOCKERHUB_USERNAME/so1-route2-node
    newTag: "$IMAGE_TAG"
  - name: docker.io/so1fase2/so1-ws-server
    newName: docker.io/$DOCKERHUB_USERNAME/so1-ws-server
    newTag: "$IMAGE_TAG"
configMapGenerator:
  - name: cloudsql
    namespace: $NAMESPACE
    behavior: merge
    literals:
      - INSTANCE_CONNECTION_NAME=$GCP_PROJECT:$GCP_REGION:$SQL_INSTANCE
  - name: ws-server
    namespace: $NAMESPACE
    behavior: merge
    literals:
      - CORS_ORIGINS=$DASHBOARD_URL
patches:
  - patch: |-
      apiVersion: v1
      kind: ServiceAccount
      metadata:
        name: $KSA
        namespace: $NAMESPACE
        annotations:
          iam.gke.io/gcp-service-account: $GSA
KUSTOMIZATION
echo "wrote $deploy_dir/kustomization.yaml"
refuse_other_split "$SPLIT" "$NAMESPACE"
echo "== the table: the migration Job (route 1's Alembic) completes before the routes start"
# The kubectl on PATH, as every other step here (a caller's KUBECTL is not this cluster's).
KUBECTL=kubectl apply_with_migrations "$NAMESPACE" "$deploy_dir"
for deployment in route1-python route2-node ws-server; do
  run kubectl -n "$NAMESPACE" rollout status "deployment/$deployment" --timeout=300s
done

echo "== ingress address"
address=""
for _ in $(seq 60); do
  address="$(capture 203.0.113.10 kubectl -n ingress-nginx get service ingress-nginx-controller \
    -o 'jsonpath={.status.loadBalancer.ingress[0].ip}')"
  [[ -n "$address" ]] && break
  sleep 5
done
if [[ -z "$address" ]]; then
  echo "error: the ingress-nginx load balancer has no address after 5 minutes" >&2
  exit 1
fi
echo "INGRESS_ADDRESS=$address"
echo "ingestion: http://$address/api/metrics    socket.io: http://$address/socket.io/"
echo "verify the split: linkerd viz stat -n $NAMESPACE deploy   (see mesh/README.md)"
