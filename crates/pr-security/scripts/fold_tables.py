#!/usr/bin/env python3
"""Writes src/files/fold.rs: the characters NFKC/NFKD or Windows best fit turn
into ASCII that matters in a path (see that file's module docs).

Run from crates/pr-security: python3 scripts/fold_tables.py, then cargo fmt.
The best-fit entries are those of Microsoft's bestfit1252.txt (WCTABLE) that
map to a path-relevant ASCII character or to a letter or digit NFKD does not
already give, and the yen and won signs of code pages 932 and 949.
"""
import unicodedata as u

DANGER = set('./\\:<>"|?*')
BESTFIT_1252_SEPARATORS = {
    0x2044: '/', 0x2215: '/', 0xFF0F: '/', 0x2216: '\\', 0xFF3C: '\\', 0x0589: ':',
    0x2236: ':', 0xFF1A: ':', 0xFF0E: '.', 0x02BA: '"', 0x030E: '"', 0xFF02: '"',
    0x01C0: '|', 0x2223: '|', 0x2758: '|', 0xFF5C: '|', 0x2217: '*', 0xFF0A: '*',
    0x2329: '<', 0x3008: '<', 0xFF1C: '<', 0x232A: '>', 0x3009: '>', 0xFF1E: '>',
    0xFF1F: '?',
}
BESTFIT_DBCS_SEPARATORS = {0x00A5: '\\', 0x20A9: '\\'}
BESTFIT_1252_LETTERS = {
    0x0111: 'd', 0x0126: 'H', 0x0127: 'h', 0x0131: 'i', 0x0141: 'L', 0x0142: 'l',
    0x0166: 'T', 0x0167: 't', 0x0180: 'b', 0x0197: 'I', 0x019A: 'l', 0x019F: 'O',
    0x01AB: 't', 0x01AE: 'T', 0x01B6: 'z', 0x01E4: 'G', 0x01E5: 'g', 0x0261: 'g',
    0x0393: 'G', 0x0398: 'T', 0x03A3: 'S', 0x03A6: 'F', 0x03A9: 'O', 0x03B1: 'a',
    0x03B4: 'd', 0x03B5: 'e', 0x03C0: 'p', 0x03C3: 's', 0x03C4: 't', 0x03C6: 'f',
    0x04BB: 'h', 0x20A7: 'P', 0x2107: 'E', 0x2118: 'P', 0x212E: 'e', 0x221A: 'v',
    0x221E: '8', 0x2229: 'n',
}


def code_points():
    for cp in range(0x80, 0x110000):
        if not 0xD800 <= cp < 0xE000:
            yield cp


def main():
    sep = {}
    for cp in code_points():
        c = chr(cp)
        n = u.normalize('NFKC', c)
        if n != c and any(ch in DANGER for ch in n):
            sep[cp] = ('nfkc', n)
    for k, v in BESTFIT_1252_SEPARATORS.items():
        sep.setdefault(k, ('bestfit1252', v))
    for k, v in BESTFIT_DBCS_SEPARATORS.items():
        sep.setdefault(k, ('bestfit932/949', v))
    fold = {}
    for cp in code_points():
        n = u.normalize('NFKD', chr(cp))
        base = n[0]
        if base.isascii() and (base.isalnum() or base == '$') and all(
            u.category(x) == 'Mn' for x in n[1:]
        ):
            fold[cp] = base.upper()
    for k, v in BESTFIT_1252_LETTERS.items():
        fold.setdefault(k, v.upper())
    runs = []
    for cp, ch in sorted(fold.items()):
        if runs:
            s, e, f, d = runs[-1]
            if e == cp - 1:
                if d in (0, None) and ch == f:
                    runs[-1] = [s, cp, f, 0]
                    continue
                if d in (1, None) and ch == chr(ord(f) + (cp - s)):
                    runs[-1] = [s, cp, f, 1]
                    continue
        runs.append([cp, cp, ch, None])
    with open('src/files/fold.rs') as f:
        head = f.read().split('pub(crate) const SEPARATOR_LIKE')[0]
    out = [head + 'pub(crate) const SEPARATOR_LIKE: &[(char, &str)] = &[']
    for cp in sorted(sep):
        src, val = sep[cp]
        val = val.replace('\\', '\\\\').replace('"', '\\"')
        out.append(f"    ('\\u{{{cp:x}}}', \"{val}\"), // {src}: {u.name(chr(cp), '?').lower()}")
    out.append('];')
    out.append(LETTER_DOC)
    for s, e, f, d in runs:
        out.append(f"    (0x{s:x}, 0x{e:x}, b'{f}', {'true' if d == 1 else 'false'}),")
    out.append('];')
    with open('src/files/fold.rs', 'w') as f:
        f.write('\n'.join(out) + '\n')


LETTER_DOC = '''
/// Runs of characters that NFKD (a letter or digit with combining marks
/// after it) or best fit turns into one ASCII letter, digit or `$`, folded
/// to upper case: `(first, last, ascii, counts_up)`. With `counts_up` the
/// run maps to consecutive ASCII (`Ａ..Ｚ` → `A..Z`), else every character
/// in it maps to `ascii` (`Ā ā Ă ă Ą ą` → `A`). Sorted, not overlapping.
pub(crate) const LETTER_LIKE: &[(u32, u32, u8, bool)] = &['''

if __name__ == '__main__':
    main()
