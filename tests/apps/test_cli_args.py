"""Numeric flags of the `kerasdrop` command: huge, negative, non-finite or
non-numeric values are argparse errors (exit 2) naming the flag."""

import pytest

from kerasdrop.apps import cli


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Parsing only: no `clear_session` per case."""
    yield


HUGE = "99999999999999999999999"
CASES = [
    (["export", "m.keras", "o", "--version", HUGE], "--version"),
    (["export", "m.keras", "o", "--version", "-1"], "--version"),
    (["export", "m.keras", "o", "--version", "1.5"], "--version"),
    (["export", "m.keras", "o", "--mc-samples", "1"], "--mc-samples"),
    (["export", "m.keras", "o", "--mc-samples", HUGE], "--mc-samples"),
    (["export", "m.keras", "o", "--mc-samples", "nan"], "--mc-samples"),
    (["demo", "--epochs", "0"], "--epochs"),
    (["demo", "--epochs", HUGE], "--epochs"),
    (["demo", "--epochs", "1e3"], "--epochs"),
    (["demo", "--samples", "1"], "--samples"),
    (["demo", "--samples", "10000000"], "--samples"),
    (["demo", "--batch-size", "-64"], "--batch-size"),
    (["demo", "--seed", "-1"], "--seed"),
    (["demo", "--seed", str(2**32)], "--seed"),
    (["uci", "d", "--splits", "0"], "--splits"),
    (["uci", "d", "--epochs", HUGE], "--epochs"),
    (["uci", "d", "--samples", "inf"], "--samples"),
    (["uci", "d", "--batch-size", "0"], "--batch-size"),
    (["uci", "d", "--jobs", "5000"], "--jobs"),
    (["uci", "d", "--rate", "nan"], "--rate"),
    (["uci", "d", "--rate", "1"], "--rate"),
    (["uci", "d", "--rate", "-0.1"], "--rate"),
    (["uci", "d", "--rate", "half"], "--rate"),
    (["uci", "d", "--tau", "0"], "--tau"),
    (["uci", "d", "--tau", "inf"], "--tau"),
    (["uci", "d", "--tau", "-2"], "--tau"),
    (["uci", "d", "--tau", "1e400"], "--tau"),
    (["uci", "d", "--seed", "-3"], "--seed"),
    (["uci", "d", "--seed", "0.5"], "--seed"),
]


@pytest.mark.parametrize("argv, flag", CASES, ids=[" ".join(c[0][-2:]) for c in CASES])
def test_bad_number_is_an_argparse_error(argv, flag, capsys):
    with pytest.raises(SystemExit) as info:
        cli.build_parser().parse_args(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"Invalid value received for argument `{flag}`" in err, err
    assert f"{flag[2:]}={argv[-1]!r}" in err, err


def test_good_numbers_parse():
    args = cli.build_parser().parse_args(
        ["uci", "d", "--rate", "0.05", "--tau", "0.5", "--seed", "7", "--jobs", "4"]
    )
    assert (args.rate, args.tau, args.seed, args.jobs) == (0.05, 0.5, 7, 4)
    version = cli.build_parser().parse_args(
        ["export", "m.keras", "o", "--version", str(cli.MAX_VERSION)]
    )
    assert version.version == cli.MAX_VERSION
