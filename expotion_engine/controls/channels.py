"""Names of the ControlTrack channels that video analysis produces.

Face channels are geometric expression descriptors from the face mesh (the model shipped
in mediapipe 0.10.21 gives landmarks, not blendshape scores); body channels are upper-body
landmarks relative to the shoulder midpoint in shoulder widths, with their speeds
(shoulder widths per second); ``flow_energy`` is whole-frame motion from optical flow.
``energy`` (arousal, 0..1) and ``valence`` (-1..1) are derived from all of them.
"""

from __future__ import annotations

FACE_CHANNELS: tuple[str, ...] = (
    "face_mouth_open",
    "face_smile",
    "face_brow_raise",
    "face_eye_open",
    "face_yaw",
    "face_pitch",
    "face_roll",
    "face_x",
    "face_y",
    "face_size",
)

BODY_JOINTS: tuple[str, ...] = (
    "head",
    "l_shoulder",
    "r_shoulder",
    "l_elbow",
    "r_elbow",
    "l_wrist",
    "r_wrist",
)
BODY_POSITION_CHANNELS: tuple[str, ...] = tuple(
    f"body_{joint}_{axis}" for joint in BODY_JOINTS for axis in ("x", "y")
)
BODY_SPEED_CHANNELS: tuple[str, ...] = tuple(f"body_{joint}_speed" for joint in BODY_JOINTS)
BODY_CHANNELS: tuple[str, ...] = (
    *BODY_POSITION_CHANNELS,
    *BODY_SPEED_CHANNELS,
    "body_speed",
    "body_accel",
    "body_scale",
)

FLOW_CHANNELS: tuple[str, ...] = ("flow_energy",)

DERIVED_CHANNELS: tuple[str, ...] = ("energy", "valence")

ALL_CHANNELS: tuple[str, ...] = (*FACE_CHANNELS, *BODY_CHANNELS, *FLOW_CHANNELS, *DERIVED_CHANNELS)
