"""Every melody source the score engine accepts, turned into a Melody."""
from __future__ import annotations

import os
from dataclasses import replace

import numpy as np

from ..audio import frontend as fe
from ..errors import MelodyError
from . import notes as nt
from .transcribe import TranscribeConfig, transcribe


def _check_notes(notes: list[nt.Note], where: str) -> list[nt.Note]:
    """Every note has finite times, a positive duration, a singable pitch, and the melody ends
    within validate.MAX_SCORE_S."""
    from ..validate import MAX_SCORE_S

    if not notes:
        raise MelodyError(f"{where}: contains no notes")
    for x in notes:
        try:
            onset, offset, pitch, level = (float(v) for v in (x.onset, x.offset, x.pitch, x.level_db))
        except (TypeError, ValueError):
            raise MelodyError(f"{where}: a note's onset, offset, pitch and level must be numbers, got {x}") from None
        if not (np.isfinite(onset) and np.isfinite(offset)) or offset <= onset or onset < 0:
            raise MelodyError(f"{where}: note at {onset:.3f} s has a non-positive duration")
        if offset > MAX_SCORE_S:
            raise MelodyError(f"{where}: the melody lasts {offset / 60:.3g} minutes; at most "
                              f"{MAX_SCORE_S / 60:g} minutes can be sung")
        nt.check_pitch(pitch, f"{where}: note at {onset:.3f} s")
        if not np.isfinite(level) or level > 0:
            raise MelodyError(f"{where}: note at {onset:.3f} s has level {level:g} dB; levels are <= 0 dB")
    return notes


def from_notes(notes: list[nt.Note], where: str = "notes", tempo: float = 1.0) -> nt.Melody:
    """A Melody from notes (flat F0; the engine adds expression)."""
    from ..validate import tempo as check_tempo

    tempo = check_tempo(tempo, "tempo")
    notes = _check_notes(nt.scale_tempo(notes, tempo) if tempo != 1.0 else notes, where)
    return nt.Melody(f0=nt.notes_to_f0(notes), notes=notes, has_expression=False)


def from_midi(path: str | os.PathLike, track: int | None = None, channel: int | None = None,
              tempo: float = 1.0) -> nt.Melody:
    return from_notes(nt.read_midi(path, track=track, channel=channel), str(path), tempo)


def from_note_list(path: str | os.PathLike, bpm: float | None = None, tempo: float = 1.0) -> nt.Melody:
    return from_notes(nt.read_note_list(path, bpm=bpm), str(path), tempo)


def from_f0(f0: np.ndarray, where: str = "F0", cfg: TranscribeConfig | None = None) -> nt.Melody:
    """A performed F0 contour [T] Hz on the front-end grid: kept as it is, notes transcribed."""
    f0 = nt.check_f0_array(f0, where)
    notes = transcribe(f0, cfg)
    if not notes:
        raise MelodyError(f"{where}: no notes found in the F0 contour (too little voiced pitch)")
    return nt.Melody(f0=f0, notes=notes, has_expression=True)


def from_f0_file(path: str | os.PathLike) -> nt.Melody:
    return from_f0(nt.read_f0_file(path), str(path))


def from_recording(wav: np.ndarray, where: str = "melody recording",
                   cfg: TranscribeConfig | None = None, contour: bool = True) -> nt.Melody:
    """Only the melody of a sung/played recording [N] at 24 kHz, not its words.

    Its notes (with their loudness) give the rhythm the syllables are fitted to. The pitch
    sung is the recording's own performed F0 contour (``contour``), or, with
    ``contour=False``, the notes alone (the engine then adds expression as for a score).
    """
    f0 = fe.f0_praat(wav, official_shift=False).astype(np.float64)
    if not np.any(f0 > 0):
        raise MelodyError(f"{where}: no voiced (pitched) frames found, so there is no melody to take")
    notes = transcribe(f0, cfg)
    if not notes:
        raise MelodyError(f"{where}: no notes found (pitched sound too short or too unstable)")
    mag = fe.stft_magnitude(wav)
    notes = split_at_syllables(notes, syllable_onsets(mag, f0))
    notes = note_levels(notes, fe.loudness_db(fe.log_mel(wav)))
    if contour:
        return nt.Melody(f0=f0, notes=notes, has_expression=True, transcribed=True, voice=wav)
    return nt.Melody(f0=nt.notes_to_f0(notes, len(f0)), notes=notes, has_expression=False, transcribed=True,
                     voice=wav)


def note_levels(notes: list[nt.Note], energy_db: np.ndarray, floor_db: float = -24.0) -> list[nt.Note]:
    """Give each note its loudness re the loudest note: median frame energy [T] dB within it."""
    dt = fe.HOP / fe.SAMPLE_RATE
    med = []
    for x in notes:
        a, b = int(x.onset / dt), max(int(x.onset / dt) + 1, int(x.offset / dt))
        seg = energy_db[a:b]
        med.append(float(np.median(seg)) if len(seg) else -np.inf)
    top = max(med)
    return [replace(x, level_db=float(max(floor_db, lv - top))) for x, lv in zip(notes, med)]


# sung notes swell and fade: only clear loudness dips (4.5 dB, nuclei 120 ms apart) mark a
# new syllable on a held pitch, and no piece shorter than 150 ms is cut off
SUNG_SYLLABLES = dict(prominence_db=4.5, min_distance_ms=120.0)
SPLIT_MIN_S = 0.15


def syllable_onsets(mag: np.ndarray, f0: np.ndarray) -> np.ndarray:
    """Times (s) where sung syllables start: clear loudness dips between voiced nuclei."""
    from ..align.syllables import SyllableConfig, detect

    sylls = detect(mag, f0, SyllableConfig(**SUNG_SYLLABLES))
    return np.array([syl.start * fe.HOP / fe.SAMPLE_RATE for syl in sylls[1:]])


def split_at_syllables(notes: list[nt.Note], onsets: np.ndarray, min_s: float = SPLIT_MIN_S) -> list[nt.Note]:
    """Split notes at syllable onsets inside them: a repeated pitch sung legato on new words
    is a new note. Pieces shorter than ``min_s`` are not cut off."""
    out = []
    for x in notes:
        cuts = [float(t) for t in onsets if x.onset + min_s <= t <= x.offset - min_s]
        edges = [x.onset]
        for t in cuts:
            if t - edges[-1] >= min_s:
                edges.append(t)
        edges.append(x.offset)
        out.extend(nt.Note(a, b, x.pitch, x.level_db) for a, b in zip(edges[:-1], edges[1:]))
    return out


def from_score(path: str | os.PathLike, track: int | None = None, tempo: float = 1.0) -> nt.Melody:
    """A score with words (MusicXML, UST, USTX, MIDI with lyrics; melody.scores) -> Melody."""
    from .scores import read_score

    return from_notes(read_score(path, track=track), str(path), tempo)
