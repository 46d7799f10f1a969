"""Parallel clients: one lock, real git underneath, no lost updates or duplicate numbers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from .conftest import Scene


def test_parallel_pull_requests(scene: Scene) -> None:
    def work(i: int) -> int:
        repo = scene.repo_as("alice")
        main = repo.get_branch("main").commit.sha
        repo.create_git_ref(f"refs/heads/p{i}", main)
        repo.create_file(f"requests/prod/payments/p{i}.yaml", "m", f"n: {i}\n", branch=f"p{i}")
        pr = repo.create_pull(base="main", head=f"p{i}", title=f"p{i}")
        pr.create_issue_comment(f"comment {i}")
        return pr.number

    with ThreadPoolExecutor(max_workers=6) as pool:
        numbers = list(pool.map(work, range(12)))
    assert sorted(numbers) == list(range(1, 13))
    repo = scene.repo_as("bob")
    assert repo.get_pulls(state="open").totalCount == 12
    for n in numbers:
        pr = repo.get_pull(n)
        assert [f.filename for f in pr.get_files()] == [f"requests/prod/payments/{pr.title}.yaml"]
        assert pr.get_issue_comments().totalCount == 1
