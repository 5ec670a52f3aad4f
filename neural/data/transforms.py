"""ImageNet augmentation (arXiv:2402.17902): Inception crop, flip, resize, crop.

The standard ResNet-50 recipe (He et al. 2016; Szegedy et al. 2015 for the crop)
trains on ``RandomResizedCrop(224)`` + ``RandomHorizontalFlip()`` and evaluates
on ``Resize(256)`` + ``CenterCrop(224)``, both followed by ``ToTensor()`` and
``Normalize(IMAGENET_MEAN, IMAGENET_STD)``. The crop samples an area fraction
``s ~ U[scale]`` and a log-uniform aspect ratio ``r = w / h``, ``log r ~
U[log ratio]``, so that the crop has ``w = round(sqrt(s A r))`` and ``h =
round(sqrt(s A / r))`` for an image of area ``A``; after 10 rejected draws it
falls back to the largest central crop whose ratio is clipped to ``ratio``.
Written with Pillow and torch only; the semantics and defaults are torchvision's
(PIL backend, bilinear resampling with Pillow's antialiasing), so results match
published recipes without torchvision installed.

Randomness
----------
Random transforms take ``generator=None``, which draws from torch's global RNG
(``torch.rand``/``torch.randint``; never Python's ``random`` or numpy), so
``torch.manual_seed`` makes augmentation reproducible. A ``DataLoader`` seeds
worker ``k``'s torch RNG with ``base_seed + k``, ``base_seed`` drawn from the
main process's RNG (or the loader's ``generator``): seeding torch before
iterating reproduces an epoch for a fixed ``num_workers``. An explicit
``torch.Generator`` is copied into every worker, which would then all replay
the *same* stream: use one with ``num_workers=0`` or reseed it per worker in a
``worker_init_fn``.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch
from PIL import Image

from nonconvex_reg.validation import check_scalar

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "CenterCrop",
    "Compose",
    "Normalize",
    "RandomHorizontalFlip",
    "RandomResizedCrop",
    "Resize",
    "ToRGB",
    "ToTensor",
    "eval_transform",
    "to_rgb",
    "train_transform",
]

#: Per-channel mean of the ImageNet training set, RGB order, in [0, 1].
IMAGENET_MEAN = (0.485, 0.456, 0.406)
#: Per-channel standard deviation of the ImageNet training set, RGB order.
IMAGENET_STD = (0.229, 0.224, 0.225)

_MAX_ATTEMPTS = 10  # draws before RandomResizedCrop falls back to a central crop


def _check_size(size, name: str) -> tuple[int, int]:
    """Return ``size`` as ``(height, width)``; an int means a square."""

    def positive_int(s):
        return isinstance(s, numbers.Integral) and not isinstance(s, bool) and s >= 1

    if positive_int(size):
        size = (size, size)
    pair = isinstance(size, tuple | list) and len(size) == 2
    if not (pair and all(map(positive_int, size))):
        raise ValueError(
            f"`{name}` must be a positive int or a pair (height, width) of positive "
            f"ints; got {size!r}."
        )
    return int(size[0]), int(size[1])


def _check_pair(value, name: str, *, high: float | None) -> tuple[float, float]:
    """Return ``value`` as ``(low, high)`` with ``0 < low <= high (<= high)``."""
    bound = "" if high is None else f" <= {high:g}"
    message = (
        f"`{name}` must be a pair (low, high) of reals with 0 < low <= high{bound}; "
        f"got {value!r}."
    )
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise ValueError(message)
    try:
        low_, high_ = (
            check_scalar(v, name, low=0.0, low_inclusive=False) for v in value
        )
    except (TypeError, ValueError):
        raise ValueError(message) from None
    if low_ > high_ or (high is not None and high_ > high):
        raise ValueError(message)
    return low_, high_


def _check_generator(generator):
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(
            f"`generator` must be a torch.Generator or None; got {type(generator)}."
        )
    return generator


def _check_image(image, where: str) -> Image.Image:
    if not isinstance(image, Image.Image):
        raise TypeError(f"{where} expects a PIL image; got {type(image).__name__}.")
    return image


def to_rgb(image: Image.Image) -> Image.Image:
    """Return ``image`` in mode ``"RGB"`` (the same object if it already is).

    Grayscale (``"L"``, ``"1"``) is replicated to three channels, palette images
    go through ``"RGBA"`` when they carry transparency (the alpha is then
    dropped, as torchvision's loader does), CMYK and YCbCr use Pillow's
    conversions, and 16-bit grayscale (``"I;16"``) is scaled by ``255/65535``
    instead of being clipped at 255.

    Parameters
    ----------
    image : PIL.Image.Image
        Any Pillow image.

    Returns
    -------
    PIL.Image.Image
        An image of mode ``"RGB"`` and the same size.

    Raises
    ------
    TypeError
        If ``image`` is not a PIL image.

    Examples
    --------
    >>> from PIL import Image
    >>> to_rgb(Image.new("L", (4, 3), 7)).getpixel((0, 0))
    (7, 7, 7)
    """
    _check_image(image, "to_rgb")
    if image.mode == "RGB":
        return image
    if image.mode.startswith("I;16"):
        # 16-bit grayscale: rescale to 8 bits rather than saturate.
        array = np.asarray(image, dtype=np.float64) * (255.0 / 65535.0)
        return Image.fromarray(np.rint(array).astype(np.uint8), mode="L").convert("RGB")
    if image.mode == "P" and "transparency" in image.info:
        # Palette + transparency: Pillow warns unless it goes through RGBA.
        image = image.convert("RGBA")
    return image.convert("RGB")


class ToRGB:
    """Convert a PIL image to mode ``"RGB"``; see :func:`to_rgb`."""

    def __call__(self, image: Image.Image) -> Image.Image:
        """Return ``to_rgb(image)``."""
        return to_rgb(image)

    def __repr__(self) -> str:
        return "ToRGB()"


class Compose:
    """Apply callables one after the other: ``t_k(... t_2(t_1(x)))``.

    Parameters
    ----------
    transforms : sequence of callable
        Applied first to last.

    Raises
    ------
    TypeError
        If an element is not callable.

    Examples
    --------
    >>> Compose([lambda x: x + 1, lambda x: 2 * x])(3)
    8
    """

    def __init__(self, transforms):
        transforms = list(transforms)
        for i, t in enumerate(transforms):
            if not callable(t):
                raise TypeError(f"`transforms[{i}]` must be callable; got {t!r}.")
        self.transforms = transforms

    def __call__(self, x):
        """Apply every transform in order."""
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])"


class RandomResizedCrop:
    r"""Crop a random area fraction and aspect ratio, then resize (Inception crop).

    .. math::

        s \sim U[\mathrm{scale}],\quad \log r \sim U[\log \mathrm{ratio}],\quad
        w = \mathrm{round}\sqrt{s A r},\quad h = \mathrm{round}\sqrt{s A / r}

    for an input of area ``A = W H``; the top-left corner is uniform over the
    positions where the crop fits. A draw whose crop does not fit is rejected;
    after 10 rejections the largest central crop with ``w/h`` clipped to
    ``ratio`` is used.

    Parameters
    ----------
    size : int or (int, int), default=224
        Output ``(height, width)``; an int gives a square.
    scale : (float, float), default=(0.08, 1.0)
        Range of the crop area as a fraction of the image area, in (0, 1].
    ratio : (float, float), default=(3/4, 4/3)
        Range of the aspect ratio ``w / h``, sampled log-uniformly.
    generator : torch.Generator or None, default=None
        Source of randomness; ``None`` uses torch's global RNG (see the module
        docstring for ``DataLoader`` workers).

    Raises
    ------
    ValueError
        On a non-positive ``size`` or a ``scale``/``ratio`` that is not an
        ordered pair of positive reals (``scale`` at most 1).

    Examples
    --------
    >>> from PIL import Image
    >>> crop = RandomResizedCrop(32, generator=torch.Generator().manual_seed(0))
    >>> crop(Image.new("RGB", (80, 60))).size
    (32, 32)
    """

    def __init__(
        self, size=224, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0), generator=None
    ):
        self.size = _check_size(size, "size")
        self.scale = _check_pair(scale, "scale", high=1.0)
        self.ratio = _check_pair(ratio, "ratio", high=None)
        self.generator = _check_generator(generator)

    def get_params(self, width: int, height: int) -> tuple[int, int, int, int]:
        """Draw a crop box ``(top, left, crop_height, crop_width)`` for an image.

        Parameters
        ----------
        width, height : int
            Size of the input image.

        Returns
        -------
        tuple of int
            ``(top, left, h, w)`` with ``0 <= top <= height - h`` and
            ``0 <= left <= width - w``.
        """
        area = width * height
        log_low, log_high = math.log(self.ratio[0]), math.log(self.ratio[1])
        for _ in range(_MAX_ATTEMPTS):
            u_scale, u_ratio = torch.rand(2, generator=self.generator).tolist()
            target_area = area * (
                self.scale[0] + (self.scale[1] - self.scale[0]) * u_scale
            )
            aspect = math.exp(log_low + (log_high - log_low) * u_ratio)
            w = round(math.sqrt(target_area * aspect))
            h = round(math.sqrt(target_area / aspect))
            if 0 < w <= width and 0 < h <= height:
                # Accepted draw: uniform position among those where the crop fits.
                top = int(
                    torch.randint(0, height - h + 1, (1,), generator=self.generator)
                )
                left = int(
                    torch.randint(0, width - w + 1, (1,), generator=self.generator)
                )
                return top, left, h, w
        # Fallback: largest central crop with the ratio clipped into `ratio`.
        in_ratio = width / height
        if in_ratio < self.ratio[0]:  # too tall: full width
            w, h = width, round(width / self.ratio[0])
        elif in_ratio > self.ratio[1]:  # too wide: full height
            w, h = round(height * self.ratio[1]), height
        else:  # ratio already allowed: whole image
            w, h = width, height
        return (height - h) // 2, (width - w) // 2, h, w

    def __call__(self, image: Image.Image) -> Image.Image:
        """Crop a random box of ``image`` and resize it bilinearly to ``size``."""
        _check_image(image, "RandomResizedCrop")
        top, left, h, w = self.get_params(*image.size)
        out_h, out_w = self.size
        # Crop, then resize (torchvision's order; Pillow's ``box=`` would also
        # read pixels just outside the crop at its border).
        crop = image.crop((left, top, left + w, top + h))
        return crop.resize((out_w, out_h), Image.Resampling.BILINEAR)

    def __repr__(self) -> str:
        return (
            f"RandomResizedCrop(size={self.size}, scale={self.scale}, "
            f"ratio=({self.ratio[0]:.4g}, {self.ratio[1]:.4g}))"
        )


class RandomHorizontalFlip:
    """Mirror left-right with probability ``p``.

    One uniform number is drawn per call whatever ``p`` is, so the RNG stream
    does not depend on ``p``.

    Parameters
    ----------
    p : float, default=0.5
        Flip probability, in [0, 1].
    generator : torch.Generator or None, default=None
        Source of randomness; ``None`` uses torch's global RNG.

    Raises
    ------
    TypeError
        If ``p`` is not a real number.
    ValueError
        If ``p`` is outside [0, 1].

    Examples
    --------
    >>> RandomHorizontalFlip(p=1.0)(torch.arange(3.0).reshape(1, 1, 3))
    tensor([[[2., 1., 0.]]])
    """

    def __init__(self, p=0.5, generator=None):
        self.p = check_scalar(p, "p", low=0.0, high=1.0)
        self.generator = _check_generator(generator)

    def __call__(self, image):
        """Flip a PIL image, or a tensor along its last (width) axis."""
        flip = float(torch.rand(1, generator=self.generator)) < self.p
        if isinstance(image, torch.Tensor):
            return image.flip(-1) if flip else image
        _check_image(image, "RandomHorizontalFlip")
        return image.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if flip else image

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class Resize:
    """Resize bilinearly; an int sets the shorter side and keeps the aspect ratio.

    With ``size=s`` an image of width ``W <= H`` becomes ``s x int(s H / W)``
    (width x height), and symmetrically; a pair ``(height, width)`` is exact.

    Parameters
    ----------
    size : int or (int, int), default=256
        Shorter side, or the output ``(height, width)``.

    Raises
    ------
    ValueError
        If ``size`` is not a positive int or pair of positive ints.

    Examples
    --------
    >>> from PIL import Image
    >>> Resize(256)(Image.new("RGB", (400, 300))).size
    (341, 256)
    """

    def __init__(self, size=256):
        self.shorter = isinstance(size, numbers.Integral) and not isinstance(size, bool)
        self.size = _check_size(size, "size")

    def _output_size(self, width: int, height: int) -> tuple[int, int]:
        if not self.shorter:
            return self.size[1], self.size[0]
        s = self.size[0]
        if width <= height:  # portrait or square: width is the shorter side
            return s, int(s * height / width)
        return int(s * width / height), s

    def __call__(self, image: Image.Image) -> Image.Image:
        """Return the resized image (``image`` itself when already at size)."""
        _check_image(image, "Resize")
        out = self._output_size(*image.size)
        if out == image.size:
            return image
        return image.resize(out, Image.Resampling.BILINEAR)

    def __repr__(self) -> str:
        return f"Resize(size={self.size[0] if self.shorter else self.size})"


class CenterCrop:
    """Crop the central ``(height, width)`` box.

    The top-left corner is ``(round((H - h)/2), round((W - w)/2))``; an image
    smaller than the crop is an error, never padded.

    Parameters
    ----------
    size : int or (int, int), default=224
        Output ``(height, width)``; an int gives a square.

    Raises
    ------
    ValueError
        On a bad ``size``, or (when called) an image smaller than ``size``.

    Examples
    --------
    >>> from PIL import Image
    >>> CenterCrop(224)(Image.new("RGB", (341, 256))).size
    (224, 224)
    """

    def __init__(self, size=224):
        self.size = _check_size(size, "size")

    def __call__(self, image: Image.Image) -> Image.Image:
        """Return the central crop of ``image``."""
        _check_image(image, "CenterCrop")
        width, height = image.size
        h, w = self.size
        if h > height or w > width:
            raise ValueError(
                f"CenterCrop of size (height, width)={self.size} needs an image at "
                f"least that large; got (height, width)=({height}, {width})."
            )
        top = round((height - h) / 2)
        left = round((width - w) / 2)
        return image.crop((left, top, left + w, top + h))

    def __repr__(self) -> str:
        return f"CenterCrop(size={self.size})"


class ToTensor:
    """Convert an RGB or L PIL image to a float ``(C, H, W)`` tensor in [0, 1].

    The uint8 pixels ``(H, W, C)`` are transposed to channels-first and divided
    by 255. Other modes are rejected (convert with :class:`ToRGB` first) rather
    than coerced.

    Raises
    ------
    TypeError
        If the input is not a PIL image.
    ValueError
        If its mode is not ``"RGB"`` or ``"L"``.

    Examples
    --------
    >>> from PIL import Image
    >>> x = ToTensor()(Image.new("RGB", (5, 4), (255, 0, 51)))
    >>> x.shape, x.dtype, x[:, 0, 0]
    (torch.Size([3, 4, 5]), torch.float32, tensor([1.0000, 0.0000, 0.2000]))
    """

    def __call__(self, image: Image.Image) -> torch.Tensor:
        """Return the image as a float32 tensor of shape ``(C, H, W)``."""
        _check_image(image, "ToTensor")
        if image.mode not in ("RGB", "L"):
            raise ValueError(
                f"ToTensor expects an image of mode 'RGB' or 'L'; got {image.mode!r} "
                "(apply ToRGB first)."
            )
        pixels = torch.from_numpy(np.array(image, dtype=np.uint8, copy=True))
        if pixels.ndim == 2:
            pixels = pixels.unsqueeze(-1)
        return pixels.permute(2, 0, 1).contiguous().to(torch.float32).div_(255.0)

    def __repr__(self) -> str:
        return "ToTensor()"


class Normalize:
    """Standardize each channel: ``(x[c] - mean[c]) / std[c]`` (not in place).

    Parameters
    ----------
    mean, std : sequence of float, default=IMAGENET_MEAN, IMAGENET_STD
        One value per channel; ``std`` entries must be positive.

    Raises
    ------
    ValueError
        If the lengths differ, an entry is not finite or a ``std`` is not
        positive; when called, if the channel axis (``-3``) does not have
        ``len(mean)`` entries.

    Examples
    --------
    >>> Normalize([0.5], [0.25])(torch.ones(1, 2, 2))[0, 0, 0]
    tensor(2.)
    """

    def __init__(self, mean=IMAGENET_MEAN, std=IMAGENET_STD):
        mean = [check_scalar(m, "mean") for m in mean]
        std = [check_scalar(s, "std", low=0.0, low_inclusive=False) for s in std]
        if len(mean) != len(std) or not mean:
            raise ValueError(
                "`mean` and `std` must have the same positive length; got "
                f"{len(mean)} and {len(std)}."
            )
        self.mean = tuple(mean)
        self.std = tuple(std)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Return the normalized tensor of shape ``(..., C, H, W)``."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"Normalize expects a tensor; got {type(x).__name__}.")
        if x.ndim < 3 or x.shape[-3] != len(self.mean):
            raise ValueError(
                f"Normalize expects a tensor of shape (..., {len(self.mean)}, H, W); "
                f"got {tuple(x.shape)}."
            )
        stats = torch.tensor([self.mean, self.std], dtype=x.dtype, device=x.device)
        return (x - stats[0, :, None, None]) / stats[1, :, None, None]

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean}, std={self.std})"


def train_transform(size=224, *, generator=None) -> Compose:
    """ImageNet training pipeline: RGB, Inception crop, flip, tensor, normalize.

    Parameters
    ----------
    size : int, default=224
        Side of the square output.
    generator : torch.Generator or None, default=None
        Shared by the crop and the flip; ``None`` uses torch's global RNG.

    Returns
    -------
    Compose
        ``ToRGB, RandomResizedCrop(size), RandomHorizontalFlip(), ToTensor,
        Normalize(IMAGENET_MEAN, IMAGENET_STD)``.

    Examples
    --------
    >>> from PIL import Image
    >>> _ = torch.manual_seed(0)
    >>> train_transform(32)(Image.new("L", (50, 40))).shape
    torch.Size([3, 32, 32])
    """
    return Compose(
        [
            ToRGB(),
            RandomResizedCrop(size, generator=generator),
            RandomHorizontalFlip(generator=generator),
            ToTensor(),
            Normalize(IMAGENET_MEAN, IMAGENET_STD),
        ]
    )


def eval_transform(resize=256, size=224) -> Compose:
    """ImageNet evaluation pipeline: RGB, resize shorter side, center crop.

    Parameters
    ----------
    resize : int, default=256
        Shorter side after resizing.
    size : int, default=224
        Side of the square central crop; at most ``resize``.

    Returns
    -------
    Compose
        ``ToRGB, Resize(resize), CenterCrop(size), ToTensor,
        Normalize(IMAGENET_MEAN, IMAGENET_STD)``.

    Raises
    ------
    ValueError
        If ``size > resize`` (the crop would not fit).

    Examples
    --------
    >>> from PIL import Image
    >>> eval_transform(36, 32)(Image.new("RGB", (64, 48))).shape
    torch.Size([3, 32, 32])
    """
    resize_op = Resize(resize)
    crop = CenterCrop(size)
    if not resize_op.shorter or not isinstance(size, numbers.Integral):
        raise ValueError(
            f"`resize` and `size` must be ints; got resize={resize!r}, size={size!r}."
        )
    if crop.size[0] > resize_op.size[0]:
        raise ValueError(f"`size` must be in [1, resize={resize}]; got {size}.")
    return Compose([ToRGB(), resize_op, crop, ToTensor(), Normalize()])
