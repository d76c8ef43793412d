"""Voice types as singing ranges, and note names: plain constants (no numpy), so the command
line can offer `--voice` choices without loading the analysis stack."""
from __future__ import annotations

# MIDI note numbers (low, high) of the usual range of each voice type
VOICE_RANGES = {
    "bass": (40.0, 64.0),       # E2-E4
    "baritone": (45.0, 69.0),   # A2-A4
    "tenor": (48.0, 72.0),      # C3-C5
    "alto": (53.0, 77.0),       # F3-F5
    "mezzo": (57.0, 81.0),      # A3-A5
    "soprano": (60.0, 84.0),    # C4-C6
}
NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def note_name(midi: float) -> str:
    """MIDI number -> 'C#4' (nearest semitone)."""
    m = int(round(midi))
    return f"{NOTE_NAMES[m % 12]}{m // 12 - 1}"
