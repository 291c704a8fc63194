"""The form an admin edits a domain's hosted MTA-STS policy with."""

from django import forms

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
    # Only the customer publishes the TXT record until our DNS server can answer it.
    txt_mode = forms.ChoiceField(
        label="_mta-sts TXT record", choices=[(TxtMode.CUSTOMER, TxtMode.CUSTOMER.label)],
        initial=TxtMode.CUSTOMER, widget=forms.HiddenInput,
    )  # fmt: skip

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
