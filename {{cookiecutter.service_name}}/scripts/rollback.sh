{% import "{% if False %}commands.jinja{% endif %}" as cmd with context %}
{% set c = cookiecutter %}
{# Whether --namespace moves the rollback: an Argo CD application is the target wherever its pods
   run, so there it is refused, and the usage shows no example with it. #}
{% set namespace_applies = cmd.engine_name != 'argocd-helm' %}
#!/usr/bin/env bash
# Roll {{ c.service_name }} back to its previous revision, or to --to-revision N, and wait until it is healthy.
# The commands of docs/runbooks/rollback.md, with the safety checks around them.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

TO_REVISION=""
{% if cmd.engine_name == 'argo-rollouts' %}
ABORT=0
PROMOTE_FULL=0
{% endif %}

usage() {
  cat <<USAGE
Usage: ${0##*/} [options]

Roll $SERVICE ($WORKLOAD_LABEL) back to the previous revision (or to --to-revision N)
and wait until it is healthy. It shows the history first, then where the change goes,
and asks you to type the service name before changing production.
{% if c.gitops != 'none' %}
$GITOPS_TOOL deploys $SERVICE: unless its reconciliation is paused, it refuses (or, with
--yes, goes ahead knowing the next sync may revert the rollback).
{% endif %}
{% if c.workload == 'statefulset' %}
A StatefulSet pod of the bad revision that is not Ready blocks the rollback, and with the
OnDelete strategy no pod is replaced at all: it deletes those pods, one at a time, so they
come back from the restored revision (the Kubernetes docs' forced rollback).
{% endif %}

Options:
      --to-revision N    roll back to revision N (a number the history lists)
{% if cmd.engine_name == 'argo-rollouts' %}
      --abort            abort a rollout that is still in progress instead: the stable
                         version serves again; the rollout stays Degraded, Git still holds
                         the bad version
      --promote-full     after the undo, skip the steps, pauses and analysis that the undo
                         runs again (kubectl argo rollouts promote --full). On the first run
                         only: run again, it would undo again, back to the bad revision
{% endif %}
$COMMON_OPTIONS_HELP

Examples:
  ${0##*/} --dry-run
  ${0##*/} --to-revision 2
{% if namespace_applies %}
  ${0##*/} --namespace $STAGING_NAMESPACE --yes
{% endif %}

$EXIT_CODES_HELP
USAGE
}

script_option() {
  case $1 in
    --to-revision)
      local value
      value=$(option_value "$@")
      TO_REVISION=$(revision_value "$1" "$value")
      OPTION_SHIFT=2
      ;;
{% if cmd.engine_name == 'argo-rollouts' %}
    --abort) ABORT=1; OPTION_SHIFT=1 ;;
    --promote-full) PROMOTE_FULL=1; OPTION_SHIFT=1 ;;
{% endif %}
    *) ;;
  esac
}

# The rollback command itself, as the runbook's Step 3 shows it (the same engine table entry).
undo_command() {
  local REVISION=$TO_REVISION
  if [[ -n $REVISION ]]; then
    UNDO=({{ cmd.eng.script('undo_to') }})
  else
    UNDO=({{ cmd.eng.script('undo') }})
  fi
{% if cmd.engine_name == 'argo-rollouts' %}
  if [[ $ABORT -eq 1 ]]; then UNDO=({{ cmd.eng.script('abort') }}); fi
{% endif %}
}

# --dry-run: let the tool simulate the rollback where it can (kubectl on the server), else only show it.
dry_run() {
{% if cmd.engine.undo_dry_run %}
  run "${UNDO[@]}" {{ cmd.engine.undo_dry_run }} || die "$EXIT_FAILED" "the rollback was refused in the dry run"
{% else %}
  show_only "${UNDO[@]}"
{% endif %}
{% if cmd.engine_name == 'argo-rollouts' %}
  if [[ $ABORT -eq 1 ]]; then return 0; fi
  if [[ $PROMOTE_FULL -eq 1 ]]; then show_only {{ cmd.eng.script('promote_full') }}; fi
{% endif %}
{% if c.workload == 'statefulset' %}
  info "then delete, one at a time, the pods of another revision that block the rollback"
{% endif %}
{% if cmd.engine_name != 'helm' %}
  show_only "${WAIT_CMD[@]}"
{% endif %}
}

{% if c.workload == 'statefulset' %}
# The forced rollback: delete the pods of another revision that block it (OnDelete: all of
# them; otherwise those that are not Ready), one at a time, each once it is Ready again
# (https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#forced-rollback).
replace_stale_pods() {
  local strategy stale pod ready
  strategy=$(statefulset_strategy) || die "$EXIT_FAILED" "could not read the update strategy of $SERVICE"
  stale=$(statefulset_stale_pods) || die "$EXIT_FAILED" "could not list the pods of $SERVICE"
  while read -r pod ready; do
    [[ -n $pod ]] || continue
    [[ $strategy == OnDelete* || $ready != True ]] || continue
    run {{ cmd.script_commands.delete_pod }} || die "$EXIT_FAILED" "could not delete $pod"
    run {{ cmd.script_commands.pod_ready }} ||
      die "$EXIT_VERIFY_FAILED" "$pod did not become Ready within $TIMEOUT after the rollback"
  done <<<"$stale"
}

{% endif %}
{% if cmd.engine_name == 'argo-rollouts' %}
# After an abort the rollout is Degraded by design, and `kubectl argo rollouts status` exits
# with an error on it: report the phase instead of waiting for Healthy
# (https://argoproj.github.io/argo-rollouts/generated/kubectl-argo-rollouts/kubectl-argo-rollouts_abort/).
report_abort() {
  local state
  state=$(run {{ cmd.eng.script('phase') }}) || die "$EXIT_FAILED" "could not read the rollout state"
  info "Aborted (state: ${state//$'\t'/ }): the stable version serves again. The rollout stays"
  info "Degraded until Git holds a good version: revert the bad change in Git (or run without --abort)."
}

{% endif %}
main() {
  parse_options "$@"
{% if cmd.engine_name == 'argo-rollouts' %}
  [[ $ABORT -eq 0 || ( -z $TO_REVISION && $PROMOTE_FULL -eq 0 ) ]] ||
    usage_error "--abort goes with neither --to-revision nor --promote-full"
{% endif %}
{% if not namespace_applies %}
  # The Argo CD application is the target, wherever its pods run: a namespace would mislead.
  [[ $NAMESPACE == "$PRODUCTION_NAMESPACE" ]] ||
    usage_error "--namespace does not apply: this rolls back the Argo CD application $GITOPS_APP"
{% endif %}
  warn_gitops
  plan_write gitops
  check_context
  require_gitops_paused
  read_history
  if [[ -n $TO_REVISION ]]; then require_revision --to-revision "$TO_REVISION"; fi
  undo_command
  confirm_write "$(quote "${UNDO[@]}")"
  if [[ $DRY_RUN -eq 1 ]]; then dry_run; return 0; fi
  run "${UNDO[@]}" || die "$EXIT_FAILED" "the rollback command failed"
{% if cmd.engine_name == 'argo-rollouts' %}
  if [[ $ABORT -eq 1 ]]; then report_abort; return 0; fi
  if [[ $PROMOTE_FULL -eq 1 ]]; then
    run {{ cmd.eng.script('promote_full') }} || die "$EXIT_FAILED" "kubectl argo rollouts promote --full failed"
  fi
{% endif %}
{% if c.workload == 'statefulset' %}
  replace_stale_pods
{% endif %}
  if ! wait_until_healthy; then
{% if cmd.engine_name == 'argo-rollouts' %}
    # The advice is the promote alone: this script again would undo again, and after the first
    # undo the previous revision is the bad one (`undo` goes back to the last revision:
    # https://argoproj.github.io/argo-rollouts/generated/kubectl-argo-rollouts/kubectl-argo-rollouts_undo/;
    # `promote --full` skips the remaining steps, pauses and analysis:
    # https://argoproj.github.io/argo-rollouts/generated/kubectl-argo-rollouts/kubectl-argo-rollouts_promote/).
    if [[ $PROMOTE_FULL -eq 0 ]]; then
      local promote=({{ cmd.eng.script('promote_full') }})
      info "The undo runs the rollout's steps, pauses and analysis again. If it stopped at a pause"
      info "step and skipping the rest (analysis included) is acceptable, promote it:"
      info "  $(quote "${promote[@]}")"
      info "Do not run this script again: a second undo goes back to the bad revision."
    fi
{% endif %}
    die "$EXIT_VERIFY_FAILED" "$SERVICE did not become healthy within $TIMEOUT after the rollback"
  fi
  info "Rolled back $SERVICE. Next: scripts/verify.sh, then tell the incident channel."
{% if c.gitops != 'none' %}
  info "Revert the bad change in Git before $GITOPS_TOOL resumes syncing."
{% endif %}
}

main "$@"
