"""SynthFaces: procedurally drawn faces with exact label maps, the project's built-in dataset.

    fpliif synth --out data/synth --format lapa --n-train 2000 --n-val 200 --n-test 200 --size 256

Each face is painted back to front with scikit-image polygons (background clutter, hair, neck,
clothes, ears, face, nose, glasses, eyes, brows, lips, fringe, hat, occluder), so the label map
is exact by construction. A face varies in what makes face parsing hard: roll, yaw and pitch,
scale and position; skin, hair and lip colours; directional light, shading and colour casts;
skin, hair and cloth texture, blur and sensor noise; cluttered backgrounds; thin brows, lash
lines and lips (a few pixels at 128-256 px, never one-pixel slivers); fringes over the brows,
glasses (some of them sunglasses that hide the eyes) and occluding objects; open (some with
teeth) and closed mouths; closed eyes; rare accessories (probabilities in ``parts``).

Left and right follow the anatomical convention of ``fpliif.data.info``: ``l_eye`` is the
subject's left eye, on the image's right.

Every image depends only on (seed, split, index): files are identical for any number of workers.
Sets are written in LaPa's layout (11 classes) or CelebAMask-HQ's (19 classes); ``writer``
describes both and the ``synthfaces.json`` that records the settings.

Where things are:
- ``parts``: the 19 label ids, the map to LaPa's 11 and how often optional parts appear
- ``geometry``: shapes in face units and the head pose that maps them to pixels
- ``shading``: colours and shaders (skin, hair, cloth) and the cluttered background
- ``canvas``: the image, label map and part extents being painted
- ``face``: one face's random pose, look and proportions
- ``head``, ``features``: the painting steps, one function per part
- ``render``: the painting order, the camera finish, ``draw_sample``
- ``writer``: the on-disk layouts, splits and ``generate``
- ``command``: ``fpliif synth``
"""

from .render import FORMATS, SPLITS, VERSION, draw_sample
from .writer import CELEBA_SIZE, META_FILE, celebamask_plan, generate, lapa_name, read_meta

__all__ = [
    "CELEBA_SIZE",
    "FORMATS",
    "META_FILE",
    "SPLITS",
    "VERSION",
    "celebamask_plan",
    "draw_sample",
    "generate",
    "lapa_name",
    "read_meta",
]
