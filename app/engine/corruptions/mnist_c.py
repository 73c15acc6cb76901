"""The MNIST-C suite: 15 corruptions at the one severity each that the release used.

Parameters from the MNIST-C generator (`corruptions.py` of the release) at the severity
its dataset script picked; see CORRUPTIONS.md. Output is rounded to uint8 as released.
"""

from functools import partial

from app.engine.corruptions import blur, digital, geometric, noise, weather

CORRUPTIONS = (
    "shot_noise", "impulse_noise", "glass_blur", "motion_blur", "shear", "scale", "rotate", "brightness",
    "translate", "stripe", "fog", "spatter", "dotted_line", "zigzag", "canny_edges",
)

# Gaussian row (our choice, METHOD.md): σ on the [0, 1] pixel scale.
GAUSSIAN_SIGMAS = (0.2, 0.4, 0.6, 0.8, 1.0)

IMAGE_SIZE = 28


# name → callable(x_float01, g=generator)
FUNCTIONS = {
    "shot_noise": partial(noise.shot_noise, lam=3),
    "impulse_noise": partial(noise.impulse_noise, amount=0.17),
    # σ 0.7, δ 1, 2 iterations; each swap with p = 0.5
    "glass_blur": partial(blur.glass_blur, params=(0.7, 1, 2), swap_p=0.5),
    "motion_blur": partial(blur.motion_blur, params=(10, 3)),
    "shear": partial(geometric.shear, amount=0.4),
    "scale": partial(geometric.scale, factor=1 / 0.7),
    "rotate": partial(geometric.rotate, angle=0.4),
    "brightness": partial(digital.brightness, amount=0.5),
    "translate": partial(geometric.translate, pixels=3),
    "stripe": digital.stripe,
    # the reference draws a 256² plasma and crops 28²
    "fog": partial(weather.fog, params=(3.0, 1.4), mapsize=256),
    "spatter": partial(weather.spatter_mud, params=(0.65, 0.3, 1, 0.65, 1.5, 1)),
    "dotted_line": digital.dotted_line,
    "zigzag": digital.zigzag,
    "canny_edges": digital.canny_edges,
}
