"""Apps import downward only: accounts <- domains <- reports.

No module of ``accounts`` imports ``domains`` or ``reports``, and none of ``domains``
imports ``reports``, at module level or inside a function. The parser (reports/tlsrpt)
imports no Django at all. A new upward import fails here with its file and line.
"""

import ast
from pathlib import Path

from tests.conftest import ROOT

# What each app may not import.
ABOVE = {"accounts": ("domains", "reports"), "domains": ("reports",)}


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in the file, at any depth."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.lineno, node.module))
    return found


def _upward(app: str, forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in sorted((ROOT / app).rglob("*.py"))
        for line, module in _imports(path)
        if module.split(".")[0] in forbidden
    ]


def test_accounts_and_domains_never_import_an_app_above_them() -> None:
    assert [hit for app, above in ABOVE.items() for hit in _upward(app, above)] == []


def test_the_parser_imports_no_django_and_no_other_app() -> None:
    forbidden = ("django", "accounts", "domains", "tlsrpt_saas", "celery")
    hits = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in sorted((ROOT / "reports" / "tlsrpt").rglob("*.py"))
        for line, module in _imports(path)
        if module.split(".")[0] in forbidden
        or (module.startswith("reports.") and not module.startswith("reports.tlsrpt"))
    ]
    assert hits == []


def test_an_import_inside_a_function_says_why() -> None:
    """Only where it avoids an app-loading problem, with the reason in a comment above it
    (an import cycle is broken by queueing by name, not by a late import)."""
    unexplained = []
    for app in ("accounts", "domains", "reports", "tlsrpt_saas"):
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            lines = path.read_text().splitlines()
            for node in ast.walk(ast.parse("\n".join(lines), str(path))):
                if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Import | ast.ImportFrom):
                        above = lines[inner.lineno - 2].strip()
                        if not above.startswith("#") and "#" not in lines[inner.lineno - 1]:
                            unexplained.append(f"{path.relative_to(ROOT)}:{inner.lineno}")
    assert unexplained == []
