{% import "{% if False %}commands.jinja{% endif %}" as cmd with context %}
{% set c = cookiecutter %}
#!/usr/bin/env bash
# Verify {{ c.service_name }}: the running image and revision, a bounded wait for the rollout, and the
# health check as far as it is known (docs/runbooks/rollback.md, Steps 4 and 5): a URL, the pods'
# HTTP probe through the API server, or the pods' Ready condition. Exits 4 when it is not healthy.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

HEALTH_URL=$DEFAULT_HEALTH_URL
readonly HEALTH_MAX_TIME=10

usage() {
  cat <<USAGE
Usage: ${0##*/} [options]

Verify $SERVICE ($WORKLOAD_LABEL): print the running image and revision, wait
(at most --timeout) for the rollout to finish, then check its health: {{ {
  'url': 'the health URL with curl
(at most $HEALTH_MAX_TIME seconds)',
  'in-cluster': "each Running pod's HTTP probe
(" ~ c.health_check_path ~ ' on port ' ~ c.health_check_port ~ ') through the Kubernetes API server',
  'readiness': "the pods' Ready condition (no
HTTP health check is known)",
}[c.health_check] }}; --health-url checks a URL instead.
Exits 4 when the rollout or the health check fails.
It only reads: no confirmation is asked, and --dry-run and --yes change nothing.

Options:
      --health-url URL   health check URL (default: ${DEFAULT_HEALTH_URL:-none, the check above})
$COMMON_OPTIONS_HELP

Examples:
  ${0##*/}
  ${0##*/} --timeout 2m
  ${0##*/} --namespace $STAGING_NAMESPACE --health-url https://staging.example.com/health

$EXIT_CODES_HELP
USAGE
}

script_option() {
  case $1 in
    --health-url)
      HEALTH_URL=$(option_value "$@")
      [[ $HEALTH_URL =~ ^https?://[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?(:[0-9]{1,5})?([/?#][-A-Za-z0-9._~:/?#@!$\&()*+,\;=%]*)?$ ]] ||
        usage_error "--health-url must be an http:// or https:// URL without spaces or quotes, got '$HEALTH_URL'"
      OPTION_SHIFT=2
      ;;
    *) ;;
  esac
}

# The health check: a URL when there is one (the answer or --health-url), else what the
# health_check answer allows. Never a made-up URL: a service without one is checked by readiness.
check_health() {
  if [[ -n $HEALTH_URL ]]; then
    run {{ cmd.script_commands.health }} ||
      die "$EXIT_VERIFY_FAILED" "$SERVICE is not healthy: $HEALTH_URL failed"
    return
  fi
{% if c.health_check == 'in-cluster' %}
  local pods pod
  pods=$(run "${PODS_CMD[@]}" --field-selector=status.phase=Running -o 'jsonpath={range .items[*]}{.metadata.name}{"\n"}{end}') ||
    die "$EXIT_FAILED" "could not list the pods of $SERVICE"
  [[ -n $pods ]] || die "$EXIT_VERIFY_FAILED" "$SERVICE is not healthy: no Running pod answers its probe"
  while IFS= read -r pod; do
    run {{ cmd.script_commands.health_in_cluster }} ||
      die "$EXIT_VERIFY_FAILED" "$SERVICE is not healthy: pod $pod failed its probe {{ c.health_check_path }} on port {{ c.health_check_port }}"
    printf '\n'
  done <<<"$pods"
{% else %}
  run {{ cmd.script_commands.pods_ready }} ||
    die "$EXIT_VERIFY_FAILED" "$SERVICE is not healthy: not every pod became Ready within $TIMEOUT"
{% endif %}
}

main() {
  parse_options "$@"
  check_context
  local image newest
  image=$(run "${IMAGE_CMD[@]}") || die "$EXIT_FAILED" "could not read the image of $SERVICE"
  read_history >/dev/null
  newest=$(tail -n 1 <<<"$REVISIONS")
  printf 'Image:    %s\n' "$image"
  printf 'Revision: %s (the newest of: %s)\n' "${newest:-unknown}" "$(tr '\n' ' ' <<<"$REVISIONS")"
  wait_until_healthy ||
    die "$EXIT_VERIFY_FAILED" "$SERVICE is not healthy: its rollout did not finish within $TIMEOUT"
  check_health

  printf '\n'
  info "$SERVICE is healthy."
}

main "$@"
