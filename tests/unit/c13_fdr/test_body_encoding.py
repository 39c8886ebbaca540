"""Record bodies: orjson writes the common case, the stdlib path the rest; a reader
must not be able to tell which one wrote a value (docs/fdr-format.md)."""

from __future__ import annotations

import dataclasses
import enum
import json
import math
from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from gps_denied_onboard.components.c13_fdr.framing import dumps_body, json_text

# JSON-like values as producers hand them over, including what plain JSON cannot hold:
# non-finite floats, integers beyond 64 bits, non-ASCII text, non-string keys.
_scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
            | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12))
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=6) | st.integers(-5, 5), inner, max_size=4),
    max_leaves=16,
)


def _stdlib(obj: Any) -> Any:
    return json.loads(json_text(obj))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@given(_values)
def test_body_is_strict_ascii_json_and_reads_back_as_the_stdlib_path_writes_it(value: Any) -> None:
    body = dumps_body({"d": value})
    assert body.isascii(), "a byte >= 0x80 could fake the frame magic"
    parsed = json.loads(body, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))  # no NaN literals
    assert _same(parsed, _stdlib({"d": value}))


def test_non_ascii_text_is_escaped_not_utf8() -> None:
    body = dumps_body({"msg": "Kyiv → Київ"})
    assert body == b'{"msg":"Kyiv \\u2192 \\u041a\\u0438\\u0457\\u0432"}'


def test_non_finite_floats_and_huge_integers_are_kept_readable() -> None:
    assert json.loads(dumps_body({"a": math.nan, "b": -math.inf, "c": 2**80})) == {"a": None, "b": None, "c": 2**80}


def test_numpy_values_are_written_as_numbers_at_their_own_precision() -> None:
    body = json.loads(dumps_body({"f32": np.float32(0.1), "i64": np.int64(-7), "arr": np.array([[1.5, 2.0]]),
                                  "nan": np.float64("nan")}))
    assert np.float32(body["f32"]) == np.float32(0.1)
    assert body["i64"] == -7 and body["arr"] == [[1.5, 2.0]] and body["nan"] is None


@dataclasses.dataclass(frozen=True)
class _Pose:
    x: float


class _Mode(enum.StrEnum):
    TRACK = "track"


def test_types_outside_plain_json_are_written_as_before() -> None:
    # dataclasses and str subclasses keep the stdlib path's rendering (repr / the str
    # value), so records written before and after orjson read the same
    value = {"pose": _Pose(1.0), "mode": _Mode.TRACK, "obj": object()}
    body = json.loads(dumps_body(value))
    assert body["pose"] == "_Pose(x=1.0)" and body["mode"] == "track" and body["obj"].startswith("<object")
    assert body == _stdlib(value) | {"obj": body["obj"]}
