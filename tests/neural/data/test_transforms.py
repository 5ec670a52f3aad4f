import random
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from neural.data.transforms import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    CenterCrop,
    Compose,
    Normalize,
    RandomHorizontalFlip,
    RandomResizedCrop,
    Resize,
    ToRGB,
    ToTensor,
    eval_transform,
    to_rgb,
    train_transform,
)


def _noise_image(width=80, height=60, seed=0, mode="RGB"):
    rng = np.random.default_rng(seed)
    channels = {"RGB": (3,), "L": ()}[mode]
    pixels = rng.integers(0, 256, size=(height, width, *channels), dtype=np.uint8)
    return Image.fromarray(pixels, mode=mode)


# ---------------------------------------------------------------- shapes, ranges


def test_to_tensor_values_layout_and_dtype():
    image = _noise_image(7, 5)
    x = ToTensor()(image)
    assert x.shape == (3, 5, 7) and x.dtype == torch.float32
    expected = torch.from_numpy(np.asarray(image).astype(np.float32) / 255.0)
    torch.testing.assert_close(x, expected.permute(2, 0, 1))
    assert 0.0 <= x.min() and x.max() <= 1.0
    gray = ToTensor()(_noise_image(7, 5, mode="L"))
    assert gray.shape == (1, 5, 7)


def test_train_transform_shape_dtype_and_range():
    torch.manual_seed(0)
    x = train_transform(32)(_noise_image(80, 60))
    assert x.shape == (3, 32, 32) and x.dtype == torch.float32
    low = (0.0 - torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD)
    high = (1.0 - torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD)
    per_channel = x.flatten(1)
    assert torch.all(per_channel.min(1).values >= low - 1e-5)
    assert torch.all(per_channel.max(1).values <= high + 1e-5)


def test_eval_transform_default_is_224_from_256():
    transform = eval_transform()
    assert [type(t) for t in transform.transforms] == [
        ToRGB,
        Resize,
        CenterCrop,
        ToTensor,
        Normalize,
    ]
    x = transform(_noise_image(400, 300))
    assert x.shape == (3, 224, 224)


def test_grayscale_and_palette_images_give_three_channels():
    torch.manual_seed(0)
    gray = _noise_image(50, 40, mode="L")
    assert train_transform(16)(gray).shape == (3, 16, 16)
    palette = _noise_image(50, 40).quantize(8)
    assert eval_transform(20, 16)(palette).shape == (3, 16, 16)


# ---------------------------------------------------------------- RGB conversion


def test_to_rgb_modes():
    rgb = _noise_image(6, 4)
    assert to_rgb(rgb) is rgb
    gray = Image.new("L", (3, 2), 9)
    assert to_rgb(gray).getpixel((0, 0)) == (9, 9, 9)
    cmyk = Image.new("CMYK", (3, 2), (0, 0, 0, 0))
    assert to_rgb(cmyk).getpixel((0, 0)) == (255, 255, 255)
    rgba = Image.new("RGBA", (3, 2), (10, 20, 30, 0))
    assert to_rgb(rgba).getpixel((0, 0)) == (10, 20, 30)
    deep = Image.fromarray(np.full((2, 3), 65535, dtype=np.uint16))
    assert deep.mode.startswith("I;16")
    assert to_rgb(deep).getpixel((0, 0)) == (255, 255, 255)


def test_to_rgb_palette_with_transparency_does_not_warn():
    palette = Image.new("P", (4, 4), 1)
    palette.putpalette([0, 0, 0, 200, 100, 50] + [0] * 762)
    palette.info["transparency"] = bytes([0, 255] + [255] * 254)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = to_rgb(palette)
    assert out.mode == "RGB" and out.getpixel((0, 0)) == (200, 100, 50)


# ---------------------------------------------------------------- randomness


def test_train_transform_reproducible_under_manual_seed():
    image = _noise_image()
    transform = train_transform(24)
    torch.manual_seed(3)
    first = [transform(image) for _ in range(3)]
    # Python's and numpy's RNGs play no part.
    random.seed(123)
    np.random.seed(123)  # noqa: NPY002
    torch.manual_seed(3)
    second = [transform(image) for _ in range(3)]
    for a, b in zip(first, second, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.equal(first[0], first[1])
    torch.manual_seed(4)
    assert not torch.equal(transform(image), first[0])


def test_explicit_generator_is_reproducible_and_leaves_global_rng_alone():
    image = _noise_image()
    state = torch.get_rng_state()
    a = train_transform(24, generator=torch.Generator().manual_seed(7))(image)
    b = train_transform(24, generator=torch.Generator().manual_seed(7))(image)
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert torch.equal(torch.get_rng_state(), state)


def test_flip_actually_flips():
    image = _noise_image(9, 4)
    flipped = RandomHorizontalFlip(p=1.0)(image)
    np.testing.assert_array_equal(np.asarray(flipped), np.asarray(image)[:, ::-1])
    assert RandomHorizontalFlip(p=0.0)(image) is image
    tensor = torch.arange(6.0).reshape(1, 2, 3)
    torch.testing.assert_close(RandomHorizontalFlip(p=1.0)(tensor), tensor.flip(-1))


def test_flip_frequency_matches_p():
    flip = RandomHorizontalFlip(p=0.5, generator=torch.Generator().manual_seed(0))
    image = torch.tensor([[[0.0, 1.0]]])
    n_flipped = sum(bool(flip(image)[0, 0, 0] == 1.0) for _ in range(400))
    assert 160 < n_flipped < 240


# ---------------------------------------------------------------- geometry


def test_center_crop_picks_the_center():
    pixels = np.arange(6 * 8, dtype=np.uint8).reshape(6, 8)
    out = CenterCrop((2, 4))(Image.fromarray(pixels))
    np.testing.assert_array_equal(np.asarray(out), pixels[2:4, 2:6])
    assert CenterCrop(6)(Image.fromarray(pixels)).size == (6, 6)


def test_resize_shorter_side_and_exact_pair():
    assert Resize(256)(Image.new("RGB", (400, 300))).size == (341, 256)
    assert Resize(256)(Image.new("RGB", (300, 400))).size == (256, 341)
    assert Resize((10, 20))(Image.new("RGB", (300, 400))).size == (20, 10)
    same = Image.new("RGB", (256, 300))
    assert Resize(256)(same) is same


def test_random_resized_crop_respects_scale_and_ratio():
    crop = RandomResizedCrop(
        8,
        scale=(0.2, 0.5),
        ratio=(0.5, 2.0),
        generator=torch.Generator().manual_seed(1),
    )
    width, height = 400, 300
    for _ in range(300):
        top, left, h, w = crop.get_params(width, height)
        assert 0 <= top <= height - h and 0 <= left <= width - w
        # Rounding each side moves the area and ratio by at most ~1 pixel.
        assert 0.2 * width * height - (w + h) <= w * h <= 0.5 * width * height + (w + h)
        assert 0.5 * (1 - 2 / h) <= w / h <= 2.0 * (1 + 2 / h)


def test_random_resized_crop_covers_scale_range():
    crop = RandomResizedCrop(
        8, scale=(0.08, 1.0), generator=torch.Generator().manual_seed(0)
    )
    fractions = [
        h * w / (500 * 500)
        for top, left, h, w in (crop.get_params(500, 500) for _ in range(400))
    ]
    assert min(fractions) < 0.15 and max(fractions) > 0.9


def test_random_resized_crop_falls_back_to_central_crop():
    # Every draw has aspect >= 2 at full area: it never fits in a square.
    crop = RandomResizedCrop(8, scale=(1.0, 1.0), ratio=(2.0, 3.0))
    assert crop.get_params(100, 100) == (25, 0, 50, 100)
    wide = RandomResizedCrop(8, scale=(1.0, 1.0), ratio=(0.25, 0.5))
    assert wide.get_params(100, 100) == (0, 25, 100, 50)
    whole = RandomResizedCrop(8, scale=(1.0, 1.0), ratio=(1.0, 1.0))
    assert whole.get_params(100, 100) == (0, 0, 100, 100)


def test_random_resized_crop_cuts_the_drawn_box(monkeypatch):
    pixels = np.random.default_rng(0).integers(0, 256, (60, 80, 3), dtype=np.uint8)
    crop = RandomResizedCrop((30, 40))
    monkeypatch.setattr(crop, "get_params", lambda width, height: (10, 20, 30, 40))
    out = crop(Image.fromarray(pixels))
    np.testing.assert_array_equal(np.asarray(out), pixels[10:40, 20:60])


# ---------------------------------------------------------------- normalize, compose


def test_normalize_matches_formula_and_keeps_input():
    x = torch.rand(2, 3, 4, 5)
    original = x.clone()
    out = Normalize()(x)
    mean = torch.tensor(IMAGENET_MEAN)[:, None, None]
    std = torch.tensor(IMAGENET_STD)[:, None, None]
    torch.testing.assert_close(out, (x - mean) / std)
    assert torch.equal(x, original)


def test_compose_repr_lists_transforms():
    text = repr(train_transform())
    assert "RandomResizedCrop(size=(224, 224)" in text and "Normalize" in text


# ---------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: RandomResizedCrop(0), "`size`"),
        (lambda: RandomResizedCrop((3, 4, 5)), "`size`"),
        (lambda: RandomResizedCrop(8, scale=(0.5, 0.1)), r"`scale` must be a pair"),
        (lambda: RandomResizedCrop(8, scale=(0.0, 1.0)), "`scale`"),
        (lambda: RandomResizedCrop(8, scale=(0.1, 1.5)), r"<= 1"),
        (lambda: RandomResizedCrop(8, ratio=(2.0, 1.0)), "`ratio`"),
        (lambda: RandomResizedCrop(8, ratio=(0.0, 1.0)), "`ratio`"),
        (lambda: RandomResizedCrop(8, ratio=0.5), "`ratio`"),
        (lambda: RandomHorizontalFlip(p=1.5), r"`p` must be in \[0, 1\]"),
        (lambda: Resize(-1), "`size`"),
        (lambda: CenterCrop(2.5), "`size`"),
        (lambda: Normalize([0.5, 0.5], [0.2]), "same positive length"),
        (lambda: Normalize([0.5], [0.0]), "`std`"),
        (lambda: eval_transform(200, 224), r"`size` must be in \[1, resize=200\]"),
        (lambda: eval_transform((256, 256), 224), "must be ints"),
    ],
)
def test_bad_arguments_raise_value_error(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_bad_inputs_at_call_time():
    with pytest.raises(ValueError, match="at least that large"):
        CenterCrop(10)(Image.new("RGB", (8, 20)))
    with pytest.raises(ValueError, match="apply ToRGB first"):
        ToTensor()(Image.new("RGBA", (3, 3)))
    with pytest.raises(TypeError, match="PIL image"):
        ToTensor()(np.zeros((3, 3, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"\(\.\.\., 3, H, W\)"):
        Normalize()(torch.zeros(1, 4, 4))
    with pytest.raises(TypeError, match="`transforms\\[1\\]`"):
        Compose([ToTensor(), 3])
    with pytest.raises(TypeError, match="`p` must be a real number"):
        RandomHorizontalFlip(p="x")
    with pytest.raises(TypeError, match="`generator`"):
        RandomHorizontalFlip(generator=0)
