#!/usr/bin/env bats
# Deployment and StatefulSet: the exact kubectl rollout commands (docs/runbooks/rollback.md).

load helpers

setup_file() {
  [[ $WORKLOAD == deployment || $WORKLOAD == statefulset ]] || {
    echo "kubectl-rollout.bats is for deployment and statefulset, not $WORKLOAD" >&2
    return 1
  }
}

@test "rollback: history, undo, then a bounded rollout status" {
  run -0 "$SCRIPTS/rollback.sh" --yes
  assert_calls <<CALLS
kubectl rollout history $WORKLOAD/$SERVICE $K
kubectl rollout undo $WORKLOAD/$SERVICE $K
kubectl rollout status $WORKLOAD/$SERVICE $K --timeout=5m
CALLS
}

@test "rollback --to-revision 2 --timeout 90s" {
  run -0 "$SCRIPTS/rollback.sh" --to-revision 2 --timeout 90s --yes
  assert_calls <<CALLS
kubectl rollout history $WORKLOAD/$SERVICE $K
kubectl rollout undo $WORKLOAD/$SERVICE $K --to-revision=2
kubectl rollout status $WORKLOAD/$SERVICE $K --timeout=90s
CALLS
}

@test "rollback --dry-run: a server-side dry run of the undo, and no wait" {
  run -0 "$SCRIPTS/rollback.sh" --dry-run --to-revision 1
  assert_calls <<CALLS
kubectl rollout history $WORKLOAD/$SERVICE $K
kubectl rollout undo $WORKLOAD/$SERVICE $K --to-revision=1 --dry-run=server
CALLS
  assert_output_has "would run: kubectl rollout status $WORKLOAD/$SERVICE $K --timeout=5m"
}

@test "rollback: a rollout status that fails exits 4" {
  STUB_STATUS_RC=1 run -4 "$SCRIPTS/rollback.sh" --yes
  assert_output_has "did not become healthy within 5m"
}

@test "rollback: a stuck StatefulSet shows its pods' revisions and how to delete the bad ones" {
  [[ $WORKLOAD == statefulset ]] || skip "StatefulSet only"
  STUB_STATUS_RC=1 run -4 "$SCRIPTS/rollback.sh" --yes
  assert_calls <<CALLS
kubectl rollout history statefulset/$SERVICE $K
kubectl rollout undo statefulset/$SERVICE $K
kubectl rollout status statefulset/$SERVICE $K --timeout=5m
kubectl get pods -l app=$SERVICE $K -L controller-revision-hash
kubectl get statefulset $SERVICE $K -o jsonpath=\{.status.updateRevision\}
CALLS
  assert_output_has "kubectl delete pod POD_NAME $K"
  assert_no_mutating_calls_but_the_undo
}

assert_no_mutating_calls_but_the_undo() {
  [ "$(mutating_calls)" = "kubectl rollout undo statefulset/$SERVICE $K" ]
}

@test "status: image, pods and the rollout state without waiting" {
  run -0 "$SCRIPTS/status.sh"
  assert_calls <<CALLS
kubectl get $WORKLOAD $SERVICE $K -o jsonpath=\{.spec.template.spec.containers\[\*\].image\}
kubectl get pods -l app=$SERVICE $K
kubectl rollout status $WORKLOAD/$SERVICE $K --watch=false
CALLS
}

@test "history, and history --revision 2" {
  run -0 "$SCRIPTS/history.sh"
  run -0 "$SCRIPTS/history.sh" --revision 2
  assert_calls <<CALLS
kubectl rollout history $WORKLOAD/$SERVICE $K
kubectl rollout history $WORKLOAD/$SERVICE $K --revision=2
CALLS
}

@test "verify: image, revision, bounded wait, health check" {
  run -0 "$SCRIPTS/verify.sh" --timeout 2m
  assert_calls <<CALLS
kubectl get $WORKLOAD $SERVICE $K -o jsonpath=\{.spec.template.spec.containers\[\*\].image\}
kubectl rollout history $WORKLOAD/$SERVICE $K
kubectl rollout status $WORKLOAD/$SERVICE $K --timeout=2m
curl -fsS --max-time 10 https://api.example.com/health
CALLS
}
