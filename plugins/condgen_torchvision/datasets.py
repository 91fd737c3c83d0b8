"""The ``condgen_torchvision`` components' code, imported when a recipe builds one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

import condgen

from . import TorchvisionConfig

CELEBA_ATTRIBUTES = (
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose Black_Hair "
    "Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee Gray_Hair Heavy_Makeup "
    "High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard Oval_Face Pale_Skin Pointy_Nose "
    "Receding_Hairline Rosy_Cheeks Sideburns Smiling Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat "
    "Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young"
).split()


CIFAR10_CLASSES = "airplane automobile bird cat deer dog frog horse ship truck".split()


EMNIST_SPLITS = ("byclass", "bymerge", "balanced", "letters", "digits", "mnist")


def _classes(config: TorchvisionConfig) -> list[str]:
    from condgen.compat import torchvision

    datasets = torchvision.datasets
    if config.dataset == "EMNIST":
        names = list(datasets.EMNIST.classes_split_dict[config.emnist_split])
        return names[1:] if config.emnist_split == "letters" else names  # letters' labels start at 1 ('N/A' is 0)
    return {
        "FashionMNIST": list(datasets.FashionMNIST.classes),
        "KMNIST": list(datasets.KMNIST.classes),
        "CIFAR10": CIFAR10_CLASSES,
        "SVHN": [str(d) for d in range(10)],
        "CelebA": [],
    }[config.dataset]


def _x_shape(config: TorchvisionConfig) -> tuple[int, int, int]:
    if config.dataset == "CelebA":
        return (3, *config.size)
    return (3, 32, 32) if config.dataset in ("CIFAR10", "SVHN") else (1, 28, 28)


@dataclass
class _Raw:
    pixels: torch.Tensor  # (N, C, H, W) uint8
    targets: torch.Tensor  # (N,) class indices, or (N, 40) CelebA attributes in {0, 1}


class TorchvisionDataset:
    """One of torchvision's datasets as a condgen dataset (see the module docstring)."""

    def __init__(self, config: TorchvisionConfig, context: condgen.BuildContext | None = None) -> None:
        self.config = config
        self.root = condgen.resolve_data_root(config.root)
        self.class_names = tuple(_classes(config))
        self.attribute_names = tuple(CELEBA_ATTRIBUTES) if config.dataset == "CelebA" else ()
        self.x_shape = _x_shape(config)
        self.condition_shape = (len(self.class_names) or len(self.attribute_names),)
        self._splits: dict[str, condgen.TensorSplit] = {}

    def preview_conditions(self, per_row: int) -> torch.Tensor:
        """One row per class (at most 16); for CelebA, one row per attribute switched on alone (the first 8)."""
        if self.class_names:
            return self.conditions_for_labels(torch.arange(min(len(self.class_names), 16)).repeat_interleave(per_row))
        return torch.eye(len(self.attribute_names))[:8].repeat_interleave(per_row, 0)

    def load(self, split: str) -> condgen.TensorSplit:
        if split not in ("train", "test"):
            raise ValueError(f"unknown split {split!r}")
        if split not in self._splits:
            raw = self._read(split)
            pixels, targets = raw.pixels, raw.targets
            if self.config.limit is not None:
                pixels, targets = pixels[: self.config.limit], targets[: self.config.limit]
            if self.class_names:
                condition, labels = self._one_hot(targets), targets
            else:
                condition, labels = targets.to(torch.float32), None
            self._splits[split] = condgen.TensorSplit(pixels.contiguous(), condition, scale=1 / 255, labels=labels)
        return self._splits[split]

    def _one_hot(self, labels: torch.Tensor) -> torch.Tensor:
        bad = labels[(labels < 0) | (labels >= len(self.class_names))]
        if bad.numel():
            raise condgen.UserError(
                f"{self.config.dataset} classes are 0-{len(self.class_names) - 1}, got {', '.join(map(str, sorted(set(bad.tolist()))))}."
            )
        return F.one_hot(labels.long(), len(self.class_names)).to(torch.float32)

    def _read(self, split: str) -> _Raw:
        from condgen.compat import torchvision

        if self.root.exists() and not self.root.is_dir():
            raise condgen.DataError(f"The data root {str(self.root)!r} is a file, not a folder.")
        name = self.config.dataset
        reader = getattr(torchvision.datasets, name)
        kwargs: dict = {"download": self.config.download}
        if name in ("FashionMNIST", "KMNIST", "CIFAR10"):
            kwargs["train"] = split == "train"
        elif name == "EMNIST":
            kwargs.update(split=self.config.emnist_split, train=split == "train")
        elif name == "SVHN":
            kwargs["split"] = split
        else:
            kwargs.update(split="valid" if split == "test" else "train", target_type="attr")
        try:
            data = reader(str(self.root), **kwargs)
        except (RuntimeError, OSError, ValueError, EOFError) as error:
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
            why = "downloading is switched off (download: false)" if not self.config.download else f"it could not be read or downloaded ({reason})"
            raise condgen.DataError(
                f"{name} is not in {str(self.root.resolve())!r} and {why}.",
                hint=(
                    f"Put torchvision's {name} files in that folder (as torchvision.datasets.{name} lays them out), or "
                    f"point the data root at a folder that has them: set data.root in the recipe, pass data.root=PATH, or "
                    f"set ${condgen.data.DATA_DIR_ENV}. On a connected machine condgen downloads them there itself."
                ),
            ) from None
        return self._tensors(name, data)

    def _tensors(self, name: str, data) -> _Raw:
        if name in ("FashionMNIST", "KMNIST", "EMNIST"):
            pixels = data.data.unsqueeze(1)
            if name == "EMNIST":  # EMNIST's files store each image transposed
                pixels = pixels.transpose(2, 3)
            targets = data.targets.long() - (1 if name == "EMNIST" and self.config.emnist_split == "letters" else 0)
            return _Raw(pixels, targets)
        if name == "CIFAR10":
            return _Raw(torch.from_numpy(np.ascontiguousarray(data.data.transpose(0, 3, 1, 2))), torch.tensor(data.targets))
        if name == "SVHN":
            return _Raw(torch.from_numpy(np.ascontiguousarray(data.data)), torch.from_numpy(np.asarray(data.labels)).long())
        return self._celeba(data)

    def _celeba(self, data) -> _Raw:
        from condgen_image_folder.cache import DecodeSettings, load_or_decode
        from condgen_image_folder.scan import FileEntry

        folder = Path(data.root) / data.base_folder / "img_align_celeba"
        names = list(data.filename)
        if self.config.limit is not None:
            names = names[: self.config.limit]
        files = []
        for file in names:
            try:
                stat = (folder / file).stat()
                files.append(FileEntry(file, "", stat.st_size, stat.st_mtime_ns))
            except OSError:
                files.append(FileEntry(file, "", -1, 0))
        settings = DecodeSettings(tuple(self.config.size), "RGB", 50_000_000)
        decoded = load_or_decode(folder, files, settings, folder.parent / ".condgen_cache", memory_map=False)
        if decoded.failed:
            shown = "; ".join(f"{files[i].relative}: {why}" for i, why in list(decoded.failed.items())[:5])
            raise condgen.DataError(f"{len(decoded.failed)} CelebA image(s) in {str(folder)!r} cannot be read: {shown}.")
        return _Raw(torch.from_numpy(np.ascontiguousarray(decoded.pixels)), data.attr[: len(files)].long())


class LabelledTorchvisionDataset(TorchvisionDataset):
    """A torchvision dataset with classes: ``condgen sample --label`` by index or by name."""

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def conditions_for_labels(self, labels: torch.Tensor) -> torch.Tensor:
        return self._one_hot(labels)


class CelebADataset(TorchvisionDataset):
    """CelebA: its 40 binary attributes (0 or 1) are the condition; ``condgen sample --attr Smiling=1 --attr Male=0``.

    An attribute not given is set to its training-split frequency (the fraction
    of training faces that have it), kept in the checkpoint
    (:class:`condgen.StatefulDataset`), so sampling needs no data.
    """

    def __init__(self, config: TorchvisionConfig, context: condgen.BuildContext | None = None) -> None:
        super().__init__(config, context)
        self.frequencies: torch.Tensor | None = None  # (40,) float64, from the training split or a checkpoint

    def _frequencies(self) -> torch.Tensor:
        if self.frequencies is None:
            self.frequencies = self.load("train").condition.to(torch.float64).mean(0)
        return self.frequencies

    def state_dict(self) -> dict:
        return {"attributes": list(self.attribute_names), "frequencies": self._frequencies().clone()}

    def load_state_dict(self, state: dict) -> None:
        if list(state.get("attributes", [])) != list(self.attribute_names):
            raise condgen.CheckpointError("The checkpoint's CelebA state does not list CelebA's 40 attributes.")
        self.frequencies = torch.as_tensor(state["frequencies"], dtype=torch.float64)

    def conditions_for_request(self, request: condgen.ConditionRequest) -> condgen.ConditionBatch:
        """One row: the attributes given (0 absent, 1 present), the others at their training frequency."""
        if request.text or request.labels:
            raise condgen.UserError(
                "This run's dataset (CelebA) conditions on its 40 binary attributes, not on "
                + ("text" if request.text else "classes")
                + ": use --attr NAME=1 (or 0), for example --attr Smiling=1 --attr Male=0."
            )
        condgen.check_attribute_names(request.attributes, self.attribute_names)
        row = self._frequencies().clone()
        notes = []
        for name, value in request.attributes.items():
            row[self.attribute_names.index(name)] = value
            if not 0 <= value <= 1:
                notes.append(f"{name}={value:g} is outside 0 (absent) to 1 (present): the model extrapolates")
        unset = len(self.attribute_names) - len(request.attributes)
        if unset:
            notes.append(f"{unset} attribute(s) not given are at their training frequency (the fraction of faces with it)")
        described = ", ".join(f"{name}={value:g}" for name, value in request.attributes.items()) or "training frequencies"
        conditions = row.to(torch.float32)[None].repeat(request.copies, 1)
        return condgen.ConditionBatch(conditions, (described,), tuple(notes))


def build(config: TorchvisionConfig, context: condgen.BuildContext) -> TorchvisionDataset:
    return (CelebADataset if config.dataset == "CelebA" else LabelledTorchvisionDataset)(config, context)
