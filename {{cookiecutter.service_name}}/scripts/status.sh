{% import "{% if False %}commands.jinja{% endif %}" as cmd with context %}
{% set c = cookiecutter %}
#!/usr/bin/env bash
# Show {{ c.service_name }} as it runs now: the image, the pods and the rollout state. Read-only.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

ACCESS=0

usage() {
  cat <<USAGE
Usage: ${0##*/} [options]

Show $SERVICE ($WORKLOAD_LABEL) as it runs now: the image, the pods and the
rollout state, without waiting. It only reads: no confirmation is asked, and
--dry-run and --yes change nothing.

Options:
      --access           instead: check, at the start of a shift, that you may run the
                         runbooks' changing commands (kubectl auth can-i for each) and that
                         kubectl is 1.$KUBECTL_MIN_MINOR or newer; exit 3 when something is missing
$COMMON_OPTIONS_HELP

Examples:
  ${0##*/}
  ${0##*/} --access
  ${0##*/} --namespace $STAGING_NAMESPACE

$EXIT_CODES_HELP
USAGE
}

script_option() {
  case $1 in
    --access) ACCESS=1; OPTION_SHIFT=1 ;;
    *) ;;
  esac
}

# Each right the runbooks' changing commands need: verb, resource, subresource (- for none),
# namespace (. for --namespace), what needs it (docs/runbooks/on-call.md lists the same).
ACCESS_TABLE="\
{% for verb, resource, sub, namespace, why in cmd.access_checks %}
{{ verb }} {{ resource }} {{ sub or '-' }} {{ '.' if namespace == c.namespace else namespace }} {{ why }}
{% endfor %}
"

# Ask the API server for each right (a SelfSubjectAccessReview changes nothing), and check the
# kubectl version; print every answer, then fail (exit 3) if one is missing.
check_access() {
  local missing=0 verb resource sub namespace why question shown context=()
  read_kubectl_version
  if [[ $KUBECTL_MINOR -lt $KUBECTL_MIN_MINOR ]]; then missing=1; fi
  if [[ -n $CONTEXT ]]; then context=(--context "$CONTEXT"); fi
  while read -r verb resource sub namespace why; do
    [[ -n $verb ]] || continue
    [[ $namespace != . ]] || namespace=$NAMESPACE
    question=("$verb" "$resource")
    shown=$resource
    if [[ $sub != - ]]; then
      question+=("--subresource=$sub")
      shown+="/$sub"
    fi
    if run {{ cmd.script_commands.can_i }}; then
      printf 'yes  %s %s in %s (%s)\n' "$verb" "$shown" "$namespace" "$why"
    else
      printf 'NO   %s %s in %s: needed for %s\n' "$verb" "$shown" "$namespace" "$why"
      missing=1
    fi
  done <<<"$ACCESS_TABLE"
{% if c.gitops == 'argocd' %}
  info "Argo CD's own rights: run the argocd account can-i lines of docs/runbooks/on-call.md."
{% endif %}
  [[ $missing -eq 0 ]] ||
    die "$EXIT_REFUSED" "a right or the kubectl version the runbooks need is missing (see above): ask for it before an incident needs it"
  printf 'All the rights the runbooks need are granted.\n'
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
  if [[ $ACCESS -eq 1 ]]; then check_access; return 0; fi
  local image
  image=$(run "${IMAGE_CMD[@]}") || die "$EXIT_FAILED" "could not read the image of $SERVICE"
  printf 'Image:\n%s\n\nPods:\n' "$image"
  run "${PODS_CMD[@]}" || die "$EXIT_FAILED" "could not list the pods of $SERVICE"
  printf '\nRollout:\n'
  show_state || die "$EXIT_FAILED" "could not read the rollout state of $SERVICE"
}

main "$@"
