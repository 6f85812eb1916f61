"""Text prompt -> arrangement settings: genre, mood, instruments, tempo words, exclusions.

Every word is either used (it changed something) or ignored (reported, never an error);
filler words ("a", "with", "music" ...) are neither.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

#: words that carry no musical meaning and are not reported as ignored
FILLER = frozenset(
    "a an and the with of for in on to at by some very really bit little kind sort music song track score "
    "soundtrack feel feeling vibe vibes style like sound sounds sounding please make it is that this".split()
)

#: genre words -> groove and arrangement style (see parts.drums.GROOVES)
GENRES: dict[str, str] = {
    "cinematic": "cinematic", "epic": "cinematic", "film": "cinematic", "trailer": "cinematic",
    "orchestral": "cinematic", "lofi": "lofi", "lo-fi": "lofi", "chillhop": "lofi", "hiphop": "lofi",
    "hip-hop": "lofi", "ambient": "ambient", "drone": "ambient", "atmospheric": "ambient",
    "pop": "pop", "upbeat": "pop", "indie": "pop", "rock": "pop", "dance": "dance", "edm": "dance",
    "house": "dance", "techno": "dance", "disco": "dance", "electronic": "dance", "club": "dance",
    "documentary": "documentary", "corporate": "documentary", "acoustic": "documentary",
    "folk": "documentary", "jazz": "lofi", "solo": "solo",
}

#: mood words -> (valence shift, energy shift)
MOODS: dict[str, tuple[float, float]] = {
    "happy": (0.5, 0.1), "joyful": (0.5, 0.15), "bright": (0.4, 0.0), "uplifting": (0.45, 0.1),
    "hopeful": (0.35, 0.0), "cheerful": (0.5, 0.1), "playful": (0.35, 0.1), "warm": (0.2, -0.05),
    "romantic": (0.25, -0.1), "sad": (-0.5, -0.15), "melancholic": (-0.45, -0.1), "melancholy": (-0.45, -0.1),
    "dark": (-0.5, 0.0), "sombre": (-0.4, -0.1), "somber": (-0.4, -0.1), "tense": (-0.3, 0.2),
    "suspense": (-0.35, 0.1), "suspenseful": (-0.35, 0.1), "scary": (-0.6, 0.1), "ominous": (-0.55, 0.05),
    "mysterious": (-0.25, -0.05), "angry": (-0.4, 0.3), "aggressive": (-0.3, 0.35), "calm": (0.1, -0.3),
    "peaceful": (0.2, -0.3), "relaxed": (0.1, -0.25), "chill": (0.05, -0.2), "dreamy": (0.15, -0.2),
    "gentle": (0.1, -0.25), "soft": (0.0, -0.25), "quiet": (0.0, -0.3), "energetic": (0.15, 0.35),
    "intense": (-0.1, 0.35), "powerful": (0.0, 0.3), "driving": (0.0, 0.25), "emotional": (-0.1, 0.05),
    "heroic": (0.3, 0.3), "triumphant": (0.45, 0.3), "nostalgic": (-0.15, -0.1), "light": (0.25, -0.1),
}

#: instrument words -> (part, instrument id)
INSTRUMENT_WORDS: dict[str, tuple[str, str]] = {
    "piano": ("harmony", "piano"), "keys": ("harmony", "epiano"), "rhodes": ("harmony", "epiano"),
    "epiano": ("harmony", "epiano"), "strings": ("harmony", "strings"), "string": ("harmony", "strings"),
    "orchestra": ("harmony", "strings"), "pad": ("harmony", "pad"), "pads": ("harmony", "pad"),
    "organ": ("harmony", "organ"), "synth": ("melody", "saw_lead"), "synths": ("melody", "saw_lead"),
    "lead": ("melody", "saw_lead"), "chiptune": ("melody", "square_lead"), "pluck": ("melody", "pluck"),
    "plucks": ("melody", "pluck"), "guitar": ("melody", "pluck"), "harp": ("melody", "pluck"),
    "bells": ("melody", "bell"), "bell": ("melody", "bell"), "glockenspiel": ("melody", "bell"),
    "brass": ("melody", "brass"), "horns": ("melody", "brass"), "808": ("bass", "sub_bass"),
    "sub": ("bass", "sub_bass"),
}

#: tempo words -> factor on the tempo (applied after the motion estimate)
TEMPO_WORDS: dict[str, float] = {
    "slow": 0.75, "slower": 0.8, "relaxed-tempo": 0.85, "laid-back": 0.9, "laidback": 0.9,
    "fast": 1.3, "faster": 1.2, "quick": 1.25, "uptempo": 1.25, "up-tempo": 1.25, "midtempo": 1.0,
}

#: words that name a part, for "no X" / "without X"
PART_WORDS: dict[str, str] = {
    "drums": "drums", "drum": "drums", "percussion": "drums", "beat": "drums", "beats": "drums",
    "bass": "bass", "melody": "melody", "lead": "melody", "chords": "harmony", "harmony": "harmony",
    "pads": "harmony", "pad": "harmony",
}

_TOKEN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_BPM = re.compile(r"(\d{2,3}(?:\.\d+)?)\s*-?\s*bpm\b")
_PHRASES = {"lo fi": "lo-fi", "hip hop": "hip-hop", "up tempo": "up-tempo", "laid back": "laid-back"}


@dataclass(frozen=True)
class PromptSettings:
    """What a prompt asks for; empty fields mean "no opinion"."""

    text: str = ""
    genre: str | None = None
    bpm: float | None = None
    tempo_factor: float = 1.0
    valence_shift: float = 0.0
    energy_shift: float = 0.0
    instruments: dict[str, str] = field(default_factory=dict)
    excluded: frozenset[str] = frozenset()
    solo: str | None = None
    used: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()

    def report(self) -> dict[str, Any]:
        """JSON-ready account of what the prompt did, for Take.info."""
        return {
            "text": self.text,
            "used": list(self.used),
            "ignored": list(self.ignored),
            "genre": self.genre,
            "bpm": self.bpm,
            "tempo_factor": self.tempo_factor,
            "instruments": dict(self.instruments),
            "excluded": sorted(self.excluded),
        }


def parse_prompt(text: str) -> PromptSettings:
    """Read genre, mood, instrument, tempo and exclusion words from a free-text prompt."""
    lowered = " ".join(text.lower().split())
    for phrase, joined in _PHRASES.items():
        lowered = lowered.replace(phrase, joined)
    used: list[str] = []
    ignored: list[str] = []
    bpm: float | None = None
    match = _BPM.search(lowered)
    if match and 30 <= float(match.group(1)) <= 300:
        bpm = float(match.group(1))
        used.append(match.group(0).replace(" ", ""))
        lowered = lowered[: match.start()] + " " + lowered[match.end():]
    tokens = _TOKEN.findall(lowered)
    genre: str | None = None
    factor = 1.0
    valence = energy = 0.0
    instruments: dict[str, str] = {}
    excluded: set[str] = set()
    i = 0
    while i < len(tokens):
        word = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if word in ("no", "without", "minus") and nxt in PART_WORDS:
            excluded.add(PART_WORDS[nxt])
            used.append(f"{word} {nxt}")
            i += 2
            continue
        if word in GENRES:
            genre = genre or GENRES[word]
            if word == "orchestral":
                instruments.setdefault("harmony", "strings")
        elif word in MOODS:
            valence += MOODS[word][0]
            energy += MOODS[word][1]
        elif word in INSTRUMENT_WORDS:
            part, instrument = INSTRUMENT_WORDS[word]
            instruments[part] = instrument
        elif word in TEMPO_WORDS:
            factor *= TEMPO_WORDS[word]
        elif word in PART_WORDS:
            pass
        elif word in FILLER or word in ("no", "without", "minus"):
            i += 1
            continue
        else:
            ignored.append(word)
            i += 1
            continue
        used.append(word)
        i += 1
    solo = None
    if genre == "solo" or (len(instruments) == 1 and "solo" in tokens):
        solo = next(iter(instruments.values()), "piano")
        genre = "solo"
    return PromptSettings(
        text=text, genre=genre, bpm=bpm, tempo_factor=min(max(factor, 0.5), 1.6),
        valence_shift=max(-1.0, min(1.0, valence)), energy_shift=max(-0.5, min(0.5, energy)),
        instruments=instruments, excluded=frozenset(excluded), solo=solo,
        used=tuple(dict.fromkeys(used)), ignored=tuple(dict.fromkeys(ignored)),
    )
