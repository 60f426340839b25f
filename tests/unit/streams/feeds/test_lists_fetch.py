"""`txscreen lists fetch` against a local HTTP server on 127.0.0.1 serving the fixture files."""

from __future__ import annotations

import hashlib
import http.server
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pytest
import yaml

from matchers.sources import load_source
from streams.cli.main import main
from tests.cli_runner import run_txscreen

DATA = Path(__file__).resolve().parents[3] / "data"
OFAC = DATA / "ofac" / "extract"
UN = DATA / "un" / "extract.xml"
EU = DATA / "eu_fsf" / "export-2020-excerpt.xml"
OS_DEFAULT = DATA / "opensanctions" / "default-2024-excerpt.ftm.json"
OS_MADE_UP = DATA / "opensanctions" / "made-up.ftm.json"


@dataclass
class Reply:
    """What the server answers for one path: a status, a body, and how it misbehaves."""

    body: bytes = b""
    status: int = 200
    cut_at: int | None = None  # send the full Content-Length, then only this many bytes and close
    delay: float = 0.0


@dataclass
class Server:
    """The test server's routes and the request lines it saw (absolute URIs when used as a proxy)."""

    port: int = 0
    routes: dict[str, Reply] = field(default_factory=dict)
    seen: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def serve(self, path: str, body: bytes) -> None:
        self.routes[path] = Reply(body)


def _handler(server: Server) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server.seen.append(self.path)
            path = self.path.split("//", 1)[1].split("/", 1)[1] if "://" in self.path else self.path[1:]
            reply = server.routes.get("/" + path, Reply(b"not here", 404))
            time.sleep(reply.delay)
            try:
                self.send_response(reply.status)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body if reply.cut_at is None else reply.body[: reply.cut_at])
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (the timeout test)
                return
            if reply.cut_at is not None:
                self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    """A threaded HTTP server on a free 127.0.0.1 port; proxy and TXSCREEN variables cleared."""
    for name in ("http_proxy", "https_proxy", "no_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    for name in ("TXSCREEN_LISTS_DIR", "TXSCREEN_OFAC_URL", "TXSCREEN_UN_URL", "TXSCREEN_EU_FSF_URL"):
        monkeypatch.delenv(name, raising=False)
    state = Server()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


def serve_fixtures(server: Server) -> None:
    for name in ("sdn.csv", "alt.csv", "add.csv", "sdn_comments.csv"):
        server.serve(f"/ofac/{name.upper()}", (OFAC / name).read_bytes())
    server.serve("/un.xml", UN.read_bytes())
    server.serve("/eu.xml", EU.read_bytes())
    server.serve("/os/eu_fsf/entities.ftm.json", OS_DEFAULT.read_bytes())


def fetch(server: Server, out: Path, *sources: str, extra: tuple[str, ...] = ()) -> int:
    return main(
        [
            "lists",
            "fetch",
            *sources,
            "--out",
            str(out),
            "--ofac-url",
            server.url("/ofac/"),
            "--un-url",
            server.url("/un.xml"),
            "--eu-fsf-url",
            server.url("/eu.xml"),
            "--opensanctions-url",
            server.url("/os/{dataset}/entities.ftm.json"),
            *extra,
        ]
    )


def snapshot(folder: Path) -> dict[str, str]:
    """Every installed file (not the lock) and its sha256."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != ".fetch.lock"
    }


def test_success_installs_every_feed(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every feed is downloaded, verified and installed where --watchlist can load it; each line says so."""
    serve_fixtures(server)
    out = tmp_path / "lists"
    assert fetch(server, out, "ofac", "un", "eu-fsf", "opensanctions:eu_fsf") == 0
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 4
    assert all(line.endswith("(first copy)") for line in printed)
    installed = {
        "ofac-sdn": out / "ofac-sdn",
        "un": out / "un" / "consolidated.xml",
        "eu-fsf": out / "eu-fsf" / "export.xml",
        "opensanctions": out / "opensanctions-eu_fsf" / "entities.ftm.json",
    }
    for list_id, path in installed.items():
        assert load_source(str(path)).list_id == list_id
    assert (out / "ofac-sdn" / "sdn.csv").read_bytes() == (OFAC / "sdn.csv").read_bytes()
    assert [p.name for p in out.iterdir() if p.name.startswith(".staging")] == []


def test_changed_list_prints_added_removed_changed(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A second fetch of a changed list names the entities added, removed and changed, and installs it."""
    lines = OS_MADE_UP.read_bytes().splitlines(keepends=True)
    server.serve("/os/tx_made_up/entities.ftm.json", b"".join(lines))
    out = tmp_path / "lists"
    assert fetch(server, out, "opensanctions:tx_made_up") == 0
    capsys.readouterr()
    changed = [line.replace(b'"EP-TXB"', b'"EP-TXC"') for line in lines if b'"tx-person-1"' not in line[:30]]
    added = orjson.dumps(
        {
            "id": "tx-new",
            "schema": "Person",
            "properties": {"name": ["New Person"]},
            "target": True,
            "datasets": ["tx_made_up"],
        }
    )
    server.serve("/os/tx_made_up/entities.ftm.json", b"".join(changed) + added + b"\n")
    assert fetch(server, out, "opensanctions:tx_made_up", extra=("--max-shrink", "50")) == 0
    line = capsys.readouterr().out.strip()
    assert "1 added (opensanctions:tx-new)" in line
    assert "1 removed (opensanctions:tx-person-1)" in line
    assert "1 changed (opensanctions:tx-plane-1)" in line
    installed = load_source(str(out / "opensanctions-tx_made_up" / "entities.ftm.json"))
    assert {e.id for e in installed.entities} == {
        "opensanctions:tx-vessel-1",
        "opensanctions:tx-plane-1",
        "opensanctions:tx-new",
    }


def test_ofac_comments_file_is_optional(server: Server, tmp_path: Path) -> None:
    """OFAC's SDN_COMMENTS.CSV may be absent (404): the set is installed without it and still loads."""
    serve_fixtures(server)
    del server.routes["/ofac/SDN_COMMENTS.CSV"]
    out = tmp_path / "lists"
    assert fetch(server, out, "ofac") == 0
    assert sorted(p.name for p in (out / "ofac-sdn").iterdir()) == ["add.csv", "alt.csv", "sdn.csv"]
    assert load_source(str(out / "ofac-sdn")).list_id == "ofac-sdn"


def test_ofac_folder_is_replaced_whole(server: Server, tmp_path: Path) -> None:
    """A second OFAC fetch swaps the whole folder: a file the new set lacks does not linger."""
    serve_fixtures(server)
    out = tmp_path / "lists"
    assert fetch(server, out, "ofac") == 0
    assert (out / "ofac-sdn" / "sdn_comments.csv").exists()
    del server.routes["/ofac/SDN_COMMENTS.CSV"]
    assert fetch(server, out, "ofac") == 0
    assert not (out / "ofac-sdn" / "sdn_comments.csv").exists()


def test_unchanged_list_says_so(server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Fetching the same file again reports it unchanged."""
    serve_fixtures(server)
    out = tmp_path / "lists"
    assert fetch(server, out, "un") == 0
    assert fetch(server, out, "un") == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith("(unchanged)")


def _failing_run(
    server: Server,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    *,
    feed: str,
    path: str,
    reply: Reply,
    extra: tuple[str, ...] = (),
) -> str:
    """Install a good copy of every fixture, make ``path`` misbehave, fetch ``feed`` again; the stderr."""
    serve_fixtures(server)
    out = tmp_path / "lists"
    assert fetch(server, out, "ofac", "un", "opensanctions:eu_fsf") == 0
    before = snapshot(out)
    server.routes[path] = reply
    capsys.readouterr()
    assert fetch(server, out, feed, extra=extra) == 2
    assert snapshot(out) == before  # the previous copies are kept, byte for byte
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err.strip()
    assert err.startswith(f"txscreen: error: feed {feed} failed: ")
    assert err.endswith(f"Nothing was installed; the previous copies in {out} are kept")
    assert "\n" not in err
    assert "Traceback" not in err
    return err


def test_404_keeps_the_previous_copy(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 404 for a required file exits 2 with one sentence and keeps the previous copy."""
    err = _failing_run(server, tmp_path, capsys, feed="ofac", path="/ofac/ALT.CSV", reply=Reply(b"gone", 404))
    assert "/ofac/ALT.CSV: the server answered HTTP 404" in err


def test_truncated_download_keeps_the_previous_copy(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A response that stops short of its Content-Length exits 2 and keeps the previous copy."""
    reply = Reply(UN.read_bytes(), cut_at=2000)
    err = _failing_run(server, tmp_path, capsys, feed="un", path="/un.xml", reply=reply)
    assert "cut short" in err


def test_truncated_file_keeps_the_previous_copy(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file the publisher cut (complete response, broken content) fails its reader and changes nothing."""
    reply = Reply(UN.read_bytes()[:2000])
    err = _failing_run(server, tmp_path, capsys, feed="un", path="/un.xml", reply=reply)
    assert "not well-formed XML" in err


def test_timeout_keeps_the_previous_copy(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A server that does not answer within --timeout exits 2 and keeps the previous copy."""
    reply = Reply(UN.read_bytes(), delay=3.0)
    err = _failing_run(
        server, tmp_path, capsys, feed="un", path="/un.xml", reply=reply, extra=("--timeout", "0.5")
    )
    assert "no answer within 0.5 s" in err or "timed out" in err


def test_zero_entities_keeps_the_previous_copy(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A well-formed list with no entities exits 2 and keeps the previous copy."""
    reply = Reply((DATA / "un" / "no-entries.xml").read_bytes())
    err = _failing_run(server, tmp_path, capsys, feed="un", path="/un.xml", reply=reply)
    assert "holds no INDIVIDUAL or ENTITY entries" in err


def test_huge_drop_keeps_the_previous_copy(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A list that lost more than --max-shrink percent of its entities exits 2 and keeps the previous copy."""
    keep = {"NK-HjiV3h2mvToKmbz8KCVqpd", "NK-H62A9T7WLJGEYmxABrWunP"}
    lines = OS_DEFAULT.read_bytes().splitlines(keepends=True)
    small = b"".join(line for line in lines if orjson.loads(line)["id"] in keep or b'"Sanction"' in line)
    path = "/os/eu_fsf/entities.ftm.json"
    err = _failing_run(server, tmp_path, capsys, feed="opensanctions:eu_fsf", path=path, reply=Reply(small))
    assert "the new copy has 2 entities, 50% fewer than the 4 of the previous copy" in err


def test_one_failing_feed_installs_none(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """When one feed of a run fails, the others are not installed either (the set stays consistent)."""
    serve_fixtures(server)
    out = tmp_path / "lists"
    server.routes["/eu.xml"] = Reply(b"", 500)
    assert fetch(server, out, "un", "eu-fsf") == 2
    assert "feed eu-fsf failed" in capsys.readouterr().err
    assert snapshot(out) == {}


def test_proxy_variable_is_honoured(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With http_proxy set, the download goes through the proxy (the test server, seeing absolute URIs)."""
    server.serve("/un.xml", UN.read_bytes())
    monkeypatch.setenv("http_proxy", server.url(""))
    unreachable = "http://127.0.0.1:9/un.xml"  # the discard port: nothing answers there directly
    out = tmp_path / "lists"
    assert main(["lists", "fetch", "un", "--out", str(out), "--un-url", unreachable]) == 0
    assert server.seen == [unreachable]
    assert load_source(str(out / "un" / "consolidated.xml")).list_id == "un"
    assert capsys.readouterr().out.strip().endswith("(first copy)")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "unknown feed 'nope'; expected ofac, un, eu-fsf or opensanctions:DATASET."),
        (["opensanctions:Bad Name"], "an OpenSanctions dataset name is lower case letters"),
        (["un", "un"], "feed 'un' is given twice."),
        (["un", "--un-url", "http://example.org/un.xml"], "only https:// URLs are fetched"),
        (["un", "--un-url", "ftp://example.org/un.xml"], "--un-url must be an https:// URL"),
        (["un", "--max-shrink", "150"], "--max-shrink must be a percentage from 0 to 100"),
    ],
)
def test_bad_arguments_exit_2(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    """Unknown feeds, bad dataset names, plain http off this host and bad limits exit 2 with one sentence."""
    assert main(["lists", "fetch", *args, "--out", str(tmp_path / "lists")]) == 2
    assert message in capsys.readouterr().err


def test_out_is_required(server: Server, capsys: pytest.CaptureFixture[str]) -> None:
    """Without --out or TXSCREEN_LISTS_DIR the command refuses to guess a folder."""
    assert main(["lists", "fetch", "un"]) == 2
    assert "--out DIR (or TXSCREEN_LISTS_DIR) is required" in capsys.readouterr().err


def test_cronjob_manifest_chains_fetch_and_publish() -> None:
    """deploy/ holds a CronJob that runs fetch and, only when it succeeds, publish, one run at a time."""
    manifest = Path(__file__).resolve().parents[4] / "deploy" / "lists-cronjob.yaml"
    documents = list(yaml.safe_load_all(manifest.read_text(encoding="utf-8")))
    cronjob = next(d for d in documents if d["kind"] == "CronJob")
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    container = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    script = " ".join(container["args"])
    fetch_part, publish_part = script.split(" && ")
    assert fetch_part.startswith("txscreen lists fetch ")
    assert "--out /lists" in fetch_part
    assert publish_part.startswith("txscreen lists publish /lists/")


def test_failure_from_a_fresh_interpreter(server: Server, tmp_path: Path) -> None:
    """Run as a user runs it, a failed fetch exits 2 with one sentence on stderr and no traceback."""
    server.routes["/un.xml"] = Reply(b"gone", 404)
    result = run_txscreen(
        "lists", "fetch", "un", "--out", str(tmp_path / "lists"), "--un-url", server.url("/un.xml")
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "the server answered HTTP 404" in result.stderr
    assert "Traceback" not in result.stderr
