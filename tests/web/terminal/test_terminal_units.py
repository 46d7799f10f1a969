"""Pure parts of the terminal: control-frame parsing, asciicast recording, grant parsing."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest

from janus.resource import AccessRequestView
from janus.resource.standing import usable
from janus.web.recording import AsciicastRecorder, parse_asciicast
from janus.web.terminal import protocol
from janus.web.terminal.exec_stream import exec_url, status_failed
from janus.web.terminal.grants import GrantCredentials, pull_request_of


def test_open_frame_is_validated() -> None:
    ok = protocol.parse_open(json.dumps(
        {"type": "open", "pod": "web-0", "container": "app", "cols": 120, "rows": 40}))
    assert ok == protocol.OpenRequest("web-0", "app", 120, 40)
    defaults = protocol.parse_open('{"type":"open","pod":"p","container":"c"}')
    assert (defaults.cols, defaults.rows) == (80, 24)
    for bad in (
        "not json", "[]", '{"type":"resize"}',
        '{"type":"open","pod":"../etc","container":"c"}',
        '{"type":"open","pod":"p","container":"C_D"}',
        '{"type":"open","pod":"p","container":"c","cols":0}',
        '{"type":"open","pod":"p","container":"c","rows":100000}',
        '{"type":"open","pod":"p","container":"c","cols":true}',
    ):
        with pytest.raises(protocol.ProtocolError):
            protocol.parse_open(bad)


def test_control_frames_resize_or_nothing() -> None:
    assert protocol.parse_control('{"type":"resize","cols":100,"rows":30}') == protocol.Resize(
        100, 30)
    assert protocol.parse_control('{"type":"resize","cols":-1,"rows":30}') is None
    assert protocol.parse_control('{"type":"select_pod"}') is None
    assert protocol.parse_control("garbage") is None


def test_close_codes_are_distinct_per_reason() -> None:
    codes = list(protocol.CLOSE_CODES.values())
    assert len(codes) == len(set(codes)) and all(4000 <= c < 5000 for c in codes)
    assert protocol.close_code("unknown") == 4000


def test_recording_is_asciicast_v2_without_stdin() -> None:
    recorder = AsciicastRecorder(100, 30, title="t", shell_name="bash")
    snowman = "☃".encode()
    recorder.output(b"hello " + snowman[:1])  # a character split across two frames
    recorder.output(snowman[1:] + b"\r\n")
    recorder.resize(120, 40)
    recorder.marker("closed: idle")
    header, events = parse_asciicast(recorder.take_pending())
    assert header["version"] == 2 and (header["width"], header["height"]) == (100, 30)
    assert "".join(e[2] for e in events if e[1] == "o") == "hello ☃\r\n"
    assert [e[1] for e in events] == ["o", "o", "r", "m"]
    assert ["r", "120x40"] == events[-2][1:]
    assert recorder.take_pending() == ""


def test_recording_stops_at_its_size_limit() -> None:
    recorder = AsciicastRecorder(80, 24, title="t", max_bytes=1000)
    for _ in range(100):
        recorder.output(b"x" * 100)
    _, events = parse_asciicast(recorder.take_pending())
    assert recorder.truncated
    assert events[-1][1] == "m" and "truncated" in events[-1][2]
    assert len(events) < 20


def _cr(**status: object) -> dict:
    return {
        "metadata": {"name": "central-ns-req-12345678"},
        "spec": {"requester": "Alice", "cluster": "central", "namespace": "ns",
                 "provenance": {"repo": "acme/access", "pullRequest": 7}},
        "status": status,
    }


def test_grant_states() -> None:
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    active = AccessRequestView.from_cr(_cr(phase="Active", expiresAt=future))
    assert usable(active) and not active.ended and active.belongs_to("alice")
    assert not active.belongs_to("bob") and not active.belongs_to("")
    assert pull_request_of(active) == ("acme/access", 7)
    approved = AccessRequestView.from_cr(_cr())
    assert approved.phase == "Approved" and not usable(approved)
    past = AccessRequestView.from_cr(_cr(phase="Active", expiresAt="2020-01-01T00:00:00Z"))
    assert not usable(past)
    for phase in ("Revoked", "Expired", "Failed"):
        assert AccessRequestView.from_cr(_cr(phase=phase)).ended
    revoking = _cr(phase="Active", expiresAt=future)
    revoking["spec"]["revocation"] = {"by": "root"}
    assert AccessRequestView.from_cr(revoking).ended
    assert not usable(AccessRequestView.from_cr(revoking))


def test_credentials_never_show_the_token() -> None:
    token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
    data = {k: base64.b64encode(v.encode()).decode() for k, v in {
        "token": token, "server": "https://127.0.0.1:6443/", "ca": "PEM", "cluster": "c",
        "namespace": "ns", "expiresAt": "2030-01-01T00:00:00Z"}.items()}
    credentials = GrantCredentials.from_secret({"data": data})
    assert credentials.token == token and credentials.server == "https://127.0.0.1:6443"
    assert token not in repr(credentials) and token not in str(credentials)


def test_exec_url_and_status() -> None:
    url = exec_url("https://h:6443", "ns", "pod-0", "app", ["bash"], tty=True)
    assert url.startswith("wss://h:6443/api/v1/namespaces/ns/pods/pod-0/exec?")
    assert "tty=true" in url and "stderr" not in url and "command=bash" in url
    assert "container=app" in url
    assert status_failed(b'{"status":"Success"}') is None
    assert "not found" in (status_failed(
        b'{"status":"Failure","message":"exec: \\"bash\\": not found"}') or "")
