"""Who asked, for the HITL row a reviewer reads: never the credential itself."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Optional


def user_label(token: Optional[str]) -> Optional[str]:
    """The JWT's `sub` claim (read, not verified) when there is one, else a short fingerprint.

    The reference integration sends the raw user token as `user_id`, which stores a bearer
    token in the approval queue and shows it to every reviewer.
    """
    if not token or token == "anonymous":
        return None
    parts = token.split(".")
    if len(parts) == 3:
        try:
            claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
            subject = claims.get("sub") if isinstance(claims, dict) else None
            if isinstance(subject, str) and subject.strip() and subject != token:
                return subject.strip()[:255]
        except Exception:
            pass
    return "user-" + hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()[:12]


__all__ = ["user_label"]
