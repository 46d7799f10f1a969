"""The documentation's links resolve inside the repository (no cluster, no network).

Every relative link in ``README.md``, ``CONTRIBUTING.md`` and ``docs/**/*.md`` must name a file or
folder that exists in the repository, and a ``#fragment`` on a Markdown target must name one of
its headings, slugged the way GitHub does. No document may point outside the repository (a link
that climbs above the root, or a mention of the old out-of-tree design contract): a clone must be
enough to read everything. The code cites the contract as ``docs/design.md §n``; every such ``n``
must be a section of ``docs/design.md``, and the old bare form (the word DESIGN, then §n) must
not come back.

The checker is plain functions, so the last tests feed it a small broken tree and watch it fail.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Markdown constructs, matched after code spans and fenced blocks are removed.
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
_INLINE_LINK = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE_DEF = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")
_HTML_LINK = re.compile(r"""\b(?:href|src)\s*=\s*["']([^"']+)["']""")
_HTML_ANCHOR = re.compile(r"""<a\s+(?:name|id)\s*=\s*["']([^"']+)["']""")
_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:|^//")
_LINE_FRAGMENT = re.compile(r"^L\d+(?:-L\d+)?$")

# Mentions of places outside the repository: the shared design folder, the machine's paths, the
# out-of-tree notes. Written as patterns so this file itself does not trip the scan.
_OUTSIDE = [
    re.compile(r"\.\./shared\b"),
    re.compile(r"(?<![\w.])/work/"),
    re.compile(r"\bshared folder\b"),
    re.compile(r"\bDESIGN" r"\.md\b"),
    re.compile(r"\bnotes §"),
]

# The same, as code comments write them (the notes that lived beside the repository).
_OUTSIDE_IN_CODE = [*_OUTSIDE, re.compile(r"\bshared notes\b"), re.compile(r"\btestbed notes\b")]

# The code's citations of the contract.
_OLD_CITATION = re.compile(r"\bDESIGN" r" ?§")
_CITATION = re.compile(r"docs/design\.md((?:\s*(?:,|and|–|-)?\s*§\s*\d+(?:\.\d+)?)+)")
_SECTION_HEADING = re.compile(r"^## (\d+)\. ", re.M)

# A test named in a document: `tests/x.py::test_name`, or `::test_name` after one on the same line.
_TEST_REF = re.compile(r"`(tests/[\w/]+\.py)(?:::(\w+))?`|`::(\w+)`")

# Where the code's citations are looked for (text files only).
_CODE_DIRS = ("janus", "tests", "bench", "helm", "webhooks", "requests", "policies", "schemas",
              "scripts", ".github", ".ci")
_CODE_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".sh", ".toml", ".html", ".js", ".cfg", ".txt",
                  ".tpl", ""}
_SKIP_PARTS = {".venv", ".git", "node_modules", "vendor", "__pycache__", ".janus-dev"}


def doc_files(root: Path) -> list[Path]:
    """README.md, CONTRIBUTING.md and every Markdown file under docs/."""
    files = [root / name for name in ("README.md", "CONTRIBUTING.md") if (root / name).is_file()]
    files += sorted((root / "docs").rglob("*.md")) if (root / "docs").is_dir() else []
    return files


def outside_fences(text: str) -> Iterator[tuple[int, str]]:
    """(line number, line) of every line outside fenced code blocks (the fences left out)."""
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        match = _FENCE.match(line)
        if match:
            marker = match.group(1)
            if fence is None:
                fence = marker[0] * len(marker)
            elif marker.startswith(fence):
                fence = None
            continue
        if fence is None:
            yield number, line


def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks, with inline code spans removed."""
    return [(number, _CODE_SPAN.sub("", line)) for number, line in outside_fences(text)]


def github_slug(heading: str) -> str:
    """GitHub's anchor for a heading's rendered text (github-slugger's rule).

    Lower-case; drop every character that is not a letter, mark, number, connector punctuation
    (``_``), space or hyphen; spaces become hyphens. Markdown syntax is rendered away first.
    """
    text = re.sub(r"`([^`]*)`", r"\1", heading)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<[^>]+>", "", text)
    text = re.sub(r"(\*\*|__|\*|(?<!\w)_|_(?!\w))", "", text)
    kept = [c for c in text.lower()
            if c in " -" or unicodedata.category(c)[0] in "LMN" or unicodedata.category(c) == "Pc"]
    return "".join(kept).replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every fragment GitHub renders for a Markdown file: heading slugs (deduplicated with -1,
    -2, … as GitHub does) and explicit ``<a name|id>`` anchors."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    for _, line in outside_fences(text):
        heading = _ATX_HEADING.match(line)
        if heading:
            slug = github_slug(heading.group(2))
            count = seen.get(slug, 0)
            found.add(slug if count == 0 else f"{slug}-{count}")
            seen[slug] = count + 1
        found.update(_HTML_ANCHOR.findall(line))
    return found


def links(text: str) -> list[tuple[int, str]]:
    """(line number, target) of every Markdown, reference-style and HTML link outside code."""
    out: list[tuple[int, str]] = []
    for number, line in prose_lines(text):
        for pattern in (_INLINE_LINK, _REFERENCE_DEF, _HTML_LINK):
            out += [(number, target) for target in pattern.findall(line)]
    return out


def check_link(root: Path, doc: Path, target: str) -> str | None:
    """Why ``target`` (as written in ``doc``) does not resolve, or None when it does."""
    if not target or _SCHEME.match(target):
        return None
    path_part, _, fragment = target.partition("#")
    if path_part.startswith("/"):
        resolved = (root / unquote(path_part).lstrip("/")).resolve()
    elif path_part:
        resolved = (doc.parent / unquote(path_part)).resolve()
    else:
        resolved = doc.resolve()
    if not resolved.is_relative_to(root.resolve()):
        return f"{target}: points outside the repository"
    if not resolved.exists():
        return f"{target}: no such file or folder"
    if not fragment:
        return None
    if resolved.suffix != ".md":
        if _LINE_FRAGMENT.match(fragment):  # GitHub's line anchors on source files
            return None
        return f"{target}: fragment on a non-Markdown file"
    if fragment.lower() not in anchors(resolved.read_text(encoding="utf-8")):
        return f"{target}: no heading #{fragment} in {resolved.relative_to(root.resolve())}"
    return None


def problems(root: Path) -> list[str]:
    """Every broken link and outside reference in the repository's documents."""
    found: list[str] = []
    for doc in doc_files(root):
        text = doc.read_text(encoding="utf-8")
        name = doc.relative_to(root)
        for number, target in links(text):
            why = check_link(root, doc, target)
            if why:
                found.append(f"{name}:{number}: {why}")
        for number, line in enumerate(text.splitlines(), start=1):
            if any(pattern.search(line) for pattern in _OUTSIDE):
                found.append(f"{name}:{number}: refers outside the repository: {line.strip()}")
    return found


def code_files(root: Path) -> list[Path]:
    """Text files of the repository where the design contract may be cited."""
    files = [p for p in root.iterdir() if p.is_file() and p.suffix in _CODE_SUFFIXES]
    for top in _CODE_DIRS:
        if (root / top).is_dir():
            files += [p for p in (root / top).rglob("*")
                      if p.is_file() and p.suffix in _CODE_SUFFIXES
                      and not _SKIP_PARTS.intersection(p.relative_to(root).parts)]
    this = Path(__file__).resolve()  # its own patterns and fixtures would match
    return sorted(p for p in set(files + doc_files(root)) if p.resolve() != this)


def citation_problems(root: Path) -> list[str]:
    """Citations of the contract that do not resolve to a section of docs/design.md."""
    design = root / "docs" / "design.md"
    text = design.read_text(encoding="utf-8") if design.is_file() else ""
    sections = set(_SECTION_HEADING.findall(text))
    found: list[str] = []
    for path in code_files(root):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        name = path.relative_to(root)
        for number, line in enumerate(text.splitlines(), start=1):
            if _OLD_CITATION.search(line):
                found.append(f"{name}:{number}: cite the contract as docs/design.md §n")
            if any(pattern.search(line) for pattern in _OUTSIDE_IN_CODE):
                found.append(f"{name}:{number}: refers to a document outside the repository")
            for group in _CITATION.findall(line):
                for section in re.findall(r"§\s*(\d+)", group):
                    if section not in sections:
                        found.append(f"{name}:{number}: docs/design.md has no §{section}")
    return found


def named_test_problems(root: Path) -> list[str]:
    """Tests named in the documents (``tests/f.py::name``, ``::name``) that do not exist."""
    found: list[str] = []
    for doc in doc_files(root):
        for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), start=1):
            current: Path | None = None
            for match in _TEST_REF.finditer(line):
                if match.group(1):
                    current = root / match.group(1)
                    if not current.is_file():
                        found.append(f"{doc.relative_to(root)}:{number}: no file {match.group(1)}")
                        current = None
                name = match.group(2) or match.group(3)
                if name and current is not None and not re.search(
                        rf"^\s*(?:async )?def {name}\(", current.read_text(encoding="utf-8"), re.M):
                    found.append(f"{doc.relative_to(root)}:{number}: no test {name} in "
                                 f"{current.relative_to(root)}")
    return found


def test_every_relative_link_resolves_and_nothing_points_outside_the_repository() -> None:
    assert doc_files(ROOT), "no documents found"
    assert problems(ROOT) == []


def test_every_citation_of_the_design_contract_names_an_existing_section() -> None:
    assert citation_problems(ROOT) == []


def test_every_test_a_document_names_exists() -> None:
    """docs/security.md maps each invariant to tests by name: a renamed test is renamed there."""
    assert named_test_problems(ROOT) == []


# --- the checker itself, on a small tree -------------------------------------------------------


@pytest.mark.parametrize(
    ("heading", "slug"),
    [
        ("What `make demo` does", "what-make-demo-does"),
        ("7. Grant mechanics (on the target cluster)", "7-grant-mechanics-on-the-target-cluster"),
        ("Security invariants — §9", "security-invariants--9"),
        ("Where does a new feature go?", "where-does-a-new-feature-go"),
        ("The `janus_web` **app**", "the-janus_web-app"),
        ("[Links](x.md) in headings", "links-in-headings"),
    ],
)
def test_github_slugs(heading: str, slug: str) -> None:
    assert github_slug(heading) == slug


def test_duplicate_headings_get_numbered_anchors() -> None:
    assert anchors("# A\n## A\n```\n# not a heading\n```\n### A\n") == {"a", "a-1", "a-2"}


def test_the_checker_finds_broken_links_and_outside_references(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "guide.md").write_text("# Guide\n\n## Set up\n", encoding="utf-8")
    (tmp_path / "README.md").write_text(
        "# Project\n"
        "[ok](docs/guide.md#set-up) [ok too](#project) [web](https://example.com/x.md)\n"
        "[gone](docs/missing.md) [no heading](docs/guide.md#tear-down) [up](../elsewhere.md)\n"
        "`[in code](docs/missing.md)`\n"
        "```\n[in a fence](docs/missing.md)\n```\n"
        "See DESIGN" ".md in the shared folder.\n",
        encoding="utf-8",
    )
    found = problems(tmp_path)
    assert [p.split(": ", 1)[1] for p in found if "README.md:3" in p] == [
        "docs/missing.md: no such file or folder",
        "docs/guide.md#tear-down: no heading #tear-down in docs/guide.md",
        "../elsewhere.md: points outside the repository",
    ]
    assert [p for p in found if "refers outside the repository" in p] == [
        "README.md:8: refers outside the repository: See DESIGN" ".md in the shared folder.",
    ]
    assert len(found) == 4


def test_the_checker_finds_tests_that_do_not_exist(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text("def test_one():\n    pass\n", encoding="utf-8")
    (tmp_path / "README.md").write_text(
        "`tests/test_a.py::test_one`, `::test_two`; `tests/test_b.py::test_one`\n",
        encoding="utf-8")
    assert named_test_problems(tmp_path) == [
        "README.md:1: no test test_two in tests/test_a.py",
        "README.md:1: no file tests/test_b.py",
    ]


def test_the_checker_finds_citations_of_missing_sections(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "design.md").write_text("# Contract\n## 1. Layout\n## 7. Grants\n",
                                                   encoding="utf-8")
    (tmp_path / "janus").mkdir()
    (tmp_path / "janus" / "a.py").write_text(
        '"""See docs/design.md §7, §9."""\n# DESIGN' ' §5\n# docs/design.md §1\n'
        "# see the shared" " notes, github.md §3\n", encoding="utf-8")
    assert citation_problems(tmp_path) == [
        "janus/a.py:1: docs/design.md has no §9",
        "janus/a.py:2: cite the contract as docs/design.md §n",
        "janus/a.py:4: refers to a document outside the repository",
    ]
