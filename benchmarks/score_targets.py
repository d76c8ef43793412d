"""Issue 11's targets for the score engine (imported by score_pairs.py; no side effects).

1. Real English pairs converted from a MIDI of the sung melody: sing.wav is transcribed with
   the project's transcriber (melody.sources.from_recording, notes only), the notes are
   written as a MIDI file (a benchmark step, never committed), and the speech is converted
   with ``api.convert(speech, midi=..., transpose=0)``, once with the pair's README lyrics
   (``lyrics=``) and once without words. Against the MIDI notes:
   - timeline lag: the lag of the output's Praat F0 against the notes that maximises the
     number of frames within 50 cents (chroma) of the note, searched over +-300 ms;
   - chroma accuracy at lag 0 on frames where both the output and a note are voiced;
   - voiced share: frames inside notes where the output is voiced;
   - sample peak in dBFS.
2. A two-line song with words: festival (kal_diphone) speaks "Mary had a little lamb, its
   fleece was white as snow" and reports each word's start and end; a 13-note score carries
   the words (one syllable per note). A note's syllable is on the right note when at least
   half of the note's ``speech`` span (api.analysis_dict) lies inside the word it sings.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

LAG_SEARCH_S = 0.3
CHROMA_TOL_CENTS = 50.0
TARGET_LAG_MS = 30.0
TARGET_RCA = 0.90
TARGET_VOICED = 0.85
TARGET_PEAK = (-12.0, -0.5)
TARGET_WORDS = 12          # of 13 notes

MARY_TEXT = "Mary had a little lamb, its fleece was white as snow."
# (note, beats, syllable): the tune of "Mary had a little lamb" (traditional), 13 notes, two lines
MARY_SCORE = [("E3", 1, "Ma"), ("D3", 1, "ry"), ("C3", 1, "had"), ("D3", 1, "a"), ("E3", 1, "lit"),
              ("E3", 1, "tle"), ("E3", 2, "lamb"), ("rest", 1, None),
              ("D3", 1, "its"), ("D3", 1, "fleece"), ("E3", 1, "was"), ("D3", 1, "white"), ("C3", 1, "as"),
              ("C3", 3, "snow")]
MARY_WORD_OF_NOTE = [0, 0, 1, 2, 3, 3, 4, 5, 6, 7, 8, 9, 10]
MARY_BPM = 110


def readme_lyrics(pairs_dir: Path) -> dict[str, str]:
    """{pair: lyrics} from the pairs folder's README ('en-nhss-2 "..."; ...')."""
    text = (pairs_dir / "README.md").read_text(encoding="utf-8")
    block = text[text.index("Lyrics:"):]
    block = block[:block.index("\n\n")].replace("\n", " ")
    return {m.group(1): m.group(2) for m in re.finditer(r"([a-z]{2}-[a-z]+-\d+)\s+\"([^\"]+)\"", block)}


def write_midi(notes, path: Path, bpm: float = 120.0) -> None:
    """Notes (seconds, MIDI pitch rounded) -> a one-track MIDI file at ``bpm``."""
    import mido

    tpb = 960
    mid = mido.MidiFile(ticks_per_beat=tpb)
    trk = mido.MidiTrack()
    mid.tracks.append(trk)
    trk.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    per_s = tpb * bpm / 60.0
    now = 0
    for x in notes:
        a, b = int(round(x.onset * per_s)), int(round(x.offset * per_s))
        if b <= max(a, now):
            continue
        a = max(a, now)
        pitch = int(round(x.pitch))
        trk.append(mido.Message("note_on", note=pitch, velocity=100, time=a - now))
        trk.append(mido.Message("note_off", note=pitch, velocity=0, time=b - a))
        now = b
    mid.save(str(path))


def timeline_scores(out: np.ndarray, notes, sr: int) -> dict:
    """Lag (ms), chroma accuracy at lag 0, voiced share of note frames, peak (dBFS) of the
    output [N] against the notes it was made from."""
    from alignsts.audio import frontend as fe
    from alignsts.melody.notes import hz_to_midi, notes_to_f0

    f0 = fe.f0_praat(out, official_shift=False).astype(np.float64)
    ref = notes_to_f0(notes, len(f0))
    dt = fe.HOP / fe.SAMPLE_RATE
    out_voiced, ref_voiced = f0 > 0, ref > 0
    cents = np.zeros_like(f0)
    both = out_voiced & ref_voiced

    def agree(lag: int) -> np.ndarray:
        """Frames t where output[t] is within the tolerance of note[t - lag] (chroma)."""
        shifted = np.zeros_like(ref)
        if lag >= 0:
            shifted[lag:] = ref[:len(ref) - lag]
        else:
            shifted[:lag] = ref[-lag:]
        ok = out_voiced & (shifted > 0)
        d = np.zeros_like(f0)
        d[ok] = 1200.0 * (hz_to_midi(f0[ok]) - hz_to_midi(shifted[ok])) / 12.0
        d = np.abs(d - 1200.0 * np.round(d / 1200.0))
        return ok & (d < CHROMA_TOL_CENTS)

    lags = np.arange(-int(LAG_SEARCH_S / dt), int(LAG_SEARCH_S / dt) + 1)
    counts = np.array([agree(int(k)).sum() for k in lags])
    best = int(lags[np.argmax(counts)])
    cents = agree(0)
    peak = float(np.max(np.abs(out)))
    return {"lag_ms": best * dt * 1000.0,
            "rca0": float(cents[both].mean()) if both.any() else float("nan"),
            "voiced": float(out_voiced[ref_voiced].mean()) if ref_voiced.any() else float("nan"),
            "peak_dbfs": 20.0 * np.log10(peak) if peak > 0 else -np.inf}


def midi_pairs(pairs: list[Path], lyrics: dict[str, str], english_only: bool = True) -> list[dict]:
    """Part 1 for every (English) pair: with the README lyrics and without words."""
    from alignsts import api
    from alignsts.audio import frontend as fe
    from alignsts.audio import io
    from alignsts.melody import notes as nt
    from alignsts.melody import sources

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for pair_dir in pairs:
            pair = pair_dir.name
            if english_only and not pair.startswith("en-"):
                continue
            sing = io.load(pair_dir / "sing.wav", fe.SAMPLE_RATE)
            melody = sources.from_recording(sing, where=f"{pair}/sing.wav", contour=False)
            midi = Path(tmp) / f"{pair}.mid"
            write_midi(melody.notes, midi)
            notes = nt.read_midi(midi)
            for words in ("lyrics", "none"):
                kw = {"lyrics": lyrics[pair]} if words == "lyrics" and pair in lyrics else {}
                if words == "lyrics" and not kw:
                    continue
                rec = {"pair": pair, "words": words, "notes": len(notes)}
                try:
                    result = api.convert(pair_dir / "speech.wav", midi=midi, transpose=0, **kw)
                except Exception as e:   # a benchmark reports, it does not stop
                    rec["error"] = f"{type(e).__name__}: {e}"
                    rows.append(rec)
                    continue
                an = result.analysis
                rec.update(timeline_scores(result.wav, notes, result.sr), syllables=len(an.syllables),
                           aligned=bool(an.lyrics_aligned), mapped=bool(an.lyrics_mapped), groups=an.message or "1:1")
                rows.append(rec)
    return rows


def festival_words(text: str, wav_path: Path) -> list[tuple[str, float, float]] | None:
    """Speak ``text`` with festival into ``wav_path``; its words with start and end (s), or
    None when festival is not installed."""
    if shutil.which("festival") is None:
        return None
    script = wav_path.with_suffix(".scm")
    script.write_text(
        "(voice_kal_diphone)\n"
        f"(set! utt (SynthText \"{text}\"))\n"
        f"(utt.save.wave utt \"{wav_path}\" 'riff)\n"
        "(mapcar (lambda (w) (format t \"%s %f %f\\n\" (item.name w) (item.feat w \"word_start\") "
        "(item.feat w \"word_end\"))) (utt.relation.items utt 'Word))\n", encoding="utf-8")
    proc = subprocess.run(["festival", "-b", str(script)], capture_output=True, text=True, timeout=120)
    if proc.returncode != 0 or not wav_path.is_file():
        return None
    words = []
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3:
            words.append((parts[0], float(parts[1]), float(parts[2])))
    return words


def mary_score_notes():
    """The 13 notes of MARY_SCORE (seconds at MARY_BPM) with their syllables."""
    from alignsts.melody.notes import Note, note_number

    beat = 60.0 / MARY_BPM
    notes, t = [], 0.0
    words = {0: "begin", 1: "end", 4: "begin", 5: "end"}
    k = 0
    for name, beats, syl in MARY_SCORE:
        if syl is not None:
            notes.append(Note(t, t + beats * beat, note_number(name), lyric=syl,
                              syllabic=words.get(k, "single")))
            k += 1
        t += beats * beat
    return notes


def words_on_notes() -> dict | None:
    """Part 2: how many of the 13 notes sing speech from their own word. None without festival."""
    from alignsts import api
    from alignsts.melody import sources

    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "mary.wav"
        words = festival_words(MARY_TEXT, wav)
        if not words:
            return None
        melody = sources.from_notes(mary_score_notes())
        result = api.convert(wav, melody=melody, transpose=0)
    d = api.analysis_dict(result)
    sung = [r for r in d["notes"] if r["pitch"] is not None]
    right, detail = 0, []
    for k, r in enumerate(sung):
        w = words[MARY_WORD_OF_NOTE[k]]
        ok = False
        if r["speech"]:
            a, b = r["speech"]
            inside = max(0.0, min(b, w[2]) - max(a, w[1]))
            ok = inside >= 0.5 * (b - a)
        right += ok
        detail.append(f"{r['lyric']}{'' if ok else '(x)'}")
    an = result.analysis
    # order within words: the speech spans of a word's notes start in order
    order_ok = all(sung[k]["speech"] is None or sung[k + 1]["speech"] is None
                   or sung[k]["speech"][0] <= sung[k + 1]["speech"][0]
                   for k in range(len(sung) - 1) if MARY_WORD_OF_NOTE[k] == MARY_WORD_OF_NOTE[k + 1])
    return {"notes": len(sung), "right": right, "order_kept": order_ok, "aligned": bool(an.lyrics_aligned),
            "mapped": bool(an.lyrics_mapped),
            "syllables": len(an.syllables), "detail": " ".join(detail)}
