"""When a refresh was last asked for by hand, per AWS identity (access key ID and region).

Used to hold back click storms: ECR's GetAuthorizationToken quota is per account and region.
Nothing secret is stored: the access key ID is not a secret.
"""

from __future__ import annotations

from django.db import models


class IdentityRefresh(models.Model):
    access_key_id = models.CharField(max_length=128)
    region = models.CharField(max_length=32)
    requested_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["access_key_id", "region"], name="unique_identity")]

    def __str__(self) -> str:
        return f"{self.access_key_id} in {self.region}"
