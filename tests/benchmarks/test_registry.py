"""benchmarks/registry.py: the static table of ``sapp bench`` verbs."""

import argparse

import pytest

from benchmarks.registry import VERBS, BenchVerb


def test_names_match_their_keys_and_help_is_one_line():
    for name, verb in VERBS.items():
        assert isinstance(verb, BenchVerb) and verb.name == name
        assert verb.help and "\n" not in verb.help
        assert verb.module.startswith("benchmarks.")


@pytest.mark.parametrize("name", list(VERBS))
def test_every_verb_module_adds_options_and_runs(name):
    module = VERBS[name].load()
    assert callable(module.run)
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    args = parser.parse_args([])
    assert args.json is False
