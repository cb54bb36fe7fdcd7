"""The converter: lenient about unknown keys and statuses, strict about types."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
import cattrs
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tavus_async import (
    Face,
    FaceStatus,
    FinetuneStatus,
    Replica,
    ResponseValidationError,
    TrainingCallback,
    Voice,
)
from tavus_async._converter import make_converter, structure, unstructure
from tavus_async._timestamps import parse_datetime


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, us, tzinfo=dt.timezone.utc)


WHERE: dict[str, Any] = {"method": "GET", "url": "https://x.test/v2/faces/r1", "status": 200}

DOC_EXAMPLE = {
    "face_id": "r90bbd427f71",
    "face_name": "My Face",
    "thumbnail_video_url": "<string>",
    "training_progress": "100/100",
    "status": "completed",
    "created_at": "2024-01-24T07:14:03.327Z",
    "updated_at": "2024-01-24T07:14:03.327Z",
    "error_message": "<string>",
    "face_type": "user'",
    "model_name": "phoenix-3",
}


def test_documented_get_face_example() -> None:
    face = structure(DOC_EXAMPLE, Face, **WHERE)
    assert face.face_id == "r90bbd427f71"
    assert face.status is FaceStatus.COMPLETED
    assert face.progress == 1.0
    assert face.created_at == dt.datetime(2024, 1, 24, 7, 14, 3, 327000, tzinfo=dt.timezone.utc)
    assert face.face_type == "user'"  # the docs' typo is kept, not "fixed"
    assert face.default_voice_id is None  # missing optional fields are None


def test_unknown_keys_and_statuses_are_tolerated() -> None:
    face = structure(
        {"face_id": "r1", "status": "rendering", "is_recommended": True, "tags": ["x"]},
        Face,
        **WHERE,
    )
    assert face.status == "rendering"
    assert not face.status.is_known
    assert not face.status.is_terminal
    assert FaceStatus("rendering").value == "rendering"
    tuning = structure(
        {"face_id": "r1", "status": "completed", "finetune_status": "queued"}, Face, **WHERE
    )
    assert tuning.finetune_status == "queued"
    assert tuning.finetune_status is not None
    assert not tuning.finetune_status.is_known


def test_known_statuses_classify() -> None:
    assert FaceStatus("ready").is_success
    assert FaceStatus("completed").is_success
    assert FaceStatus("error").is_failure
    assert not FaceStatus("training").is_terminal
    assert FinetuneStatus("errored").is_failure
    assert FinetuneStatus("completed").is_success


def test_statuses_are_read_in_any_case_and_failed_means_failure() -> None:
    assert FaceStatus("Completed") is FaceStatus.COMPLETED
    assert FaceStatus(" READY ") is FaceStatus.READY
    assert FinetuneStatus("Errored") is FinetuneStatus.ERRORED
    for word in ("failed", "FAILED", "errored"):
        assert FaceStatus(word).is_failure
        assert FaceStatus(word).is_terminal
        assert FaceStatus(word).value == word  # kept as sent
    for word in ("cancelled", "Canceled", "deleted", "aborted", "rejected", "expired"):
        assert FaceStatus(word).is_failure  # can never complete: the wait ends
        assert not FaceStatus(word).is_known
    for word in ("queued", "processing", "in_progress", "paused"):
        assert not FaceStatus(word).is_terminal  # unknown: still waiting


@pytest.mark.parametrize(
    ("sent", "read"),
    [
        ("completed", FaceStatus.COMPLETED),
        ("Completed", FaceStatus.COMPLETED),
        (" ready ", FaceStatus.READY),
        ("FAILED", "FAILED"),
        ("rendering", "rendering"),
    ],
)
def test_a_face_reads_a_status_as_the_enum_does(sent: str, read: str) -> None:
    status = structure({"face_id": "r1", "status": sent}, Face, **WHERE).status
    assert status == read
    assert status is FaceStatus(sent) or not status.is_known
    assert type(status) is FaceStatus


def test_replica_names_are_accepted_and_aliased() -> None:
    replica = structure(
        {"replica_id": "r2", "replica_name": "Old", "replica_type": "system", "status": "started"},
        Replica,
        **WHERE,
    )
    assert (replica.replica_id, replica.face_id) == ("r2", "r2")
    assert replica.replica_name == "Old"
    assert replica.replica_type == "system"
    # A face read from a path that answers with replica-era keys still structures.
    face = structure({"replica_id": "r3", "status": "started"}, Face, **WHERE)
    assert face.face_id == "r3"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("45/100", 0.45),
        ("0/100", 0.0),
        ("100/100", 1.0),
        ("45%", 0.45),
        ("45", 0.45),
        ("450/1000", 0.45),
        ("0.45", pytest.approx(0.0045)),  # a bare number is a percent
        ("7/0", None),
        ("half", None),
        # Decorated: one count in words is read; two, or one past its total, are not.
        ("45/100 (processing)", 0.45),
        ("Progress: 45%", 0.45),
        ("step 3 of 4", 0.75),
        ("stage 2/3: 45/100", None),
        ("2026/12/03", None),
        ("updated 2026/12", None),
        ("v2 of the model", None),
        ("", None),
        (None, None),
    ],
)
def test_progress_parsing_never_raises(text: str | None, expected: float | None) -> None:
    face = Face(face_id="r1", status=FaceStatus.STARTED, training_progress=text)
    assert face.progress == expected


@given(text=st.text() | st.from_regex(r"[a-z ]{0,8}\d{1,4}(\.\d)? ?(/|of|%) ?\d{0,4}[ a-z()]{0,8}"))
@example(text="1e400")
@example(text="nan/100")
@example(text="inf/inf")  # found: NaN, outside every range
@example(text="100/nan")
def test_any_progress_text_reads_as_a_fraction_or_nothing(text: str) -> None:
    progress = Face(face_id="r1", status=FaceStatus.STARTED, training_progress=text).progress
    assert progress is None or 0.0 <= progress <= 1.0


@pytest.mark.parametrize(
    "text",
    [
        "inf",
        "inf/inf",
        "100/nan",
        "1e400/100",
        "50/inf",
        "-inf%",
        f"step {'9' * 400} of {'9' * 400}",
    ],
)
def test_a_count_that_is_no_finite_number_is_no_progress(text: str) -> None:
    # Not "complete" (inf clamped to 1) nor "not started" (50/inf): garbage says nothing.
    assert Face(face_id="r1", status=FaceStatus.STARTED, training_progress=text).progress is None


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"face_id": 1, "status": "started"}, "$.face_id"),
        ({"face_id": "r1", "status": 3}, "$.status"),
        ({"face_id": "r1", "status": True}, "$.status"),
        ({"status": "started"}, "$.face_id"),
        ([{"face_id": "r1"}], "$"),
        (None, "$"),
        ("ok", "$"),
    ],
)
def test_garbage_becomes_response_validation_error(body: Any, path: str) -> None:
    with pytest.raises(ResponseValidationError) as info:
        structure(body, Face, **WHERE)
    err = info.value
    assert err.body == body
    assert err.status == 200
    assert any(problem.endswith(f"@ {path}") for problem in err.errors), err.errors
    assert path in str(err)


@pytest.mark.parametrize(
    ("field", "value", "kept"),
    [
        ("training_progress", 45, "45"),
        ("training_progress", 45.5, "45.5"),
        ("training_progress", True, "true"),
        ("error_message", {"code": 7, "message": "bad"}, '{"code":7,"message":"bad"}'),
        ("face_name", ["x"], '["x"]'),
        ("model_name", 4, "4"),
        ("created_at", "last tuesday", None),
        ("updated_at", [2024], None),
        ("finetune_status", 3, FinetuneStatus("3")),
    ],
)
def test_a_face_read_fails_only_on_its_id_and_status(field: str, value: Any, kept: Any) -> None:
    # A wait reads a face for hours, and every failed read is retried: an optional field of
    # an unexpected type must not stall it. Text fields keep the value as text; others drop it.
    for cls, id_key in ((Face, "face_id"), (Replica, "replica_id")):
        face = structure({id_key: "r1", "status": "completed", field: value}, cls, **WHERE)
        assert getattr(face, field) == kept
        assert face.status is FaceStatus.COMPLETED


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
_OPTIONAL = [f.name for f in attrs.fields(Face) if f.default is None]


@settings(max_examples=150, deadline=None)
@given(fields=st.dictionaries(st.sampled_from(_OPTIONAL), _json))
@example(fields={"created_at": 9.223372036854776e21})  # found: an epoch out of range
def test_any_json_in_optional_fields_never_fails_a_face_read(fields: dict[str, Any]) -> None:
    face = structure({"face_id": "r1", "status": "started", **fields}, Face, **WHERE)
    assert face.face_id == "r1"
    assert face.status is FaceStatus.STARTED
    assert face.progress is None or 0.0 <= face.progress <= 1.0
    for name in fields:
        value = getattr(face, name)
        assert value is None or isinstance(value, (str, dt.datetime))


def test_an_epoch_out_of_range_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="out of range"):
        parse_datetime(9.2e21)


def test_a_callback_with_an_odd_error_message_is_still_a_callback() -> None:
    body = {"replica_id": "r1", "status": "error", "error_message": ["codec"]}
    callback = structure(body, TrainingCallback, **WHERE)
    assert callback.error_message == '["codec"]'


def test_numeric_progress_reads_as_percent() -> None:
    face = structure({"face_id": "r1", "status": "started", "training_progress": 45}, Face, **WHERE)
    assert face.progress == 0.45


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-24T07:14:03.327Z", utc(2024, 1, 24, 7, 14, 3, 327000)),
        ("2024-01-24T07:14:03Z", utc(2024, 1, 24, 7, 14, 3)),
        ("2024-01-24T07:14:03", utc(2024, 1, 24, 7, 14, 3)),  # no zone: UTC
        (" 2024-01-24T07:14:03Z\n", utc(2024, 1, 24, 7, 14, 3)),
        ("2024-01-24T09:14:03+0200", utc(2024, 1, 24, 7, 14, 3)),
        ("2024-01-24 07:14:03", utc(2024, 1, 24, 7, 14, 3)),
        ("2024-01-24T07:14:03.123456789+00:00", utc(2024, 1, 24, 7, 14, 3, 123456)),
        ("2024-01-24T09:14:03+02:00", utc(2024, 1, 24, 7, 14, 3)),
        ("2024-01-24", utc(2024, 1, 24)),
        ("Wed, 24 Jan 2024 07:14:03 GMT", utc(2024, 1, 24, 7, 14, 3)),
        (1706080443, utc(2024, 1, 24, 7, 14, 3)),
        (1706080443000, utc(2024, 1, 24, 7, 14, 3)),
        ("1706080443", utc(2024, 1, 24, 7, 14, 3)),
        (" 1706080443000 ", utc(2024, 1, 24, 7, 14, 3)),
    ],
)
def test_dates_in_several_shapes_become_aware_utc(value: Any, expected: dt.datetime) -> None:
    parsed = parse_datetime(value)
    assert parsed.tzinfo is not None
    assert parsed == expected


def test_voice_tags_are_flattened() -> None:
    voice = structure(
        {"voice_name": "anna", "replica_id": "r1", "tags": [{"tag_name": "english"}, "warm"]},
        Voice,
        **WHERE,
    )
    assert voice.tags == ("english", "warm")
    assert voice.face_id == "r1"


def test_unstructure_is_plain_json() -> None:
    face = structure(DOC_EXAMPLE, Face, **WHERE)
    data = unstructure(face)
    assert data["status"] == "completed"
    assert type(data["status"]) is str
    assert data["created_at"] == "2024-01-24T07:14:03.327000Z"


def test_converters_are_private_instances() -> None:
    ours = make_converter()
    assert ours is not make_converter()
    with pytest.raises(TypeError):
        ours.structure(5, str)  # ours is strict about types...
    # ...and that policy never leaked into cattrs' global converter.
    assert cattrs.global_converter.structure(5, str) == "5"
