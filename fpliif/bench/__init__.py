"""``fpliif bench``: how fast FP-LIIF and its peers run on the machine at hand, measured honestly.

    fpliif bench --out results/bench_cpu.json            # the full run
    fpliif bench --quick --out /tmp/b.json               # a seconds-long subset (smoke tests)
    fpliif bench --device cuda --compile --out results/bench_gpu.json

One run (``suite.run_bench``) measures, on one device and thread count:

* **the matrix-multiply peak** per dtype (``peak``: large square GEMMs through torch.mm and, on
  CPU, through oneDNN), before and after the other rows: the best of these is the peak every share
  is taken of (a single measurement on a shared machine is noisy);
* **FP-LIIF** at each output size, batch and dtype (``cases``) through the ``fast`` path
  (``fpliif.models.fast``), the paper-faithful ``eager`` forward (batch 1 unless ``--eager-batches``
  says otherwise) and ``onnxruntime`` (fp32; the graph of ``fpliif.export``), plus the
  "predict small, upscale" rows (``pred_size`` < ``out_size``: decode at 64, take the label map
  and resize it to 256 with nearest neighbour, as ``fpliif eval``'s "64->256" protocol scores it),
  through the fast and the eager path (the paper's Table 6 compares the same computation);
* **the peers** (each through PyTorch eager with channels_last and inference_mode, bf16 through
  autocast): the U-Net ablation (also through the fast encoder), BiSeNet/ResNet-18 at 512,
  ResNet-101 features at the peers' 473x473 (output stride 32, and 8 like their backbones);
* **the ratio targets, interleaved** (``pairs``): the bf16 speed-up and FPS(64->256) / FPS(256)
  (fast fp32, fast bf16, eager fp32) timed once more with their two sides alternating, batch 1:
  separate rows are minutes apart and the machine's speed drifts meanwhile; likewise the fp32
  share of peak: the peak GEMM alternating with the fast path at 256;
* **adaptive decoding** (``adaptive``, beyond the paper): the fast path with ``decode="adaptive"``
  beside its dense decoding on the same model and images, at 256 and 1024, batch 1, their ratio
  interleaved; each adaptive row records its share of pixels queried, its agreement with dense
  and the MACs it performed. With ``--adaptive-checkpoint`` (and its dataset) the rows run a trained
  model on its test images and the test mean F1 of both decodings is scored; otherwise they run
  random weights, which show the machinery, not the method's share or agreement;
* **memory** (``memory``): the peak resident memory of one 2048x2048 output from a 256 input, in a
  fresh subprocess.

Every latency row is: warm-up calls, then ``repeats`` timed calls (device synchronised around
each; ``timing``), median. ``gmacs`` is what the measured path performs per image
(``FlopCounterMode``, halved), ``paper_gmacs`` the paper-faithful count of the same model
(Table 6's convention); ``gflops_per_s`` = 2 x gmacs x fps (achieved), ``share_of_peak`` =
gflops_per_s / peak, and ``paper_gflops_per_s`` = 2 x paper_gmacs x fps (the effective rate by the
paper's count). Nothing is cached between timed calls: every call encodes the images and decodes
every pixel. ``--out`` writes the records as a JSON list; ``summary`` checks the bench's targets
(its ``TARGET_*``: fast fp32 at >= 75% of the fp32 matmul peak; the bf16 speed-up >= 0.9x the
bf16/fp32 matmul peak ratio measured in the run; FPS(64->256) >= 3.5 x FPS(256) on the fast path and,
the paper's claim (Table 6), >= 4.0x on the eager path; peak RSS of a 2048^2 output <= 4096 MB;
bf16 within 0.1 points of fp32's test mean F1 on a checkpoint (``quality``); adaptive decoding at
>= 2x the dense FPS at 256 and >= 10x at 1024, >= 99.5% of pixels with the dense label, within 0.1
points of dense's test mean F1) and puts beside each what the machine and the arithmetic
allow, measured in the same run: the bf16/fp32 peak ratio next to the bf16 speed-up, and the MAC
ratio of the two paths next to FPS(64->256) / FPS(256) (both paths run near the peak, so the FPS
ratio follows the MAC ratio; the fast path's cheaper 256 decode lowers it from the eager path's).
The command line is ``cli``.
"""

from .config import REQUIRED_KEYS, BenchConfig
from .memory import measure_memory
from .peak import measure_peak
from .quality import quality_check
from .suite import run_bench
from .summary import summary, to_frame
from .timing import time_calls

__all__ = [
    "BenchConfig",
    "REQUIRED_KEYS",
    "measure_memory",
    "measure_peak",
    "quality_check",
    "run_bench",
    "summary",
    "time_calls",
    "to_frame",
]
