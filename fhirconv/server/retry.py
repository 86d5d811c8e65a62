"""When and how long to wait before trying a request again: exponential backoff with full jitter, bounded in count
and in total time, honouring Retry-After."""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

#: Answers that may change if we ask again later; other 4xx/5xx will not.
RETRY_STATUSES = frozenset({429, 502, 503, 504})


@dataclass
class RetryPolicy:
    attempts: int = 5  # total tries, the first one included
    base: float = 0.5  # seconds; the n-th wait is drawn from [0, base * 2**n]
    cap: float = 30.0  # no single wait longer than this
    deadline: float = 120.0  # no retry once this much time has passed since the first try
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=random.Random)

    def wait(self, attempt: int, retry_after: str | None) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based)."""
        # An HTTP-date Retry-After is wall-clock time, so it is compared with time.time(), not the monotonic clock.
        server_says = parse_retry_after(retry_after, time.time())
        if server_says is not None:
            return min(server_says, self.cap)
        return self.rng.uniform(0, min(self.cap, self.base * 2 ** (attempt - 1)))


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Retry-After as seconds (``"120"``) or an HTTP date; ``None`` when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)
