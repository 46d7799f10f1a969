"""The git layer on its own: commits without a worktree, merges, diffs, compare-and-swap refs."""

from __future__ import annotations

from pathlib import Path

import pytest

from janus.dev.github_sim.gitstore import GitError, GitRepo, MergeConflict, Person

ME = Person("Alice", "alice@example.com", 1_700_000_000)


def test_commit_diff_merge_and_conflict(tmp_path: Path) -> None:
    git = GitRepo(tmp_path / "r.git")
    base = git.commit_changes(None, {"a.txt": b"1\n", "d/b.txt": b"x\n"}, "init", ME)
    git.update_ref("refs/heads/main", base)
    left = git.commit_changes(base, {"a.txt": b"1\n2\n"}, "left", ME)
    right = git.commit_changes(base, {"c.txt": b"new\n", "d/b.txt": None}, "right", ME)
    tree = git.merge_trees(left, right)
    merged = git.commit_tree(tree, [left, right], "merge", ME)
    info = git.commit_info(merged)
    assert info.parents == (left, right) and info.author == ME
    assert {e.path for e in git.ls_tree(merged, recursive=True)} == {"a.txt", "c.txt"}
    assert git.merge_base(left, right) == base and git.is_ancestor(base, merged)
    changes = {c.path: c for c in git.diff(base, right)}
    assert changes["c.txt"].status == "added" and changes["d/b.txt"].status == "removed"
    assert changes["c.txt"].patch == "@@ -0,0 +1 @@\n+new"
    between = git.commits_between(base, merged)
    assert set(between) == {left, right, merged} and between[-1] == merged  # oldest first

    clash = git.commit_changes(base, {"a.txt": b"other\n"}, "clash", ME)
    with pytest.raises(MergeConflict):
        git.merge_trees(left, clash)


def test_rename_detection_and_ref_compare_and_swap(tmp_path: Path) -> None:
    git = GitRepo(tmp_path / "r.git")
    body = b"".join(b"line %d\n" % i for i in range(20))
    one = git.commit_changes(None, {"old/name.yaml": body}, "one", ME)
    two = git.commit_changes(one, {"old/name.yaml": None, "new/name.yaml": body}, "mv", ME)
    (change,) = git.diff(one, two)
    assert (change.status, change.previous_path, change.path) == (
        "renamed", "old/name.yaml", "new/name.yaml")
    git.update_ref("refs/heads/main", one, "0" * 40)
    with pytest.raises(GitError):
        git.update_ref("refs/heads/main", two, two)  # stale expectation: refused
    git.update_ref("refs/heads/main", two, one)
    assert git.resolve("main") == two and git.resolve("nope") is None
    assert git.entry_at(two, "new").type == "tree"
    assert git.read_blob(git.entry_at(two, "new/name.yaml").sha) == body
