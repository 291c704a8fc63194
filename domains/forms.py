"""Forms of the domains app."""

from django import forms

from domains.names import DomainNameError, domain_name_validate


class DomainAddForm(forms.Form):
    name = forms.CharField(
        label="Domain",
        max_length=300,
        help_text="The domain that receives mail, e.g. example.com (not a URL or an address).",
        widget=forms.TextInput(attrs={"placeholder": "example.com", "autocomplete": "off"}),
    )

    def clean_name(self) -> str:
        try:
            return domain_name_validate(self.cleaned_data["name"])
        except DomainNameError as e:
            raise forms.ValidationError(str(e)) from None
