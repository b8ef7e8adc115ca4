{% import "{% if False %}commands.jinja{% endif %}" as cmd with context %}
{% set c = cookiecutter %}
#!/usr/bin/env bash
# Verify {{ c.service_name }}: the running image and revision, a bounded wait for the rollout, and the
# health check (docs/runbooks/rollback.md, Steps 4 and 5). Exits 4 when it is not healthy.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

HEALTH_URL=$DEFAULT_HEALTH_URL
readonly HEALTH_MAX_TIME=10

usage() {
  cat <<USAGE
Usage: ${0##*/} [options]

Verify $SERVICE ($WORKLOAD_LABEL): print the running image and revision, wait
(at most --timeout) for the rollout to finish, then check the health URL with curl
(at most $HEALTH_MAX_TIME seconds). Exits 4 when the rollout or the health check fails.
It only reads: no confirmation is asked, and --dry-run and --yes change nothing.

Options:
      --health-url URL   health check URL (default: $DEFAULT_HEALTH_URL)
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
  run {{ cmd.script_commands.health }} ||
    die "$EXIT_VERIFY_FAILED" "$SERVICE is not healthy: $HEALTH_URL failed"
  printf '\n'
  info "$SERVICE is healthy."
}

main "$@"
