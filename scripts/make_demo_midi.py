"""Write src/alignsts/assets/demo/twinkle.mid: Twinkle Twinkle Little Star (public domain), one
note per syllable of the bundled speech, C3-A3 to suit the bundled (male) voice, 100 bpm.

Run: python scripts/make_demo_midi.py   (needs mido)
"""
from pathlib import Path

import mido

NOTES = ["C3", "C3", "G3", "G3", "A3", "A3", "G3", "F3", "F3", "E3", "E3", "D3", "D3", "C3"]
BEATS = [1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1, 1, 1, 2]
PITCH = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def main() -> None:
    tpb = 480
    mid = mido.MidiFile(ticks_per_beat=tpb)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("track_name", name="melody", time=0))
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(100), time=0))
    for name, beats in zip(NOTES, BEATS):
        note = 12 * (int(name[1:]) + 1) + PITCH[name[0]]
        track.append(mido.Message("note_on", note=note, velocity=90, time=0))
        track.append(mido.Message("note_off", note=note, velocity=0, time=int(beats * tpb * 0.92)))
        track.append(mido.Message("note_on", note=note, velocity=0, time=int(beats * tpb * 0.08)))
    out = Path(__file__).resolve().parents[1] / "src" / "alignsts" / "assets" / "demo" / "twinkle.mid"
    mid.save(str(out))
    print(out)


if __name__ == "__main__":
    main()
