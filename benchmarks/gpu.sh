#!/usr/bin/env bash
# GPU figures in one go, for a machine with an NVIDIA GPU (e.g. one lent by the `device` tool).
#
#   bash benchmarks/gpu.sh [RESULTS_DIR]
#
# Runs, one after the other, in about eight minutes on an H100:
#   1. benchmarks/musicgen.py on cuda, bf16: musicgen-small, then musicgen-medium (random weights,
#      10 s of audio each): wall seconds per audio second and x real time, beside plain
#      transformers generate measured in the same run;
#   2. benchmarks/stems.py on cuda: HTDemucs x real time on 30 s of 48 kHz stereo, beside demucs's
#      own apply_model (memory children for 0.5 and 1 minute);
#   3. benchmarks/analysis.py (mediapipe runs on the CPU; the machine's cores): the CPU beside the
#      bare mediapipe loop and x real time at 720p/1080p, no long-clip memory test.
# Each benchmark's full output goes to RESULTS_DIR/<name>.txt (and musicgen's figures to
# <model>.json); RESULTS_DIR/gpu.md collects the headline lines with the machine, the GPU and the
# date, and is what the README links (benchmarks/results/gpu.md by default). Nothing is
# downloaded: every model is built with random weights (speed does not depend on their values).
# Python: $PYTHON, else .venv/bin/python, else python3; it needs the project's dependencies.
# A benchmark that fails is reported in gpu.md with its last lines and the others still run.
set -u
cd "$(dirname "$0")/.."
RESULTS="${1:-benchmarks/results}"
mkdir -p "$RESULTS"
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
REPORT="$RESULTS/gpu.md"

if ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  echo "gpu.sh: $PY has no CUDA device (or no torch); nothing measured." >&2
  exit 1
fi
GPU="$("$PY" -c "import torch; p = torch.cuda.get_device_properties(0); print(f'{p.name}, {p.total_memory / 2**30:.0f} GiB')")"
TORCH="$("$PY" -c "import torch; print(torch.__version__, 'CUDA', torch.version.cuda)")"

{
  echo "# GPU figures"
  echo
  echo "Written by \`bash benchmarks/gpu.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'): $GPU; $(nproc) CPU cores;"
  echo "torch $TORCH. Models with random weights (speed does not depend on the weights' values)."
  echo "Each line is the benchmark's own output; the full outputs sit beside this file."
  echo
} > "$REPORT"

# run NAME TIMEOUT GREP_PATTERN COMMAND...: run one benchmark, keep its output, copy its headline lines
run() {
  local name="$1" limit="$2" pattern="$3"
  shift 3
  echo "== $name: $*" >&2
  local started=$SECONDS
  timeout "$limit" "$@" > "$RESULTS/$name.txt" 2>&1
  local status=$?
  {
    echo "## $name"
    echo
    echo '```'
    if [ $status -eq 0 ]; then
      grep -E "$pattern" "$RESULTS/$name.txt"
    else
      echo "FAILED (exit $status after $((SECONDS - started)) s); last lines:"
      tail -n 15 "$RESULTS/$name.txt"
    fi
    echo '```'
    echo
  } >> "$REPORT"
}

MUSICGEN_LINES='^(device|musicgen|configuration|transformers|expotion|process peak)'
run musicgen-small 240 "$MUSICGEN_LINES" \
  "$PY" benchmarks/musicgen.py --device cuda --dtype bfloat16 --seconds 10 --json "$RESULTS/musicgen-small.json"
run musicgen-medium 300 "$MUSICGEN_LINES" \
  "$PY" benchmarks/musicgen.py --device cuda --dtype bfloat16 --seconds 10 --model musicgen-medium \
  --json "$RESULTS/musicgen-medium.json"
run stems 180 '(x real time|apply_model|peak|RSS)' \
  "$PY" benchmarks/stems.py --device cuda --seconds 30 --minutes 0.5 1
run analysis 180 '(CPU|beyond|real time)' \
  "$PY" benchmarks/analysis.py --skip-long

# x real time for MusicGen from the JSON (audio seconds per wall second)
"$PY" - "$RESULTS" >> "$REPORT" <<'EOF'
import json, sys
from pathlib import Path

rows = []
for name in ("musicgen-small", "musicgen-medium"):
    path = Path(sys.argv[1]) / f"{name}.json"
    if path.exists():
        data = json.loads(path.read_text())
        for config, row in data["runs"].items():
            rows.append(f"| {name} | {config} | {1.0 / row['wall_per_audio_second']:.2f}x |")
if rows:
    print("## MusicGen x real time (bf16)\n\n| model | configuration | x real time |\n| --- | --- | --- |")
    print("\n".join(rows))
EOF
echo "wrote $REPORT" >&2
