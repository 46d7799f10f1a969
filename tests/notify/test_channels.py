"""Each channel against a real receiving server on loopback: Slack (slack_sdk's WebhookClient),
Teams (an Adaptive Card), the signed generic webhook (HMAC, timestamp, JSON Schema) and SMTP
(aiosmtpd). Every payload is scanned for anything that looks like a credential."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from janus.notify import EventKind, channels, render
from janus.notify.events import TokenInPayload, check_no_token, token_findings
from tests.notify.receivers import free_port, http_receiver, smtp_server
from tests.notify.support import SECRET, config, sample_event

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "janus" / "notify" / "event.schema.json").read_text())


def test_the_published_schema_is_the_shipped_one_and_valid() -> None:
    assert json.loads((ROOT / "docs" / "notification-event.schema.json").read_text()) == SCHEMA
    Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("kind", list(EventKind))
def test_every_kind_of_payload_matches_the_schema(kind: EventKind) -> None:
    errors = list(Draft202012Validator(SCHEMA).iter_errors(sample_event(kind).payload()))
    assert errors == []


def test_slack_block_kit_through_slack_sdk(tmp_path: Path) -> None:
    with http_receiver() as rx:
        cfg = config(tmp_path, slack=rx.url)
        channels.send(cfg.channels["slack"], sample_event().payload())
    [got] = rx.received
    body = got.json()
    assert got.headers["Content-Type"].startswith("application/json")
    assert body["text"] == "Access request waiting for review: prod-payments-alice-1"
    header, section, context = body["blocks"]
    assert header["type"] == "header" and header["text"]["type"] == "plain_text"
    fields = {f["text"].split("\n")[0]: f["text"].split("\n")[1] for f in section["fields"]}
    assert fields["*Requester*"] == "alice"
    assert fields["*Scope*"] == "debug on prod/payments"
    assert fields["*Duration*"] == "2h"
    assert fields["*Reason*"] == "INC-1 payments stuck"
    assert fields["*Approvers asked*"] == "@acme/payments-leads, @bob"
    assert len(section["fields"]) <= 10  # Block Kit's limit
    assert "<https://github.example/acme/access/pull/7|Pull request>" in \
        context["elements"][0]["text"]
    # No interactive element: approval stays a GitHub review.
    assert not any(b["type"] == "actions" for b in body["blocks"])


def test_slack_escapes_user_text() -> None:
    blocks = render.slack(sample_event(reason="<!channel> & <https://evil|x>").payload())
    text = json.dumps(blocks)
    assert "<!channel>" not in text and "&lt;!channel&gt; &amp;" in text


def test_teams_adaptive_card(tmp_path: Path) -> None:
    with http_receiver() as rx:
        cfg = config(tmp_path, teams=rx.url)
        channels.send(cfg.channels["teams"], sample_event(EventKind.REVOKED, actor="carol",
                                                          why="incident over").payload())
    body = rx.received[0].json()
    assert body["type"] == "message"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    facts = {f["title"]: f["value"] for f in card["body"][1]["facts"]}
    assert facts["By"] == "carol" and facts["Why"] == "incident over"
    assert {a["type"] for a in card["actions"]} == {"Action.OpenUrl"}


def test_generic_webhook_is_signed_with_a_timestamp(tmp_path: Path) -> None:
    with http_receiver() as rx:
        cfg = config(tmp_path, webhook=rx.url)
        channels.send(cfg.channels["hook"], sample_event().payload())
    got = rx.received[0]
    ts, signature = got.headers["X-Janus-Timestamp"], got.headers["X-Janus-Signature"]
    assert signature.startswith("sha256=")
    assert channels.verify(SECRET.encode(), ts, got.body, signature)
    assert not channels.verify(b"another-secret-entirely", ts, got.body, signature)
    assert not channels.verify(SECRET.encode(), ts, got.body + b" ", signature)
    # Replay: the same signed body presented ten minutes later is refused.
    assert not channels.verify(SECRET.encode(), ts, got.body, signature, now=int(ts) + 600)
    assert got.headers["X-Janus-Event"] == "test:request.opened"
    assert list(Draft202012Validator(SCHEMA).iter_errors(got.json())) == []


def test_email_over_smtp_to_the_audience(tmp_path: Path) -> None:
    with smtp_server() as (port, box):
        cfg = config(tmp_path, smtp_port=port)
        channels.send(cfg.channels["mail"], sample_event().payload())
    [(sender, rcpts)] = box.envelopes
    assert sender == "janus@example.com"
    # The fixed list, plus the mapped address of the deciding policy's approvers' team.
    assert rcpts == ["security@example.com", "leads@example.com"]
    msg = box.messages[0]
    assert msg["Subject"] == "[Janus] Access request waiting for review: prod-payments-alice-1"
    text = msg.get_payload(decode=True).decode()
    assert "Requester: alice" in text and "Scope: debug on prod/payments" in text
    assert "never by e-mail" in text


def test_email_with_starttls_and_login(tmp_path: Path) -> None:
    """STARTTLS with the server's certificate verified against the configured CA, then login:
    the password never crosses the wire in clear (the server requires TLS first)."""
    import ssl

    from aiosmtpd.smtp import AuthResult

    from janus.notify import parse_config
    from tests.notify.receivers import self_signed

    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    logins: list[tuple[str, str]] = []

    def authenticator(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=auth_data.password == b"mail-password-1")

    with smtp_server(tls_context=context, require_starttls=True, authenticator=authenticator,
                     auth_require_tls=True) as (port, box):
        (tmp_path / "pw").write_text("mail-password-1\n")
        cfg = parse_config({
            "kind": "NotificationConfig", "routes": [],
            "channels": [{"name": "mail", "type": "email", "from": "janus@example.com",
                          "to": ["security@example.com"], "timeout": 5,
                          "smtp": {"host": "127.0.0.1", "port": port, "starttls": True,
                                   "caFile": "smtp.crt", "username": "janus",
                                   "passwordFile": "pw"}}]}, tmp_path)
        channels.send(cfg.channels["mail"], sample_event().payload())
        assert logins == [("janus", "mail-password-1")]
        assert len(box.messages) == 1
        # Without the CA the server's certificate is not trusted: refused, retried later.
        untrusting = parse_config({
            "kind": "NotificationConfig", "routes": [],
            "channels": [{"name": "mail", "type": "email", "from": "janus@example.com",
                          "to": ["security@example.com"], "timeout": 5,
                          "smtp": {"host": "127.0.0.1", "port": port, "starttls": True}}]})
        with pytest.raises(channels.SendFailed):
            channels.send(untrusting.channels["mail"], sample_event().payload())
        assert len(box.messages) == 1


@pytest.mark.parametrize("down", ["slack", "teams", "webhook"])
def test_a_channel_down_raises_send_failed(tmp_path: Path, down: str) -> None:
    url = f"http://127.0.0.1:{free_port()}/hook"
    cfg = config(tmp_path, **{down: url})
    name = {"slack": "slack", "teams": "teams", "webhook": "hook"}[down]
    with pytest.raises(channels.SendFailed) as caught:
        channels.send(cfg.channels[name], sample_event().payload())
    assert url not in str(caught.value)  # a Slack/Teams URL is a secret: never in a message


def test_http_500_raises_send_failed(tmp_path: Path) -> None:
    with http_receiver(fail_first=1) as rx:
        cfg = config(tmp_path, slack=rx.url)
        with pytest.raises(channels.SendFailed, match="HTTP 500"):
            channels.send(cfg.channels["slack"], sample_event().payload())


def test_smtp_down_raises_send_failed(tmp_path: Path) -> None:
    cfg = config(tmp_path, smtp_port=free_port())
    with pytest.raises(channels.SendFailed):
        channels.send(cfg.channels["mail"], sample_event().payload())


JWT = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2lnbmF0dXJlLXBhcnQ"


@pytest.mark.parametrize("leak", [JWT, "ghs_" + "a" * 36, "Bearer abcdefghijklmnopqrstuv",
                                  "-----BEGIN RSA PRIVATE KEY-----"])
def test_a_payload_carrying_a_token_is_refused(leak: str) -> None:
    with pytest.raises(TokenInPayload):
        sample_event(reason=f"see {leak}").payload()
    with pytest.raises(TokenInPayload):
        check_no_token({"nested": [{"x": leak}]})


def test_ordinary_payloads_carry_nothing_token_like() -> None:
    for kind in EventKind:
        payload = sample_event(kind).payload()
        for rendered in (payload, render.slack(payload), render.teams(payload),
                         render.email(payload, "j@example.com", ["x@example.com"]).as_string()):
            assert token_findings(rendered) == []


def test_the_slack_url_is_never_logged_even_at_debug(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    import logging

    with http_receiver() as rx, caplog.at_level(logging.DEBUG):
        cfg = config(tmp_path, slack=rx.url + "/T000/B000/XXXXSECRET")
        channels.send(cfg.channels["slack"], sample_event().payload())
    assert rx.received
    assert "XXXXSECRET" not in caplog.text
