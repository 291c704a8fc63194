"""Readiness to enforce: whether a domain's MTA-STS policy in testing would lose mail under
enforce, judged from its TLS-RPT reports (verdicts), and the fragment pages show."""
