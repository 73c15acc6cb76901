"""A small CNN for 28×28 grayscale data (MNIST, Fashion-MNIST): fast enough to train on a CPU."""

from torch import nn

from models.normalize import Normalize


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class SmallCNN(nn.Module):
    """conv16 → pool → conv32 → pool → conv64 → global pool → linear; `width` scales the channels
    (the simulated oracle's reference model uses width 2: stronger than the learner)."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1, width: int = 1):
        super().__init__()
        # 16 base channels: ~11 s per Fashion-MNIST epoch on 2 CPU cores (32 channels: ~47 s)
        c = 16 * width
        self.normalize = Normalize([0.5] * in_channels, [0.5] * in_channels)
        self.features = nn.Sequential(
            _block(in_channels, c),
            nn.MaxPool2d(2),
            _block(c, 2 * c),
            nn.MaxPool2d(2),
            _block(2 * c, 4 * c),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.classifier = nn.Linear(4 * c, num_classes)

    def forward(self, x):
        return self.classifier(self.features(self.normalize(x)))
