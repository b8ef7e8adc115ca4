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
{% if c.workload == 'statefulset' %}
  local strategy
  strategy=$(statefulset_strategy) || return 1
  if [[ $strategy == OnDelete* ]]; then
    # rollout status refuses OnDelete: show the pods that do not yet run the wanted revision.
    printf 'OnDelete: pods still on another revision (name, Ready):\n%s\n' "$(statefulset_stale_pods)"
    return 0
  fi
{% endif %}
{% if cmd.engine_name == 'argo-rollouts' %}
  # `kubectl argo rollouts status` exits with an error on an aborted (Degraded) rollout; `get`
  # shows it, and the phase says what it means.
  run "${STATUS_CMD[@]}" || return 1
  local state phase abort message
  state=$(run {{ cmd.eng.script('phase') }}) || return 1
  IFS=$'\t' read -r phase abort message <<<"$state" || true
  if [[ $abort == true ]]; then
    printf 'Aborted: the stable version serves; the spec (Git) still holds the new version. %s\n' "$message"
  else
    printf 'Phase: %s %s\n' "$phase" "$message"
  fi
{% else %}
  run "${STATUS_CMD[@]}"
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
