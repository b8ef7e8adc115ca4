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
readonly WORKLOAD_NAME='{{ c.workload_name }}'
readonly PRODUCTION_NAMESPACE='{{ c.namespace }}'
readonly STAGING_NAMESPACE='{{ c.staging_namespace }}'
readonly CONFIGURED_CONTEXT='{{ c.kube_context }}'
readonly DEFAULT_TIMEOUT='{{ c.rollout_timeout }}'
readonly APP_SELECTOR='{{ c.app_label_selector }}'
# The health check (health_check): url, in-cluster (the pods' HTTP probe through the API
# server) or readiness (the pods' Ready condition). A URL only when the answers give one.
readonly HEALTH_CHECK='{{ c.health_check }}'
readonly DEFAULT_HEALTH_URL='{{ c.health_url if c.health_check == 'url' else '' }}'
readonly WORKLOAD_LABEL='{{ cmd.workload_label }}'
{% if cmd.engine_name == 'helm' %}
readonly HELM_RELEASE='{{ cmd.helm_release }}'
{% if c.gitops == 'flux' %}
# helm-controller keeps the release in the HelmRelease's namespace, not the workload's.
readonly HELM_STORAGE_NAMESPACE='{{ cmd.eng.helm_namespace }}'
{% endif %}
{% endif %}
{% if c.gitops != 'none' %}
readonly GITOPS_APP='{{ c.gitops_app }}'
readonly GITOPS_TOOL='{{ cmd.gitops_label }}'
readonly GITOPS_PAUSE={{ cmd.eng.shell_word(cmd.gitops_pause) }}
{% if c.gitops == 'argocd' %}
readonly GITOPS_RECORD={{ cmd.eng.shell_word(cmd.gitops_record) }}
{% endif %}
{% else %}
readonly GITOPS_TOOL=''
{% endif %}

readonly EXIT_OK=0 EXIT_FAILED=1 EXIT_USAGE=2 EXIT_REFUSED=3 EXIT_VERIFY_FAILED=4
# The oldest kubectl minor version the runbooks and scripts are written for (kubectl 1.31 added
# `kubectl wait --for=create`: https://kubernetes.io/docs/reference/kubectl/generated/kubectl_wait/).
readonly KUBECTL_MIN_MINOR={{ cmd.kubectl_min_minor }}

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
CONTEXT_PINNED=0 # 1 when CONTEXT is the current context, read once at the start
DRY_RUN=0
ASSUME_YES=0
TIMEOUT=$DEFAULT_TIMEOUT
OPTION_SHIFT=0   # how many arguments script_option used
CONFIRM_REASON="" # set by plan_write: why this write needs a typed confirmation
KUBECTL_MINOR=""  # set by read_kubectl_version: the kubectl client's minor version (0: unknown)

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

# The value of option $1, which must be present in $2 (the next argument). A negative number is
# a value (the option's own check then says what it must be); another option is not.
option_value() {
  [[ $# -ge 2 && -n $2 ]] || usage_error "$1 needs a value"
  [[ $2 != -* || $2 =~ ^-[0-9] ]] || usage_error "$1 needs a value, got the option '$2'"
  printf '%s' "$2"
}

# A revision number, else a usage error naming the option (Argo CD history IDs start at 0,
# Kubernetes and Helm revisions at 1).
revision_value() { # revision_value OPTION VALUE
{% if cmd.engine_name == 'argocd-helm' %}
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
}

# With no kube_context answer and no --context, every command runs with --context set to the
# context that was current at the start: the one shown before a change is the one changed, even
# if someone switches contexts while the prompt waits.
pin_context() {
  [[ -z $CONTEXT ]] || return 0
  CONTEXT=$({{ cmd.script_commands.current_context }} 2>/dev/null) || CONTEXT=""
  [[ -z $CONTEXT ]] || CONTEXT_PINNED=1
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

current_context() { {{ cmd.script_commands.current_context }} 2>/dev/null || printf '(none)'; }

# Refuse to act on a cluster other than the one the service was set up with; with none set up,
# pin the current one. Scripts call it after plan_write, so a refusal calls nothing.
check_context() {
  if [[ -n $CONFIGURED_CONTEXT && $CONTEXT_GIVEN -eq 0 ]]; then
    local current
    current=$(current_context)
    [[ $current == "$CONFIGURED_CONTEXT" ]] ||
      die "$EXIT_REFUSED" "the current kubectl context is '$current' but $SERVICE runs in '$CONFIGURED_CONTEXT'; pass --context $CONFIGURED_CONTEXT to act there"
  fi
  pin_context
{% if c.gitops == 'argocd' %}
  pin_argocd_context
{% endif %}
  set_workload_commands
}
{% if c.gitops == 'argocd' %}

# argocd acts on its own current context, not kubectl's: read it once and pass it to every
# argocd call (--argocd-context, argocd 2.13 and later), so a switch while the prompt waits
# changes nothing (https://argo-cd.readthedocs.io/en/stable/user-guide/commands/argocd/ ,
# https://argo-cd.readthedocs.io/en/stable/user-guide/commands/argocd_context/).
ARGOCD_CONTEXT=""
ARGOCD_SERVER=""
pin_argocd_context() {
  local contexts
  contexts=$({{ cmd.script_commands.argocd_context }} 2>/dev/null) || contexts=""
  read -r ARGOCD_CONTEXT ARGOCD_SERVER < <(awk '$1 == "*" { print $2, $3 }' <<<"$contexts") || true
  [[ $ARGOCD_CONTEXT =~ ^[A-Za-z0-9][-A-Za-z0-9._:/@]{0,252}$ ]] ||
    die "$EXIT_REFUSED" "argocd has no current context (argocd context shows none marked *): run argocd login first"
}
{% endif %}

# With GitOps, say that a manual change is reverted by the next sync, and how to pause it.
warn_gitops() {
  [[ -n $GITOPS_TOOL ]] || return 0
{% if c.gitops != 'none' %}
  info "warning: $GITOPS_TOOL deploys $SERVICE and reverts a manual rollback at its next sync."
{% if c.gitops == 'argocd' %}
  info "  Record its sync policy (once: a second record would save the paused one):  $GITOPS_RECORD"
{% endif %}
  info "  Pause it first:  $GITOPS_PAUSE"
  info "  then revert the bad change in Git before you resume it."
{% endif %}
}

# Whether GitOps reconciliation of the service is paused now: 0 paused, 1 not, 2 cannot tell.
gitops_paused() {
{% if c.gitops == 'flux' %}
  # A suspended Flux object has spec.suspend: true (https://fluxcd.io/flux/cmd/flux_suspend/).
  local suspended
  suspended=$(run {{ cmd.eng.gitops_script('paused') }}) || return 2
  [[ $suspended == true ]]
{% elif c.gitops == 'argocd' %}
  # Argo CD syncs by itself only with spec.syncPolicy.automated (and, from Argo CD 3.1, not
  # with automated.enabled: false) (https://argo-cd.readthedocs.io/en/stable/user-guide/auto_sync/).
  local app
  command -v jq >/dev/null 2>&1 || return 2
  app=$(run {{ cmd.eng.gitops_script('paused') }}) || return 2
  jq -e '.spec.syncPolicy.automated == null or .spec.syncPolicy.automated.enabled == false' \
    <<<"$app" >/dev/null || return 1
{% else %}
  return 0
{% endif %}
}

{% if c.gitops == 'flux' %}
# The Flux object (and a HelmRelease's release and storage namespace) is fixed at render time:
# under another --namespace a write would check, pause or roll back production's while saying
# it acts elsewhere. Every script that writes under Flux calls it first.
require_flux_namespace() {
  [[ $NAMESPACE == "$PRODUCTION_NAMESPACE" ]] ||
    usage_error "--namespace does not apply: Flux's {{ cmd.flux_kind }} $GITOPS_APP in {{ c.flux_namespace }}{% if cmd.engine_name == 'helm' %} (release $HELM_RELEASE){% endif %} is fixed at render time for $PRODUCTION_NAMESPACE; render the $NAMESPACE service's own runbooks"
}

{% endif %}
# Before a manual change under GitOps: refuse unless reconciliation is paused, or --yes says
# the caller knows the next sync may revert it.
require_gitops_paused() {
  [[ -n $GITOPS_TOOL ]] || return 0
  local state=0 problem
  gitops_paused || state=$?
  case $state in
    0) info "$GITOPS_TOOL is paused for $GITOPS_APP."; return 0 ;;
    1) problem="$GITOPS_TOOL is not paused for $GITOPS_APP" ;;
    *) problem="could not tell whether $GITOPS_TOOL is paused for $GITOPS_APP" ;;
  esac
  if [[ $ASSUME_YES -eq 1 || $DRY_RUN -eq 1 ]]; then
    info "warning: $problem: its next sync may revert this change."
    return 0
  fi
  die "$EXIT_REFUSED" "refusing: $problem, so its next sync would revert this change. Pause it first ($GITOPS_PAUSE), or pass --yes to go ahead knowingly"
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
  if [[ $CONTEXT_PINNED -eq 1 ]]; then
    info "  context:   $CONTEXT (the current context, pinned for every command)"
  else
    info "  context:   ${CONTEXT:-(none)}"
  fi
{% if c.gitops == 'argocd' %}
  if [[ -n $ARGOCD_CONTEXT ]]; then
    info "  argocd:    $ARGOCD_CONTEXT (server ${ARGOCD_SERVER:-?}, pinned for every argocd command)"
  fi
{% endif %}
  info "  namespace: $NAMESPACE"
  info "  target:    $SERVICE ($WORKLOAD_LABEL)"
  if [[ $DRY_RUN -eq 1 ]]; then info "  (dry run: nothing will change)"; fi
  [[ -n $CONFIRM_REASON ]] || return 0
  local answer=""
  printf 'Warning: %s.\nType the service name (%s) to continue: ' "$CONFIRM_REASON" "$SERVICE" >&2
  read -r answer || true
  [[ $answer == "$SERVICE" ]] || die "$EXIT_REFUSED" "aborted: '$answer' is not '$SERVICE'; nothing was changed"
}

# The kubectl client's minor version, in KUBECTL_MINOR, read once: digits only, since
# clientVersion.minor may carry a suffix ("32+"); 0 when it cannot be read. Warns when it is older
# than the runbooks need.
read_kubectl_version() {
  [[ -z $KUBECTL_MINOR ]] || return 0
  local json=""
  json=$(run {{ cmd.script_commands.kubectl_version }}) || json=""
  KUBECTL_MINOR=$(sed -n 's/^ *"minor": *"\([0-9]*\).*/\1/p' <<<"$json" | head -n 1)
  KUBECTL_MINOR=${KUBECTL_MINOR:-0}
  if [[ $KUBECTL_MINOR -lt $KUBECTL_MIN_MINOR ]]; then
    info "warning: kubectl 1.$KUBECTL_MINOR is older than 1.$KUBECTL_MIN_MINOR, the oldest these runbooks are written for (0: could not read it)"
  fi
}

# The workload's commands, pinned to --namespace and --context (after the subcommand, as in the
# runbook: kubectl finds plugins only when no flag comes first). Each array is the runbook's
# command for the same operation, rendered from the same entry of the engine table
# (engines.jinja in the template). Set by check_context, once the context is known.
set_workload_commands() {
  KUBE_ARGS=(-n "$NAMESPACE")
{% if cmd.engine_name == 'helm' and c.gitops == 'flux' %}
  HELM_ARGS=(-n "$HELM_STORAGE_NAMESPACE")
{% else %}
  HELM_ARGS=(-n "$NAMESPACE")
{% endif %}
  FLUX_ARGS=(-n '{{ c.flux_namespace }}')
{% if c.gitops == 'argocd' %}
  ARGOCD_ARGS=(--argocd-context "$ARGOCD_CONTEXT")
{% endif %}
  if [[ -n $CONTEXT ]]; then
    KUBE_ARGS+=(--context "$CONTEXT")
    HELM_ARGS+=(--kube-context "$CONTEXT")
    FLUX_ARGS+=(--context "$CONTEXT")
  fi
  PODS_CMD=({{ cmd.script_commands.pods }})
  HISTORY_CMD=({{ cmd.eng.script('history') }})
  STATUS_CMD=({{ cmd.eng.script('status') }})
  IMAGE_CMD=({{ cmd.eng.script('image') }})
{% if cmd.engine_name != 'helm' %}
  WAIT_CMD=({{ cmd.eng.script('wait') }})
{% endif %}
}

# Print the workload's history (runbook Step 2) and keep its revision numbers, oldest first,
# one a line, in REVISIONS.
read_history() {
  local output
  output=$(run "${HISTORY_CMD[@]}") || die "$EXIT_FAILED" "could not read the history of $SERVICE"
  printf '%s\n' "$output"
{% if c.workload == 'argo-rollout' %}
  # `get rollout` prints each revision as "# revision:N" in its tree, newest first
  # (https://argoproj.github.io/argo-rollouts/generated/kubectl-argo-rollouts/kubectl-argo-rollouts_get_rollout/).
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

{% if cmd.engine_name == 'helm' %}
# The Deployments and StatefulSets that own the service's pods, as kind/name in WORKLOADS: a
# chart names its workloads itself. Pods name their owner; a ReplicaSet names its Deployment.
# An object may list several owners, and only the one with controller: true manages it
# (https://kubernetes.io/docs/concepts/overview/working-with-objects/owners-dependents/), so
# that one is followed, never the first listed.
find_workloads() {
  local owners owner
  owners=$(run "${PODS_CMD[@]}" -o '{{ cmd.controller_owner_jsonpath }}') ||
    return 1
  WORKLOADS=()
  while read -r owner; do
    if [[ $owner == ReplicaSet/* ]]; then
      owner=$(run {{ cmd.script_commands.replicaset_owner }}) ||
        return 1
    fi
    case $owner in
      Deployment/* | StatefulSet/*) WORKLOADS+=("${owner,,}") ;;
      *) ;;
    esac
  done < <(sort -u <<<"$owners")
  mapfile -t WORKLOADS < <(printf '%s\n' "${WORKLOADS[@]}" | sort -u | grep .)
  [[ -n ${WORKLOADS[*]:-} ]] || {
    info "no Deployment or StatefulSet owns a pod matching $APP_SELECTOR"
    return 1
  }
}

{% endif %}
{% if c.workload == 'statefulset' %}
# The StatefulSet's update strategy and partition ("RollingUpdate 0", "OnDelete "): OnDelete
# replaces no pod by itself and `rollout status` refuses it; a partition rolls only the
# ordinals at or above it (https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#update-strategies).
statefulset_strategy() {
  run {{ cmd.script_commands.sts_strategy }}
}

# The pods the StatefulSet owns (its controller owner reference, by uid: another workload's pods
# that share the label selector are never listed) and are not being deleted, one a line,
# tab-separated: name, revision (controller-revision-hash), Ready, the revision it wants
# (.status.updateRevision). Fields are read by name, never by position in a space-split line.
statefulset_pods() {
  local identity uid wanted
  identity=$(run {{ cmd.script_commands.sts_identity }}) || return 1
  IFS=$'\t' read -r uid wanted <<<"$identity" || true
  if [[ -z $uid || -z $wanted ]]; then
    info "could not read the uid and .status.updateRevision of $SERVICE"
    return 1
  fi
  run "${PODS_CMD[@]}" -o '{{ cmd.owned_pods_jsonpath }}' |
    awk -F'\t' -v OFS='\t' -v uid="$uid" -v wanted="$wanted" \
      '$2 == uid && $5 == "" { print $1, $3, $4, wanted }'
}

# Wait, bounded by --timeout, until the controller has re-created pod $pod after its delete: a
# Ready wait on a pod that does not exist yet fails at once (NotFound). kubectl 1.31 and newer
# wait with --for=create (https://kubernetes.io/docs/reference/kubectl/generated/kubectl_wait/);
# with an older one, poll every 2 seconds.
wait_for_pod_created() {
  read_kubectl_version
  if [[ $KUBECTL_MINOR -ge 31 ]]; then
    run {{ cmd.script_commands.pod_created }}
    return
  fi
  local deadline=$((SECONDS + $(timeout_seconds)))
  info "+ (polling every 2s, up to $TIMEOUT, until pod $pod exists)"
  until {{ cmd.script_commands.pod_exists }} >/dev/null 2>&1; do
    [[ $SECONDS -lt $deadline ]] || return 1
    sleep 2
  done
}

# The StatefulSet's own pods that do not run the revision it wants, one "name ready" a line,
# highest ordinal first (the order the controller itself updates them in).
statefulset_stale_pods() {
  local pods
  pods=$(statefulset_pods) || return 1
  awk -F'\t' '$2 != "" && $2 != $4 { print $1, $3 }' <<<"$pods" | sort -V -r
}

{% endif %}
{% if cmd.has_statefulset %}
# Wait, bounded by --timeout, until StatefulSet $WORKLOAD (kind/name) has observed its spec and
# every pod it wants runs its update revision and is Ready: `rollout status` refuses a StatefulSet
# updated OnDelete, and its currentRevision is never moved there (commands.jinja's sts_wait_updated
# gives the sources). Comma-separated, so an empty (zero) count keeps its column.
wait_statefulset_counts() {
  local deadline=$((SECONDS + $(timeout_seconds))) counts generation observed wanted updated ready replicas
  info "+ (polling every 2s, up to $TIMEOUT, until every pod of $WORKLOAD is updated and Ready)"
  while :; do
    counts=$({{ cmd.script_commands.sts_counts }} 2>/dev/null) || counts=""
    IFS=, read -r generation observed wanted updated ready replicas <<<"$counts" || true
    if [[ -n $wanted && $observed == "$generation" && ${updated:-0} == "$wanted" && ${ready:-0} == "$wanted" && ${replicas:-0} == "$wanted" ]]; then
      info "$WORKLOAD: $wanted of $wanted pods updated and Ready"
      return 0
    fi
    if [[ $SECONDS -ge $deadline ]]; then
      info "$WORKLOAD: not done after $TIMEOUT (wants ${wanted:-?} pods: ${updated:-0} updated, ${ready:-0} Ready): delete each pod still on the old revision, highest ordinal first"
      return 1
    fi
    sleep 2
  done
}

{% endif %}
# Wait (bounded by --timeout) until the workload is healthy; non-zero when it is not.
wait_until_healthy() {
{% if cmd.engine_name == 'helm' %}
  # STATUS: deployed says Helm applied the release, not that its pods are ready
  # (https://helm.sh/docs/helm/helm_status/): wait for each of its workloads too.
  local output WORKLOAD
  output=$(run "${STATUS_CMD[@]}") || return 1
  printf '%s\n' "$output"
  grep -q '^STATUS: deployed$' <<<"$output" || return 1
  find_workloads || return 1
  for WORKLOAD in "${WORKLOADS[@]}"; do
{% if cmd.eng.chart_is_statefulset %}
    if [[ $WORKLOAD == statefulset/* && $(run {{ cmd.script_commands.workload_strategy }}) == OnDelete ]]; then
      wait_statefulset_counts || return 1
      continue
    fi
{% endif %}
    local wait_cmd=({{ cmd.eng.script('wait') }})
    run "${wait_cmd[@]}" || return 1
  done
{% elif c.workload == 'statefulset' %}
  local strategy stale
  strategy=$(statefulset_strategy) || return 1
  if [[ $strategy == OnDelete* ]]; then
    # rollout status is only for RollingUpdate: the StatefulSet is done when every pod runs
    # the revision it wants and is Ready.
    stale=$(statefulset_stale_pods) || return 1
    if [[ -n $stale ]]; then
      info "OnDelete: these pods still run another revision (delete each to replace it):"
      info "$stale"
      return 1
    fi
    # Wait for the StatefulSet's own pods only (a selector shared with other workloads would
    # wait for their pods too).
    local pods pod
    pods=$(statefulset_pods) || return 1
    while IFS=$'\t' read -r pod _; do
      [[ -n $pod ]] || continue
      run {{ cmd.script_commands.pod_ready }} || return 1
    done <<<"$pods"
    # Then the StatefulSet's own counts, once it has observed its spec: a list read before the
    # controller saw the undo would show no pod of another revision.
    local WORKLOAD="statefulset/$WORKLOAD_NAME"
    wait_statefulset_counts
    return
  fi
  if [[ ${strategy#* } =~ ^[1-9] ]]; then
    info "note: partition ${strategy#* }: rollout status covers only the pods with an ordinal at or above it"
  fi
  run "${WAIT_CMD[@]}"
{% else %}
  run "${WAIT_CMD[@]}"{{ ' || return 1' if cmd.eng.chart_is_statefulset }}
{% if cmd.eng.chart_is_statefulset %}
  # Argo CD reports a StatefulSet updated OnDelete Healthy once its pods are Ready, whatever
  # revision they run (getAppsv1StatefulSetHealth,
  # https://github.com/argoproj/gitops-engine/blob/master/pkg/health/health_statefulset.go):
  # wait for the chart's StatefulSet by its counts then.
  local WORKLOAD='statefulset/{{ cmd.eng.statefulset_name }}'
  if [[ $(run {{ cmd.script_commands.workload_strategy }}) == OnDelete ]]; then
    wait_statefulset_counts
  fi
{% endif %}
{% endif %}
}
