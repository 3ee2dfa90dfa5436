"""The nudity check: nudenet's exposed-body detector, with boxes as evidence.

nudenet (and the onnxruntime and OpenCV it imports) is imported only when this check is loaded
through the registry, so nothing else in Scout pays for it; when it is missing the registry
reports the missing package with a hint. The ONNX model ships inside the package: nothing is
downloaded. One compute thread per calling thread (the pass runs two workers on two cores).
"""

from __future__ import annotations

import threading

import nudenet
import numpy as np
import onnxruntime
from PIL import Image

from indexer.safety.policy import Policy
from indexer.safety.signals import Signal, Subject

# Labels that show what a brand-safety floor calls nudity; covered parts, faces and feet do not.
EXPOSED = {"FEMALE_GENITALIA_EXPOSED", "FEMALE_BREAST_EXPOSED", "MALE_GENITALIA_EXPOSED", "BUTTOCKS_EXPOSED",
           "ANUS_EXPOSED"}
MODEL_ID = "nudenet-320n"


class NudityCheck:
    name = "nudity"

    def __init__(self, policy: Policy):
        self._keys = [key for key, category in policy.categories.items() if category.nudity]
        self._local = threading.local()

    def _detector(self) -> "nudenet.NudeDetector":
        detector = getattr(self._local, "detector", None)
        if detector is None:
            detector = nudenet.NudeDetector()
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            detector.onnx_session = onnxruntime.InferenceSession(
                detector.onnx_session._model_path, options, providers=["CPUExecutionProvider"])
            self._local.detector = detector
        return detector

    def detect(self, image: Image.Image) -> list[dict]:
        """nudenet's detections ({"class", "score", "box": [x, y, w, h]}) in ``image``'s pixels."""
        rgba = np.asarray(image.convert("RGBA"))  # nudenet converts RGBA -> BGR itself
        return self._detector().detect(np.ascontiguousarray(rgba))

    def signals(self, subject: Subject) -> list[Signal]:
        if subject.image is None or not self._keys:
            return []
        found = [d for d in self.detect(subject.image) if d["class"] in EXPOSED]
        return [Signal(key, "nudity", d["score"], evidence={"label": d["class"], "box": d["box"]})
                for d in found for key in self._keys]


def load(policy: Policy, encoder: object) -> NudityCheck:
    return NudityCheck(policy)
