"""The ``trinq`` command line, driven as a real process (``python -m trinq``).

Everything listens on 127.0.0.1 with a port chosen by the system: ``send``/``recv``/
``monitor --bind tcp://127.0.0.1:*`` print ``bound ENDPOINT`` on stderr, and the tests
read that line (or bind a trinq socket of their own) instead of guessing ports. Tests
wait on output, never on the clock; each is bounded by ``trio.fail_after``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio
from procs import Lines, sigint_inherited_as_default

import trinq
from trinq.__main__ import escape, format_message, main, parse_line, unescape

ROOT = Path(__file__).resolve().parent.parent
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    "PYTHONUNBUFFERED": "1",
}
TRINQ = [sys.executable, "-m", "trinq"]
ANY = "tcp://127.0.0.1:*"
#: the bound-endpoint line that send/recv/monitor print on stderr for a wildcard
BOUND = re.compile(r"^bound (tcp://127\.0\.0\.1:\d+)$")


class Cli:
    """A running ``python -m trinq`` with stdin, stdout and stderr as pipes."""

    def __init__(self, process: trio.Process) -> None:
        assert process.stdout is not None and process.stderr is not None
        self.process = process
        self.out = Lines(process.stdout)
        self.err = Lines(process.stderr)

    async def bound(self) -> str:
        """The endpoint of the next ``bound ENDPOINT`` line on stderr."""
        line = await self.err.readline()
        match = BOUND.match(line)
        assert match, f"expected 'bound ENDPOINT' on stderr, got {line!r}"
        return match.group(1)

    async def write(self, data: bytes, *, close: bool = True) -> None:
        assert self.process.stdin is not None
        await self.process.stdin.send_all(data)
        if close:
            await self.process.stdin.aclose()

    async def finish(self) -> tuple[int, list[str], list[str]]:
        """Wait for the exit: (status, every stdout line, every stderr line)."""
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self.out.rest)
            nursery.start_soon(self.err.rest)
        status = await self.process.wait()
        return status, self.out.lines, self.err.lines


@asynccontextmanager
async def trinq_cli(*args: str) -> AsyncIterator[Cli]:
    with sigint_inherited_as_default():
        process = await trio.lowlevel.open_process(
            [*TRINQ, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=ENV,
        )
    try:
        yield Cli(process)
    finally:
        if process.returncode is None:
            process.kill()
        with trio.CancelScope(shield=True):
            await process.wait()
            for stream in (process.stdin, process.stdout, process.stderr):
                if stream is not None:
                    await stream.aclose()


async def run(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return await trio.run_process(
        [*TRINQ, *args],
        stdin=stdin,
        capture_stdout=True,
        capture_stderr=True,
        check=False,
        env=ENV,
    )


def no_traceback(stderr: list[str] | str) -> None:
    text = stderr if isinstance(stderr, str) else "\n".join(stderr)
    assert "Traceback" not in text, text


# --- the line format, in process -------------------------------------------------------


def test_escape_is_python_bytes_literal_escapes_without_quotes():
    frame = bytes(range(256))
    assert escape(frame) == repr(frame)[2:-1].replace("\\'", "'")
    assert escape(b'it\'s "quoted"') == 'it\'s "quoted"'
    assert escape(b"plain text 123") == "plain text 123"
    assert unescape(escape(frame).encode()) == frame
    assert unescape(b"\\x4A\\x4a") == b"JJ"


def test_formats_round_trip():
    frames = [b"hello", b"", b"\x00\xff", "héllo".encode()]
    assert format_message(frames, "text") == b"hello  \\x00\\xff h\\xc3\\xa9llo"
    line = format_message(frames, "json")
    assert json.loads(line) == ["hello", "", {"base64": "AP8="}, "héllo"]
    assert parse_line(line, "json") == frames
    assert format_message(frames, "raw") == b" ".join(frames)
    assert parse_line(b"a\\tb", "text") == [b"a\tb"]
    assert parse_line(b"a\\tb", "raw") == [b"a\\tb"]


# --- send and recv ---------------------------------------------------------------------


async def test_send_recv_frames_from_arguments():
    with trio.fail_after(10):
        async with trinq_cli("recv", "PULL", "--bind", ANY, "--count", "1") as recv:
            endpoint = await recv.bound()
            sent = await run(
                "send", "push", "--connect", endpoint, "hello", "x\\x00y", "c d", "back\\\\slash"
            )
            assert sent.returncode == 0, sent.stderr
            status, out, err = await recv.finish()
    assert status == 0, err
    assert out == ["hello x\\x00y c d back\\\\slash"]


async def test_send_one_message_per_stdin_line():
    with trio.fail_after(10):
        async with trinq_cli("recv", "PULL", "--bind", ANY, "--count", "4") as recv:
            endpoint = await recv.bound()
            sent = await run(
                "send", "PUSH", "--connect", endpoint, stdin=b"one\ntwo\r\n\nfour\\x21"
            )
            assert sent.returncode == 0, sent.stderr
            status, out, err = await recv.finish()
    assert status == 0, err
    assert out == ["one", "two", "", "four!"]


async def test_json_format_round_trips_binary_frames():
    with trio.fail_after(10):
        async with trinq_cli(
            "recv", "PULL", "--bind", ANY, "--count", "1", "--format", "json"
        ) as recv:
            endpoint = await recv.bound()
            line = b'["multi", "part", {"base64": "AP8="}]\n'
            sent = await run("send", "PUSH", "--connect", endpoint, "--format", "json", stdin=line)
            assert sent.returncode == 0, sent.stderr
            status, out, err = await recv.finish()
    assert status == 0, err
    assert [json.loads(x) for x in out] == [["multi", "part", {"base64": "AP8="}]]


async def test_req_send_prints_the_replies_of_a_trinq_rep(ctx):
    with trio.fail_after(10):
        async with ctx.socket(trinq.REP) as rep:
            endpoint = await rep.bind(ANY)
            async with trinq_cli("send", "REQ", "--connect", endpoint) as req:
                await req.write(b"one two\nthree\n")
                assert await rep.recv_multipart() == [b"one two"]
                await rep.send_multipart([b"re", b"ply"])
                assert await rep.recv_multipart() == [b"three"]
                await rep.send(b"\x00")
                status, out, err = await req.finish()
    assert status == 0, err
    assert out == ["re ply", "\\x00"]


async def test_recv_rep_echoes_or_replies():
    with trio.fail_after(10):
        async with trinq_cli(
            "recv", "REP", "--bind", ANY, "--count", "1", "--reply", "pong"
        ) as rep:
            endpoint = await rep.bound()
            req = await run("send", "REQ", "--connect", endpoint, "ping")
            status, out, err = await rep.finish()
    assert status == 0, err
    assert out == ["ping"]
    assert (req.returncode, req.stdout) == (0, b"pong\n"), req.stderr


async def test_recv_sub_with_filters(ctx):
    with trio.fail_after(10):
        async with ctx.socket(trinq.PUB) as pub:
            endpoint = await pub.bind(ANY)
            args = ["--subscribe", "weather", "--subscribe", "sport", "--count", "6"]
            async with trinq_cli("recv", "sub", "--connect", endpoint, *args) as sub:
                # PUB drops what it sends before the subscription arrives: publish until
                # the subscriber has had enough, then look at what it printed.
                async with trio.open_nursery() as nursery:

                    async def publish() -> None:
                        for i in range(10**9):
                            for topic in (b"news", b"weather", b"sport"):
                                await pub.send(topic + b" %d" % i)
                            await trio.sleep(0.005)

                    nursery.start_soon(publish)
                    status, out, err = await sub.finish()
                    nursery.cancel_scope.cancel()
    assert status == 0, err
    assert len(out) == 6
    assert all(line.split()[0] in ("weather", "sport") for line in out), out
    assert {line.split()[0] for line in out} == {"weather", "sport"}


# --- proxy ------------------------------------------------------------------------------

PROXYING = re.compile(r"^proxying (\w+): (\w+) (\S+) -> (\w+) (\S+)$")


async def proxy_endpoints(proxy: Cli) -> tuple[str, str]:
    while True:
        line = await proxy.err.readline()
        if match := PROXYING.match(line):
            return match.group(3), match.group(5)
        assert BOUND.match(line), line


def pyzmq_pub_to_sub(frontend: str, backend: str) -> bytes:
    """A pyzmq PUB on the proxy's frontend, a pyzmq SUB on its backend: publish until
    the subscription has gone through the proxy and a message came back."""
    import zmq

    zctx = zmq.Context()
    try:
        pub = zctx.socket(zmq.PUB)
        pub.connect(frontend)
        sub = zctx.socket(zmq.SUB)
        sub.rcvtimeo = 20
        sub.subscribe(b"weather")
        sub.connect(backend)
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            pub.send(b"news: not this one")
            pub.send(b"weather: sunny")
            try:
                return sub.recv()
            except zmq.Again:
                continue
        raise TimeoutError("nothing came through the proxy")
    finally:
        zctx.destroy(linger=0)


@pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX SIGINT")
async def test_proxy_pubsub_between_pyzmq_pub_and_sub():
    pytest.importorskip("zmq")
    with trio.fail_after(15):
        async with trinq_cli("proxy", "pubsub", ANY, ANY) as proxy:
            frontend, backend = await proxy_endpoints(proxy)
            got = await trio.to_thread.run_sync(pyzmq_pub_to_sub, frontend, backend)
            assert got == b"weather: sunny"
            proxy.process.send_signal(signal.SIGINT)  # Ctrl-C
            status, _, err = await proxy.finish()
    no_traceback(err)
    assert status == 130, err


async def test_proxy_pipeline(ctx):
    with trio.fail_after(10):
        async with trinq_cli("proxy", "pipeline", ANY, ANY, "--timeout", "8") as proxy:
            frontend, backend = await proxy_endpoints(proxy)
            async with ctx.socket(trinq.PUSH) as push, ctx.socket(trinq.PULL) as pull:
                push.connect(frontend)
                pull.connect(backend)
                await push.send_multipart([b"task", b"1"])
                assert await pull.recv_multipart() == [b"task", b"1"]


# --- monitor ----------------------------------------------------------------------------


async def test_monitor_bound_socket_shows_accepted(ctx):
    with trio.fail_after(10):
        async with trinq_cli("monitor", "PULL", "--bind", ANY, "--count", "3") as mon:
            endpoint = await mon.bound()
            assert await mon.out.readline() == f"LISTENING {endpoint} value=0"
            async with ctx.socket(trinq.PUSH) as push:
                push.connect(endpoint)
                status, out, err = await mon.finish()
    assert status == 0, err
    assert out[1].startswith(f"ACCEPTED {endpoint} value=")
    assert out[2].startswith(f"HANDSHAKE_SUCCEEDED {endpoint} value=0")


async def test_monitor_connecting_socket_shows_connected(ctx):
    with trio.fail_after(10):
        async with ctx.socket(trinq.PULL) as pull:
            endpoint = await pull.bind(ANY)
            args = ["--event", "connected", "--event", "HANDSHAKE_SUCCEEDED", "--format", "json"]
            async with trinq_cli("monitor", "PUSH", "--connect", endpoint, *args) as mon:
                first = json.loads(await mon.out.readline())
                second = json.loads(await mon.out.readline())
    assert first["event"] == "CONNECTED" and first["endpoint"] == endpoint
    assert second["event"] == "HANDSHAKE_SUCCEEDED"


# --- bench, version, demo ----------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["thr", "--count", "300"],
        ["lat", "--count", "50", "--transport", "inproc"],
        ["pubsub", "--count", "200", "--subscribers", "2", "--size", "1", "--transport", "ipc"],
    ],
    ids=lambda a: f"{a[0]}-{a[-1] if '--transport' in a else 'tcp'}",
)
async def test_bench_smoke(args):
    pytest.importorskip("zmq")
    with trio.fail_after(20):
        done = await run("bench", *args)
    assert done.returncode == 0, done.stderr
    out = done.stdout.decode()
    assert out.startswith(f"trinq bench {args[0]}:"), out
    rows = {line.split()[0] for line in out.splitlines()[1:]}
    assert {"trinq", "pyzmq", "trinq/pyzmq"} <= rows, out


async def test_bench_json_without_pyzmq():
    with trio.fail_after(20):
        done = await run("bench", "thr", "--count", "100", "--no-pyzmq", "--format", "json")
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert set(record["results"]) == {"trinq"}
    assert record["results"]["trinq"]["msgs_per_s"] > 0
    assert (record["workload"], record["count"], record["transport"]) == ("thr", 100, "tcp")


async def test_version():
    with trio.fail_after(10):
        done = await run("version")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.decode().splitlines()
    assert lines[0] == f"trinq {trinq.__version__}"
    assert "ZMTP 3.1" in lines
    zmq = pytest.importorskip("zmq")
    assert f"libzmq {zmq.zmq_version()} (pyzmq {zmq.__version__})" in lines


async def test_console_script():
    script = shutil.which("trinq")
    if script is None:
        pytest.skip("the trinq console script is not installed")
    with trio.fail_after(10):
        done = await trio.run_process(
            [script, "version"], capture_stdout=True, capture_stderr=True, check=False
        )
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().startswith("trinq ")


async def test_demo_still_runs():
    with trio.fail_after(30):
        done = await run("demo")
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().splitlines()[-1] == "demo done"


# --- bad input ------------------------------------------------------------------------

C = "tcp://127.0.0.1:5"  # never reached: every case fails before connecting
BAD_INPUT: list[tuple[list[str], bytes, str]] = [
    ([], b"", "required: COMMAND"),
    (["frobnicate"], b"", "invalid choice"),
    (["send", "FOO", "--connect", C, "x"], b"", "unknown socket type 'FOO'"),
    (["send", "PUSH", "x"], b"", "--bind ENDPOINT or --connect ENDPOINT"),
    (["recv", "PULL", "--bind", "nonsense"], b"", "invalid endpoint 'nonsense'"),
    (["recv", "PULL", "--bind", "tcp://127.0.0.1:65536"], b"", "invalid tcp port"),
    (["send", "PUSH", "--connect", "tcp://127.0.0.1:99999", "x"], b"", "invalid tcp port"),
    (["send", "PUSH", "--connect", "tcp://127.0.0.1", "x"], b"", "expected host:port"),
    (["recv", "PULL", "--bind", "bogus://x"], b"", "'bogus' is not supported"),
    (["send", "PUSH", "--connect", "udp2://x:1", "x"], b"", "is not supported"),
    (["recv", "PUB", "--bind", ANY], b"", "PUB socket cannot receive"),
    (["send", "SUB", "--connect", C, "x"], b"", "SUB socket cannot send"),
    (["recv", "REQ", "--connect", C], b"", "REQ socket sends first"),
    (["send", "REP", "--bind", ANY, "x"], b"", "REP socket receives first"),
    (["recv", "PULL", "--bind", ANY, "--subscribe", "x"], b"", "--subscribe is for SUB"),
    (["recv", "PULL", "--bind", ANY, "--count", "0"], b"", "must be at least 1"),
    (["recv", "PULL", "--bind", ANY, "--timeout", "soon"], b"", "not a number of seconds"),
    (["send", "PUSH", "--connect", C, "bad\\q"], b"", 'invalid escape "\\q"'),
    (["send", "PUSH", "--connect", C, "--format", "json"], b"{oops\n", "bad JSON message"),
    (["monitor", "PULL", "--bind", ANY, "--event", "NOPE"], b"", "unknown monitor event"),
    (["proxy", "fanout", ANY, ANY], b"", "invalid choice: 'fanout'"),
    (["proxy", "pubsub", "nonsense", ANY], b"", "invalid endpoint 'nonsense'"),
    (["bench", "fast"], b"", "invalid choice: 'fast'"),
    (["bench", "thr", "--count", "1"], b"", "thr needs --count 2 or more"),
    (["bench", "thr", "--transport", "udp"], b"", "invalid choice: 'udp'"),
    (["bench", "lat", "--size", "-1"], b"", "a size cannot be negative"),
]


@pytest.mark.parametrize(
    ("args", "expected"),
    [(args, expected) for args, stdin, expected in BAD_INPUT if not stdin],
    ids=lambda x: " ".join(x) if isinstance(x, list) else "",
)
def test_bad_input_in_process(args, expected, capsys):
    """The whole table through ``main()`` in this process (fast): exit status 2 and one
    line on stderr that says what is wrong; nothing on stdout."""
    try:
        status = main(args)
    except SystemExit as exc:  # argparse's usage errors
        status = exc.code
    out, err = capsys.readouterr()
    assert status == 2, err
    assert err.count("\n") == 1 and err.startswith("trinq"), err
    assert expected in err
    assert out == ""


#: one process per kind of bad input the brief names, and one failing at run time
AS_PROCESSES = [
    "required: COMMAND",
    "unknown socket type 'FOO'",
    "invalid endpoint 'nonsense'",
    "invalid tcp port",
    "'bogus' is not supported",
    "bad JSON message",
]


async def test_bad_input_as_processes():
    """As real processes (concurrently: each is a Python start-up): exit status 2,
    exactly one line on stderr, nothing on stdout, no traceback."""
    cases = [next(case for case in BAD_INPUT if case[2] == m) for m in AS_PROCESSES]
    results: dict[int, subprocess.CompletedProcess[bytes]] = {}

    async def one(i: int, args: list[str], stdin: bytes) -> None:
        results[i] = await run(*args, stdin=stdin)

    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            for i, (args, stdin, _) in enumerate(cases):
                nursery.start_soon(one, i, args, stdin)
    problems = []
    for i, (args, _, expected) in enumerate(cases):
        done = results[i]
        err = done.stderr.decode()
        lines = err.splitlines()
        if (
            done.returncode != 2
            or len(lines) != 1
            or expected not in err
            or not lines[0].startswith("trinq")
            or done.stdout
        ):
            problems.append(f"trinq {' '.join(args)}: exit {done.returncode}, stderr {err!r}")
    assert not problems, "\n".join(problems)


async def test_bind_failure_is_one_line_and_exit_status_1():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with trio.fail_after(10):
            done = await run("recv", "PULL", "--bind", f"tcp://127.0.0.1:{port}")
    err = done.stderr.decode()
    assert done.returncode == 1, err
    assert err.count("\n") == 1 and "Address already in use" in err, err
    no_traceback(err)


async def test_timeout_expires_with_a_clear_message():
    with trio.fail_after(10):
        done = await run("recv", "PULL", "--bind", ANY, "--count", "2", "--timeout", "0.3")
    err = done.stderr.decode().splitlines()
    assert done.returncode == 124, err
    assert BOUND.match(err[0]), err  # the wildcard bind said where it listened
    assert err[1:] == ["trinq: error: timed out after 0.3 s (--timeout) waiting for message 1 of 2"]


# --- Ctrl-C -----------------------------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX SIGINT")
@pytest.mark.parametrize(
    "args",
    [
        ["recv", "SUB", "--bind", ANY],
        ["send", "PUSH", "--bind", ANY],  # blocked reading stdin
        ["send", "PUSH", "--bind", ANY, "x"],  # blocked waiting for a peer
        ["monitor", "PAIR", "--bind", ANY],
    ],
    ids=lambda a: "-".join(a[:2]) + ("-stdin" if len(a) == 4 and a[0] == "send" else ""),
)
async def test_ctrl_c_exits_130_without_traceback(args):
    with trio.fail_after(10):
        async with trinq_cli(*args) as child:
            await child.bound()
            child.process.send_signal(signal.SIGINT)
            status, _, err = await child.finish()
    no_traceback(err)
    assert status == 130, err
    assert err == [] or all(BOUND.match(line) for line in err), err


# --- keygen ------------------------------------------------------------------------------


async def test_keygen_prints_a_keypair():
    with trio.fail_after(10):
        done = await run("keygen")
    assert done.returncode == 0, done.stderr
    public_line, secret_line = done.stdout.decode().splitlines()
    public = public_line.removeprefix("public-key = ").encode()
    secret = secret_line.removeprefix("secret-key = ").encode()
    assert len(public) == len(secret) == 40
    assert trinq.curve_public(secret) == public


async def test_keygen_writes_pyzmq_certificates(tmp_path):
    zmq_auth = pytest.importorskip("zmq.auth")
    with trio.fail_after(10):
        done = await run("keygen", "--directory", str(tmp_path / "certs"), "server")
    assert done.returncode == 0, done.stderr
    public_file, secret_file = done.stdout.decode().splitlines()
    assert Path(secret_file).stat().st_mode & 0o777 == 0o600
    public, secret = zmq_auth.load_certificate(secret_file)
    assert zmq_auth.load_certificate(public_file) == (public, None)
    assert trinq.curve_public(secret) == public
    # existing keys are kept unless --force
    with trio.fail_after(10):
        again = await run("keygen", "--directory", str(tmp_path / "certs"), "server")
    assert again.returncode == 1
    assert again.stderr.decode().startswith("trinq: error: ")
    no_traceback(again.stderr.decode())
    assert zmq_auth.load_certificate(secret_file) == (public, secret)
    with trio.fail_after(10):
        forced = await run("keygen", "--force", "--directory", str(tmp_path / "certs"), "server")
    assert forced.returncode == 0, forced.stderr
    assert zmq_auth.load_certificate(secret_file)[0] != public
