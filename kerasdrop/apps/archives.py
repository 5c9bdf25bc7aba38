"""How much a user's `.keras` file may unpack to, checked before Keras reads it.

A `.keras` file is a zip archive. Keras reads its `config.json` and
`metadata.json` whole into memory and parses them, and reads or extracts the
other members (the weights, assets), so a small file can cost far more than
its size: 300 MB of whitespace in `config.json` deflates to ~300 KB.
`check_unpack_size`, which `kerasdrop inspect` and `kerasdrop export` run
before loading a model, refuses with a `ValueError`:

- an archive whose members unpack to more than 2 GiB in all, or to more than
  10 times the file's size on disk when that is larger (Keras stores its
  members uncompressed, so a file Keras wrote unpacks to about its own
  size and always passes); the environment variable
  `KERASDROP_MAX_UNPACK_BYTES` (a number of bytes) replaces this bound;
- a `config.json` or `metadata.json` above 64 MiB, whether by the size its
  header declares or by what reading it yields (read in chunks, never
  whole); `KERASDROP_MAX_CONFIG_BYTES` replaces this bound.

Python's `zipfile` never yields more than a member's declared size (it
raises a CRC error instead), so the declared sizes bound what Keras reads.

>>> import tempfile, zipfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "bomb.keras"
>>> with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
...     archive.writestr("config.json", "{}" + " " * 99_998)
>>> path.stat().st_size < 1000
True
>>> check_unpack_size(path, max_config=50_000)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: Could not load '...bomb.keras': its config.json would unpack to 100000 bytes, above the bound of 50000 bytes kerasdrop allows ... KERASDROP_MAX_CONFIG_BYTES, e.g. KERASDROP_MAX_CONFIG_BYTES=200000.
"""  # noqa: E501

import os
import zipfile
import zlib

from kerasdrop import _checks

UNPACK_ENV = "KERASDROP_MAX_UNPACK_BYTES"
CONFIG_ENV = "KERASDROP_MAX_CONFIG_BYTES"
#: The unpack bound without `KERASDROP_MAX_UNPACK_BYTES`: at least this ...
DEFAULT_MAX_UNPACK_BYTES = 2 << 30
#: ... or this many times the file's size on disk.
DEFAULT_MAX_EXPANSION = 10
#: The bound on each JSON member without `KERASDROP_MAX_CONFIG_BYTES`.
DEFAULT_MAX_CONFIG_BYTES = 64 << 20
#: The members Keras reads whole into memory and parses.
JSON_MEMBERS = ("config.json", "metadata.json")
_CHUNK = 1 << 20


def env_bytes(name, default):
    """The number of bytes the environment variable `name` sets, or `default`.

    >>> env_bytes("KERASDROP_UNSET_FOR_THIS_EXAMPLE", 7)
    7
    """
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        value = 0
    if value < 1:
        raise _checks.invalid_value(
            name,
            "Expected a positive whole number of bytes (e.g. 4294967296 for "
            "4 GiB), or the variable unset for the default bound.",
            f"{name}={raw!r}",
        )
    return value


def check_unpack_size(path, max_unpack=None, max_config=None):
    """Raises `ValueError` if the `.keras` archive `path` unpacks to too much.

    `max_unpack` and `max_config` (bytes) replace the bounds; None: from the
    environment or the defaults (see the module docstring). Reads the zip
    directory and, in bounded chunks, the JSON members; never a whole member
    into memory. Example: see the module docstring.
    """
    max_unpack = _checks.check_int("max_unpack", max_unpack, 1, allow_none=True)
    max_config = _checks.check_int("max_config", max_config, 1, allow_none=True)
    on_disk = os.path.getsize(path)
    default = max(DEFAULT_MAX_UNPACK_BYTES, DEFAULT_MAX_EXPANSION * on_disk)
    unpack_bound = max_unpack or env_bytes(UNPACK_ENV, default)
    config_bound = max_config or env_bytes(CONFIG_ENV, DEFAULT_MAX_CONFIG_BYTES)
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            total = sum(info.file_size for info in infos)
            if total > unpack_bound:
                raise _too_big(path, "it", total, unpack_bound, UNPACK_ENV)
            for info in infos:
                if info.filename in JSON_MEMBERS:
                    _check_member(archive, info, path, config_bound)
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, EOFError) as err:
        raise ValueError(
            f"Could not load '{path}': the model file is corrupt or not a "
            f"`.keras` model ({type(err).__name__}: {err})."
        ) from err


def _check_member(archive, info, path, bound):
    """Refuses `info` above `bound`, declared or read (in chunks)."""
    what = f"its {info.filename}"
    if info.file_size > bound:
        raise _too_big(path, what, info.file_size, bound, CONFIG_ENV)
    read = 0
    with archive.open(info) as member:
        while chunk := member.read(_CHUNK):
            read += len(chunk)
            if read > bound:
                raise _too_big(path, what, read, bound, CONFIG_ENV, "at least ")


def _too_big(path, what, size, bound, env, at_least=""):
    return ValueError(
        f"Could not load '{path}': {what} would unpack to {at_least}"
        f"{_mib(size)}{_exact(size)}, above the bound of {_mib(bound)} "
        f"kerasdrop allows before reading a `.keras` file (a guard against "
        f"decompression bombs). If you trust this file, raise the bound with "
        f"the environment variable {env}, e.g. {env}={max(size, bound) * 2}."
    )


def _mib(size):
    if size >= 1 << 30:
        return f"{size / (1 << 30):.1f} GiB"
    return f"{size / (1 << 20):.1f} MiB" if size >= 1 << 20 else f"{size} bytes"


def _exact(size):
    return f" ({size} bytes)" if size >= 1 << 20 else ""
