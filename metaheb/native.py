"""C++ kernels built for this CPU with the system's compiler, cached on disk, loaded by ctypes.

Serves ``metaheb.encoder_kernel`` (CarRacing's convolutions) and ``metaheb.update_kernel`` (the
rule update). Each source is built with ``-march=native`` and contraction off, so a kernel
rounds exactly where its source says (``std::fma`` or a fused multiply-add intrinsic) and
nowhere else; the library is cached under the hash of source, flags and CPU, so it is built
once per machine and source. Each caller checks its kernel against the plain path once per
process and keeps the plain path, with a one-line notice, where the values differ or nothing
builds.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

FLAGS = ("-O3", "-march=native", "-ffp-contract=off", "-std=c++17", "-shared", "-fPIC")
STALE_AFTER_DAYS = 7  # builds of a source's older versions are removed once this old
BUILD_ERRORS = (OSError, subprocess.CalledProcessError)


def cache_dir() -> Path:
    """Where built kernels are kept: ``$XDG_CACHE_HOME/metaheb`` (``~/.cache/metaheb``)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "metaheb"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("model name", "flags")):
                return line
    except OSError:
        pass
    return platform.processor()


def cxx_compiler() -> str | None:
    """The C++ compiler the kernels (and torch.compile) build with, if any: ``$CXX``, else the
    first of g++, clang++ and c++ on the path."""
    names = [os.environ["CXX"]] if os.environ.get("CXX") else ["g++", "clang++", "c++"]
    return next((path for path in map(shutil.which, names) if path), None)


def build(source: Path, compiler: str | None = None, extra: tuple[str, ...] = ()) -> Path:
    """The shared library built from ``source`` for this CPU, from the cache when it is there.
    ``extra``: flags after the source (include folders, libraries to link), part of the cache
    key. Written atomically, so workers building at once leave one whole file."""
    text = with_local_headers(source)
    flags = " ".join((*FLAGS, *extra)).encode()
    key = hashlib.sha256(text + flags + _cpu_model().encode()).hexdigest()
    target = cache_dir() / f"{source.stem}-{key[:16]}.so"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        built = Path(scratch) / target.name
        subprocess.run(
            [compiler or cxx_compiler() or "c++", *FLAGS, str(source), *extra, "-o", str(built)],
            check=True,
            capture_output=True,
            text=True,
        )
        os.replace(built, target)
    _remove_stale_builds(target, source.stem)
    return target


def with_local_headers(source: Path) -> bytes:
    """The source's text followed by each header it includes from its own folder
    (``#include "name.h"``, and theirs in turn, each once): what the library's cache key hashes, so
    an edit of a header builds anew."""
    seen: dict[Path, bytes] = {}
    pending = [source]
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen[path] = path.read_bytes()
        names = re.findall(rb'^\s*#include "([^"]+)"', seen[path], flags=re.MULTILINE)
        pending.extend(source.parent / name.decode() for name in reversed(names))
    return b"".join(seen.values())


def _remove_stale_builds(kept: Path, stem: str) -> None:
    """Remove builds of ``stem`` from other sources or CPUs not touched for ``STALE_AFTER_DAYS``:
    each edit of a kernel's source leaves a new library in the cache. A recent one may belong to
    another checkout, so it stays; a process that loaded a removed one keeps its mapping."""
    now = time.time()
    for old in kept.parent.glob(f"{stem}-*.so"):
        try:
            if old != kept and now - old.stat().st_mtime > STALE_AFTER_DAYS * 86400:
                old.unlink()
        except OSError:
            pass  # another process removed it first


def load(path: Path, name: str, argtypes: list | None = None) -> ctypes._CFuncPtr:
    """The library's entry point ``name``, returning a C int (0: done)."""
    function = getattr(ctypes.CDLL(str(path)), name)
    function.restype = ctypes.c_int
    if argtypes is not None:
        function.argtypes = argtypes
    return function


def build_error_line(error: BaseException) -> str:
    """What a failed build or load says, on one line: the compiler's first line of stderr."""
    why = getattr(error, "stderr", None) or str(error) or type(error).__name__
    return why.strip().splitlines()[0][:160] if why.strip() else type(error).__name__
