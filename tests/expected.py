"""What each runbook page must show for a service's answers, written from each tool's
documentation rather than from the template (kubectl, Argo Rollouts, Helm, Argo CD, Flux)."""

from __future__ import annotations

from dataclasses import dataclass

NAME = "payments-api"
TIMEOUT = "5m"
TIMEOUT_SECONDS = "300"
HEALTH = "curl -fsS --max-time 10 'https://api.example.com/health'"


@dataclass(frozen=True)
class Service:
    """The commands of one service, from its answers (the matrix's defaults otherwise)."""

    answers: dict[str, str]

    @property
    def workload(self) -> str:
        return self.answers["workload"]

    @property
    def gitops(self) -> str:
        return self.answers["gitops"]

    @property
    def flags(self) -> str:
        """Namespace and context, after the subcommand (where kubectl plugins need them)."""
        context = self.answers.get("kube_context")
        return "-n production" + (f" --context {context}" if context else "")

    @property
    def helm_flags(self) -> str:
        context = self.answers.get("kube_context")
        return "-n production" + (f" --kube-context {context}" if context else "")

    @property
    def helm_release(self) -> bool:
        """A Helm release exists in the cluster (Argo CD renders charts without one)."""
        return self.workload == "helm" and self.gitops != "argocd"

    @property
    def ref(self) -> str:
        """The workload as kubectl names it; a Helm chart's workload is the reader's $WORKLOAD."""
        kind = {"argo-rollout": "rollout"}.get(self.workload, self.workload)
        return '"${WORKLOAD:?}"' if self.workload == "helm" else f"{kind}/{NAME}"

    def status(self) -> str:
        if self.workload in ("deployment", "statefulset"):
            return f"kubectl rollout status {self.ref} {self.flags} --timeout={TIMEOUT}"
        if self.workload == "argo-rollout":
            return f"kubectl argo rollouts status {NAME} {self.flags} --timeout {TIMEOUT}"
        if self.helm_release:
            return f"helm status {NAME} {self.helm_flags}"
        return f"argocd app wait {NAME} --health --timeout {TIMEOUT_SECONDS}"

    def undo(self) -> str:
        if self.workload in ("deployment", "statefulset"):
            return f"kubectl rollout undo {self.ref} {self.flags}"
        if self.workload == "argo-rollout":
            return f"kubectl argo rollouts undo {NAME} {self.flags}"
        if self.helm_release:
            return f"helm rollback {NAME} {self.helm_flags} --wait --timeout {TIMEOUT}"
        return f"argocd app rollback {NAME} --timeout {TIMEOUT_SECONDS}"

    def history(self) -> str:
        if self.workload in ("deployment", "statefulset"):
            return f"kubectl rollout history {self.ref} {self.flags}"
        if self.workload == "argo-rollout":
            return f"kubectl argo rollouts get rollout {NAME} {self.flags}"
        if self.helm_release:
            return f"helm history {NAME} {self.helm_flags}"
        return f"argocd app history {NAME}"

    def pods(self) -> str:
        return f"kubectl get pods -l app={NAME} {self.flags}"

    def logs(self) -> str:
        return (
            f"kubectl logs -l app={NAME} {self.flags} --all-containers --prefix "
            "--since=15m --tail=200"
        )

    def events(self) -> str:
        return f"kubectl events {self.flags} --types=Warning"

    def gitops_pause(self) -> list[str]:
        """Stopping the GitOps tool from reverting a manual change, and handing back."""
        if self.gitops == "flux":
            kind = "helmrelease" if self.workload == "helm" else "kustomization"
            target = f"{kind} {NAME} -n flux-system" + self.flags.removeprefix("-n production")
            return [f"flux suspend {target}", f"flux resume {target}"]
        if self.gitops == "argocd":
            return [
                f"argocd app set {NAME} --sync-policy none",
                f"argocd app set {NAME} --sync-policy automated",
            ]
        return []

    def gitops_deploy(self) -> list[str]:
        if self.gitops == "flux":
            kind = "helmrelease" if self.workload == "helm" else "kustomization"
            context = self.flags.removeprefix("-n production")
            return [
                f"flux reconcile {kind} {NAME} -n flux-system{context} --with-source",
                f"flux get {kind}s {NAME} -n flux-system{context}",
            ]
        return [
            f"argocd app diff {NAME} --refresh",
            f"argocd app sync {NAME} --timeout {TIMEOUT_SECONDS}",
            f"argocd app wait {NAME} --health --timeout {TIMEOUT_SECONDS}",
        ]

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
                f"kubectl argo rollouts set image {NAME} {self.flags} {image}",
                f"kubectl argo rollouts promote {NAME} {self.flags}",
                f"kubectl argo rollouts abort {NAME} {self.flags}",
            ]
        upgrade = f'helm upgrade {NAME} "${{CHART:?}}" {self.helm_flags} --values "${{VALUES:?}}"'
        return [f"{upgrade} --dry-run", f"{upgrade} --wait --timeout {TIMEOUT}"]

    def scale(self) -> str:
        return f'kubectl scale {self.ref} {self.flags} --replicas="${{REPLICAS:?}}"'

    def restart(self) -> str:
        if self.workload == "argo-rollout":
            return f"kubectl argo rollouts restart {NAME} {self.flags}"
        return f"kubectl rollout restart {self.ref} {self.flags}"

    def list_workloads(self) -> list[str]:
        """How a Helm service finds the workload its chart made."""
        if self.workload != "helm":
            return []
        if self.helm_release:
            return [f"helm status {NAME} {self.helm_flags} --show-resources"]
        return [f"argocd app resources {NAME}"]
