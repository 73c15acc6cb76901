import torch

from app.engine.perturb import candidate_images, example_noise, perturb, perturb_examples


def test_noise_is_standard_normal():
    noise = example_noise(torch.arange(256), (1, 28, 28), seed=3)
    assert abs(float(noise.mean())) < 0.01
    assert abs(float(noise.std()) - 1.0) < 0.01
    # a Gaussian has ~68.3% of its mass within one σ
    assert abs(float((noise.abs() < 1).float().mean()) - 0.683) < 0.01


def test_perturbation_strength_follows_each_examples_level():
    x = torch.full((4, 1, 28, 28), 0.5)
    levels = torch.tensor([0.0, 0.02, 0.05, 0.1])  # small enough that clamping never bites
    out = perturb_examples(x, torch.arange(4), levels, seed=0)
    stds = (out - x).flatten(1).std(1)
    assert float(stds[0]) == 0.0
    assert torch.allclose(stds[1:], levels[1:], rtol=0.08)
    assert out.min() >= 0 and out.max() <= 1


def test_large_levels_are_clamped_to_the_pixel_range():
    x = torch.rand(8, 3, 32, 32)
    out = perturb(x, 5.0, torch.randn_like(x))
    assert out.min() >= 0 and out.max() <= 1


def test_per_example_seed_gives_the_same_noise_in_any_batch():
    alone = example_noise(torch.tensor([17]), (1, 28, 28), seed=5)
    in_batch = example_noise(torch.tensor([3, 17, 99]), (1, 28, 28), seed=5)[1:2]
    assert torch.equal(alone, in_batch)
    other_example = example_noise(torch.tensor([18]), (1, 28, 28), seed=5)
    other_seed = example_noise(torch.tensor([17]), (1, 28, 28), seed=6)
    other_draw = example_noise(torch.tensor([17]), (1, 28, 28), seed=5, draw=1)
    for different in (other_example, other_seed, other_draw):
        assert not torch.allclose(alone, different)


def test_candidate_images_share_one_noise_pattern():
    x = torch.full((1, 28, 28), 0.5)
    grid = [0.0, 0.01, 0.02, 0.04]
    images = candidate_images(x, example_id=7, grid=grid, seed=0)
    assert images.shape == (4, 1, 28, 28)
    assert torch.equal(images[0], x)
    # same pattern, scaled: the difference at 0.04 is twice the one at 0.02
    assert torch.allclose(images[3] - x, 2 * (images[2] - x), atol=1e-5)
