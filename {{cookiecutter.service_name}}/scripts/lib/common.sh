# shellcheck shell=bash disable=SC2034,SC2154
# (SC2034/SC2154: this library defines names for its scripts and reads names they set.)
# Shared by the helper scripts: exit codes, messages, the common options, the production
# confirmation and the way commands are shown and run. Each script sets, before sourcing:
#   SERVICE, DEFAULT_NAMESPACE, PRODUCTION_NAMESPACE, CONFIGURED_CONTEXT, DEFAULT_TIMEOUT
# and defines usage() and script_option() (return 1 for an option it does not know).

readonly EXIT_OK=0 EXIT_FAILED=1 EXIT_USAGE=2 EXIT_REFUSED=3 EXIT_VERIFY_FAILED=4

EXIT_CODES_HELP="Exit codes:
  0  success
  1  a command failed
  2  usage error (bad option or value)
  3  refused (production without confirmation, wrong kubectl context, GitOps without --yes)
  4  verification failed (rollout not healthy, health check failed)"

NAMESPACE=$DEFAULT_NAMESPACE
CONTEXT=$CONFIGURED_CONTEXT
CONTEXT_GIVEN=0
DRY_RUN=0
ASSUME_YES=0
TIMEOUT=$DEFAULT_TIMEOUT
OPTION_SHIFT=1 # script_option sets 2 when it consumed a value

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

# The value of option $1, which must be present in $2 (the next argument).
option_value() {
  [[ $# -ge 2 && -n $2 && $2 != -* ]] || usage_error "$1 needs a value"
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
        OPTION_SHIFT=1
        script_option "$@" || usage_error "unknown option: $1"
        shift "$OPTION_SHIFT"
        ;;
    esac
  done
  [[ $NAMESPACE =~ ^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$ ]] ||
    usage_error "--namespace must be a Kubernetes namespace name, got '$NAMESPACE'"
  [[ $TIMEOUT =~ ^[1-9][0-9]{0,3}[smh]$ ]] ||
    usage_error "--timeout must be a number followed by s, m or h (e.g. 5m), got '$TIMEOUT'"
  [[ -z $CONTEXT || $CONTEXT =~ ^[A-Za-z0-9][-A-Za-z0-9._:/@]*$ ]] ||
    usage_error "--context must be a kubeconfig context name, got '$CONTEXT'"
}

# Arguments that pin every kubectl call to the namespace and context.
kube_args() {
  KUBE_ARGS=(-n "$NAMESPACE")
  if [[ -n $CONTEXT ]]; then KUBE_ARGS+=(--context "$CONTEXT"); fi
}

current_context() { kubectl config current-context 2>/dev/null || printf '(none)'; }

# Refuse to act on a cluster other than the one the service was set up with.
check_context() {
  [[ -n $CONFIGURED_CONTEXT && $CONTEXT_GIVEN -eq 0 ]] || return 0
  local current
  current=$(current_context)
  [[ $current == "$CONFIGURED_CONTEXT" ]] ||
    die "$EXIT_REFUSED" "the current kubectl context is '$current' but $SERVICE runs in '$CONFIGURED_CONTEXT'; pass --context $CONFIGURED_CONTEXT to act there"
}

# Show where a write goes, then ask for the service name in production (unless --yes).
confirm_write() { # confirm_write DESCRIPTION
  info "About to: $1"
  info "  context:   ${CONTEXT:-$(current_context) (current)}"
  info "  namespace: $NAMESPACE"
  info "  target:    $SERVICE"
  if [[ $DRY_RUN -eq 1 ]]; then info "  (dry run: nothing will change)"; return 0; fi
  [[ $NAMESPACE == "$PRODUCTION_NAMESPACE" && $ASSUME_YES -eq 0 ]] || return 0
  [[ -t 0 ]] || die "$EXIT_REFUSED" "refusing to change production ($NAMESPACE) without a terminal; pass --yes to confirm"
  local answer=""
  printf 'This changes PRODUCTION. Type the service name (%s) to continue: ' "$SERVICE" >&2
  read -r answer || true
  [[ $answer == "$SERVICE" ]] || die "$EXIT_REFUSED" "aborted: '$answer' is not '$SERVICE'; nothing was changed"
}

# Print a command as it will run, then run it.
run() {
  info "+ $*"
  "$@"
}
