"""The command line: help, the fingerprint command, one-line errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from fpliif.cli import COMMANDS, build_parser, main


def test_every_command_has_help(capsys):
    for name in COMMANDS:
        with pytest.raises(SystemExit) as exc:
            main([name, "--help"])
        assert exc.value.code == 0
        assert "default" in capsys.readouterr().out or name == "info"


def test_info_prints_fingerprint(capsys):
    assert main(["info", "--model", "fpliif-noens"]) == 0
    out = capsys.readouterr().out
    assert "2,289,163 parameters" in out  # the ensemble changes cost, not parameters


def test_unknown_choice_is_a_usage_error():
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["info", "--model", "nope"])
    assert exc.value.code == 2


def test_module_entry_point():
    out = subprocess.run(
        [sys.executable, "-m", "fpliif", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.startswith("fpliif ")
