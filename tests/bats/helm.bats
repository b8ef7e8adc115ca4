#!/usr/bin/env bats
# A Helm release (no GitOps, or Flux's HelmRelease): helm history / rollback --wait / status.

load helpers

PODS_JSONPATH='-o jsonpath=\{range\ .items\[\*\]\}\{.metadata.name\}\{\"\\t\"\}\{.spec.containers\[\*\].image\}\{\"\\n\"\}\{end\}'

setup_file() {
  [[ $WORKLOAD == helm && $GITOPS != argocd ]] || { echo "helm.bats is for a Helm release" >&2; return 1; }
}

@test "rollback: history, rollback --wait --timeout, then the release status" {
  run -0 "$SCRIPTS/rollback.sh" --yes
  assert_calls <<CALLS
helm history $SERVICE $HK
helm rollback $SERVICE $HK --wait --timeout 5m
helm status $SERVICE $HK
CALLS
}

@test "rollback --to-revision 2 --timeout 10m" {
  run -0 "$SCRIPTS/rollback.sh" --to-revision 2 --timeout 10m --yes
  assert_calls <<CALLS
helm history $SERVICE $HK
helm rollback $SERVICE 2 $HK --wait --timeout 10m
helm status $SERVICE $HK
CALLS
}

@test "rollback --dry-run: helm rollback --dry-run, nothing else" {
  run -0 "$SCRIPTS/rollback.sh" --dry-run
  assert_calls <<CALLS
helm history $SERVICE $HK
helm rollback $SERVICE $HK --wait --timeout 5m --dry-run
CALLS
}

@test "rollback: pods not ready within the timeout (helm rollback --wait fails) exits 4" {
  STUB_UNDO_RC=1 run -4 "$SCRIPTS/rollback.sh" --yes
  assert_output_has "not ready within 5m"
}

@test "rollback: a release left failed exits 4" {
  STUB_HELM_STATUS=failed run -4 "$SCRIPTS/rollback.sh" --yes
}

@test "status: pods with their images, pods, and the release status" {
  run -0 "$SCRIPTS/status.sh"
  assert_calls <<CALLS
kubectl get pods -l app=$SERVICE $K $PODS_JSONPATH
kubectl get pods -l app=$SERVICE $K
helm status $SERVICE $HK
CALLS
}

@test "history, and history --revision 2 (its values)" {
  run -0 "$SCRIPTS/history.sh"
  run -0 "$SCRIPTS/history.sh" --revision 2
  assert_calls <<CALLS
helm history $SERVICE $HK
helm get values $SERVICE --revision 2 $HK
CALLS
}

@test "verify: images, revision, release status, health check" {
  run -0 "$SCRIPTS/verify.sh"
  assert_calls <<CALLS
kubectl get pods -l app=$SERVICE $K $PODS_JSONPATH
helm history $SERVICE $HK
helm status $SERVICE $HK
curl -fsS --max-time 10 https://api.example.com/health
CALLS
}
