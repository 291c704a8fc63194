"""The body an endpoint receives: the event's JSON, or a chat message for Slack and Teams.

For chat, ``summary`` turns any event into a title, a few lines of text and a link; an
alert also brings its domain, what happened and the plain-English fix.
"""

from dataclasses import dataclass, field

import msgspec

from reports.webhooks import slack, teams


@dataclass(frozen=True)
class Summary:
    title: str
    text: str
    link: str
    link_label: str
    facts: list[tuple[str, str]] = field(default_factory=list)  # (label, value)
    fix: str = ""


def body_for(kind: str, payload: dict) -> bytes:
    if kind == "slack":
        return msgspec.json.encode(slack.message(summary(payload)))
    if kind == "teams":
        return msgspec.json.encode(teams.message(summary(payload)))
    return msgspec.json.encode(payload)


def summary(payload: dict) -> Summary:
    kind, data = payload["type"], payload["data"]
    links = data.get("links", {})
    if kind.startswith("alert."):
        return _alert(kind, data)
    if kind == "report.received":
        report = data["report"]
        text = (
            f"{report['organization']} reported {report['successful'] + report['failed']} "
            f"sessions, {report['failed']} failed ({report['start'][:10]})."
        )
        return Summary("New TLS-RPT report", text, links["report"], "Open the report")
    if kind in ("domain.verified", "domain.unverified"):
        name = data["domain"]["name"]
        state = "is now verified" if kind == "domain.verified" else "is no longer verified"
        return Summary(f"{name} {state}", f"The domain {name} {state}.", links["domain"],
                       "Open the domain")  # fmt: skip
    if kind == "dns_check.changed":
        check, name = data["check"], data["domain"]["name"]
        text = f"The {check['kind']} check of {name} went from {check['previous_status']} to "
        text += f"{check['status']}."
        return Summary(f"{name}: DNS check changed", text, links["domain"], "Open the domain")
    if kind == "mta_sts.changed":
        name = data["domain"]["name"]
        text = data.get("summary") or f"The hosted MTA-STS policy of {name} changed."
        return Summary(f"{name}: MTA-STS policy changed", text, links["domain"], "Open the domain")
    if kind == "digest.ready":
        week = data["week"]
        text = f"The weekly digest for {week['start']} to {week['end']} is out."
        return Summary("Weekly TLS-RPT digest", text, links["overview"], "Open the overview")
    return Summary("Test event", data.get("message", kind), links.get("webhook", ""), "Open")


def _alert(kind: str, data: dict) -> Summary:
    alert, domain = data["alert"], data["domain"]["name"]
    if kind == "alert.opened":
        title, text = f"Alert: {alert['title']}", alert["message"]
    else:
        title, text = f"Resolved: {alert['title']}", f"This alert on {domain} has cleared."
    facts = [("Domain", domain), ("Alert", alert["kind"])]
    fix = alert["fix"] if kind == "alert.opened" else ""
    return Summary(title, text, data["links"]["dashboard"], "Open the dashboard", facts, fix)
