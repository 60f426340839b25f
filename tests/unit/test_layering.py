"""Dependencies point one way: schemas ← matchers ← streams; the core never touches Kafka."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "schemas": {"matchers", "streams", "confluent_kafka", "faust", "aiokafka"},
    "matchers": {"streams", "confluent_kafka", "faust", "aiokafka"},
}


def imported_roots(path: Path) -> set[str]:
    """Top-level package names a module imports."""
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_lower_layers_do_not_import_upper_layers_or_kafka(package: str) -> None:
    """schemas/ and matchers/ import neither the layers above them nor any Kafka client."""
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_roots(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def imported_modules(path: Path) -> set[str]:
    """Full dotted names a module imports (``from streams import x`` counts as ``streams.x``)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def module_name(path: Path) -> str:
    """``streams/worker/screener.py`` → ``streams.worker.screener``."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def streams_modules() -> list[Path]:
    """Every module of the streams package."""
    return sorted((ROOT / "streams").rglob("*.py"))


def within(name: str, package: str) -> bool:
    """Whether module ``name`` is ``package`` or inside it."""
    return name == package or name.startswith(package + ".")


@pytest.mark.parametrize(
    ("importer", "imported"), [("streams.worker", "streams.faust"), ("streams.faust", "streams.worker")]
)
def test_worker_and_faust_never_import_each_other(importer: str, imported: str) -> None:
    """The two engines share the output step (streams.outputs), never each other's code."""
    offenders = {
        module_name(path): sorted(n for n in imported_modules(path) if within(n, imported))
        for path in streams_modules()
        if within(module_name(path), importer)
    }
    assert {k: v for k, v in offenders.items() if v} == {}


#: Modules outside streams/cli allowed to read the environment, and why.
ENVIRON_READERS = {
    # The entry point Faust's own CLI imports (``faust -A streams.faust.main worker``): Faust owns argv
    # there, so the environment is the only way settings reach the app; it is an edge, as cli is.
    "streams.faust.main",
}
#: Calls that parse command-line flags.
FLAG_PARSING = {"ArgumentParser", "parse_args", "parse_known_args", "parse_intermixed_args", "add_subparsers"}


def environ_and_flag_use(path: Path) -> list[str]:
    """``os.environ``/``os.getenv`` reads and flag-parsing calls in a module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os":
            if node.attr in {"environ", "getenv", "environb"}:
                found.append(f"os.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            found += [f"os.{a.name}" for a in node.names if a.name in {"environ", "getenv", "environb"}]
        elif isinstance(node, ast.Call):
            func = node.func
            name = (
                func.attr
                if isinstance(func, ast.Attribute)
                else func.id
                if isinstance(func, ast.Name)
                else ""
            )
            if name in FLAG_PARSING:
                found.append(f"{name}()")
    return found


def test_only_cli_reads_the_environment_and_parses_flags() -> None:
    """Settings are built once at the edge (streams.cli) and passed down; nothing else reads env or argv."""
    offenders = {}
    for path in streams_modules():
        name = module_name(path)
        if within(name, "streams.cli"):
            continue
        found = environ_and_flag_use(path)
        if name in ENVIRON_READERS:
            found = [f for f in found if not f.startswith("os.")]
        if found:
            offenders[name] = found
    assert offenders == {}


#: Production modules allowed to import the development-only rooms, and why.
DEV_ROOM_IMPORTERS = {
    # The command line wires every command, ``txscreen kafka up`` and ``txscreen loadgen`` among them.
    "streams.cli",
    # The demo starts the local broker and makes its sample payments with the synthetic name tables.
    "streams.demo",
}


@pytest.mark.parametrize("room", ["streams.localbroker", "streams.loadgen"])
def test_production_code_never_imports_the_local_broker_or_the_load_generator(room: str) -> None:
    """Engines, the output step and the Kafka room run without the development-only rooms."""
    offenders = {
        module_name(path): sorted(n for n in imported_modules(path) if within(n, room))
        for path in streams_modules()
        if not within(module_name(path), room)
        and not any(within(module_name(path), allowed) for allowed in DEV_ROOM_IMPORTERS)
    }
    assert {k: v for k, v in offenders.items() if v} == {}
