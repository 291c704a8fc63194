"""Normalising and validating the domain names tenants add."""

import ipaddress

from publicsuffixlist import PublicSuffixList


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
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            raise DomainNameError(
                f"{value!r} is not a valid internationalised domain name."
            ) from None
    labels = name.split(".")
    if len(name) > 253:
        raise DomainNameError("A domain name has at most 253 characters.")
    if len(labels) < 2:
        raise DomainNameError(f"{value!r} is not a fully qualified domain name.")
    for label in labels:
        if len(label) > 63:
            raise DomainNameError(f"The label {label[:20]}... is longer than 63 characters.")
        if not label or label.startswith("-") or label.endswith("-"):
            raise DomainNameError(f"{value!r} has an invalid label {label!r}.")
        if not all(c.isalnum() or c == "-" for c in label) or not label.isascii():
            raise DomainNameError(f"{value!r} has an invalid label {label!r}.")
    return name


_PSL = PublicSuffixList(accept_unknown=False)


def domain_name_validate(value: str) -> str:
    """``normalize_domain``, and the name must be a registrable domain or under one.

    Refuses public suffixes themselves (``co.uk``), names under no known suffix
    (``localhost``, ``mail.internal``) and, through ``normalize_domain``, IP addresses,
    URLs and malformed labels.
    """
    if value.strip().lower().rstrip(".") == "localhost":
        raise DomainNameError("localhost cannot receive mail from the internet.")
    name = normalize_domain(value)
    if _PSL.is_public(name):
        raise DomainNameError(
            f"{name} is a public suffix, shared by many owners: add your own domain under it."
        )
    if _PSL.privatesuffix(name) is None:
        raise DomainNameError(f"{name} is not under a public suffix (such as .com or .org).")
    return name
