"""Notes and melodies: note lists, MIDI files, F0 files and F0 contours -> one Melody value."""
from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..audio import frontend as fe
from ..errors import MelodyError

log = logging.getLogger("alignsts")

_NAMES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_REST = {"r", "rest", "-", "sil", "pau"}


@dataclass(frozen=True)
class Note:
    """One note: onset and offset in seconds, pitch as a (possibly fractional) MIDI number,
    loudness in dB relative to the loudest note (0; MIDI velocity, or measured on a recording)."""
    onset: float
    offset: float
    pitch: float
    level_db: float = 0.0

    @property
    def duration(self) -> float:
        return self.offset - self.onset

    @property
    def hz(self) -> float:
        return midi_to_hz(self.pitch)


@dataclass
class Melody:
    """A target melody on the front-end grid: f0 [T] Hz (0 = rest/unvoiced) and its notes."""
    f0: np.ndarray
    notes: list[Note] = field(default_factory=list)
    has_expression: bool = False   # True when f0 is a performed contour, not flat notes
    transcribed: bool = False      # notes transcribed from a recording (they keep its timeline)

    @property
    def duration(self) -> float:
        return len(self.f0) * fe.HOP / fe.SAMPLE_RATE


def midi_to_hz(m):
    return 440.0 * 2.0 ** ((np.asarray(m, dtype=np.float64) - 69.0) / 12.0)


def hz_to_midi(f):
    return 69.0 + 12.0 * np.log2(np.asarray(f, dtype=np.float64) / 440.0)


def note_number(name: str) -> float:
    """'C4' -> 60, 'F#3' -> 54, 'Bb2' -> 46, '61' -> 61 (scientific pitch notation)."""
    s = name.strip()
    if re.fullmatch(r"\d+(\.\d+)?", s):
        if float(s) > 127:
            raise MelodyError(f"MIDI note number {s} is above 127")
        return float(s)
    m = re.fullmatch(r"([A-Ga-g])([#b♯♭]*)(-?\d+)", s)
    if not m:
        raise MelodyError(f"not a note name: {name!r} (use e.g. C4, F#3, Bb2 or a MIDI number)")
    letter, accidentals, octave = m.groups()
    shift = accidentals.count("#") + accidentals.count("♯") - accidentals.count("b") - accidentals.count("♭")
    return float(12 * (int(octave) + 1) + _NAMES[letter.upper()] + shift)


def parse_note_list(text: str, bpm: float | None = None, where: str = "notes") -> list[Note]:
    """Parse lines 'NOTE DURATION' (seconds, or beats when ``bpm`` is given); 'rest 0.5' rests.

    '#' starts a comment. Raises MelodyError naming the line for anything malformed.
    """
    notes: list[Note] = []
    t = 0.0
    beat = 60.0 / bpm if bpm else 1.0
    if bpm is not None and not bpm > 0:
        raise MelodyError(f"{where}: --bpm must be positive, got {bpm}")
    for k, raw in enumerate(text.splitlines(), start=1):
        line = re.split(r"(?:^|\s)#", raw, maxsplit=1)[0].strip()   # '#' after a space: comment; F#3: a sharp
        if not line:
            continue
        parts = line.replace(",", " ").split()
        if len(parts) != 2:
            raise MelodyError(f"{where}:{k}: expected 'NOTE DURATION', got {raw.strip()!r}")
        try:
            dur = float(parts[1]) * beat
        except ValueError:
            raise MelodyError(f"{where}:{k}: duration {parts[1]!r} is not a number") from None
        if not np.isfinite(dur) or dur <= 0:
            raise MelodyError(f"{where}:{k}: duration must be positive, got {parts[1]}")
        if parts[0].lower() not in _REST:
            try:
                pitch = note_number(parts[0])
            except MelodyError as e:
                raise MelodyError(f"{where}:{k}: {e}") from None
            notes.append(Note(t, t + dur, pitch))
        t += dur
    if not notes:
        raise MelodyError(f"{where}: contains no notes")
    return notes


def read_note_list(path: str | os.PathLike, bpm: float | None = None) -> list[Note]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise MelodyError(f"{p}: cannot read note list ({getattr(e, 'strerror', None) or e})") from None
    return parse_note_list(text, bpm, where=str(p))


def read_midi(path: str | os.PathLike, track: int | None = None, channel: int | None = None) -> list[Note]:
    """Notes of a MIDI file, monophonic (highest sounding note wins), drums (channel 10) skipped.

    ``track``/``channel`` select one part; by default the track with the most notes.
    """
    import mido

    p = Path(path)
    if not p.exists():
        raise MelodyError(f"{p}: no such file")
    try:
        mid = mido.MidiFile(str(p))
    except Exception as e:
        raise MelodyError(f"{p}: not a readable MIDI file ({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None
    if track is not None and not 0 <= track < len(mid.tracks):
        raise MelodyError(f"{p}: no track {track} (the file has {len(mid.tracks)})")
    per_track = []
    tempo_map = _tempo_map(mid)
    for k, trk in enumerate(mid.tracks):
        if track is not None and k != track:
            continue
        per_track.append(_track_notes(trk, mid.ticks_per_beat, tempo_map, channel))
    per_track = [n for n in per_track if n]
    if not per_track:
        what = f"track {track}" if track is not None else "any track"
        raise MelodyError(f"{p}: no pitched notes in {what} (drum channel 10 is ignored)")
    raw = max(per_track, key=len)
    notes, chords = _monophonic(raw)
    if chords:
        log.warning("%s: %d chords reduced to their highest note", p, chords)
    return notes


def _tempo_map(mid) -> list[tuple[int, int]]:
    """(tick, microseconds per beat) changes from all tracks, sorted."""
    changes = []
    for trk in mid.tracks:
        tick = 0
        for msg in trk:
            tick += msg.time
            if msg.type == "set_tempo":
                changes.append((tick, msg.tempo))
    changes.sort()
    if not changes or changes[0][0] > 0:
        changes.insert(0, (0, 500000))
    return changes


def _ticks_to_seconds(tick: int, tpb: int, tempo_map) -> float:
    seconds = 0.0
    for k, (t0, tempo) in enumerate(tempo_map):
        t1 = tempo_map[k + 1][0] if k + 1 < len(tempo_map) else None
        if t1 is not None and tick > t1:
            seconds += (t1 - t0) * tempo / 1e6 / tpb
        else:
            return seconds + (tick - t0) * tempo / 1e6 / tpb
    return seconds


def _track_notes(trk, tpb, tempo_map, channel) -> list[Note]:
    tick = 0
    active: dict[tuple[int, int], tuple[int, int]] = {}
    out = []
    for msg in trk:
        tick += msg.time
        if msg.type not in ("note_on", "note_off"):
            continue
        if msg.channel == 9 or (channel is not None and msg.channel != channel):
            continue
        key = (msg.channel, msg.note)
        if msg.type == "note_on" and msg.velocity > 0:
            active.setdefault(key, (tick, msg.velocity))
        elif key in active:
            start, velocity = active.pop(key)
            if tick > start:
                out.append(Note(_ticks_to_seconds(start, tpb, tempo_map),
                                _ticks_to_seconds(tick, tpb, tempo_map), float(msg.note),
                                velocity_db(velocity)))
    return sorted(out, key=lambda n: (n.onset, -n.pitch))


def velocity_db(velocity: int) -> float:
    """MIDI velocity -> level in dB re velocity 127 (a common 40 log10 mapping)."""
    return float(40.0 * np.log10(max(int(velocity), 1) / 127.0))


def _monophonic(notes: list[Note]) -> tuple[list[Note], int]:
    """Keep the highest sounding note at every instant; returns (notes, number of overlaps)."""
    if not notes:
        return [], 0
    bounds = sorted({n.onset for n in notes} | {n.offset for n in notes})
    out: list[Note] = []
    overlaps = 0
    for a, b in zip(bounds[:-1], bounds[1:]):
        sounding = [n for n in notes if n.onset < b and n.offset > a]
        if not sounding:
            continue
        if len(sounding) > 1:
            overlaps += 1
        top = max(sounding, key=lambda n: n.pitch)
        if out and out[-1].pitch == top.pitch and abs(out[-1].offset - a) < 1e-9 and top.onset < a:
            out[-1] = Note(out[-1].onset, b, top.pitch, out[-1].level_db)   # one note across a boundary
        else:
            out.append(Note(a, b, top.pitch, top.level_db))
    return out, overlaps


def scale_tempo(notes: list[Note], tempo: float) -> list[Note]:
    """Play ``tempo`` times faster (1.1 = 10% faster)."""
    if not tempo > 0:
        raise MelodyError(f"tempo must be positive, got {tempo}")
    return [Note(n.onset / tempo, n.offset / tempo, n.pitch, n.level_db) for n in notes]


def notes_to_f0(notes: list[Note], n: int | None = None, lead_s: float = 0.0) -> np.ndarray:
    """Flat (step) F0 of the notes on the front-end grid: -> [n] Hz, 0 in rests."""
    end = max(x.offset for x in notes) + lead_s
    if n is None:
        n = int(np.ceil(end * fe.SAMPLE_RATE / fe.HOP)) + 1
    f0 = np.zeros(n)
    t = fe.frame_times(n)
    for x in notes:
        f0[(t >= x.onset + lead_s) & (t < x.offset + lead_s)] = midi_to_hz(x.pitch)
    return f0


def read_f0_file(path: str | os.PathLike) -> np.ndarray:
    """F0 contour from CSV ('time,Hz' rows; 0 = unvoiced) or NPY (Hz at hop 128 / 24 kHz): -> [T]."""
    p = Path(path)
    if not p.exists():
        raise MelodyError(f"{p}: no such file")
    if p.suffix.lower() == ".npy":
        try:
            f0 = np.load(p, allow_pickle=False)
        except Exception as e:
            raise MelodyError(f"{p}: not a readable .npy file ({e})") from None
        f0 = np.asarray(f0, dtype=np.float64).reshape(-1)
    else:
        try:
            rows = np.genfromtxt(p, delimiter=",", comments="#", dtype=np.float64, invalid_raise=True)
        except Exception as e:
            raise MelodyError(f"{p}: not a 'time,Hz' CSV file ({str(e).splitlines()[0]})") from None
        rows = np.atleast_2d(rows)
        if rows.size == 0 or rows.shape[1] != 2:
            raise MelodyError(f"{p}: expected two columns 'time,Hz'")
        if np.isnan(rows[0]).all():  # header line
            rows = rows[1:]
        if len(rows) == 0:
            raise MelodyError(f"{p}: contains no F0 values")
        if np.isnan(rows).any() or not np.all(np.isfinite(rows)):
            raise MelodyError(f"{p}: contains NaN or non-numeric values")
        t, hz = rows[:, 0], rows[:, 1]
        if np.any(hz < 0):
            raise MelodyError(f"{p}: contains negative F0 values")
        if np.any(np.diff(t) <= 0):
            raise MelodyError(f"{p}: times must increase")
        grid = np.arange(0, t[-1] + 1e-9, fe.HOP / fe.SAMPLE_RATE)
        idx = np.clip(np.searchsorted(t, grid, side="right") - 1, 0, len(t) - 1)
        f0 = hz[idx]
        voiced = hz[idx] > 0
        # interpolate voiced-to-voiced in log frequency, keep unvoiced as 0
        nxt = np.clip(idx + 1, 0, len(t) - 1)
        both = voiced & (hz[nxt] > 0) & (nxt != idx)
        w = np.where(both, (grid - t[idx]) / np.maximum(t[nxt] - t[idx], 1e-12), 0.0)
        f0 = np.where(both, np.exp((1 - w) * np.log(np.maximum(hz[idx], 1e-9)) + w * np.log(np.maximum(hz[nxt], 1e-9))), f0)
    if f0.size == 0:
        raise MelodyError(f"{p}: contains no F0 values")
    if not np.all(np.isfinite(f0)):
        raise MelodyError(f"{p}: contains NaN or infinite F0 values")
    if np.any(f0 < 0):
        raise MelodyError(f"{p}: contains negative F0 values")
    if not np.any(f0 > 0):
        raise MelodyError(f"{p}: no voiced (non-zero) F0 values")
    return f0
