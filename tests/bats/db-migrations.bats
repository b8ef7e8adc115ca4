#!/usr/bin/env bats
# db-migrations.sh: the migration tool's own commands, run in one of the service's pods with
# kubectl exec, as the runbook's Database Rollback section shows them.

load helpers

POD=payments-api-7c9d8f6b5-x2x4q

setup_file() {
  [[ $MIGRATION_TOOL != none ]] || { echo "db-migrations.bats needs a migration tool" >&2; return 1; }
}

# The tool's commands: status (one a line), preview, rollback; the arguments rollback needs.
tool_commands() {
  case $MIGRATION_TOOL in
    django)
      STATUS=("python manage.py showmigrations")
      PREVIEW="python manage.py migrate payments 0002_add_refunds --plan"
      ROLLBACK="python manage.py migrate payments 0002_add_refunds"
      ROLLBACK_ARGS=(--app payments --to 0002_add_refunds) ;;
    alembic)
      STATUS=("alembic current" "alembic history --verbose")
      PREVIEW="" ROLLBACK="alembic downgrade -1" ROLLBACK_ARGS=() ;;
    flyway)
      STATUS=("flyway info")
      PREVIEW="" ROLLBACK="flyway undo" ROLLBACK_ARGS=(--paid-edition) ;;
    liquibase)
      STATUS=("liquibase status --verbose" "liquibase history")
      PREVIEW="liquibase rollback-count-sql --count=1"
      ROLLBACK="liquibase rollback-count --count=1" ROLLBACK_ARGS=() ;;
    rails)
      STATUS=("bin/rails db:migrate:status")
      PREVIEW="" ROLLBACK="bin/rails db:rollback STEP=1" ROLLBACK_ARGS=() ;;
    prisma)
      STATUS=("npx prisma migrate status")
      PREVIEW="" ROLLBACK="" ROLLBACK_ARGS=() ;;
    golang-migrate)
      STATUS=("sh -c migrate\\ -path\\ /migrations\\ -database\\ \\\"\\\$DATABASE_URL\\\"\\ version")
      PREVIEW=""
      ROLLBACK="sh -c migrate\\ -path\\ /migrations\\ -database\\ \\\"\\\$DATABASE_URL\\\"\\ down\\ 1"
      ROLLBACK_ARGS=() ;;
  esac
}

find_pod_call() { printf 'kubectl get pods -l app=%s %s -o jsonpath=\\{.items\\[0\\].metadata.name\\}\n' "$SERVICE" "$K"; }
exec_calls() { local command; for command in "$@"; do printf 'kubectl exec -i %s %s -- %s\n' "$POD" "$K" "$command"; done; }

@test "status: finds a pod, then runs the tool's status commands in it" {
  tool_commands
  run -0 "$SCRIPTS/db-migrations.sh" status </dev/null
  assert_calls <<CALLS
$(find_pod_call)
$(exec_calls "${STATUS[@]}")
CALLS
}

@test "an action is required, and only one" {
  run -2 "$SCRIPTS/db-migrations.sh"
  assert_output_has "status or rollback"
  run -2 "$SCRIPTS/db-migrations.sh" status rollback
  assert_no_calls
}

@test "status: no pod for the selector exits 1" {
  STUB_NO_PODS=1 run -1 "$SCRIPTS/db-migrations.sh" status
  assert_output_has "no pod matches app=$SERVICE"
}

@test "rollback --yes: warns about data loss, shows status and preview, rolls back, shows status" {
  tool_commands
  [[ -n $ROLLBACK ]] || skip "$MIGRATION_TOOL has no rollback"
  run -0 "$SCRIPTS/db-migrations.sh" rollback "${ROLLBACK_ARGS[@]}" --yes </dev/null
  assert_output_has "WARNING: rolling back a migration can lose data"
  assert_calls <<CALLS
$(find_pod_call)
$(exec_calls "${STATUS[@]}" ${PREVIEW:+"$PREVIEW"} "$ROLLBACK" "${STATUS[@]}")
CALLS
}

@test "rollback --dry-run: status and preview only; the rollback is shown, not run" {
  tool_commands
  [[ -n $ROLLBACK ]] || skip "$MIGRATION_TOOL has no rollback"
  run -0 "$SCRIPTS/db-migrations.sh" rollback "${ROLLBACK_ARGS[@]}" --dry-run </dev/null
  assert_calls <<CALLS
$(find_pod_call)
$(exec_calls "${STATUS[@]}" ${PREVIEW:+"$PREVIEW"})
CALLS
  assert_output_has "would run: kubectl exec -i $POD $K --"
  assert_no_mutating_calls
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
    assert_output_has "prisma migrate resolve --rolled-back"
  else
    assert_output_has "paid editions"
    assert_output_has "pass --paid-edition"
  fi
  assert_output_has "nothing was changed"
  assert_no_calls
  run -3 "$SCRIPTS/db-migrations.sh" rollback --dry-run
  assert_no_calls
}

@test "django: rollback needs --app and --to, both checked" {
  [[ $MIGRATION_TOOL == django ]] || skip "Django only"
  run -2 "$SCRIPTS/db-migrations.sh" rollback --yes
  assert_output_has "needs --app LABEL and --to MIGRATION"
  run -2 "$SCRIPTS/db-migrations.sh" rollback --app 'x;id' --to 0001 --yes
  run -2 "$SCRIPTS/db-migrations.sh" rollback --app payments --to '0001 x' --yes
  assert_no_calls
}
