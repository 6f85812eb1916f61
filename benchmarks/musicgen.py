"""MusicGen generation cost with the real musicgen-small architecture (random weights).

    .venv/bin/python benchmarks/musicgen.py [--seconds 2] [--rounds 4] [--threads 1] [--int8-only]
                                            [--device cpu] [--json out.json]

The network is built offline from musicgen-small's published shape (24 decoder layers of
width 1024, 16 heads, 4 codebooks of 2048 entries, a T5-base text encoder and the 32 kHz
EnCodec) with seeded random weights: speed and memory do not depend on the weights'
values, and nothing is downloaded. Each run goes through Expotion's own generation path
(:func:`generate_audio`: conditioning, the sampling loop, EnCodec decoding).

The baseline is plain ``transformers`` ``generate`` (float32, text guidance 3, top-k
250); beside it Expotion's path at float32 and then at int8 (the decoder's Linear layers
dynamically quantised in place, as ``--precision int8`` does), each with text guidance 3
alone, with text guidance 3 and a visual-control adapter's controls in both rows (the
default, as in the paper: two rows), and with text 3 + control 1.5 guidance (a third row),
and the library again on the int8 model for reference. The int8 rows are measured on the
CPU only (the quantised kernels are CPU kernels). ``--int8-only`` skips the float runs and
the baseline: a 30 s window (``--seconds 30``, one whole window, where attention over the
cache weighs most) takes minutes per float run.

With ``--rounds N`` (N > 1) the three int8 runs are repeated, interleaved, and their
CPU-time ratios to text alone are printed per round (the steadiest figure on a shared machine).
Last, the self-attention KV cache at the end of a 30 s window (1 500 cached steps, 24
layers, 16 heads of 64): the library's growing ``DynamicCache`` layer (``torch.cat`` of
the whole past at every step) beside Expotion's preallocated layer, per decoder step, for
two and three guidance rows; this cost grows with the window, so the short runs above
barely show it.

Reported per configuration: seconds of wall time and of CPU time per second of audio
generated, their ratios to the baseline measured in the same process on the same machine
(on a shared machine the CPU-time ratio is the steadier one), decoder steps per second,
and peak memory (on CUDA the allocator's peak; on CPU the highest resident memory sampled
every 10 ms during the run, minus the resident memory before it). torch uses every core
unless ``--threads`` or ``OMP_NUM_THREADS`` says otherwise.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from expotion_engine.controls.channels import ALL_CHANNELS  # noqa: E402
from expotion_engine.engines.musicgen.architectures import build_random_model, build_tokenizer  # noqa: E402
from expotion_engine.engines.musicgen.catalog import get_variant  # noqa: E402
from expotion_engine.engines.musicgen.checkpoint import new_adapter  # noqa: E402
from expotion_engine.engines.musicgen.config import AdapterConfig  # noqa: E402
from expotion_engine.engines.musicgen.controls import to_frames  # noqa: E402
from expotion_engine.engines.musicgen.device import resolve_device, resolve_dtype  # noqa: E402
from expotion_engine.engines.musicgen.generate import ControlInput, WindowSettings, generate_audio  # noqa: E402
from expotion_engine.engines.musicgen.hub import ResolvedModel  # noqa: E402
from expotion_engine.engines.musicgen.loading import LoadedModel  # noqa: E402
from expotion_engine.engines.musicgen.precision import quantize_decoder, use_all_cores  # noqa: E402
from expotion_engine.engines.musicgen.sampling import SamplingSettings  # noqa: E402
from expotion_engine.types import ControlTrack, VideoSource  # noqa: E402

MODEL = "musicgen-small"
PROMPT = "warm piano and soft strings, calm, slow tempo"


def random_model(device: torch.device, dtype: torch.dtype, name: str = MODEL) -> LoadedModel:
    """A catalogue model's architecture (musicgen-small by default) with seeded random weights, frozen."""
    variant = get_variant(name)
    started = time.perf_counter()
    model = build_random_model(variant.architecture, seed=0).to(dtype)
    model.audio_encoder.to(torch.float32)
    model.requires_grad_(False)
    model.eval().to(device)
    params = sum(p.numel() for p in model.parameters()) / 1e6
    decoder = sum(p.numel() for p in model.decoder.parameters()) / 1e6
    print(f"{name} architecture, random weights: {params:.0f} M parameters ({decoder:.0f} M in the decoder), "
          f"built in {time.perf_counter() - started:.0f} s")
    source = ResolvedModel(f"{name} (random weights)", ROOT, "random", variant.repo_id, None)
    return LoadedModel(model=model, tokenizer=build_tokenizer(), source=source, device=device, dtype=dtype)


def control_track(seconds: float) -> ControlTrack:
    """Every analysis channel at 25 Hz with smooth random values (the content does not change the compute)."""
    frames = int(np.ceil(seconds * 25.0))
    rng = np.random.default_rng(0)
    values = np.cumsum(0.05 * rng.standard_normal((frames, len(ALL_CHANNELS))), axis=0).astype(np.float32)
    source = VideoSource("benchmark.mp4", "benchmark", 25.0, 640, 360, seconds, 0.0, seconds)
    return ControlTrack(25.0, ALL_CHANNELS, values, np.ones_like(values, bool), source)


def rss_mb() -> float:
    """Current resident memory of this process (Linux /proc)."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize() / 2**20


def measure(run: Callable[[], int], device: torch.device) -> dict[str, float]:
    """Wall and CPU seconds, decoder steps and peak memory of one call of ``run`` (returns its steps)."""
    state = {"peak": 0.0, "done": False}

    def sample() -> None:
        while not state["done"]:
            state["peak"] = max(state["peak"], rss_mb())
            time.sleep(0.01)

    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
    else:
        before = rss_mb()
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
    wall, cpu = time.perf_counter(), time.process_time()
    steps = run()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if device.type == "cuda":
        peak = (torch.cuda.max_memory_allocated(device) - before) / 2**20
    else:
        state["done"] = True
        sampler.join()
        peak = state["peak"] - before
    return {"wall": wall, "cpu": cpu, "steps": steps, "peak_mb": peak}


def cache_step_ms(layer_factory: Callable[[], object], rows: int, past: int = 1500, steps: int = 10) -> float:
    """CPU ms per decoder step of appending one step to 24 cache layers holding ``past`` steps and attending."""
    import torch.nn.functional as F

    layers = [layer_factory() for _ in range(24)]
    history = torch.randn(rows, 16, past, 64)
    for layer in layers:
        layer.update(history, history)
    query, new = torch.randn(rows, 16, 1, 64), torch.randn(rows, 16, 1, 64)
    started = time.process_time()
    for _ in range(steps):
        for layer in layers:
            keys, values = layer.update(new, new)
            F.scaled_dot_product_attention(query, keys, values)
    return (time.process_time() - started) / steps * 1e3


def compare_caches() -> None:
    """Print the per-step cost of the library's growing cache beside the preallocated one."""
    from transformers.cache_utils import DynamicLayer

    from expotion_engine.engines.musicgen.kvcache import PreallocatedLayer

    for rows, label in ((2, "text guidance"), (3, "text + control guidance")):
        dynamic = cache_step_ms(DynamicLayer, rows)
        preallocated = cache_step_ms(lambda: PreallocatedLayer(1600), rows)
        print(f"KV cache at step 1500 of a window, {label} ({rows} rows): growing DynamicCache {dynamic:.1f} ms "
              f"CPU per step, preallocated {preallocated:.1f} ms ({dynamic / preallocated:.1f}x less)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=2.0, help="seconds of audio per run")
    parser.add_argument("--model", default=MODEL, help="catalogue architecture to build (e.g. musicgen-medium)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or mps")
    parser.add_argument("--dtype", default=None, help="float32, bfloat16 or float16 (default: float32 on CPU, "
                                                      "half precision on a GPU)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: every core, as the engine does); on a shared, loaded "
                             "machine 1 can be steadier, since a descheduled worker thread stalls parallel kernels")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds of the int8 runs (CPU only)")
    parser.add_argument("--int8-only", action="store_true", help="skip the float runs and the baseline (CPU only)")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    else:
        use_all_cores()
    device = resolve_device(args.device)
    dtype = resolve_dtype(args.dtype, device)
    torch.manual_seed(0)
    lm = random_model(device, dtype, args.model)
    adapter = new_adapter(AdapterConfig(), lm).to(dtype)
    controls = ControlInput(to_frames(control_track(args.seconds), adapter.config.channels, lm.frame_rate))
    n_samples = int(round(args.seconds * lm.sampling_rate))
    windows = WindowSettings()

    def ours(text: float, control: float | None) -> Callable[[], int]:
        sampling = SamplingSettings(text_guidance=text, control_guidance=control or 1.0)
        extra = {"adapter": adapter, "controls": controls} if control is not None else {}
        return lambda: generate_audio(lm, [PROMPT], n_samples, seed=0, sampling=sampling, windows=windows,
                                      **extra).steps

    def library() -> int:
        steps = int(np.ceil(n_samples / lm.hop_length)) + lm.num_codebooks - 1
        inputs = lm.tokenizer([PROMPT], return_tensors="pt").to(device)
        torch.manual_seed(0)
        with torch.no_grad():
            lm.model.generate(**inputs, do_sample=True, top_k=250, guidance_scale=3.0, max_new_tokens=steps)
        return steps

    def warm_up() -> None:
        """First-call kernel and allocator setup, kept out of the measured runs."""
        generate_audio(lm, [PROMPT], lm.hop_length * 8, seed=0, sampling=SamplingSettings(), windows=windows,
                       adapter=adapter, controls=controls)

    label = str(dtype).replace("torch.", "")
    print(f"device {device} ({label}), torch threads {torch.get_num_threads()}, "
          f"{args.seconds:g} s of audio per run (one window)")
    guidance = {"text guidance 3": (3.0, None), "text guidance 3 with controls": (3.0, 1.0),
                "text 3 + control 1.5 guidance": (3.0, 1.5)}
    baseline = f"transformers generate, {label}, text guidance 3 (baseline)"
    warm_up()
    results = {}
    if not args.int8_only or device.type != "cpu":
        results[baseline] = measure(library, device)
        for name, (text, control) in guidance.items():
            results[f"expotion {label}, {name}"] = measure(ours(text, control), device)
    if device.type == "cpu":
        print(f"int8: {quantize_decoder(lm.model)} decoder Linear layers quantised")
        warm_up()
        for name, (text, control) in guidance.items():
            results[f"expotion int8, {name}"] = measure(ours(text, control), device)
        if not args.int8_only:
            results["transformers generate, int8, text guidance 3 (reference)"] = measure(library, device)
        rounds = [[results[f"expotion int8, {name}"]["cpu"] for name in guidance]]
        for _ in range(args.rounds - 1):
            rounds.append([measure(ours(text, control), device)["cpu"] for text, control in guidance.values()])
            print("int8 round: " + ", ".join(f"{name} {cpu / args.seconds:.2f}"
                                              for name, cpu in zip(guidance, rounds[-1], strict=True))
                  + " CPU s per audio s")
        for index, name in enumerate(list(guidance)[1:], 1):
            print(f"int8 {name} over text alone, CPU, per round: "
                  f"{' '.join(f'{r[index] / r[0]:.2f}' for r in rounds)} (goal <= 1.2)")
    base = results.get(baseline)
    print(f"{'configuration':<58} {'wall s/s':>9} {'cpu s/s':>8} {'x base wall':>12} {'x base cpu':>11} "
          f"{'steps/s':>8} {'peak MB':>8}")
    for name, row in results.items():
        row["wall_per_audio_second"] = row["wall"] / args.seconds
        row["cpu_per_audio_second"] = row["cpu"] / args.seconds
        row["ratio_to_baseline_wall"] = row["wall"] / base["wall"] if base else float("nan")
        row["ratio_to_baseline_cpu"] = row["cpu"] / base["cpu"] if base else float("nan")
        print(f"{name:<58} {row['wall_per_audio_second']:9.2f} {row['cpu_per_audio_second']:8.2f} "
              f"{row['ratio_to_baseline_wall']:12.2f} {row['ratio_to_baseline_cpu']:11.2f} "
              f"{row['steps'] / row['wall']:8.1f} {row['peak_mb']:8.0f}")
    process_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak resident memory (model included): {process_peak:.0f} MB")
    if device.type == "cpu":
        compare_caches()
    if args.json is not None:
        args.json.write_text(json.dumps({"device": str(device), "dtype": str(dtype), "seconds": args.seconds,
                                         "threads": torch.get_num_threads(), "runs": results,
                                         "process_peak_mb": process_peak}, indent=2) + "\n")


if __name__ == "__main__":
    main()
