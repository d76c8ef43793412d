#!/usr/bin/env bash
# Regenerate the bundled demo example used by `alignsts demo`:
#   src/alignsts/assets/demo/speech.wav  - lyrics spoken by festival (kal_diphone voice)
#   src/alignsts/assets/demo/sing.wav    - same lyrics sung by festival singing mode,
#                                          score in scripts/demo_score.xml
# Both are post-processed with sox: leading/trailing silence trimmed and re-padded
# to 0.2 s, peak-normalised to -3 dBFS, resampled to 24 kHz mono 16-bit PCM.
#
# Requirements (Debian/Ubuntu): apt-get install -y festival festvox-kallpc16k sox
# Usage: bash scripts/make_demo_assets.sh
set -euo pipefail

LYRICS="Twinkle twinkle little star, how I wonder what you are."
VOICE_EVAL="(voice_kal_diphone)"
SR=24000
PAD=0.2      # seconds of silence kept at each end
PEAK_DB=-3   # peak normalisation target (dBFS)

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${SCRIPT_DIR}/.." && pwd)"
SCORE="${SCRIPT_DIR}/demo_score.xml"
OUT_DIR="${REPO_ROOT}/src/alignsts/assets/demo"

for tool in text2wave sox; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "error: '$tool' not found (apt-get install -y festival festvox-kallpc16k sox)" >&2
    exit 1
  fi
done
[[ -f "$SCORE" ]] || { echo "error: score not found: $SCORE" >&2; exit 1; }

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$OUT_DIR"

# 1) spoken version
printf '%s\n' "$LYRICS" > "$TMP/lyrics.txt"
text2wave -eval "$VOICE_EVAL" "$TMP/lyrics.txt" -o "$TMP/speech_raw.wav"

# 2) sung version (festival singing mode, XML score with one note per syllable)
text2wave -eval "$VOICE_EVAL" -mode singing "$SCORE" -o "$TMP/sing_raw.wav"

# text2wave exits 0 even when festival fails (e.g. malformed XML), so check the output.
for f in "$TMP/speech_raw.wav" "$TMP/sing_raw.wav"; do
  if [[ ! -s "$f" ]] || ! soxi "$f" >/dev/null 2>&1; then
    echo "error: festival produced no usable audio for $(basename "$f")" >&2
    exit 1
  fi
done

# 3) post-process: trim silence at both ends (silence / reverse / silence / reverse),
#    pad back to $PAD s, normalise peak, resample (high quality) to 24 kHz mono 16-bit.
#    -D disables dither so the output is byte-for-byte reproducible.
postprocess() {
  local in="$1" out="$2"
  sox -D "$in" -c 1 -b 16 -e signed-integer "$out" \
    silence 1 0.01 0.1% reverse silence 1 0.01 0.1% reverse \
    pad "$PAD" "$PAD" \
    norm "$PEAK_DB" \
    rate -v "$SR"
}
postprocess "$TMP/speech_raw.wav" "$OUT_DIR/speech.wav"
postprocess "$TMP/sing_raw.wav"   "$OUT_DIR/sing.wav"

for f in "$OUT_DIR/speech.wav" "$OUT_DIR/sing.wav"; do
  printf '%s: %s Hz, %s ch, %s bit, %.2f s, %s bytes\n' \
    "${f#"$REPO_ROOT"/}" "$(soxi -r "$f")" "$(soxi -c "$f")" "$(soxi -b "$f")" \
    "$(soxi -D "$f")" "$(stat -c %s "$f")"
done
