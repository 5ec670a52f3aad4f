import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from neural.data.imagefolder import ImageFolder, load_rgb
from neural.data.synthetic_images import generate_image_folder
from neural.data.transforms import eval_transform, train_transform

N_CLASSES, PER_CLASS = 3, 4


@pytest.fixture(scope="module")
def clean_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("clean") / "tree"
    return generate_image_folder(root, n_classes=N_CLASSES, images_per_class=PER_CLASS)


@pytest.fixture(scope="module")
def corrupt_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("corrupt") / "tree"
    return generate_image_folder(
        root, n_classes=N_CLASSES, images_per_class=PER_CLASS, corrupt=2
    )


def _is_corrupt(path):
    return Path(path).name.startswith("corrupt_")


def _bad_indices(dataset):
    return [i for i, (path, _) in enumerate(dataset.samples) if _is_corrupt(path)]


def test_length_classes_and_targets(clean_root):
    dataset = ImageFolder(clean_root)
    assert len(dataset) == N_CLASSES * PER_CLASS
    assert dataset.classes == ["class_00", "class_01", "class_02"]
    assert dataset.class_to_idx == {"class_00": 0, "class_01": 1, "class_02": 2}
    assert dataset.targets == [k for k in range(N_CLASSES) for _ in range(PER_CLASS)]
    assert [t for _, t in dataset.samples] == dataset.targets
    assert dataset.scan_errors == {} and dataset.skipped == {}


def test_samples_after_eval_transform(clean_root):
    dataset = ImageFolder(clean_root, transform=eval_transform(40, 32))
    for i in (0, 3, 5, -1):  # index 3 is a grayscale file, 5 a palette one
        x, y = dataset[i]
        assert x.shape == (3, 32, 32) and x.dtype == torch.float32
        assert y == dataset.targets[i]
    image, _ = ImageFolder(clean_root)[3]
    assert isinstance(image, Image.Image) and image.mode == "RGB"


def test_runtime_fallback_skips_and_counts(corrupt_root, caplog):
    dataset = ImageFolder(corrupt_root, transform=eval_transform(40, 32))
    bad = _bad_indices(dataset)
    assert len(dataset) == N_CLASSES * PER_CLASS + 2 and len(bad) == 2
    with caplog.at_level(logging.WARNING, logger="neural.data.imagefolder"):
        for _ in range(2):  # two epochs: counted twice, logged once per file
            for i in bad:
                x, y = dataset[i]
                # Deterministic: the next sample, cyclically.
                assert y == dataset.targets[(i + 1) % len(dataset)]
                assert x.shape == (3, 32, 32)
    assert set(dataset.skipped) == {dataset.samples[i][0] for i in bad}
    assert dataset.n_skipped == 4
    assert len([r for r in caplog.records if "skipping" in r.getMessage()]) == 2
    assert "truncated" in dataset.skipped[dataset.samples[bad[0]][0]]
    assert "UnidentifiedImageError" in dataset.skipped[dataset.samples[bad[1]][0]]


def test_verify_drops_corrupt_files_up_front(corrupt_root):
    dataset = ImageFolder(corrupt_root)
    bad_paths = {dataset.samples[i][0] for i in _bad_indices(dataset)}
    found = dataset.verify()
    assert set(found) == bad_paths and dataset.scan_errors == found
    assert len(dataset) == N_CLASSES * PER_CLASS
    assert dataset.targets == [t for _, t in dataset.samples]
    for i in range(len(dataset)):
        dataset[i]
    assert dataset.n_skipped == 0 and dataset.skipped == {}
    assert dataset.verify() == {}  # idempotent


@pytest.mark.parametrize(("decode", "num_threads"), [(False, 1), (True, 2)])
def test_verify_options_find_the_same_files(corrupt_root, decode, num_threads):
    dataset = ImageFolder(corrupt_root)
    found = dataset.verify(decode=decode, num_threads=num_threads)
    assert len(found) == 2 and all(_is_corrupt(path) for path in found)


def test_dataloader_with_two_workers(corrupt_root):
    dataset = ImageFolder(corrupt_root, transform=train_transform(16))

    def epoch():
        loader = DataLoader(dataset, batch_size=4, num_workers=2)
        return [(x.clone(), y.clone()) for x, y in loader]

    torch.manual_seed(0)
    first = epoch()
    assert sum(len(y) for _, y in first) == len(dataset)
    assert all(x.shape[1:] == (3, 16, 16) for x, _ in first)
    torch.manual_seed(0)
    second = epoch()
    for (xa, ya), (xb, yb) in zip(first, second, strict=True):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
    # Skips happened in the workers: the main process's copy saw none.
    assert dataset.n_skipped == 0


def test_case_insensitive_extensions_hidden_folders_and_other_files(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "nested").mkdir(parents=True)
    (tmp_path / ".cache").mkdir()
    Image.new("RGB", (5, 4), (255, 0, 0)).save(tmp_path / "a" / "X.JPG")
    Image.new("CMYK", (5, 4)).save(tmp_path / "a" / "nested" / "y.jpeg")
    Image.new("L", (5, 4)).save(tmp_path / "b" / "z.Png")
    Image.new("RGB", (5, 4)).save(tmp_path / ".cache" / "w.png")
    (tmp_path / "b" / "notes.txt").write_text("not an image")
    dataset = ImageFolder(tmp_path)
    assert dataset.classes == ["a", "b"]
    assert [p.rsplit("/", 1)[-1] for p, _ in dataset.samples] == [
        "X.JPG",
        "y.jpeg",
        "z.Png",
    ]
    assert all(dataset[i][0].mode == "RGB" for i in range(3))
    only_png = ImageFolder(tmp_path, extensions=(".PNG", ".jpg"))
    assert len(only_png) == 2


def test_load_rgb_detaches_from_file(clean_root):
    path = next(clean_root.glob("class_00/0000.png"))
    image = load_rgb(path)
    assert image.mode == "RGB"
    assert np.asarray(image).shape == (image.size[1], image.size[0], 3)


def test_errors(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match="nowhere"):
        ImageFolder(missing)
    with pytest.raises(ValueError, match="no class folder"):
        ImageFolder(tmp_path)
    (tmp_path / "cat").mkdir()
    (tmp_path / "dog").mkdir()
    Image.new("RGB", (4, 4)).save(tmp_path / "cat" / "0.png")
    (tmp_path / "dog" / "readme.txt").write_text("x")
    with pytest.raises(ValueError, match=r"\['dog'\] hold no file"):
        ImageFolder(tmp_path)
    with pytest.raises(TypeError, match="`transform`"):
        ImageFolder(tmp_path / "cat", transform=3)


def test_index_errors(clean_root):
    dataset = ImageFolder(clean_root)
    with pytest.raises(IndexError, match="`index`"):
        dataset[len(dataset)]
    with pytest.raises(TypeError, match="`index`"):
        dataset[1.0]


def test_all_unreadable(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "0.png").write_bytes(b"garbage")
    (tmp_path / "a" / "1.png").write_bytes(b"more garbage")
    dataset = ImageFolder(tmp_path)
    with pytest.raises(RuntimeError, match="could be decoded"):
        dataset[0]
    with pytest.raises(ValueError, match="no readable image"):
        dataset.verify()
    assert len(dataset) == 2 and dataset.scan_errors == {}
    with pytest.raises(ValueError, match="`num_threads`"):
        dataset.verify(num_threads=0)
