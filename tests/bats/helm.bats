#!/usr/bin/env bats
# A Helm release (no GitOps, or Flux's HelmRelease): helm history / rollback --wait / status,
# then each workload of the chart's own bounded rollout status (STATUS deployed is not health).

load helpers

PODS_JSONPATH='-o jsonpath=\{range\ .items\[\*\]\}\{.metadata.name\}\{\"\\t\"\}\{.spec.containers\[\*\].image\}\{\"\\n\"\}\{end\}'

# How the scripts find the chart's workload: the pods' owner, and the ReplicaSet's owner.
OWNER='-o jsonpath=\{.metadata.ownerReferences\[\?\(@.controller==true\)\].kind\}/\{.metadata.ownerReferences\[\?\(@.controller==true\)\].name\}'
PODS_OWNERS='-o jsonpath=\{range\ .items\[\*\]\}\{.metadata.ownerReferences\[\?\(@.controller==true\)\].kind\}/\{.metadata.ownerReferences\[\?\(@.controller==true\)\].name\}\{\"\\n\"\}\{end\}'

setup() {
  common_setup
  WORKLOADS_FOUND="kubectl get pods -l app=$SERVICE $K $PODS_OWNERS
kubectl get replicaset $SERVICE-7c9d8f6b5 $K $OWNER"
}

setup_file() {
  [[ $WORKLOAD == helm && $GITOPS != argocd ]] || { echo "helm.bats is for a Helm release" >&2; return 1; }
}

@test "rollback: history, rollback --wait --timeout, then the release status" {
  run -0 "$SCRIPTS/rollback.sh" --yes
  assert_calls <<CALLS
helm history $HELM_RELEASE $HK
helm get manifest $HELM_RELEASE $HK
helm rollback $HELM_RELEASE $HK --wait --timeout 5m
helm status $HELM_RELEASE $HK
$WORKLOADS_FOUND
kubectl rollout status deployment/$SERVICE $K --timeout=5m
CALLS
}

@test "rollback --to-revision 2 --timeout 10m" {
  run -0 "$SCRIPTS/rollback.sh" --to-revision 2 --timeout 10m --yes
  assert_calls <<CALLS
helm history $HELM_RELEASE $HK
helm get manifest $HELM_RELEASE $HK
helm rollback $HELM_RELEASE 2 $HK --wait --timeout 10m
helm status $HELM_RELEASE $HK
$WORKLOADS_FOUND
kubectl rollout status deployment/$SERVICE $K --timeout=10m
CALLS
}

@test "rollback --dry-run: helm rollback --dry-run, nothing else" {
  run -0 "$SCRIPTS/rollback.sh" --dry-run
  assert_calls <<CALLS
helm history $HELM_RELEASE $HK
helm get manifest $HELM_RELEASE $HK
helm rollback $HELM_RELEASE $HK --wait --timeout 5m --dry-run
CALLS
}

@test "rollback: a failed helm rollback is a failed command (1), not a failed verification" {
  STUB_UNDO_RC=1 run -1 "$SCRIPTS/rollback.sh" --yes
  assert_output_has "the rollback command failed"
}

@test "rollback: a workload that does not finish its rollout in time exits 4" {
  STUB_STATUS_RC=1 run -4 "$SCRIPTS/rollback.sh" --yes
  assert_output_has "did not become healthy within 5m"
}

@test "rollback: a release left failed exits 4" {
  STUB_HELM_STATUS=failed run -4 "$SCRIPTS/rollback.sh" --yes
}

@test "status: pods with their images, pods, and the release status" {
  run -0 "$SCRIPTS/status.sh"
  assert_calls <<CALLS
kubectl get pods -l app=$SERVICE $K $PODS_JSONPATH
kubectl get pods -l app=$SERVICE $K
helm status $HELM_RELEASE $HK
CALLS
}

@test "history, and history --revision 2 (its values)" {
  run -0 "$SCRIPTS/history.sh"
  run -0 "$SCRIPTS/history.sh" --revision 2
  assert_calls <<CALLS
helm history $HELM_RELEASE $HK
helm get values $HELM_RELEASE --revision 2 $HK
CALLS
}

@test "verify: images, revision, release status, health check" {
  run -0 "$SCRIPTS/verify.sh"
  assert_calls <<CALLS
kubectl get pods -l app=$SERVICE $K $PODS_JSONPATH
helm history $HELM_RELEASE $HK
helm status $HELM_RELEASE $HK
$WORKLOADS_FOUND
kubectl rollout status deployment/$SERVICE $K --timeout=5m
curl -fsS --max-time 10 https://api.example.com/health
CALLS
}
