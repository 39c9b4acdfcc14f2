"""The watch's store (secrets_app/kube/store.py): what reconciles read, and which watch events are
news to the process that wrote the version they carry."""

from __future__ import annotations

from secrets_app.kube.store import Store


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
