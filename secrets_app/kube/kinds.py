"""The custom resource kinds ecrcontrol serves, and the labels it puts on what it manages."""

from __future__ import annotations

from dataclasses import dataclass

GROUP = "aws.zakariaamine.com"


@dataclass(frozen=True)
class Kind:
    kind: str
    version: str
    plural: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{GROUP}/{self.version}"


NAMESPACED = Kind("AWSECRImagePullSecret", "v1alpha2", "awsecrimagepullsecrets", True)
CLUSTER = Kind("ClusterAWSECRImagePullSecret", "v1alpha2", "clusterawsecrimagepullsecrets", False)
LEGACY = Kind("AWSECRCredential", "v1alpha1", "awsecrcredentials", False)
BY_NAME = {k.kind: k for k in (NAMESPACED, CLUSTER, LEGACY)}

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "ecrcontrol"
OWNER_UID_LABEL = "ecrcontrol.io/owner-uid"
# On managed Secrets: which credentials their token came from, as a keyed hash (services.identity.sharing),
# so that another worker can take a fresh token from them instead of calling ECR again.
TOKEN_SOURCE_LABEL = "ecrcontrol.io/token-source"
# ... and when that token was issued (Unix seconds): a worker waiting for the token another has just
# fetched asks for exactly the Secrets that hold it.
TOKEN_ISSUED_LABEL = "ecrcontrol.io/token-issued"
EXPIRY_ANNOTATION = "expiry"
