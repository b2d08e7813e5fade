"""Every package the app imports is a runtime dependency of the project, so that
`pip install .`, a wheel and the Docker image (which install no dev dependencies) have it."""

import ast
import sys
from importlib.metadata import packages_distributions, requires
from pathlib import Path

from packaging.requirements import Requirement

APP = Path(__file__).resolve().parents[2] / "app"


def imported_top_level_modules() -> set[str]:
    found: set[str] = set()
    for source in APP.rglob("*.py"):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"app", "migrations"}


def runtime_requirements() -> set[str]:
    names = set()
    for line in requires("newsdesk") or []:
        requirement = Requirement(line)
        if requirement.marker is None or "extra" not in str(requirement.marker):
            names.add(requirement.name.lower().replace("_", "-"))
    return names


def test_every_imported_package_is_a_runtime_dependency() -> None:
    distributions = packages_distributions()
    declared = runtime_requirements()
    missing = {}
    for module in sorted(imported_top_level_modules()):
        owners = {name.lower().replace("_", "-") for name in distributions.get(module, [])}
        assert owners, f"{module} is imported by app/ but no installed package provides it"
        if not owners & declared and not any(_pulled_in(owner, declared) for owner in owners):
            missing[module] = sorted(owners)
    assert not missing, f"imported by app/ but not in [project] dependencies: {missing}"


def _pulled_in(distribution: str, declared: set[str]) -> bool:
    """A package that a declared dependency itself requires (starlette through fastapi)."""
    for name in declared:
        for line in requires(name) or []:
            requirement = Requirement(line)
            if requirement.name.lower().replace("_", "-") == distribution and (
                requirement.marker is None or "extra" not in str(requirement.marker)
            ):
                return True
    return False
