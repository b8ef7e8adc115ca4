"""Bad and hostile inputs shared by the tests that refuse or survive them: answers the hook must
refuse, descriptions that must stay text, and YAML that must not expand."""

from __future__ import annotations

# (field, bad value, why) — every field, every kind of bad input the issue lists.
BAD_ANSWERS = [
    ("service_name", "payments api", "space"),
    ("service_name", "Payments-API", "capitals"),
    ("service_name", "a" * 64, "64 characters"),
    ("service_name", "1payments", "leading digit"),
    ("service_name", "-payments", "leading hyphen"),
    ("service_name", "payments-", "trailing hyphen"),
    ("service_name", "pay;rm -rf ~", "shell metacharacters"),
    ("service_name", "pay$(id)", "command substitution"),
    ("service_name", "pay'ments", "single quote"),
    ("service_name", 'pay"ments', "double quote"),
    ("service_name", "pay\nments", "newline"),
    ("service_name", "../payments", "path traversal"),
    ("service_name", "p\u0430yments", "Cyrillic look-alike a"),
    ("service_name", "payments_api", "underscore"),
    ("description", "bell\x07", "control character"),
    ("description", "{{ 7 * 7 }}", "Jinja expression"),
    ("owner", "team payments", "space"),
    ("owner", "component:team-payments", "wrong entity kind"),
    ("system", "pay ments", "space"),
    ("namespace", "Production", "capitals"),
    ("namespace", "", "empty required"),
    ("namespace", "prod`id`", "backticks"),
    ("staging_namespace", "staging/../prod", "path traversal"),
    ("kube_context", "prod && kubectl delete ns prod", "shell metacharacters"),
    ("helm_release", "r" * 54, "54 characters"),
    ("app_label_selector", "app=payments api", "space"),
    ("app_label_selector", "app=x;id", "shell metacharacter"),
    ("health_url", "api.example.com/health", "no scheme"),
    ("health_url", "https://api.example.com/'$(id)'", "quote and substitution"),
    ("health_url", "", "empty required"),
    ("incident_channel", "incidents", "no #"),
    ("incident_channel", "#Incidents", "capitals"),
    ("gitops_app", "Payments", "capitals"),
    ("flux_namespace", "flux system", "space"),
    ("rollout_timeout", "forever", "not a duration"),
    ("pagerduty_service_id", "abc", "not a PagerDuty ID"),
    ("github_repo", "payments-api", "no org"),
    ("github_repo", "acme/payments api", "space"),
    ("dashboard_url", "javascript:alert(1)", "not http(s)"),
    ("reviewed_on", "2026-02-30", "February 30"),
    ("reviewed_on", "2025-02-29", "no leap day in 2025"),
    ("reviewed_on", "2026-13-01", "month 13"),
    ("reviewed_on", "2026-1-1", "not zero-padded"),
    ("reviewed_on", "last week", "text"),
    ("reviewed_on", "{{ '2026-11-02' }}", "Jinja expression"),
    ("review_every_days", "0", "zero days"),
    ("review_every_days", "3651", "over ten years"),
    ("review_every_days", "ninety", "text"),
    ("backstage_url", "https://backstage.example.com/", "trailing slash"),
    ("backstage_url", "https://backstage.example.com/?x=1", "query"),
    ("prometheus_release", "Kube Prometheus", "not a release name"),
    ("chart_workload", "daemonset/node-agent", "not a Deployment or StatefulSet"),
    ("chart_workload", "payments-api", "no kind"),
    ("slo_target", "90", "below 95 %"),
    ("slo_target", "100", "100 % leaves no error budget"),
    ("request_metric", "http-requests", "not a metric name"),
    ("metrics_selector", 'job=~"pay.*"', "not an equality matcher"),
    ("metrics_selector", 'job="x"} or vector(1) #', "PromQL injection"),
    ("metrics_selector", "job=payments", "unquoted value"),
    ("error_matcher", 'code=~"5[0-9]+"', "regex metacharacters"),
    ("error_matcher", 'code="5\\"', "backslash"),
    ("error_matcher", 'code=~"|5.."', "empty alternative"),
    ("error_matcher", 'code="500",x="y"', "two matchers"),
    ("latency_metric", "http_request_duration_seconds{le}", "braces"),
    ("latency_threshold", "0", "zero"),
    ("latency_threshold", "500ms", "a unit"),
]


HOSTILE_DESCRIPTION = (
    'Takes "payments": refunds, chargebacks # not a comment\n'
    "second line: - not a list\n\tindented with a tab, a backslash \\ and 'quotes'\n"
    "emoji 🔴 🟢 ⚠️ and 中文 — the end"
)


# Hostile descriptions, each one valid for the description rule.
CORPUS = [
    'Pay"><img src=x onerror=alert(1)>',
    "Pay'><svg onload=alert(1)>",
    '</title><script>alert("x")</script>',
    "&quot;><script>alert(1)</script> &amp; &#34; &lt;",
    '[click](javascript:alert(1)) <a href="javascript:alert(1)">x</a>',
    "![pixel](https://evil.example/p.png) https://evil.example/auto <https://evil.example>",
    'text {: onclick="alert(1)" } and { #id .class}',
    "first\n# A heading\n- a list\n1. numbered\n> quote\n!!! warning\n    admonition",
    "`code` *em* **strong** _u_ ~~del~~ ==mark== ^sup^ :smile: :material-alert: <!-- x",
    "---\nsite_name: evil\n---\n]]> \\ backslash \\\\ | a | table |\n|---|",
    "emoji 🔴 中文 — \u00a0nbsp and\ttab",
]


# Issue 11, items 2 and 7: hostile YAML gets a message, never a crash or an expanded value.
def alias_bomb(levels: int = 9) -> str:
    """A flow list whose last item expands to 9**levels strings (anchors defined in order)."""
    items = ['&l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    items += [f"&l{n} [{', '.join([f'*l{n - 1}'] * 9)}]" for n in range(1, levels)]
    return "[" + ", ".join(items) + "]"
