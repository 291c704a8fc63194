"""The form an admin edits a domain's hosted MTA-STS policy with."""

from django import forms

from domains.hosting import dns_zone
from domains.hosting.models import StsMode, TxtMode
from domains.hosting.policy import PolicyError, mx_patterns_normalize
from domains.stspolicy import MAX_AGE_LIMIT


class HostedPolicyForm(forms.Form):
    enabled = forms.BooleanField(
        label="Host the MTA-STS policy of this domain", required=False,
        help_text="Served at this domain's mta-sts. name once the CNAME below is published.",
    )  # fmt: skip
    mode = forms.ChoiceField(choices=StsMode.choices)
    mx = forms.CharField(
        label="MX patterns", required=False, widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One per line: a host name (mx1.example.com) or *. and a host name "
        "(*.mail.example.com, which matches exactly one more label).",
    )  # fmt: skip
    max_age = forms.IntegerField(
        label="max_age (seconds)", min_value=1, max_value=MAX_AGE_LIMIT,
        help_text="How long senders keep the policy.",
    )  # fmt: skip
    txt_mode = forms.ChoiceField(
        label="_mta-sts TXT record", choices=TxtMode.choices, initial=TxtMode.CUSTOMER,
        widget=forms.RadioSelect, help_text="Ours: publish the CNAME shown once, and our "
        "DNS server answers with each new policy id, so a change needs no DNS edit.",
    )  # fmt: skip

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if not dns_zone.offered():  # only the customer can publish the TXT record here
            field = self.fields["txt_mode"]
            field.choices = [(TxtMode.CUSTOMER, TxtMode.CUSTOMER.label)]  # type: ignore[attr-defined]
            field.widget = forms.HiddenInput()
            self.initial["txt_mode"] = TxtMode.CUSTOMER

    def clean_mx(self) -> list[str]:
        return self.cleaned_data["mx"].split()

    def clean(self) -> dict:
        data = super().clean() or {}
        if "mx" in data and "mode" in data:
            try:
                data["mx"] = list(mx_patterns_normalize(data["mx"], mode=data["mode"]))
            except PolicyError as e:
                self.add_error("mx", e.message)
        return data
