"""Fail when an environment variable read in settings.py is missing from README's table.

Run by `make lint`. A variable counts as documented when the "## Configuration" section
of README.md has a table row starting with it in backquotes: "| `NAME` | ...".
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# env.str("NAME", ...), environ.Env().str("NAME"), env("NAME"), env_bool("NAME", ...),
# os.getenv("NAME"), os.environ.get("NAME"), os.environ["NAME"]
ENV_READ = re.compile(
    r"""(?:\benv(?:iron\.Env\(\))?(?:\.\w+|_bool)?\(|\bos\.getenv\(|\bos\.environ(?:\.get\(|\[))"""
    r"""\s*["']([A-Z][A-Z0-9_]*)["']"""
)


def settings_variables(text: str) -> set[str]:
    return set(ENV_READ.findall(text))


def documented_variables(readme: str) -> set[str]:
    section = re.search(r"^## Configuration\n(.*?)(?=^## |\Z)", readme, flags=re.M | re.S)
    text = section.group(1) if section else ""
    return set(re.findall(r"^\|\s*`([A-Z][A-Z0-9_]*)`", text, flags=re.MULTILINE))


def main() -> int:
    read = settings_variables((ROOT / "tlsrpt_saas" / "settings.py").read_text())
    documented = documented_variables((ROOT / "README.md").read_text())
    missing = sorted(read - documented)
    stale = sorted(documented - read)
    for name in missing:
        sys.stderr.write(f"README.md: {name} is read in settings.py but not in the table\n")
    for name in stale:
        sys.stderr.write(f"README.md: {name} is in the table but settings.py does not read it\n")
    if not read:
        sys.stderr.write("settings.py: found no environment variable; is the pattern stale?\n")
        return 1
    return 1 if missing or stale else 0


if __name__ == "__main__":
    sys.exit(main())
