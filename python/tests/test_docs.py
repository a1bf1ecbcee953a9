"""The Python examples in python/README.md and docs/python.md run as written."""
import re
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

from conftest import REPO

DOCS = [REPO / "python" / "README.md", REPO / "docs" / "python.md"]


def examples() -> List[Tuple[str, str]]:
    found = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for i, block in enumerate(re.findall(r"```python\n(.*?)```", text, flags=re.S)):
            if block.lstrip().startswith("# sketch"):
                continue
            found.append(("%s[%d]" % (doc.relative_to(REPO), i), block))
    return found


EXAMPLES = examples()


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("name,code", EXAMPLES, ids=[n for n, _ in EXAMPLES])
def test_example_runs(name: str, code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: Dict[str, Any] = {"__name__": "__example__"}
    exec(compile(code, name, "exec"), namespace)  # noqa: S102
