"""PyTorch baseline for `mmencode-bench clip`: transformers' CLIPVisionModelWithProjection, float32
on the CPU, random weights, for the vision config the Swift benchmark passes in.

The benchmark drives this script over pipes so that PyTorch and mmencode forward passes alternate
and see the same machine load: each stdin line holds a batch size, and the reply is one JSON line
with the wall and process-CPU seconds of one forward pass over that many random images (the first
request for a batch size also runs an untimed warm-up pass). The first line written is the setup.

Usage: python torch_clip_baseline.py --config JSON --threads N
"""

import argparse
import json
import sys
import time

import torch
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True, help="vision config as JSON (config.json keys)")
    parser.add_argument("--threads", type=int, required=True)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = CLIPVisionConfig.from_dict(json.loads(args.config))
    model = CLIPVisionModelWithProjection(config).eval()
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(),
                      "attention": model.config._attn_implementation}), flush=True)
    size = config.image_size
    pixels = {}
    with torch.inference_mode():
        for line in sys.stdin:
            batch = int(line)
            if batch not in pixels:
                pixels[batch] = torch.randn(batch, config.num_channels, size, size)
                model(pixel_values=pixels[batch])
            wall, cpu = time.perf_counter(), time.process_time()
            model(pixel_values=pixels[batch])
            print(json.dumps({"wall": time.perf_counter() - wall,
                              "cpu": time.process_time() - cpu}), flush=True)


if __name__ == "__main__":
    main()
