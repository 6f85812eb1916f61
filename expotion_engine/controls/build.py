"""From per-frame measurements to a ControlTrack: split at cuts, resample by timestamps,
fill short gaps, smooth, derive speeds, energy, valence and hit points."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from expotion_engine.controls import derive
from expotion_engine.controls.channels import (
    ALL_CHANNELS,
    BODY_JOINTS,
    BODY_SPEED_CHANNELS,
    FACE_CHANNELS,
)
from expotion_engine.controls.cuts import detect_cuts
from expotion_engine.controls.hits import detect_hits, expression_novelty, motion_novelty
from expotion_engine.controls.onsets import FrameActivity
from expotion_engine.controls.resample import resample_channel, uniform_times
from expotion_engine.controls.smoothing import smooth
from expotion_engine.errors import ControlError
from expotion_engine.types import ControlTrack, VideoSource

if TYPE_CHECKING:
    from expotion_engine.vision.features import RawFeatures


@dataclass(frozen=True)
class ControlSettings:
    """How measurements become controls; every field is user-settable."""

    rate: float = 50.0
    smoothing: float = 0.12
    max_gap: float = 0.5
    hit_threshold: float = 1.0
    hit_min_spacing: float = 0.1
    energy_smoothing: float = 0.25
    onset_smoothing: float = 0.05

    def __post_init__(self) -> None:
        checks = {
            "rate": (self.rate, 1.0, 1000.0),
            "smoothing": (self.smoothing, 0.0, 10.0),
            "max_gap": (self.max_gap, 0.0, 60.0),
            "hit_threshold": (self.hit_threshold, 0.0, 1e6),
            "hit_min_spacing": (self.hit_min_spacing, 0.0, 60.0),
            "energy_smoothing": (self.energy_smoothing, 0.0, 10.0),
            "onset_smoothing": (self.onset_smoothing, 0.0, 10.0),
        }
        for name, (value, low, high) in checks.items():
            if not (low <= value <= high) or (name == "rate" and value <= 0):
                raise ControlError(f"Control setting {name}={value!r} is outside {low:g}..{high:g}.")


#: shoulder width (fraction of the frame width) and face height (fraction of the frame
#: height) below which landmarks are too small to be trusted for hits: a tiny detected
#: body turns a pixel of jitter into a large speed in shoulder widths.
MIN_BODY_SCALE = 0.06
MIN_FACE_SIZE = 0.05


def _segments(cut_times: list[float], duration: float) -> list[tuple[float, float]]:
    edges = [0.0, *[c for c in cut_times if 0.0 < c < duration], duration]
    return [(a, b) for a, b in zip(edges, edges[1:], strict=False) if b > a]


def build_control_track(
    raw: RawFeatures,
    source: VideoSource,
    settings: ControlSettings,
    *,
    analysis_rate: float,
    extra_settings: Mapping[str, Any] | None = None,
    versions: Mapping[str, str] | None = None,
) -> ControlTrack:
    """Turn per-analysed-frame ``raw`` features of ``source``'s range into a ControlTrack."""
    duration = source.range_duration
    rate = settings.rate
    grid = uniform_times(duration, rate)
    times = raw.times - source.start
    cuts = detect_cuts(raw, source.start, source.width / max(source.height, 1))
    cut_times = [c.time for c in cuts]
    flow_valid = raw.flow_valid.copy()
    for cut in cut_times:  # flow measured across a cut is no motion
        flow_valid[1:][(times[:-1] < cut - 1e-9) & (times[1:] >= cut - 1e-9)] = False
    edge = 1.0 / analysis_rate

    n, channels = len(grid), {name: i for i, name in enumerate(ALL_CHANNELS)}
    values = np.zeros((n, len(ALL_CHANNELS)), np.float32)
    mask = np.zeros((n, len(ALL_CHANNELS)), bool)
    onset_values = np.zeros((n, len(FACE_CHANNELS)), np.float32)
    face_motion = np.zeros(n, np.float32)
    head_turn = np.zeros(n, np.float32)
    for seg_start, seg_end in _segments(cut_times, duration):
        rows = (times >= seg_start - 1e-9) & (times < seg_end - 1e-9)
        cols = (grid >= seg_start - 1e-9) & (grid < seg_end - 1e-9)
        if not cols.any():
            continue
        t, g = times[rows], grid[cols]

        measured = [(name, raw.face[:, c], raw.face_valid) for c, name in enumerate(FACE_CHANNELS)]
        measured += [
            (f"body_{joint}_{axis}", raw.joints[:, j, a], raw.joint_valid[:, j])
            for j, joint in enumerate(BODY_JOINTS)
            for a, axis in enumerate("xy")
        ]
        measured += [("body_scale", raw.body_scale, raw.body_valid), ("flow_energy", raw.flow, flow_valid)]
        for name, series, valid in measured:
            v, m = resample_channel(t, series[rows], valid[rows], g, max_gap=settings.max_gap, edge=edge)
            values[cols, channels[name]] = smooth(v, m, sigma_s=settings.smoothing, rate=rate)
            mask[cols, channels[name]] = m
            if name in FACE_CHANNELS:
                onset_sigma = min(settings.smoothing, settings.onset_smoothing)
                onset_values[cols, FACE_CHANNELS.index(name)] = smooth(v, m, sigma_s=onset_sigma, rate=rate)

        for joint, speed_name in zip(BODY_JOINTS, BODY_SPEED_CHANNELS, strict=True):
            xy = values[cols][:, [channels[f"body_{joint}_x"], channels[f"body_{joint}_y"]]]
            values[cols, channels[speed_name]] = derive.speed(xy, rate)
            mask[cols, channels[speed_name]] = mask[cols, channels[f"body_{joint}_x"]]
        face_xy = values[cols][:, [channels["face_x"], channels["face_y"]]] * np.array(
            [source.width, source.height]
        )
        size = np.maximum(values[cols, channels["face_size"]] * source.height, 1.0)
        angles = values[cols][:, [channels["face_yaw"], channels["face_pitch"], channels["face_roll"]]]
        head_turn[cols] = derive.speed(angles, rate)
        face_motion[cols] = derive.speed(face_xy, rate) / size + head_turn[cols] / 60.0

    speeds = values[:, [channels[c] for c in BODY_SPEED_CHANNELS]]
    speed_mask = mask[:, [channels[c] for c in BODY_SPEED_CHANNELS]]
    counted = speed_mask.sum(axis=1)
    body_valid = counted > 0
    body_speed = np.where(body_valid, (speeds * speed_mask).sum(axis=1) / np.maximum(counted, 1), 0.0)
    values[:, channels["body_speed"]] = body_speed
    mask[:, channels["body_speed"]] = body_valid
    values[:, channels["body_accel"]] = derive.derivative(body_speed, rate)
    mask[:, channels["body_accel"]] = body_valid

    face_valid = mask[:, channels["face_mouth_open"]]
    flow_valid = mask[:, channels["flow_energy"]]
    arousal, present = derive.energy(
        body_speed, body_valid, values[:, channels["flow_energy"]], flow_valid,
        values[:, channels["face_mouth_open"]], face_motion, face_valid,
    )
    values[:, channels["energy"]] = smooth(arousal, present, sigma_s=settings.energy_smoothing, rate=rate)
    mask[:, channels["energy"]] = present
    values[:, channels["valence"]] = derive.valence(
        values[:, channels["face_smile"]], values[:, channels["face_brow_raise"]]
    )
    mask[:, channels["valence"]] = face_valid

    body_trusted = body_valid & (values[:, channels["body_scale"]] >= MIN_BODY_SCALE)
    face_trusted = face_valid & (values[:, channels["face_size"]] >= MIN_FACE_SIZE)
    signals = {
        "body_speed": (body_speed, body_trusted),
        "face_motion": (face_motion, face_trusted),
        "head_turn": (head_turn, face_trusted),
        "flow_energy": (values[:, channels["flow_energy"]], flow_valid),
        **{
            name: (onset_values[:, FACE_CHANNELS.index(name)], face_trusted)
            for name in ("face_mouth_open", "face_smile", "face_brow_raise")
        },
    }
    motion, expression = motion_novelty(signals, rate), expression_novelty(signals, rate)
    for cut in cut_times:
        near = np.abs(grid - cut) <= edge + 1.0 / rate
        motion[near] = expression[near] = 0.0
    activity = FrameActivity.from_raw(raw, source.start)
    hits = detect_hits(
        motion, expression, rate, activity, threshold=settings.hit_threshold,
        min_spacing=settings.hit_min_spacing, cuts=cuts,
    )
    all_settings = {
        **{f"control.{k}": v for k, v in vars(settings).items()},
        **dict(extra_settings or {}),
        "subject": "largest face in frame",
        "cuts": cut_times,
    }
    return ControlTrack(
        rate=rate,
        channels=ALL_CHANNELS,
        values=values,
        mask=mask,
        source=source,
        markers=tuple(hits),
        settings=all_settings,
        versions=dict(versions or {}),
    )
