"""The tile-hash aggregate: order-independent, and sensitive to every tile and its position."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from gps_denied_onboard._types import TileXYZ
from gps_denied_onboard.components.c4_map_cache import merkle_root, merkle_root_zxy

tiles = st.sets(st.tuples(st.integers(0, 63), st.integers(0, 63)), min_size=1, max_size=40).map(
    lambda s: {TileXYZ(6, x, y): hashlib.sha256(f"{x},{y}".encode()).digest() for x, y in s})


@settings(max_examples=60, deadline=None)
@given(tiles, st.randoms(use_true_random=False))
def test_root_does_not_depend_on_row_order(leaves: dict[TileXYZ, bytes], rnd) -> None:  # type: ignore[no-untyped-def]
    items = list(leaves.items())
    root = merkle_root(items)
    rnd.shuffle(items)
    assert merkle_root(items) == root == merkle_root_zxy((t.z, t.x, t.y, d) for t, d in items)


@settings(max_examples=60, deadline=None)
@given(tiles, st.data())
def test_changing_moving_adding_or_dropping_any_tile_changes_the_root(leaves: dict[TileXYZ, bytes], data) -> None:  # type: ignore[no-untyped-def]
    root = merkle_root(leaves.items())
    victim = data.draw(st.sampled_from(sorted(leaves)))
    changed = dict(leaves)
    changed[victim] = hashlib.sha256(b"other content").digest()
    assert merkle_root(changed.items()) != root
    moved = dict(leaves)
    digest = moved.pop(victim)
    moved[TileXYZ(6, victim.x, (victim.y + 1) % 64) if TileXYZ(6, victim.x, (victim.y + 1) % 64) not in leaves else TileXYZ(7, 0, 0)] = digest
    assert merkle_root(moved.items()) != root
    dropped = dict(leaves)
    del dropped[victim]
    assert merkle_root(dropped.items()) != root
    added = dict(leaves)
    added[TileXYZ(7, 1, 1)] = digest
    assert merkle_root(added.items()) != root


def test_empty_root_is_the_hash_of_nothing() -> None:
    assert merkle_root([]) == hashlib.sha256(b"").hexdigest()
