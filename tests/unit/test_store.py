"""The watch's store (secrets_app/kube/store.py): what reconciles read, and which watch events are
news to the process that wrote the version they carry."""

from __future__ import annotations

import datetime
import json

from secrets_app.aws.ecr import Token
from secrets_app.kube.store import Store
from secrets_app.kube.watching import LAST_APPLIED, SHARED_STRINGS, compact, lean
from secrets_app.services.secrets import dockerconfig


def _obj(version: str, name: str = "r") -> dict:
    return {"metadata": {"namespace": "ns", "name": name, "resourceVersion": version}, "spec": {}}


def test_the_event_of_a_version_this_process_wrote_is_no_news_but_is_kept():
    kept = Store()
    kept.replace([_obj("1")])
    kept.wrote(_obj("2"))
    assert kept.apply(_obj("2"), deleted=False) is False
    assert kept.get("ns", "r")["metadata"]["resourceVersion"] == "2"
    # The next change is someone else's: news again.
    assert kept.apply(_obj("3"), deleted=False) is True


def test_a_write_noted_after_its_event_arrived_does_not_hide_the_next_change():
    kept = Store()
    assert kept.apply(_obj("2"), deleted=False) is True  # the event came before the write returned
    kept.wrote(_obj("2"))
    assert kept.apply(_obj("3"), deleted=False) is True
    assert kept.apply(_obj("4"), deleted=False) is True


def test_notes_are_per_object_and_a_deletion_is_always_news():
    kept = Store()
    kept.wrote(_obj("2", name="a"))
    assert kept.apply(_obj("2", name="b"), deleted=False) is True
    kept.wrote(_obj("5", name="a"))
    assert kept.apply(_obj("5", name="a"), deleted=True) is True
    assert kept.get("ns", "a") is None


def test_get_returns_a_copy():
    kept = Store()
    kept.replace([_obj("1")])
    kept.get("ns", "r")["spec"]["changed"] = True
    assert kept.get("ns", "r")["spec"] == {}


def test_watches_hand_on_no_managed_fields_nor_last_applied_configuration():
    obj = _obj("1")
    obj["metadata"]["managedFields"] = [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}]
    obj["metadata"]["annotations"] = {LAST_APPLIED: '{"spec": {}}', "team": "a"}
    meta = lean(obj)["metadata"]
    assert "managedFields" not in meta
    assert meta["annotations"] == {"team": "a"}
    assert "managedFields" in obj["metadata"]  # a copy: the original is not changed


def test_compact_objects_share_equal_strings_and_stay_equal():
    texts = [json.dumps(_obj(str(n), name=f"r{n}")) for n in range(3)]  # each parse: new strings
    strings: dict[str, str] = {}
    first, second, third = (compact(json.loads(text), strings) for text in texts)
    assert [first, second, third] == [json.loads(text) for text in texts]
    assert first["metadata"]["namespace"] is second["metadata"]["namespace"]
    assert next(iter(first["metadata"])) is next(iter(third["metadata"]))  # keys too
    assert first["metadata"]["name"] == "r0" and third["metadata"]["name"] == "r2"


def test_compact_remembers_a_bounded_number_of_values():
    strings: dict[str, str] = {}
    for n in range(SHARED_STRINGS * 3):
        compact({"uid": f"u-{n}"}, strings)
    assert len(strings) <= SHARED_STRINGS  # unique values (uids, resourceVersions) are not pinned


def test_the_managed_secrets_watch_keeps_a_hash_of_the_data_that_tells_a_hand_edit():
    owner = {
        "apiVersion": "aws.zakariaamine.com/v1alpha2",
        "kind": "AWSECRImagePullSecret",
        "metadata": {"name": "r", "namespace": "ns", "uid": "u-1"},
        "spec": {"secretName": "pull"},
    }
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    token = Token("123.dkr.ecr.eu-west-1.amazonaws.com", "AWS", "pw-canary", now, now)
    written = dockerconfig.desired_secret(owner, "ns", token, now, "id", "src", lambda *a: "seal")
    written["metadata"].update(resourceVersion="1", managedFields=[{"manager": "ecrcontrol"}])
    kept = dockerconfig.slim(written)
    assert "data" not in kept and "managedFields" not in kept["metadata"]
    assert "pw-canary" not in str(kept)
    assert dockerconfig.is_intact(kept)
    assert dockerconfig.slim(kept) == kept  # slimming twice changes nothing
    edited = {**written, "data": {dockerconfig.DATA_KEY: "e30="}}  # {} by hand
    assert not dockerconfig.is_intact(dockerconfig.slim(edited))
