"""A small synthetic ImageFolder tree of PNGs, for tests and ImageNet-setup smoke runs.

Class ``c`` of ``K`` is a pattern of ours: sinusoidal stripes at angle
``theta_c = pi c / K`` with ``2 + (c mod 3)`` periods across the image, tinted by
the hue ``c / K``, plus a random phase and Gaussian pixel noise. Colour and
orientation both carry the class, so a tiny network learns it even from the
grayscale images and after random crops and flips. Image sizes vary around
``size`` (each side scaled by a factor in [0.75, 1.5]), so the aspect ratio
varies too; every fourth image is saved as grayscale (mode ``"L"``) and every
sixth with a palette (mode ``"P"``), to exercise the RGB conversion.
Optional corrupt files (truncated PNG bytes, and bytes that are no image at
all) exercise the skipping logic of :class:`~neural.data.imagefolder.ImageFolder`.
"""

from __future__ import annotations

import colorsys
import io
from pathlib import Path

import numpy as np
from PIL import Image

from neural.atomic import atomic_directory
from nonconvex_reg.validation import check_int

__all__ = ["generate_image_folder"]

_NOISE_STD = 12.0  # pixel noise, in uint8 units


def _pattern(c: int, n_classes: int, width: int, height: int, rng) -> np.ndarray:
    """Return a ``(height, width, 3)`` uint8 image of class ``c``."""
    theta = np.pi * c / n_classes
    periods = 2 + c % 3
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    scale = max(width, height)
    along = (xx * np.cos(theta) + yy * np.sin(theta)) / scale
    stripes = 0.5 + 0.5 * np.sin(
        2 * np.pi * periods * along + rng.uniform(0, 2 * np.pi)
    )
    colour = np.array(colorsys.hsv_to_rgb(c / n_classes, 0.8, 0.95)) * 255.0
    dark = 0.2 * colour
    image = dark + stripes[..., None] * (colour - dark)
    image += rng.normal(0.0, _NOISE_STD, size=image.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def _png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def generate_image_folder(
    root, n_classes=4, images_per_class=8, size=(64, 48), seed=0, corrupt=0
) -> Path:
    """Write a small ImageFolder tree of PNGs and return its root.

    The tree is ``root/class_00/0000.png ...``, one folder per class and
    ``images_per_class`` images in each, plus ``corrupt`` unreadable files named
    ``corrupt_XX.png`` spread over the classes in turn (even ``XX``: a valid PNG
    truncated to half its bytes; odd ``XX``: bytes that are no image). The
    output is a deterministic function of the arguments, and the folder appears
    atomically (fully written or not at all).

    Parameters
    ----------
    root : str or os.PathLike
        Folder to create; it must not exist yet.
    n_classes : int, default=4
        Number of class folders, at least 1.
    images_per_class : int, default=8
        Readable images per class, at least 1.
    size : (int, int), default=(64, 48)
        Nominal ``(width, height)`` (Pillow's order); each image's sides are this
        times independent factors in [0.75, 1.5], rounded, at least 8.
    seed : int, default=0
        Seed of the numpy generator that draws sizes, phases and noise.
    corrupt : int, default=0
        Number of extra unreadable files.

    Returns
    -------
    pathlib.Path
        ``root``.

    Raises
    ------
    ValueError
        On a count or size out of range.
    FileExistsError
        If ``root`` already exists.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = generate_image_folder(pathlib.Path(tempfile.mkdtemp()) / "t", corrupt=1)
    >>> sorted(p.name for p in (root / "class_00").iterdir())[:2]
    ['0000.png', '0001.png']
    >>> len(list(root.rglob("*.png")))
    33
    """
    n_classes = check_int(n_classes, "n_classes", low=1, high=1000)
    images_per_class = check_int(images_per_class, "images_per_class", low=1)
    corrupt = check_int(corrupt, "corrupt", low=0)
    seed = check_int(seed, "seed", low=0)
    if not isinstance(size, tuple | list) or len(size) != 2:
        raise ValueError(f"`size` must be a pair (width, height); got {size!r}.")
    width, height = (check_int(s, "size", low=8) for s in size)
    rng = np.random.default_rng(seed)
    root = Path(root)
    with atomic_directory(root) as tmp:
        folders = []
        for c in range(n_classes):
            folder = tmp / f"class_{c:02d}"
            folder.mkdir()
            folders.append(folder)
            for i in range(images_per_class):
                w, h = (
                    max(8, round(s * f))
                    for s, f in zip(
                        (width, height), rng.uniform(0.75, 1.5, 2), strict=True
                    )
                )
                image = Image.fromarray(_pattern(c, n_classes, w, h, rng), mode="RGB")
                if i % 4 == 3:  # a few grayscale images
                    image = image.convert("L")
                elif i % 6 == 5:  # and a few palette images
                    image = image.quantize(colors=64, dither=Image.Dither.NONE)
                image.save(folder / f"{i:04d}.png", format="PNG")
        for k in range(corrupt):
            if k % 2 == 0:  # a PNG cut in half: opens, fails to decode
                reference = Image.fromarray(
                    _pattern(0, 1, width, height, rng), mode="RGB"
                )
                data = _png_bytes(reference)
                payload = data[: len(data) // 2]
            else:  # not an image at all: fails to open
                payload = b"this is not an image\n" * 4
            (folders[k % n_classes] / f"corrupt_{k:02d}.png").write_bytes(payload)
    return root
