"""Scores with words: MusicXML (.musicxml/.xml/.mxl), UTAU .ust, OpenUtau .ustx, MIDI with lyrics.

Every reader returns notes in seconds (tempo changes honoured, rests as gaps, tied notes
joined) with ``lyric``/``melisma``/``syllabic`` set as the file says (see melody.notes.Note).
"""
from __future__ import annotations

import logging
import math
import os
import re
from dataclasses import replace
from pathlib import Path

from .. import textfiles
from ..errors import MelodyError
from .lyrics import infer_words
from .notes import MAX_NOTES, Note, check_file_tempo, check_pitch, read_midi

log = logging.getLogger("alignsts")

SCORE_SUFFIXES = (".musicxml", ".xml", ".mxl", ".ust", ".ustx", ".mid", ".midi", ".kar")
UTAU_TICKS = 480           # UTAU ticks per quarter note
_UTAU_RESTS = {"r", "R", "", "rest", "pau", "sil"}
_UTAU_CONTINUE = {"-", "+", "+~", "+*"}


def read_score(path: str | os.PathLike, track: int | None = None) -> list[Note]:
    """Notes (with lyrics when the file has them) of any score format, by suffix."""
    p = Path(path)
    suffix = p.suffix.lower()
    cap = {".mid": textfiles.MAX_MIDI_BYTES, ".midi": textfiles.MAX_MIDI_BYTES, ".kar": textfiles.MAX_MIDI_BYTES,
           ".musicxml": textfiles.MAX_MUSICXML_BYTES, ".xml": textfiles.MAX_MUSICXML_BYTES}
    textfiles.check_file(p, "score", MelodyError, cap.get(suffix, textfiles.MAX_SCORE_BYTES))
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
    _check_notes(notes, p)
    if suffix in (".ust", ".ustx"):      # one syllable per note, words not marked
        notes = infer_words(notes)
    return notes


def _check_notes(notes: list[Note], p: Path) -> None:
    """What every reader returns: at most MAX_NOTES notes, singable pitches, finite times within
    validate.MAX_SCORE_S, lyrics as text."""
    from ..validate import MAX_SCORE_S

    if len(notes) > MAX_NOTES:
        raise MelodyError(f"{p}: {len(notes)} notes; a song has at most {MAX_NOTES}")
    for k, x in enumerate(notes):
        where = f"{p}: note {k + 1}"
        check_pitch(x.pitch, where)
        if not (math.isfinite(x.onset) and math.isfinite(x.offset) and 0 <= x.onset < x.offset):
            raise MelodyError(f"{where}: bad timing ({x.onset:g}-{x.offset:g} s)")
        if x.offset > MAX_SCORE_S:
            raise MelodyError(f"{where}: ends at {x.offset / 60:.3g} minutes; at most {MAX_SCORE_S / 60:g} "
                              f"minutes can be sung")


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
    """A file's tempo (BPM): a number within validate.BPM_RANGE, the range of --bpm."""
    if isinstance(value, str):
        value = value.strip().replace(",", ".")
    return check_file_tempo(value, where)


def _number(value, where: str, field: str, positive: bool = False, default=None) -> float:
    """A numeric score field: a finite int/float (or numeric text), else one line naming it."""
    if value is None and default is not None:
        return float(default)
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise MelodyError(f"{where}: {field} {_show(value)} is not a number")
    try:
        x = float(value)
    except (TypeError, ValueError, OverflowError):
        raise MelodyError(f"{where}: {field} {_show(value)} is not a number") from None
    if not math.isfinite(x) or abs(x) > 1e12:
        raise MelodyError(f"{where}: {field} {_show(value)} is not a usable number")
    if positive and x <= 0:
        raise MelodyError(f"{where}: {field} must be positive, got {_show(value)}")
    return x


def _show(value) -> str:
    """A field's value for a message: short, one line."""
    text = repr(value) if not isinstance(value, (dict, list)) else f"(a {type(value).__name__})"
    return text if len(text) <= 40 else text[:37] + "..."


def _lyric_text(value, where: str) -> str:
    """A note's lyric field: text (or a number, as YAML reads '1'); anything else is an error."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise MelodyError(f"{where}: lyric {_show(value)} is not text")
    text = str(value)
    if len(text) > 1000:
        raise MelodyError(f"{where}: lyric of {len(text)} characters; a note's syllable is short")
    return text


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
    """A score's text (UTAU writes Shift-JIS; newer tools UTF-8), through the bounded reader."""
    return textfiles.read_text(p, what, MelodyError, max_bytes=textfiles.MAX_SCORE_BYTES,
                               encodings=("utf-8-sig", "cp932"))


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
    bpm = _tempo(setting.get("Tempo", "120"), f"{p} [#SETTING] Tempo")
    tempo_map = [(0.0, bpm)]
    notes: list[Note] = []
    tick = 0
    for name, kv in sections:
        if not re.fullmatch(r"\d+", name):
            continue
        where = f"{p} [#{name}]"
        if "Length" not in kv:
            raise MelodyError(f"{where}: missing Length")
        length = int(_number(kv["Length"], where, "Length", positive=True))
        if length <= 0:
            raise MelodyError(f"{where}: Length must be positive, got {kv['Length']!r}")
        if "Tempo" in kv:
            new = _tempo(kv["Tempo"], f"{where} Tempo")
            if new != tempo_map[-1][1]:
                tempo_map.append((float(tick), new))
        lyric = kv.get("Lyric", "")
        if lyric.strip() not in _UTAU_RESTS:
            if "NoteNum" not in kv:
                raise MelodyError(f"{where}: missing NoteNum")
            pitch = check_pitch(_number(kv["NoteNum"], where, "NoteNum"), f"{where} NoteNum")
            notes.append(_lyric_note(_seconds(tick, tempo_map, UTAU_TICKS),
                                     _seconds(tick + length, tempo_map, UTAU_TICKS), pitch, lyric))
        if len(notes) > MAX_NOTES:
            raise MelodyError(f"{p}: more than {MAX_NOTES} notes; a song has fewer")
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
    p = Path(path)
    doc = textfiles.load_yaml(_read_text(p, "USTX file"), str(p), MelodyError,
                               invalid="not a readable USTX (YAML) file")
    if not isinstance(doc, dict) or not isinstance(doc.get("voice_parts"), list):
        raise MelodyError(f"{p}: not a USTX project (no voice_parts)")
    tpq = _number(doc.get("resolution"), str(p), "resolution", positive=True, default=UTAU_TICKS)
    tempos = doc.get("tempos")
    if tempos is None or tempos == []:
        tempos = [{"position": 0, "bpm": doc.get("bpm", 120)}]
    if not isinstance(tempos, list) or not all(isinstance(t, dict) for t in tempos):
        raise MelodyError(f"{p}: tempos {_show(tempos)} is not a list of {{position, bpm}} entries")
    if len(tempos) > MAX_NOTES:
        raise MelodyError(f"{p}: {len(tempos)} tempo changes; a song has fewer")
    tempo_map = sorted((_number(t.get("position", 0), f"{p}: tempo {k}", "position", default=0),
                        _tempo(t.get("bpm"), f"{p}: tempo {k}")) for k, t in enumerate(tempos))
    if not tempo_map or tempo_map[0][0] > 0:
        tempo_map.insert(0, (0.0, tempo_map[0][1] if tempo_map else 120.0))
    voice_parts = doc["voice_parts"]
    for k, vp in enumerate(voice_parts):
        if not isinstance(vp, dict):
            raise MelodyError(f"{p}: voice part {k} {_show(vp)} is not a mapping")
        if vp.get("notes") is not None and not isinstance(vp.get("notes"), list):
            raise MelodyError(f"{p}: voice part {k}: notes {_show(vp.get('notes'))} is not a list")
    parts = [vp for vp in voice_parts if vp.get("notes")]
    if not parts:
        raise MelodyError(f"{p}: no voice part has notes")
    if part is not None:
        if not 0 <= part < len(voice_parts):
            raise MelodyError(f"{p}: no voice part {part} (the file has {len(voice_parts)})")
        chosen = voice_parts[part]
    else:
        chosen = max(parts, key=lambda vp: len(vp["notes"]))
    base = _number(chosen.get("position", 0), f"{p}: voice part", "position", default=0)
    raw = chosen.get("notes") or []
    if len(raw) > MAX_NOTES:
        raise MelodyError(f"{p}: {len(raw)} notes; a song has at most {MAX_NOTES}")
    for k, n in enumerate(raw):
        if not isinstance(n, dict):
            raise MelodyError(f"{p}: note {k} {_show(n)} is not a mapping (position, duration, tone, lyric)")
    fields = []
    for k, n in enumerate(raw):
        where = f"{p}: note {k}"
        for key in ("position", "duration", "tone"):
            if key not in n:
                raise MelodyError(f"{where}: needs numeric position, duration and tone (no {key})")
        fields.append((_number(n["position"], where, "position") + base,
                       _number(n["duration"], where, "duration", positive=True),
                       _number(n["tone"], where, "tone"), _lyric_text(n.get("lyric"), where)))
    notes = []
    for a, d, tone, lyric in sorted(fields, key=lambda f: f[0]):
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
    if p.suffix.lower() == ".mxl":
        textfiles.check_file(p, "MusicXML score", MelodyError, textfiles.MAX_MUSICXML_BYTES)
        textfiles.check_zip(p, "MusicXML score", MelodyError, textfiles.MAX_MUSICXML_BYTES)
    else:   # notes counted before music21 builds them (it needs ~20 kB per note)
        raw = textfiles.read_bytes(p, "MusicXML score", MelodyError, textfiles.MAX_MUSICXML_BYTES)
        count = raw.count(b"<note")
        if count > MAX_NOTES:
            raise MelodyError(f"{p}: {count} notes; a song has at most {MAX_NOTES}")
        _check_xml_tempos(raw, p)
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
    tempo_map = _quarter_tempo_map(score, str(p))
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


_XML_TEMPOS = (("per-minute", re.compile(rb"<per-minute[^>]*>\s*([^<]*?)\s*</per-minute>")),
               ('sound tempo', re.compile(rb"<sound\b[^>]*\btempo\s*=\s*[\"']([^\"']*)[\"']")))


def _check_xml_tempos(raw: bytes, p: Path) -> None:
    """The tempo fields as the file writes them (music21 rounds 1e-6 to 0): each numeric
    ``<per-minute>`` (a metronome mark; text such as 'c. 120' is left to music21) and each
    ``<sound tempo="...">`` within validate.BPM_RANGE."""
    for field, pattern in _XML_TEMPOS:
        for m in pattern.finditer(raw):
            text = m.group(1).decode("utf-8", "replace")
            try:
                float(text)
            except ValueError:
                if field == "per-minute":
                    continue
            check_file_tempo(text, f"{p}: <{field}>", repr(text))


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


def _quarter_tempo_map(score, where: str = "MusicXML") -> list[tuple[float, float]]:
    """[(offset in quarter notes, quarter notes per minute)] from the score's metronome marks,
    each within validate.BPM_RANGE (a metronome of 0 or 1e-6 is an error, not 120)."""
    out = []
    for start, _end, mark in score.metronomeMarkBoundaries():
        if mark is None:
            out.append((float(start), 120.0))
            continue
        number = getattr(mark, "number", None)
        if number is None and getattr(mark, "numberSounding", None) is None:
            out.append((float(start), 120.0))   # a text-only mark ('Allegro') without a number
            continue
        try:
            qpm = mark.getQuarterBPM()
        except Exception:   # music21 fails on some marks (a zero number): report the number itself
            qpm = number
        shown = f"{number!r}" if number is not None else repr(qpm)
        out.append((float(start), check_file_tempo(qpm, f"{where}: metronome at quarter {float(start):g}",
                                                   f"{shown} (metronome)")))
    if not out or out[0][0] > 0:
        out.insert(0, (0.0, 120.0))
    return out
