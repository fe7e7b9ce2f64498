"""Device MQTT passwords, hashed in Mosquitto's own `$7$` (PBKDF2-SHA512) format.

Storing that format lets the broker's password file be generated straight from
the registry, and lets the embedded broker verify the same hash, with no
plaintext kept anywhere.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Final

# Device passwords are 192-bit random tokens, so key stretching adds little;
# the count stays moderate because 1,000 devices reconnecting at once all
# cost the broker one hash each.
ITERATIONS: Final = 1000
_SALT_BYTES: Final = 12


def new_password() -> str:
    """A fresh device password: 32 URL-safe characters, 192 bits of entropy."""
    return secrets.token_urlsafe(24)


def hash_password(password: str, *, iterations: int = ITERATIONS) -> str:
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, encoded: str) -> bool:
    """Check `password` against a `$7$` hash; any malformed hash simply fails."""
    try:
        _, scheme, iterations, salt_b64, digest_b64 = encoded.split("$")
        if scheme != "7":
            return False
        rounds = int(iterations)
        if not 1 <= rounds <= 1_000_000:
            return False
        salt = base64.b64decode(salt_b64, validate=True)
        expected = base64.b64decode(digest_b64, validate=True)
    except ValueError:
        return False
    actual = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, rounds)
    return hmac.compare_digest(actual, expected)
