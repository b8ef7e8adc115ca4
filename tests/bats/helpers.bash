# Loaded by every .bats file: the rendered service, stub tools on PATH, and assertions.
# pytest (tests/test_bats.py) sets SERVICE_DIR to a rendered service and passes its answers:
# WORKLOAD, GITOPS, MIGRATION_TOOL, KUBE_CONTEXT (empty when not given) and FLUX_NAMESPACE.

bats_require_minimum_version 1.5.0

SERVICE=payments-api
NS=production

# A .bats file that needs more setup defines setup() and calls common_setup first.
setup() { common_setup; }

common_setup() {
  : "${SERVICE_DIR:?set SERVICE_DIR to a rendered service}"
  SCRIPTS=$SERVICE_DIR/scripts
  local bin=$BATS_TEST_TMPDIR/bin tool
  mkdir -p "$bin"
  for tool in kubectl helm curl argocd flux; do
    ln -s "$BATS_TEST_DIRNAME/stubs/stub" "$bin/$tool"
  done
  export PATH="$bin:$PATH"
  export STUB_LOG=$BATS_TEST_TMPDIR/calls.log
  export STUB_CURRENT_CONTEXT=${KUBE_CONTEXT:-kind-dev}
  # kubectl flags as the runbook writes them: namespace, then the configured context, or the
  # current one, which the scripts pin when none is configured.
  K="-n $NS --context $STUB_CURRENT_CONTEXT"
  HK="-n $NS --kube-context $STUB_CURRENT_CONTEXT"
  # helm-controller keeps a Flux HelmRelease's release in the Flux namespace, named
  # <targetNamespace>-<name> when that differs from the target.
  HELM_RELEASE=$SERVICE
  if [[ $GITOPS == flux && ${FLUX_NAMESPACE:-flux-system} != "$NS" ]]; then
    HK="-n flux-system --kube-context $STUB_CURRENT_CONTEXT"
    HELM_RELEASE=$NS-$SERVICE
  fi
  # argocd's context, as the stub's `argocd context` marks it current and the scripts pin it.
  AC="--argocd-context argocd-prod"
  cd "$BATS_TEST_TMPDIR" # the scripts must find their library from anywhere
}

# Every call the stubs saw, one a line.
all_calls() { cat "$STUB_LOG" 2>/dev/null || true; }

# Reading whether GitOps is paused (safety.bats checks it).
GITOPS_CHECK='^(kubectl get [a-z]+\.(kustomize|helm)\.toolkit\.fluxcd\.io .*jsonpath=\\?\{\.spec\.suspend\\?\}|argocd app get [a-z0-9-]+ -o json --argocd-context argocd-prod)$'

# What the script did, leaving out reading the current contexts (kubectl's, argocd's) and whether
# GitOps is paused.
calls() { all_calls | grep -vxE 'kubectl config current-context|argocd context' | grep -vE "$GITOPS_CHECK" || true; }

# Calls that would change something: rollbacks, aborts, deletes, GitOps changes, and migration
# rollbacks run in a pod (a status or a preview in a pod changes nothing). A server-side (or
# Helm) dry run changes nothing either.
MUTATING='^kubectl (rollout undo|argo rollouts (undo|abort|promote|retry)|delete|apply|patch|scale|annotate)'
MUTATING+='|^helm (rollback|upgrade|install|uninstall)|^argocd app (rollback|set|sync|delete)|^flux '
MUTATING+='|^kubectl exec .*(manage\.py migrate [A-Za-z0-9_]+ [A-Za-z0-9_]+$|alembic downgrade|flyway .*undo'
MUTATING+='|liquibase rollback(-count)? --|db:rollback|db:migrate VERSION=|goto|down(\\ | )[0-9])'
mutating_calls() {
  all_calls | grep -E "$MUTATING" | grep -vE -- '--dry-run(=server)?( |$)' || true
}

# assert_calls <<EOF ... EOF: the script's calls are exactly these lines, in this order.
assert_calls() {
  local expected actual
  expected=$(cat)
  actual=$(calls)
  if [[ $actual != "$expected" ]]; then
    printf -- '--- expected calls\n%s\n--- actual calls\n%s\n--- script output\n%s\n' \
      "$expected" "$actual" "${output:-}" >&2
    return 1
  fi
}

assert_no_calls() {
  if [[ -s $STUB_LOG ]]; then
    printf -- '--- expected no calls at all, got\n%s\n--- script output\n%s\n' "$(all_calls)" "${output:-}" >&2
    return 1
  fi
}

assert_no_mutating_calls() {
  local mutating
  mutating=$(mutating_calls)
  if [[ -n $mutating ]]; then
    printf -- '--- expected no mutating call, got\n%s\n--- script output\n%s\n' "$mutating" "${output:-}" >&2
    return 1
  fi
}

# assert_output_has TEXT: the script's output (stdout and stderr, as bats' run captures) has TEXT.
assert_output_has() {
  if [[ $output != *"$1"* ]]; then
    printf -- '--- expected the output to contain\n%s\n--- output\n%s\n' "$1" "$output" >&2
    return 1
  fi
}

# Run a script with a pseudo-terminal as stdin, typing $1 at the prompt.
typing() {
  local typed=$1
  shift
  python3 "$BATS_TEST_DIRNAME/with_tty.py" "$typed" "$@"
}

# The write scripts of this service and the arguments that make each one write.
write_commands() {
  printf '%s\n' "rollback.sh"
  # A schema rollback names the bad release's image: the one the stub's pods run
  local image=registry.example.com/payments-api:1.4.2
  case ${MIGRATION_TOOL:-none} in
    none | prisma) ;;
    django) printf '%s\n' "db-migrations.sh rollback --image $image --app payments --to 0002_add_refunds" ;;
    flyway) printf '%s\n' "db-migrations.sh rollback --image $image --paid-edition --target 1.4" ;;
    liquibase) printf '%s\n' "db-migrations.sh rollback --image $image --tag before-1.4.2" ;;
    *) printf '%s\n' "db-migrations.sh rollback --image $image --to 20240101000000" ;;
  esac
}
