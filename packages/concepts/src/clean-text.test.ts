import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cleanClipText } from './clean-text.js';

// Outputs of OpenAI's cleaning (ftfy 6.3.1 fix_text, html.unescape twice, whitespace) from
// scripts/clip_clean_reference.py.
const reference = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'clip-clean.json'), 'utf8')) as {
  cases: { text: string; clean: string }[];
};

describe("cleanClipText equals OpenAI CLIP's basic_clean + whitespace_clean (ftfy 6.3.1 reference)", () => {
  for (const { text, clean } of reference.cases) {
    it(JSON.stringify(text), () => {
      expect(cleanClipText(text)).toBe(clean);
    });
  }
});
