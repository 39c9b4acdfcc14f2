"""When a refresh was last asked for by hand, per AWS identity and region.

Used to hold back click storms: ECR's GetAuthorizationToken quota is per account and region.
Nothing secret is stored: the identity is named as services.identity.refresh.identity_of names it
(an access key ID, which is not a secret, or a Secret's or ServiceAccount's name and a role ARN).
"""

from __future__ import annotations

from django.db import models


class IdentityRefresh(models.Model):
    access_key_id = models.CharField(max_length=2500)  # the identity's name: an access key ID for inline keys
    region = models.CharField(max_length=32)
    requested_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["access_key_id", "region"], name="unique_identity")]

    def __str__(self) -> str:
        return f"{self.access_key_id} in {self.region}"
