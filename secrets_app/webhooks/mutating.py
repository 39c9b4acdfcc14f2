"""The mutating webhook: store inline AWS keys base64-encoded, as the seed operator does.

On CREATE a plain key is encoded (an already-encoded one, e.g. from an object exported out of a
seed-managed cluster, is kept). On UPDATE a key that equals the stored one once decoded is put
back exactly as stored, so re-applying the original manifest changes nothing; a new key is encoded.
"""

from __future__ import annotations

from ..services.identity.credentials import decode_key, encode_key
from ..services.specs import spec_of
from . import reviews

KEY_FIELDS = ("accessKeyId", "secretAccessKey")


def mutate(review: reviews.Review) -> dict:
    if review.operation not in ("CREATE", "UPDATE"):
        return reviews.allowed(review)
    if review.kind is None:
        return reviews.not_ours(review)
    access = _aws_access(review.object)
    if access is None:
        return reviews.allowed(review)  # nothing to encode; validation says what is missing
    stored = _aws_access(review.old_object) or {}
    patch = []
    for field in KEY_FIELDS:
        value = access.get(field)
        if not isinstance(value, str) or not value:
            continue
        old = stored.get(field)
        keep_old = isinstance(old, str) and old and decode_key(old) == decode_key(value)
        wanted = old if keep_old else encode_key(value)
        if wanted != value:
            patch.append({"op": "replace", "path": f"/spec/awsAccess/{field}", "value": wanted})
    return reviews.allowed(review, patch=patch)


def _aws_access(body: dict) -> dict | None:
    access = spec_of(body).get("awsAccess")
    return access if isinstance(access, dict) else None
