{% import "{% if False %}commands.jinja{% endif %}" as cmd with context %}
{% set c = cookiecutter %}
# shellcheck shell=bash disable=SC2034
# (SC2034: this library defines names its scripts use.)
# Shared by the helper scripts: the service's validated identifiers, exit codes, messages, the
# common options, the confirmation before a write, and the commands for this service's workload,
# written as docs/runbooks/rollback.md shows them. Source it first, then define usage() and,
# for options of your own, script_option(): it gets the remaining arguments and sets
# OPTION_SHIFT to how many it used (1 or 2), leaving 0 for one it does not know.

# Identifiers from the template's answers, each validated before rendering (never free text).
readonly SERVICE='{{ c.service_name }}'
readonly PRODUCTION_NAMESPACE='{{ c.namespace }}'
readonly STAGING_NAMESPACE='{{ c.staging_namespace }}'
readonly CONFIGURED_CONTEXT='{{ c.kube_context }}'
readonly DEFAULT_TIMEOUT='{{ c.rollout_timeout }}'
readonly APP_SELECTOR='{{ c.app_label_selector }}'
readonly DEFAULT_HEALTH_URL='{{ c.health_url }}'
readonly WORKLOAD_LABEL='{{ cmd.workload_label }}'
{% if cmd.uses_helm_release %}
readonly HELM_RELEASE='{{ c.helm_release }}'
{% endif %}
{% if c.gitops != 'none' %}
readonly GITOPS_APP='{{ c.gitops_app }}'
readonly GITOPS_TOOL='{{ 'Flux' if c.gitops == 'flux' else 'Argo CD' }}'
readonly GITOPS_PAUSE='{{ cmd.gitops_pause }}'
{% else %}
readonly GITOPS_TOOL=''
{% endif %}

readonly EXIT_OK=0 EXIT_FAILED=1 EXIT_USAGE=2 EXIT_REFUSED=3 EXIT_VERIFY_FAILED=4

EXIT_CODES_HELP="Exit codes (the same for every script in scripts/):
  0  success
  1  a command failed
  2  usage error (bad option or value, unknown revision)
  3  refused, nothing changed (no confirmation for production, wrong kubectl context,
     GitOps without confirmation, a rollback the tool cannot do)
  4  verification failed (rollout not healthy in time, health check failed)"

NAMESPACE=$PRODUCTION_NAMESPACE
CONTEXT=$CONFIGURED_CONTEXT
CONTEXT_GIVEN=0
DRY_RUN=0
ASSUME_YES=0
TIMEOUT=$DEFAULT_TIMEOUT
OPTION_SHIFT=0   # how many arguments script_option used
CONFIRM_REASON="" # set by plan_write: why this write needs a typed confirmation

info() { printf '%s\n' "$*" >&2; }
die() { # die EXIT_CODE MESSAGE...
  local code=$1
  shift
  printf 'error: %s\n' "$*" >&2
  exit "$code"
}
usage_error() {
  printf 'error: %s\n' "$*" >&2
  printf "Run '%s --help' for usage.\n" "${0##*/}" >&2
  exit "$EXIT_USAGE"
}

# Scripts without options of their own keep this one.
script_option() { :; }

# The value of option $1, which must be present in $2 (the next argument).
option_value() {
  [[ $# -ge 2 && -n $2 && $2 != -* ]] || usage_error "$1 needs a value"
  printf '%s' "$2"
}

# A revision number, else a usage error naming the option (Argo CD history IDs start at 0,
# Kubernetes and Helm revisions at 1).
revision_value() { # revision_value OPTION VALUE
{% if c.workload == 'helm' and not cmd.uses_helm_release %}
  [[ $2 =~ ^(0|[1-9][0-9]{0,8})$ ]] || usage_error "$1 must be an Argo CD history ID (0, 1, 2, ...), got '$2'"
{% else %}
  [[ $2 =~ ^[1-9][0-9]{0,8}$ ]] || usage_error "$1 must be a positive integer, got '$2'"
{% endif %}
  printf '%s' "$2"
}

parse_options() {
  while [[ $# -gt 0 ]]; do
    case $1 in
      -h | --help) usage; exit "$EXIT_OK" ;;
      -c | --context) CONTEXT=$(option_value "$@"); CONTEXT_GIVEN=1; shift 2 ;;
      -n | --namespace) NAMESPACE=$(option_value "$@"); shift 2 ;;
      --timeout) TIMEOUT=$(option_value "$@"); shift 2 ;;
      --dry-run) DRY_RUN=1; shift ;;
      -y | --yes) ASSUME_YES=1; shift ;;
      *)
        OPTION_SHIFT=0
        script_option "$@" # not in a condition, so that its errors stop the script
        [[ $OPTION_SHIFT -gt 0 ]] || usage_error "unknown option or argument: $1"
        shift "$OPTION_SHIFT"
        ;;
    esac
  done
  [[ $NAMESPACE =~ ^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$ ]] ||
    usage_error "--namespace must be a Kubernetes namespace name, got '$NAMESPACE'"
  [[ $TIMEOUT =~ ^[1-9][0-9]{0,3}[smh]$ ]] ||
    usage_error "--timeout must be a number followed by s, m or h (e.g. 5m), got '$TIMEOUT'"
  [[ -z $CONTEXT || $CONTEXT =~ ^[A-Za-z0-9][-A-Za-z0-9._:/@]{0,252}$ ]] ||
    usage_error "--context must be a kubeconfig context name, got '$CONTEXT'"
  set_workload_commands
}

# The common options, for each script's usage text.
COMMON_OPTIONS_HELP="  -c, --context NAME     kubectl context (default: ${CONFIGURED_CONTEXT:-the current context})
  -n, --namespace NAME   namespace (default: $PRODUCTION_NAMESPACE; staging: $STAGING_NAMESPACE)
      --timeout DURATION how long any wait may take, e.g. 90s, 5m (default: $DEFAULT_TIMEOUT)
      --dry-run          show what would change; change nothing
  -y, --yes              do not ask for confirmation (production, GitOps)
  -h, --help             show this help"

# --timeout in seconds, for tools that want a number (argocd).
timeout_seconds() {
  local number=${TIMEOUT%[smh]}
  case $TIMEOUT in
    *s) printf '%s' "$number" ;;
    *m) printf '%s' "$((number * 60))" ;;
    *h) printf '%s' "$((number * 3600))" ;;
  esac
}

# Arguments as one line that a shell splits back into the same words (for showing commands).
quote() {
  local line="" arg
  for arg in "$@"; do
    if [[ $arg =~ ^[-A-Za-z0-9_./=:@,+%]+$ ]]; then
      line+=" $arg"
    else
      line+=" '${arg//\'/\'\\\'\'}'"
    fi
  done
  printf '%s' "${line# }"
}

# Print a command as it will run, then run it.
run() {
  info "+ $(quote "$@")"
  "$@"
}

# Print a command that --dry-run leaves out.
show_only() { info "would run: $(quote "$@")"; }

current_context() { kubectl config current-context 2>/dev/null || printf '(none)'; }

# Refuse to act on a cluster other than the one the service was set up with.
check_context() {
  [[ -n $CONFIGURED_CONTEXT && $CONTEXT_GIVEN -eq 0 ]] || return 0
  local current
  current=$(current_context)
  [[ $current == "$CONFIGURED_CONTEXT" ]] ||
    die "$EXIT_REFUSED" "the current kubectl context is '$current' but $SERVICE runs in '$CONFIGURED_CONTEXT'; pass --context $CONFIGURED_CONTEXT to act there"
}

# With GitOps, say that a manual change is reverted by the next sync, and how to pause it.
warn_gitops() {
  [[ -n $GITOPS_TOOL ]] || return 0
{% if c.gitops != 'none' %}
  info "warning: $GITOPS_TOOL deploys $SERVICE and reverts a manual rollback at its next sync."
  info "  Pause it first:  $GITOPS_PAUSE"
  info "  then revert the bad change in Git before you resume it."
{% endif %}
}

# Before a write, and before calling anything: decide whether a person must confirm it
# (production; and any namespace when GitOps deploys the service and the caller passes "gitops"),
# and refuse at once when there is no terminal to confirm on and no --yes.
plan_write() { # plan_write [gitops]
  CONFIRM_REASON=""
  [[ $DRY_RUN -eq 0 && $ASSUME_YES -eq 0 ]] || return 0
  if [[ $NAMESPACE == "$PRODUCTION_NAMESPACE" ]]; then
    CONFIRM_REASON="this changes PRODUCTION (namespace $NAMESPACE)"
  elif [[ ${1:-} == gitops && -n $GITOPS_TOOL ]]; then
    CONFIRM_REASON="$GITOPS_TOOL will revert this change unless it is paused"
  fi
  [[ -z $CONFIRM_REASON || -t 0 ]] ||
    die "$EXIT_REFUSED" "refusing: $CONFIRM_REASON and there is no terminal to confirm it; pass --yes to confirm"
}

# Show where a write goes, then ask for the service name when plan_write said so.
confirm_write() { # confirm_write DESCRIPTION
  info "About to: $1"
  info "  context:   ${CONTEXT:-$(current_context) (current)}"
  info "  namespace: $NAMESPACE"
  info "  target:    $SERVICE ($WORKLOAD_LABEL)"
  if [[ $DRY_RUN -eq 1 ]]; then info "  (dry run: nothing will change)"; fi
  [[ -n $CONFIRM_REASON ]] || return 0
  local answer=""
  printf 'Warning: %s.\nType the service name (%s) to continue: ' "$CONFIRM_REASON" "$SERVICE" >&2
  read -r answer || true
  [[ $answer == "$SERVICE" ]] || die "$EXIT_REFUSED" "aborted: '$answer' is not '$SERVICE'; nothing was changed"
}

# The workload's commands, pinned to --namespace and --context (after the subcommand, as in the
# runbook: kubectl finds plugins only when no flag comes first). Set by parse_options.
set_workload_commands() {
  KUBE_ARGS=(-n "$NAMESPACE")
  HELM_ARGS=(-n "$NAMESPACE")
  if [[ -n $CONTEXT ]]; then
    KUBE_ARGS+=(--context "$CONTEXT")
    HELM_ARGS+=(--kube-context "$CONTEXT")
  fi
  PODS_CMD=(kubectl get pods -l "$APP_SELECTOR" "${KUBE_ARGS[@]}")
{% if c.workload in ['deployment', 'statefulset'] %}
  HISTORY_CMD=(kubectl rollout history "{{ cmd.kind }}/$SERVICE" "${KUBE_ARGS[@]}")
  WAIT_CMD=(kubectl rollout status "{{ cmd.kind }}/$SERVICE" "${KUBE_ARGS[@]}" "--timeout=$TIMEOUT")
  IMAGE_CMD=(kubectl get {{ cmd.kind }} "$SERVICE" "${KUBE_ARGS[@]}" -o 'jsonpath={.spec.template.spec.containers[*].image}')
{% elif c.workload == 'argo-rollout' %}
  HISTORY_CMD=(kubectl argo rollouts get rollout "$SERVICE" "${KUBE_ARGS[@]}")
  WAIT_CMD=(kubectl argo rollouts status "$SERVICE" "${KUBE_ARGS[@]}" --timeout "$TIMEOUT")
  IMAGE_CMD=(kubectl get rollout "$SERVICE" "${KUBE_ARGS[@]}" -o 'jsonpath={.spec.template.spec.containers[*].image}')
{% elif cmd.uses_helm_release %}
  HISTORY_CMD=(helm history "$HELM_RELEASE" "${HELM_ARGS[@]}")
  WAIT_CMD=(helm status "$HELM_RELEASE" "${HELM_ARGS[@]}")
  IMAGE_CMD=("${PODS_CMD[@]}" -o 'jsonpath={range .items[*]}{.metadata.name}{"\t"}{.spec.containers[*].image}{"\n"}{end}')
{% else %}
  # Argo CD renders the Helm chart itself: there is no Helm release, only the application.
  HISTORY_CMD=(argocd app history "$GITOPS_APP")
  WAIT_CMD=(argocd app wait "$GITOPS_APP" --health --timeout "$(timeout_seconds)")
  IMAGE_CMD=("${PODS_CMD[@]}" -o 'jsonpath={range .items[*]}{.metadata.name}{"\t"}{.spec.containers[*].image}{"\n"}{end}')
{% endif %}
}

# Print the workload's history (runbook Step 2) and keep its revision numbers, oldest first,
# one a line, in REVISIONS.
read_history() {
  local output
  output=$(run "${HISTORY_CMD[@]}") || die "$EXIT_FAILED" "could not read the history of $SERVICE"
  printf '%s\n' "$output"
{% if c.workload == 'argo-rollout' %}
  REVISIONS=$(grep -oE 'revision:[0-9]+' <<<"$output" | cut -d: -f2 | sort -n -u || true)
{% else %}
  REVISIONS=$(awk '$1 ~ /^[0-9]+$/ { print $1 }' <<<"$output" | sort -n -u)
{% endif %}
}

# A revision asked for must be one the history lists.
require_revision() { # require_revision OPTION N
  grep -qx -- "$2" <<<"$REVISIONS" ||
    usage_error "$1 $2: $SERVICE has no revision $2 (it has: $(tr '\n' ' ' <<<"$REVISIONS"))"
}

# Wait (bounded by --timeout) until the workload is healthy; non-zero when it is not.
wait_until_healthy() {
{% if cmd.uses_helm_release %}
  # helm rollback --wait already waited; the release must now be deployed.
  local output
  output=$(run "${WAIT_CMD[@]}") || return 1
  printf '%s\n' "$output"
  grep -q '^STATUS: deployed$' <<<"$output"
{% else %}
  run "${WAIT_CMD[@]}"
{% endif %}
}
