"""One source of defaults (resources/defaults.toml) and names from the registries."""

import tomllib
from dataclasses import fields

import pytest

from app.engine.choices import validated
from app.errors import AQPLError, SettingsError
from app.engine.methods import METHODS
from app.engine.settings import Settings, defaults_for, load_defaults
from app.engine.strategies import STRATEGIES, select, strategy
from app.resources import resource_path
from models import MODEL_CHOICES, MODELS, UnknownModelError, build

NOT_IN_TOML = {"data_dir", "image_size", "cat_smoothing"}  # their default is None: TOML has no null


def test_the_dataclass_defaults_are_the_toml_defaults():
    assert Settings() == defaults_for("gray")
    with open(resource_path("defaults.toml"), "rb") as f:
        tables = tomllib.load(f)
    names = {f.name for f in fields(Settings)}
    assert set(tables) == {"common", "gray", "colour", "gui", "reference"}
    for table in ("common", "gray", "colour", "gui"):
        values = tables[table]
        assert set(values) <= names, f"[{table}] names no setting: {set(values) - names}"
    # the reference model's recipe (the noise-reference simulated expert) reads exactly these
    assert set(tables["reference"]) == {"batch_size", "lr", "max_lr", "momentum", "weight_decay"}
    assert names - NOT_IN_TOML == set(tables["common"]) | set(tables["gray"])
    assert set(tables["colour"]) == set(tables["gray"])  # every family sets the same things


def test_the_gui_defaults_differ_only_where_the_toml_says():
    headless, gui = load_defaults("gray"), load_defaults("gray", gui=True)
    assert {k for k in gui if gui[k] != headless[k]} == {"mode", "method", "propagate", "unanswered_ceiling"}
    assert gui["mode"] == "continuous" and gui["method"] == "aqpl-gnt" and gui["propagate"] == "neighbours"


@pytest.mark.parametrize("name, value", [("model", "resnet50"), ("reference_model", "vgg"), ("method", "aqpl"),
                                         ("strategy", "entropy"), ("oracle_recipe", "human")])
def test_an_unknown_name_is_one_line_naming_the_choices(name, value):
    with pytest.raises(SettingsError) as caught:
        validated(Settings.from_dict({**Settings().to_dict(), name: value}))  # as from a project's settings.toml
    message = str(caught.value)
    assert "\n" not in message and repr(value) in message and "choose one of" in message


def test_an_unknown_model_is_an_aqpl_error():
    with pytest.raises(AQPLError, match="resnet50"):
        build("resnet50", 10, 1, 28)
    assert issubclass(UnknownModelError, AQPLError)
    assert set(MODEL_CHOICES) == {"auto", *MODELS}


def test_validation_and_the_command_line_read_the_registries():
    from app.cli.options import build_parser

    @strategy("test-first")
    def first(probs, b, generator=None, target_entropy=None):
        import torch

        return torch.arange(b), torch.zeros(len(probs))

    try:
        assert validated(Settings(strategy="test-first")).strategy == "test-first"
        assert select("test-first", __import__("torch").rand(5, 3), 2)[0].tolist() == [0, 1]
        choices = {a.dest: a.choices for a in build_parser()._actions if a.choices}
        assert "test-first" in choices["strategy"]
        assert list(choices["method"]) == [*METHODS, "all"] and list(choices["model"]) == list(MODEL_CHOICES)
    finally:
        del STRATEGIES["test-first"]


def test_every_command_line_option_says_what_it_does():
    from app.cli.options import build_parser

    missing = [a.option_strings[0] for a in build_parser()._actions if a.option_strings and not a.help]
    assert missing == []
