"""Check runs of several Apps on one commit: any App may name its run ``janus/policy``; the
list endpoint's ``app_id`` parameter keeps one App's runs, as on GitHub."""

from __future__ import annotations

from github import Auth, Github

from .conftest import Scene
from .test_flow import open_request


def _bot(scene: Scene, installation: int) -> Github:
    return Github(auth=Auth.Token(scene.sim.installation_token(installation)),
                  base_url=scene.sim.base_url, retry=None, seconds_between_requests=None,
                  seconds_between_writes=None)


def test_app_id_filter_keeps_one_apps_runs(scene: Scene) -> None:
    _, pr = open_request(scene)
    other_app, _ = scene.sim.create_app("impostor", owner="acme")
    other = scene.sim.install_app(other_app, scene.repo)
    _bot(scene, other).get_repo(scene.repo).create_check_run(
        "janus/policy", pr.head.sha, conclusion="success", output={"title": "t", "summary": "s"})
    ours = _bot(scene, scene.installation_id).get_repo(scene.repo)
    ours.create_check_run("janus/policy", pr.head.sha, conclusion="failure",
                          output={"title": "t", "summary": "s"})
    listed = list(ours.get_commit(pr.head.sha).get_check_runs(check_name="janus/policy"))
    assert sorted(r.app.id for r in listed) == sorted([scene.app_id, other_app])
    _, data = ours.requester.requestJsonAndCheck(
        "GET", f"{ours.url}/commits/{pr.head.sha}/check-runs",
        parameters={"check_name": "janus/policy", "app_id": scene.app_id})
    assert [(r["app"]["id"], r["conclusion"]) for r in data["check_runs"]] == \
        [(scene.app_id, "failure")]
