"""Write tests/assets/scores/: one small song with words in every score format alignsts reads.

The song is "Twinkle Twinkle Little Star" (traditional, public domain), two lines, the words of
the bundled demo speech, with what the readers must honour: two-syllable words (syllabic
begin/end), a tied note ("star", one note of two beats), a rest between the lines, a tempo
change (100 -> 90 BPM at the second line) and a three-note melisma on the last word ("are").

    twinkle.musicxml, twinkle.mxl   (music21)
    twinkle.ust                     (UTAU: Length ticks at 480 per quarter, R rest, '-' melisma)
    twinkle.ustx                    (OpenUtau YAML: '+~' and '+' extend the syllable)
    twinkle_lyrics.mid              (MIDI lyric meta events, 'Twin-' 'kle' karaoke style)
    twinkle.mid                     (the same notes without words, for --lyrics)

Run: python scripts/make_score_assets.py   (needs music21, mido, pyyaml)
"""
from __future__ import annotations

from pathlib import Path

import mido
import yaml

OUT = Path(__file__).resolve().parents[1] / "tests" / "assets" / "scores"

# (note, beats, lyric, syllabic); lyric None = rest, "" = melisma (continues the syllable);
# "star" is written as two tied quarter notes
SONG = [
    ("C3", 1, "Twin", "begin"), ("C3", 1, "kle", "end"), ("G3", 1, "twin", "begin"), ("G3", 1, "kle", "end"),
    ("A3", 1, "lit", "begin"), ("A3", 1, "tle", "end"), ("G3", 2, "star", "single"),
    ("rest", 1, None, None),                                        # second line at 90 BPM
    ("F3", 1, "how", "single"), ("F3", 1, "I", "single"), ("E3", 1, "won", "begin"),
    ("E3", 1, "der", "end"), ("D3", 1, "what", "single"), ("D3", 1, "you", "single"),
    ("C3", 1, "are", "single"), ("D3", 1, "", None), ("C3", 2, "", None),
    ("rest", 2, None, None),
]
TEMPI = [(0, 100), (8, 90)]     # (beat, BPM)
PITCH = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
TPQ = 480


def midi_number(name: str) -> int:
    return 12 * (int(name[1:]) + 1) + PITCH[name[0]]


def write_musicxml() -> None:
    from music21 import meter, note, stream, tempo, tie

    part = stream.Part()
    part.append(meter.TimeSignature("4/4"))
    beat = 0
    for name, beats, lyric, syllabic in SONG:
        for b, bpm in TEMPI:
            if b == beat:
                part.append(tempo.MetronomeMark(number=bpm))
        if lyric is None:
            part.append(note.Rest(quarterLength=beats))
        elif name == "G3" and beats == 2:     # the tied "star"
            first, second = note.Note(name, quarterLength=1), note.Note(name, quarterLength=1)
            first.tie, second.tie = tie.Tie("start"), tie.Tie("stop")
            first.addLyric(lyric)
            first.lyrics[0].syllabic = syllabic
            part.append([first, second])
        else:
            n = note.Note(name, quarterLength=beats)
            if lyric:
                n.addLyric(lyric)
                n.lyrics[0].syllabic = syllabic
            part.append(n)
        beat += beats
    score = stream.Score([part.makeMeasures()])
    score.write("mxl", fp=str(OUT / "twinkle.mxl"))    # (music21 removes a .musicxml of the same stem)
    score.write("musicxml", fp=str(OUT / "twinkle.musicxml"))


def write_ust() -> None:
    lines = ["[#VERSION]", "UST Version1.2", "[#SETTING]", "Tempo=100.00", "Tracks=1", "ProjectName=twinkle"]
    beat = 0
    for k, (name, beats, lyric, _) in enumerate(SONG):
        lines += [f"[#{k:04d}]", f"Length={beats * TPQ}", f"Lyric={'R' if lyric is None else lyric or '-'}",
                  f"NoteNum={60 if lyric is None else midi_number(name)}"]
        lines += [f"Tempo={bpm}" for b, bpm in TEMPI if b == beat and b > 0]
        beat += beats
    lines.append("[#TRACKEND]")
    (OUT / "twinkle.ust").write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_ustx() -> None:
    notes, beat, ext = [], 0, iter(["+~", "+"])
    for name, beats, lyric, _ in SONG:
        if lyric is not None:
            notes.append({"position": beat * TPQ, "duration": beats * TPQ, "tone": midi_number(name),
                          "lyric": lyric or next(ext)})
        beat += beats
    doc = {"name": "twinkle", "ustx_version": "0.6", "resolution": TPQ, "bpm": 100,
           "tempos": [{"position": b * TPQ, "bpm": bpm} for b, bpm in TEMPI],
           "time_signatures": [{"bar_position": 0, "beat_per_bar": 4, "beat_unit": 4}],
           "tracks": [{"singer": None, "phonemizer": "OpenUtau.Core.DefaultPhonemizer"}],
           "voice_parts": [{"name": "twinkle", "track_no": 0, "position": 0, "notes": notes}]}
    (OUT / "twinkle.ustx").write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")


def write_midi(with_lyrics: bool, path: Path) -> None:
    mid = mido.MidiFile(ticks_per_beat=TPQ)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("track_name", name="melody", time=0))
    beat, wait = 0, 0
    for name, beats, lyric, syllabic in SONG:
        for b, bpm in TEMPI:
            if b == beat:
                track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=wait))
                wait = 0
        if lyric is None:
            wait += beats * TPQ
        else:
            if with_lyrics and lyric:
                track.append(mido.MetaMessage("lyrics", text=lyric + ("-" if syllabic in ("begin", "middle") else ""),
                                              time=wait))
                wait = 0
            track.append(mido.Message("note_on", note=midi_number(name), velocity=90, time=wait))
            track.append(mido.Message("note_off", note=midi_number(name), velocity=0, time=beats * TPQ))
            wait = 0
        beat += beats
    mid.save(str(path))


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    write_musicxml()
    write_ust()
    write_ustx()
    write_midi(True, OUT / "twinkle_lyrics.mid")
    write_midi(False, OUT / "twinkle.mid")
    for p in sorted(OUT.iterdir()):
        print(p.relative_to(OUT.parents[2]), p.stat().st_size)


if __name__ == "__main__":
    main()
