"""Video analysis speed and memory, and its CPU beside a bare mediapipe loop over the same frames.

    .venv/bin/python benchmarks/analysis.py [--long-minutes 10] [--skip-long] [--cpu-only] [--rounds 2]

First (``--cpu-only`` stops after it) the CPU seconds of Expotion's analysis of the demo at
720p beside a bare loop over the same frames in the same process, interleaved over
``--rounds``: OpenCV decoding at the analysis rate (only the picked frames retrieved),
the same downscale and BGR-to-RGB conversion, then mediapipe's face mesh (refined
landmarks, one face) and pose (complexity 1) on each frame, one after the other, and
nothing else. What Expotion does beyond that loop (face detection for small faces and
the face crop, optical flow, a signature of every decoded frame and the frame-to-frame
change meter for cut detection, the pose worker thread, building the control track) is
the ratio's excess over 1. Two things cost less than in the bare loop: Expotion reads only
the graph outputs it uses (the bare loop's ``process()`` converts them all), and it decodes
with PyAV and scales the picked frames from the YUV planes, cheaper than OpenCV's decoding
and conversion.
PyAV's import and the file's probe and hash are paid once before the rounds. The least
disturbed rounds' ratio is printed too: a busy machine only ever adds CPU time.

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
from collections.abc import Callable
from pathlib import Path

import cv2
import imageio_ffmpeg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from expotion_engine.vision import AnalysisSettings, analyze_video  # noqa: E402
from expotion_engine.vision.analyze import resolve_range  # noqa: E402
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


def bare_loop_cpu(path: Path, settings: AnalysisSettings) -> float:
    """CPU seconds of decoding ``path`` at the analysis rate and running face mesh + pose on each frame."""
    import mediapipe as mp

    started = time.process_time()
    mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1, refine_landmarks=True)
    pose = mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1, smooth_landmarks=True)
    capture = cv2.VideoCapture(str(path))
    next_pick = 0.0
    while capture.grab():
        stamp = capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
        if stamp + 1e-6 < next_pick:
            continue
        next_pick += 1.0 / settings.analysis_fps
        ok, image = capture.retrieve()
        if not ok:
            continue
        height, width = image.shape[:2]
        scale = settings.max_side / max(height, width)
        if scale < 1.0:
            image = cv2.resize(image, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        mesh.process(rgb)
        pose.process(rgb)
    capture.release()
    mesh.close()
    pose.close()
    return time.process_time() - started


def analysis_cpu(path: Path, settings: AnalysisSettings) -> float:
    """CPU seconds (every thread of this process) of Expotion's whole analysis of ``path``."""
    started = time.process_time()
    analyze_video(path, settings)
    return time.process_time() - started


def compare_cpu(clip: Path, rounds: int) -> None:
    """Print Expotion's analysis CPU beside the bare loop's, measured interleaved in this process."""
    settings = AnalysisSettings()
    resolve_range(clip, settings)  # PyAV's import and the file's probe and hash, paid once a process, not in round 1
    bare, ours = [], []
    for _ in range(rounds):
        bare.append(bare_loop_cpu(clip, settings))
        ours.append(analysis_cpu(clip, settings))
    ratios = [o / b for o, b in zip(ours, bare, strict=True)]
    print(f"CPU, demo at 720p ({rounds} interleaved rounds): bare face mesh + pose loop "
          f"{' '.join(f'{b:.1f}' for b in bare)} s; Expotion {' '.join(f'{o:.1f}' for o in ours)} s; "
          f"ratio {' '.join(f'{r:.2f}' for r in ratios)} (median {sorted(ratios)[len(ratios) // 2]:.2f}; goal <= 1.1); "
          f"least disturbed rounds (a busy machine only adds CPU) {min(ours) / min(bare):.2f}")
    excess_breakdown(clip, settings)


def excess_breakdown(path: Path, settings: AnalysisSettings) -> None:
    """CPU seconds of each thing Expotion does beyond the bare loop, measured one at a time on ``path``
    (OpenCV on one thread, as during the analysis)."""
    import mediapipe as mp

    from expotion_engine.media.reader import iter_frames
    from expotion_engine.vision.changes import ChangeMeter
    from expotion_engine.vision.face import FaceAnalyzer
    from expotion_engine.vision.flow import MotionEnergy
    from expotion_engine.vision.solution import Solution

    def cpu(work: Callable[[], object]) -> tuple[float, object]:
        started = time.process_time()
        result = work()
        return time.process_time() - started, result

    def opencv_picked() -> int:
        """The bare loop's decoding: every frame grabbed, the picked ones retrieved, scaled and turned to RGB."""
        capture, next_pick, count = cv2.VideoCapture(str(path)), 0.0, 0
        while capture.grab():
            if capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0 + 1e-6 < next_pick:
                continue
            next_pick += 1.0 / settings.analysis_fps
            image = capture.retrieve()[1]
            height, width = image.shape[:2]
            scale = settings.max_side / max(height, width)
            size = (round(width * scale), round(height * scale))
            cv2.cvtColor(cv2.resize(image, size, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
            count += 1
        capture.release()
        return count

    def read(signatures: bool) -> list:
        return list(iter_frames(path, rate=settings.analysis_fps, max_side=settings.max_side, signatures=signatures))

    bare_decode, _ = cpu(opencv_picked)
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        plain_cpu, _ = cpu(lambda: read(False))
        reader_cpu, frames = cpu(lambda: read(True))
        meter = ChangeMeter()
        meter_cpu, _ = cpu(lambda: [meter(sig) for frame in frames for sig in frame.signatures])
        rgbs = [frame.rgb for frame in frames]
        motion = MotionEnergy(settings.flow_width)
        flow_cpu, _ = cpu(lambda: [motion(rgb, frame.time) for rgb, frame in zip(rgbs, frames, strict=True)])
        face = FaceAnalyzer()
        face_cpu, _ = cpu(lambda: [face(rgb) for rgb in rgbs])
        face.close()
        mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1, refine_landmarks=True)
        mesh_cpu, _ = cpu(lambda: [mesh.process(rgb) for rgb in rgbs])
        mesh.close()
        pose = mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1, smooth_landmarks=True)
        pose_cpu, _ = cpu(lambda: [pose.process(rgb) for rgb in rgbs])
        pose.close()
        lean_pose = Solution(mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1,
                                                    smooth_landmarks=True), "pose_landmarks")
        lean_pose_cpu, _ = cpu(lambda: [lean_pose(rgb) for rgb in rgbs])
        lean_pose.close()
    finally:
        cv2.setNumThreads(threads)
    decoded = sum(len(frame.signatures) for frame in frames)
    print(f"  beyond the bare loop, one at a time (CPU s): decoding ({decoded} frames) with a cut signature of "
          f"every frame, {len(frames)} pictures, over the bare loop's OpenCV decoding {reader_cpu - bare_decode:+.2f} "
          f"(of which the signatures {reader_cpu - plain_cpu:.2f}); face detector and crop over a bare face mesh "
          f"{face_cpu - mesh_cpu:.2f}; frame-to-frame change meter {meter_cpu:.2f}; optical flow {flow_cpu:.2f}")
    print(f"  and less than the bare loop: the pose graph's landmarks read alone {pose_cpu - lean_pose_cpu:.2f} CPU s "
          "under the bare loop's process(), which also converts its world landmarks and builds a namedtuple class "
          "a call (the face mesh and detector are read the same way)")


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
    parser.add_argument("--cpu-only", action="store_true", help="only the CPU comparison with the bare loop")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds of the CPU comparison")
    args = parser.parse_args()
    demo = demo_video_path()
    with tempfile.TemporaryDirectory() as tmp:
        print(f"demo video: {demo}")
        compare_cpu(scaled_copy(demo, 720, Path(tmp) / "demo_720p_cpu.mp4"), args.rounds)
        if args.cpu_only:
            return
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
