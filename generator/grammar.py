"""The closed-vocabulary scene grammar: prompt text ⇄ :class:`Scene` ⇄ condition token ids.

A prompt names up to ``MAX_OBJECTS`` objects, a background and a camera motion::

    a red circle moving left on a blue background, camera panning right
    a green square moving quickly up and a white triangle moving down on a black background

Each object has a colour and a shape (required), and optionally a direction and a speed.
Anything left unsaid is *unspecified*: its condition slot gets the null token, the same
token that classifier-free guidance uses for the unconditional branch, so the model draws
that attribute at random. A word outside the vocabulary raises :class:`PromptError`, whose
message lists the known words.

Condition layout (``condition_ids``): for each object slot ``shape, colour, direction,
speed``, then ``background, camera``. Token 0 is null (unspecified / CFG), token 1 is
"absent" (no object in this slot), tokens 2… are the values of the slot's vocabulary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from provenant.errors import InputError

__all__ = [
    "SHAPES", "COLOURS", "BACKGROUNDS", "DIRECTIONS", "SPEEDS", "CAMERAS", "MAX_OBJECTS",
    "NULL_ID", "ABSENT_ID", "SLOT_SIZES", "PromptError", "SceneObject", "Scene",
    "parse_prompt", "describe", "condition_ids", "null_condition", "random_scene",
    "known_words",
]

SHAPES = ("circle", "square", "triangle")
COLOURS = ("red", "green", "blue", "yellow", "magenta", "cyan", "white")
BACKGROUNDS = ("black", "gray", "blue", "green", "white")
DIRECTIONS = ("left", "right", "up", "down")
SPEEDS = ("slow", "fast")
CAMERAS = ("static", "left", "right")
MAX_OBJECTS = 2
NULL_ID, ABSENT_ID = 0, 1

_SPEED_WORDS = {"slow": "slow", "slowly": "slow", "fast": "fast", "quickly": "fast"}
_CAMERA_STILL = {"static", "still", "fixed"}
_FILLER = {"a", "an", "the", "moving", "moves", "going", "on", "over", "with", "and",
           "background", "camera", "panning", "pans", "is", "to", "the"}
_GREY = {"grey": "gray"}

#: Vocabulary size of each condition slot (including null and absent tokens).
SLOT_SIZES: tuple[int, ...] = (
    (len(SHAPES) + 2, len(COLOURS) + 2, len(DIRECTIONS) + 2, len(SPEEDS) + 2) * MAX_OBJECTS
    + (len(BACKGROUNDS) + 2, len(CAMERAS) + 2)
)


class PromptError(InputError):
    """A prompt outside the scene grammar."""

    default_hint = "write e.g. 'a red circle moving left on a blue background, camera panning right'"


def known_words() -> list[str]:
    """Every word the grammar accepts, sorted."""
    words = set(SHAPES) | set(COLOURS) | set(BACKGROUNDS) | set(DIRECTIONS) | set(_SPEED_WORDS)
    return sorted(words | _CAMERA_STILL | _FILLER | set(_GREY))


@dataclass(frozen=True)
class SceneObject:
    shape: str
    colour: str
    direction: str | None = None  # None: unspecified
    speed: str | None = None


@dataclass(frozen=True)
class Scene:
    objects: tuple[SceneObject, ...]
    background: str | None = None
    camera: str | None = None
    extras: dict = field(default_factory=dict, compare=False, repr=False)


#: An error names at most this many unknown words, each cut to this many characters.
_SHOWN_WORDS, _SHOWN_CHARS = 8, 40


def _tokens(prompt: str) -> list[str]:
    if not isinstance(prompt, str) or not prompt.strip():
        raise PromptError("the prompt is empty")
    words = [_GREY.get(w, w) for w in re.findall(r"[a-z]+", prompt.lower())]
    unknown = sorted({w for w in words if w not in set(known_words())})
    leftovers = re.sub(r"[a-zA-Z\s,.;:!\-]", "", prompt)
    if unknown or leftovers:
        bad = unknown + ([leftovers] if leftovers else [])
        shown = [repr(w if len(w) <= _SHOWN_CHARS else w[:_SHOWN_CHARS] + "…")
                 for w in bad[:_SHOWN_WORDS]]
        more = f" and {len(bad) - _SHOWN_WORDS} more" if len(bad) > _SHOWN_WORDS else ""
        raise PromptError(f"unknown word(s) in prompt: {', '.join(shown)}{more}; "
                          f"known words: {', '.join(known_words())}")
    return words


def _parse_camera(words: list[str]) -> str:
    dirs = [w for w in words if w in DIRECTIONS]
    still = [w for w in words if w in _CAMERA_STILL]
    if len(dirs) + len(still) != 1:
        raise PromptError("say the camera motion once: 'camera panning left|right' or 'camera static'")
    if dirs and dirs[0] not in CAMERAS:
        raise PromptError(f"the camera can pan {' or '.join(CAMERAS[1:])}, not {dirs[0]!r}")
    return dirs[0] if dirs else "static"


def _parse_object(chunk: list[str]) -> SceneObject:
    shapes = [w for w in chunk if w in SHAPES]
    colours = [w for w in chunk if w in COLOURS]
    dirs = [w for w in chunk if w in DIRECTIONS]
    speeds = [_SPEED_WORDS[w] for w in chunk if w in _SPEED_WORDS]
    phrase = " ".join(chunk)
    if len(shapes) != 1:
        raise PromptError(f"each object needs exactly one shape ({', '.join(SHAPES)}); got {phrase!r}")
    if len(colours) != 1:
        raise PromptError(f"each object needs exactly one colour ({', '.join(COLOURS)}); got {phrase!r}")
    if len(dirs) > 1 or len(speeds) > 1:
        raise PromptError(f"an object moves in one direction at one speed; got {phrase!r}")
    return SceneObject(shapes[0], colours[0], dirs[0] if dirs else None,
                       speeds[0] if speeds else None)


def parse_prompt(prompt: str) -> Scene:
    """Parse ``prompt`` into a :class:`Scene`; raise :class:`PromptError` outside the grammar."""
    words = _tokens(prompt)
    camera = None
    if "camera" in words:
        i = words.index("camera")
        camera, words = _parse_camera(words[i + 1:]), words[:i]
    background = None
    if "background" in words:
        j = words.index("background")
        if j == 0 or words[j - 1] not in BACKGROUNDS:
            raise PromptError(f"name the background colour ({', '.join(BACKGROUNDS)}) "
                              "just before 'background'")
        background, words = words[j - 1], words[: j - 1]
        while words and words[-1] in {"a", "an", "the", "on", "over", "with"}:
            words = words[:-1]
    chunks, current = [], []
    for w in words:
        if w == "and" and any(x in SHAPES for x in current):
            chunks.append(current)
            current = []
        else:
            current.append(w)
    chunks.append(current)
    if len(chunks) > MAX_OBJECTS:
        raise PromptError(f"at most {MAX_OBJECTS} objects per prompt, got {len(chunks)}")
    objects = tuple(_parse_object(c) for c in chunks)
    if background is not None and any(o.colour == background for o in objects):
        raise PromptError(f"an object cannot have the background's colour ({background})")
    return Scene(objects, background, camera)


def describe(scene: Scene) -> str:
    """The canonical prompt of ``scene`` (``parse_prompt(describe(s)) == s``)."""
    parts = []
    for o in scene.objects:
        words = [o.colour, o.shape]
        if o.direction or o.speed:
            words.append("moving")
        if o.speed:
            words.append({"slow": "slowly", "fast": "quickly"}[o.speed])
        if o.direction:
            words.append(o.direction)
        parts.append(" ".join(words))
    text = "a " + " and a ".join(parts)
    if scene.background:
        text += f" on a {scene.background} background"
    if scene.camera:
        text += ", camera " + ("static" if scene.camera == "static" else f"panning {scene.camera}")
    return text


def _id(value: str | None, vocab: tuple[str, ...]) -> int:
    return NULL_ID if value is None else vocab.index(value) + 2


def condition_ids(scene: Scene) -> np.ndarray:
    """The condition token ids of ``scene``: int64 array of length ``len(SLOT_SIZES)``."""
    ids: list[int] = []
    for k in range(MAX_OBJECTS):
        if k < len(scene.objects):
            o = scene.objects[k]
            ids += [_id(o.shape, SHAPES), _id(o.colour, COLOURS),
                    _id(o.direction, DIRECTIONS), _id(o.speed, SPEEDS)]
        else:
            ids += [ABSENT_ID] * 4
    ids += [_id(scene.background, BACKGROUNDS), _id(scene.camera, CAMERAS)]
    return np.asarray(ids, dtype=np.int64)


def null_condition() -> np.ndarray:
    """The unconditional (all-null) condition used by classifier-free guidance."""
    return np.zeros(len(SLOT_SIZES), dtype=np.int64)


def random_scene(rng: np.random.Generator, *, max_objects: int = MAX_OBJECTS,
                 p_two: float = 0.25) -> Scene:
    """A fully specified random scene (object colours differ from the background's)."""
    background = BACKGROUNDS[rng.integers(len(BACKGROUNDS))]
    n = 2 if (max_objects >= 2 and rng.random() < p_two) else 1
    allowed = [c for c in COLOURS if c != background]
    objects = tuple(
        SceneObject(SHAPES[rng.integers(len(SHAPES))], allowed[rng.integers(len(allowed))],
                    DIRECTIONS[rng.integers(len(DIRECTIONS))], SPEEDS[rng.integers(len(SPEEDS))])
        for _ in range(n)
    )
    return Scene(objects, background, CAMERAS[rng.integers(len(CAMERAS))])
