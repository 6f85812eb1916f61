"""``expotion train DATA -o OUT``: fine-tune the visual-control adapter on (video, music, text) clips."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from expotion_engine.errors import EngineError
from expotion_engine.types import ControlTrack
from studio.cli_help import DefaultsHelpFormatter
from studio.commands.analyze import add_analysis_arguments, settings_from_args
from studio.preflight import check_output_path
from studio.progress_bar import progress_and_cancel


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x.strip())


def _names(text: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip())


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train",
        help="fine-tune the MusicGen control adapter (and LoRA) on your own clips",
        description="Train the visual-control adapter of the musicgen engine. DATA is a folder of clips "
                    "(NAME.mp4 or a saved ControlTrack NAME.npz + NAME.json, music NAME.wav, optional prompt "
                    "NAME.txt; SOURCE__PART names group clips of one source for the validation split) or a "
                    "CSV/JSONL manifest with audio, video|controls, prompt, source. For several GPUs run "
                    "`accelerate launch -m studio train ...`.",
        formatter_class=DefaultsHelpFormatter,
    )
    p.add_argument("data", type=Path, help="dataset folder or manifest (.csv/.jsonl)")
    p.add_argument("-o", "--output", type=Path, required=True, help="run folder (checkpoints, log, adapter)")
    p.add_argument("--model", default="musicgen-small", help="base MusicGen model name or local folder")
    run = p.add_argument_group("optimisation")
    run.add_argument("--max-steps", type=int, default=1000, help="optimizer steps")
    run.add_argument("--batch-size", type=int, default=8, help="segments per step (per GPU)")
    run.add_argument("--grad-accum", type=int, default=1, help="micro-batches per optimizer step")
    run.add_argument("--lr", type=float, default=1e-3, help="peak learning rate (AdamW)")
    run.add_argument("--weight-decay", type=float, default=0.02, help="AdamW weight decay")
    run.add_argument("--warmup", type=int, default=50, help="linear warm-up steps before cosine decay")
    run.add_argument("--segment", type=float, default=10.0, help="seconds per training segment")
    run.add_argument("--text-dropout", type=float, default=0.1, help="chance to drop the prompt (text guidance)")
    run.add_argument("--val-fraction", type=float, default=0.1, help="share of sources held out for validation")
    run.add_argument("--eval-every", type=int, default=100, help="steps between validation runs")
    run.add_argument("--checkpoint-every", type=int, default=200, help="steps between resumable checkpoints")
    run.add_argument("--resume", action="store_true", help="continue from the latest checkpoint in OUTPUT")
    run.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    run.add_argument("--precision", default="auto", choices=("auto", "no", "fp16", "bf16"),
                     help="mixed precision (auto: bf16/fp16 on CUDA, none elsewhere)")
    run.add_argument("--seed", type=int, default=0, help="random seed")
    run.add_argument("--cache-dir", type=Path, default=None,
                     help="feature cache (default $EXPOTION_CACHE_DIR/musicgen-features)")
    ada = p.add_argument_group("adapter")
    ada.add_argument("--adapter-dim", type=int, default=64, help="control embedding width")
    ada.add_argument("--layers", type=_ints, default=(), help="decoder layers with a control prefix (default all)")
    ada.add_argument("--lookback", type=float, default=0.1, help="seconds of past video per music frame")
    ada.add_argument("--lookahead", type=float, default=0.5, help="seconds of future video per music frame")
    ada.add_argument("--modalities", type=_names, default=None, help="subset of face,body,flow,derived")
    ada.add_argument("--modality-dropout", type=float, default=0.1, help="chance to drop one modality")
    ada.add_argument("--control-dropout", type=float, default=0.1, help="chance to drop all controls")
    ada.add_argument("--lora-rank", type=int, default=0, help="LoRA rank on decoder self-attention (0: off)")
    ada.add_argument("--lora-alpha", type=float, default=16.0, help="LoRA alpha")
    ada.add_argument("--lora-targets", type=_names, default=("q_proj", "v_proj"), help="projections with LoRA")
    add_analysis_arguments(p)
    p.set_defaults(run=run_train)


def check_new_run(output: Path) -> None:
    """Refuse to start afresh in a run folder that holds another run: its adapter would be overwritten and
    its checkpoints would mix with the new run's (``--resume`` takes the newest of them)."""
    previous = [name for name in ("checkpoints", "adapter") if (output / name).exists()]
    if previous:
        raise EngineError(f"{output} already holds a training run ({', '.join(previous)}); continue it with "
                          "--resume, or give another folder.")


def run_train(args: argparse.Namespace) -> int:
    from expotion_engine.engines.musicgen.config import DEFAULT_GROUPS, AdapterConfig
    from expotion_engine.engines.musicgen.train import TrainConfig, load_clips, train
    from studio.analysis import analyze

    check_output_path(args.output, folder=True)
    groups = DEFAULT_GROUPS
    if args.modalities is not None:
        known = {g.name: g for g in DEFAULT_GROUPS}
        unknown = [m for m in args.modalities if m not in known]
        if unknown:
            raise EngineError(f"Unknown modality {unknown[0]!r}; choose from {', '.join(known)}.")
        groups = tuple(known[m] for m in args.modalities)
    adapter = AdapterConfig(
        groups=groups, dim=args.adapter_dim, layers=args.layers, lookback=args.lookback, lookahead=args.lookahead,
        modality_dropout=args.modality_dropout, control_dropout=args.control_dropout, lora_rank=args.lora_rank,
        lora_alpha=args.lora_alpha, lora_targets=args.lora_targets,
    )
    config = TrainConfig(
        model=args.model, output=args.output, adapter=adapter, max_steps=args.max_steps, batch_size=args.batch_size,
        grad_accum=args.grad_accum, lr=args.lr, weight_decay=args.weight_decay, warmup_steps=args.warmup,
        segment=args.segment, text_dropout=args.text_dropout, val_fraction=args.val_fraction,
        eval_every=args.eval_every, checkpoint_every=args.checkpoint_every, seed=args.seed, device=args.device,
        precision=args.precision, cache_dir=args.cache_dir, resume=args.resume,
    )
    if not args.resume:
        check_new_run(args.output)
    clips = load_clips(args.data)
    settings = settings_from_args(args)

    def analyzer(video: Path) -> ControlTrack:
        return analyze(video, settings, use_cache=not args.no_cache)

    with progress_and_cancel("train") as (progress, cancel):
        result = train(config, clips, analyzer, progress, cancel)
    val = "no validation clips" if result.val_loss is None else (
        f"validation loss {result.val_loss:.4f} (null controls {result.val_loss_null_controls:.4f})")
    print(f"trained {result.steps} steps: loss {result.train_loss:.4f}, {val}; adapter in {result.adapter_path}, "
          f"log in {result.log_path}", file=sys.stderr)
    return 0
