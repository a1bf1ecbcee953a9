"""The Python examples in README.md and python/README.md run as
written.

Examples that talk to a local KMS API server at ``http://127.0.0.1:4566`` run
against the test session's moto_server instead (the URL is substituted).
Blocks starting with ``# sketch`` (real AWS accounts, boto3) are not run."""
import re
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

from conftest import REPO
from local_kms import MotoServer

DOCS = [REPO / "README.md", REPO / "python" / "README.md"]


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
    assert len(EXAMPLES) >= 7
    assert any(name.startswith("README.md") for name, _ in EXAMPLES)


LOCAL_KMS = "http://127.0.0.1:4566"


def test_there_are_kms_examples() -> None:
    assert sum(LOCAL_KMS in code for _, code in EXAMPLES) >= 2


@pytest.mark.parametrize("name,code", EXAMPLES, ids=[n for n, _ in EXAMPLES])
def test_example_runs(name: str, code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    monkeypatch.chdir(tmp_path)
    if LOCAL_KMS in code:
        server: MotoServer = request.getfixturevalue("moto_server")
        code = code.replace(LOCAL_KMS, server.url)
    namespace: Dict[str, Any] = {"__name__": "__example__"}
    exec(compile(code, name, "exec"), namespace)  # noqa: S102
