"""spec.registries: more ECR registries (account and region) in the same docker Secret.

ECR's token of one region opens every registry of that region the identity may read, whatever
its account: one GetAuthorizationToken per distinct region, and one `auths` entry per registry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..identity.access import REGION_PATTERN

MAX_REGISTRIES = 20
ACCOUNT_PATTERN = re.compile(r"[0-9]{12}", re.ASCII)

MSG_NOT_LIST = "spec.registries must be a list of {{accountId, region}} objects."
MSG_TOO_MANY = "spec.registries has {n} entries: at most 20 are allowed."
MSG_NOT_OBJECT = "spec.registries[{i}] must be an object with accountId and region."
MSG_BAD_ACCOUNT = (
    "spec.registries[{i}].accountId {value!r} is not an AWS account ID: use its 12 digits, "
    "such as 123456789012."
)
MSG_BAD_REGION = "spec.registries[{i}].region {value!r} is not an AWS region name: use one such as eu-west-1."
MSG_REPEATED = "spec.registries[{i}] repeats account {account} in region {region}: list each registry once."


@dataclass(frozen=True)
class Registry:
    account_id: str
    region: str

    @property
    def host(self) -> str:
        return f"{self.account_id}.dkr.ecr.{self.region}.amazonaws.com"


def _listed(spec: dict) -> list:
    value = spec.get("registries")
    return [] if value is None else value


def problems(spec: dict) -> list[str]:
    listed = _listed(spec)
    if not isinstance(listed, list):
        return [MSG_NOT_LIST]
    found = [MSG_TOO_MANY.format(n=len(listed))] if len(listed) > MAX_REGISTRIES else []
    seen = set()
    for i, entry in enumerate(listed):
        if not isinstance(entry, dict):
            found.append(MSG_NOT_OBJECT.format(i=i))
            continue
        account, region = entry.get("accountId"), entry.get("region")
        if not (isinstance(account, str) and ACCOUNT_PATTERN.fullmatch(account)):
            found.append(MSG_BAD_ACCOUNT.format(i=i, value=account))
        if not (isinstance(region, str) and REGION_PATTERN.fullmatch(region)):
            found.append(MSG_BAD_REGION.format(i=i, value=region))
        if (account, region) in seen:
            found.append(MSG_REPEATED.format(i=i, account=account, region=region))
        seen.add((account, region))
    return found


def parse(spec: dict) -> list[Registry]:
    """The registries of a spec without `problems`, in order."""
    return [Registry(entry["accountId"], entry["region"]) for entry in _listed(spec)]
