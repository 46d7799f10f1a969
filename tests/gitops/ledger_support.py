"""Helpers for the ledger tests: entries for fake grants, a forwarding proxy in front of the
GitHub simulator that can play "GitHub is down" (503 for everything) on demand."""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from janus import names
from janus.model import ledger
from janus.model.ledger import Entry, MergeRecord, RequestRecord


def entry_for(name: str, *, pr: int, merge_commit: str, blob: str,
              merged_at: str = "2026-11-30T01:00:00Z", requester: str = "alice",
              cluster: str = "prod", namespace: str = "payments") -> Entry:
    cr = names.access_request_name(cluster, namespace, name)
    return ledger.entry_for(
        RequestRecord(path=f"requests/{cluster}/{namespace}/{name}.yaml", blob_sha=blob,
                      name=name, requester=requester, cluster=cluster, namespace=namespace,
                      role="pod-exec", duration="1h", reason="INC-1"),
        MergeRecord(repo="acme/access", pull_request=pr, commit=merge_commit,
                    merged_at=merged_at, merged_by="root", approvers=("bob",)),
        cr, granted_at=merged_at, expires_at="2026-11-30T02:00:00Z")


class Outage:
    """A proxy to *upstream* (the simulator's base URL); ``down = True`` answers 503."""

    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream)
        self.down = False
        self.refused = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if outer.down:
                    outer.refused += 1
                    data = b'{"message": "Service Unavailable"}'
                    self.send_response(503)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                conn = http.client.HTTPConnection(outer.upstream.hostname,
                                                  outer.upstream.port, timeout=30)
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "connection")}
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{self.upstream.path}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
