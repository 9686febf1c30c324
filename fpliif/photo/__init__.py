"""Parsing photos: find the faces, crop each as the training crops look, parse it at its own
resolution, paste the label maps back into the photo.

- ``detect``: the face detector (OpenCV's Haar cascade, weights inside the wheel) and why this one
- ``crops``: the square crop around a face (``CROP_SCALE``) and the paste-back by confidence
- ``parser``: ``FaceParser`` and ``load_pretrained`` (also ``fpliif.load_pretrained``)
- ``output``: palette label PNGs, overlays with a legend, ``classes.json``, ``render_parse``
- ``explore``: the widgets of ``notebooks/explore.ipynb``
- ``compare``: the detector comparison, and the drawn-face scenes the tests use
"""
