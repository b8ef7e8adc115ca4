#!/usr/bin/env bats
# db-migrations.sh: the migration tool's own commands, run with kubectl exec in a Running, Ready
# pod of the release whose migrations are undone, as docs/runbooks/database.md shows them.

load helpers

POD=payments-api-7c9d8f6b5-x2x4q
NEW=registry.example.com/payments-api:1.4.2
OLD=registry.example.com/payments-api:1.4.1
PODS_JSONPATH='jsonpath={range .items[*]}{.metadata.name}{"\t"}{.status.conditions[?(@.type=="Ready")].status}{"\t"}{.metadata.deletionTimestamp}{"\t"}{.spec.containers[*].image}{"\n"}{end}'

# The scripts always pass a context: the configured one, or the current one pinned at the start.
eval "helpers_$(declare -f setup)"
setup() {
  helpers_setup
  K="-n $NS --context $STUB_CURRENT_CONTEXT"
}

setup_file() {
  [[ $MIGRATION_TOOL != none ]] || { echo "db-migrations.bats needs a migration tool" >&2; return 1; }
}

# The tool's commands: status (one a line), preview, rollback; the target's arguments
# (TARGET_ARGS) and all a rollback needs (ROLLBACK_ARGS: the bad release's image too).
tool_commands() {
  PREVIEW=""
  case $MIGRATION_TOOL in
    django)
      STATUS=("python manage.py showmigrations")
      PREVIEW="python manage.py migrate payments 0002_add_refunds --plan"
      ROLLBACK="python manage.py migrate payments 0002_add_refunds"
      TARGET_ARGS=(--app payments --to 0002_add_refunds) ;;
    alembic)
      STATUS=("alembic current" "alembic history --verbose")
      ROLLBACK="alembic downgrade ae1027a6acf" TARGET_ARGS=(--to ae1027a6acf) ;;
    flyway)
      STATUS=("flyway info")
      ROLLBACK="flyway -target=1.4 undo" TARGET_ARGS=(--paid-edition --target 1.4) ;;
    liquibase)
      STATUS=("liquibase status --verbose" "liquibase history")
      PREVIEW="liquibase rollback-sql --tag=before-1.4.2"
      ROLLBACK="liquibase rollback --tag=before-1.4.2" TARGET_ARGS=(--tag before-1.4.2) ;;
    rails)
      STATUS=("bin/rails db:migrate:status")
      ROLLBACK="bin/rails db:migrate VERSION=20240101000000" TARGET_ARGS=(--to 20240101000000) ;;
    prisma)
      STATUS=("npx --no-install prisma migrate status")
      ROLLBACK="" TARGET_ARGS=() ;;
    golang-migrate)
      STATUS=("sh -c migrate\\ -path\\ /migrations\\ -database\\ \\\"\\\$DATABASE_URL\\\"\\ version")
      ROLLBACK="sh -c migrate\\ -path\\ /migrations\\ -database\\ \\\"\\\$DATABASE_URL\\\"\\ goto\\ \\\"\\\$1\\\" sh 20240101000000"
      TARGET_ARGS=(--to 20240101000000) ;;
  esac
  # A rollback names the bad release's image: never inferred from what the pods run now
  ROLLBACK_ARGS=()
  [[ -z $ROLLBACK ]] || ROLLBACK_ARGS=(--image "$NEW" "${TARGET_ARGS[@]}")
}

# One logged call, as the stub writes it (printf %q of each word).
logged() { local line; line=$(printf '%q ' "$@"); printf '%s\n' "${line% }"; }

# Listing the Running pods, then (where the engine reads the pod template) the workload's image.
# shellcheck disable=SC2086 # K holds several words
find_pod_calls() {
  logged kubectl get pods -l "app=$SERVICE" $K --field-selector=status.phase=Running -o "$PODS_JSONPATH"
  [[ -n ${1:-} ]] && return 0 # --image given: the template is not read
  case $WORKLOAD in
    deployment | statefulset) logged kubectl get "$WORKLOAD" "$SERVICE" $K -o 'jsonpath={.spec.template.spec.containers[*].image}' ;;
  esac
}
exec_calls() { local command; for command in "$@"; do printf 'kubectl exec -i %s %s -- %s\n' "${EXEC_POD:-$POD}" "$K" "$command"; done; }

# The calls of the migration steps, leaving out the GitOps pause check (safety.bats covers it).
db_calls() { calls | grep -vE '^(flux|argocd) |jsonpath=\\\{\.spec\.suspend\\\}' || true; }
assert_db_calls() {
  local expected actual
  expected=$(cat)
  actual=$(db_calls)
  if [[ $actual != "$expected" ]]; then
    printf -- '--- expected calls\n%s\n--- actual calls\n%s\n--- script output\n%s\n' \
      "$expected" "$actual" "${output:-}" >&2
    return 1
  fi
}
# No call but reading the current context (which the scripts pin at the start).
assert_nothing_called() {
  local made
  made=$(calls)
  if [[ -n $made ]]; then
    printf -- '--- expected no calls, got\n%s\n--- script output\n%s\n' "$made" "${output:-}" >&2
    return 1
  fi
}
# True when no migration command (status or rollback) ran in any pod.
assert_no_exec() { ! all_calls | grep -q '^kubectl exec'; }

@test "status: lists the Running pods, then runs the tool's status commands in the bad release's pod" {
  tool_commands
  run -0 "$SCRIPTS/db-migrations.sh" status </dev/null
  assert_output_has "Using pod $POD (image $NEW)"
  assert_db_calls <<CALLS
$(find_pod_calls)
$(exec_calls "${STATUS[@]}")
CALLS
}

@test "the pod: Ready, not being deleted, running the image; not the first one listed" {
  tool_commands
  export STUB_RUNNING_PODS="p-starting\tFalse\t\t$NEW\np-leaving\tTrue\t2024-01-03T10:00:00Z\t$NEW\np-good\tTrue\t\t$NEW\n"
  EXEC_POD=p-good
  run -0 "$SCRIPTS/db-migrations.sh" status </dev/null
  assert_db_calls <<CALLS
$(find_pod_calls)
$(exec_calls "${STATUS[@]}")
CALLS
}

@test "mixed images and no --image: refused (3), no migration command runs" {
  export STUB_RUNNING_PODS="p-old\tTrue\t\t$OLD\np-new\tTrue\t\t$NEW\n"
  run -3 "$SCRIPTS/db-migrations.sh" status </dev/null
  assert_output_has "run different images"
  assert_output_has "pass --image"
  assert_no_exec
  tool_commands
  [[ -n $ROLLBACK ]] || return 0
  run -3 "$SCRIPTS/db-migrations.sh" rollback "${TARGET_ARGS[@]}" --yes </dev/null
  assert_output_has "pass --image"
  assert_no_exec
}

@test "--image picks a Ready pod running that image, among several" {
  tool_commands
  export STUB_RUNNING_PODS="p-old\tTrue\t\t$OLD\np-new\tTrue\t\t$NEW istio/proxyv2:1.22\n"
  EXEC_POD=p-new
  run -0 "$SCRIPTS/db-migrations.sh" status --image "$NEW" </dev/null
  assert_db_calls <<CALLS
$(find_pod_calls image)
$(exec_calls "${STATUS[@]}")
CALLS
  run -2 "$SCRIPTS/db-migrations.sh" status --image 'x;id'
}

@test "no Running, Ready pod of that image: refused (3), pointing at a one-off pod" {
  STUB_NO_PODS=1 run -3 "$SCRIPTS/db-migrations.sh" status
  assert_output_has "no Running, Ready pod matches app=$SERVICE"
  assert_output_has "docs/runbooks/database.md"
  STUB_RUNNING_PODS="p-crashing\tFalse\t\t$NEW\n" run -3 "$SCRIPTS/db-migrations.sh" status
  run -3 "$SCRIPTS/db-migrations.sh" status --image "$OLD"
  assert_output_has "no Ready pod of $SERVICE runs the bad release's image $OLD"
  assert_no_exec
}

@test "no pod of the bad image, kubectl 1.30: the refusal says a copy of a pod needs kubectl 1.31" {
  [[ $WORKLOAD != statefulset ]] || skip "a StatefulSet gets no copy of a pod (its volume)"
  STUB_KUBECTL_MINOR=30 run -3 "$SCRIPTS/db-migrations.sh" status --image "$OLD"
  assert_output_has "one-off pod of that image (not a copy of a pod: kubectl debug --keep-init-containers needs kubectl 1.31 or newer, this one is 1.30)"
  assert_no_exec
  # A vendor build's "32+" is 32: no such advice
  STUB_KUBECTL_MINOR=32+ run -3 "$SCRIPTS/db-migrations.sh" status --image "$OLD"
  [[ $output != *"needs kubectl 1.31"* ]]
  assert_output_has "one-off pod of that image (docs/runbooks/database.md#when-the-bad-releases-pods-are-gone)"
}

@test "the workload's template and its pods disagree (a rollout under way): refused (3)" {
  [[ $WORKLOAD == deployment || $WORKLOAD == statefulset ]] || skip "$WORKLOAD: no single pod template"
  STUB_TEMPLATE_IMAGE=$OLD run -3 "$SCRIPTS/db-migrations.sh" status
  assert_output_has "wants '$OLD'"
  assert_no_exec
}

# After an Argo Rollouts abort (the rollback page's first step) or an application rollback, the
# Ready pods run the previous release: its image has no down code for the bad release's
# migrations, so a "rollback" from it changes nothing (Django: "No migrations to apply.").
# Sets STUB_* to that state: the pods run OLD; the workload's template holds NEW (the bad
# release) after a Rollouts abort, OLD after an undo.
after_application_rollback() {
  export STUB_RUNNING_PODS="p-old\tTrue\t\t$OLD\n"
  if [[ $WORKLOAD == argo-rollout ]]; then
    export STUB_ROLLOUT_ABORTED=1 STUB_TEMPLATE_IMAGE=$NEW
  else
    export STUB_TEMPLATE_IMAGE=$OLD
  fi
}

@test "rollback after the application rolled back: refused (3), no migration runs in an old pod" {
  tool_commands
  [[ -n $ROLLBACK ]] || skip "$MIGRATION_TOOL has no rollback"
  after_application_rollback
  run -3 "$SCRIPTS/db-migrations.sh" rollback "${TARGET_ARGS[@]}" --yes </dev/null
  if [[ $WORKLOAD == argo-rollout ]]; then
    assert_output_has "no Ready pod of $SERVICE runs the bad release's image $NEW"
  else
    assert_output_has "pass --image with the bad release's image"
  fi
  assert_output_has "nothing was changed"
  [[ $output != *"the schema now matches"* ]]
  assert_no_exec
  # --image of the bad release, which no pod runs any more: refused the same way
  run -3 "$SCRIPTS/db-migrations.sh" rollback "${ROLLBACK_ARGS[@]}" --yes </dev/null
  assert_output_has "no Ready pod of $SERVICE runs the bad release's image $NEW"
  assert_no_exec
}

@test "negative control: the previous script's image choice runs the rollback in the old pod and reports success" {
  tool_commands
  [[ -n $ROLLBACK ]] || skip "$MIGRATION_TOOL has no rollback"
  after_application_rollback
  # A copy of the scripts whose rollback takes the image every Ready pod runs, as the script did
  # before it asked for the bad release's image.
  grep -qx '  require_bad_image' "$SCRIPTS/db-migrations.sh"
  cp -R "$SCRIPTS" "$BATS_TEST_TMPDIR/previous"
  sed -i '/^  require_bad_image$/d' "$BATS_TEST_TMPDIR/previous/db-migrations.sh"
  if [[ $WORKLOAD == argo-rollout ]]; then unset STUB_ROLLOUT_ABORTED; fi
  export STUB_TEMPLATE_IMAGE=$OLD
  run -0 "$BATS_TEST_TMPDIR/previous/db-migrations.sh" rollback "${TARGET_ARGS[@]}" --yes </dev/null
  assert_output_has "the schema now matches the previous release"
  all_calls | grep -q "^kubectl exec -i p-old "
}

@test "rollback from a Ready pod of the bad release: runs there, not in the old pods" {
  tool_commands
  [[ -n $ROLLBACK ]] || skip "$MIGRATION_TOOL has no rollback"
  after_application_rollback
  export STUB_RUNNING_PODS="p-old\tTrue\t\t$OLD\np-bad\tTrue\t\t$NEW\n"
  EXEC_POD=p-bad
  local args=("${ROLLBACK_ARGS[@]}")
  # After an abort the Rollout's template names the bad image: no --image needed
  [[ $WORKLOAD != argo-rollout ]] || args=("${TARGET_ARGS[@]}")
  run -0 "$SCRIPTS/db-migrations.sh" rollback "${args[@]}" --yes </dev/null
  assert_output_has "in pod p-bad (image $NEW)"
  [[ $(all_calls) != *"kubectl exec -i p-old "* ]]
}

@test "rollback --yes: status, preview, the rollback to the target, status; then says to roll the app back" {
  tool_commands
  [[ -n $ROLLBACK ]] || skip "$MIGRATION_TOOL has no rollback"
  run -0 "$SCRIPTS/db-migrations.sh" rollback "${ROLLBACK_ARGS[@]}" --yes </dev/null
  assert_output_has "WARNING: rolling back a migration can lose data"
  assert_output_has "Next: roll the application back"
  assert_db_calls <<CALLS
$(find_pod_calls image)
$(exec_calls "${STATUS[@]}" ${PREVIEW:+"$PREVIEW"} "$ROLLBACK" "${STATUS[@]}")
CALLS
}

@test "rollback --dry-run: status and preview only; the rollback is shown, not run" {
  tool_commands
  [[ -n $ROLLBACK ]] || skip "$MIGRATION_TOOL has no rollback"
  run -0 "$SCRIPTS/db-migrations.sh" rollback "${ROLLBACK_ARGS[@]}" --dry-run </dev/null
  assert_db_calls <<CALLS
$(find_pod_calls image)
$(exec_calls "${STATUS[@]}" ${PREVIEW:+"$PREVIEW"})
CALLS
  assert_output_has "would run: kubectl exec -i $POD $K --"
  assert_no_mutating_calls
}

@test "rollback without a target is a usage error (2): never a silent single step" {
  tool_commands
  [[ -n $ROLLBACK ]] || skip "$MIGRATION_TOOL has no rollback"
  local args=()
  [[ $MIGRATION_TOOL != flyway ]] || args=(--paid-edition)
  run -2 "$SCRIPTS/db-migrations.sh" rollback "${args[@]}" --yes </dev/null
  assert_output_has "rollback needs"
  assert_output_has "status"
  assert_nothing_called
}

# GitOps asks even outside production; Flux's object is fixed at render time, so under Flux
# --namespace is refused (2, below) and these run in production.
gitops_namespace() { if [[ $GITOPS == flux ]]; then printf '%s' "$NS"; else printf staging; fi; }

@test "rollback under GitOps: no terminal and no --yes is refused (3), even outside production" {
  [[ $GITOPS != none ]] || skip "no GitOps"
  tool_commands
  [[ -n $ROLLBACK ]] || skip "$MIGRATION_TOOL has no rollback"
  run -3 "$SCRIPTS/db-migrations.sh" rollback "${ROLLBACK_ARGS[@]}" --namespace "$(gitops_namespace)" </dev/null
  assert_output_has "no terminal to confirm it; pass --yes"
  assert_nothing_called
}

@test "rollback under GitOps, not paused: refused (3) even at a terminal, before any migration command" {
  [[ $GITOPS != none ]] || skip "no GitOps"
  tool_commands
  [[ -n $ROLLBACK ]] || skip "$MIGRATION_TOOL has no rollback"
  STUB_GITOPS_PAUSED=0 run -3 typing "$SERVICE" "$SCRIPTS/db-migrations.sh" rollback "${ROLLBACK_ARGS[@]}" --namespace "$(gitops_namespace)"
  assert_output_has "is not paused for $SERVICE"
  assert_no_exec
}

@test "rollback under GitOps with --yes: checks the pause, warns, then rolls back" {
  [[ $GITOPS != none ]] || skip "no GitOps"
  tool_commands
  [[ -n $ROLLBACK ]] || skip "$MIGRATION_TOOL has no rollback"
  local namespace
  namespace=$(gitops_namespace)
  STUB_GITOPS_PAUSED=0 run -0 "$SCRIPTS/db-migrations.sh" rollback "${ROLLBACK_ARGS[@]}" --namespace "$namespace" --yes </dev/null
  assert_output_has "its next sync may revert this change"
  [[ $(mutating_calls) == *"-n $namespace"* ]]
}

@test "rollback under Flux: another --namespace is refused (2) before any call: the Flux object checked is production's" {
  [[ $GITOPS == flux ]] || skip "Flux only"
  tool_commands
  [[ -n $ROLLBACK ]] || skip "$MIGRATION_TOOL has no rollback"
  run -2 "$SCRIPTS/db-migrations.sh" rollback "${ROLLBACK_ARGS[@]}" --namespace staging --yes </dev/null
  assert_output_has "--namespace does not apply"
  assert_nothing_called
}

@test "status under Flux reads another --namespace: it changes nothing, so no Flux object is involved" {
  [[ $GITOPS == flux ]] || skip "Flux only"
  run -0 "$SCRIPTS/db-migrations.sh" status --namespace staging </dev/null
  [[ $(calls) == *"-n staging"* ]]
}

@test "liquibase: --count N instead of a tag, never both" {
  [[ $MIGRATION_TOOL == liquibase ]] || skip "Liquibase only"
  tool_commands
  run -0 "$SCRIPTS/db-migrations.sh" rollback --count 3 --image "$NEW" --yes </dev/null
  assert_db_calls <<CALLS
$(find_pod_calls image)
$(exec_calls "${STATUS[@]}" "liquibase rollback-count-sql --count=3" "liquibase rollback-count --count=3" "${STATUS[@]}")
CALLS
  : >"$STUB_LOG"
  run -2 "$SCRIPTS/db-migrations.sh" rollback --count 3 --tag before-1.4.2 --yes
  assert_output_has "not both"
  run -2 "$SCRIPTS/db-migrations.sh" rollback --count 0 --yes
  assert_nothing_called
}

@test "rollback: a failing migration command exits 1" {
  tool_commands
  [[ -n $ROLLBACK ]] || skip "$MIGRATION_TOOL has no rollback"
  STUB_EXEC_RC=1 run -1 "$SCRIPTS/db-migrations.sh" rollback "${ROLLBACK_ARGS[@]}" --yes
}

@test "rollback without automatic down migrations explains, refuses (3) and changes nothing" {
  [[ $MIGRATION_TOOL == prisma || $MIGRATION_TOOL == flyway ]] || skip "$MIGRATION_TOOL can roll back"
  run -3 "$SCRIPTS/db-migrations.sh" rollback --yes
  if [[ $MIGRATION_TOOL == prisma ]]; then
    assert_output_has "Prisma Migrate has no down migrations"
    assert_output_has "npx --no-install prisma migrate resolve --rolled-back"
    assert_output_has "prisma db execute --file down.sql"
    [[ $output != *"--schema"* ]]
  else
    assert_output_has "paid editions"
    assert_output_has "pass --paid-edition"
  fi
  assert_output_has "nothing was changed"
  assert_nothing_called
  run -3 "$SCRIPTS/db-migrations.sh" rollback --dry-run
  assert_nothing_called
}

@test "prisma: the project's own Prisma, never a plain npx that downloads one" {
  [[ $MIGRATION_TOOL == prisma ]] || skip "Prisma only"
  run -0 "$SCRIPTS/db-migrations.sh" status </dev/null
  all_calls | grep -q -- '-- npx --no-install prisma migrate status$'
  ! all_calls | grep -E -- '-- npx prisma'
}

@test "option values are checked: usage errors (2), no call" {
  tool_commands
  [[ -n $ROLLBACK ]] || skip "$MIGRATION_TOOL has no rollback"
  case $MIGRATION_TOOL in
    django)
      run -2 "$SCRIPTS/db-migrations.sh" rollback --app 'x;id' --to 0001 --yes
      run -2 "$SCRIPTS/db-migrations.sh" rollback --app payments --to '0001 x' --yes
      run -2 "$SCRIPTS/db-migrations.sh" rollback --to 0001 --yes
      assert_output_has "rollback needs --app and --to" ;;
    liquibase) run -2 "$SCRIPTS/db-migrations.sh" rollback --tag "a'b" --yes ;;
    flyway) run -2 "$SCRIPTS/db-migrations.sh" rollback --paid-edition --target 'V1;x' --yes ;;
    *) run -2 "$SCRIPTS/db-migrations.sh" rollback --to '1 2' --yes ;;
  esac
  assert_nothing_called
}
