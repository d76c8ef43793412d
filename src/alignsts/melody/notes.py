"""Notes and melodies: note lists, MIDI files, F0 files and F0 contours -> one Melody value."""
from __future__ import annotations

import heapq
import logging
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..audio import frontend as fe
from ..errors import MelodyError, option, raw_message
from ..textfiles import MAX_NOTES   # notes a song can have

log = logging.getLogger("alignsts")

_NAMES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_REST = {"r", "rest", "-", "sil", "pau"}


@dataclass(frozen=True)
class Note:
    """One note: onset and offset in seconds, pitch as a (possibly fractional) MIDI number,
    loudness in dB relative to the loudest note (0; MIDI velocity, or measured on a recording).

    Scores with words add what is sung on it: ``lyric`` the text of the syllable(s) that start
    on this note (several on one note are separated by spaces or '_', e.g. an elision), or
    None; ``melisma`` True when the note continues the previous note's syllable (a MusicXML
    note without lyric after one with, UST '-'/'+', USTX '+~'); ``syllabic`` where the
    (first) syllable sits in its word, as MusicXML says it: 'single', 'begin', 'middle',
    'end', or None (= a word of its own)."""
    onset: float
    offset: float
    pitch: float
    level_db: float = 0.0
    lyric: str | None = None
    melisma: bool = False
    syllabic: str | None = None

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
    voice: np.ndarray | None = field(default=None, repr=False)   # that recording [N] (24 kHz): key cues

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


def check_pitch(pitch: float, where: str) -> float:
    """MelodyError unless ``pitch`` (MIDI number) is a singable note, validate.MIN_PITCH..MAX_PITCH."""
    from ..validate import MAX_PITCH, MIN_PITCH

    if not (np.isfinite(pitch) and MIN_PITCH <= pitch <= MAX_PITCH):
        hz = f"{float(midi_to_hz(pitch)):.3g} Hz" if np.isfinite(pitch) and abs(pitch) < 1e4 else "not a pitch"
        raise MelodyError(f"{where}: note {pitch:g} ({hz}) is outside the singable range C1-C7 "
                          f"(MIDI {MIN_PITCH:g}-{MAX_PITCH:g})")
    return pitch


def parse_note_list(text: str, bpm: float | None = None, where: str = "notes") -> list[Note]:
    """Parse lines 'NOTE DURATION' (seconds, or beats when ``bpm`` is given); 'rest 0.5' rests.

    '#' starts a comment; a UTF-8 byte-order mark and CRLF line ends are fine. Raises
    MelodyError naming the line for anything malformed, out of the singable range, or a
    melody longer than validate.MAX_SCORE_S.
    """
    from ..validate import MAX_SCORE_S, bpm as check_bpm

    notes: list[Note] = []
    t = 0.0
    bpm = check_bpm(bpm)
    beat = 60.0 / bpm if bpm else 1.0
    text = text.lstrip("\ufeff")
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
            raise MelodyError(f"{where}:{k}: duration must be positive ({'beats' if bpm else 'seconds'}), "
                              f"got {parts[1]}")
        if t + dur > MAX_SCORE_S:
            raise MelodyError(f"{where}:{k}: the melody would last {(t + dur) / 60:.3g} minutes here; at most "
                              f"{MAX_SCORE_S / 60:g} minutes can be sung (durations are in "
                              f"{'beats' if bpm else 'seconds'})")
        if parts[0].lower() not in _REST:
            try:
                pitch = check_pitch(note_number(parts[0]), parts[0])
            except MelodyError as e:
                raise MelodyError(f"{where}:{k}: {raw_message(e)}") from None
            notes.append(Note(t, t + dur, pitch))
            if len(notes) > MAX_NOTES:
                raise MelodyError(f"{where}:{k}: more than {MAX_NOTES} notes; a song has fewer")
        t += dur
    if not notes:
        raise MelodyError(f"{where}: contains no notes")
    return notes


def read_note_list(path: str | os.PathLike, bpm: float | None = None) -> list[Note]:
    from ..textfiles import read_text

    text = read_text(path, "note list", MelodyError)
    return parse_note_list(text, bpm, where=str(path))


MAX_TEXT_BYTES = 10_000_000     # an F0 CSV larger than this is not a melody
MAX_NPY_BYTES = 50_000_000      # an F0 .npy (10 minutes at 187.5 frames/s is 0.9 MB of float64)
CHORD_ONSET_S = 0.03            # notes starting this close together form a chord
LEGATO_OVERLAP_S = 0.06         # a note held at most this long into the next is legato, cut there


def read_midi(path: str | os.PathLike, track: int | None = None, channel: int | None = None) -> list[Note]:
    """Notes of a MIDI file, monophonic (highest sounding note wins), drums (channel 10) skipped.

    ``track``/``channel`` select one part; by default the track with the most notes. Notes
    outside the singable range are moved by octaves into it (with a warning); notes without
    a note-off end with their track (with a warning); a zero tempo is an error.
    """
    import mido

    from ..validate import MAX_SCORE_S, channel as check_channel, track as check_track

    from ..textfiles import MAX_MIDI_BYTES, check_file

    p = Path(path)
    track, channel = check_track(track), check_channel(channel)
    check_file(p, "MIDI file", MelodyError, MAX_MIDI_BYTES)
    try:
        mid = mido.MidiFile(str(p))
    except Exception as e:
        raise MelodyError(f"{p}: not a readable MIDI file ({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None
    if mid.type == 2:
        raise MelodyError(f"{p}: MIDI type 2 (independent patterns) is not supported; save it as type 0 or 1")
    if not mid.ticks_per_beat or mid.ticks_per_beat <= 0:
        raise MelodyError(f"{p}: invalid time division ({mid.ticks_per_beat} ticks per beat)")
    if track is not None and not 0 <= track < len(mid.tracks):
        raise MelodyError(f"{p}: no {option('track')} {track} (the file has {len(mid.tracks)})")
    per_track = []
    tempo_map = _tempo_map(mid, p)
    unended = 0
    for k, trk in enumerate(mid.tracks):
        if track is not None and k != track:
            continue
        notes, open_notes = _track_notes(trk, mid.ticks_per_beat, tempo_map, channel)
        if len(notes) > MAX_NOTES:
            raise MelodyError(f"{p}: track {k} has {len(notes)} notes; a song has at most {MAX_NOTES}")
        per_track.append((k, notes))
        unended += open_notes
    per_track = [(k, n) for k, n in per_track if n]
    if not per_track:
        what = f"track {track}" if track is not None else "any track"
        if channel is not None:
            used = sorted({m.channel for trk in mid.tracks for m in trk if m.type == "note_on"} - {9})
            what += f" on channel {channel} (channels with notes: {', '.join(map(str, used)) or 'none'})"
        if unended:
            raise MelodyError(f"{p}: {unended} notes start but never end (no note-off) in {what}")
        raise MelodyError(f"{p}: no pitched notes in {what} (drum channel 10 is ignored)")
    if unended:
        log.warning("%s: %d notes have no note-off; they end with their track", p, unended)
    chosen, raw = max(per_track, key=lambda kn: len(kn[1]))
    end = max(x.offset for x in raw)
    if end > MAX_SCORE_S:
        raise MelodyError(f"{p}: the melody lasts {end / 60:.3g} minutes; at most {MAX_SCORE_S / 60:g} minutes "
                          f"can be sung")
    raw, legato = _cut_legato(raw)
    notes, chords, overlaps = _monophonic(raw)
    if chords:
        log.warning("%s: %d chords reduced to their highest note", p, chords)
    if overlaps:
        log.warning("%s: %d notes overlap an earlier note that is still sounding (not a chord): the highest "
                    "sounding note is sung", p, overlaps)
    if legato:
        log.info("%s: %d legato overlaps (a note held into the next) cut at the next note", p, legato)
    notes = _fold_into_range(notes, p)
    events = _lyric_events(mid, chosen, tempo_map)
    if events:
        notes, unplaced = attach_lyrics(notes, events)
        if unplaced:
            log.warning("%s: %d lyric events fall on no note onset and are ignored", p, unplaced)
    return notes


def _fold_into_range(notes: list[Note], where) -> list[Note]:
    """Move notes outside validate.MIN_PITCH..MAX_PITCH by whole octaves into it (with a warning)."""
    from ..validate import MAX_PITCH, MIN_PITCH

    out, moved = [], 0
    for x in notes:
        pitch = x.pitch
        while pitch < MIN_PITCH:
            pitch += 12
        while pitch > MAX_PITCH:
            pitch -= 12
        moved += pitch != x.pitch
        out.append(replace(x, pitch=pitch) if pitch != x.pitch else x)
    if moved:
        log.warning("%s: %d notes outside the singable range C1-C7 moved by octaves into it", where, moved)
    return out


def _meta_text(msg) -> str:
    """A text meta event's text; mido decodes latin-1, most lyric files are UTF-8."""
    try:
        return msg.text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return msg.text


def _lyric_events(mid, chosen: int, tempo_map) -> list[tuple[float, str]]:
    """(seconds, text) of the file's lyric meta events (any track); without any, the text
    events of the melody's track (karaoke .kar files), '@' header lines left out."""
    found: dict[str, list[tuple[float, str]]] = {"lyrics": [], "text": []}
    for k, trk in enumerate(mid.tracks):
        tick = 0
        for msg in trk:
            tick += msg.time
            if msg.type == "lyrics" or (msg.type == "text" and k == chosen):
                text = _meta_text(msg)
                if msg.type == "text" and text.startswith("@"):
                    continue
                found[msg.type].append((_ticks_to_seconds(tick, mid.ticks_per_beat, tempo_map), text))
    return found["lyrics"] or found["text"]


def attach_lyrics(notes: list[Note], events: list[tuple[float, str]],
                  tolerance_s: float = 0.03) -> tuple[list[Note], int]:
    """Put timed lyric syllables on the notes starting with them (within ``tolerance_s``).

    Karaoke conventions: a syllable ending in '-' continues into the next one's word, a
    leading space or '/' '\\' (new line) starts a new word; '+' or '-' alone, and notes
    without an event, continue the previous syllable (melisma). Returns (notes, number of
    events that fell on no note)."""
    onsets = np.array([x.onset for x in notes])
    texts: dict[int, list[str]] = {}
    unplaced = 0
    for t, text in sorted(events, key=lambda e: e[0]):
        if not text.strip(" \r\n/\\"):
            continue
        k = int(np.argmin(np.abs(onsets - t)))
        if abs(onsets[k] - t) > tolerance_s:
            unplaced += 1
            continue
        texts.setdefault(k, []).append(text)
    if not texts:
        return notes, unplaced
    out = []
    continues_word = False        # the previous syllable ended with '-'
    for k, x in enumerate(notes):
        raw = "".join(texts.get(k, []))
        word = raw.strip(" \r\n/\\")
        if not word or word in ("+", "-", "~"):
            out.append(replace(x, lyric=None, melisma=True, syllabic=None))
            continue
        new_word = not continues_word or raw[:1] in (" ", "/", "\\")
        hyphen = word.endswith("-")
        word = word.rstrip("-").strip()
        syllabic = ("begin" if hyphen else "single") if new_word else ("middle" if hyphen else "end")
        out.append(replace(x, lyric=word, melisma=False, syllabic=syllabic))
        continues_word = hyphen
    return out, unplaced


def _tempo_map(mid, where=None) -> list[tuple[int, int]]:
    """(tick, microseconds per beat) changes from all tracks, sorted; a zero tempo is an error."""
    changes = []
    for trk in mid.tracks:
        tick = 0
        for msg in trk:
            tick += msg.time
            if msg.type == "set_tempo":
                if msg.tempo <= 0:
                    raise MelodyError(f"{where or 'MIDI'}: tempo 0 (zero microseconds per beat) at tick {tick}: "
                                      f"a broken file")
                check_file_tempo(60e6 / msg.tempo, f"{where or 'MIDI'}: set_tempo at tick {tick}",
                                 f"{msg.tempo} microseconds per beat")
                changes.append((tick, msg.tempo))
    changes.sort()
    if not changes or changes[0][0] > 0:
        changes.insert(0, (0, 500000))
    return changes


def check_file_tempo(bpm, where: str, given: str | None = None) -> float:
    """A tempo read from a file (MIDI, MusicXML, UST, USTX) in BPM: a finite number within
    validate.BPM_RANGE, the range of --bpm; else MelodyError naming ``where`` and the value."""
    from ..validate import BPM_RANGE

    shown = given if given is not None else repr(bpm)
    if isinstance(bpm, bool):
        raise MelodyError(f"{where}: tempo {shown} is not a number")
    try:
        value = float(bpm)
    except (TypeError, ValueError, OverflowError):
        raise MelodyError(f"{where}: tempo {shown} is not a number") from None
    lo, hi = BPM_RANGE
    if not (np.isfinite(value) and lo <= value <= hi):
        raise MelodyError(f"{where}: tempo {shown} ({value:.6g} BPM) is outside {lo:g}-{hi:g} BPM")
    return value


def _ticks_to_seconds(tick: int, tpb: int, tempo_map) -> float:
    seconds = 0.0
    for k, (t0, tempo) in enumerate(tempo_map):
        t1 = tempo_map[k + 1][0] if k + 1 < len(tempo_map) else None
        if t1 is not None and tick > t1:
            seconds += (t1 - t0) * tempo / 1e6 / tpb
        else:
            return seconds + (tick - t0) * tempo / 1e6 / tpb
    return seconds


def _track_notes(trk, tpb, tempo_map, channel) -> tuple[list[Note], int]:
    """(notes sorted by onset, number of notes that never end) of one track.

    A note still sounding when the track ends is ended there (if the track goes on after it)."""
    tick = 0
    active: dict[tuple[int, int], tuple[int, int]] = {}
    out = []

    def add(start, stop, pitch, velocity):
        if stop > start:
            out.append(Note(_ticks_to_seconds(start, tpb, tempo_map), _ticks_to_seconds(stop, tpb, tempo_map),
                            float(pitch), velocity_db(velocity)))

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
            add(start, tick, msg.note, velocity)
    for (_ch, note), (start, velocity) in active.items():
        add(start, tick, note, velocity)
    return sorted(out, key=lambda n: (n.onset, -n.pitch)), len(active)


def velocity_db(velocity: int) -> float:
    """MIDI velocity -> level in dB re velocity 127 (a common 40 log10 mapping)."""
    return float(40.0 * np.log10(max(int(velocity), 1) / 127.0))


def _cut_legato(notes: list[Note]) -> tuple[list[Note], int]:
    """End each note at the next onset when it is held only briefly (LEGATO_OVERLAP_S) into it.

    notes sorted by onset -> (notes, number of legato overlaps cut)."""
    out, cut = list(notes), 0
    for i, x in enumerate(out):
        nxt = next((y for y in out[i + 1:] if y.onset > x.onset + CHORD_ONSET_S), None)
        if nxt is not None and nxt.onset < x.offset <= nxt.onset + LEGATO_OVERLAP_S:
            out[i] = replace(x, offset=nxt.onset)
            cut += 1
    return out, cut


def _monophonic(notes: list[Note]) -> tuple[list[Note], int, int]:
    """Keep the highest sounding note at every instant.

    Returns (notes, chords: groups of notes starting together, overlaps: notes starting while
    an earlier one still sounds)."""
    if not notes:
        return [], 0, 0
    ordered = sorted(notes, key=lambda n: n.onset)
    chords = overlaps = 0
    group_start, group_size = None, 0
    earlier, held_until = 0, -np.inf   # latest offset of the notes starting clearly before x
    for x in ordered:
        if group_start is not None and x.onset - group_start <= CHORD_ONSET_S:
            group_size += 1
            if group_size == 2:
                chords += 1
            continue
        group_start, group_size = x.onset, 1
        while earlier < len(ordered) and x.onset - ordered[earlier].onset > CHORD_ONSET_S:
            held_until = max(held_until, ordered[earlier].offset)
            earlier += 1
        if held_until > x.onset:
            overlaps += 1
    bounds = sorted({n.onset for n in notes} | {n.offset for n in notes})
    out: list[Note] = []
    # sweep: a max-heap on pitch (ties: the earlier note in the list) of the notes begun so far;
    # ended ones are dropped when they reach the top. O(n log n) for long scores.
    by_onset = sorted(range(len(notes)), key=lambda k: notes[k].onset)
    heap: list[tuple[float, int]] = []
    nxt = 0
    for a, b in zip(bounds[:-1], bounds[1:]):
        while nxt < len(by_onset) and notes[by_onset[nxt]].onset <= a:
            heapq.heappush(heap, (-notes[by_onset[nxt]].pitch, by_onset[nxt]))
            nxt += 1
        while heap and notes[heap[0][1]].offset <= a:
            heapq.heappop(heap)
        if not heap:
            continue
        top = notes[heap[0][1]]
        if out and out[-1].pitch == top.pitch and abs(out[-1].offset - a) < 1e-9 and top.onset < a:
            out[-1] = replace(out[-1], offset=b)   # one note across a boundary
        else:
            out.append(Note(a, b, top.pitch, top.level_db))
    return out, chords, overlaps


def scale_tempo(notes: list[Note], tempo: float) -> list[Note]:
    """Play ``tempo`` times faster (1.1 = 10% faster)."""
    if not tempo > 0:
        raise MelodyError(f"tempo must be positive, got {tempo}")
    return [replace(n, onset=n.onset / tempo, offset=n.offset / tempo) for n in notes]


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


def check_f0_array(values, where: str = "F0") -> np.ndarray:
    """An F0 contour [T] Hz (0 = unvoiced) on the front-end grid, validated -> float64 [T].

    1-D (size-1 axes are dropped), real numbers (no bool/complex/objects), finite, 0..MAX_F0_HZ,
    at most validate.MAX_SCORE_S long, with some voiced frames.
    """
    from ..validate import MAX_SCORE_S

    try:
        f0 = np.asarray(values)
    except Exception:
        raise MelodyError(f"{where}: not an array of F0 values") from None
    if f0.dtype.kind not in "iuf":
        what = {"b": "true/false values", "c": "complex numbers", "O": "Python objects", "U": "text",
                "S": "bytes"}.get(f0.dtype.kind, f"dtype {f0.dtype}")
        raise MelodyError(f"{where}: F0 must be real numbers in Hz, got {what}")
    if f0.ndim != 1:
        squeezed = f0.squeeze() if f0.ndim > 1 else f0
        if squeezed.ndim != 1:
            raise MelodyError(f"{where}: F0 must be one value per frame (shape [frames]), got shape "
                              f"{list(f0.shape)}; a 'time,Hz' table goes in a .csv file")
        f0 = squeezed
    f0 = f0.astype(np.float64)
    if f0.size == 0:
        raise MelodyError(f"{where}: contains no F0 values")
    frames = int(MAX_SCORE_S * fe.SAMPLE_RATE / fe.HOP)
    if f0.size > frames:
        raise MelodyError(f"{where}: {f0.size} frames = {f0.size * fe.HOP / fe.SAMPLE_RATE / 60:.3g} minutes; "
                          f"at most {MAX_SCORE_S / 60:g} minutes can be sung")
    if not np.all(np.isfinite(f0)):
        raise MelodyError(f"{where}: contains {int(np.count_nonzero(~np.isfinite(f0)))} NaN or infinite F0 values")
    _check_hz(f0, where)
    if not np.any(f0 > 0):
        raise MelodyError(f"{where}: no voiced (non-zero) F0 values")
    return f0


def _check_hz(hz: np.ndarray, where: str) -> None:
    from ..validate import MAX_F0_HZ, MIN_PITCH

    if np.any(hz < 0):
        raise MelodyError(f"{where}: contains negative F0 values (lowest {hz.min():.4g} Hz; 0 = unvoiced)")
    if np.any(hz > MAX_F0_HZ):
        raise MelodyError(f"{where}: F0 up to {hz.max():.4g} Hz; F0 must be 0 (unvoiced) to {MAX_F0_HZ:g} Hz")
    lowest = float(midi_to_hz(MIN_PITCH))
    low = (hz > 0) & (hz < lowest)
    if np.any(low):   # 1 Hz is no voice: 'auto' would move it up 7 octaves without a word
        k = int(np.flatnonzero(low)[0])
        raise MelodyError(f"{where}: voiced F0 down to {float(hz[low].min()):.4g} Hz (first at value {k}); a sung "
                          f"F0 is 0 (unvoiced) or at least {lowest:.1f} Hz (C1)")


def read_f0_file(path: str | os.PathLike) -> np.ndarray:
    """F0 contour from CSV ('time,Hz' rows; 0 = unvoiced) or NPY (Hz at hop 128 / 24 kHz): -> [T].

    Times in seconds, increasing, 0..validate.MAX_SCORE_S; Hz 0..validate.MAX_F0_HZ.
    """
    from ..validate import MAX_SCORE_S

    import io as _io

    from ..textfiles import check_file, read_text

    p = Path(path)
    check_file(p, "F0 file", MelodyError, MAX_NPY_BYTES if p.suffix.lower() == ".npy" else MAX_TEXT_BYTES)
    if p.suffix.lower() == ".npy":
        try:
            f0 = np.load(p, allow_pickle=False, mmap_mode="r")
        except ValueError as e:
            with open(p, "rb") as fh:
                real_npy = fh.read(6) == b"\x93NUMPY"
            if real_npy and "object" in str(e).lower():
                raise MelodyError(f"{p}: holds Python objects; an F0 file holds numbers (Hz per frame)") from None
            raise MelodyError(f"{p}: not a readable .npy file ({str(e).splitlines()[0]})") from None
        except Exception as e:
            raise MelodyError(f"{p}: not a readable .npy file ({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None
        return check_f0_array(f0, str(p))
    text = read_text(p, "F0 CSV", MelodyError, max_bytes=MAX_TEXT_BYTES)
    try:
        rows = np.genfromtxt(_io.StringIO(text), delimiter=",", comments="#", dtype=np.float64, invalid_raise=True)
    except Exception as e:
        raise MelodyError(f"{p}: not a 'time,Hz' CSV file ({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None
    rows = np.atleast_2d(rows)
    if rows.size == 0 or rows.ndim != 2 or rows.shape[1] != 2:
        hint = (f"; a note list goes to {option('notes')}" if re.match(r"\s*([A-Ga-g][#b]*-?\d|rest)\s+\d", text, re.I)
                else "")
        raise MelodyError(f"{p}: expected two columns 'time,Hz'{hint}")
    if np.isnan(rows[0]).all():  # header line
        rows = rows[1:]
    if len(rows) == 0:
        raise MelodyError(f"{p}: contains no F0 values")
    if np.isnan(rows).all():
        raise MelodyError(f"{p}: not a 'time,Hz' CSV (no row of two numbers); a note list goes to {option('notes')}")
    if not np.all(np.isfinite(rows)):
        raise MelodyError(f"{p}: contains NaN or non-numeric values (or infinities)")
    t, hz = rows[:, 0], rows[:, 1]
    if np.any(np.diff(t) <= 0):
        k = int(np.flatnonzero(np.diff(t) <= 0)[0])
        raise MelodyError(f"{p}: times must increase (row {k + 2}: {t[k + 1]:g} s after {t[k]:g} s)")
    if t[0] < 0 or t[-1] > MAX_SCORE_S:
        raise MelodyError(f"{p}: times must lie within 0-{MAX_SCORE_S:g} s, got {t[0]:g}-{t[-1]:g} s")
    _check_hz(hz, str(p))
    grid = np.arange(0, t[-1] + 1e-9, fe.HOP / fe.SAMPLE_RATE)
    idx = np.clip(np.searchsorted(t, grid, side="right") - 1, 0, len(t) - 1)
    f0 = hz[idx]
    voiced = hz[idx] > 0
    # interpolate voiced-to-voiced in log frequency, keep unvoiced as 0
    nxt = np.clip(idx + 1, 0, len(t) - 1)
    both = voiced & (hz[nxt] > 0) & (nxt != idx)
    w = np.where(both, (grid - t[idx]) / np.maximum(t[nxt] - t[idx], 1e-12), 0.0)
    f0 = np.where(both, np.exp((1 - w) * np.log(np.maximum(hz[idx], 1e-9)) + w * np.log(np.maximum(hz[nxt], 1e-9))), f0)
    return check_f0_array(f0, str(p))
