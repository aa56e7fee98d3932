from __future__ import annotations

import inspect

import pytest

from provenant import errors


ALL = [c for _, c in inspect.getmembers(errors, inspect.isclass)
       if issubclass(c, Exception) and not issubclass(c, Warning)
       and c.__module__ == errors.__name__]


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_every_error_is_a_provenance_error_with_a_hint(cls: type) -> None:
    assert issubclass(cls, errors.ProvenanceError)
    err = cls("something went wrong")
    assert err.exit_code in (1, 2)
    if cls is not errors.ProvenanceError:
        assert err.hint, f"{cls.__name__} gives no hint"
        assert err.hint in str(err)


def test_the_one_warning_is_a_user_warning_not_an_error() -> None:
    assert issubclass(errors.ProvenanceWarning, UserWarning)
    assert not issubclass(errors.ProvenanceWarning, errors.ProvenanceError)


def test_children_also_subclass_builtins() -> None:
    assert issubclass(errors.InputError, ValueError)
    assert issubclass(errors.NotFoundError, KeyError)
    assert issubclass(errors.NotFittedError, AttributeError)
    assert str(errors.NotFoundError("no such id")).startswith("no such id")


def test_codes_and_exit_statuses() -> None:
    assert errors.MediaLimitError("x").code == "media_limit"
    assert errors.MediaError("x").exit_code == 2
    assert errors.SigningError("x").exit_code == 1
    assert errors.InputError("x", hint="do y").hint == "do y"


def test_notices_are_collected_per_thread_or_warned() -> None:
    import threading
    import warnings

    with pytest.warns(errors.ProvenanceWarning, match="left out"):
        errors.notice("a track was left out")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # inside a collection: a list, never a warning
        with errors.collect_notices() as mine:
            errors.notice("mine")
            other: list[list[str]] = []

            def elsewhere() -> None:  # another request's thread collects its own
                with errors.collect_notices() as theirs:
                    errors.notice("theirs")
                other.append(theirs)

            thread = threading.Thread(target=elsewhere)
            thread.start()
            thread.join()
    assert mine == ["mine"] and other == [["theirs"]]
