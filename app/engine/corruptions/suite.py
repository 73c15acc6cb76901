"""The two suites behind one interface: `Suite.apply(corruption, images, severity, seed)`."""

import torch

from app.engine.corruptions import imagenet_c, mnist_c, noise, ops
from app.errors import SettingsError

SUITES = ("mnist-c", "imagenet-c")
GAUSSIAN = "gaussian_noise"


class Suite:
    """A named set of 15 corruptions. Images are uint8 (N, C, H, W) in and out."""

    def __init__(self, name: str, corruptions: tuple[str, ...]):
        self.name = name
        self.corruptions = corruptions

    def __repr__(self) -> str:
        return f"Suite({self.name!r})"

    # -- parameters ---------------------------------------------------------------------
    def severities(self, image_size: int) -> int:
        raise NotImplementedError

    def gaussian_sigmas(self, image_size: int) -> list[float]:
        raise NotImplementedError

    def gaussian_severities(self, image_size: int) -> int:
        return len(self.gaussian_sigmas(image_size))

    def rounding(self) -> str:
        raise NotImplementedError

    def check_images(self, images: torch.Tensor) -> None:
        if not torch.is_tensor(images) or images.dtype != torch.uint8 or images.ndim != 4:
            raise SettingsError(
                f"{self.name}: images must be a uint8 tensor (N, C, H, W), got "
                f"{getattr(images, 'dtype', type(images).__name__)} {tuple(getattr(images, 'shape', ()))}"
            )

    # -- applying ----------------------------------------------------------------------
    def _corrupt(self, corruption: str, x: torch.Tensor, severity: int, g: torch.Generator) -> torch.Tensor:
        raise NotImplementedError

    def apply(self, corruption: str, images: torch.Tensor, severity: int, seed: int) -> torch.Tensor:
        """Corrupt a batch; deterministic for a given seed (and batch).

        `corruption` is one of `self.corruptions`, or 'gaussian_noise' for the Gaussian row
        (severity 1..len(gaussian_sigmas)).
        """
        self.check_images(images)
        size = int(images.shape[-1])
        if corruption == GAUSSIAN and corruption not in self.corruptions:
            count = self.gaussian_severities(size)
        elif corruption in self.corruptions:
            count = self.severities(size)
        else:
            raise SettingsError(
                f"unknown corruption {corruption!r} for suite {self.name}: choose one of {', '.join(self.corruptions)}"
            )
        if not 1 <= int(severity) <= count:
            raise SettingsError(f"{self.name} {corruption}: severity must be in 1..{count}, got {severity}")
        if len(images) == 0:
            return images.clone()
        g = torch.Generator().manual_seed(int(seed) & 0x7FFF_FFFF_FFFF_FFFF)
        with torch.no_grad():
            # the generator and the precomputed kernels live on the CPU; the result goes back
            x = images.cpu().float().div_(255)
            if corruption == GAUSSIAN and corruption not in self.corruptions:
                y = noise.gaussian_noise(x, self.gaussian_sigmas(size)[int(severity) - 1], g)
            else:
                y = self._corrupt(corruption, x, int(severity), g)
            return ops.to_uint8(y, self.rounding()).to(images.device)

    def gaussian(self, images: torch.Tensor, severity: int, seed: int) -> torch.Tensor:
        """The Gaussian row at `severity` (1-based)."""
        return self.apply(GAUSSIAN, images, severity, seed)


class MnistCSuite(Suite):
    def __init__(self):
        super().__init__("mnist-c", mnist_c.CORRUPTIONS)

    def severities(self, image_size: int) -> int:
        return 1

    def gaussian_sigmas(self, image_size: int) -> list[float]:
        return list(mnist_c.GAUSSIAN_SIGMAS)

    def rounding(self) -> str:
        return "round"

    def check_images(self, images: torch.Tensor) -> None:
        super().check_images(images)
        if tuple(images.shape[1:]) != (1, 28, 28):
            raise SettingsError(
                f"mnist-c corrupts 1-channel 28×28 images, got {tuple(images.shape[1:])}: "
                "use the imagenet-c suite for colour data"
            )

    def _corrupt(self, corruption, x, severity, g):
        return mnist_c.FUNCTIONS[corruption](x, g=g)


class ImageNetCSuite(Suite):
    def __init__(self):
        super().__init__("imagenet-c", imagenet_c.CORRUPTIONS)

    def severities(self, image_size: int) -> int:
        return 5

    def table(self, image_size: int) -> str:
        """'C' (CIFAR-10-C) for images up to 48 px, 'T' (Tiny-ImageNet-C) above: the nearest table."""
        return imagenet_c.table_for(image_size)

    def gaussian_sigmas(self, image_size: int) -> list[float]:
        return list(imagenet_c.TABLES[self.table(image_size)][GAUSSIAN])

    def rounding(self) -> str:
        return "truncate"

    def check_images(self, images: torch.Tensor) -> None:
        super().check_images(images)
        if images.shape[1] != 3 or min(images.shape[-2:]) < 8:
            raise SettingsError(
                f"imagenet-c corrupts RGB images of at least 8×8 pixels, got {tuple(images.shape[1:])}: "
                "use mnist-c for 1-channel 28×28 data"
            )

    def _corrupt(self, corruption, x, severity, g):
        return imagenet_c.call(corruption, x, severity, self.table(int(x.shape[-1])), g)


_SUITES = {"mnist-c": MnistCSuite(), "imagenet-c": ImageNetCSuite()}


def get_suite(name: str) -> Suite:
    try:
        return _SUITES[name]
    except (KeyError, TypeError):
        raise SettingsError(f"unknown corruption suite {name!r}: choose one of {', '.join(SUITES)}") from None


def suite_for(dataset) -> str:
    """'mnist-c' for 1-channel 28×28 data, 'imagenet-c' for colour data."""
    shape = tuple(dataset.test_x.shape[1:])
    if shape == (1, 28, 28):
        return "mnist-c"
    if len(shape) == 3 and shape[0] == 3 and min(shape[1:]) >= 8:
        return "imagenet-c"
    raise SettingsError(
        f"{dataset.name}: no corruption suite for images of shape {shape}: mnist-c needs 1-channel 28×28 "
        "images and imagenet-c RGB images; resize with --image-size (28 for gray, 32 or 64 for colour)"
    )
