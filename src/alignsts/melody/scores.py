"""Scores with words: MusicXML (.musicxml/.xml/.mxl), UTAU .ust, OpenUtau .ustx, MIDI with lyrics.

Every reader returns notes in seconds (tempo changes honoured, rests as gaps, tied notes
joined) with ``lyric``/``melisma``/``syllabic`` set as the file says (see melody.notes.Note).
"""
from __future__ import annotations

import logging
import os
import re
from dataclasses import replace
from pathlib import Path

from ..errors import MelodyError
from .lyrics import infer_words
from .notes import Note, read_midi

log = logging.getLogger("alignsts")

SCORE_SUFFIXES = (".musicxml", ".xml", ".mxl", ".ust", ".ustx", ".mid", ".midi", ".kar")
UTAU_TICKS = 480           # UTAU ticks per quarter note
_UTAU_RESTS = {"r", "R", "", "rest", "pau", "sil"}
_UTAU_CONTINUE = {"-", "+", "+~", "+*"}


def read_score(path: str | os.PathLike, track: int | None = None) -> list[Note]:
    """Notes (with lyrics when the file has them) of any score format, by suffix."""
    p = Path(path)
    if not p.exists():
        raise MelodyError(f"{p}: no such file")
    if p.is_dir():
        raise MelodyError(f"{p}: is a directory, not a score")
    suffix = p.suffix.lower()
    if suffix in (".musicxml", ".xml", ".mxl"):
        notes = read_musicxml(p, part=track)
    elif suffix == ".ust":
        notes = read_ust(p)
    elif suffix == ".ustx":
        notes = read_ustx(p, part=track)
    elif suffix in (".mid", ".midi", ".kar"):
        notes = read_midi(p, track=track)
    else:
        raise MelodyError(f"{p}: unknown score format {suffix or '(none)'}; use "
                          + ", ".join(SCORE_SUFFIXES))
    if not notes:
        raise MelodyError(f"{p}: contains no notes")
    if suffix in (".ust", ".ustx"):      # one syllable per note, words not marked
        notes = infer_words(notes)
    return notes


# ---------------------------------------------------------------- tempo maps in ticks

def _seconds(tick: float, tempo_map: list[tuple[float, float]], tpq: float) -> float:
    """Ticks -> seconds through a tempo map [(tick, bpm)] sorted by tick, starting at 0."""
    sec = 0.0
    for k, (t0, bpm) in enumerate(tempo_map):
        t1 = tempo_map[k + 1][0] if k + 1 < len(tempo_map) else None
        if t1 is not None and tick > t1:
            sec += (t1 - t0) / tpq * 60.0 / bpm
        else:
            return sec + (tick - t0) / tpq * 60.0 / bpm
    return sec


def _tempo(value, where: str) -> float:
    try:
        bpm = float(value)
    except (TypeError, ValueError):
        raise MelodyError(f"{where}: tempo {value!r} is not a number") from None
    if not 1.0 <= bpm <= 1000.0:
        raise MelodyError(f"{where}: tempo {bpm:g} BPM is out of range")
    return bpm


def _lyric_note(onset: float, offset: float, pitch: float, lyric: str | None, **kw) -> Note:
    """A note from a UTAU-style lyric: '-', '+', '+~' continue the previous syllable."""
    text = (lyric or "").strip()
    if text in _UTAU_CONTINUE or text.startswith("+"):
        return Note(onset, offset, pitch, lyric=None, melisma=True, **kw)
    parts = text.split()
    if len(parts) == 2 and (parts[0] == "-" or len(parts[0]) == 1):   # VCV lyrics 'a ka', '- ka'
        text = parts[1]
    return Note(onset, offset, pitch, lyric=text or None, melisma=False, **kw)


# ---------------------------------------------------------------- UTAU .ust

def _read_text(p: Path, what: str) -> str:
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise MelodyError(f"{p}: cannot read {what} ({e.strerror})") from None
    for enc in ("utf-8-sig", "cp932"):   # UTAU writes Shift-JIS; newer tools UTF-8
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise MelodyError(f"{p}: {what} is neither UTF-8 nor Shift-JIS text")


def read_ust(path: str | os.PathLike) -> list[Note]:
    """UTAU .ust: [#NNNN] sections with Length (ticks, 480 per quarter), Lyric, NoteNum and
    optional Tempo (a tempo change from that note on); 'R' lyrics are rests, '-'/'+' continue
    the previous syllable. The project tempo is [#SETTING] Tempo."""
    p = Path(path)
    text = _read_text(p, "UST file")
    sections: list[tuple[str, dict]] = []
    for line in text.splitlines():
        line = line.strip()
        m = re.fullmatch(r"\[#(.+)\]", line)
        if m:
            sections.append((m.group(1), {}))
        elif "=" in line and sections:
            key, value = line.split("=", 1)
            sections[-1][1][key.strip()] = value.strip()
    if not sections:
        raise MelodyError(f"{p}: not a UST file (no [#...] sections)")
    setting = next((kv for name, kv in sections if name == "SETTING"), {})
    bpm = _tempo(setting.get("Tempo", "120").replace(",", "."), str(p))
    tempo_map = [(0.0, bpm)]
    notes: list[Note] = []
    tick = 0
    for name, kv in sections:
        if not re.fullmatch(r"\d+", name):
            continue
        where = f"{p} [#{name}]"
        try:
            length = int(float(kv["Length"]))
        except (KeyError, ValueError):
            raise MelodyError(f"{where}: missing or bad Length") from None
        if length <= 0:
            raise MelodyError(f"{where}: Length must be positive")
        if "Tempo" in kv:
            new = _tempo(kv["Tempo"].replace(",", "."), where)
            if new != tempo_map[-1][1]:
                tempo_map.append((float(tick), new))
        lyric = kv.get("Lyric", "")
        if lyric.strip() not in _UTAU_RESTS:
            try:
                pitch = float(kv["NoteNum"])
            except (KeyError, ValueError):
                raise MelodyError(f"{where}: missing or bad NoteNum") from None
            notes.append(_lyric_note(_seconds(tick, tempo_map, UTAU_TICKS),
                                     _seconds(tick + length, tempo_map, UTAU_TICKS), pitch, lyric))
        tick += length
    if not notes:
        raise MelodyError(f"{p}: contains no notes")
    return notes


# ---------------------------------------------------------------- OpenUtau .ustx

def read_ustx(path: str | os.PathLike, part: int | None = None) -> list[Note]:
    """OpenUtau .ustx (YAML): the voice part with most notes (or ``part``); note ``position``
    and ``duration`` in ticks (``resolution`` per quarter, 480) relative to the part;
    ``tone`` the MIDI number; lyrics starting with '+' ('+', '+~', '+*') extend the previous
    syllable; ``tempos`` (or the older ``bpm``) give the tempo map."""
    import yaml

    p = Path(path)
    try:
        doc = yaml.safe_load(_read_text(p, "USTX file"))
    except yaml.YAMLError as e:
        raise MelodyError(f"{p}: not a readable USTX (YAML) file ({str(e).splitlines()[0]})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("voice_parts"), list):
        raise MelodyError(f"{p}: not a USTX project (no voice_parts)")
    tpq = float(doc.get("resolution") or UTAU_TICKS)
    tempos = doc.get("tempos") or [{"position": 0, "bpm": doc.get("bpm", 120)}]
    try:
        tempo_map = sorted((float(t.get("position", 0)), _tempo(t.get("bpm"), str(p))) for t in tempos)
    except AttributeError:
        raise MelodyError(f"{p}: bad tempos list") from None
    if not tempo_map or tempo_map[0][0] > 0:
        tempo_map.insert(0, (0.0, tempo_map[0][1] if tempo_map else 120.0))
    parts = [vp for vp in doc["voice_parts"] if isinstance(vp, dict) and vp.get("notes")]
    if not parts:
        raise MelodyError(f"{p}: no voice part has notes")
    if part is not None:
        if not 0 <= part < len(doc["voice_parts"]):
            raise MelodyError(f"{p}: no voice part {part} (the file has {len(doc['voice_parts'])})")
        chosen = doc["voice_parts"][part]
    else:
        chosen = max(parts, key=lambda vp: len(vp["notes"]))
    base = float(chosen.get("position", 0) or 0)
    notes = []
    for k, n in enumerate(sorted(chosen.get("notes") or [], key=lambda n: float(n.get("position", 0)))):
        where = f"{p}: note {k}"
        try:
            a, d, tone = float(n["position"]) + base, float(n["duration"]), float(n["tone"])
        except (KeyError, TypeError, ValueError):
            raise MelodyError(f"{where}: needs numeric position, duration and tone") from None
        if d <= 0:
            raise MelodyError(f"{where}: duration must be positive")
        lyric = str(n.get("lyric", "") or "")
        if lyric.strip() in ("R", "r"):
            continue
        notes.append(_lyric_note(_seconds(a, tempo_map, tpq), _seconds(a + d, tempo_map, tpq), tone, lyric))
    return _no_overlaps(notes, str(p))


def _no_overlaps(notes: list[Note], where: str) -> list[Note]:
    """Cut each note at the next one's onset (a monophonic line)."""
    out = []
    for k, x in enumerate(notes):
        if k + 1 < len(notes) and notes[k + 1].onset < x.offset:
            if notes[k + 1].onset <= x.onset:
                log.warning("%s: two notes start at %.3f s; keeping the later one", where, x.onset)
                continue
            x = replace(x, offset=notes[k + 1].onset)
        out.append(x)
    return out


# ---------------------------------------------------------------- MusicXML (music21)

def read_musicxml(path: str | os.PathLike, part: int | None = None) -> list[Note]:
    """MusicXML (.musicxml, .xml, compressed .mxl) through music21: the part with most sung
    syllables (or ``part``), tied notes joined, chords reduced to their top note, rests as
    gaps, metronome marks honoured (120 BPM before the first). Each note's first-verse
    ``<lyric>`` gives its text and ``<syllabic>``; a note without lyric after one with is a
    melisma (``<extend/>``)."""
    try:
        import music21
    except ImportError:
        raise MelodyError("reading MusicXML needs music21: pip install 'alignsts[lyrics]'") from None
    p = Path(path)
    try:
        score = music21.converter.parse(str(p), format="musicxml")
    except Exception as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise MelodyError(f"{p}: not a readable MusicXML file ({reason})") from None
    parts = list(getattr(score, "parts", [])) or [score]
    if part is not None:
        if not 0 <= part < len(parts):
            raise MelodyError(f"{p}: no part {part} (the score has {len(parts)})")
        chosen = parts[part]
    else:
        def sung(pt):
            flat = pt.flatten().notes
            return (sum(1 for n in flat if n.lyrics), len(flat))
        chosen = max(parts, key=sung)
    tempo_map = _quarter_tempo_map(score)
    flat = chosen.stripTies().flatten()
    notes: list[Note] = []
    any_lyric = False
    for el in flat.notes:
        ql = float(el.duration.quarterLength)
        if ql <= 0:          # grace notes take no time
            continue
        start = float(flat.elementOffset(el))
        if el.isChord:
            pitch = max(float(x.ps) for x in el.pitches)
        else:
            pitch = float(el.pitch.ps)
        lyric, syllabic = _m21_lyric(el)
        any_lyric = any_lyric or lyric is not None
        notes.append(Note(_seconds(start, tempo_map, 1.0), _seconds(start + ql, tempo_map, 1.0), pitch,
                          lyric=lyric, melisma=lyric is None and any_lyric, syllabic=syllabic))
    return _no_overlaps(notes, str(p))


def _m21_lyric(el) -> tuple[str | None, str | None]:
    """(text, syllabic) of the first verse's lyric of a music21 note, or (None, None)."""
    lyrics = [ly for ly in el.lyrics if ly.text and ly.text.strip()]
    if not lyrics:
        return None, None
    ly = min(lyrics, key=lambda x: x.number or 1)
    components = getattr(ly, "components", None)
    if components:          # an elision: several syllables on one note
        return "_".join(c.text for c in components if c.text), getattr(components[0], "syllabic", None)
    return ly.text.strip(), ly.syllabic


def _quarter_tempo_map(score) -> list[tuple[float, float]]:
    """[(offset in quarter notes, quarter notes per minute)] from the score's metronome marks."""
    out = []
    for start, _end, mark in score.metronomeMarkBoundaries():
        qpm = mark.getQuarterBPM() if mark is not None else None
        out.append((float(start), float(qpm) if qpm else 120.0))
    if not out or out[0][0] > 0:
        out.insert(0, (0.0, 120.0))
    return out
