"""A minimal webhook receiver for the simulator's tests: records each POST, answers a set code."""

from __future__ import annotations

import http.server
import json
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def event(self) -> str:
        return self.headers.get("X-GitHub-Event", "")


@dataclass
class Receiver:
    status: int = 200
    received: list[Received] = field(default_factory=list)
    on_request: Any = None  # optional callback(Received), e.g. to call back into the simulator

    def start(self) -> Receiver:
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                item = Received(dict(self.headers.items()), self.rfile.read(length))
                owner.received.append(item)
                if owner.on_request is not None:
                    owner.on_request(item)
                self.send_response(owner.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def events(self) -> list[tuple[str, str | None]]:
        return [(r.event, r.json.get("action")) for r in self.received]
