"""Data augmentation, the practitioner's peer of noise training (`--augment`): torchvision's v2
AugMix or TrivialAugmentWide, per example, on the uint8 training images, before the level's
noise. Combinable with every method.

Randomness: torchvision's transforms draw from torch's global generator, so each batch runs
under a forked generator seeded by (run seed, epoch, batch): a run is reproducible per seed and
touches nothing else's random state.

Overlap with the corruption suites (reported honestly): AugMix's and TrivialAugment's operations
include rotate, shear, translate, brightness and contrast, which are also corruptions of the
suites (MNIST-C: rotate, shear, translate, brightness; ImageNet-C: brightness, contrast). Every
result therefore also gives *All without the imitated corruptions* (`all_unimitated`), over the
same subset for every run, augmented or not.
"""

import torch

from app.engine.seeds import derive_seed
from app.registry import Registry

# Suite corruptions that an augmentation's own operations resemble (docs/method.md, "Augmentation").
IMITATED = ("rotate", "shear", "translate", "brightness", "contrast")


def _augmix():
    from torchvision.transforms import v2

    return v2.AugMix()  # severity 3, width 3, depth 1–3, all operations: the paper's defaults


def _trivial():
    from torchvision.transforms import v2

    return v2.TrivialAugmentWide()


# The registry of augmentations: name → factory of a per-image transform on uint8 (C, H, W)
# ("none": no augmentation).
AUGMENTATIONS = Registry("augment")
AUGMENTATIONS.register("none", None, title="None")
AUGMENTATIONS.register("augmix", _augmix, title="AugMix", label="AugMix (mixes rotations, shears, contrast …; slower)")
AUGMENTATIONS.register("trivialaugment", _trivial, title="TrivialAugment",
                       label="TrivialAugment (one random operation per image)")


class Augmenter:
    """Augments a batch of uint8 images (B, C, H, W), each image with its own draw."""

    def __init__(self, name: str, seed: int, severity: int | None = None):
        factory = AUGMENTATIONS[name]
        self.name = name
        self.seed = seed
        self.transform = factory() if factory is not None else None
        if self.transform is not None and severity is not None and hasattr(self.transform, "severity"):
            self.transform.severity = int(severity)

    def __bool__(self) -> bool:
        return self.transform is not None

    def __call__(self, images: torch.Tensor, epoch: int, batch: int) -> torch.Tensor:
        if self.transform is None:
            return images
        cpu = images.cpu()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(derive_seed(self.seed, "augment", epoch, batch))
            out = torch.stack([self.transform(image) for image in cpu])
        return out.to(images.device)
