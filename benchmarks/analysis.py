"""Video analysis speed and memory.

    .venv/bin/python benchmarks/analysis.py [--long-minutes 10] [--skip-long]

Prints analysis speed as a multiple of real time for the demo video scaled to 720p and
1080p (default analysis rate), and for the demo looped four times at 720p (a minute, so
the second or so of model start-up is amortised), each beside a baseline measured in the
same run: decoding the same file with OpenCV and doing nothing else. Then generates a long 1080p clip (the
demo looped) and reports the peak RSS of analysing it in a fresh process, which must
stay flat however long the video is.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import imageio_ffmpeg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from expotion_engine.vision import AnalysisSettings, analyze_video  # noqa: E402
from studio.demo import demo_video_path  # noqa: E402


def scaled_copy(source: Path, height: int, target: Path, loops: int = 1) -> Path:
    """Re-encode ``source`` at ``height`` lines (H.264), looped ``loops`` times."""
    cmd = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-stream_loop", str(loops - 1), "-i", str(source),
        "-vf", f"scale=-2:{height}", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
        "-an", str(target),
    ]
    subprocess.run(cmd, check=True)
    return target


def decode_seconds(path: Path) -> float:
    """Wall time to decode every frame of ``path`` with OpenCV (the baseline)."""
    capture = cv2.VideoCapture(str(path))
    started = time.perf_counter()
    while capture.grab():
        capture.retrieve()
    capture.release()
    return time.perf_counter() - started


def analysis_seconds(path: Path) -> tuple[float, float]:
    """Wall time of a full analysis and the video's duration."""
    started = time.perf_counter()
    track = analyze_video(path, AnalysisSettings())
    return time.perf_counter() - started, track.duration


def peak_rss_of_analysis(path: Path) -> float:
    """Peak resident memory (MB) of a fresh process analysing ``path``."""
    code = (
        f"import sys, json, time, resource; sys.path.insert(0, {str(ROOT)!r});"
        "from expotion_engine.vision import analyze_video, AnalysisSettings;"
        f"t = time.perf_counter(); track = analyze_video({str(path)!r}, AnalysisSettings());"
        "print(json.dumps({'seconds': time.perf_counter() - t, 'duration': track.duration,"
        " 'rss_kb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    print(f"  {path.name}: {result['duration'] / 60:.1f} min analysed in {result['seconds']:.0f} s "
          f"({result['duration'] / result['seconds']:.2f}x real time), peak RSS {result['rss_kb'] / 1024:.0f} MB")
    return result["rss_kb"] / 1024.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--long-minutes", type=float, default=10.0, help="length of the memory test clip")
    parser.add_argument("--skip-long", action="store_true", help="skip the long-clip memory test")
    args = parser.parse_args()
    demo = demo_video_path()
    with tempfile.TemporaryDirectory() as tmp:
        print(f"demo video: {demo}")
        for height, loops in ((720, 1), (1080, 1), (720, 4)):
            clip = scaled_copy(demo, height, Path(tmp) / f"demo_{height}p_x{loops}.mp4", loops=loops)
            decode = decode_seconds(clip)
            seconds, duration = analysis_seconds(clip)
            label = f"{height}p" if loops == 1 else f"{height}p, demo x{loops} ({duration:.0f} s, start-up amortised)"
            print(
                f"{label}: analysis {duration / seconds:5.2f}x real time "
                f"(decode-only baseline {duration / decode:6.1f}x; analysis costs {seconds / decode:4.1f}x decoding)"
            )
        if not args.skip_long:
            info = cv2.VideoCapture(str(demo))
            demo_seconds = info.get(cv2.CAP_PROP_FRAME_COUNT) / info.get(cv2.CAP_PROP_FPS)
            info.release()
            loops = max(int(round(args.long_minutes * 60 / demo_seconds)), 1)
            print(f"generating a {loops * demo_seconds / 60:.1f}-minute 1080p clip ...")
            long_clip = scaled_copy(demo, 1080, Path(tmp) / "long_1080p.mp4", loops=loops)
            short_peak = peak_rss_of_analysis(Path(tmp) / "demo_1080p_x1.mp4")
            peak = peak_rss_of_analysis(long_clip)
            print(f"peak RSS: {peak:.0f} MB for the long clip, {short_peak:.0f} MB for the demo "
                  f"(ratio {peak / short_peak:.2f}; flat memory means ~1.0)")


if __name__ == "__main__":
    main()
