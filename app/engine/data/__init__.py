"""Datasets by name, in their official file layouts, held in memory as uint8 tensors."""

from app.engine.data.dataset import Dataset, to_float
from app.engine.data.registry import DATASETS, load_dataset

__all__ = ["DATASETS", "Dataset", "load_dataset", "to_float"]
