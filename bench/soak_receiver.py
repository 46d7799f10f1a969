"""``janus webhook`` for the soak (bench/soak.py), with the 10-minute duration floor lowered.

``JanusConfig`` rightly refuses ``duration.min`` below 10 minutes (the shortest token the
TokenRequest API issues), and the receiver judges every request against the repository's
JanusConfig. The soak needs grants of 30–120 s so that many expire during the run; the controller
has the test switch ``JANUS_TEST_MIN_DURATION`` for that, the receiver has none. This wrapper
lowers ``janus.model.policy.TOKEN_MIN_DURATION`` to one second in its own process, then runs the
unmodified CLI (``python bench/soak_receiver.py webhook ...``). Nothing else differs.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from janus.model import policy

policy.TOKEN_MIN_DURATION = dt.timedelta(seconds=1)

from janus.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.argv[0] = "janus"
    sys.exit(main())
