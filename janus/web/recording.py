"""asciicast v2 recording of a terminal session's output.

Only output ("o") and resize ("r") events are recorded, not stdin ("i"): everything a user types
at a shell prompt is echoed back by the pod's TTY and so appears in the output anyway, while
input that is NOT echoed is exactly what must not be kept — passwords and secrets typed at
`sudo`, `read -s`, database prompts. Recording stdin would store those in the audit database.

The recorder only builds text; the session writes pending text to the database about once a
second (see janus.web.db). Output is decoded incrementally so a UTF-8 character split across two
websocket frames is not turned into two replacement characters.
"""

from __future__ import annotations

import codecs
import json
import time

# A recording stops growing past this size (a `cat` of a huge file would otherwise fill the
# database); a marker event says where and why it was cut.
DEFAULT_MAX_BYTES = 32 * 1024 * 1024


class AsciicastRecorder:
    def __init__(
        self,
        width: int,
        height: int,
        *,
        title: str,
        shell_name: str = "",
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self._start = time.monotonic()
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending: list[str] = []
        self._size = 0
        self._max_bytes = max_bytes
        self.truncated = False
        header = {
            "version": 2,
            "width": width,
            "height": height,
            "timestamp": int(time.time()),
            "title": title,
            "env": {"TERM": "xterm-256color", "SHELL": shell_name},
        }
        self._add(json.dumps(header, ensure_ascii=False))

    def _elapsed(self) -> float:
        return round(time.monotonic() - self._start, 6)

    def _add(self, line: str) -> None:
        self._pending.append(line + "\n")
        self._size += len(line) + 1

    def _event(self, kind: str, data: str) -> None:
        if self.truncated:
            return
        if self._size > self._max_bytes:
            self.truncated = True
            self._add(json.dumps([self._elapsed(), "m", "recording truncated: size limit"]))
            return
        self._add(json.dumps([self._elapsed(), kind, data], ensure_ascii=False))

    def output(self, data: bytes) -> None:
        text = self._decoder.decode(data)
        if text:
            self._event("o", text)

    def resize(self, cols: int, rows: int) -> None:
        self._event("r", f"{cols}x{rows}")

    def marker(self, label: str) -> None:
        self._event("m", label)

    def take_pending(self) -> str:
        """The lines recorded since the last call, for appending to storage."""
        text = "".join(self._pending)
        self._pending.clear()
        return text


def parse_asciicast(text: str) -> tuple[dict, list[list]]:
    """Header and events of an asciicast v2 document (used by tests and the replay API)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise ValueError("empty recording")
    header = json.loads(lines[0])
    if header.get("version") != 2:
        raise ValueError("not asciicast v2")
    return header, [json.loads(line) for line in lines[1:]]
