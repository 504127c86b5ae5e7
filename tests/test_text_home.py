"""Citizen-facing text lives in one home (content/data/texts.yml, issue 13 item 3).

Walks every Python source (ast) and fails on a string literal with Vietnamese letters outside
the places allowed below, each with its reason. Docstrings and comments are not literals; a
literal that is a regular expression (the first argument of ``re.compile``, ``re.search``...)
is input vocabulary the code matches, not wording a citizen reads.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIPPED_DIRS = {".venv", "node_modules", ".git", "var", "models", ".pytest_cache", ".ruff_cache"}

# Letters only Vietnamese (among the languages the sources hold) writes: every vowel with a tone
# mark or a hat, horn or breve, and đ. (Case-insensitive.)
VIETNAMESE = re.compile(
    "[àáạảãâầấậẩẫăằắặẳẵèéẹẻẽêềếệểễìíịỉĩòóọỏõôồốộổỗơờớợởỡùúụủũưừứựửữỳýỵỷỹđ]", re.IGNORECASE)

# The re functions whose first argument is a pattern.
_PATTERN_FUNCTIONS = {"compile", "search", "match", "fullmatch", "sub", "subn", "findall", "finditer", "split"}

HOME = "content/"  # the home itself (its Python holds none today: the texts are in content/data/texts.yml)
# Where else Vietnamese literals may stay, and why (a path prefix, relative to the repository).
ALLOWED = {
    "tests/": "tests assert the texts citizens read and send what citizens type",
    "bot/staff/": "the staff console's own UI (staff, not citizens, read it; it stays with its pages)",
    "vn_nlu/": "the NLU lexicon, its data loaders and evaluation inputs: words citizens type, not replies",
    "scripts/": "developer tools (benchmarks, the conversation evaluation): sample inputs and their reports",
    "dossier_api/": "the reference one-stop system's own data (seed dossiers, place types): the real system "
                    "supplies these, the assistant only relays them",
    "common/status.py": "the dossier status vocabulary, a domain rule (DESIGN.md) the one-stop system shares",
    "common/news.py": "the news topics' names (domain vocabulary, as the ticket categories) and the publishing "
                      "form's checks, which staff read in the console",
    "common/feedback.py": "the ticket categories and ticket states, domain vocabulary the dossier API shares",
    "common/dates.py": "weekday names of the date vocabulary (vn_day)",
    "common/privacy.py": "company-form words the name masker keeps, and the masks put in place of numbers",
    "common/text.py": "the letter đ of the folding rules",
    "common/settings.py": "defaults of deployment settings (department name, office hours and address): "
                          "configuration read from the environment, not wording",
    "common/inbox.py": "the NLU inbox: reasons and checks read by annotators in the staff console",
    "common/handoff.py": "PENDING: the live handoff's citizen texts move to content/ once the handoff code moved "
                         "by issue 14 (SMS handoff, helper P) is merged; common may not import content",
    "bot/handoff.py": "transcript lines and masks staff read in the console (its citizen button is in content/)",
    "common/sms_text.py": "the GSM 03.38 alphabet table",
    "sms_gateway/cli.py": "the developer's SMS command line (`python -m sms_gateway.cli`): its own console output",
}


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _patterns(tree: ast.AST) -> set[int]:
    """The string constants that are (parts of) the pattern argument of an ``re`` call."""
    found = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and node.args and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "re"
                and node.func.attr in _PATTERN_FUNCTIONS):
            found |= {id(n) for n in ast.walk(node.args[0]) if isinstance(n, ast.Constant)}
    return found


def vietnamese_literals(source: str) -> list[tuple[int, str]]:
    """(line, text) of every string literal in ``source`` with a Vietnamese letter, f-string parts
    included; docstrings and regular-expression patterns left out."""
    tree = ast.parse(source)
    skipped = _docstrings(tree) | _patterns(tree)
    return sorted((node.lineno, node.value) for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and isinstance(node.value, str)
                  and id(node) not in skipped and VIETNAMESE.search(node.value))


def _allowed(relative: str) -> bool:
    return relative.startswith(HOME) or any(
        relative == place or (place.endswith("/") and relative.startswith(place)) for place in ALLOWED)


def _sources() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if not SKIPPED_DIRS & set(p.relative_to(ROOT).parts))


def test_no_vietnamese_literal_outside_the_text_home() -> None:
    found = [f"{path.relative_to(ROOT)}:{line}: {text[:70]!r}"
             for path in _sources() if not _allowed(path.relative_to(ROOT).as_posix())
             for line, text in vietnamese_literals(path.read_text(encoding="utf-8"))]
    assert found == [], ("Citizen-facing text belongs in content/data/texts.yml (content.texts.text(key)):\n"
                         + "\n".join(found))


def test_every_allowed_file_still_needs_its_place() -> None:
    """An entry whose file is gone, or holds no Vietnamese literal any more, is removed."""
    stale = []
    for place in ALLOWED:
        target = ROOT / place
        files = sorted(target.rglob("*.py")) if place.endswith("/") else [target]
        if not any(f.is_file() and vietnamese_literals(f.read_text(encoding="utf-8")) for f in files):
            stale.append(place)
    assert stale == []


SAMPLE = '''
"""Trả lời tra cứu hồ sơ (a module docstring)."""
import re

_STOP = re.compile(r"(?<!\\w)(thôi|hủy)(?!\\w)")  # a pattern: what citizens type


def reply(code):
    """Trả lời (a docstring)."""
    # Hồ sơ (a comment)
    if _STOP.search(code) or re.search(rf"(?<!\\w){code} nhé", code):
        return "ok"
    return f"Không tìm thấy hồ sơ {code}."


GREETING = "Xin chào anh/chị"
ENGLISH = "Dossier not found"
'''


def test_the_walk_finds_literals_and_f_string_parts_but_not_docstrings_comments_or_patterns() -> None:
    assert vietnamese_literals(SAMPLE) == [(13, "Không tìm thấy hồ sơ "), (16, "Xin chào anh/chị")]


def test_the_walk_covers_the_services() -> None:
    """The check cannot pass by looking at nothing: the services' modules are walked, not allowed."""
    walked = {p.relative_to(ROOT).as_posix() for p in _sources() if not _allowed(p.relative_to(ROOT).as_posix())}
    assert {"actions/lookup.py", "sms_gateway/router.py", "bot/web.py", "bot/telegram.py", "knowledge/answer.py",
            "common/codes.py"} <= walked
    assert not _allowed("content_extra/x.py") and _allowed("bot/staff/layout.py")


def test_the_letters_are_vietnamese_ones_in_either_case() -> None:
    assert VIETNAMESE.search("ĐĂNG KÝ") and VIETNAMESE.search("đ") and VIETNAMESE.search("ưu")
    assert not VIETNAMESE.search("Dossier 000.00.12.H17-200115-0001 not found, naïve Zürich")
