#!/usr/bin/env bats
# Argo Rollouts: the kubectl argo rollouts plugin (no history subcommand: `get rollout`).

load helpers

setup_file() {
  [[ $WORKLOAD == argo-rollout ]] || { echo "argo-rollout.bats is not for $WORKLOAD" >&2; return 1; }
}

@test "rollback: get rollout (the revisions), undo, then a bounded status" {
  run -0 "$SCRIPTS/rollback.sh" --yes
  assert_calls <<CALLS
kubectl argo rollouts get rollout $SERVICE $K
kubectl argo rollouts undo $SERVICE $K
kubectl argo rollouts status $SERVICE $K --timeout 5m
CALLS
}

@test "rollback --to-revision 2" {
  run -0 "$SCRIPTS/rollback.sh" --to-revision 2 --yes
  assert_calls <<CALLS
kubectl argo rollouts get rollout $SERVICE $K
kubectl argo rollouts undo $SERVICE $K --to-revision=2
kubectl argo rollouts status $SERVICE $K --timeout 5m
CALLS
}

@test "rollback --abort: aborts the rollout in progress and does not wait for a Degraded rollout" {
  run -0 "$SCRIPTS/rollback.sh" --abort --yes
  assert_calls <<CALLS
kubectl argo rollouts get rollout $SERVICE $K
kubectl argo rollouts abort $SERVICE $K
CALLS
  assert_output_has "revert the bad change in Git"
  run -2 "$SCRIPTS/rollback.sh" --abort --to-revision 2 --yes
}

@test "rollback --dry-run: the plugin has no dry run, so it only shows the commands" {
  run -0 "$SCRIPTS/rollback.sh" --dry-run
  assert_calls <<CALLS
kubectl argo rollouts get rollout $SERVICE $K
CALLS
  assert_output_has "would run: kubectl argo rollouts undo $SERVICE $K"
  assert_output_has "would run: kubectl argo rollouts status $SERVICE $K --timeout 5m"
}

@test "rollback: a rollout status that fails exits 4" {
  STUB_STATUS_RC=1 run -4 "$SCRIPTS/rollback.sh" --yes
}

@test "status: image, pods and the rollout state without waiting" {
  run -0 "$SCRIPTS/status.sh"
  assert_calls <<CALLS
kubectl get rollout $SERVICE $K -o jsonpath=\{.spec.template.spec.containers\[\*\].image\}
kubectl get pods -l app=$SERVICE $K
kubectl argo rollouts status $SERVICE $K --watch=false
CALLS
}

@test "history: get rollout lists every revision (also for --revision)" {
  run -0 "$SCRIPTS/history.sh"
  run -0 "$SCRIPTS/history.sh" --revision 2
  assert_output_has "no per-revision view"
  assert_calls <<CALLS
kubectl argo rollouts get rollout $SERVICE $K
kubectl argo rollouts get rollout $SERVICE $K
CALLS
}

@test "verify: image, revision, bounded wait, health check" {
  run -0 "$SCRIPTS/verify.sh"
  assert_calls <<CALLS
kubectl get rollout $SERVICE $K -o jsonpath=\{.spec.template.spec.containers\[\*\].image\}
kubectl argo rollouts get rollout $SERVICE $K
kubectl argo rollouts status $SERVICE $K --timeout 5m
curl -fsS --max-time 10 https://api.example.com/health
CALLS
}
