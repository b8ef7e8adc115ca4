"""The one command oracle: what each page must show, and each script must run, for a service's
answers. Written from each tool's documentation (kubectl, Argo Rollouts, Helm, Argo CD, Flux),
not from the template: the template's engine table must agree with it.

Commands are written as a reader copies them from the page: the values the reader picks are
placeholders (`"${REVISION:?}"`), which `fill` turns into the words a script passes.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

NAME = "payments-api"  # the component, and the GitOps object's default name
TIMEOUT = "5m"
TIMEOUT_SECONDS = "300"
TEMPLATE_IMAGES = "-o 'jsonpath={.spec.template.spec.containers[*].image}'"
POD_IMAGES = (
    '-o \'jsonpath={range .items[*]}{.metadata.name}{"\\t"}'
    '{.spec.containers[*].image}{"\\n"}{end}\''
)


def fill(command: str, **values: str) -> list[str]:
    """The page's command as the words a script runs, with the placeholders given values."""
    words = shlex.split(command)
    out = []
    for word in words:
        for key, value in values.items():
            word = word.replace("${" + key + ":?}", value)
        out.append(word)
    return out


@dataclass(frozen=True)
class Service:
    """The commands of one service, from its answers (the matrix's defaults otherwise)."""

    answers: dict[str, str]

    @property
    def workload(self) -> str:
        return self.answers["workload"]

    @property
    def name(self) -> str:
        """The workload's own name: every command naming the workload uses it."""
        return self.answers.get("workload_name", NAME)

    @property
    def gitops(self) -> str:
        return self.answers["gitops"]

    @property
    def hpa(self) -> str:
        """The autoscaler a patch names: the answers' (hpa_name), else the reader's $HPA, quoted
        as a shell word (https://kubernetes.io/docs/reference/kubectl/generated/kubectl_patch/)."""
        return self.answers.get("hpa_name") or '"${HPA:?}"'

    @property
    def engine(self) -> str:
        """kubectl-rollout, argo-rollouts, helm (a release in the cluster) or argocd-helm
        (Argo CD renders the chart itself: no Helm release exists)."""
        if self.workload in ("deployment", "statefulset"):
            return "kubectl-rollout"
        if self.workload == "argo-rollout":
            return "argo-rollouts"
        return "argocd-helm" if self.gitops == "argocd" else "helm"

    @property
    def context(self) -> str:
        return self.answers.get("kube_context", "")

    @property
    def helm_cli_rollback(self) -> bool:
        """Helm's one -n is both the release's storage and its objects' namespace
        (helm.sh/docs/helm/helm_rollback/); under Flux the HelmRelease stores the release in the
        Flux namespace and deploys to the service's (fluxcd.io/flux/components/helm/helmreleases/
        #storage-namespace): where they differ, no Helm CLI rollback, Git and Flux instead."""
        if self.engine != "helm" or self.gitops != "flux":
            return True
        return self.answers.get("flux_namespace", "flux-system") == self.answers.get(
            "namespace", "production"
        )

    @property
    def flags(self) -> str:
        """Namespace and context, after the subcommand (where kubectl plugins need them)."""
        return "-n production" + (f" --context {self.context}" if self.context else "")

    @property
    def helm_release(self) -> str:
        """helm-controller names the release [<targetNamespace>-]<name> and stores it in the
        HelmRelease's namespace (fluxcd.io/flux/components/helm/helmreleases/#release-name)."""
        if self.gitops != "flux":
            return self.name
        return NAME if self.helm_cli_rollback else f"production-{NAME}"

    @property
    def helm_flags(self) -> str:
        namespace = "production" if self.helm_cli_rollback else "flux-system"
        return f"-n {namespace}" + (f" --kube-context {self.context}" if self.context else "")

    @property
    def ref(self) -> str:
        """The workload as kubectl names it; a Helm chart's workload is the reader's $WORKLOAD."""
        kind = {"argo-rollout": "rollout"}.get(self.workload, self.workload)
        return '"${WORKLOAD:?}"' if self.workload == "helm" else f"{kind}/{self.name}"

    # ---- the engine's operations (None: the engine has no such operation) ----

    def history(self) -> str:
        return {
            "kubectl-rollout": f"kubectl rollout history {self.ref} {self.flags}",
            # Argo Rollouts has no history subcommand: `get rollout` lists the revisions.
            "argo-rollouts": f"kubectl argo rollouts get rollout {self.name} {self.flags}",
            "helm": f"helm history {self.helm_release} {self.helm_flags}",
            "argocd-helm": f"argocd app history {NAME}",
        }[self.engine]

    def show_revision(self) -> str | None:
        return {
            "kubectl-rollout": f'{self.history()} --revision="${{REVISION:?}}"',
            "argo-rollouts": None,
            "helm": f'helm get values {self.helm_release} --revision "${{REVISION:?}}" '
            f"{self.helm_flags}",
            # --revision is a Git revision or chart version, not a history ID.
            "argocd-helm": f'argocd app manifests {NAME} --revision "${{SOURCE_REVISION:?}}"',
        }[self.engine]

    def undo(self) -> str:
        helm_wait = f"--wait --timeout {TIMEOUT}"
        return {
            "kubectl-rollout": f"kubectl rollout undo {self.ref} {self.flags}",
            "argo-rollouts": f"kubectl argo rollouts undo {self.name} {self.flags}",
            "helm": f"helm rollback {self.helm_release} {self.helm_flags} {helm_wait}",
            "argocd-helm": f"argocd app rollback {NAME} --timeout {TIMEOUT_SECONDS}",
        }[self.engine]

    def undo_to(self) -> str:
        revision = '"${REVISION:?}"'
        return {
            "kubectl-rollout": f"{self.undo()} --to-revision={revision}",
            "argo-rollouts": f"{self.undo()} --to-revision={revision}",
            "helm": f"helm rollback {self.helm_release} {revision} {self.helm_flags} --wait "
            f"--timeout {TIMEOUT}",
            "argocd-helm": f"argocd app rollback {NAME} {revision} --timeout {TIMEOUT_SECONDS}",
        }[self.engine]

    def wait(self) -> str:
        """Wait, bounded, until healthy. For Helm, STATUS deployed says nothing about the pods:
        the chart's workload's own rollout status does."""
        rollout_status = f"kubectl rollout status {self.ref} {self.flags} --timeout={TIMEOUT}"
        return {
            "kubectl-rollout": rollout_status,
            "argo-rollouts": f"kubectl argo rollouts status {self.name} {self.flags} --timeout "
            f"{TIMEOUT}",
            "helm": rollout_status,
            "argocd-helm": f"argocd app wait {NAME} --health --timeout {TIMEOUT_SECONDS}",
        }[self.engine]

    def emergency_wait(self) -> str:
        """The emergency box's wait: for a Helm release, on the chart's workload the
        chart_workload answer names (kind/name, by default the service's Deployment), so the box
        pastes without a $WORKLOAD to set."""
        if self.engine != "helm":
            return self.wait()
        chart_workload = self.answers.get("chart_workload", f"deployment/{self.name}")
        return f"kubectl rollout status {chart_workload} {self.flags} --timeout={TIMEOUT}"

    def status_now(self) -> str:
        return {
            "kubectl-rollout": f"kubectl rollout status {self.ref} {self.flags} --watch=false",
            # `status` exits with an error on an aborted (Degraded) rollout; `get` shows it.
            "argo-rollouts": self.history(),
            "helm": f"helm status {self.helm_release} {self.helm_flags}",
            "argocd-helm": f"argocd app get {NAME}",
        }[self.engine]

    def image(self) -> str:
        if self.engine == "kubectl-rollout":
            return f"kubectl get {self.workload} {self.name} {self.flags} {TEMPLATE_IMAGES}"
        # A Rollout's spec holds the new image even after an abort: the pods say what runs.
        return f"{self.pods()} {POD_IMAGES}"

    def abort(self) -> str | None:
        return (
            f"kubectl argo rollouts abort {self.name} {self.flags}"
            if self.engine == "argo-rollouts"
            else None
        )

    def promote_full(self) -> str | None:
        """After an undo re-runs every canary step: skip them (argo-rollouts docs, promote)."""
        if self.engine != "argo-rollouts":
            return None
        return f"kubectl argo rollouts promote {self.name} {self.flags} --full"

    def list_workloads(self) -> list[str]:
        """How a Helm service finds the workload its chart made."""
        if self.engine == "helm":
            # `helm status --show-resources` is gone in Helm 4; `helm get manifest` is in both.
            return [f"helm get manifest {self.helm_release} {self.helm_flags}"]
        if self.engine == "argocd-helm":
            return [f"argocd app resources {NAME}"]
        return []

    # ---- the GitOps layer ----

    @property
    def flux_kind(self) -> str:
        """The Flux object's kind: the answer, else its default from the workload."""
        default = "helmrelease" if self.workload == "helm" else "kustomization"
        return self.answers.get("gitops_kind", default)

    @property
    def flux_target(self) -> str:
        context = f" --context {self.context}" if self.context else ""
        return f"{self.flux_kind} {NAME} -n flux-system{context}"

    def gitops_pause(self) -> list[str]:
        """Stopping the GitOps tool from reverting a manual change, and handing back exactly
        what was there (Argo CD: --sync-policy none drops prune and self-heal too)."""
        if self.gitops == "flux":
            return [f"flux suspend {self.flux_target}", f"flux resume {self.flux_target}"]
        if self.gitops == "argocd":
            policy = f"{NAME}.sync-policy.json"
            return [
                f"argocd app get {NAME} -o json | jq '{{spec: {{syncPolicy: .spec.syncPolicy}}}}'"
                f" > {policy}",
                f"argocd app set {NAME} --sync-policy none",
                f'argocd app patch {NAME} --type merge --patch "$(cat {policy})"',
            ]
        return []

    def emergency_rollback(self) -> list[str]:
        """The emergency box's rollback: pause GitOps, then the engine's undo; for a Helm release
        Flux stores outside its target namespace, Flux's reconcile after a Git revert."""
        if self.helm_cli_rollback:
            return [*self.gitops_pause()[:1], self.undo()]
        return self.gitops_deploy()

    def gitops_deploy(self) -> list[str]:
        if self.gitops == "flux":
            context = f" --context {self.context}" if self.context else ""
            return [
                f"flux reconcile {self.flux_target} --with-source",
                f"flux get {self.flux_kind}s {NAME} -n flux-system{context}",
            ]
        return [
            f"argocd app diff {NAME} --refresh",
            f"argocd app sync {NAME} --timeout {TIMEOUT_SECONDS}",
            f"argocd app wait {NAME} --health --timeout {TIMEOUT_SECONDS}",
        ]

    # ---- looking at the service ----

    def pods(self) -> str:
        return f"kubectl get pods -l app={self.name} {self.flags}"

    def logs(self) -> str:
        return (
            f"kubectl logs -l app={self.name} {self.flags} --all-containers --prefix "
            "--since=15m --tail=200"
        )

    def health(self) -> list[str]:
        """The health check the answers allow: a URL with curl -f; the pods' HTTP probe through
        the API server's pod proxy ([https:]POD:PORT/proxy/PATH, kubernetes.io API reference,
        "get connect GET requests to proxy of Pod"); or, with nothing known, the pods' Ready
        condition (kubectl wait --for=condition=Ready)."""
        kind = self.answers.get("health_check", "readiness")
        if kind == "url":
            return [f"curl -fsS --max-time 10 '{self.answers['health_url']}'"]
        if kind == "in-cluster":
            context = f" --context {self.context}" if self.context else ""
            scheme = "https:" if self.answers.get("health_check_scheme") == "HTTPS" else ""
            port, path = self.answers["health_check_port"], self.answers["health_check_path"]
            return [
                f"POD=$({self.pods()} --field-selector=status.phase=Running -o "
                "jsonpath='{.items[0].metadata.name}')",
                f'kubectl get --raw "/api/v1/namespaces/production/pods/{scheme}${{POD:?}}:{port}'
                f'/proxy{path}"{context}',
            ]
        ready = f"kubectl wait pod -l app={self.name} {self.flags} --for=condition=Ready"
        return [f"{ready} --timeout={TIMEOUT}"]

    def events(self) -> str:
        return f"kubectl events {self.flags} --types=Warning"

    def deploy(self) -> list[str]:
        """How a new version goes out."""
        if self.gitops != "none":
            return self.gitops_deploy()
        if self.workload in ("deployment", "statefulset"):
            set_image = f'kubectl set image {self.ref} {self.flags} "${{CONTAINER:?}}=${{IMAGE:?}}"'
            annotate = (
                f'kubectl annotate {self.ref} {self.flags} kubernetes.io/change-cause="deploy '
                '${IMAGE:?}" --overwrite'
            )
            # Only a Deployment carries the annotation over to the revision rollout history shows.
            change_cause = [annotate] if self.workload == "deployment" else []
            return [f"{set_image} --dry-run=server", set_image, *change_cause]
        if self.workload == "argo-rollout":
            image = '"${CONTAINER:?}=${IMAGE:?}"'
            return [
                f"kubectl argo rollouts set image {self.name} {self.flags} {image}",
                f"kubectl argo rollouts promote {self.name} {self.flags}",
                f"kubectl argo rollouts abort {self.name} {self.flags}",
            ]
        # --version pins the chart; without it helm upgrade takes the newest (helm_upgrade docs).
        upgrade = (
            f'helm upgrade {self.helm_release} "${{CHART:?}}" --version "${{CHART_VERSION:?}}" '
            f'{self.helm_flags} --values "${{VALUES:?}}"'
        )
        # --hide-secret keeps the rendered Secrets out of the preview (Helm 3.15.0+, upgrade docs).
        return [
            f"{upgrade} --dry-run=server --hide-secret",
            f"{upgrade} --wait --timeout {TIMEOUT}",
        ]

    def scale(self) -> str:
        return f'kubectl scale {self.ref} {self.flags} --replicas="${{REPLICAS:?}}"'

    def restart(self) -> str:
        if self.workload == "argo-rollout":
            return f"kubectl argo rollouts restart {self.name} {self.flags}"
        return f"kubectl rollout restart {self.ref} {self.flags}"

    def rollback_page(self) -> list[str]:
        """What the rollback page must show."""
        rollback = [self.undo(), self.undo_to()] if self.helm_cli_rollback else self.gitops_deploy()
        operations = [
            self.history(),
            self.show_revision(),
            *rollback,
            self.wait(),
            self.image(),
            self.abort(),
            self.promote_full(),
            *self.list_workloads()[: 1 if self.engine == "helm" else 0],
            *(self.gitops_pause() if self.helm_cli_rollback else []),
            *self.health(),
        ]
        if self.workload == "statefulset":
            operations.append(f'kubectl delete pod "${{POD:?}}" {self.flags}')
        return [op for op in operations if op]


PLACEHOLDER = re.compile(r'"\$\{[A-Z_]+:\?\}"')
