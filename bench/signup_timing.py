"""Sign-up timing: does the answer's time tell whether an address has an account?

``python bench/signup_timing.py [-n 20]`` sets Django up on a fresh SQLite database in a
temporary directory, with the production password hasher (PBKDF2) and mail kept in
memory, creates ``n`` people, then signs up through Django's test client ``n`` times
with their addresses and ``n`` times with new ones, alternating, each from an address of
its own (so allauth's per-address sign-up limit is not what is measured). It prints the
p50 of both, and their ratio (taken / new): the target is 0.8 to 1.25. Each address is
tried once, as an attacker trying a list would. ``--baseline`` measures allauth's own
adapter instead of ours: the behaviour before sign-ups for taken addresses hashed too.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUTPUT = ROOT / "var" / "bench" / "signup_timing.json"
PASSWORD = "correct horse battery staple 8460"  # noqa: S105 (the people are made up)
TARGET = (0.8, 1.25)


def setup(directory: str, baseline: bool) -> None:
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "tlsrpt_saas.settings",
        "DATABASE_URL": f"sqlite:///{directory}/db.sqlite3",
        "VAR_DIR": directory,
        "REDIS_URL": "",
        "SECRET_KEY": "bench",
        "EMAIL_URL": "memorymail://",
        "LOG_LEVEL": "WARNING",
    })  # fmt: skip
    import django
    from django.core.management import call_command

    django.setup()
    if baseline:
        from django.conf import settings

        settings.ACCOUNT_ADAPTER = "allauth.account.adapter.DefaultAccountAdapter"
    call_command("migrate", "--noinput", verbosity=0)


def people(n: int) -> list[str]:
    from allauth.account.models import EmailAddress

    from accounts.models import User

    emails = [f"known{i}@example.com" for i in range(n)]
    for email in emails:
        user = User.objects.create_user(email, PASSWORD)
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return emails


def sign_up(email: str, remote_addr: str) -> float:
    """Milliseconds for one sign-up; checks it answered as every sign-up does."""
    from django.test import Client
    from django.urls import reverse

    client = Client(HTTP_HOST="127.0.0.1", REMOTE_ADDR=remote_addr)
    data = {"email": email, "password1": PASSWORD, "password2": PASSWORD, "team": ""}
    start = time.perf_counter()
    response = client.post(reverse("account_signup"), data)
    elapsed = (time.perf_counter() - start) * 1000
    assert response.status_code == 302, response.status_code
    assert response["Location"] == reverse("account_email_verification_sent")
    return elapsed


def measure(n: int) -> dict:
    load = os.getloadavg()[0]
    known = people(n + 1)
    sign_up(known[n], "10.1.0.1")  # warm-up of both paths, not counted
    sign_up("warm@example.com", "10.1.0.2")
    taken, new = [], []
    for i in range(n):
        taken.append(sign_up(known[i], f"10.2.{i // 250}.{i % 250 + 1}"))
        new.append(sign_up(f"new{i}@example.com", f"10.3.{i // 250}.{i % 250 + 1}"))
    p50_taken, p50_new = statistics.median(taken), statistics.median(new)
    return {
        "n": n,
        "taken_p50_ms": round(p50_taken, 1),
        "new_p50_ms": round(p50_new, 1),
        "taken_range_ms": [round(min(taken), 1), round(max(taken), 1)],
        "new_range_ms": [round(min(new), 1), round(max(new), 1)],
        "ratio": round(p50_taken / p50_new, 3),
        "target": list(TARGET),
        "load_average": load,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20, help="sign-ups per path (default 20)")
    parser.add_argument("--baseline", action="store_true", help="allauth's adapter, not ours")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="signup-bench-") as directory:
        setup(directory, args.baseline)
        result = measure(args.n) | {"baseline": args.baseline}
    print("allauth's adapter (baseline)" if args.baseline else "our adapter")
    print(f"load average before: {result['load_average']:.2f}")
    print(f"taken address: p50 {result['taken_p50_ms']} ms  {result['taken_range_ms']}")
    print(f"new address:   p50 {result['new_p50_ms']} ms  {result['new_range_ms']}")
    low, high = TARGET
    verdict = "within" if low <= result["ratio"] <= high else "OUTSIDE"
    print(f"ratio taken/new: {result['ratio']} ({verdict} the target {low}-{high})")
    output = OUTPUT.with_stem(OUTPUT.stem + "_baseline") if args.baseline else OUTPUT
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2))
    print(f"Figures written to {output.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
