import time

import numpy as np
import pytest
from PIL import Image

from neural.data.imagefolder import ImageFolder
from neural.data.synthetic_images import generate_image_folder


def _tree_bytes(root):
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_layout_and_counts(tmp_path):
    root = generate_image_folder(tmp_path / "tree", n_classes=3, images_per_class=5)
    assert root == tmp_path / "tree"
    assert sorted(p.name for p in root.iterdir()) == [
        "class_00",
        "class_01",
        "class_02",
    ]
    assert all(len(list(d.iterdir())) == 5 for d in root.iterdir())


def test_deterministic_for_a_seed(tmp_path):
    a = _tree_bytes(generate_image_folder(tmp_path / "a", seed=3, corrupt=2))
    b = _tree_bytes(generate_image_folder(tmp_path / "b", seed=3, corrupt=2))
    c = _tree_bytes(generate_image_folder(tmp_path / "c", seed=4, corrupt=2))
    assert a == b
    assert a.keys() == c.keys() and a != c


def test_modes_sizes_and_corrupt_files(tmp_path):
    root = generate_image_folder(tmp_path / "t", images_per_class=8, corrupt=3)
    modes, sizes = set(), set()
    for path in sorted(root.rglob("0*.png")):
        with Image.open(path) as image:
            image.load()
            modes.add(image.mode)
            sizes.add(image.size)
    assert modes == {"RGB", "L", "P"}
    assert len(sizes) > 20  # sizes and aspect ratios vary
    assert all(48 <= w <= 96 and 36 <= h <= 72 for w, h in sizes)
    corrupt = sorted(root.rglob("corrupt_*.png"))
    assert [p.parent.name for p in corrupt] == ["class_00", "class_01", "class_02"]
    for path in corrupt:
        with pytest.raises(OSError), Image.open(path) as image:
            image.load()


def test_classes_are_separable_by_mean_colour(tmp_path):
    # Colour carries the class: nearest centroid on mean RGB of the colour images.
    root = generate_image_folder(tmp_path / "t", n_classes=4, images_per_class=8)
    dataset = ImageFolder(root)
    features, labels = [], []
    for path, label in dataset.samples:
        with Image.open(path) as image:
            if image.mode == "L":
                continue
            features.append(np.asarray(image.convert("RGB"), float).mean((0, 1)))
            labels.append(label)
    features, labels = np.array(features), np.array(labels)
    centroids = np.array([features[labels == k].mean(0) for k in range(4)])
    distances = ((features[:, None] - centroids[None]) ** 2).sum(-1)
    assert (distances.argmin(1) == labels).mean() == 1.0


def test_fast_for_the_default(tmp_path):
    start = time.perf_counter()
    generate_image_folder(tmp_path / "t")
    assert time.perf_counter() - start < 1.0


def test_refuses_to_overwrite(tmp_path):
    generate_image_folder(tmp_path / "t", n_classes=1, images_per_class=1)
    with pytest.raises(FileExistsError, match="already exists"):
        generate_image_folder(tmp_path / "t")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_classes": 0}, ValueError, "`n_classes`"),
        ({"images_per_class": 0}, ValueError, "`images_per_class`"),
        ({"corrupt": -1}, ValueError, "`corrupt`"),
        ({"size": (4, 48)}, ValueError, "`size`"),
        ({"size": 64}, ValueError, "`size` must be a pair"),
        ({"seed": 1.5}, TypeError, "`seed`"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        generate_image_folder(tmp_path / "t", **kwargs)
    assert not (tmp_path / "t").exists()
