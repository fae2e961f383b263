"""Every virtfleet.conf snippet in docs/ is valid as written: operators copy them.

A snippet is a fenced ```ini block, or the body of a ``cat > NAME.conf <<EOF`` heredoc
in a ```bash block. Each is checked as a whole by `virtfleet config check`'s checker:
unknown sections and options, and every value (an inline ``# comment`` after a value,
which oslo.config does not strip, fails here)."""

from __future__ import annotations

import pathlib
import re

import pytest

from virtfleet import conf as vconf

DOCS = pathlib.Path(__file__).parents[2] / "docs"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
HEREDOC = re.compile(r"^cat > \S+\.conf <<'?EOF'?\n(.*?)^EOF$", re.S | re.M)


def snippets() -> list[tuple[str, str]]:
    found = []
    for page in sorted(DOCS.rglob("*.md")):
        text = page.read_text()
        for match in FENCE.finditer(text):
            lang, body = match.groups()
            line = text.count("\n", 0, match.start()) + 1
            where = f"{page.relative_to(DOCS.parent)}:{line}"
            if lang == "ini":
                found.append((where, body))
            elif lang in ("bash", "sh", "console"):
                found += [(where, heredoc) for heredoc in HEREDOC.findall(body)]
    return found


SNIPPETS = snippets()


def test_the_docs_have_config_snippets_to_check() -> None:
    assert len(SNIPPETS) >= 8, SNIPPETS


@pytest.mark.parametrize(("where", "body"), SNIPPETS, ids=[w for w, _ in SNIPPETS])
def test_config_snippet_is_valid(where: str, body: str, tmp_path: pathlib.Path) -> None:
    conf_file = tmp_path / "virtfleet.conf"
    conf_file.write_text(body)
    problems = vconf.check_files([str(conf_file)])
    assert problems == [], f"{where}: " + "; ".join(problems)


def test_the_checker_catches_an_inline_comment(tmp_path: pathlib.Path) -> None:
    conf_file = tmp_path / "virtfleet.conf"
    conf_file.write_text("[compute]\nhost_down_after = 180   # three minutes\n")
    problems = vconf.check_files([str(conf_file)])
    assert any("host_down_after" in p for p in problems), problems
