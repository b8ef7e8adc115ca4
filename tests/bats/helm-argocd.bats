#!/usr/bin/env bats
# A Helm chart that Argo CD renders itself: there is no Helm release, so the scripts roll back
# the Argo CD application (argocd app history / rollback / wait), and never call helm.

load helpers

PODS_JSONPATH='-o jsonpath=\{range\ .items\[\*\]\}\{.metadata.name\}\{\"\\t\"\}\{.spec.containers\[\*\].image\}\{\"\\n\"\}\{end\}'

setup_file() {
  [[ $WORKLOAD == helm && $GITOPS == argocd ]] || { echo "helm-argocd.bats is for helm under Argo CD" >&2; return 1; }
}

@test "rollback: app history, app rollback, then a bounded app wait" {
  run -0 "$SCRIPTS/rollback.sh" --yes
  assert_calls <<CALLS
argocd app history $SERVICE $AC
argocd app rollback $SERVICE --timeout 300 $AC
argocd app wait $SERVICE --health --timeout 300 $AC
CALLS
}

@test "rollback --to-revision 0 (Argo CD history IDs start at 0) --timeout 2m" {
  run -0 "$SCRIPTS/rollback.sh" --to-revision 0 --timeout 2m --yes
  assert_calls <<CALLS
argocd app history $SERVICE $AC
argocd app rollback $SERVICE 0 --timeout 120 $AC
argocd app wait $SERVICE --health --timeout 120 $AC
CALLS
  run -2 "$SCRIPTS/rollback.sh" --to-revision 7 --yes
  assert_output_has "no revision 7"
}

@test "rollback --dry-run: argocd has no dry run, so it only shows the commands" {
  run -0 "$SCRIPTS/rollback.sh" --dry-run
  assert_calls <<CALLS
argocd app history $SERVICE $AC
CALLS
  assert_output_has "would run: argocd app rollback $SERVICE --timeout 300 $AC"
}

@test "rollback: --namespace does not apply to an Argo CD application (2, no call)" {
  run -2 "$SCRIPTS/rollback.sh" --namespace staging --yes
  assert_output_has "rolls back the Argo CD application $SERVICE"
  assert_no_calls
}

@test "rollback: an app that does not become healthy exits 4" {
  STUB_STATUS_RC=1 run -4 "$SCRIPTS/rollback.sh" --yes
}

@test "status: pods with their images, pods, and the application" {
  run -0 "$SCRIPTS/status.sh"
  assert_calls <<CALLS
kubectl get pods -l app=$SERVICE $K $PODS_JSONPATH
kubectl get pods -l app=$SERVICE $K
argocd app get $SERVICE $AC
CALLS
}

@test "history, and history --revision 1 (that row: what it deployed)" {
  run -0 "$SCRIPTS/history.sh"
  run -0 "$SCRIPTS/history.sh" --revision 1
  assert_output_has "2024-01-02 10:00:00 +0000 UTC  HEAD (2b3c4d5)"
  assert_calls <<CALLS
argocd app history $SERVICE $AC
argocd app history $SERVICE $AC
CALLS
  run -2 "$SCRIPTS/history.sh" --revision 9
}

@test "verify: images, history ID, bounded app wait, health check" {
  run -0 "$SCRIPTS/verify.sh"
  assert_calls <<CALLS
kubectl get pods -l app=$SERVICE $K $PODS_JSONPATH
argocd app history $SERVICE $AC
argocd app wait $SERVICE --health --timeout 300 $AC
curl -fsS --max-time 10 https://api.example.com/health
CALLS
}
