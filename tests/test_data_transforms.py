"""Augmentations keep image and mask aligned: images whose colours encode their labels."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from fpliif.data import AugmentConfig, dataset_info
from fpliif.data.transforms import Augment, as_augment_config, resize_image, resize_label

INFO = dataset_info("lapa")
COLOURS = torch.tensor(
    [[0, 0, 0], [250, 30, 30], [30, 250, 30], [30, 30, 250], [250, 250, 30], [30, 250, 250]],
    dtype=torch.uint8,
)


def _coded_sample(h: int = 48, w: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """Large regions of ids 1..5 (left half, right half, a disc, two eyes) coloured by id."""
    yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    label = torch.where(xx < w // 2, 1, 2)
    label[(yy - h // 2) ** 2 + (xx - w // 2) ** 2 < (h // 4) ** 2] = 3
    label[(yy < 10) & (xx > 6) & (xx < 22)] = 4  # "left eye"
    label[(yy < 10) & (xx > 40) & (xx < 56)] = 5  # "right eye"
    label = label.to(torch.uint8)
    return COLOURS[label.long()].permute(2, 0, 1).contiguous(), label


def _agreement(image: torch.Tensor, label: torch.Tensor) -> float:
    """Share of the label map's interior pixels (3x3 neighbourhood of one id, not 255) whose colour
    codes their id; interpolation blends colours at region borders, so those are left out."""
    lab = label.float()[None, None]
    interior = (F.max_pool2d(lab, 3, 1, 1) == -F.max_pool2d(-lab, 3, 1, 1))[0, 0] & (label != 255)
    distance = (image.permute(1, 2, 0).float()[:, :, None, :] - COLOURS.float()[None, None]).abs().sum(-1)
    return (distance.argmin(-1)[interior] == label[interior].long()).float().mean().item()


def test_geometric_augmentation_moves_image_and_mask_together():
    torch.manual_seed(0)
    image, label = _coded_sample()
    augment = Augment(AugmentConfig(color_jitter=False), INFO)
    saw_outside = False
    for _ in range(20):
        img, lab = augment(image, label)
        assert img.shape == image.shape and img.dtype == torch.uint8 and lab.shape == label.shape
        assert set(lab.unique().tolist()) <= {0, 1, 2, 3, 4, 5, 255}
        assert _agreement(img, lab) > 0.99
        inside = lab != 255
        if (~inside).sum() > 50:
            saw_outside = True
            assert (img.permute(1, 2, 0)[~inside].float().sum(-1) < 60).float().mean() > 0.9  # black there
    assert saw_outside  # scale down to 0.5 exposes the outside, labelled 255 (ignored)


def test_misaligned_pair_would_fail_the_check():
    """The check above is not trivially met: the same transform with the mask left alone fails it."""
    torch.manual_seed(0)
    image, label = _coded_sample()
    augment = Augment(AugmentConfig(color_jitter=False, crop=False, scale=(1.0, 1.0)), INFO)
    agreement = []
    for _ in range(10):
        img, _ = augment(image, label)
        agreement.append(_agreement(img, label))
    assert min(agreement) < 0.85


def test_flip_swaps_left_and_right_ids():
    image, label = _coded_sample()
    augment = Augment(AugmentConfig(affine=False, crop=False, color_jitter=False, hflip=True), INFO)
    lut = torch.from_numpy(INFO.flip_lut()).long()
    outcomes = set()
    for _ in range(30):
        img, lab = augment(image, label)
        if torch.equal(img, image):
            assert torch.equal(lab, label)
            outcomes.add("kept")
        else:
            assert torch.equal(img, image.flip(-1))
            assert torch.equal(lab.long(), lut[label.flip(-1).long()])  # the eye now on the left is id 5
            outcomes.add("flipped")
    assert outcomes == {"kept", "flipped"}


def test_colour_jitter_changes_the_image_only():
    torch.manual_seed(1)
    image, label = _coded_sample()
    augment = Augment(AugmentConfig(affine=False, crop=False), INFO)
    img, lab = augment(image, label)
    assert torch.equal(lab, label) and not torch.equal(img, image)


def test_config_defaults_are_the_papers_and_accept_dicts():
    c = AugmentConfig()
    assert (c.degrees, c.shear, c.scale) == (30.0, (0.0, 20.0), (0.5, 3.0))
    assert (c.brightness, c.contrast, c.saturation, c.hue) == (
        (0.5, 1.5),
        (0.0, 2.0),
        (0.5, 1.5),
        (-0.3, 0.3),
    )
    assert not c.hflip
    assert as_augment_config(False) is None and as_augment_config(True) == c
    assert as_augment_config({"hflip": True, "scale": [0.9, 1.1]}) == AugmentConfig(
        hflip=True, scale=(0.9, 1.1)
    )
    with pytest.raises(ValueError, match="unknown augmentation options"):
        as_augment_config({"flip": True})


def test_resize_bicubic_images_and_nearest_labels():
    image, label = _coded_sample()
    small = resize_label(label, (24, 32))
    assert torch.equal(small, label[1::2, 1::2])  # nearest, centred: never a blend of ids
    img = resize_image(image, (96, 128))
    assert img.shape == (3, 96, 128) and img.dtype == torch.uint8
    # Bicubic overshoots at colour edges: values above the source's 250 that nearest or bilinear never make.
    assert image.max() == 250 and img.max() > 250
    assert np.array_equal(resize_label(label, (48, 64)).numpy(), label.numpy())
