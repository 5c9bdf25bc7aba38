import os
import shutil
import subprocess
import sys

import pytest

from kerasdrop import cli


def test_console_script_help():
    exe = shutil.which("kerasdrop")
    if exe is None:
        pytest.fail("the `kerasdrop` console script is not installed (pip install -e .)")
    out = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0
    assert "demo" in out.stdout
    demo_help = cli.build_parser()._subparsers._group_actions[0].choices["demo"].format_help()
    assert "--epochs" in demo_help and "--quick" in demo_help


def test_demo_bad_arguments_exit_with_a_message(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["demo", "--epochs", "0"])
    assert info.value.code == 2
    assert "Received: epochs='0'" in capsys.readouterr().err


def test_python_dash_m_runs():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run(
        [sys.executable, "-m", "kerasdrop", "--version"],
        capture_output=True, text=True, timeout=120, env=env,
    )
    assert out.returncode == 0 and "kerasdrop" in out.stdout
