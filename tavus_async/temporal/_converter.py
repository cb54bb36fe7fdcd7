"""Temporal payloads for the SDK's attrs models, through the package's one cattrs converter.

Temporal's JSON payload converter takes an encoder (Python objects to JSON) and type
converters (JSON back to a type hint); both hook into :mod:`tavus_async._converter` for attrs
classes, so a :class:`~tavus_async.Face` travels as the same JSON the API speaks, and the
workflow's request and results need no models of their own. Everything else is Temporal's
default.
"""

from __future__ import annotations

from typing import Any

import attrs
from temporalio.converter import (
    AdvancedJSONEncoder,
    BinaryNullPayloadConverter,
    BinaryPlainPayloadConverter,
    BinaryProtoPayloadConverter,
    CompositePayloadConverter,
    DataConverter,
    JSONPlainPayloadConverter,
    JSONProtoPayloadConverter,
    JSONTypeConverter,
)

from tavus_async._converter import structure, unstructure

__all__ = ["DATA_CONVERTER", "PayloadConverter"]


class _Encoder(AdvancedJSONEncoder):
    def default(self, o: Any) -> Any:
        if attrs.has(type(o)):
            return unstructure(o)
        return super().default(o)


class _AttrsTypes(JSONTypeConverter):
    def to_typed_value(self, hint: type, value: Any) -> Any:
        if attrs.has(hint):
            return structure(value, hint, method="-", url="temporal payload", status=0)
        return JSONTypeConverter.Unhandled


class PayloadConverter(CompositePayloadConverter):
    """Temporal's default payload converters, with attrs models through the SDK's converter."""

    def __init__(self) -> None:
        super().__init__(
            BinaryNullPayloadConverter(),
            BinaryPlainPayloadConverter(),
            JSONProtoPayloadConverter(),
            BinaryProtoPayloadConverter(),
            JSONPlainPayloadConverter(encoder=_Encoder, custom_type_converters=[_AttrsTypes()]),
        )


DATA_CONVERTER = DataConverter(payload_converter_class=PayloadConverter)
"""The data converter of Temporal clients that run or start ``TrainFace`` workflows
(:func:`~tavus_async.temporal.connect` uses it): the SDK's models travel as the API's JSON."""
