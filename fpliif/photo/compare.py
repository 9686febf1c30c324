"""The face-detector comparison behind ``detect.py``'s choice, on data that needs no download.

    python -m fpliif.photo.compare            # prints one row per detector and test set

Test sets: scikit-image's astronaut (one face) and cameraman (one small face turned away);
100 LFW faces of ``skimage.data.lfw_subset()`` (25 px, upscaled to 100) and its 100 non-face
patches, each tiled 10 x 10 on a grey page; and ``scenes`` of SynthFaces faces pasted into larger
canvases at 60-240 px (``synth_scene``, which the tests use too). A detection counts when its
centre lies inside a face's true box and its size is within 0.5-2x of it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .detect import Detector, FaceBox, make_detector


@dataclass(frozen=True)
class Scene:
    """An RGB uint8 image [H,W,3], the true face boxes in it, and each face's label map placed
    in the scene (uint8 [H,W], 0 outside every face)."""

    image: np.ndarray
    faces: list[FaceBox]
    labels: np.ndarray


def _background(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A smooth random colour field with mild noise, uint8 [H,W,3]."""
    from PIL import Image

    coarse = rng.integers(40, 220, (4, 5, 3), dtype=np.uint8)
    field = np.asarray(Image.fromarray(coarse).resize((w, h), Image.BICUBIC), dtype=np.float32)
    field += rng.normal(0, 6, field.shape)
    return np.clip(field, 0, 255).astype(np.uint8)


def synth_scene(
    sizes: Sequence[int],
    *,
    canvas: tuple[int, int] = (480, 640),
    seed: int = 0,
    index: int = 0,
) -> Scene:
    """SynthFaces faces (one per entry of ``sizes``, that many pixels square) pasted without overlap
    at random places of a ``canvas`` (H, W) background. A face's true box is the box of its
    face classes (LaPa ids 1-9: skin, brows, eyes, nose, lips, mouth), hair excluded."""
    from PIL import Image

    from ..data.synth import draw_sample

    rng = np.random.default_rng(seed * 1000 + index)
    h, w = canvas
    image = _background(h, w, rng)
    labels = np.zeros((h, w), np.uint8)
    faces: list[FaceBox] = []
    taken: list[tuple[int, int, int, int]] = []
    for k, size in enumerate(sizes):
        face, label = draw_sample(seed, "test", index * 16 + k, size=128)
        face = np.asarray(Image.fromarray(face).resize((size, size), Image.BICUBIC))
        label = np.asarray(Image.fromarray(label).resize((size, size), Image.NEAREST))
        for _ in range(200):
            y, x = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
            if all(x + size <= a or a + s <= x or y + size <= b or b + s <= y for a, b, s, _ in taken):
                break
        else:
            raise ValueError(f"cannot place {len(sizes)} faces of {list(sizes)} px on a {h}x{w} canvas")
        taken.append((x, y, size, k))
        image[y : y + size, x : x + size] = face
        labels[y : y + size, x : x + size] = label
        ys, xs = np.nonzero((label >= 1) & (label <= 9))
        faces.append(
            FaceBox(
                float(x + xs.min()), float(y + ys.min()), float(x + xs.max() + 1), float(y + ys.max() + 1)
            )
        )
    return Scene(image=image, faces=faces, labels=labels)


def tiled(patches: np.ndarray, *, scale: int = 4, gap: int = 30, cols: int = 10) -> Scene:
    """Grey patches [N,h,w] (float in [0,1]) upscaled ``scale`` times, tiled on a grey page; the
    faces are the tiles."""
    from PIL import Image

    n, ph, pw = patches.shape
    th, tw = ph * scale, pw * scale
    rows = -(-n // cols)
    page = np.full((rows * (th + gap) + gap, cols * (tw + gap) + gap), 128, np.uint8)
    faces = []
    for i, p in enumerate(patches):
        r, c = divmod(i, cols)
        y, x = gap + r * (th + gap), gap + c * (tw + gap)
        tile = Image.fromarray((np.clip(p, 0, 1) * 255).astype(np.uint8)).resize((tw, th), Image.BICUBIC)
        page[y : y + th, x : x + tw] = np.asarray(tile)
        faces.append(FaceBox(x, y, x + tw, y + th))
    image = np.repeat(page[..., None], 3, axis=2)
    return Scene(image=image, faces=faces, labels=np.zeros(page.shape, np.uint8))


def matches(found: Sequence[FaceBox], truth: Sequence[FaceBox]) -> tuple[int, int]:
    """(true faces found, detections matching no true face); one detection per true face."""
    used: set[int] = set()
    false = 0
    for d in found:
        cx, cy = d.center
        hit = next(
            (
                i
                for i, t in enumerate(truth)
                if i not in used
                and t.x0 <= cx < t.x1
                and t.y0 <= cy < t.y1
                and 0.5 <= np.sqrt(d.width * d.height / max(t.width * t.height, 1)) <= 2.0
            ),
            None,
        )
        if hit is None:
            false += 1
        else:
            used.add(hit)
    return len(used), false


def test_sets() -> dict[str, list[Scene]]:
    from skimage import data

    astronaut = data.astronaut()
    camera = np.repeat(data.camera()[..., None], 3, axis=2)
    lfw = data.lfw_subset()
    synth = [
        synth_scene(sizes, canvas=(600, 800), index=i)
        for i, sizes in enumerate([(240, 120, 60), (200, 160, 90), (150, 100, 80), (220, 70, 130)] * 2)
    ]
    return {
        # the astronaut's face lies about at x 175-270, y 60-165 (checked by eye); the cameraman's at
        # x 250-320, y 60-130, turned three-quarters away
        "astronaut": [Scene(astronaut, [FaceBox(175, 60, 270, 165)], np.zeros((512, 512), np.uint8))],
        "cameraman": [Scene(camera, [FaceBox(240, 50, 330, 140)], np.zeros((512, 512), np.uint8))],
        "lfw-faces": [tiled(lfw[:100])],
        "lfw-non-faces": [tiled(lfw[100:])],
        "synth-scenes": synth,
    }


def compare(detectors: Sequence[Detector], sets: dict[str, list[Scene]]) -> list[dict[str, object]]:
    """One row per detector and set: faces, found, false detections, CPU seconds per image."""
    rows = []
    for det in detectors:
        det(sets[next(iter(sets))][0].image)  # warm up
        for name, scenes in sets.items():
            found = false = total = 0
            start = time.process_time()  # CPU time: wall time depends on what else runs
            for scene in scenes:
                boxes = det(scene.image)
                f, x = matches(boxes, [] if name == "lfw-non-faces" else scene.faces)
                found, false, total = found + f, false + x, total + len(scene.faces)
            seconds = (time.process_time() - start) / len(scenes)
            rows.append(
                {
                    "detector": det.name,
                    "set": name,
                    "faces": 0 if name == "lfw-non-faces" else total,
                    "found": found,
                    "false": false,
                    "cpu_s_per_image": round(seconds, 3),
                    "image": "x".join(str(s) for s in scenes[0].image.shape[:2]),
                }
            )
    return rows


def main() -> None:
    rows = compare([make_detector("opencv-haar"), make_detector("skimage-lbp")], test_sets())
    print("| detector | set | image | faces | found | false detections | CPU s per image |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['detector']} | {r['set']} | {r['image']} | {r['faces']} | {r['found']} | "
            f"{r['false']} | {r['cpu_s_per_image']} |"
        )


if __name__ == "__main__":
    main()
