"""CIFAR-style ResNet-18: torchvision's ResNet-18 with a 3×3 stride-1 stem and no max-pool,
the usual adaptation for 32×32 (and 64×64) images."""

from torch import nn
from torchvision.models import resnet18

from models.normalize import Normalize

# Per-channel statistics of CIFAR-10; close enough for Tiny-ImageNet and user images.
MEAN = [0.4914, 0.4822, 0.4465]
STD = [0.2470, 0.2435, 0.2616]


class CifarResNet18(nn.Module):
    def __init__(self, num_classes: int = 10, in_channels: int = 3):
        super().__init__()
        self.normalize = Normalize(MEAN[:in_channels] if in_channels == 3 else [0.5] * in_channels,
                                   STD[:in_channels] if in_channels == 3 else [0.5] * in_channels)
        net = resnet18(weights=None, num_classes=num_classes)
        net.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
        net.maxpool = nn.Identity()
        self.net = net

    def forward(self, x):
        return self.net(self.normalize(x))
