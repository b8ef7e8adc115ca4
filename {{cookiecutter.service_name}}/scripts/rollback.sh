{% import "{% if False %}commands.jinja{% endif %}" as cmd with context %}
{% set c = cookiecutter %}
{# Whether --namespace moves the rollback: an Argo CD application is the target wherever its pods
   run, and a Flux object (with a HelmRelease's release) is fixed at render time, so there it is
   refused, and the usage shows no example with it. #}
{% set namespace_applies = cmd.engine_name != 'argocd-helm' and c.gitops != 'flux' %}
#!/usr/bin/env bash
# Roll {{ c.service_name }} back to its previous revision, or to --to-revision N, and wait until it is healthy.
# The commands of docs/runbooks/rollback.md, with the safety checks around them.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

TO_REVISION=""
{% if cmd.engine.get('paused') %}
PAUSED=0 # 1: the Deployment is paused, and is resumed before the undo
{% endif %}
{% if cmd.engine_name == 'argo-rollouts' %}
ABORT=0
PROMOTE_FULL=0
{% endif %}

usage() {
  cat <<USAGE
Usage: ${0##*/} [options]

Roll $SERVICE ($WORKLOAD_LABEL) back to the previous revision (or to --to-revision N)
and wait until it is healthy. It shows the history first, then where the change goes,
and asks you to type the service name before changing production.
{% if c.gitops != 'none' %}
$GITOPS_TOOL deploys $SERVICE: unless its reconciliation is paused, it refuses (or, with
--yes, goes ahead knowing the next sync may revert the rollback).
{% endif %}
{% if c.gitops == 'argocd' %}
Every argocd call goes to the argocd context current when it starts (argocd context, the
line marked *), pinned with --argocd-context: it needs argocd 2.13 or later.
{% endif %}
{% if c.workload == 'statefulset' %}
A StatefulSet pod of the bad revision that is not Ready blocks the rollback, and with the
OnDelete strategy no pod is replaced at all: it deletes those pods, one at a time, so they
come back from the restored revision (the Kubernetes docs' forced rollback).
{% endif %}

Options:
      --to-revision N    roll back to revision N (a number the history lists)
{% if cmd.engine_name == 'argo-rollouts' %}
      --abort            abort a rollout that is still in progress instead: the stable
                         version serves again; the rollout stays Degraded, Git still holds
                         the bad version
      --promote-full     after the undo, skip the steps, pauses and analysis that the undo
                         runs again (kubectl argo rollouts promote --full). On the first run
                         only: run again, it would undo again, back to the bad revision
{% endif %}
$COMMON_OPTIONS_HELP

Examples:
  ${0##*/} --dry-run
  ${0##*/} --to-revision 2
{% if namespace_applies %}
  ${0##*/} --namespace $STAGING_NAMESPACE --yes
{% endif %}

$EXIT_CODES_HELP
USAGE
}

script_option() {
  case $1 in
    --to-revision)
      local value
      value=$(option_value "$@")
      TO_REVISION=$(revision_value "$1" "$value")
      OPTION_SHIFT=2
      ;;
{% if cmd.engine_name == 'argo-rollouts' %}
    --abort) ABORT=1; OPTION_SHIFT=1 ;;
    --promote-full) PROMOTE_FULL=1; OPTION_SHIFT=1 ;;
{% endif %}
    *) ;;
  esac
}

# The rollback command itself, as the runbook's Step 3 shows it (the same engine table entry).
undo_command() {
  local REVISION=$TO_REVISION
  if [[ -n $REVISION ]]; then
    UNDO=({{ cmd.eng.script('undo_to') }})
  else
    UNDO=({{ cmd.eng.script('undo') }})
  fi
{% if cmd.engine_name == 'argo-rollouts' %}
  if [[ $ABORT -eq 1 ]]; then UNDO=({{ cmd.eng.script('abort') }}); fi
{% endif %}
}

{% if cmd.engine.get('paused') %}
# kubectl rollout undo refuses a paused Deployment, in a server dry run too: resume it first
# (engines.jinja cites the docs and kubectl's source). Sets PAUSED.
check_paused() {
  local paused
  paused=$(run {{ cmd.eng.script('paused') }}) || die "$EXIT_FAILED" "could not read whether $SERVICE is paused"
  [[ $paused == true ]] || return 0
  PAUSED=1
  info "$SERVICE is paused (someone ran kubectl rollout pause): kubectl rollout undo refuses a paused"
  info "Deployment, so it is resumed first. Resuming also rolls out any change made to it while paused."
}

{% endif %}
# --dry-run: let the tool simulate the rollback where it can (kubectl on the server), else only show it.
dry_run() {
{% if cmd.engine.get('paused') %}
  if [[ $PAUSED -eq 1 ]]; then
    show_only {{ cmd.eng.script('resume') }}
    info "(the server's dry run of the undo is refused while the Deployment is paused: not run)"
    show_only "${UNDO[@]}"
    show_only "${WAIT_CMD[@]}"
    return 0
  fi
{% endif %}
{% if cmd.engine.undo_dry_run %}
  run "${UNDO[@]}" {{ cmd.engine.undo_dry_run }} || die "$EXIT_FAILED" "the rollback was refused in the dry run"
{% else %}
  show_only "${UNDO[@]}"
{% endif %}
{% if cmd.engine_name == 'argo-rollouts' %}
  if [[ $ABORT -eq 1 ]]; then return 0; fi
  if [[ $PROMOTE_FULL -eq 1 ]]; then show_only {{ cmd.eng.script('promote_full') }}; fi
{% endif %}
{% if c.workload == 'statefulset' %}
  info "then delete, one at a time, the pods of another revision that block the rollback"
{% endif %}
{% if cmd.engine_name != 'helm' %}
  show_only "${WAIT_CMD[@]}"
{% endif %}
}

{% if c.workload == 'statefulset' %}
# The forced rollback: delete the pods of another revision that block it (OnDelete: all of
# them; otherwise those that are not Ready), one at a time, each once it is Ready again
# (https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#forced-rollback).
replace_stale_pods() {
  local strategy stale pod ready
  strategy=$(statefulset_strategy) || die "$EXIT_FAILED" "could not read the update strategy of $SERVICE"
  stale=$(statefulset_stale_pods) || die "$EXIT_FAILED" "could not list the pods of $SERVICE"
  while read -r pod ready; do
    [[ -n $pod ]] || continue
    [[ $strategy == OnDelete* || $ready != True ]] || continue
    run {{ cmd.script_commands.delete_pod }} || die "$EXIT_FAILED" "could not delete $pod"
    # The controller re-creates the pod a moment after the delete; with podManagementPolicy
    # OrderedReady (the default) only once every lower ordinal is Running and Ready
    # (https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#deployment-and-scaling-guarantees).
    wait_for_pod_created ||
      die "$EXIT_VERIFY_FAILED" "$pod was not re-created within $TIMEOUT after its delete: with podManagementPolicy OrderedReady the StatefulSet re-creates it only once every lower ordinal is Running and Ready (see: ${PODS_CMD[*]})"
    run {{ cmd.script_commands.pod_ready }} ||
      die "$EXIT_VERIFY_FAILED" "$pod did not become Ready within $TIMEOUT after the rollback"
  done <<<"$stale"
}

{% endif %}
{% if cmd.engine_name == 'helm' %}
# Every workload of the release, one kind/name a line: helm rollback replaces the whole release
# (every subchart's objects too), not only $SERVICE's (https://helm.sh/docs/helm/helm_rollback/ ,
# https://helm.sh/docs/helm/helm_get_manifest/). Only kinds and names are printed: the manifest
# holds the release's Secrets.
release_workloads() {
  local manifest
  manifest=$(run {{ cmd.eng.script('list_workloads') }}) || return 1
  awk '
    function flush() { if (kind ~ /^(Deployment|StatefulSet|DaemonSet|CronJob)$/ && name != "") print tolower(kind) "/" name }
    /^---/ { flush(); kind = ""; name = ""; meta = 0; next }
    /^kind: / { kind = $2 }
    /^metadata:/ { meta = 1; next }
    /^[^ ]/ { meta = 0 }
    meta && name == "" && /^  name: / { name = $2; gsub(/["\047]/, "", name) }
    END { flush() }' <<<"$manifest"
}

# Say what the rollback takes back before the confirmation, warning when it is more than one.
show_release_workloads() {
  local workloads count
  workloads=$(release_workloads) || die "$EXIT_FAILED" "could not read the manifest of release $HELM_RELEASE"
  count=$(grep -c . <<<"$workloads" || true)
  info "Release $HELM_RELEASE holds: $(paste -sd ' ' <<<"$workloads")"
  if [[ $count -gt 1 ]]; then
    info "warning: the rollback takes back all $count workloads of the release, not only $SERVICE: if some are other teams', agree it with them first."
  fi
}

{% endif %}
{% if cmd.engine_name == 'argo-rollouts' %}
# After an abort the rollout is Degraded by design, and `kubectl argo rollouts status` exits
# with an error on it: report the phase instead of waiting for Healthy
# (https://argoproj.github.io/argo-rollouts/generated/kubectl-argo-rollouts/kubectl-argo-rollouts_abort/).
report_abort() {
  local state
  state=$(run {{ cmd.eng.script('phase') }}) || die "$EXIT_FAILED" "could not read the rollout state"
  info "Aborted (state: ${state//$'\t'/ }): the stable version serves again. The rollout stays"
  info "Degraded until Git holds a good version: revert the bad change in Git (or run without --abort)."
}

{% endif %}
main() {
  parse_options "$@"
{% if cmd.engine_name == 'argo-rollouts' %}
  [[ $ABORT -eq 0 || ( -z $TO_REVISION && $PROMOTE_FULL -eq 0 ) ]] ||
    usage_error "--abort goes with neither --to-revision nor --promote-full"
{% endif %}
{% if cmd.engine_name == 'argocd-helm' %}
  # The Argo CD application is the target, wherever its pods run: a namespace would mislead.
  [[ $NAMESPACE == "$PRODUCTION_NAMESPACE" ]] ||
    usage_error "--namespace does not apply: this rolls back the Argo CD application $GITOPS_APP"
{% elif c.gitops == 'flux' %}
  require_flux_namespace
{% endif %}
{% if cmd.engine_name == 'helm' and c.gitops == 'flux' %}
  # helm's -n is both the release's storage and the default namespace of the chart's objects:
  # where they differ, helm rollback would create the objects in the storage namespace
  # (https://helm.sh/docs/helm/helm_rollback/ , https://github.com/helm/helm/blob/main/pkg/kube/client.go ,
  # https://fluxcd.io/flux/components/helm/helmreleases/#storage-namespace).
  [[ $HELM_STORAGE_NAMESPACE == "$PRODUCTION_NAMESPACE" ]] ||
    die "$EXIT_REFUSED" "refusing: Flux stores release $HELM_RELEASE in $HELM_STORAGE_NAMESPACE but deploys it to $PRODUCTION_NAMESPACE; helm rollback -n $HELM_STORAGE_NAMESPACE would create the chart's objects in $HELM_STORAGE_NAMESPACE. Revert the bad change in Git, then: {{ cmd.gitops_sync }} (docs/runbooks/rollback.md)"
{% endif %}
  warn_gitops
  plan_write gitops
  check_context
  require_gitops_paused
  read_history
  if [[ -n $TO_REVISION ]]; then require_revision --to-revision "$TO_REVISION"; fi
  undo_command
{% if cmd.engine_name == 'helm' %}
  show_release_workloads
{% endif %}
{% if cmd.engine.get('paused') %}
  check_paused
  if [[ $PAUSED -eq 1 ]]; then
    confirm_write "$(quote {{ cmd.eng.script('resume') }}), then $(quote "${UNDO[@]}")"
  else
    confirm_write "$(quote "${UNDO[@]}")"
  fi
  if [[ $DRY_RUN -eq 1 ]]; then dry_run; return 0; fi
  if [[ $PAUSED -eq 1 ]]; then
    run {{ cmd.eng.script('resume') }} || die "$EXIT_FAILED" "could not resume $SERVICE"
  fi
{% else %}
  confirm_write "$(quote "${UNDO[@]}")"
  if [[ $DRY_RUN -eq 1 ]]; then dry_run; return 0; fi
{% endif %}
{% if cmd.eng.chart_is_statefulset %}
  # helm rollback --wait / argocd app rollback time out on a StatefulSet pod stuck on the bad
  # revision (https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#forced-rollback).
  run "${UNDO[@]}" || die "$EXIT_FAILED" "the rollback command failed; if the chart's StatefulSet {{ c.chart_workload }} waits on a pod of the bad revision, delete that pod (docs/runbooks/rollback.md, the forced rollback)"
{% else %}
  run "${UNDO[@]}" || die "$EXIT_FAILED" "the rollback command failed"
{% endif %}
{% if cmd.engine_name == 'argo-rollouts' %}
  if [[ $ABORT -eq 1 ]]; then report_abort; return 0; fi
  if [[ $PROMOTE_FULL -eq 1 ]]; then
    run {{ cmd.eng.script('promote_full') }} || die "$EXIT_FAILED" "kubectl argo rollouts promote --full failed"
  fi
{% endif %}
{% if c.workload == 'statefulset' %}
  replace_stale_pods
{% endif %}
  if ! wait_until_healthy; then
{% if cmd.engine_name == 'argo-rollouts' %}
    # The advice is the promote alone: this script again would undo again, and after the first
    # undo the previous revision is the bad one (`undo` goes back to the last revision:
    # https://argoproj.github.io/argo-rollouts/generated/kubectl-argo-rollouts/kubectl-argo-rollouts_undo/;
    # `promote --full` skips the remaining steps, pauses and analysis:
    # https://argoproj.github.io/argo-rollouts/generated/kubectl-argo-rollouts/kubectl-argo-rollouts_promote/).
    if [[ $PROMOTE_FULL -eq 0 ]]; then
      local promote=({{ cmd.eng.script('promote_full') }})
      info "The undo runs the rollout's steps, pauses and analysis again. If it stopped at a pause"
      info "step and skipping the rest (analysis included) is acceptable, promote it:"
      info "  $(quote "${promote[@]}")"
      info "Do not run this script again: a second undo goes back to the bad revision."
    fi
{% endif %}
    die "$EXIT_VERIFY_FAILED" "$SERVICE did not become healthy within $TIMEOUT after the rollback"
  fi
  info "Rolled back $SERVICE. Next: scripts/verify.sh, then tell the incident channel."
{% if c.gitops != 'none' %}
  info "Revert the bad change in Git before $GITOPS_TOOL resumes syncing."
{% endif %}
}

main "$@"
