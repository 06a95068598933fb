"""CURVE keys and certificate files (trinq._certs), Z85 (trinq.z85) and their
compatibility with pyzmq / libzmq."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest
import zmq
import zmq.auth

import trinq
from trinq import _certs

# libzmq's documented key pairs (doc/zmq_curve.adoc, tests/test_security_curve.cpp)
LIBZMQ_PAIRS = [
    (b"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID", b"D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"),
    (b"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", b"JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"),
]
RFC32_BINARY = bytes([0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B])


# ----------------------------------------------------------------------------------
# Z85


def test_z85_is_public_and_has_the_rfc_vector() -> None:
    assert trinq.z85.encode(RFC32_BINARY) == b"HelloWorld"
    assert trinq.z85.decode("HelloWorld") == RFC32_BINARY
    assert trinq.z85.decode(b"HelloWorld") == RFC32_BINARY
    assert trinq.z85.encode.__module__ == "trinq.z85"


def test_z85_libzmq_key_vectors() -> None:
    for public, _ in LIBZMQ_PAIRS:
        raw = trinq.z85.decode(public)
        assert len(raw) == 32 and trinq.z85.encode(raw) == public
        assert raw == zmq.utils.z85.decode(public)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("bad", "error", "match"),
    [
        ("Hell", ValueError, "multiple of 5"),
        ("HelloWorl", ValueError, "multiple of 5"),
        ("Hello\x7forld", ValueError, r"invalid character '\\x7f' at offset 5"),
        ("Hello orld", ValueError, "invalid character ' ' at offset 5"),
        ("Hellé", ValueError, "non-ASCII"),
        ("%nSc1", ValueError, "overflows"),
        ("00000#####", ValueError, "group at offset 5 overflows"),
        (12345, TypeError, "str or bytes"),
    ],
)
def test_z85_decode_errors_are_clear(bad: object, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        trinq.z85.decode(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("bad", "error", "match"),
    [
        (b"abc", ValueError, "multiple of 4"),
        ("abcd", TypeError, "not str"),
        (1234, TypeError, "not int"),
    ],
)
def test_z85_encode_errors_are_clear(bad: object, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        trinq.z85.encode(bad)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------
# Keys


def test_curve_keypair() -> None:
    public, secret = trinq.curve_keypair()
    assert type(public) is bytes and type(secret) is bytes
    assert len(public) == len(secret) == 40
    assert trinq.curve_public(secret) == public
    assert zmq.curve_public(secret) == public  # libzmq agrees
    assert trinq.curve_keypair() != (public, secret)


@pytest.mark.parametrize(("public", "secret"), LIBZMQ_PAIRS)
def test_curve_public_matches_libzmq_vectors(public: bytes, secret: bytes) -> None:
    assert trinq.curve_public(secret) == public
    assert trinq.curve_public(secret.decode()) == public
    assert trinq.curve_public(trinq.z85.decode(secret)) == public  # raw 32 bytes too


def test_curve_public_of_pyzmq_keys() -> None:
    public, secret = zmq.curve_keypair()
    assert trinq.curve_public(secret) == public


def test_parse_curve_key() -> None:
    public, _ = LIBZMQ_PAIRS[0]
    raw = trinq.z85.decode(public)
    assert _certs.parse_curve_key(public) == raw
    assert _certs.parse_curve_key(public.decode()) == raw
    assert _certs.parse_curve_key(bytearray(public)) == raw
    assert _certs.parse_curve_key(raw) == raw
    assert _certs.parse_curve_key(memoryview(raw)) == raw
    assert _certs.parse_curve_key(public + b"\x00") == raw  # libzmq's 41-byte C string


@pytest.mark.parametrize(
    ("bad", "error", "match"),
    [
        (b"x" * 31, ValueError, "got 31 bytes"),
        (b"x" * 33, ValueError, "got 33 bytes"),
        (b"", ValueError, "got 0 bytes"),
        ("x" * 32, ValueError, "40 Z85 characters, got 32"),
        ("~" * 40, ValueError, "invalid Z85 CURVE key: .*invalid character"),
        (b"#" * 40, ValueError, "invalid Z85 CURVE key: .*overflows"),
        ("é" * 40, ValueError, "non-ASCII"),
        (None, TypeError, "str or bytes"),
    ],
)
def test_parse_curve_key_errors(bad: object, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        _certs.parse_curve_key(bad)  # type: ignore[arg-type]


def test_curve_public_refuses_bad_keys() -> None:
    with pytest.raises(ValueError):
        trinq.curve_public(b"short")


def test_missing_pynacl_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "nacl" or m.startswith("nacl.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "nacl", None)
    with pytest.raises(ImportError, match=r"pip install 'trinq\[curve\]'"):
        trinq.curve_keypair()
    with pytest.raises(ImportError, match=r"pip install 'trinq\[curve\]'"):
        trinq.curve_public(LIBZMQ_PAIRS[0][1])


# ----------------------------------------------------------------------------------
# Certificate files


def test_create_and_load(tmp_path: Path) -> None:
    public_file, secret_file = _certs.create_certificates(tmp_path, "server", {"name": "srv"})
    assert public_file == str(tmp_path / "server.key")
    assert secret_file == str(tmp_path / "server.key_secret")
    public, none = _certs.load_certificate(public_file)
    assert none is None and len(public) == 40
    public2, secret = _certs.load_certificate(secret_file)
    assert public2 == public and secret is not None
    assert trinq.curve_public(secret) == public
    text = Path(secret_file).read_text()
    assert "metadata\n    name = srv\n" in text and "curve\n" in text
    assert f'    secret-key = "{secret.decode()}"\n' in text
    assert "secret-key" not in Path(public_file).read_text()


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_secret_file_mode_is_0600(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        public_file, secret_file = _certs.create_certificates(tmp_path, "a")
        assert stat.S_IMODE(os.stat(secret_file).st_mode) == 0o600
        # an existing, wider file is narrowed when rewritten
        os.chmod(secret_file, 0o644)
        _certs.create_certificates(tmp_path, "a")
        assert stat.S_IMODE(os.stat(secret_file).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(public_file).st_mode) & 0o044  # the public one is not
    finally:
        os.umask(old)


def test_pyzmq_reads_ours_and_we_read_pyzmqs(tmp_path: Path) -> None:
    ours = tmp_path / "ours"
    theirs = tmp_path / "theirs"
    ours.mkdir()
    theirs.mkdir()
    our_public_file, our_secret_file = _certs.create_certificates(ours, "t", {"k": "v"})
    their_public_file, their_secret_file = zmq.auth.create_certificates(theirs, "p", {"k": "v"})
    assert zmq.auth.load_certificate(our_secret_file) == _certs.load_certificate(our_secret_file)
    assert zmq.auth.load_certificate(our_public_file) == _certs.load_certificate(our_public_file)
    assert _certs.load_certificate(their_secret_file) == zmq.auth.load_certificate(
        their_secret_file
    )
    assert _certs.load_certificate(their_public_file) == zmq.auth.load_certificate(
        their_public_file
    )

    # the same layout, line for line, but for the banner's generator name
    def body(path: str) -> list[str]:
        return [line for line in Path(path).read_text().splitlines() if not line.startswith("#")]

    ours_lines, theirs_lines = body(our_secret_file), body(their_secret_file)
    assert [line.split("=")[0] for line in ours_lines] == [
        line.split("=")[0] for line in theirs_lines
    ]
    _certs.create_certificates(theirs, "t2")
    assert _certs.load_certificates(theirs) == zmq.auth.load_certificates(str(theirs))
    assert len(_certs.load_certificates(theirs)) == 2


def test_load_certificate_errors(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="Invalid certificate file"):
        _certs.load_certificate(tmp_path / "missing.key")
    empty = tmp_path / "empty.key"
    empty.write_text("# nothing\nmetadata\ncurve\n    public-key\n")
    with pytest.raises(ValueError, match="No public key"):
        _certs.load_certificate(empty)
    with pytest.raises(OSError, match="Invalid certificate directory"):
        _certs.load_certificates(tmp_path / "nope")


def test_load_certificate_quoting_as_pyzmq(tmp_path: Path) -> None:
    path = tmp_path / "q.key"
    path.write_bytes(b"curve\n    public-key = 'abc'\n    secret-key=\"def\"  \n")
    assert _certs.load_certificate(path) == (b"abc", b"def")
    assert zmq.auth.load_certificate(path) == (b"abc", b"def")


def test_only_dot_key_files_are_loaded(tmp_path: Path) -> None:
    _certs.create_certificates(tmp_path, "one")
    (tmp_path / "notes.txt").write_text("public-key = nope\n")
    keys = _certs.load_certificates(tmp_path)
    assert list(keys.values()) == [True] and len(keys) == 1
