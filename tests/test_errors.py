"""The exception hierarchy and libzmq-compatible messages."""

from __future__ import annotations

import os
import pickle

import pytest

from trinq import _constants as C
from trinq._errors import (
    Again,
    ContextTerminated,
    ZMQBaseError,
    ZMQBindError,
    ZMQError,
    strerror,
)


def test_hierarchy() -> None:
    assert issubclass(ZMQError, ZMQBaseError)
    assert issubclass(Again, ZMQError)
    assert issubclass(ContextTerminated, ZMQError)
    assert issubclass(ZMQBindError, ZMQBaseError)
    assert not issubclass(ZMQBindError, ZMQError)
    assert issubclass(ZMQBaseError, Exception)


def test_zmqerror_attributes() -> None:
    err = ZMQError(C.EFSM)
    assert err.errno == C.EFSM
    assert err.strerror == "Operation cannot be accomplished in current state"
    assert str(err) == err.strerror
    custom = ZMQError(C.EINVAL, "invalid value for option 'sndhwm': -1 (must be >= 0)")
    assert custom.errno == C.EINVAL
    assert str(custom) == "invalid value for option 'sndhwm': -1 (must be >= 0)"
    assert "ZMQError" in repr(custom) and "sndhwm" in repr(custom)


def test_posix_messages_come_from_the_os() -> None:
    for errno in (C.EINVAL, C.ENOTSUP, C.EMSGSIZE, C.EADDRINUSE, C.ENOENT):
        assert ZMQError(errno).strerror == os.strerror(errno) == strerror(errno)


def test_messages_match_libzmq() -> None:
    zmq = pytest.importorskip("zmq")
    for errno in (
        C.EAGAIN,
        C.EINVAL,
        C.EHOSTUNREACH,
        C.ENOTSUP,
        C.EMSGSIZE,
        C.EADDRINUSE,
        C.EFSM,
        C.ENOCOMPATPROTO,
        C.ETERM,
        C.EMTHREAD,
    ):
        assert strerror(errno) == zmq.strerror(errno), errno


def test_ehostunreach_uses_libzmq_text() -> None:
    assert ZMQError(C.EHOSTUNREACH).strerror == "Host unreachable"


def test_again_and_context_terminated() -> None:
    again = Again()
    assert again.errno == C.EAGAIN
    assert str(again) == os.strerror(C.EAGAIN)
    assert Again("no peer has room").strerror == "no peer has room"
    term = ContextTerminated()
    assert term.errno == C.ETERM
    assert str(term) == "Context was terminated"


def test_plain_eagain_is_not_again() -> None:
    """Only code that means "would block" raises Again, explicitly."""
    assert not isinstance(ZMQError(C.EAGAIN), Again)


@pytest.mark.parametrize(
    "exc",
    [ZMQError(C.EFSM), ZMQError(C.EINVAL, "custom"), Again(), Again("x"), ContextTerminated()],
)
def test_pickle_round_trip(exc: ZMQError) -> None:
    clone = pickle.loads(pickle.dumps(exc))
    assert type(clone) is type(exc)
    assert (clone.errno, clone.strerror, str(clone)) == (exc.errno, exc.strerror, str(exc))


def test_raise_and_catch_by_errno() -> None:
    with pytest.raises(ZMQError) as info:
        raise Again()
    assert info.value.errno == C.EAGAIN
