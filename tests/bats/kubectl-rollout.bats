#!/usr/bin/env bats
# Deployment and StatefulSet: the exact kubectl rollout commands (docs/runbooks/rollback.md).

load helpers

# A StatefulSet's strategy and its pods' revisions, which the scripts read to handle OnDelete,
# partitions and pods stuck on the bad revision (the forced rollback).
STRATEGY='-o jsonpath=\{.spec.updateStrategy.type\}\ \{.spec.updateStrategy.rollingUpdate.partition\}'
UPDATE_REVISION='-o jsonpath=\{.metadata.uid\}\{\"\\t\"\}\{.status.updateRevision\}'
# The pods with their controller owner's uid (only the StatefulSet's own are ever touched).
POD_REVISIONS='-o jsonpath=\{range\ .items\[\*\]\}\{.metadata.name\}\{\"\\t\"\}\{.metadata.ownerReferences\[\?\(@.controller==true\)\].uid\}\{\"\\t\"\}\{.metadata.labels.controller-revision-hash\}\{\"\\t\"\}\{.status.conditions\[\?\(@.type==\"Ready\"\)\].status\}\{\"\\t\"\}\{.metadata.deletionTimestamp\}\{\"\\n\"\}\{end\}'

setup() {
  common_setup
  STS_STRATEGY="" STS_STALE="" PAUSED_CHECK=""
  if [[ $WORKLOAD == deployment ]]; then
    # rollout undo refuses a paused Deployment: rollback.sh reads .spec.paused first.
    PAUSED_CHECK="kubectl get deployment $SERVICE $K -o jsonpath=\{.spec.paused\}"
  fi
  if [[ $WORKLOAD == statefulset ]]; then
    STS_STRATEGY="kubectl get statefulset $SERVICE $K $STRATEGY"
    STS_STALE="$STS_STRATEGY
kubectl get statefulset $SERVICE $K $UPDATE_REVISION
kubectl get pods -l app=$SERVICE $K $POD_REVISIONS"
  fi
}

# assert_calls without the lines that are empty for a Deployment.
assert_lines() { grep . | assert_calls; }

setup_file() {
  [[ $WORKLOAD == deployment || $WORKLOAD == statefulset ]] || {
    echo "kubectl-rollout.bats is for deployment and statefulset, not $WORKLOAD" >&2
    return 1
  }
}

@test "rollback: history, undo, then a bounded rollout status" {
  run -0 "$SCRIPTS/rollback.sh" --yes
  assert_lines <<CALLS
kubectl rollout history $WORKLOAD/$SERVICE $K
$PAUSED_CHECK
kubectl rollout undo $WORKLOAD/$SERVICE $K
$STS_STALE
$STS_STRATEGY
kubectl rollout status $WORKLOAD/$SERVICE $K --timeout=5m
CALLS
}

@test "rollback --to-revision 2 --timeout 90s" {
  run -0 "$SCRIPTS/rollback.sh" --to-revision 2 --timeout 90s --yes
  assert_lines <<CALLS
kubectl rollout history $WORKLOAD/$SERVICE $K
$PAUSED_CHECK
kubectl rollout undo $WORKLOAD/$SERVICE $K --to-revision=2
$STS_STALE
$STS_STRATEGY
kubectl rollout status $WORKLOAD/$SERVICE $K --timeout=90s
CALLS
}

@test "rollback --dry-run: a server-side dry run of the undo, and no wait" {
  run -0 "$SCRIPTS/rollback.sh" --dry-run --to-revision 1
  assert_lines <<CALLS
kubectl rollout history $WORKLOAD/$SERVICE $K
$PAUSED_CHECK
kubectl rollout undo $WORKLOAD/$SERVICE $K --to-revision=1 --dry-run=server
CALLS
  assert_output_has "would run: kubectl rollout status $WORKLOAD/$SERVICE $K --timeout=5m"
}

@test "rollback: a paused Deployment is resumed first (undo refuses it), and the dry run says so" {
  [[ $WORKLOAD == deployment ]] || skip "Deployment only"
  STUB_PAUSED=true run -0 "$SCRIPTS/rollback.sh" --yes
  assert_lines <<CALLS
kubectl rollout history deployment/$SERVICE $K
$PAUSED_CHECK
kubectl rollout resume deployment/$SERVICE $K
kubectl rollout undo deployment/$SERVICE $K
kubectl rollout status deployment/$SERVICE $K --timeout=5m
CALLS
  assert_output_has "kubectl rollout undo refuses a paused"
  rm -f "$STUB_LOG"
  STUB_PAUSED=true run -0 "$SCRIPTS/rollback.sh" --dry-run
  assert_output_has "would run: kubectl rollout resume deployment/$SERVICE $K"
  [[ -z $(mutating_calls) ]]
}

@test "rollback: a rollout status that fails exits 4" {
  STUB_STATUS_RC=1 run -4 "$SCRIPTS/rollback.sh" --yes
  assert_output_has "did not become healthy within 5m"
}

@test "rollback: a StatefulSet pod stuck on the bad revision is deleted, then waited for (forced rollback)" {
  [[ $WORKLOAD == statefulset ]] || skip "StatefulSet only"
  STUB_STALE_POD=$SERVICE-1:False run -0 "$SCRIPTS/rollback.sh" --yes
  assert_lines <<CALLS
kubectl rollout history statefulset/$SERVICE $K
kubectl rollout undo statefulset/$SERVICE $K
$STS_STALE
kubectl delete pod $SERVICE-1 $K --wait=true
kubectl version --client -o json
kubectl wait pod $SERVICE-1 $K --for=create --timeout=5m
kubectl wait pod $SERVICE-1 $K --for=condition=Ready --timeout=5m
$STS_STRATEGY
kubectl rollout status statefulset/$SERVICE $K --timeout=5m
CALLS
}

@test "rollback: the forced rollback deletes only the StatefulSet's own pods (a shared selector finds others)" {
  [[ $WORKLOAD == statefulset ]] || skip "StatefulSet only"
  STUB_OTHER_PODS=1 STUB_STS_STRATEGY="OnDelete " STUB_STALE_POD=$SERVICE-1:True run -4 "$SCRIPTS/rollback.sh" --yes
  [[ $(mutating_calls) == "kubectl rollout undo statefulset/$SERVICE $K
kubectl delete pod $SERVICE-1 $K --wait=true" ]]
}

@test "rollback: kubectl older than 1.31 polls, bounded, until the deleted pod is back" {
  [[ $WORKLOAD == statefulset ]] || skip "StatefulSet only"
  STUB_KUBECTL_MINOR=30 STUB_STALE_POD=$SERVICE-1:False run -0 "$SCRIPTS/rollback.sh" --yes
  all_calls | grep -qx "kubectl get pod $SERVICE-1 $K -o name"
  ! all_calls | grep -q -- "--for=create"
  assert_output_has "kubectl 1.30 is older than 1.31"
}

@test "rollback: a Ready StatefulSet pod on the old revision is left to the controller (RollingUpdate)" {
  [[ $WORKLOAD == statefulset ]] || skip "StatefulSet only"
  STUB_STALE_POD=$SERVICE-1:True run -0 "$SCRIPTS/rollback.sh" --yes
  [[ $(mutating_calls) == "kubectl rollout undo statefulset/$SERVICE $K" ]]
}

@test "rollback: with OnDelete every pod on the old revision is replaced, and rollout status is not used" {
  [[ $WORKLOAD == statefulset ]] || skip "StatefulSet only"
  # The stub keeps reporting the pod as stale, so the final check sees it and exits 4: what
  # matters is that the undo is followed by the delete, and that rollout status never runs.
  STUB_STS_STRATEGY="OnDelete " STUB_STALE_POD=$SERVICE-1:True run -4 "$SCRIPTS/rollback.sh" --yes
  assert_lines <<CALLS
kubectl rollout history statefulset/$SERVICE $K
kubectl rollout undo statefulset/$SERVICE $K
$STS_STALE
kubectl delete pod $SERVICE-1 $K --wait=true
kubectl version --client -o json
kubectl wait pod $SERVICE-1 $K --for=create --timeout=5m
kubectl wait pod $SERVICE-1 $K --for=condition=Ready --timeout=5m
$STS_STALE
CALLS
  assert_output_has "OnDelete: these pods still run another revision"
}

@test "rollback --dry-run of a StatefulSet deletes no pod" {
  [[ $WORKLOAD == statefulset ]] || skip "StatefulSet only"
  STUB_STALE_POD=$SERVICE-1:False run -0 "$SCRIPTS/rollback.sh" --dry-run
  [[ -z $(mutating_calls) ]]
  assert_output_has "then delete, one at a time, the pods of another revision"
}

@test "status: image, pods and the rollout state without waiting" {
  run -0 "$SCRIPTS/status.sh"
  assert_lines <<CALLS
kubectl get $WORKLOAD $SERVICE $K -o jsonpath=\{.spec.template.spec.containers\[\*\].image\}
kubectl get pods -l app=$SERVICE $K
$STS_STRATEGY
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
  assert_lines <<CALLS
kubectl get $WORKLOAD $SERVICE $K -o jsonpath=\{.spec.template.spec.containers\[\*\].image\}
kubectl rollout history $WORKLOAD/$SERVICE $K
$STS_STRATEGY
kubectl rollout status $WORKLOAD/$SERVICE $K --timeout=2m
curl -fsS --max-time 10 https://api.example.com/health
CALLS
}

@test "status and verify: a StatefulSet with OnDelete shows the pods still on another revision" {
  [[ $WORKLOAD == statefulset ]] || skip "StatefulSet only"
  STUB_STS_STRATEGY="OnDelete " STUB_STALE_POD=$SERVICE-1:True run -0 "$SCRIPTS/status.sh"
  assert_output_has "$SERVICE-1 True"
  STUB_STS_STRATEGY="OnDelete " STUB_STALE_POD=$SERVICE-1:True run -4 "$SCRIPTS/verify.sh"
  STUB_STS_STRATEGY="OnDelete " run -0 "$SCRIPTS/verify.sh"
  # Each of the StatefulSet's own pods, by name (the selector may find other workloads' pods).
  assert_output_has "kubectl wait pod $SERVICE-0 $K --for=condition=Ready --timeout=5m"
}

@test "verify: an OnDelete StatefulSet is done only once it observed its spec and every pod is updated and Ready" {
  [[ $WORKLOAD == statefulset ]] || skip "StatefulSet only"
  # rollout status refuses OnDelete: the counts are read instead, never rollout status.
  STUB_STS_STRATEGY="OnDelete " run -0 "$SCRIPTS/verify.sh"
  all_calls | grep -q "^kubectl get statefulset/$SERVICE $K -o jsonpath=.*observedGeneration.*updatedReplicas.*readyReplicas"
  ! all_calls | grep -q "rollout status"
  # Negative controls, each bounded by --timeout: the undo not observed yet (generation 3,
  # observed 2), one pod still on the old revision, one pod not Ready.
  for counts in 3,2,2,2,2,2 2,2,2,1,2,2 2,2,2,2,1,2; do
    STUB_STS_STRATEGY="OnDelete " STUB_STS_COUNTS=$counts run -4 "$SCRIPTS/verify.sh" --timeout 1s
    assert_output_has "not done after 1s"
  done
}

@test "verify: a StatefulSet with a partition says rollout status covers only part of it" {
  [[ $WORKLOAD == statefulset ]] || skip "StatefulSet only"
  STUB_STS_STRATEGY="RollingUpdate 2" run -0 "$SCRIPTS/verify.sh"
  assert_output_has "partition 2"
}
