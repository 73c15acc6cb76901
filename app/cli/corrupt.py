"""`python -m app corrupt` (write a suite in its released layout) and `python -m app gallery`."""

import argparse
import sys
from pathlib import Path

from app.cli.report import one_line, run_reporting
from app.errors import SettingsError

from app.engine.data import DATASETS
from app.engine.settings import Settings

DEFAULT_DATASET = Settings().dataset  # resources/defaults.toml
DATASET_HELP = f"dataset name: {', '.join(DATASETS)} (default: {DEFAULT_DATASET})"


class _Parser(argparse.ArgumentParser):
    """argparse's own message is one line: keep it and the exit code 2, without the usage dump."""

    def error(self, message: str):
        raise SettingsError(f"{message} (see `{self.prog} --help`)")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", default=DEFAULT_DATASET, help=DATASET_HELP)
    parser.add_argument("--data-dir", default=None, help="folder of the dataset's files (its official layout)")
    parser.add_argument("--image-size", type=int, default=None, help="resize imagefolder images to N×N")
    parser.add_argument("--suite", choices=("mnist-c", "imagenet-c"), default=None,
                        help="corruption suite (default: mnist-c for 1-channel 28×28 data, imagenet-c for colour)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the corruptions' random draws (default 0)")


def _parse(parser: argparse.ArgumentParser, argv: list[str]):
    try:
        return parser.parse_args(argv), None
    except SettingsError as error:  # a bad option: one line, exit code 2 (as argparse's own)
        print(f"error: {one_line(str(error))}", file=sys.stderr)
        return None, 2
    except SystemExit as exit_:  # --help has been printed
        return None, int(exit_.code or 0)


def _load(args):
    from app.engine.data import load_dataset

    dataset = load_dataset(args.dataset, args.data_dir, args.image_size)
    if args.limit is not None:
        if args.limit < 1:
            raise SettingsError(f"--limit must be at least 1, got {args.limit}")
        from app.engine.data.dataset import Dataset

        dataset = Dataset(
            name=dataset.name, train_x=dataset.train_x[:0], train_y=dataset.train_y[:0],
            test_x=dataset.test_x[: args.limit], test_y=dataset.test_y[: args.limit], classes=dataset.classes,
            source=dataset.source, data_dir=dataset.data_dir, extra=dataset.extra,
        )
    return dataset


class _Bar:
    """progress(done, total, label) → one tqdm bar."""

    def __init__(self, quiet: bool):
        self.quiet, self.bar = quiet, None

    def __call__(self, done: int, total: int, label: str) -> None:
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=total, desc=label.split(" (")[0], disable=self.quiet, dynamic_ncols=True,
                            unit="set")
        self.bar.set_postfix_str(label.partition(" (")[2].rstrip(")"), refresh=False)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _run(body) -> int:
    return run_reporting(body, "interrupted: files already complete are kept, unfinished ones were not written")


def corrupt_main(argv: list[str]) -> int:
    parser = _Parser(
        prog="python -m app corrupt",
        description="Write the corruption suite of a dataset's test set in the released layout of that benchmark "
                    "(MNIST-C: mnist_c/<corruption>/test_images.npy; CIFAR-10-C: <corruption>.npy + labels.npy; "
                    "Tiny-ImageNet-C: <corruption>/<1..5>/<class>/*.JPEG).",
    )
    _common(parser)
    parser.add_argument("--out", required=True, help="output folder (the suite's folder is created inside it)")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N test images")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args, code = _parse(parser, argv)
    if args is None:
        return code

    def body() -> int:
        from app.engine.corruptions import get_suite, suite_for, write_suite

        dataset = _load(args)
        name = args.suite or suite_for(dataset)
        bar = _Bar(args.quiet)
        try:
            root = write_suite(dataset, Path(args.out), name, seed=args.seed, progress=bar)
        finally:
            bar.close()
        s = get_suite(name)
        size = int(dataset.test_x.shape[-1])
        print(f"wrote {name}: {len(s.corruptions)} corruptions × {s.severities(size)} severit"
              f"{'y' if s.severities(size) == 1 else 'ies'} of {len(dataset.test_x)} {dataset.name} test images "
              f"to {root}")
        return 0

    return _run(body)


def gallery_main(argv: list[str]) -> int:
    parser = _Parser(
        prog="python -m app gallery",
        description="Draw a PNG grid of a suite: every corruption at every severity for a few test images.",
    )
    _common(parser)
    parser.add_argument("--out", required=True, help="PNG file to write")
    parser.add_argument("--images", type=int, default=3, help="how many test images (one per class, default 3)")
    args, code = _parse(parser, argv)
    if args is None:
        return code
    args.limit = None

    def body() -> int:
        from app.engine.corruptions.gallery import write_gallery

        dataset = _load(args)
        path = write_gallery(dataset, Path(args.out), args.suite, images=args.images, seed=args.seed)
        print(f"wrote {path}")
        return 0

    return _run(body)
