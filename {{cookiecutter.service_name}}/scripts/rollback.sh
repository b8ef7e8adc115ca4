{% import "{% if False %}commands.jinja{% endif %}" as cmd with context %}
{% set c = cookiecutter %}
#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Roll {{ c.service_name }} back to its previous version, or to --to-revision N.
# The same commands as docs/runbooks/rollback.md, with the safety checks around them.
set -euo pipefail

readonly SERVICE="{{ c.service_name }}"
readonly DEFAULT_NAMESPACE="{{ c.namespace }}"
readonly PRODUCTION_NAMESPACE="{{ c.namespace }}"
readonly CONFIGURED_CONTEXT="{{ c.kube_context }}"
readonly DEFAULT_TIMEOUT="{{ c.rollout_timeout }}"
{% if cmd.uses_helm_release %}
readonly HELM_RELEASE="{{ c.helm_release }}"
{% endif %}
{% if c.workload == 'helm' and not cmd.uses_helm_release %}
readonly GITOPS_APP="{{ c.gitops_app }}"
{% endif %}
TO_REVISION=""

usage() {
  cat <<USAGE
Usage: ${0##*/} [options]

Roll $SERVICE ({{ cmd.workload_label }}) back to the previous revision and wait until it is healthy.

Options:
  -c, --context NAME     kubectl context (default: ${CONFIGURED_CONTEXT:-the current context})
  -n, --namespace NAME   namespace (default: $DEFAULT_NAMESPACE)
      --to-revision N    roll back to revision N (a positive integer) instead of the previous one
      --timeout DURATION how long to wait for the rollout (default: $DEFAULT_TIMEOUT)
      --dry-run          show what would run; change nothing
  -y, --yes              do not ask for confirmation in production
  -h, --help             show this help

Examples:
  ${0##*/} --dry-run
  ${0##*/} --to-revision 3
  ${0##*/} --namespace {{ c.staging_namespace }}

$EXIT_CODES_HELP
USAGE
}

script_option() {
  case $1 in
    --to-revision)
      TO_REVISION=$(option_value "$@")
      [[ $TO_REVISION =~ ^[1-9][0-9]{0,8}$ ]] ||
        usage_error "--to-revision must be a positive integer, got '$TO_REVISION'"
      OPTION_SHIFT=2
      ;;
    *) return 1 ;;
  esac
}

# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

main() {
  parse_options "$@"
  check_context
  kube_args
{% if c.gitops != 'none' %}
  if [[ $DRY_RUN -eq 0 && $ASSUME_YES -eq 0 ]]; then
    die "$EXIT_REFUSED" "{{ 'Flux' if c.gitops == 'flux' else 'Argo CD' }} deploys $SERVICE and will revert a manual rollback at its next sync.
Pause it first, then run again with --yes:
  {{ cmd.gitops_pause }}"
  fi
  info "warning: {{ 'Flux' if c.gitops == 'flux' else 'Argo CD' }} deploys $SERVICE; make sure it is paused ({{ cmd.gitops_pause }}), or the next sync undoes this rollback."
{% endif %}
  confirm_write "roll back $SERVICE to ${TO_REVISION:+revision }${TO_REVISION:-the previous revision}"
{% if c.workload in ['deployment', 'statefulset'] %}
  local undo=(kubectl rollout undo "{{ cmd.kind }}/$SERVICE" "${KUBE_ARGS[@]}")
  if [[ -n $TO_REVISION ]]; then undo+=("--to-revision=$TO_REVISION"); fi
  if [[ $DRY_RUN -eq 1 ]]; then
    run "${undo[@]}" --dry-run=server || die "$EXIT_FAILED" "the server refused the rollback"
    return 0
  fi
  run "${undo[@]}" || die "$EXIT_FAILED" "rollout undo failed"
  run kubectl rollout status "{{ cmd.kind }}/$SERVICE" "${KUBE_ARGS[@]}" "--timeout=$TIMEOUT" ||
    die "$EXIT_VERIFY_FAILED" "the rollback did not become healthy within $TIMEOUT"
{% elif c.workload == 'argo-rollout' %}
  local undo=(kubectl argo rollouts undo "$SERVICE" "${KUBE_ARGS[@]}")
  if [[ -n $TO_REVISION ]]; then undo+=("--to-revision=$TO_REVISION"); fi
  if [[ $DRY_RUN -eq 1 ]]; then
    info "would run: ${undo[*]}"
    info "would run: kubectl argo rollouts status $SERVICE ${KUBE_ARGS[*]} --timeout $TIMEOUT"
    return 0
  fi
  run "${undo[@]}" || die "$EXIT_FAILED" "argo rollouts undo failed"
  run kubectl argo rollouts status "$SERVICE" "${KUBE_ARGS[@]}" --timeout "$TIMEOUT" ||
    die "$EXIT_VERIFY_FAILED" "the rollback did not become healthy within $TIMEOUT"
{% elif cmd.uses_helm_release %}
  local helm_args=(-n "$NAMESPACE")
  if [[ -n $CONTEXT ]]; then helm_args+=(--kube-context "$CONTEXT"); fi
  local rollback=(helm rollback "$HELM_RELEASE")
  if [[ -n $TO_REVISION ]]; then rollback+=("$TO_REVISION"); fi
  rollback+=("${helm_args[@]}" --wait --timeout "$TIMEOUT")
  if [[ $DRY_RUN -eq 1 ]]; then
    run "${rollback[@]}" --dry-run || die "$EXIT_FAILED" "helm refused the rollback"
    return 0
  fi
  run "${rollback[@]}" || die "$EXIT_VERIFY_FAILED" "helm rollback failed or did not become ready within $TIMEOUT"
{% else %}
  local rollback=(argocd app rollback "$GITOPS_APP")
  if [[ -n $TO_REVISION ]]; then rollback+=("$TO_REVISION"); fi
  rollback+=(--timeout "{{ cmd.timeout_seconds }}")
  if [[ $DRY_RUN -eq 1 ]]; then
    info "would run: ${rollback[*]}"
    return 0
  fi
  run "${rollback[@]}" || die "$EXIT_FAILED" "argocd app rollback failed"
  run argocd app wait "$GITOPS_APP" --health --timeout "{{ cmd.timeout_seconds }}" ||
    die "$EXIT_VERIFY_FAILED" "the application did not become healthy within $TIMEOUT"
{% endif %}
  info "Rolled back $SERVICE. Next: verify it (docs/runbooks/rollback.md, Step 5)."
}

main "$@"
