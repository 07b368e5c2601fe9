"""Variant assignment: round robin as the design fixes it, cartesian with its cap, seeded random."""

from __future__ import annotations

import pytest

from media.assignment import AssignmentError, assign, cartesian_count

V, A, H = ["v0", "v1", "v2"], ["a0", "a1"], ["h0", "h1", "h2", "h3"]


def test_round_robin_follows_j_mod_a_and_j_mod_h():
    combos = assign(V, A, H, variants_per_video=2)
    assert [c.index for c in combos] == list(range(6))
    assert [c.video_id for c in combos] == ["v0", "v0", "v1", "v1", "v2", "v2"]
    for c in combos:
        assert c.audio_id == A[c.index % len(A)]
        assert c.hook_id == H[c.index % len(H)]


def test_round_robin_without_audio_or_hooks_gives_none():
    combos = assign(["v0"], [], [], variants_per_video=3)
    assert [(c.audio_id, c.hook_id) for c in combos] == [(None, None)] * 3


def test_cartesian_makes_every_combination_once():
    combos = assign(V, A, H, mode="cartesian")
    assert len(combos) == cartesian_count(V, A, H) == 24
    assert len({(c.video_id, c.audio_id, c.hook_id) for c in combos}) == 24
    assert [c.index for c in combos] == list(range(24))


def test_cartesian_over_the_cap_is_refused_with_the_count():
    with pytest.raises(AssignmentError, match="24 variants, over the cap of 10"):
        assign(V, A, H, mode="cartesian", cap=10)


def test_random_is_reproducible_with_a_seed_and_differs_between_seeds():
    first = assign(V, A, H, variants_per_video=4, mode="random", seed=7)
    again = assign(V, A, H, variants_per_video=4, mode="random", seed=7)
    other = assign(V, A, H, variants_per_video=4, mode="random", seed=8)
    assert first == again
    assert [(c.audio_id, c.hook_id) for c in first] != [(c.audio_id, c.hook_id) for c in other]
    assert [c.video_id for c in first] == [v for v in V for _ in range(4)]


def test_random_avoids_repeating_a_pair_within_a_video_while_pairs_remain():
    combos = assign(["v0"], A, H, variants_per_video=8, mode="random", seed=3)
    assert len({(c.audio_id, c.hook_id) for c in combos}) == 8


@pytest.mark.parametrize("kwargs, message", [
    ({"video_ids": []}, "at least one video"),
    ({"mode": "zigzag"}, "unknown assignment"),
    ({"variants_per_video": 0}, "at least 1"),
    ({"variants_per_video": 300, "cap": 500}, "over the cap"),
])
def test_bad_requests_are_refused(kwargs, message):
    args = {"video_ids": V, "audio_ids": A, "hook_ids": H, **kwargs}
    with pytest.raises(AssignmentError, match=message):
        assign(**args)
