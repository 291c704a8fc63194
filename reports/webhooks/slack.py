"""Slack incoming-webhook messages: Block Kit (a header, the text, the fix, a button).

``text`` is the notification's fallback; blocks are what the channel shows. Text in
``mrkdwn`` has &, < and > escaped, as Slack asks, so a reporter's name cannot make a link.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reports.webhooks.formats import Summary

_HEADER_MAX = 150
_TEXT_MAX = 3000


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def message(summary: "Summary") -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": summary.title[:_HEADER_MAX]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": escape(summary.text)[:_TEXT_MAX]}},
    ]
    if summary.facts:
        fields = [
            {"type": "mrkdwn", "text": f"*{escape(label)}*\n{escape(value)}"}
            for label, value in summary.facts
        ]
        blocks.append({"type": "section", "fields": fields})
    if summary.fix:
        fix = f"*How to fix it*\n{escape(summary.fix)}"[:_TEXT_MAX]
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": fix}})
    if summary.link:
        button = {
            "type": "button", "text": {"type": "plain_text", "text": summary.link_label},
            "url": summary.link,
        }  # fmt: skip
        blocks.append({"type": "actions", "elements": [button]})
    fallback = escape(f"{summary.title}: {summary.text}")[:_TEXT_MAX]  # mrkdwn too
    return {"text": fallback, "blocks": blocks}
