"""Fuzzing every command-line option. In-process, the options are parsed and checked as the
headless run does before it loads a dataset (thousands of examples a minute); end to end, a
few tiny runs with fuzzed values. Property (tests/fuzz_support.py): the run completes with
finite results, or exits with code 2 and ONE line naming the option and the fix."""

import pytest

pytest.importorskip("hypothesis", reason="the fuzz suite needs Hypothesis: pip install -e '.[test]'")

import argparse
import json
import math
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from app.cli.headless import check_arguments
from app.cli.main import main
from app.cli.options import build_parser, setting_overrides
from app.engine.settings import defaults_for
from tests.fuzz_support import check_settings, no_hang, read_or_refuse, scratch
from tests.helpers import write_image_folder

PARSER = build_parser()
OPTIONS = [a for a in PARSER._actions if a.option_strings and not isinstance(a, argparse._HelpAction)]

NUMBER_TEXT = st.one_of(
    st.integers(min_value=-10**25, max_value=10**25).map(str),
    st.floats().map(repr),
    st.integers(0, 300).map(str),
    st.floats(0, 2).map(lambda v: f"{v:g}"),
    st.sampled_from(["", " ", "nan", "inf", "-inf", "1e400", "-0", "0", "1", "2", "0.5", "5%", "150%", "%", "-5%",
                     "nan%", "1e9", "0x10", "1_000", "٣", "0,0.1,0.2", "0.2,0.1", "0,,1", ",", "0,0.5,1.5", "auto",
                     "all", "-1", "q0.75", "q1.5", "mean", "median"]),
    st.text(max_size=8),
)


@st.composite
def argument_lists(draw):
    """Any subset of the options, each with a value of its kind or any text."""
    argv = []
    for action in draw(st.lists(st.sampled_from(OPTIONS), unique_by=id, max_size=8)):
        flag = draw(st.sampled_from(action.option_strings))
        if action.nargs == 0:  # store_true
            argv.append(flag)
            continue
        if action.choices and draw(st.integers(0, 3)):
            value = draw(st.sampled_from(list(action.choices)))
        else:
            value = draw(NUMBER_TEXT)
        argv += [f"{flag}={value}"] if value.startswith("-") or not value else [flag, value]
    return argv


def parse_and_check(argv):
    """What run_headless does before it loads the dataset, and the settings it would use."""
    args = PARSER.parse_args(argv)
    check_arguments(args)
    overrides = setting_overrides(args)
    base = defaults_for("gray", **overrides)
    seeds = args.seeds or [base.seed]
    method = args.method if args.method not in (None, "all") else base.method
    for seed in seeds:
        replace(base, method=method, seed=seed).validate()
    return base


@given(argument_lists())
def test_any_options_are_accepted_with_usable_settings_or_refused(argv):
    settings_, refusal = read_or_refuse(lambda: parse_and_check(argv))
    if refusal is None:
        check_settings(settings_)


# -- the subcommands: corrupt and gallery ---------------------------------------------------------------
SUBCOMMAND_OPTIONS = {
    "--dataset": st.one_of(st.sampled_from(["mnist", "cifar10", "imagefolder", "tiny-imagenet", "fashion-mnist", "x"]),
                           st.text(max_size=6).filter(lambda v: v.strip() != "embedded")),
    "--image-size": NUMBER_TEXT, "--suite": st.one_of(st.sampled_from(["mnist-c", "imagenet-c"]), NUMBER_TEXT),
    "--seed": NUMBER_TEXT, "--out": st.text(max_size=8), "--limit": NUMBER_TEXT, "--images": NUMBER_TEXT,
    "--quiet": st.none(), "--data-dir": st.text(max_size=8),
}


@given(st.sampled_from(["corrupt", "gallery"]),
       st.lists(st.sampled_from(sorted(SUBCOMMAND_OPTIONS)), unique=True, max_size=5), st.data())
def test_the_subcommands_options_are_refused_in_one_line(command, flags, data):
    """Whatever the options, a dataset that is not there: the run stops at an error line (the
    suite is never generated), and that line is the only one."""
    import contextlib
    import io

    argv = [command, "--dataset", "mnist", "--data-dir", "/nonexistent/aqpl-fuzz"]
    for flag in flags:
        value = data.draw(SUBCOMMAND_OPTIONS[flag], label=flag)
        if flag == "--quiet":
            argv.append(flag)
        elif flag == "--data-dir":
            argv.append(f"--data-dir=/nonexistent/{value}")
        else:
            argv.append(f"{flag}={value}")
    out, err = io.StringIO(), io.StringIO()
    with no_hang(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    lines = err.getvalue().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: ") and ": " in lines[0][7:], (argv, err.getvalue())


# -- end to end: tiny runs --------------------------------------------------------------------------------
E2E_EXAMPLES = max(4, settings.default.max_examples // 40)  # 5 in the short profile, 250 in the long one

VALUES = {
    "--epochs": st.sampled_from(["1", "2", "0", "-1", "1.5", "x", ""]),
    "--batch-size": st.sampled_from(["1", "4", "16", "1000", "0", "-3", "nan"]),
    "--lr": st.sampled_from(["0.05", "0", "1e30", "-1", "nan", "inf", "1e-300"]),
    "--grid": st.sampled_from(["0,0.5,1", "0,0.1", "0.5", "", "1,0", "0,2", "nan,0.5", "0,0.3,0.3"]),
    "--budget": st.sampled_from(["0", "3", "50%", "150%", "1e9", "-2", "inf", "x"]),
    "--queries-per-round": st.sampled_from(["0", "2", "100", "-1"]),
    "--warmup-epochs": st.sampled_from(["0", "1", "5", "-1"]),
    "--round-every": st.sampled_from(["1", "0", "3"]),
    "--gnt-sigma": st.sampled_from(["0", "0.3", "5", "-1", "nan"]),
    "--gnt-p-clean": st.sampled_from(["0", "0.5", "1", "2"]),
    "--cat-eta": st.sampled_from(["0", "0.01", "1", "-0.1"]),
    "--cat-eps-max": st.sampled_from(["0", "0.3", "2"]),
    "--cat-smoothing": st.sampled_from(["0", "0.5", "100", "-0.2"]),
    "--annotator-noise": st.sampled_from(["0", "0.5", "1", "1.5"]),
    "--seeds": st.sampled_from(["0", "1,2", "4294967295", "-1", "", "x"]),
    "--method": st.sampled_from(["standard", "gnt", "cat", "aqpl-gnt", "aqpl-cat", "vgg"]),
    "--strategy": st.sampled_from(["conformity", "random", "entropy", "least"]),
    "--mode": st.sampled_from(["synchronous", "continuous"]),
    "--propagate": st.sampled_from(["none", "class", "neighbours"]),
    "--image-size": st.sampled_from(["8", "4", "1", "0", "-4"]),
}


@st.composite
def tiny_runs(draw):
    argv = []
    for flag in draw(st.lists(st.sampled_from(sorted(VALUES)), unique=True, max_size=5)):
        value = draw(VALUES[flag])
        argv.append(f"{flag}={value}")
    return argv


@settings(max_examples=E2E_EXAMPLES)
@given(tiny_runs())
def test_tiny_runs_with_any_options_finish_or_exit_with_one_line(argv):
    import contextlib
    import io

    with scratch() as folder:
        write_image_folder(folder / "img", per_class=6)
        (folder / "a.csv").write_text("example_id,level\n" + "".join(f"{i},0.{i % 10}\n" for i in range(10)))
        full = ["--simulate-oracle", "--dataset", "imagefolder", "--data-dir", str(folder / "img"), "--no-suite",
                "--quiet", "--eval-every", "0", "--epochs", "1", "--batch-size", "8", "--method", "standard",
                "--oracle", "replay", "--answers", str(folder / "a.csv"), "--out", str(folder / "o"), *argv]
        out, err = io.StringIO(), io.StringIO()
        with no_hang(300), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(full)
        stderr = err.getvalue()
        assert "Traceback" not in stderr, stderr
        assert code in (0, 2), (code, stderr)
        errors = [line for line in stderr.splitlines() if line.startswith("error:")]
        if code == 2:
            assert len(errors) == 1 and ": " in errors[0][len("error: "):], stderr
            return
        assert not errors, stderr
        results = json.loads((folder / "o" / "results.json").read_text(), parse_constant=lambda c: float("nan"))
        numbers = []

        def walk(value):
            if isinstance(value, dict):
                for v in value.values():
                    walk(v)
            elif isinstance(value, list):
                for v in value:
                    walk(v)
            elif isinstance(value, float):
                numbers.append(value)

        walk(results)
        assert all(math.isfinite(v) for v in numbers), "a NaN or infinity in results.json"
