#!/usr/bin/env bats
# The safety contract every rendered service's scripts keep, whatever the workload:
# help and exit codes, option checks, no calls before a refusal, the typed confirmation,
# the context check, GitOps, and --dry-run.

load helpers

@test "every script: --help exits 0 and lists the exit codes" {
  local script
  for script in "$SCRIPTS"/*.sh; do
    run -0 "$script" --help
    assert_output_has "Usage: ${script##*/}"
    assert_output_has "0  success"
    assert_output_has "1  a command failed"
    assert_output_has "2  usage error"
    assert_output_has "3  refused"
    assert_output_has "4  verification failed"
  done
  assert_no_calls
}

@test "the scripts are the expected set, db-migrations.sh only with a migration tool" {
  local expected="history.sh rollback.sh status.sh verify.sh"
  if [[ $MIGRATION_TOOL != none ]]; then expected="db-migrations.sh $expected"; fi
  run -0 bash -c 'cd "$1" && echo *.sh' _ "$SCRIPTS"
  [ "$output" = "$expected" ]
}

@test "every script: an unknown option is a usage error (2) on stderr, with no call" {
  local script
  for script in "$SCRIPTS"/*.sh; do
    run -2 --separate-stderr "$script" --frobnicate
    [ -z "$output" ]
    [[ $stderr == *"unknown option or argument: --frobnicate"* ]]
  done
  assert_no_calls
}

@test "bad option values are usage errors (2) and call nothing" {
  run -2 "$SCRIPTS/rollback.sh" --to-revision abc --yes
  assert_output_has "--to-revision must be"
  run -2 "$SCRIPTS/rollback.sh" --to-revision -1 --yes
  assert_output_has "--to-revision must be"
  assert_output_has "got '-1'"
  run -2 "$SCRIPTS/rollback.sh" --to-revision --yes
  assert_output_has "--to-revision needs a value, got the option '--yes'"
  run -2 "$SCRIPTS/rollback.sh" --to-revision '3; rm -rf /' --yes
  run -2 "$SCRIPTS/rollback.sh" --to-revision
  run -2 "$SCRIPTS/history.sh" --revision x
  run -2 "$SCRIPTS/status.sh" --namespace 'Prod Namespace'
  run -2 "$SCRIPTS/verify.sh" --timeout forever
  run -2 "$SCRIPTS/verify.sh" --health-url "https://x.example.com/'\$(id)'"
  run -2 "$SCRIPTS/rollback.sh" --context '-bad' --yes
  assert_no_calls
}

@test "rollback: a revision the history does not list exits 2 without rolling back" {
  run -2 "$SCRIPTS/rollback.sh" --to-revision 99 --yes
  assert_output_has "no revision 99"
  assert_no_mutating_calls
}

@test "write scripts: production with no terminal and no --yes exits 3 and calls nothing" {
  local command
  while read -r command; do
    # shellcheck disable=SC2086 # the command line is split on purpose
    run -3 $SCRIPTS/$command </dev/null
    assert_output_has "no terminal to confirm it; pass --yes"
    assert_no_calls
  done < <(write_commands)
}

@test "write scripts: typing the wrong name aborts (3) and changes nothing" {
  local command
  while read -r command; do
    # shellcheck disable=SC2086
    run -3 typing payments $SCRIPTS/$command
    assert_output_has "Type the service name ($SERVICE) to continue"
    assert_output_has "aborted: 'payments' is not '$SERVICE'; nothing was changed"
    assert_no_mutating_calls
  done < <(write_commands)
}

@test "rollback: typing the service name at the prompt goes ahead" {
  run -0 typing "$SERVICE" "$SCRIPTS/rollback.sh"
  assert_output_has "Type the service name ($SERVICE) to continue"
  [ -n "$(mutating_calls)" ]
}

@test "rollback: outside production and without GitOps no confirmation is needed" {
  [[ $GITOPS == none ]] || skip "GitOps asks for confirmation in every namespace"
  run -0 "$SCRIPTS/rollback.sh" --namespace staging </dev/null
  [[ $(mutating_calls) == *"-n staging"* ]]
}

@test "rollback: prints the context, namespace and target before the change" {
  run -0 "$SCRIPTS/rollback.sh" --yes
  assert_output_has "context:   ${KUBE_CONTEXT:-$STUB_CURRENT_CONTEXT}"
  assert_output_has "namespace: $NS"
  assert_output_has "target:    $SERVICE"
}

@test "GitOps: without a terminal and without --yes the rollback is refused (3), naming the pause command" {
  [[ $GITOPS != none ]] || skip "no GitOps"
  local namespace=staging # GitOps asks even outside production
  # Argo CD's application and Flux's objects are fixed at render time: --namespace is refused (2).
  if [[ ($WORKLOAD == helm && $GITOPS == argocd) || $GITOPS == flux ]]; then namespace=$NS; fi
  run -3 "$SCRIPTS/rollback.sh" --namespace "$namespace" </dev/null
  case $GITOPS in
    flux) assert_output_has "Flux deploys $SERVICE"; assert_output_has "flux suspend" ;;
    argocd) assert_output_has "Argo CD deploys $SERVICE"; assert_output_has "argocd app set $SERVICE --sync-policy none" ;;
  esac
  assert_output_has "no terminal to confirm it; pass --yes"
  assert_no_calls
}

@test "GitOps: with --yes it warns, then rolls back; it never pauses GitOps by itself" {
  [[ $GITOPS != none ]] || skip "no GitOps"
  run -0 "$SCRIPTS/rollback.sh" --yes
  assert_output_has "reverts a manual rollback at its next sync"
  [ -n "$(mutating_calls)" ]
  ! all_calls | grep -E '^(flux|argocd app set)'
}

@test "GitOps: reconciliation not paused: refused (3) even after typing the name, naming the pause command" {
  [[ $GITOPS != none ]] || skip "no GitOps"
  STUB_GITOPS_PAUSED=0 run -3 typing "$SERVICE" "$SCRIPTS/rollback.sh"
  assert_output_has "is not paused for $SERVICE"
  case $GITOPS in
    flux) assert_output_has "flux suspend" ;;
    argocd) assert_output_has "argocd app set $SERVICE --sync-policy none" ;;
  esac
  assert_no_mutating_calls
  # What told it: Flux's spec.suspend, or Argo CD's automated sync policy.
  all_calls | grep -E "$GITOPS_CHECK"
}

@test "GitOps: reconciliation paused: the rollback goes ahead after the typed confirmation" {
  [[ $GITOPS != none ]] || skip "no GitOps"
  run -0 typing "$SERVICE" "$SCRIPTS/rollback.sh"
  assert_output_has "is paused for $SERVICE"
  [ -n "$(mutating_calls)" ]
}

@test "GitOps: not paused, with --yes it goes ahead knowingly and says the sync may revert it" {
  [[ $GITOPS != none ]] || skip "no GitOps"
  STUB_GITOPS_PAUSED=0 run -0 "$SCRIPTS/rollback.sh" --yes
  assert_output_has "its next sync may revert this change"
  [ -n "$(mutating_calls)" ]
}

@test "context: a different current context is refused (3) before anything else" {
  [[ -n $KUBE_CONTEXT ]] || skip "no kube_context configured"
  export STUB_CURRENT_CONTEXT=kind-laptop
  local script
  for script in rollback.sh status.sh history.sh verify.sh; do
    : >"$STUB_LOG"
    run -3 "$SCRIPTS/$script" --yes
    assert_output_has "the current kubectl context is 'kind-laptop' but $SERVICE runs in '$KUBE_CONTEXT'"
    [ "$(all_calls)" = "kubectl config current-context" ]
  done
}

@test "context: --context overrides the check and pins every kubectl call" {
  export STUB_CURRENT_CONTEXT=kind-laptop
  if [[ ($WORKLOAD == helm && $GITOPS == argocd) || $GITOPS == flux ]]; then
    run -0 "$SCRIPTS/status.sh" --context staging-eu --namespace staging
    [[ $(calls) == *"kubectl get pods -l app=$SERVICE -n staging --context staging-eu"* ]]
  else
    run -0 "$SCRIPTS/rollback.sh" --context staging-eu --namespace staging --yes
  fi
  ! all_calls | grep -x 'kubectl config current-context'
  if [[ $GITOPS == flux ]]; then
    : # rollback.sh refuses --namespace under Flux (tests/test_helm_incident.py)
  elif [[ $WORKLOAD == helm && $GITOPS != argocd ]]; then
    [[ $(mutating_calls) == *"-n staging --kube-context staging-eu"* ]]
  elif [[ $WORKLOAD != helm ]]; then
    [[ $(mutating_calls) == *"-n staging --context staging-eu"* ]]
  fi
}

@test "context: without a configured context the current one is read once and pinned on every call" {
  [[ -z $KUBE_CONTEXT ]] || skip "kube_context is configured"
  export STUB_CURRENT_CONTEXT=whatever-is-current
  run -0 "$SCRIPTS/rollback.sh" --yes
  assert_output_has "context:   whatever-is-current (the current context, pinned for every command)"
  [ "$(all_calls | grep -cx 'kubectl config current-context')" = 1 ]
  # Every kubectl or helm call names that context, so a context switch during the prompt
  # cannot retarget the change.
  ! calls | grep -E '^(kubectl|helm) ' | grep -vE -- '--(kube-)?context whatever-is-current( |$)'
  [ -n "$(mutating_calls)" ] || [[ $WORKLOAD == helm && $GITOPS == argocd ]]
}

@test "--dry-run: no mutating call, even without a terminal in production" {
  run -0 "$SCRIPTS/rollback.sh" --dry-run </dev/null
  assert_output_has "dry run: nothing will change"
  assert_no_mutating_calls
  run -0 "$SCRIPTS/rollback.sh" --dry-run --to-revision 2 </dev/null
  assert_no_mutating_calls
}

@test "read-only scripts need no confirmation and change nothing" {
  run -0 "$SCRIPTS/status.sh" </dev/null
  run -0 "$SCRIPTS/history.sh" </dev/null
  run -0 "$SCRIPTS/history.sh" --revision 2 </dev/null
  run -0 "$SCRIPTS/verify.sh" </dev/null
  [ -n "$(calls)" ]
  assert_no_mutating_calls
}

@test "verify: an unhealthy health URL exits 4" {
  STUB_CURL_RC=22 run -4 "$SCRIPTS/verify.sh"
  assert_output_has "is not healthy: https://api.example.com/health failed"
  all_calls | grep -x "curl -fsS --max-time 10 https://api.example.com/health"
}

@test "verify: a rollout that does not finish in time exits 4 and skips the health check" {
  STUB_STATUS_RC=1 STUB_HELM_STATUS=failed run -4 "$SCRIPTS/verify.sh"
  assert_output_has "is not healthy"
  ! all_calls | grep '^curl'
}

@test "verify: healthy prints the image and the newest revision, exits 0" {
  run -0 "$SCRIPTS/verify.sh" --health-url https://staging.example.com/healthz
  assert_output_has "Image:    "
  assert_output_has "registry.example.com/payments-api:1.4.2"
  if [[ $WORKLOAD == helm && $GITOPS == argocd ]]; then
    assert_output_has "Revision: 2 (the newest of: 0 1 2 )"
  else
    assert_output_has "Revision: 3 (the newest of: 1 2 3 )"
  fi
  all_calls | grep -x "curl -fsS --max-time 10 https://staging.example.com/healthz"
}

@test "a failing command exits 1 with the error on stderr" {
  # A failed helm rollback too: it is the command that failed (4 is for a wait that fails after it).
  STUB_UNDO_RC=1 run --separate-stderr -1 "$SCRIPTS/rollback.sh" --yes
  [[ $stderr == *"error: "* ]]
  [[ $output != *"error: "* ]]
}
