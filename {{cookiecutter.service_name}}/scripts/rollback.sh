{% import "{% if False %}commands.jinja{% endif %}" as cmd with context %}
{% set c = cookiecutter %}
#!/usr/bin/env bash
# Roll {{ c.service_name }} back to its previous revision, or to --to-revision N, and wait until it is healthy.
# The commands of docs/runbooks/rollback.md, with the safety checks around them.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

TO_REVISION=""
{% if c.workload == 'argo-rollout' %}
ABORT=0
{% endif %}

usage() {
  cat <<USAGE
Usage: ${0##*/} [options]

Roll $SERVICE ($WORKLOAD_LABEL) back to the previous revision (or to --to-revision N)
and wait until it is healthy. It shows the history first, then where the change goes,
and asks you to type the service name before changing production.

Options:
      --to-revision N    roll back to revision N (a number the history lists)
{% if c.workload == 'argo-rollout' %}
      --abort            abort a rollout that is still in progress instead (traffic goes back
                         to the stable version; Git still holds the bad one)
{% endif %}
$COMMON_OPTIONS_HELP

Examples:
  ${0##*/} --dry-run
  ${0##*/} --to-revision 3
  ${0##*/} --namespace $STAGING_NAMESPACE --yes

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
{% if c.workload == 'argo-rollout' %}
    --abort) ABORT=1; OPTION_SHIFT=1 ;;
{% endif %}
    *) ;;
  esac
}

# The rollback command itself, as the runbook's Step 3 shows it.
undo_command() {
{% if c.workload in ['deployment', 'statefulset'] %}
  UNDO=(kubectl rollout undo "{{ cmd.kind }}/$SERVICE" "${KUBE_ARGS[@]}")
  if [[ -n $TO_REVISION ]]; then UNDO+=("--to-revision=$TO_REVISION"); fi
{% elif c.workload == 'argo-rollout' %}
  UNDO=(kubectl argo rollouts undo "$SERVICE" "${KUBE_ARGS[@]}")
  if [[ -n $TO_REVISION ]]; then UNDO+=("--to-revision=$TO_REVISION"); fi
  if [[ $ABORT -eq 1 ]]; then UNDO=(kubectl argo rollouts abort "$SERVICE" "${KUBE_ARGS[@]}"); fi
{% elif cmd.uses_helm_release %}
  UNDO=(helm rollback "$HELM_RELEASE")
  if [[ -n $TO_REVISION ]]; then UNDO+=("$TO_REVISION"); fi
  UNDO+=("${HELM_ARGS[@]}" --wait --timeout "$TIMEOUT")
{% else %}
  UNDO=(argocd app rollback "$GITOPS_APP")
  if [[ -n $TO_REVISION ]]; then UNDO+=("$TO_REVISION"); fi
  UNDO+=(--timeout "$(timeout_seconds)")
{% endif %}
}

# --dry-run: let the tool simulate the rollback where it can (kubectl on the server), else only show it.
dry_run() {
{% if c.workload in ['deployment', 'statefulset'] %}
  run "${UNDO[@]}" --dry-run=server || die "$EXIT_FAILED" "the server refused the rollback"
{% elif cmd.uses_helm_release %}
  run "${UNDO[@]}" --dry-run || die "$EXIT_FAILED" "helm refused the rollback"
{% else %}
  show_only "${UNDO[@]}"
{% endif %}
{% if c.workload == 'argo-rollout' %}
  if [[ $ABORT -eq 1 ]]; then return 0; fi
{% endif %}
  show_only "${WAIT_CMD[@]}"
}

{% if c.workload == 'statefulset' %}
# A StatefulSet with OrderedReady pods stays stuck on a broken pod: show which pods still run
# another revision than the one the StatefulSet now wants (runbook Step 3).
explain_stuck_statefulset() {
  local wanted
  info "A StatefulSet can stay stuck on a pod from the bad revision. Pods and their revisions:"
  run "${PODS_CMD[@]}" -L controller-revision-hash || true
  wanted=$(run kubectl get statefulset "$SERVICE" "${KUBE_ARGS[@]}" -o 'jsonpath={.status.updateRevision}') || wanted="(unknown)"
  info "The StatefulSet wants revision: $wanted"
  info "Delete each pod whose CONTROLLER-REVISION-HASH is not that one; it is recreated from it:"
  info "  $(quote kubectl delete pod POD_NAME "${KUBE_ARGS[@]}")"
}

{% endif %}
main() {
  parse_options "$@"
{% if c.workload == 'argo-rollout' %}
  [[ $ABORT -eq 0 || -z $TO_REVISION ]] || usage_error "--abort and --to-revision do not go together"
{% endif %}
{% if c.workload == 'helm' and not cmd.uses_helm_release %}
  # The Argo CD application is the target, wherever its pods run: a namespace would mislead.
  [[ $NAMESPACE == "$PRODUCTION_NAMESPACE" ]] ||
    usage_error "--namespace does not apply: this rolls back the Argo CD application $GITOPS_APP"
{% endif %}
  warn_gitops
  plan_write gitops
  check_context
  read_history
  if [[ -n $TO_REVISION ]]; then require_revision --to-revision "$TO_REVISION"; fi
  undo_command
  confirm_write "$(quote "${UNDO[@]}")"
  if [[ $DRY_RUN -eq 1 ]]; then dry_run; return 0; fi
{% if cmd.uses_helm_release %}
  run "${UNDO[@]}" ||
    die "$EXIT_VERIFY_FAILED" "helm rollback failed, or its pods were not ready within $TIMEOUT"
{% else %}
  run "${UNDO[@]}" || die "$EXIT_FAILED" "the rollback command failed"
{% endif %}
{% if c.workload == 'argo-rollout' %}
  if [[ $ABORT -eq 1 ]]; then
    info "Aborted: traffic is back on the stable version. The rollout stays Degraded until Git"
    info "holds a good version again: revert the bad change in Git (or run without --abort)."
    return 0
  fi
{% endif %}
  if ! wait_until_healthy; then
{% if c.workload == 'statefulset' %}
    explain_stuck_statefulset
{% endif %}
    die "$EXIT_VERIFY_FAILED" "$SERVICE did not become healthy within $TIMEOUT after the rollback"
  fi
  info "Rolled back $SERVICE. Next: scripts/verify.sh, then tell the incident channel."
{% if c.gitops != 'none' %}
  info "Revert the bad change in Git before $GITOPS_TOOL resumes syncing."
{% endif %}
}

main "$@"
