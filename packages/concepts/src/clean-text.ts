/**
 * The text cleaning of OpenAI CLIP's tokenizer (`clip/simple_tokenizer.py`): `basic_clean` =
 * `ftfy.fix_text`, then `html.unescape` twice, then strip; `whitespace_clean` = every whitespace run to
 * one space, strip. The byte-pair encoder then lower-cases. Hugging Face's `tokenizer.json` for CLIP
 * only normalises NFC + whitespace + lower case, so text with HTML entities, curly quotes, ligatures,
 * full-width letters or mojibake gets other ids than `clip.tokenize` unless it is cleaned first.
 *
 * ftfy 6 `fix_text` with its default settings is reproduced step by step, in its order, repeated until
 * the text no longer changes (as ftfy does):
 * - `unescape_html` ("auto": only when the text has no `<`): entities that end in `;` (HTML5 names,
 *   numeric references), via the `entities` package in strict mode;
 * - `fix_encoding`: UTF-8 read as Windows-1252 / Latin-1 ("rÃ©sumÃ©" → "résumé", "â€™" → "’"),
 *   sequence by sequence, repeated for double encodings;
 * - `fix_c1_controls` (U+0080–U+009F as their Windows-1252 characters), `fix_latin_ligatures`
 *   (ﬁ → fi, ĳ → ij, ǆ → dž...), `fix_character_width` (full-/half-width forms and U+3000 → NFKC),
 *   `uncurl_quotes` (U+02BC, U+2018–U+201B → ', U+201C–U+201F → "), `fix_line_breaks`,
 *   `fix_surrogates` (lone surrogates → U+FFFD), `remove_terminal_escapes` (ANSI `ESC[...m`),
 *   `remove_control_chars` (U+0000–0008, 000B, 000E–001F, 007F, 206A–206F, FEFF, FFF9–FFFC), NFC.
 *
 * Not reproduced (documented differences from ftfy): the "badness" heuristic that decides whether a
 * Windows-1252 look-alike really is mojibake (here: every sequence that decodes as valid UTF-8 is
 * fixed, which ftfy also does for all common cases); encodings other than Windows-1252/Latin-1
 * (MacRoman, cp437...); `restore_byte_a0` (UTF-8 whose byte A0 became a space); `replace_lossy_sequences`
 * and `decode_inconsistent_utf8`; all-caps entity names (`&EACUTE;`).
 */
import { decodeHTML, decodeHTMLStrict } from 'entities';

/** Windows-1252 bytes 0x80–0x9F as characters; undefined bytes map to themselves ("sloppy" codec). */
const CP1252_HIGH = [
  0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f, 0x90, 0x2018, 0x2019,
  0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178,
];
const CP1252_BYTE = new Map<number, number>(CP1252_HIGH.map((cp, i) => [cp, 0x80 + i]));

/** The Windows-1252 (sloppy) byte of a character, or -1. */
function sloppyByte(cp: number): number {
  if (cp < 0x80 || (cp >= 0xa0 && cp <= 0xff)) return cp;
  return CP1252_BYTE.get(cp) ?? (cp <= 0x9f ? cp : -1);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Re-decodes every run of characters that are the Windows-1252 spelling of a valid UTF-8 sequence. */
function fixEncodingOnce(text: string): string {
  const chars = Array.from(text);
  const out: string[] = [];
  for (let i = 0; i < chars.length; ) {
    const lead = sloppyByte((chars[i] as string).codePointAt(0) as number);
    const need = lead >= 0xc2 && lead <= 0xdf ? 1 : lead >= 0xe0 && lead <= 0xef ? 2 : lead >= 0xf0 && lead <= 0xf4 ? 3 : 0;
    if (need > 0 && i + need < chars.length) {
      const bytes = [lead];
      for (let j = 1; j <= need; j++) {
        const b = sloppyByte((chars[i + j] as string).codePointAt(0) as number);
        if (b < 0x80 || b > 0xbf) break;
        bytes.push(b);
      }
      if (bytes.length === need + 1) {
        try {
          out.push(utf8.decode(Uint8Array.from(bytes)));
          i += need + 1;
          continue;
        } catch {
          // not a valid sequence (overlong, surrogate): keep the characters
        }
      }
    }
    out.push(chars[i] as string);
    i += 1;
  }
  return out.join('');
}

const LIGATURES: Readonly<Record<string, string>> = {
  Ĳ: 'IJ',
  ĳ: 'ij',
  ŉ: 'ʼn',
  Ǳ: 'DZ',
  ǲ: 'Dz',
  ǳ: 'dz',
  Ǆ: 'DŽ',
  ǅ: 'Dž',
  ǆ: 'dž',
  Ǉ: 'LJ',
  ǈ: 'Lj',
  ǉ: 'lj',
  Ǌ: 'NJ',
  ǋ: 'Nj',
  ǌ: 'nj',
  ﬀ: 'ff',
  ﬁ: 'fi',
  ﬂ: 'fl',
  ﬃ: 'ffi',
  ﬄ: 'ffl',
  ﬅ: 'ſt',
  ﬆ: 'st',
};
const LIGATURE_RE = new RegExp(`[${Object.keys(LIGATURES).join('')}]`, 'g');
const WIDTH_RE = /[\u3000\uff01-\uffef]/g;
const C1_RE = /[\x80-\x9f]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this cleaning matches
const ANSI_RE = /\x1b\[([\d;]*)([a-zA-Z])/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this cleaning matches
const CONTROL_RE = /[\x00-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc]/g;
const LONE_SURROGATE_RE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
/** Python's `\s` for str (str.isspace): unlike JavaScript's, it holds U+001C–U+001F and U+0085, not U+FEFF. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this cleaning matches
const PY_WHITESPACE_RE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/g;

function fixTextOnce(input: string): string {
  let text = input;
  if (!text.includes('<')) text = decodeHTMLStrict(text);
  for (let k = 0; k < 4; k++) {
    const fixed = fixEncodingOnce(text);
    if (fixed === text) break;
    text = fixed;
  }
  text = text.replace(C1_RE, (c) => String.fromCodePoint(CP1252_HIGH[(c.codePointAt(0) as number) - 0x80] as number));
  text = text.replace(LIGATURE_RE, (c) => LIGATURES[c] as string);
  text = text.replace(WIDTH_RE, (c) => (c === '\u3000' ? ' ' : c.normalize('NFKC')));
  text = text.replace(/[\u02bc\u2018-\u201b]/g, "'").replace(/[\u201c-\u201f]/g, '"');
  text = text.replace(/\r\n|[\r\u2028\u2029\x85]/g, '\n');
  text = text.replace(LONE_SURROGATE_RE, '\ufffd');
  text = text.replace(ANSI_RE, '');
  text = text.replace(CONTROL_RE, '');
  return text.normalize('NFC');
}

/** `ftfy.fix_text(text)` with ftfy 6's default settings, as far as documented above. */
export function fixText(text: string): string {
  let current = text;
  for (let k = 0; k < 16; k++) {
    const fixed = fixTextOnce(current);
    if (fixed === current) return fixed;
    current = fixed;
  }
  return current;
}

/**
 * OpenAI CLIP's cleaning of a text before byte-pair encoding: `ftfy.fix_text`, `html.unescape` twice
 * (the `entities` package, which decodes like Python's `html.unescape`: legacy names without `;`
 * included), whitespace runs to one space, stripped. Case is kept (the tokenizer lower-cases).
 *
 * @example
 * cleanClipText('rock &amp; roll dancing'); // 'rock & roll dancing'
 * cleanClipText('don’t stop');              // "don't stop"
 */
export function cleanClipText(text: string): string {
  const basic = decodeHTML(decodeHTML(fixText(text))).replace(PY_WHITESPACE_RE, ' ');
  return basic.replace(/^ +| +$/g, '');
}
