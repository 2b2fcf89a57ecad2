"""Print a pip constraints file that pins every dependency to the lowest version
pyproject.toml claims to support.

    python tools/lowest_constraints.py > lowest.txt
    pip install -c lowest.txt -e '.[dev]'

CI installs relcore this way in a second environment and runs the whole suite there, so a
lower bound that is not true fails CI instead of a user. Each ``name>=X`` (in the core
dependencies and in every extra) becomes ``name==X``. A package bounded differently in
two places is an error: the looser bound would be a claim that no run checks.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"

# name, optional [extras], then the version specifiers up to an environment marker
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*([^;]*)(;.*)?$")


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lower_bounds(pyproject: dict[str, object]) -> dict[str, str]:
    """``{normalised name: lowest version}`` from the project's requirements."""
    project = pyproject["project"]
    assert isinstance(project, dict)
    own = _normalise(project["name"])
    requirements: list[str] = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        requirements.extend(extra)
    bounds: dict[str, str] = {}
    for requirement in requirements:
        match = _REQUIREMENT.match(requirement)
        if match is None:
            raise SystemExit(f"cannot read the requirement {requirement!r}")
        name, specifiers = _normalise(match.group(1)), match.group(2)
        if name == own:
            continue
        found = re.findall(r">=\s*([0-9][^,\s]*)", specifiers)
        if not found:
            continue  # e.g. tzdata on Windows only: nothing to pin
        if name in bounds and bounds[name] != found[0]:
            raise SystemExit(
                f"{name} has two lower bounds in pyproject.toml ({bounds[name]} and "
                f"{found[0]}); give it one"
            )
        bounds[name] = found[0]
    return bounds


def main() -> None:
    with open(PYPROJECT, "rb") as fh:
        bounds = lower_bounds(tomllib.load(fh))
    sys.stdout.write("".join(f"{name}=={version}\n" for name, version in sorted(bounds.items())))


if __name__ == "__main__":
    main()
