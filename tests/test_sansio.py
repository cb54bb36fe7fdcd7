"""The pure protocol functions: status → exception, messages, Retry-After, body decoding."""

from __future__ import annotations

import datetime as dt

import pytest

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
    Redirect,
    decode_body,
    error_from_response,
    message_from_body,
    parse_retry_after,
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
