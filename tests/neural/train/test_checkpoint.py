import hashlib
import re

import pytest
import torch

from neural.train import checkpoint
from neural.train.checkpoint import (
    FORMAT_VERSION,
    CheckpointError,
    CheckpointManager,
    CheckpointWarning,
    checkpoint_name,
    load_checkpoint,
    save_checkpoint,
    verify_checkpoint,
)
from neural.train.rng import get_rng_state


def _state(value):
    return {
        "model": {"weight": torch.full((3, 2), float(value))},
        "position": {"step": value, "epoch": 0, "batch": value},
        "rng": [get_rng_state()],
        "config": {"lr": 0.1, "betas": [0.9, 0.999], "run_dir": None},
    }


class Crash(Exception):
    pass


def test_round_trip_uses_only_weights_only_types(tmp_path):
    path = tmp_path / "ckpt.pt"
    digest = save_checkpoint(path, _state(7))
    assert (tmp_path / "ckpt.pt.sha256").read_text() == f"{digest}  ckpt.pt\n"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    # the file loads with plain torch.load(weights_only=True), no allow-list
    raw = torch.load(path, weights_only=True)
    assert raw["format_version"] == FORMAT_VERSION
    state = load_checkpoint(path)
    assert torch.equal(state["model"]["weight"], torch.full((3, 2), 7.0))
    assert state["config"]["betas"] == [0.9, 0.999]


def test_crash_in_the_middle_of_a_write_keeps_the_previous_checkpoint(
    tmp_path, monkeypatch
):
    manager = CheckpointManager(tmp_path, keep=3)
    manager.save(10, _state(10))

    def crashing_write(state, path):
        path.write_bytes(b"PK\x03\x04 half a zip")
        raise Crash

    monkeypatch.setattr(checkpoint, "_write_payload", crashing_write)
    with pytest.raises(Crash):
        manager.save(20, _state(20))
    assert [p.name for p in manager.checkpoints()] == ["ckpt-00000010.pt"]
    assert not list(tmp_path.glob(".*.tmp"))  # the temporary file was removed
    assert (tmp_path / "latest").read_text() == "ckpt-00000010.pt\n"
    path, state = manager.load_latest()
    assert path.name == "ckpt-00000010.pt" and state["position"]["step"] == 10


def test_temporary_files_of_a_killed_writer_are_ignored_and_removed(tmp_path):
    manager = CheckpointManager(tmp_path)
    manager.save(10, _state(10))
    leftover = tmp_path / ".ckpt-00000020.pt.k3j2.tmp"  # SIGKILL: no cleanup ran
    leftover.write_bytes(b"PK\x03\x04")
    other = tmp_path / ".metrics.jsonl.x.tmp"  # not ours: untouched
    other.write_text("")
    assert manager.load_latest()[0].name == "ckpt-00000010.pt"
    assert manager.remove_temporaries() == [leftover]
    assert other.exists()


def test_payload_without_its_record_is_refused_and_skipped(tmp_path):
    manager = CheckpointManager(tmp_path)
    manager.save(10, _state(10))
    manager.save(20, _state(20))
    (tmp_path / "ckpt-00000020.pt.sha256").unlink()  # killed before the record
    with pytest.raises(
        CheckpointError, match=r"ckpt-00000020\.pt.*no integrity record"
    ):
        load_checkpoint(tmp_path / "ckpt-00000020.pt")
    with pytest.warns(CheckpointWarning, match=r"ckpt-00000020\.pt"):
        path, state = manager.load_latest()
    assert path.name == "ckpt-00000010.pt"


def test_truncated_checkpoint_is_refused_with_a_message_naming_it(tmp_path):
    path = tmp_path / checkpoint_name(30)
    save_checkpoint(path, _state(30))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    message = re.escape(str(path)) + ".*corrupt or truncated"
    with pytest.raises(CheckpointError, match=message):
        verify_checkpoint(path)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(path)
    # without the digest check, torch.load's own failure is reported the same way
    with pytest.raises(
        CheckpointError, match=re.escape(str(path)) + ".*could not be loaded"
    ):
        load_checkpoint(path, verify=False)


def test_flipped_byte_is_detected(tmp_path):
    path = tmp_path / "ckpt-00000001.pt"
    save_checkpoint(path, _state(1))
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_checkpoint(path)


class Arbitrary:
    pass


def test_objects_outside_weights_only_are_refused(tmp_path):
    path = tmp_path / "ckpt-00000001.pt"
    save_checkpoint(path, {"payload": Arbitrary()})  # valid digest, unsafe content
    verify_checkpoint(path)
    with pytest.raises(CheckpointError, match=r"weights_only=True"):
        load_checkpoint(path)


def test_other_format_version_is_refused(tmp_path):
    path = tmp_path / "ckpt-00000001.pt"
    torch.save({"format_version": 99}, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    (tmp_path / "ckpt-00000001.pt.sha256").write_text(f"{digest}  {path.name}\n")
    with pytest.raises(CheckpointError, match="format_version 99"):
        load_checkpoint(path)


def test_missing_and_malformed_records(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.pt")
    path = tmp_path / "ckpt-00000001.pt"
    save_checkpoint(path, _state(1))
    (tmp_path / "ckpt-00000001.pt.sha256").write_text("garbage\n")
    with pytest.raises(CheckpointError, match="malformed"):
        load_checkpoint(path)


def test_rotation_keeps_the_newest_and_points_latest_at_the_last(tmp_path):
    manager = CheckpointManager(tmp_path, keep=2)
    for step in (5, 10, 15, 20):
        manager.save(step, _state(step))
    assert [p.name for p in manager.checkpoints()] == [
        "ckpt-00000015.pt",
        "ckpt-00000020.pt",
    ]
    assert sorted(p.name for p in tmp_path.glob("*.sha256")) == [
        "ckpt-00000015.pt.sha256",
        "ckpt-00000020.pt.sha256",
    ]
    assert (tmp_path / "latest").read_text() == "ckpt-00000020.pt\n"


def test_a_resumed_run_rotates_below_its_step_only(tmp_path):
    manager = CheckpointManager(tmp_path, keep=2)
    for step in (5, 10, 15):
        manager.save(step, _state(step))
    (tmp_path / "ckpt-00000015.pt.sha256").unlink()  # the killed run's last one
    manager.save(12, _state(12))  # the resumed run (from 10) continues
    assert [p.name for p in manager.checkpoints()] == [
        "ckpt-00000010.pt",
        "ckpt-00000012.pt",
        "ckpt-00000015.pt",
    ]
    with pytest.warns(CheckpointWarning):
        assert manager.load_latest()[0].name == "ckpt-00000012.pt"


def test_empty_folder_has_no_checkpoint(tmp_path):
    manager = CheckpointManager(tmp_path / "absent")
    assert manager.checkpoints() == [] and manager.load_latest() is None
    assert manager.remove_temporaries() == []


def test_final_model_file(tmp_path):
    path = CheckpointManager(tmp_path).save_model({"w": torch.ones(2)})
    assert path.name == "model.pt"
    assert torch.equal(load_checkpoint(path)["model"]["w"], torch.ones(2))


def test_arguments_are_checked(tmp_path):
    with pytest.raises(TypeError, match="format_version"):
        save_checkpoint(tmp_path / "x.pt", {"format_version": 2})
    with pytest.raises(ValueError, match="`keep`"):
        CheckpointManager(tmp_path, keep=0)
    with pytest.raises(ValueError, match="`step`"):
        checkpoint_name(-1)
