from __future__ import annotations

import numpy as np
import pytest

from generator.grammar import (
    NULL_ID, SLOT_SIZES, PromptError, Scene, SceneObject, condition_ids, describe, known_words,
    null_condition, parse_prompt, random_scene,
)
from provenant.errors import InputError


def test_parse_example_prompt():
    s = parse_prompt("a red circle moving left on a blue background, camera panning right")
    assert s == Scene((SceneObject("circle", "red", "left", None),), "blue", "right")


def test_two_objects_and_speed():
    s = parse_prompt("a green square moving quickly up and a white triangle moving down "
                     "on a black background, camera static")
    assert [o.shape for o in s.objects] == ["square", "triangle"]
    assert s.objects[0].speed == "fast" and s.camera == "static"


@pytest.mark.parametrize("seed", range(20))
def test_describe_round_trip(seed):
    scene = random_scene(np.random.default_rng(seed))
    assert parse_prompt(describe(scene)) == scene


def test_unknown_word_lists_known_words():
    with pytest.raises(PromptError) as info:
        parse_prompt("a purple circle moving left")
    msg = str(info.value)
    assert "'purple'" in msg and "known words:" in msg
    for word in ("circle", "red", "left", "background"):
        assert word in msg
    assert isinstance(info.value, InputError) and isinstance(info.value, ValueError)


def test_an_unknown_word_is_named_in_a_message_of_bounded_length():
    """A pasted paragraph, or a 5,000-character word, is named in part, not echoed whole."""
    words = " ".join(f"w{chr(97 + i)}" for i in range(20))
    with pytest.raises(PromptError) as info:
        parse_prompt(f"a red circle moving left {'q' * 5000} {words}")
    msg = str(info.value)
    assert "'" + "q" * 40 + "…'" in msg and "q" * 41 not in msg
    assert "and 13 more" in msg and len(msg) < 1000


@pytest.mark.parametrize("prompt", ["", "a circle", "a red blue circle", "red",
                                    "a red circle on a red background",
                                    "a red circle, camera panning up",
                                    "a red circle and a blue square and a cyan triangle"])
def test_invalid_prompts(prompt):
    with pytest.raises(PromptError):
        parse_prompt(prompt)


def test_condition_ids_and_null():
    ids = condition_ids(parse_prompt("a red circle"))
    assert ids.shape == (len(SLOT_SIZES),) and (ids < np.asarray(SLOT_SIZES)).all()
    assert ids[2] == NULL_ID  # direction unspecified → null token
    assert (null_condition() == NULL_ID).all()
    assert "circle" in known_words()
