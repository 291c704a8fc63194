"""Microsoft Teams incoming-webhook messages: an Adaptive Card (title, text, facts, fix, link).

Teams' incoming webhooks (and Workflows' "post to a channel when a webhook request is
received") take a ``message`` whose one attachment is the card.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reports.webhooks.formats import Summary

CARD_TYPE = "application/vnd.microsoft.card.adaptive"


def message(summary: "Summary") -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": summary.title, "weight": "Bolder", "size": "Medium",
         "wrap": True},
        {"type": "TextBlock", "text": summary.text, "wrap": True},
    ]  # fmt: skip
    if summary.facts:
        facts = [{"title": label, "value": value} for label, value in summary.facts]
        body.append({"type": "FactSet", "facts": facts})
    if summary.fix:
        body.append({"type": "TextBlock", "text": "How to fix it", "weight": "Bolder"})
        body.append({"type": "TextBlock", "text": summary.fix, "wrap": True})
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard", "version": "1.4", "body": body,
    }  # fmt: skip
    if summary.link:
        card["actions"] = [
            {"type": "Action.OpenUrl", "title": summary.link_label, "url": summary.link}
        ]
    return {
        "type": "message",
        "attachments": [{"contentType": CARD_TYPE, "contentUrl": None, "content": card}],
    }
