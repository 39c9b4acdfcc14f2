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
