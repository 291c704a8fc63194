"""Normalising and validating the domain names tenants add."""

import ipaddress


class DomainNameError(ValueError):
    pass


def normalize_domain(value: str) -> str:
    """Lowercase IDNA A-label without a trailing dot; DomainNameError when not a host name."""
    name = value.strip().rstrip(".").lower()
    if "://" in name or "/" in name or "@" in name:
        raise DomainNameError(
            f"{value!r} is not a domain name (give just the name, e.g. example.com)."
        )
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        pass
    else:
        raise DomainNameError(f"{value!r} is an IP address, not a domain name.")
    try:
        name = name.encode("idna").decode("ascii")
    except UnicodeError:
        raise DomainNameError(f"{value!r} is not a valid internationalised domain name.") from None
    labels = name.split(".")
    if len(labels) < 2 or len(name) > 253:
        raise DomainNameError(f"{value!r} is not a fully qualified domain name.")
    for label in labels:
        if not 1 <= len(label) <= 63 or label.startswith("-") or label.endswith("-"):
            raise DomainNameError(f"{value!r} has an invalid label {label!r}.")
        if not all(c.isalnum() or c == "-" for c in label) or not label.isascii():
            raise DomainNameError(f"{value!r} has an invalid label {label!r}.")
    return name
