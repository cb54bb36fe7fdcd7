"""The emulator's records and how they render on the wire, under either naming."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import attrs

from ._scenarios import FaceState, Points, Scenario

__all__ = [
    "STOCK_FACES",
    "STOCK_VOICES",
    "ConversationRecord",
    "FaceRecord",
    "Names",
    "iso",
]

FACE_NAMES = {"id": "face_id", "name": "face_name", "type": "face_type", "ids": "face_ids"}
REPLICA_NAMES = {
    "id": "replica_id",
    "name": "replica_name",
    "type": "replica_type",
    "ids": "replica_ids",
}
Names = dict[str, str]

#: Seconds of slack when comparing elapsed time with a stage end (float rounding).
TIME_SLACK = 1e-6

# Stock voices (GET /v2/voices): slug, the stock face that speaks it, tags.
STOCK_VOICES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("anna", "r4067604db72", ("english", "female", "warm")),
    ("benjamin", "r1af76e94d00", ("english", "male", "calm")),
    ("carla", "r2b6e1c3a9f4", ("spanish", "female")),
    ("dmitri", "r3c7d2e4b0a5", ("russian", "male")),
    ("elena", "r4d8e3f5c1b6", ("english", "female", "professional")),
    ("farid", "r5e9f4a6d2c7", ("arabic", "male")),
    ("grace", "r6fa05b7e3d8", ("english", "female", "friendly")),
    ("hiro", "r70b16c8f4e9", ("japanese", "male")),
    ("ines", "r81c27d9a5fa", ("portuguese", "female")),
    ("jonas", "r92d38eab60b", ("german", "male")),
    ("keiko", "ra3e49fbc71c", ("japanese", "female")),
    ("liam", "rb4f5a0cd82d", ("english", "male", "energetic")),
    ("maya", "rc506b1de93e", ("hindi", "female")),
    ("noah", "rd617c2efa4f", ("english", "male", "narration")),
)

# Stock (system) faces, completed long ago.
STOCK_FACES: tuple[tuple[str, str, str], ...] = (
    ("r4067604db72", "Anna", "phoenix-4.5"),
    ("r1af76e94d00", "Benjamin", "phoenix-4"),
    ("r2b6e1c3a9f4", "Carla", "phoenix-4"),
    ("r3c7d2e4b0a5", "Dmitri", "phoenix-3"),
)


def iso(when: dt.datetime) -> str:
    """``2024-01-24T07:14:03.327Z``: the API's timestamp shape."""
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{when.microsecond // 1000:03d}Z"
    )


@attrs.define(kw_only=True)
class FaceRecord:
    """One face the emulator knows (user-trained or stock)."""

    face_id: str
    name: str | None
    created: float
    """Emulated time of creation."""
    scenario: Scenario
    points: Points
    model_name: str = "phoenix-4"
    face_type: str = "user"
    callback_url: str | None = None
    train_url: str | None = None
    default_voice_id: str | None = None
    original_voice_id: str | None = None
    deleted: bool = False
    hard_deleted: bool = False
    updated: float | None = None
    request: dict[str, Any] = attrs.field(factory=dict)
    """The create body as received (for tests)."""
    seq: int = 0
    """Creation order (ties in emulated time are common under virtual time)."""

    def state(self, now: float) -> FaceState:
        """Training state at emulated time ``now``."""
        if self.face_type == "system":
            return FaceState(status="completed", progress=100)
        # A microsecond of slack: (created + d) - created can round a hair below d, and a
        # face must be done at the very time its stage ends, for requests and callbacks alike.
        elapsed = max(0.0, now - self.created + TIME_SLACK)
        return self.scenario.state_at(elapsed, self.points)

    def render(
        self,
        names: Names,
        *,
        now: float,
        epoch: dt.datetime,
        verbose: bool,
        listing: bool = False,
    ) -> dict[str, Any]:
        """The Get (or List item) JSON under ``names`` (face or replica naming)."""
        state = self.state(now)
        created = epoch + dt.timedelta(seconds=self.created + self.scenario.created_at_skew)
        changed = self.updated if self.updated is not None else self.created
        if state.done_at is None and self.face_type == "user":
            # Finished: updated when it finished (or renamed after that).
            finished = self.created + _finish_offset(self.scenario)
            changed = max(changed, min(finished, now))
        body: dict[str, Any] = {
            names["id"]: self.face_id,
            names["name"]: self.name if self.name is not None else "",
            "training_progress": f"{state.progress}/100",
            "status": state.status,
            "created_at": iso(created),
            "updated_at": iso(epoch + dt.timedelta(seconds=min(changed, now))),
            "error_message": state.error_message,
            "model_name": self.model_name,
        }
        if state.status == "completed":
            body["thumbnail_video_url"] = (
                f"https://emulator.tavus.invalid/thumbnails/{self.face_id}.mp4"
            )
        if verbose or listing:
            body[names["type"]] = self.face_type
        if not listing or names["id"] == "face_id":
            body["default_voice_id"] = self.default_voice_id
            body["original_voice_id"] = self.original_voice_id
        if names["id"] == "face_id" or self.model_name.startswith("phoenix-4.5"):
            body["finetune_status"] = state.finetune_status
        return body


def _finish_offset(scenario: Scenario) -> float:
    if scenario.preview_after is not None:
        return scenario.preview_after + scenario.duration
    if scenario.fail is not None:
        return scenario.fail_at * scenario.duration
    return scenario.duration


@attrs.define(kw_only=True)
class ConversationRecord:
    """One conversation."""

    conversation_id: str
    replica_id: str
    persona_id: str | None
    name: str | None
    callback_url: str | None
    created: float
    status: str = "active"
    updated: float | None = None
    deleted: bool = False
    test_mode: bool = False
    request: dict[str, Any] = attrs.field(factory=dict)

    def render(self, *, epoch: dt.datetime, verbose: bool, listing: bool) -> dict[str, Any]:
        """The conversation JSON (fields typed string are omitted rather than null)."""
        body: dict[str, Any] = {
            "conversation_id": self.conversation_id,
            "conversation_name": self.name or f"Conversation {self.conversation_id}",
            "conversation_url": f"https://tavus.daily.co/{self.conversation_id}",
            "status": self.status,
            "replica_id": self.replica_id,
            "created_at": iso(epoch + dt.timedelta(seconds=self.created)),
            "updated_at": iso(
                epoch + dt.timedelta(seconds=self.updated if self.updated else self.created)
            ),
        }
        if self.persona_id:
            body["persona_id"] = self.persona_id
        if self.callback_url:
            body["callback_url"] = self.callback_url
        if verbose and not listing:
            body["events"] = [
                {
                    "event_type": "system.replica_joined",
                    "timestamp": body["created_at"],
                    "properties": {},
                }
            ]
            if self.status == "ended":
                body["events"].append(
                    {
                        "event_type": "system.shutdown",
                        "timestamp": body["updated_at"],
                        "properties": {"shutdown_reason": "end_conversation_endpoint_hit"},
                    }
                )
        return body


def new_id(rng: random.Random, prefix: str, length: int = 11) -> str:
    """An id like Tavus's: a prefix and hex digits (``r90bbd427f71``)."""
    return prefix + "".join(rng.choice("0123456789abcdef") for _ in range(length))
