"""asciicast v2 recording of a terminal session.

Output ("o") and resize ("r") events are always recorded. Input ("i") is recorded only when the
deployment asks for it (``record_input``): everything a user types at a shell prompt is echoed
back by the pod's TTY and so appears in the output anyway, while input that is NOT echoed is
exactly where passwords and secrets are (`sudo`, `read -s`, database prompts). When input is
recorded the terminal says so before the first keystroke (janus.web.terminal.session).

Recording is a condition of access, not best effort (issue 11 item 4): the size cap counts the
RAW terminal bytes (not their JSON-escaped form, where one control byte takes six), and data
that would pass the cap is refused — ``output``/``input`` return False, a marker says where and
why the recording stopped, and the session ends without showing or sending that data.

The recorder only builds text; the session writes pending text to the database about once a
second (see janus.web.db), with the running SHA-256 and size of everything stored. Output is
decoded incrementally so a UTF-8 character split across two websocket frames is not turned into
two replacement characters.
"""

from __future__ import annotations

import codecs
import json
import time

# A session ends when its recording reaches this many raw bytes (a `cat` of a huge file would
# otherwise fill the database).
DEFAULT_MAX_BYTES = 32 * 1024 * 1024

# The replay player (templates/terminal/replay.html, static/terminal/replay.js): a pause longer
# than this is shortened to it on the player's timeline, so a session left idle for an hour
# replays in seconds (the page says so); and the speeds it offers, changeable while playing.
REPLAY_MAX_IDLE_SECONDS = 2
REPLAY_SPEEDS = ("0.5", "1", "2", "4", "8", "16")
REPLAY_DEFAULT_SPEED = "1"


class AsciicastRecorder:
    def __init__(
        self,
        width: int,
        height: int,
        *,
        title: str,
        shell_name: str = "",
        max_bytes: int = DEFAULT_MAX_BYTES,
        record_input: bool = False,
    ) -> None:
        self._start = time.monotonic()
        self._decoders = {
            kind: codecs.getincrementaldecoder("utf-8")(errors="replace") for kind in "oi"
        }
        self._pending: list[str] = []
        self.raw_bytes = 0  # terminal data recorded so far, as the pod or the browser sent it
        self._max_bytes = max_bytes
        self.record_input = record_input
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

    def _line(self, kind: str, data: str) -> None:
        self._add(json.dumps([self._elapsed(), kind, data], ensure_ascii=False))

    def _data(self, kind: str, data: bytes) -> bool:
        """Record terminal data; False (and a marker, once) when the cap forbids it."""
        if self.truncated:
            return False
        if self.raw_bytes + len(data) > self._max_bytes:
            self.truncated = True
            self._line("m", f"recording truncated: size limit ({self._max_bytes} bytes); "
                            "the session ended")
            return False
        self.raw_bytes += len(data)
        text = self._decoders[kind].decode(data)
        if text:
            self._line(kind, text)
        return True

    def output(self, data: bytes) -> bool:
        """Record output from the pod; False means it must not be shown (the cap is reached)."""
        return self._data("o", data)

    def input(self, data: bytes) -> bool:
        """Record keystrokes when input is recorded; False means they must not be sent."""
        if not self.record_input:
            return True
        return self._data("i", data)

    def resize(self, cols: int, rows: int) -> None:
        if not self.truncated:
            self._line("r", f"{cols}x{rows}")

    def marker(self, label: str) -> None:
        # Markers are Janus's own (bounded) notes: kept even past the cap.
        self._line("m", label)

    def take_pending(self) -> str:
        """The lines recorded since the last call, for appending to storage."""
        text = "".join(self._pending)
        self._pending.clear()
        return text


def replay_timeline(events: list[list], max_idle: float = REPLAY_MAX_IDLE_SECONDS) -> list[float]:
    """Each event's time on the replay player's timeline: the recorded time with every gap
    longer than *max_idle* shortened to it (the same rule as static/terminal/replay.js)."""
    out: list[float] = []
    last = at = 0.0
    for recorded, *_ in events:
        at += min(max(0.0, float(recorded) - last), max_idle)
        last = max(last, float(recorded))
        out.append(at)
    return out


def parse_asciicast(text: str) -> tuple[dict, list[list]]:
    """Header and events of an asciicast v2 document (used by tests and the replay API)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise ValueError("empty recording")
    header = json.loads(lines[0])
    if header.get("version") != 2:
        raise ValueError("not asciicast v2")
    return header, [json.loads(line) for line in lines[1:]]
