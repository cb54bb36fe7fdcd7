"""The pure protocol functions: status → exception, messages, Retry-After, body decoding."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tavus_async import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InvalidIdError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TavusError,
    UnprocessableEntityError,
)
from tavus_async._outcome import CREATE_LAG, is_transient
from tavus_async._sansio import (
    BODY_SNIPPET_LIMIT,
    REDACTED,
    Redirect,
    decode_body,
    echo_forms,
    error_from_response,
    message_from_body,
    parse_retry_after,
    redact,
    redirect,
    request_id_from,
    retry_after_from,
)

NOW = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize(
    ("status", "body", "cls", "message"),
    [
        (400, {"error": "Either train_video_url or train_image_url must be provided."},
         BadRequestError, "Either train_video_url or train_image_url must be provided."),
        (400, {"error": "Invalid face_id"}, InvalidIdError, "Invalid face_id"),
        (400, {"error": "Invalid replica_id"}, InvalidIdError, "Invalid replica_id"),
        (400, {"message": "User has reached maximum concurrent conversations"},
         BadRequestError, "User has reached maximum concurrent conversations"),
        (401, {"message": "Invalid access token"}, AuthenticationError, "Invalid access token"),
        (403, {"message": "IP not allowed"}, PermissionDeniedError, "IP not allowed"),
        (404, {"message": "Document not found"}, NotFoundError, "Document not found"),
        (409, {"error": "Document must be in 'ready' state"}, ConflictError,
         "Document must be in 'ready' state"),
        (422, {"message": "Invalid JSON patch format"}, UnprocessableEntityError,
         "Invalid JSON patch format"),
        (429, {"error": "Too many requests"}, RateLimitError, "Too many requests"),
        (500, {"error": "boom"}, ServerError, "boom"),
        (502, "<html><title>502 Bad Gateway</title></html>", ServerError,
         "HTML page: 502 Bad Gateway"),
        (503, None, ServerError, "Service Unavailable"),
        (418, {"detail": "teapot"}, APIStatusError, "teapot"),
    ],
)  # fmt: skip
def test_each_status_maps_to_its_error_class(
    status: int, body: object, cls: type[APIStatusError], message: str
) -> None:
    err = error_from_response(
        status, {}, body, method="GET", url="https://x.test/v2/faces/r1", reason=_reason(status)
    )
    assert type(err) is cls
    assert isinstance(err, TavusError)
    assert err.status == status
    assert err.message == message
    assert err.body == body
    assert message in str(err)
    assert "GET https://x.test/v2/faces/r1" in str(err)


def _reason(status: int) -> str:
    return {503: "Service Unavailable"}.get(status, "")


def test_invalid_id_names_the_field() -> None:
    err = error_from_response(400, {}, {"error": "Invalid face_id"}, method="GET", url="u")
    assert isinstance(err, InvalidIdError)
    assert err.id_field == "face_id"
    err = error_from_response(400, {}, {"error": "Invalid conversation_id"}, method="GET", url="u")
    assert isinstance(err, InvalidIdError)
    assert err.id_field == "conversation_id"


def test_request_id_and_retry_after_are_carried() -> None:
    err = error_from_response(
        429,
        {"X-Request-Id": "req-123", "Retry-After": "7"},
        {"error": "slow down"},
        method="GET",
        url="u",
    )
    assert isinstance(err, RateLimitError)
    assert err.request_id == "req-123"
    assert err.retry_after == 7.0
    assert "req-123" in str(err)
    assert request_id_from({"x-amzn-requestid": "amz-1"}) == "amz-1"
    assert request_id_from({}) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5", 5.0),
        ("0.5", 0.5),
        ("-3", 0.0),
        ("Thu, 01 Jan 2026 12:00:30 GMT", 30.0),
        ("Thu, 01 Jan 2026 11:00:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
        ("nan", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


def test_an_http_date_retry_after_is_read_against_the_server_date() -> None:
    # The server's clock is three hours behind ours (or in another time zone, naively):
    # "retry at 09:00:45" with "Date: 09:00:00" means 45 s, whatever our clock says.
    headers = {
        "Retry-After": "Thu, 01 Jan 2026 09:00:45 GMT",
        "Date": "Thu, 01 Jan 2026 09:00:00 GMT",
    }
    assert retry_after_from(headers) == 45.0
    err = error_from_response(429, headers, None, method="GET", url="u")
    assert err.retry_after == 45.0
    # Without a Date, our clock is all there is: that date is long past.
    assert retry_after_from({"retry-after": "Thu, 01 Jan 2026 09:00:45 GMT"}) == 0.0
    assert retry_after_from({"Retry-After": "12", "Date": "garbage"}) == 12.0


def test_decode_body_never_raises() -> None:
    assert decode_body(b'{"a": 1}') == (True, {"a": 1})
    assert decode_body(b"   ") == (True, None)
    ok, text = decode_body(b"<html>" + b"x" * 5000)
    assert not ok
    assert text.startswith("<html>")
    assert "more chars" in text
    ok, text = decode_body(b'{"face_id": "r1", "sta')
    assert not ok
    assert text == '{"face_id": "r1", "sta'
    assert decode_body(b"\xff\xfe") == (False, "\ufffd\ufffd")
    # A byte-order mark before the JSON is skipped; one inside a string is kept.
    assert decode_body(b'\xef\xbb\xbf{"a": "\xef\xbb\xbf"}') == (True, {"a": "\ufeff"})
    assert decode_body(b"\xef\xbb\xbf \n") == (True, None)


def test_message_from_body_prefers_error_then_message() -> None:
    assert message_from_body({"error": "e", "message": "m"}) == "e"
    assert message_from_body({"message": "m"}) == "m"
    assert message_from_body({"error": {"message": "nested"}}) == "nested"
    assert message_from_body({"other": 1}) == '{"other": 1}'
    assert message_from_body([1, 2]) == "[1, 2]"
    assert message_from_body(None, "Bad Gateway") == "Bad Gateway"
    assert message_from_body("<html><body><p>down</p></body></html>") == "HTML page: down"


URL = "https://api.test/v2/faces/r1?verbose=true"


@pytest.mark.parametrize(
    ("status", "method", "location", "expected"),
    [
        (307, "GET", "/v2/faces/r2", Redirect("GET", "https://api.test/v2/faces/r2", True)),
        (308, "POST", "https://API.test:443/v2/faces",
         Redirect("POST", "https://API.test:443/v2/faces", True)),
        (303, "POST", "r9", Redirect("GET", "https://api.test/v2/faces/r9", False)),
        (302, "POST", "/v2/faces/r9", Redirect("GET", "https://api.test/v2/faces/r9", False)),
        (301, "GET", "/v2/replicas/r1", Redirect("GET", "https://api.test/v2/replicas/r1", True)),
        (200, "GET", "/elsewhere", None),
        (304, "GET", "/v2/faces/r1", None),
        (302, "GET", "", None),
    ],
)  # fmt: skip
def test_redirects_within_the_origin_are_followed(
    status: int, method: str, location: str, expected: Redirect | None
) -> None:
    headers = {"location": location} if location else {}
    assert redirect(status, headers, None, method=method, url=URL, hops=0) == expected


@pytest.mark.parametrize(
    "location",
    [
        "http://api.test/v2/faces/r1",  # the scheme is part of the origin
        "https://api.test:8443/v2/faces/r1",
        "https://evil.test/v2/faces/r1",
        "//evil.test/v2/faces/r1",
        "https://api.test.evil.test/",
        "https://api.test:x/",
    ],
)
def test_redirects_to_another_origin_are_errors(location: str) -> None:
    body = {"error": "moved"}
    error = redirect(302, {"Location": location}, body, method="GET", url=URL, hops=0)
    assert isinstance(error, APIStatusError)
    assert (error.status, error.body, error.url) == (302, body, URL)
    assert "another origin" in error.message
    assert "/v2/faces" not in error.message.split("(")[1]  # the origin only, not the path


def test_a_redirect_loop_is_an_error() -> None:
    hop = redirect(307, {"Location": "/v2/faces/r1"}, None, method="GET", url=URL, hops=4)
    assert isinstance(hop, Redirect)
    error = redirect(307, {"Location": "/v2/faces/r1"}, None, method="GET", url=URL, hops=5)
    assert isinstance(error, APIStatusError)
    assert "more than 5 redirects" in error.message


def _answer(status: int, body: object = None) -> APIStatusError:
    return error_from_response(status, {}, body, method="GET", url="https://t.test/v2/faces/r1")


#: (answer, unseen_for, seen, again) -> whether a wait retries it.
TRANSIENCE = [
    (_answer(503), None, True, False, True),
    (_answer(429), None, False, False, True),
    (_answer(401), None, False, False, False),
    (_answer(401), None, True, False, True),
    (_answer(401), None, True, True, False),
    (_answer(403), 10.0, False, False, False),
    (_answer(400, {"error": "Invalid face_id"}), 10.0, False, False, True),
    (_answer(400, {"error": "Invalid face_id"}), CREATE_LAG + 1, False, False, False),
    (_answer(400, {"error": "Invalid face_id"}), None, False, False, False),
    (_answer(400, {"error": "Invalid face_id"}), None, True, False, True),
    (_answer(400, {"error": "Invalid face_id"}), None, True, True, False),
    (_answer(404), None, True, False, True),
    (_answer(404), None, True, True, False),
    (_answer(400, {"error": "face_name is required"}), None, True, True, False),
    (_answer(408), None, False, False, True),
]


@pytest.mark.parametrize(("exc", "unseen_for", "seen", "again", "transient"), TRANSIENCE)
def test_which_failed_reads_a_wait_retries(
    exc: APIStatusError, unseen_for: float | None, seen: bool, again: bool, transient: bool
) -> None:
    # A refusal is believed at once, save an unknown id just after the create (a store's
    # lag), and any refusal about a face read before until a second read is refused too.
    assert is_transient(exc, unseen_for=unseen_for, seen=seen, again=again) is transient


_HEADER_NAMES = st.sampled_from(
    ["Date", "Retry-After", "retry-after", "Location", "X-Request-Id", "request-id", "X-Other"]
)
_HEADER_VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "0", "-5", "1e400", "nan", "inf", "Thu, 01 Jan 2026 12:00:45 GMT"]),
    st.integers(-(10**12), 10**12).map(str),
)
_BODIES = st.one_of(
    st.binary(max_size=200),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(
                st.sampled_from(["error", "message", "detail", "errors", "x"]), inner, max_size=4
            )
        ),
        max_leaves=12,
    ).map(lambda value: json.dumps(value).encode()),
)


@settings(max_examples=300, deadline=None)
@given(
    status=st.integers(300, 599),
    raw=_BODIES,
    headers=st.dictionaries(_HEADER_NAMES, _HEADER_VALUES, max_size=4),
    method=st.sampled_from(["GET", "POST", "PATCH", "DELETE", "HEAD"]),
    hops=st.integers(0, 8),
)
def test_any_answer_is_a_typed_error_or_a_redirect_never_a_crash(
    status: int, raw: bytes, headers: dict[str, str], method: str, hops: int
) -> None:
    # What the adapter does with every non-2xx answer, on garbage of every kind: a typed
    # error that carries the status and a bounded view of the body, or a same-origin hop.
    url = "https://t.test/v2/faces/r1"
    _, body = decode_body(raw)
    hop = redirect(status, headers, body, method=method, url=url, hops=hops)
    if isinstance(hop, Redirect):
        assert hop.url.startswith("https://t.test")
        assert hop.method in (method, "GET")
        return
    err = (
        hop
        if hop is not None
        else error_from_response(status, headers, body, method=method, url=url)
    )
    assert isinstance(err, APIStatusError)
    assert err.status == status
    assert err.retry_after is None or 0.0 <= err.retry_after < float("inf")
    assert len(err.message) <= BODY_SNIPPET_LIMIT + 30  # a snippet, whatever the body
    assert status < 500 or isinstance(err, ServerError)


_KEYS = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", min_size=6)


@settings(max_examples=300, deadline=None)
@given(key=_KEYS, pieces=st.lists(st.binary(max_size=20), max_size=6), quoted=st.booleans())
def test_no_echo_of_a_key_survives_redaction(key: str, pieces: list[bytes], quoted: bool) -> None:
    # Whatever surrounds it, and however often: the key is gone, the rest kept in order.
    echo = json.dumps(key).encode() if quoted else key.encode()
    raw = echo.join(pieces) if len(pieces) > 1 else echo + b"".join(pieces)
    cleaned = redact(raw, echo_forms(key))
    if key not in "[redacted]":  # a key spelt inside the marker is beyond help, and absurd
        assert key.encode() not in cleaned
    assert cleaned.count(REDACTED) >= 1
