"""GPU speed-ups, checked on the CPU: `auto` is plain fp32 there, forced bf16 really runs in
bf16 and still learns; every model is channels-last (faster on the CPU too) with the outputs of
its NCHW copy."""

import copy

import pytest
import torch

from app.engine import accel
from app.engine.settings import Settings
from app.engine.trainer import Trainer
from models import build


def train(small, precision):
    settings = Settings(method="cat", epochs=1, batch_size=64, eval_every=0, device="cpu", model="small-cnn",
                        grid=[0.0, 0.5, 1.0], precision=precision)
    trainer = Trainer(settings, small)
    return trainer, trainer.run()


def test_auto_is_fp32_on_the_cpu(small, one_thread):
    assert accel.autocast_dtype(torch.device("cpu"), "auto") is None
    auto, auto_result = train(small, "auto")
    fp32, fp32_result = train(small, "fp32")
    for a, b in zip(auto.model.state_dict().values(), fp32.model.state_dict().values()):
        assert torch.equal(a, b)
    assert torch.equal(auto.table.level, fp32.table.level) and auto_result.clean == fp32_result.clean
    bf16, bf16_result = train(small, "bf16")  # the CUDA path's arithmetic, on the CPU
    assert not all(torch.equal(a, b) for a, b in zip(bf16.model.parameters(), fp32.model.parameters()))
    assert abs(bf16_result.clean - fp32_result.clean) < 15  # still learns like fp32 (200 test images)


@pytest.mark.parametrize("name, channels, size", [("small-cnn", 1, 28), ("resnet18", 3, 16)])
def test_every_model_is_channels_last_with_the_outputs_of_nchw(name, channels, size, one_thread):
    torch.manual_seed(0)
    model = build(name, 10, channels, size).eval()
    assert all(p.is_contiguous(memory_format=torch.channels_last) for p in model.parameters() if p.ndim == 4)
    nchw = copy.deepcopy(model).to(memory_format=torch.contiguous_format)
    assert all(p.is_contiguous() for p in nchw.parameters())
    x = torch.rand(4, channels, size, size)
    assert torch.allclose(model(x), nchw(x), atol=1e-4)
