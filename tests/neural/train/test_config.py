import pytest

from neural.train.config import RESUME_FREE, TrainConfig


def test_round_trip_and_plain_types():
    config = TrainConfig(run_dir="/tmp/run", epochs=3, betas=(0.8, 0.9))
    values = config.to_dict()
    assert values["betas"] == [0.8, 0.9]
    assert all(
        v is None or isinstance(v, bool | int | float | str | list)
        for v in values.values()
    )
    assert TrainConfig.from_dict(values) == config


def test_resume_mismatches_ignore_the_free_options():
    saved = TrainConfig(total_steps=10, run_dir="a").to_dict()
    same = TrainConfig(total_steps=10, run_dir="b", num_workers=4, resume=True)
    assert same.resume_mismatches(saved) == {}
    assert TrainConfig(total_steps=10, lr=0.2).resume_mismatches(saved) == {
        "lr": (0.1, 0.2)
    }
    assert {"resume", "num_workers", "device"} <= RESUME_FREE


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        (
            {"total_steps": None},
            ValueError,
            "exactly one of `total_steps` and `epochs`",
        ),
        ({"epochs": 2}, ValueError, "exactly one of"),
        ({"total_steps": 0}, ValueError, "`total_steps`"),
        ({"loss": "mse"}, ValueError, "`loss` must be one of"),
        ({"optimizer": "lion"}, ValueError, "`optimizer` must be one of"),
        ({"lr": -1.0}, ValueError, "`lr` must be in"),
        ({"nesterov": True, "optimizer": "adam"}, ValueError, "nesterov"),
        ({"schedule": "exponential"}, ValueError, "`final_lr` must be given"),
        ({"final_lr": 1e-3}, ValueError, "`final_lr` must be given for"),
        ({"warmup_steps": 3}, ValueError, "`warmup_steps` applies"),
        ({"betas": [0.9, 0.99]}, TypeError, "`betas` must be a tuple"),
        ({"shuffle": "yes"}, TypeError, "`shuffle` must be a bool"),
        ({"resume": True}, ValueError, "`resume=True` needs a `run_dir`"),
        ({"run_dir": 3}, TypeError, "`run_dir` must be a str"),
        ({"log_every": 0}, ValueError, "`log_every`"),
        ({"tensorboard": "on"}, ValueError, "`tensorboard` must be one of"),
        ({"grad_clip_norm": 0.0}, ValueError, "`grad_clip_norm`"),
    ],
)
def test_errors_name_the_option(options, error, match):
    with pytest.raises(error, match=match):
        TrainConfig(**{"total_steps": 10, **options})


def test_unknown_keys_are_refused():
    with pytest.raises(ValueError, match=r"unknown options \['nope'\]"):
        TrainConfig.from_dict({"total_steps": 3, "nope": 1})
