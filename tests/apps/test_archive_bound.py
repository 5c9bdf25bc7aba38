"""kerasdrop.apps.archives: a `.keras` file may not unpack to more than a bound.

The crafted archives are small on disk and written in chunks: no test holds
a large member in memory, and the check itself reads in bounded chunks.
"""

import struct
import tracemalloc
import zipfile

import pytest

from kerasdrop.apps import archives, cli

MiB = 1 << 20


def whitespace_archive(path, config_bytes, **members):
    """A zip whose config.json is `{}` then whitespace, `config_bytes` long."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("config.json", "w", force_zip64=True) as f:
            f.write(b"{}")
            left = config_bytes - 2
            while left > 0:
                f.write(b" " * min(left, MiB))
                left -= MiB
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def declare_size(path, name, size):
    """Rewrites the uncompressed size `name`'s headers declare (32-bit)."""
    data = bytearray(path.read_bytes())
    encoded = name.encode()
    headers = ((b"PK\x01\x02", 24, 46), (b"PK\x03\x04", 22, 30))  # central, local
    for signature, offset, name_at in headers:
        at = data.find(signature)
        while data[at + name_at : at + name_at + len(encoded)] != encoded:
            at = data.find(signature, at + 1)
        struct.pack_into("<I", data, at + offset, size)
    path.write_bytes(bytes(data))


def run_cli(argv, capsys):
    code = cli.main(argv)
    return code, capsys.readouterr().err


def test_a_whitespace_config_is_refused_without_reading_it_whole(tmp_path):
    path = whitespace_archive(tmp_path / "bomb.keras", 65 * MiB)
    assert path.stat().st_size < MiB  # 65 MiB deflates to ~66 KB
    tracemalloc.start()
    try:
        with pytest.raises(ValueError) as info:
            archives.check_unpack_size(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * MiB, peak
    message = str(info.value)
    for part in (f"'{path}'", "config.json", "65.0 MiB", "64.0 MiB"):
        assert part in message, message
    assert "KERASDROP_MAX_CONFIG_BYTES=" in message


def test_the_declared_total_is_bounded_before_any_read(tmp_path, monkeypatch):
    path = whitespace_archive(
        tmp_path / "m.keras", 100, **{"model.weights.h5": b"\0" * 1000}
    )
    archives.check_unpack_size(path)
    declare_size(path, "model.weights.h5", 3 << 30)  # 3 GiB, from 1 KB on disk
    with pytest.raises(ValueError, match="would unpack to 3.0 GiB.*2.0 GiB") as info:
        archives.check_unpack_size(path)
    assert "KERASDROP_MAX_UNPACK_BYTES=" in str(info.value)
    monkeypatch.setenv("KERASDROP_MAX_UNPACK_BYTES", str(4 << 30))
    archives.check_unpack_size(path)  # raised: the weights are not read here
    monkeypatch.setenv("KERASDROP_MAX_UNPACK_BYTES", "1000")
    with pytest.raises(ValueError, match="above the bound of 1000 bytes"):
        archives.check_unpack_size(whitespace_archive(tmp_path / "s.keras", 1001))


def test_a_header_that_understates_a_member_is_caught(tmp_path):
    path = whitespace_archive(tmp_path / "liar.keras", 2 * MiB)
    declare_size(path, "config.json", 10)
    with pytest.raises(ValueError, match="corrupt.*CRC"):
        archives.check_unpack_size(path)


def test_the_bounds_come_from_the_environment(tmp_path, monkeypatch):
    path = whitespace_archive(
        tmp_path / "m.keras", 3000, **{"metadata.json": "{}" + " " * 2000}
    )
    monkeypatch.setenv("KERASDROP_MAX_CONFIG_BYTES", "2500")
    with pytest.raises(ValueError, match="its config.json would unpack to 3000"):
        archives.check_unpack_size(path)
    monkeypatch.setenv("KERASDROP_MAX_CONFIG_BYTES", "1_000")
    with pytest.raises(ValueError, match="above the bound of 1000 bytes"):
        archives.check_unpack_size(path)
    monkeypatch.setenv("KERASDROP_MAX_CONFIG_BYTES", "5000")
    archives.check_unpack_size(path)
    for raw in ("2G", "0", "-1", "1.5"):
        monkeypatch.setenv("KERASDROP_MAX_CONFIG_BYTES", raw)
        with pytest.raises(ValueError, match="argument `KERASDROP_MAX_CONFIG_BYTES`"):
            archives.check_unpack_size(path)
    with pytest.raises(ValueError, match="argument `max_config`"):
        archives.check_unpack_size(path, max_config=0)


def test_inspect_and_export_refuse_before_loading(tmp_path, monkeypatch, capsys):
    import keras

    model = tmp_path / "m.keras"
    keras.Sequential([keras.Input((4,), name="x"), keras.layers.Dense(2)]).save(model)
    bomb = whitespace_archive(tmp_path / "bomb.keras", 65 * MiB)
    out = tmp_path / "served"
    for command in (["inspect", str(bomb)], ["export", str(bomb), str(out)]):
        code, err = run_cli(command, capsys)
        assert code == 1 and f"'{bomb}'" in err and "64.0 MiB" in err, err
        assert "KERASDROP_MAX_CONFIG_BYTES" in err and not out.exists()
    assert run_cli(["inspect", str(model)], capsys)[0] == 0  # a real model loads
    monkeypatch.setenv("KERASDROP_MAX_UNPACK_BYTES", "100")
    code, err = run_cli(["inspect", str(model)], capsys)
    assert code == 1 and "KERASDROP_MAX_UNPACK_BYTES=" in err, err
