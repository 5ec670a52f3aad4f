"""ImageNet-format dataset (arXiv:2402.17902): ``root/<class>/<image>`` files.

The ILSVRC-2012 train and val sets (Deng et al. 2009), once the val images are
moved into one folder per synset, use this layout: each sub-folder of ``root``
is a class, classes are indexed in sorted name order, and every image file
below a class folder (recursively) is a sample with that class index. This is
torchvision's ``ImageFolder`` contract, written with Pillow only.

Unreadable images
-----------------
A corrupt file must not kill a multi-day run, and it must not go unnoticed.
Two mechanisms, meant to be used together:

1. :meth:`ImageFolder.verify` scans every file up front (optionally decoding
   it fully), records the bad ones in ``scan_errors`` and drops them from
   ``samples``. Call it in the main process *before* building a
   ``DataLoader``: the workers then inherit the clean sample list and the
   report lives in one place.
2. At run time, a file that fails to decode is logged once per process
   (``logging`` warning), recorded in ``skipped`` and ``n_skipped`` is
   incremented; ``__getitem__`` then returns the next readable sample
   cyclically (index ``i + 1, i + 2, ...`` modulo ``len``), which is
   deterministic. Worker processes hold their own copies of these counters,
   so with ``num_workers > 0`` the main process's ``skipped`` stays empty and
   only the workers' log lines report run-time skips; :meth:`ImageFolder.verify` is the
   reliable, complete report.

Only decoding errors are caught (``OSError`` -- which includes
``PIL.UnidentifiedImageError`` and truncated files --, ``SyntaxError``,
``ValueError``, ``EOFError`` and Pillow's ``DecompressionBombError``); an error
raised by the transform propagates.
"""

from __future__ import annotations

import logging
import numbers
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
from PIL import Image

from neural.data.transforms import to_rgb
from nonconvex_reg.validation import check_int

__all__ = ["IMG_EXTENSIONS", "ImageFolder", "load_rgb"]

logger = logging.getLogger(__name__)

#: File name endings accepted as images (compared case-insensitively).
IMG_EXTENSIONS = (
    ".jpg",
    ".jpeg",
    ".png",
    ".ppm",
    ".pgm",
    ".pbm",
    ".bmp",
    ".tif",
    ".tiff",
    ".webp",
    ".gif",
)

_DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    Image.DecompressionBombError,
)


def load_rgb(path) -> Image.Image:
    """Open an image file, decode it fully and return it in mode ``"RGB"``.

    Parameters
    ----------
    path : str or os.PathLike
        Image file.

    Returns
    -------
    PIL.Image.Image
        A decoded image that no longer refers to the file.

    Raises
    ------
    OSError
        If the file cannot be opened or decoded (including
        ``PIL.UnidentifiedImageError`` and truncated files).
    """
    with Image.open(path) as image:
        image.load()
        rgb = to_rgb(image)
        # `to_rgb` returns RGB images as they are; detach them from the file.
        return image.copy() if rgb is image else rgb


def _check_file(path: str, decode: bool) -> str | None:
    """Return ``None`` if ``path`` is a readable image, else the error text."""
    try:
        with Image.open(path) as image:
            image.verify()  # headers and checksums (PNG CRCs), no decoding
        if decode:
            with Image.open(path) as image:  # `verify` leaves the image unusable
                image.load()
    except _DECODE_ERRORS as error:
        return f"{type(error).__name__}: {error}"
    return None


def _find_classes(root: Path) -> list[str]:
    with os.scandir(root) as entries:
        return sorted(
            e.name for e in entries if e.is_dir() and not e.name.startswith(".")
        )


def _find_images(folder: Path, extensions: tuple[str, ...]) -> list[str]:
    found = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        dirnames.sort()
        found.extend(
            os.path.join(dirpath, name)
            for name in sorted(filenames)
            if name.lower().endswith(extensions)
        )
    return found


class ImageFolder(torch.utils.data.Dataset):
    """Images in ``root/<class_name>/...`` as ``(transform(image), class_index)``.

    Parameters
    ----------
    root : str or os.PathLike
        Folder with one sub-folder per class. Hidden sub-folders (names
        starting with ``.``) are ignored.
    transform : callable or None, default=None
        Applied to the decoded ``"RGB"`` PIL image; ``None`` returns the image.
    extensions : tuple of str, default=IMG_EXTENSIONS
        Accepted file name endings, compared case-insensitively; other files
        are ignored.

    Attributes
    ----------
    root : pathlib.Path
    classes : list of str
        Class folder names, sorted.
    class_to_idx : dict of str to int
        ``classes[k] -> k``.
    samples : list of (str, int)
        ``(path, class_index)`` pairs, sorted by class then path.
    targets : list of int
        Class index of each sample.
    scan_errors : dict of str to str
        Files dropped by :meth:`verify`, with the error text.
    skipped : dict of str to str
        Files that failed to decode in ``__getitem__`` in *this* process.
    n_skipped : int
        Number of run-time fallbacks in this process (a file failing in two
        epochs counts twice).

    Raises
    ------
    FileNotFoundError
        If ``root`` is not a folder.
    ValueError
        If ``root`` has no class folder, or a class folder holds no image.

    See Also
    --------
    neural.data.transforms.eval_transform, neural.data.transforms.train_transform
    neural.data.synthetic_images.generate_image_folder

    Notes
    -----
    See the module docstring for how unreadable files are handled with
    ``DataLoader`` workers.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from neural.data.synthetic_images import generate_image_folder
    >>> root = generate_image_folder(pathlib.Path(tempfile.mkdtemp()) / "tree")
    >>> dataset = ImageFolder(root)
    >>> len(dataset), dataset.classes[:2]
    (32, ['class_00', 'class_01'])
    >>> image, label = dataset[9]
    >>> image.mode, label
    ('RGB', 1)
    """

    def __init__(self, root, transform=None, *, extensions=IMG_EXTENSIONS):
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"`root` {str(self.root)!r} is not a folder.")
        if transform is not None and not callable(transform):
            raise TypeError(f"`transform` must be callable or None; got {transform!r}.")
        if isinstance(extensions, str) or not all(
            isinstance(e, str) for e in extensions
        ):
            raise TypeError(
                f"`extensions` must be a tuple of strings; got {extensions!r}."
            )
        self.transform = transform
        self.extensions = tuple(e.lower() for e in extensions)
        self.classes = _find_classes(self.root)
        if not self.classes:
            raise ValueError(f"`root` {str(self.root)!r} has no class folder.")
        self.class_to_idx = {name: k for k, name in enumerate(self.classes)}
        self.samples = []
        empty = []
        for name in self.classes:
            files = _find_images(self.root / name, self.extensions)
            if not files:
                empty.append(name)
            self.samples.extend((path, self.class_to_idx[name]) for path in files)
        if empty:
            raise ValueError(
                f"`root` {str(self.root)!r}: class folders {empty} hold no file "
                f"ending in {self.extensions}."
            )
        self.targets = [target for _, target in self.samples]
        self.scan_errors: dict[str, str] = {}
        self.skipped: dict[str, str] = {}
        self.n_skipped = 0

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index):
        """Return ``(transform(image), class_index)`` of sample ``index``.

        If that file cannot be decoded, the next readable sample (cyclically)
        is returned instead; see the module docstring.

        Raises
        ------
        IndexError
            If ``index`` is out of range.
        RuntimeError
            If no file at all can be decoded.
        """
        if isinstance(index, bool) or not isinstance(index, numbers.Integral):
            raise TypeError(f"`index` must be an integer; got {index!r}.")
        n = len(self.samples)
        if not -n <= index < n:
            raise IndexError(f"`index` must be in [{-n}, {n - 1}]; got {index}.")
        index = int(index) % n
        for offset in range(n):
            path, target = self.samples[(index + offset) % n]
            try:
                image = load_rgb(path)
            except _DECODE_ERRORS as error:
                self._record_skip(path, error)
                continue
            if self.transform is not None:
                image = self.transform(image)
            return image, target
        raise RuntimeError(f"No image under {str(self.root)!r} could be decoded.")

    def _record_skip(self, path: str, error: BaseException) -> None:
        self.n_skipped += 1
        if path not in self.skipped:
            # Log once per file and process.
            self.skipped[path] = f"{type(error).__name__}: {error}"
            logger.warning(
                "ImageFolder: skipping unreadable image %s (%s)",
                path,
                self.skipped[path],
            )

    def verify(self, *, decode: bool = True, num_threads: int = 1) -> dict[str, str]:
        """Check every file, drop unreadable ones from ``samples``, report them.

        Parameters
        ----------
        decode : bool, default=True
            Also decode each image fully. Without it only Pillow's
            ``verify`` runs (headers, PNG checksums), which is much faster but
            misses e.g. truncated JPEGs; the run-time fallback covers those.
        num_threads : int, default=1
            Threads for the scan (Pillow releases the GIL while decoding).

        Returns
        -------
        dict of str to str
            The files found bad by this call, with the error text; they are
            also added to ``scan_errors``.

        Raises
        ------
        ValueError
            If no readable image would remain (``samples`` is left unchanged).

        Notes
        -----
        Decoding all of ImageNet's 1.28M training JPEGs takes on the order of
        an hour of CPU time; ``decode=False`` takes minutes.
        """
        num_threads = check_int(num_threads, "num_threads", low=1)
        paths = [path for path, _ in self.samples]
        if num_threads == 1:
            errors = [_check_file(path, decode) for path in paths]
        else:
            with ThreadPoolExecutor(num_threads) as pool:
                errors = list(pool.map(_check_file, paths, [decode] * len(paths)))
        bad = {path: err for path, err in zip(paths, errors, strict=True) if err}
        if len(bad) == len(paths):
            raise ValueError(f"`root` {str(self.root)!r} holds no readable image.")
        self.samples = [
            s for s, err in zip(self.samples, errors, strict=True) if not err
        ]
        self.targets = [target for _, target in self.samples]
        self.scan_errors.update(bad)
        return bad

    def __repr__(self) -> str:
        return (
            f"ImageFolder(root={str(self.root)!r}, n_samples={len(self)}, "
            f"n_classes={len(self.classes)}, transform={self.transform!r})"
        )
