"""The ack path's group commit: concurrent deliveries share transactions, yet each 202 comes only
after its own row is committed, a delivery id is still stored once, and a row the database
refuses fails only its own request."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import httpx
from sqlalchemy.exc import OperationalError

from janus.webhook.app import create_app
from janus.webhook.signature import sign
from janus.webhook.store import DeliveryStore

SECRET = b"It's a Secret to Everybody"
PUSH = {"ref": "refs/heads/janus/request/alice/x", "before": "0" * 40, "after": "1" * 40,
        "repository": {"id": 1296269, "full_name": "acme/access"}, "commits": []}


class CountingStore(DeliveryStore):
    """The real store, counting its transactions; *refuse* ids make the database raise."""

    def __init__(self, path: Path, refuse: frozenset[str] = frozenset()) -> None:
        super().__init__(path)
        self.batches: list[list[str]] = []
        self.refuse = refuse

    def add_many(self, rows: Sequence[tuple[str, str, str | None, bytes]]) -> list[bool]:
        ids = [row[0] for row in rows]
        self.batches.append(ids)
        if self.refuse.intersection(ids):
            raise OperationalError("INSERT", {}, Exception("refused by the test"))
        return super().add_many(rows)


def _committed(path: Path, delivery_id: str) -> bool:
    """Read through a connection of its own: only what was committed is visible."""
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT 1 FROM deliveries WHERE id = ?",
                            (delivery_id,)).fetchone() is not None


async def _burst(store: DeliveryStore, path: Path, ids: list[str]) -> list[tuple[str, int, dict]]:
    app = create_app(SECRET, store)
    body = json.dumps(PUSH).encode()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://receiver") as client:

        async def post(delivery_id: str) -> tuple[str, int, dict]:
            response = await client.post("/webhooks/github", content=body, headers={
                "Content-Type": "application/json", "X-GitHub-Event": "push",
                "X-GitHub-Delivery": delivery_id, "X-Hub-Signature-256": sign(SECRET, body)})
            if response.status_code == 202:
                # The answer is out: the row must already be committed, not merely queued.
                assert _committed(path, delivery_id), delivery_id
            answer = response.json() if response.status_code == 202 else {}
            return delivery_id, response.status_code, answer

        return await asyncio.gather(*(post(i) for i in ids))


def test_a_burst_shares_commits_and_each_202_follows_its_own_commit(tmp_path: Path) -> None:
    path = tmp_path / "deliveries.sqlite"
    store = CountingStore(path)
    ids = [f"d-{n}" for n in range(64)] + ["again"] * 8
    results = asyncio.run(_burst(store, path, ids))
    assert all(status == 202 for _, status, _ in results)
    again = [answer for delivery_id, _, answer in results if delivery_id == "again"]
    assert again.count({"accepted": "again"}) == 1
    assert again.count({"duplicate": "again"}) == 7
    assert store.counts() == {"pending": 65}
    assert sum(len(batch) for batch in store.batches) == 72
    assert len(store.batches) < 72, "every delivery was committed on its own"


def test_a_row_the_database_refuses_fails_only_its_own_request(tmp_path: Path) -> None:
    path = tmp_path / "deliveries.sqlite"
    store = CountingStore(path, refuse=frozenset({"poison"}))
    ids = [f"d-{n}" for n in range(20)] + ["poison"] + [f"e-{n}" for n in range(20)]
    results = {delivery_id: status for delivery_id, status, _ in
               asyncio.run(_burst(store, path, ids))}
    assert results.pop("poison") == 500
    assert set(results.values()) == {202}
    assert not _committed(path, "poison")
    assert store.counts() == {"pending": 40}
    # It was refused inside a shared transaction, whose other rows were then written alone.
    shared = [batch for batch in store.batches if "poison" in batch and len(batch) > 1]
    assert shared, store.batches
    assert all([delivery_id] in store.batches for delivery_id in shared[0])
