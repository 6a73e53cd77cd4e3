"""``workflow validate``: every file read and checked; nothing is written anywhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workflow.errors import DefinitionError, InvalidFilesError, NotFoundError
from workflow.plan.definitions import load_file
from workflow.plan.model import Plan


def check_files(files: list[str], explain: Callable[[Plan], dict[str, Any]] | None = None
                ) -> tuple[list[dict[str, Any]], InvalidFilesError | None]:
    """One result per file (valid, with the plan's size and warnings, or its problems), and
    the error to raise when any failed: exit 3 if one is invalid, else 5 (missing).
    ``explain`` (``validate --explain``) adds what each valid plan's deadlines were read as."""
    results, problems, codes = [], [], set()
    for f in files:
        try:
            plan = load_file(f)
        except (DefinitionError, NotFoundError) as err:
            found = [str(p) for p in getattr(err, "problems", [])] or [str(err)]
            results.append({"file": f, "valid": False, "problems": found})
            problems += found
            codes.add(err.exit_code)
            continue
        results.append({"file": f, "valid": True, "plan": plan.id, "tasks": len(plan.tasks),
                        "agencies": len(plan.agencies), "warnings": list(plan.warnings)}
                       | ({"explain": explain(plan)} if explain else {}))
    if not problems:
        return results, None
    code = DefinitionError.exit_code if DefinitionError.exit_code in codes else \
        NotFoundError.exit_code
    return results, InvalidFilesError(problems, code)
