"""AdmissionReview (admission.k8s.io/v1) requests in, responses out. No decisions here."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..kube.kinds import CLUSTER, GROUP, NAMESPACED, Kind

API_VERSION = "admission.k8s.io/v1"
OPERATIONS = {"CREATE", "UPDATE", "DELETE", "CONNECT"}
KINDS = {(GROUP, kind.version, kind.kind): kind for kind in (NAMESPACED, CLUSTER)}


class BadReview(ValueError):
    """The body is not an AdmissionReview this server can answer; the message says why."""


@dataclass(frozen=True)
class Review:
    uid: str
    operation: str
    group: str
    version: str
    kind_name: str
    name: str = ""
    namespace: str = ""
    object: dict = field(default_factory=dict)
    old_object: dict = field(default_factory=dict)
    dry_run: bool = False

    @property
    def kind(self) -> Kind | None:
        """One of our kinds, or None for anything the webhook was not meant to receive."""
        return KINDS.get((self.group, self.version, self.kind_name))

    @property
    def describe(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind_name} {where or '(unnamed)'}"


def parse(body: object) -> Review:
    if not isinstance(body, dict):
        raise BadReview("expected a JSON object: an admission.k8s.io/v1 AdmissionReview")
    if body.get("apiVersion") != API_VERSION or body.get("kind") != "AdmissionReview":
        raise BadReview(
            f"expected apiVersion {API_VERSION} and kind AdmissionReview, got "
            f"{body.get('apiVersion')!r} and {body.get('kind')!r}: set admissionReviewVersions to [v1] "
            "in the webhook configuration"
        )
    request = body.get("request")
    if not isinstance(request, dict):
        raise BadReview("request is missing: an AdmissionReview from the API server carries one")
    uid, operation, kind = request.get("uid"), request.get("operation"), request.get("kind")
    if not isinstance(uid, str) or not uid:
        raise BadReview("request.uid is missing")
    if operation not in OPERATIONS:
        raise BadReview(f"request.operation {operation!r} is not one of {', '.join(sorted(OPERATIONS))}")
    if not isinstance(kind, dict) or not isinstance(kind.get("kind"), str):
        raise BadReview("request.kind is missing: expected {group, version, kind}")
    obj, old = request.get("object"), request.get("oldObject")
    if operation in ("CREATE", "UPDATE") and not isinstance(obj, dict):
        raise BadReview(f"request.object is missing for {operation}")
    if operation == "UPDATE" and not isinstance(old, dict):
        raise BadReview("request.oldObject is missing for UPDATE")
    return Review(
        uid=uid,
        operation=operation,
        group=str(kind.get("group", "")),
        version=str(kind.get("version", "")),
        kind_name=kind["kind"],
        name=str(request.get("name") or (obj or {}).get("metadata", {}).get("name") or ""),
        namespace=str(request.get("namespace") or ""),
        object=obj if isinstance(obj, dict) else {},
        old_object=old if isinstance(old, dict) else {},
        dry_run=request.get("dryRun") is True,
    )


def allowed(review: Review, warnings: Sequence[str] = (), patch: Sequence[dict] = ()) -> dict:
    response = {"uid": review.uid, "allowed": True}
    if warnings:
        response["warnings"] = list(warnings)
    if patch:
        response["patchType"] = "JSONPatch"
        response["patch"] = base64.b64encode(json.dumps(list(patch)).encode()).decode()
    return response


def denied(review: Review, messages: Sequence[str], code: int = 403, warnings: Sequence[str] = ()) -> dict:
    response = {"uid": review.uid, "allowed": False, "status": {"code": code, "message": "; ".join(messages)}}
    if warnings:
        response["warnings"] = list(warnings)
    return response


def envelope(response: dict) -> dict:
    """The AdmissionReview the API server expects back around a response."""
    return {"apiVersion": API_VERSION, "kind": "AdmissionReview", "response": response}


def not_ours(review: Review) -> dict:
    """A kind the webhook configuration should not have sent: allowed, with advice to the caller."""
    return allowed(
        review,
        warnings=[
            f"ecrcontrol does not handle {review.group}/{review.version} {review.kind_name}: "
            "check the rules of its webhook configuration"
        ],
    )
