"""Finding the shared library: LIBFILTER_LIBRARY, the dynamic linker's
search path, and clear errors. Each case runs in a fresh interpreter,
since the library is loaded once per process."""

from __future__ import annotations

import ctypes.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest

PROBE = """
import libfilter
try:
    print("OK", libfilter.version())
except libfilter.LibraryNotFoundError as e:
    assert isinstance(e, OSError)
    print("ERR", e)
"""


def run(env: Dict[str, str]) -> str:
    base = {k: v for k, v in os.environ.items()
            if k not in ("LIBFILTER_LIBRARY", "LD_LIBRARY_PATH")}
    base.update(env)
    out = subprocess.run([sys.executable, "-c", PROBE], env=base, check=True,
                         capture_output=True, text=True)
    return out.stdout.strip()


def library() -> Path:
    value = os.environ.get("LIBFILTER_LIBRARY")
    if not value:
        pytest.skip("LIBFILTER_LIBRARY is not set")
    return Path(value)


def test_env_var() -> None:
    assert run({"LIBFILTER_LIBRARY": str(library())}).startswith("OK ")


def test_env_var_wrong_path_names_it() -> None:
    out = run({"LIBFILTER_LIBRARY": "/nonexistent/libfilter.so.0.1"})
    assert out.startswith("ERR ") and "LIBFILTER_LIBRARY" in out


def test_env_var_not_libfilter() -> None:
    libc = ctypes.util.find_library("c")
    if not libc:
        pytest.skip("no libc to load")
    out = run({"LIBFILTER_LIBRARY": libc})
    assert out.startswith("ERR ") and "does not export lf_" in out


def test_search_path() -> None:
    out = run({"LD_LIBRARY_PATH": str(library().parent)})
    assert out.startswith("OK ")


def test_not_found_names_env_var() -> None:
    out = run({})
    if out.startswith("OK "):
        pytest.skip("libfilter is installed where the dynamic linker looks")
    assert out.startswith("ERR ") and "LIBFILTER_LIBRARY" in out


def test_import_needs_no_library() -> None:
    # The enums and types are usable without the shared library.
    code = ("import libfilter; assert libfilter.Verdict.SPAM.value == 2; "
            "print(libfilter.Status.ERR_IO.name)")
    base = dict(os.environ, LIBFILTER_LIBRARY="/nonexistent/libfilter.so")
    out = subprocess.run([sys.executable, "-c", code], env=base, check=True,
                         capture_output=True, text=True)
    assert out.stdout.strip() == "ERR_IO"
