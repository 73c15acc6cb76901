"""GPU speed-ups, checked on the CPU: `auto` is plain fp32 there, forced bf16 really runs in
bf16 and still learns, channels-last does not change the ResNet's outputs."""

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


def test_channels_last_resnet_gives_the_same_outputs(one_thread):
    torch.manual_seed(0)
    model = build("resnet18", 10, 3, 16).eval()
    x = torch.rand(2, 3, 16, 16)
    before = model(x)
    fast = accel.prepare_model(model, torch.device("cpu"), force_channels_last=True)
    assert all(p.is_contiguous(memory_format=torch.channels_last) for p in fast.parameters() if p.ndim == 4)
    assert torch.allclose(fast(x), before, atol=1e-4)
    assert accel.prepare_model(build("small-cnn", 10, 1, 28), torch.device("cpu")).training  # others untouched
