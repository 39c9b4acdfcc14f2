"""Choices for status fields, each with the colour the admin shows it in."""

from django.db import models


class SecretState(models.TextChoices):
    PENDING = "pending", "Pending"
    SYNCED = "synced", "Synced"
    FAILED = "failed", "Failed"
    CONFLICT = "conflict", "Conflict"

    @property
    def colour(self) -> str:
        return {"pending": "grey", "synced": "green", "failed": "red", "conflict": "orange"}[self.value]


class ResourceKind(models.TextChoices):
    NAMESPACED = "AWSECRImagePullSecret", "AWSECRImagePullSecret"
    CLUSTER = "ClusterAWSECRImagePullSecret", "ClusterAWSECRImagePullSecret"


class IdentityKind(models.TextChoices):
    """spec.awsAccess's base identity (services.identity.access)."""

    INLINE = "inline", "Keys in the resource"
    SECRET = "secret", "Keys in a Secret"
    SERVICE_ACCOUNT = "serviceAccount", "ServiceAccount web identity"
    AMBIENT = "ambient", "The operator's own identity"
