// C0 and C1 controls, DEL, the Unicode line and paragraph separators, and the bidirectional
// marks, overrides and isolates: what can clear a screen, start an OSC 8 link, begin a line that
// looks like the command's own, or reorder what the operator reads.
const UNSAFE_FOR_A_TERMINAL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text from elsewhere (a publish's error, a member's answer) as a terminal may show it: each
 * such character written as a visible escape (`\x1b`, `\u202e`); everything else unchanged.
 * For human output only: JSON output escapes them by itself.
 */
export function terminalText(text: string): string {
  return text.replace(UNSAFE_FOR_A_TERMINAL, (character) => {
    const code = character.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
