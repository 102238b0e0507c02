"""The docs' relative links and anchors resolve as GitHub resolves them (`make lint` runs it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from local.doclinks import check, main, slug
from tests.infrastructure.cfn import ROOT

PAGE = """# Operating the bridge

## The `capss` command

## Runbook

### rejected

### complete_with_issues

## Runbook

```
# not a heading: inside a fence
[not a link](nowhere.md)
```
"""


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "operations.md").write_text(PAGE, encoding="utf-8")
    return tmp_path


def _readme(docs: Path, text: str) -> Path:
    readme = docs / "README.md"
    readme.write_text(text, encoding="utf-8")
    return readme


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("The `capss` command", "the-capss-command"),
        ("1. The two API generations", "1-the-two-api-generations"),
        (
            "Design: decisions, AWS limits, the code's layout",
            "design-decisions-aws-limits-the-codes-layout",
        ),
        ("complete_with_issues", "complete_with_issues"),
        ("See [pos.md](pos.md) first", "see-posmd-first"),
    ],
)
def test_headings_get_githubs_anchors(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor


def test_links_that_resolve_pass(docs: Path) -> None:
    readme = _readme(
        docs,
        "See [the runbook](docs/operations.md#runbook), [again](docs/operations.md#runbook-1),\n"
        "[issues](docs/operations.md#complete_with_issues), [ops](docs/operations.md),\n"
        "[here](#try-it), [AWS](https://aws.amazon.com/#nowhere) and `[code](nowhere.md)`.\n"
        "\n## Try it\n",
    )
    assert check(readme) == []
    assert main([str(readme), str(docs / "docs" / "operations.md")]) == 0


def test_a_missing_file_and_a_missing_anchor_fail_with_file_and_line(
    docs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = _readme(
        docs,
        "# Bridge\n\n[deploy](docs/deploying.md)\n"
        "[runbook](docs/operations.md#run-book) and [here](#nowhere)\n"
        "[fenced](docs/operations.md#not-a-heading-inside-a-fence)\n",
    )
    broken = check(readme)
    assert [(b.line, b.target) for b in broken] == [
        (3, "docs/deploying.md"),
        (4, "docs/operations.md#run-book"),
        (4, "#nowhere"),
        (5, "docs/operations.md#not-a-heading-inside-a-fence"),
    ]
    assert main([str(readme)]) == 1
    err = capsys.readouterr().err
    assert f"{readme}:3: docs/deploying.md: no such file 'deploying.md'" in err
    assert "#run-book in operations.md" in err
    assert "4 broken link(s)" in err


def test_the_projects_docs_have_no_broken_link() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "events/README.md"]
    assert [str(b) for page in pages for b in check(page)] == []
