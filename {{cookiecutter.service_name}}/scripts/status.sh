{% import "{% if False %}commands.jinja{% endif %}" as cmd with context %}
{% set c = cookiecutter %}
#!/usr/bin/env bash
# Show {{ c.service_name }} as it runs now: the image, the pods and the rollout state. Read-only.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat <<USAGE
Usage: ${0##*/} [options]

Show $SERVICE ($WORKLOAD_LABEL) as it runs now: the image, the pods and the
rollout state, without waiting. It only reads: no confirmation is asked, and
--dry-run and --yes change nothing.

Options:
$COMMON_OPTIONS_HELP

Examples:
  ${0##*/}
  ${0##*/} --namespace $STAGING_NAMESPACE

$EXIT_CODES_HELP
USAGE
}

# The rollout's state now (the runbook's status command, without waiting for it).
show_state() {
{% if c.workload in ['deployment', 'statefulset'] %}
  run kubectl rollout status "{{ cmd.kind }}/$SERVICE" "${KUBE_ARGS[@]}" --watch=false
{% elif c.workload == 'argo-rollout' %}
  run kubectl argo rollouts status "$SERVICE" "${KUBE_ARGS[@]}" --watch=false
{% elif cmd.uses_helm_release %}
  run helm status "$HELM_RELEASE" "${HELM_ARGS[@]}"
{% else %}
  run argocd app get "$GITOPS_APP"
{% endif %}
}

main() {
  parse_options "$@"
  check_context
  local image
  image=$(run "${IMAGE_CMD[@]}") || die "$EXIT_FAILED" "could not read the image of $SERVICE"
  printf 'Image:\n%s\n\nPods:\n' "$image"
  run "${PODS_CMD[@]}" || die "$EXIT_FAILED" "could not list the pods of $SERVICE"
  printf '\nRollout:\n'
  show_state || die "$EXIT_FAILED" "could not read the rollout state of $SERVICE"
}

main "$@"
