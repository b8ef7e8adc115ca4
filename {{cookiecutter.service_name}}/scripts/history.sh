{% import "{% if False %}commands.jinja{% endif %}" as cmd with context %}
{% set c = cookiecutter %}
#!/usr/bin/env bash
# Show {{ c.service_name }}'s revision history, or what one revision deployed. Read-only.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

REVISION=""

usage() {
  cat <<USAGE
Usage: ${0##*/} [options]

Show the revisions of $SERVICE ($WORKLOAD_LABEL) that rollback.sh --to-revision can
go back to{% if cmd.engine_name != 'argo-rollouts' %}, or with --revision N what revision N deployed{% endif %}.
It only reads: no confirmation is asked, and --dry-run and --yes change nothing.

Options:
{% if cmd.engine_name == 'argo-rollouts' %}
      --revision N       accepted for symmetry: Argo Rollouts shows every revision at once
{% else %}
      --revision N       show what revision N deployed (a positive integer)
{% endif %}
$COMMON_OPTIONS_HELP

Examples:
  ${0##*/}
  ${0##*/} --revision 2

$EXIT_CODES_HELP
USAGE
}

script_option() {
  case $1 in
    --revision)
      local value
      value=$(option_value "$@")
      REVISION=$(revision_value "$1" "$value")
      OPTION_SHIFT=2
      ;;
    *) ;;
  esac
}

# What one revision deployed, as the runbook's Step 2 shows it.
show_revision() {
{% if cmd.engine_name == 'argo-rollouts' %}
  info "Argo Rollouts has no per-revision view; every revision is listed:"
  run "${HISTORY_CMD[@]}"
{% elif cmd.engine_name == 'argocd-helm' %}
  # Argo CD lists, per history ID, the source revision it deployed (a Git commit or chart
  # version); `argocd app manifests --revision` takes that source revision, not the ID.
  local rows SOURCE_REVISION
  rows=$(awk -v id="$REVISION" '$1 == id' <<<"$HISTORY_OUTPUT")
  [[ -n $rows ]] || usage_error "--revision $REVISION: $GITOPS_APP has no history ID $REVISION"
  grep -E '^(SOURCE|ID)[[:space:]]' <<<"$HISTORY_OUTPUT" || true
  printf '%s\n' "$rows"
  SOURCE_REVISION='<its REVISION>'
  info "To see what it deployed: $(quote {{ cmd.eng.script('show_revision') }})"
  info "  (it {{ cmd.secrets_warning }})"
{% else %}
  local show=({{ cmd.eng.script('show_revision') }})
{% if cmd.show_revision_prints_secrets %}
  info "warning: this {{ cmd.secrets_warning }}"
{% endif %}
  run "${show[@]}"
{% endif %}
}

main() {
  parse_options "$@"
  check_context
{% if cmd.engine_name != 'argocd-helm' %}
  if [[ -z $REVISION ]]; then
    run "${HISTORY_CMD[@]}" || die "$EXIT_FAILED" "could not read the history of $SERVICE"
    return 0
  fi
{% else %}
  HISTORY_OUTPUT=$(run "${HISTORY_CMD[@]}") || die "$EXIT_FAILED" "could not read the history of $SERVICE"
  if [[ -z $REVISION ]]; then printf '%s\n' "$HISTORY_OUTPUT"; return 0; fi
{% endif %}
  show_revision || die "$EXIT_FAILED" "could not show revision $REVISION of $SERVICE"
}

main "$@"
