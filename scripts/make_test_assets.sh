#!/usr/bin/env bash
# Regenerate the small speech files used by the tests: tests/assets/syllables/*.wav (below) and
# tests/assets/lyrics/*.wav with their word boundaries (see the second half of this script).
# syllables/: plain English sentences of known syllable counts, listed in tests/assets/syllables/sentences.tsv
# (file <TAB> syllables <TAB> text), spoken by espeak-ng (default voice and rate).
# Post-processing with sox: leading/trailing silence trimmed and re-padded to 0.03 s,
# peak-normalised to -3 dBFS, resampled to 24 kHz mono 16-bit PCM (no dither: reproducible).
#
# Requirements (Debian/Ubuntu): apt-get install -y espeak-ng sox
# Usage: bash scripts/make_test_assets.sh
set -euo pipefail

SR=24000
PAD=0.03     # seconds of silence kept at each end
PEAK_DB=-3   # peak normalisation target (dBFS)

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${SCRIPT_DIR}/.." && pwd)"
OUT_DIR="${REPO_ROOT}/tests/assets/syllables"
LIST="${OUT_DIR}/sentences.tsv"

for tool in espeak-ng sox soxi; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "error: '$tool' not found (apt-get install -y espeak-ng sox)" >&2
    exit 1
  fi
done
[[ -f "$LIST" ]] || { echo "error: sentence list not found: $LIST" >&2; exit 1; }

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

total=0
while IFS=$'\t' read -r file count text; do
  [[ -z "$file" || "$file" == \#* ]] && continue
  espeak-ng -w "$TMP/raw.wav" "$text"
  if [[ ! -s "$TMP/raw.wav" ]] || ! soxi "$TMP/raw.wav" >/dev/null 2>&1; then
    echo "error: espeak-ng produced no usable audio for: $text" >&2
    exit 1
  fi
  # trim silence at both ends (silence / reverse / silence / reverse), pad, normalise, resample
  sox -D "$TMP/raw.wav" -c 1 -b 16 -e signed-integer "$OUT_DIR/$file" \
    silence 1 0.01 0.1% reverse silence 1 0.01 0.1% reverse \
    pad "$PAD" "$PAD" \
    norm "$PEAK_DB" \
    rate -v "$SR"
  size=$(stat -c %s "$OUT_DIR/$file")
  total=$((total + size))
  printf '%-12s %2s syllables  %.2f s  %6s bytes  %s\n' "$file" "$count" "$(soxi -D "$OUT_DIR/$file")" "$size" "$text"
done < "$LIST"
echo "total: $total bytes"

# ---------------------------------------------------------------------------------------------
# tests/assets/lyrics/*.wav: lines of known words whose word boundaries are known exactly.
# Each word of tests/assets/lyrics/lines.tsv (file <TAB> espeak-ng voice <TAB> words, syllables
# joined by "-") is spoken on its own, its silence trimmed, and the words are concatenated with
# 0.1 s of silence before the first and after the last; tests/assets/lyrics/words.tsv gets
# file <TAB> word index <TAB> word <TAB> start s <TAB> end s. 16 kHz mono 16-bit (small files).
LYR_DIR="${REPO_ROOT}/tests/assets/lyrics"
LYR_SR=16000
WORDS="${LYR_DIR}/words.tsv"
printf '# file\tword\ttext\tstart_s\tend_s\n# Made by scripts/make_test_assets.sh from lines.tsv.\n' > "$WORDS"
while IFS=$'\t' read -r file voice line; do
  [[ -z "$file" || "$file" == \#* ]] && continue
  parts=()
  t=0.1
  k=0
  sox -n -r "$LYR_SR" -c 1 -b 16 "$TMP/pad.wav" trim 0 0.1
  for word in $line; do
    plain="${word//-/}"
    espeak-ng -v "$voice" -w "$TMP/raw.wav" "$plain"
    sox -D "$TMP/raw.wav" -c 1 -b 16 -e signed-integer "$TMP/w$k.wav" \
      silence 1 0.005 0.3% reverse silence 1 0.005 0.3% reverse rate -v "$LYR_SR"
    d=$(soxi -D "$TMP/w$k.wav")
    end=$(awk -v a="$t" -v b="$d" 'BEGIN { printf "%.4f", a + b }')
    printf '%s\t%d\t%s\t%s\t%s\n' "$file" "$k" "$word" "$t" "$end" >> "$WORDS"
    parts+=("$TMP/w$k.wav")
    t=$end
    k=$((k + 1))
  done
  sox -D "$TMP/pad.wav" "${parts[@]}" "$TMP/pad.wav" "$TMP/line.wav"
  sox -D "$TMP/line.wav" "$LYR_DIR/$file" norm "$PEAK_DB"
  printf '%-12s %2d words  %.2f s  %6s bytes  %s\n' "$file" "$k" "$(soxi -D "$LYR_DIR/$file")" \
    "$(stat -c %s "$LYR_DIR/$file")" "$line"
done < "${LYR_DIR}/lines.tsv"
