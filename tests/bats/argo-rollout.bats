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

PHASE='-o jsonpath=\{.status.phase\}\{\"\\t\"\}\{.status.abort\}\{\"\\t\"\}\{.status.message\}'
PODS_JSONPATH='-o jsonpath=\{range\ .items\[\*\]\}\{.metadata.name\}\{\"\\t\"\}\{.spec.containers\[\*\].image\}\{\"\\n\"\}\{end\}'

@test "rollback --abort: aborts, then reports the Degraded rollout as aborted, not as a failure" {
  STUB_ROLLOUT_ABORTED=1 run -0 "$SCRIPTS/rollback.sh" --abort --yes
  assert_calls <<CALLS
kubectl argo rollouts get rollout $SERVICE $K
kubectl argo rollouts abort $SERVICE $K
kubectl get rollout $SERVICE $K $PHASE
CALLS
  assert_output_has "Aborted (state: Degraded true RolloutAborted"
  assert_output_has "the stable version serves again"
  assert_output_has "revert the bad change in Git"
  run -2 "$SCRIPTS/rollback.sh" --abort --to-revision 2 --yes
  run -2 "$SCRIPTS/rollback.sh" --abort --promote-full --yes
}

@test "rollback --promote-full: after the undo, skips the canary steps the undo runs again" {
  run -0 "$SCRIPTS/rollback.sh" --promote-full --yes
  assert_calls <<CALLS
kubectl argo rollouts get rollout $SERVICE $K
kubectl argo rollouts undo $SERVICE $K
kubectl argo rollouts promote $SERVICE $K --full
kubectl argo rollouts status $SERVICE $K --timeout 5m
CALLS
}

@test "rollback --dry-run: the plugin has no dry run, so it only shows the commands" {
  run -0 "$SCRIPTS/rollback.sh" --dry-run
  assert_calls <<CALLS
kubectl argo rollouts get rollout $SERVICE $K
CALLS
  assert_output_has "would run: kubectl argo rollouts undo $SERVICE $K"
  assert_output_has "would run: kubectl argo rollouts status $SERVICE $K --timeout 5m"
}

@test "rollback: a rollout status that fails exits 4 and advises the promote alone, not a second undo" {
  STUB_STATUS_RC=1 run -4 "$SCRIPTS/rollback.sh" --yes
  assert_output_has "kubectl argo rollouts promote $SERVICE $K --full"
  assert_output_has "Do not run this script again"
  [[ $output != *"--promote-full"* ]]
}

@test "status: the pods' images, pods and the rollout state without waiting" {
  run -0 "$SCRIPTS/status.sh"
  assert_calls <<CALLS
kubectl get pods -l app=$SERVICE $K $PODS_JSONPATH
kubectl get pods -l app=$SERVICE $K
kubectl argo rollouts get rollout $SERVICE $K
kubectl get rollout $SERVICE $K $PHASE
CALLS
  assert_output_has "Phase: Healthy"
}

@test "status: an aborted rollout reads as aborted with the stable version serving (exit 0)" {
  STUB_ROLLOUT_ABORTED=1 run -0 "$SCRIPTS/status.sh"
  assert_output_has "Aborted: the stable version serves"
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
kubectl get pods -l app=$SERVICE $K $PODS_JSONPATH
kubectl argo rollouts get rollout $SERVICE $K
kubectl argo rollouts status $SERVICE $K --timeout 5m
curl -fsS --max-time 10 https://api.example.com/health
CALLS
}
