"""The inline AWS keys of a spec: stored plain or base64-encoded.

The seed operator's webhook stores `accessKeyId` and `secretAccessKey` base64-encoded; objects
applied without it hold them in plain text. Both are accepted everywhere.
"""

from __future__ import annotations

import base64
import binascii
import string

_PRINTABLE = set(string.ascii_letters + string.digits + string.punctuation)


def decode_key(value: str) -> str:
    """The plain key, whether `value` is plain or base64 of a plain key.

    A plain AWS key can itself be valid base64 (20 or 40 characters), but it then decodes to
    binary, not to printable key characters; that tells the two apart.
    """
    try:
        decoded = base64.b64decode(value, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return value
    if decoded and set(decoded) <= _PRINTABLE:
        return decoded
    return value


def encode_key(value: str) -> str:
    """`value` as stored (base64, as the seed does); an already-encoded value is kept as it is."""
    if decode_key(value) != value:
        return value
    return base64.b64encode(value.encode()).decode()
