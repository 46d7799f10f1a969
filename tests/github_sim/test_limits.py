"""GitHub's list caps, as documented: a PR's commits list stops at 250 and its files at 3,000,
a commit's files at 3,000 (pages of 300), compare at 250 commits and 300 files, while the
counts (``commits``, ``changed_files``, ``total_commits``) stay true. Clients must compare the
two, as the simulator lets them."""

from __future__ import annotations

from .conftest import Scene


def test_pull_commits_are_capped_at_250_while_the_count_stays_true(scene: Scene) -> None:
    commits = [{f"requests/pad/{i}.txt": f"{i}\n"} for i in range(260)]
    scene.sim.push_series(scene.repo, "long", commits, author="alice", message="pad")
    repo = scene.repo_as("alice")
    pull = repo.create_pull(base="main", head="long", title="long")
    assert pull.commits == 260
    listed = list(pull.get_commits())
    assert len(listed) == 250
    assert listed[0].commit.message.endswith("(1)") and listed[-1].commit.message.endswith("(250)")
    comparison = repo.compare(pull.base.sha, pull.head.sha)
    assert comparison.total_commits == 260 and len(list(comparison.commits)) == 250
    assert pull.changed_files == 260 and len(list(pull.get_files())) == 260


def test_compare_files_are_capped_at_300(scene: Scene) -> None:
    files = {f"requests/many/{i}.txt": f"{i}\n" for i in range(310)}
    head = scene.sim.push(scene.repo, "wide", files, author="alice", message="wide")
    repo = scene.repo_as("alice")
    comparison = repo.compare("main", head)
    assert len(comparison.files) == 300


def test_recursive_tree_listing_is_truncated_past_the_limit(scene: Scene) -> None:
    repo = scene.repo_as("alice")
    head = repo.get_branch("main").commit.sha
    full = repo.get_git_tree(head, recursive=True)
    assert full.truncated is False
    scene.sim.set_limits(tree_entries=2)
    cut = repo.get_git_tree(head, recursive=True)
    assert cut.truncated is True and len(cut.tree) == 2 < len(full.tree)


def test_large_file_comes_back_with_encoding_none(scene: Scene) -> None:
    import pytest

    scene.sim.push(scene.repo, "main", {"requests/big.yaml": "x" * 2048}, author="alice",
                   message="big")
    scene.sim.set_limits(contents_size=1024)
    content = scene.repo_as("alice").get_contents("requests/big.yaml")
    assert content.encoding == "none" and content.content == "" and content.size == 2048
    with pytest.raises(AssertionError):
        content.decoded_content  # noqa: B018 - PyGithub's own failure on such files


def test_pull_and_commit_files_are_capped_at_3000_while_the_counts_stay_true(
    scene: Scene,
) -> None:
    files = {f"requests/wide/{i:04}.txt": "x\n" for i in range(3001)}
    head = scene.sim.push(scene.repo, "wider", files, author="alice", message="wide",
                          base="main")
    repo = scene.repo_as("alice")
    pull = repo.create_pull(base="main", head="wider", title="wide")
    assert pull.changed_files == 3001
    listed = [f.filename for f in pull.get_files()]
    assert len(listed) == 3000 and listed[-1] == "requests/wide/2999.txt"
    # One commit's files: pages of 300 (Link headers), at most 3,000, the last one left out.
    commit = repo.get_commit(head)
    assert len(commit.raw_data["files"]) == 300
    in_commit = [f.filename for f in commit.files]
    assert len(in_commit) == 3000 and "requests/wide/3000.txt" not in in_commit
