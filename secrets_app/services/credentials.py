"""AWS credentials from a custom resource's spec.

The seed operator's webhook stores `accessKeyId` and `secretAccessKey` base64-encoded; objects
applied without it hold them in plain text. Both are accepted.
"""

from __future__ import annotations

import base64
import binascii
import string

from ..aws.ecr import Credentials

_PRINTABLE = set(string.ascii_letters + string.digits + string.punctuation)

MISSING_AWS_ACCESS = "spec.awsAccess is missing: set accessKeyId, secretAccessKey and region."
MISSING_FIELD = "spec.awsAccess.{field} is empty: set it."


class SpecError(ValueError):
    """The resource's spec cannot work as written; the message says what to change."""


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


def credentials_from_spec(spec: dict) -> Credentials:
    access = spec.get("awsAccess")
    if not isinstance(access, dict):
        raise SpecError(MISSING_AWS_ACCESS)
    problems = [
        MISSING_FIELD.format(field=f)
        for f in ("accessKeyId", "secretAccessKey", "region")
        if not access.get(f)
    ]
    if problems:
        raise SpecError(" ".join(problems))
    return Credentials(
        access_key_id=decode_key(access["accessKeyId"]),
        secret_access_key=decode_key(access["secretAccessKey"]),
        region=access["region"],
    )
