//! Generated tables: which characters another system turns into ASCII
//! that matters in a path. Two sources, each named in its table:
//!
//! - Unicode NFKC / NFKD (the data of Unicode 14.0, as Python's
//!   `unicodedata` ships it): compatibility forms such as `︰` (U+FE30, NFKC
//!   `..`), `：` (U+FF1A, `:`) and full-width or mathematical letters.
//! - Windows "best fit" (`WideCharToMultiByte` without
//!   `WC_NO_BEST_FIT_CHARS`), from Microsoft's published `bestfit1252.txt`
//!   (its `WCTABLE`: `∶` U+2236 → `:`, `∕` U+2215 → `/`, `Ĉ` → `C`, ...), and
//!   the double-byte code pages 932 and 949, where `¥` (U+00A5) and `₩`
//!   (U+20A9) become byte 0x5C, which their file APIs read as `\`.
//!
//! Written by `scripts/fold_tables.py` (rerun it when Unicode adds
//! compatibility forms); the tests in `stored_path.rs` check entries from
//! each source.

/// Characters that NFKC or a best-fit mapping turns into text holding `.`,
/// `/`, `\`, `:` or another character Windows forbids in names
/// (`< > " | ? *`), sorted by code point.
pub(crate) const SEPARATOR_LIKE: &[(char, &str)] = &[
    ('\u{a5}', "\\"),     // bestfit932/949: yen sign
    ('\u{1c0}', "|"),     // bestfit1252: latin letter dental click
    ('\u{2ba}', "\""),    // bestfit1252: modifier letter double prime
    ('\u{30e}', "\""),    // bestfit1252: combining double vertical line above
    ('\u{589}', ":"),     // bestfit1252: armenian full stop
    ('\u{2024}', "."),    // nfkc: one dot leader
    ('\u{2025}', ".."),   // nfkc: two dot leader
    ('\u{2026}', "..."),  // nfkc: horizontal ellipsis
    ('\u{2044}', "/"),    // bestfit1252: fraction slash
    ('\u{2047}', "??"),   // nfkc: double question mark
    ('\u{2048}', "?!"),   // nfkc: question exclamation mark
    ('\u{2049}', "!?"),   // nfkc: exclamation question mark
    ('\u{20a9}', "\\"),   // bestfit932/949: won sign
    ('\u{2100}', "a/c"),  // nfkc: account of
    ('\u{2101}', "a/s"),  // nfkc: addressed to the subject
    ('\u{2105}', "c/o"),  // nfkc: care of
    ('\u{2106}', "c/u"),  // nfkc: cada una
    ('\u{2215}', "/"),    // bestfit1252: division slash
    ('\u{2216}', "\\"),   // bestfit1252: set minus
    ('\u{2217}', "*"),    // bestfit1252: asterisk operator
    ('\u{2223}', "|"),    // bestfit1252: divides
    ('\u{2236}', ":"),    // bestfit1252: ratio
    ('\u{2329}', "<"),    // bestfit1252: left-pointing angle bracket
    ('\u{232a}', ">"),    // bestfit1252: right-pointing angle bracket
    ('\u{2488}', "1."),   // nfkc: digit one full stop
    ('\u{2489}', "2."),   // nfkc: digit two full stop
    ('\u{248a}', "3."),   // nfkc: digit three full stop
    ('\u{248b}', "4."),   // nfkc: digit four full stop
    ('\u{248c}', "5."),   // nfkc: digit five full stop
    ('\u{248d}', "6."),   // nfkc: digit six full stop
    ('\u{248e}', "7."),   // nfkc: digit seven full stop
    ('\u{248f}', "8."),   // nfkc: digit eight full stop
    ('\u{2490}', "9."),   // nfkc: digit nine full stop
    ('\u{2491}', "10."),  // nfkc: number ten full stop
    ('\u{2492}', "11."),  // nfkc: number eleven full stop
    ('\u{2493}', "12."),  // nfkc: number twelve full stop
    ('\u{2494}', "13."),  // nfkc: number thirteen full stop
    ('\u{2495}', "14."),  // nfkc: number fourteen full stop
    ('\u{2496}', "15."),  // nfkc: number fifteen full stop
    ('\u{2497}', "16."),  // nfkc: number sixteen full stop
    ('\u{2498}', "17."),  // nfkc: number seventeen full stop
    ('\u{2499}', "18."),  // nfkc: number eighteen full stop
    ('\u{249a}', "19."),  // nfkc: number nineteen full stop
    ('\u{249b}', "20."),  // nfkc: number twenty full stop
    ('\u{2758}', "|"),    // bestfit1252: light vertical bar
    ('\u{2a74}', "::="),  // nfkc: double colon equal
    ('\u{3008}', "<"),    // bestfit1252: left angle bracket
    ('\u{3009}', ">"),    // bestfit1252: right angle bracket
    ('\u{33c2}', "a.m."), // nfkc: square am
    ('\u{33c7}', "Co."),  // nfkc: square co
    ('\u{33d8}', "p.m."), // nfkc: square pm
    ('\u{fe13}', ":"),    // nfkc: presentation form for vertical colon
    ('\u{fe16}', "?"),    // nfkc: presentation form for vertical question mark
    ('\u{fe19}', "..."),  // nfkc: presentation form for vertical horizontal ellipsis
    ('\u{fe30}', ".."),   // nfkc: presentation form for vertical two dot leader
    ('\u{fe52}', "."),    // nfkc: small full stop
    ('\u{fe55}', ":"),    // nfkc: small colon
    ('\u{fe56}', "?"),    // nfkc: small question mark
    ('\u{fe61}', "*"),    // nfkc: small asterisk
    ('\u{fe64}', "<"),    // nfkc: small less-than sign
    ('\u{fe65}', ">"),    // nfkc: small greater-than sign
    ('\u{fe68}', "\\"),   // nfkc: small reverse solidus
    ('\u{ff02}', "\""),   // nfkc: fullwidth quotation mark
    ('\u{ff0a}', "*"),    // nfkc: fullwidth asterisk
    ('\u{ff0e}', "."),    // nfkc: fullwidth full stop
    ('\u{ff0f}', "/"),    // nfkc: fullwidth solidus
    ('\u{ff1a}', ":"),    // nfkc: fullwidth colon
    ('\u{ff1c}', "<"),    // nfkc: fullwidth less-than sign
    ('\u{ff1e}', ">"),    // nfkc: fullwidth greater-than sign
    ('\u{ff1f}', "?"),    // nfkc: fullwidth question mark
    ('\u{ff3c}', "\\"),   // nfkc: fullwidth reverse solidus
    ('\u{ff5c}', "|"),    // nfkc: fullwidth vertical line
    ('\u{1f100}', "0."),  // nfkc: digit zero full stop
];

/// Runs of characters that NFKD (a letter or digit with combining marks
/// after it) or best fit turns into one ASCII letter, digit or `$`, folded
/// to upper case: `(first, last, ascii, counts_up)`. With `counts_up` the
/// run maps to consecutive ASCII (`Ａ..Ｚ` → `A..Z`), else every character
/// in it maps to `ascii` (`Ā ā Ă ă Ą ą` → `A`). Sorted, not overlapping.
pub(crate) const LETTER_LIKE: &[(u32, u32, u8, bool)] = &[
    (0xaa, 0xaa, b'A', false),
    (0xb2, 0xb3, b'2', true),
    (0xb9, 0xb9, b'1', false),
    (0xba, 0xba, b'O', false),
    (0xc0, 0xc5, b'A', false),
    (0xc7, 0xc7, b'C', false),
    (0xc8, 0xcb, b'E', false),
    (0xcc, 0xcf, b'I', false),
    (0xd1, 0xd2, b'N', true),
    (0xd3, 0xd6, b'O', false),
    (0xd9, 0xdc, b'U', false),
    (0xdd, 0xdd, b'Y', false),
    (0xe0, 0xe5, b'A', false),
    (0xe7, 0xe7, b'C', false),
    (0xe8, 0xeb, b'E', false),
    (0xec, 0xef, b'I', false),
    (0xf1, 0xf2, b'N', true),
    (0xf3, 0xf6, b'O', false),
    (0xf9, 0xfc, b'U', false),
    (0xfd, 0xfd, b'Y', false),
    (0xff, 0xff, b'Y', false),
    (0x100, 0x105, b'A', false),
    (0x106, 0x10d, b'C', false),
    (0x10e, 0x10f, b'D', false),
    (0x111, 0x112, b'D', true),
    (0x113, 0x11b, b'E', false),
    (0x11c, 0x123, b'G', false),
    (0x124, 0x127, b'H', false),
    (0x128, 0x131, b'I', false),
    (0x134, 0x135, b'J', false),
    (0x136, 0x137, b'K', false),
    (0x139, 0x13e, b'L', false),
    (0x141, 0x142, b'L', false),
    (0x143, 0x148, b'N', false),
    (0x14c, 0x151, b'O', false),
    (0x154, 0x159, b'R', false),
    (0x15a, 0x161, b'S', false),
    (0x162, 0x167, b'T', false),
    (0x168, 0x173, b'U', false),
    (0x174, 0x175, b'W', false),
    (0x176, 0x178, b'Y', false),
    (0x179, 0x17e, b'Z', false),
    (0x17f, 0x17f, b'S', false),
    (0x180, 0x180, b'B', false),
    (0x197, 0x197, b'I', false),
    (0x19a, 0x19a, b'L', false),
    (0x19f, 0x1a1, b'O', false),
    (0x1ab, 0x1ab, b'T', false),
    (0x1ae, 0x1af, b'T', true),
    (0x1b0, 0x1b0, b'U', false),
    (0x1b6, 0x1b6, b'Z', false),
    (0x1cd, 0x1ce, b'A', false),
    (0x1cf, 0x1d0, b'I', false),
    (0x1d1, 0x1d2, b'O', false),
    (0x1d3, 0x1dc, b'U', false),
    (0x1de, 0x1e1, b'A', false),
    (0x1e4, 0x1e7, b'G', false),
    (0x1e8, 0x1e9, b'K', false),
    (0x1ea, 0x1ed, b'O', false),
    (0x1f0, 0x1f0, b'J', false),
    (0x1f4, 0x1f5, b'G', false),
    (0x1f8, 0x1f9, b'N', false),
    (0x1fa, 0x1fb, b'A', false),
    (0x200, 0x203, b'A', false),
    (0x204, 0x207, b'E', false),
    (0x208, 0x20b, b'I', false),
    (0x20c, 0x20f, b'O', false),
    (0x210, 0x213, b'R', false),
    (0x214, 0x217, b'U', false),
    (0x218, 0x219, b'S', false),
    (0x21a, 0x21b, b'T', false),
    (0x21e, 0x21f, b'H', false),
    (0x226, 0x227, b'A', false),
    (0x228, 0x229, b'E', false),
    (0x22a, 0x231, b'O', false),
    (0x232, 0x233, b'Y', false),
    (0x261, 0x261, b'G', false),
    (0x2b0, 0x2b0, b'H', false),
    (0x2b2, 0x2b2, b'J', false),
    (0x2b3, 0x2b3, b'R', false),
    (0x2b7, 0x2b7, b'W', false),
    (0x2b8, 0x2b8, b'Y', false),
    (0x2e1, 0x2e1, b'L', false),
    (0x2e2, 0x2e2, b'S', false),
    (0x2e3, 0x2e3, b'X', false),
    (0x393, 0x393, b'G', false),
    (0x398, 0x398, b'T', false),
    (0x3a3, 0x3a3, b'S', false),
    (0x3a6, 0x3a6, b'F', false),
    (0x3a9, 0x3a9, b'O', false),
    (0x3b1, 0x3b1, b'A', false),
    (0x3b4, 0x3b5, b'D', true),
    (0x3c0, 0x3c0, b'P', false),
    (0x3c3, 0x3c4, b'S', true),
    (0x3c6, 0x3c6, b'F', false),
    (0x4bb, 0x4bb, b'H', false),
    (0x1d2c, 0x1d2c, b'A', false),
    (0x1d2e, 0x1d2e, b'B', false),
    (0x1d30, 0x1d31, b'D', true),
    (0x1d33, 0x1d3a, b'G', true),
    (0x1d3c, 0x1d3c, b'O', false),
    (0x1d3e, 0x1d3e, b'P', false),
    (0x1d3f, 0x1d3f, b'R', false),
    (0x1d40, 0x1d41, b'T', true),
    (0x1d42, 0x1d42, b'W', false),
    (0x1d43, 0x1d43, b'A', false),
    (0x1d47, 0x1d47, b'B', false),
    (0x1d48, 0x1d49, b'D', true),
    (0x1d4d, 0x1d4d, b'G', false),
    (0x1d4f, 0x1d4f, b'K', false),
    (0x1d50, 0x1d50, b'M', false),
    (0x1d52, 0x1d52, b'O', false),
    (0x1d56, 0x1d56, b'P', false),
    (0x1d57, 0x1d58, b'T', true),
    (0x1d5b, 0x1d5b, b'V', false),
    (0x1d62, 0x1d62, b'I', false),
    (0x1d63, 0x1d63, b'R', false),
    (0x1d64, 0x1d65, b'U', true),
    (0x1d9c, 0x1d9c, b'C', false),
    (0x1da0, 0x1da0, b'F', false),
    (0x1dbb, 0x1dbb, b'Z', false),
    (0x1e00, 0x1e01, b'A', false),
    (0x1e02, 0x1e07, b'B', false),
    (0x1e08, 0x1e09, b'C', false),
    (0x1e0a, 0x1e13, b'D', false),
    (0x1e14, 0x1e1d, b'E', false),
    (0x1e1e, 0x1e1f, b'F', false),
    (0x1e20, 0x1e21, b'G', false),
    (0x1e22, 0x1e2b, b'H', false),
    (0x1e2c, 0x1e2f, b'I', false),
    (0x1e30, 0x1e35, b'K', false),
    (0x1e36, 0x1e3d, b'L', false),
    (0x1e3e, 0x1e43, b'M', false),
    (0x1e44, 0x1e4b, b'N', false),
    (0x1e4c, 0x1e53, b'O', false),
    (0x1e54, 0x1e57, b'P', false),
    (0x1e58, 0x1e5f, b'R', false),
    (0x1e60, 0x1e69, b'S', false),
    (0x1e6a, 0x1e71, b'T', false),
    (0x1e72, 0x1e7b, b'U', false),
    (0x1e7c, 0x1e7f, b'V', false),
    (0x1e80, 0x1e89, b'W', false),
    (0x1e8a, 0x1e8d, b'X', false),
    (0x1e8e, 0x1e8f, b'Y', false),
    (0x1e90, 0x1e95, b'Z', false),
    (0x1e96, 0x1e96, b'H', false),
    (0x1e97, 0x1e97, b'T', false),
    (0x1e98, 0x1e98, b'W', false),
    (0x1e99, 0x1e99, b'Y', false),
    (0x1e9b, 0x1e9b, b'S', false),
    (0x1ea0, 0x1eb7, b'A', false),
    (0x1eb8, 0x1ec7, b'E', false),
    (0x1ec8, 0x1ecb, b'I', false),
    (0x1ecc, 0x1ee3, b'O', false),
    (0x1ee4, 0x1ef1, b'U', false),
    (0x1ef2, 0x1ef9, b'Y', false),
    (0x2070, 0x2070, b'0', false),
    (0x2071, 0x2071, b'I', false),
    (0x2074, 0x2079, b'4', true),
    (0x207f, 0x207f, b'N', false),
    (0x2080, 0x2089, b'0', true),
    (0x2090, 0x2090, b'A', false),
    (0x2091, 0x2091, b'E', false),
    (0x2092, 0x2092, b'O', false),
    (0x2093, 0x2093, b'X', false),
    (0x2095, 0x2095, b'H', false),
    (0x2096, 0x2099, b'K', true),
    (0x209a, 0x209a, b'P', false),
    (0x209b, 0x209c, b'S', true),
    (0x20a7, 0x20a7, b'P', false),
    (0x2102, 0x2102, b'C', false),
    (0x2107, 0x2107, b'E', false),
    (0x210a, 0x210b, b'G', true),
    (0x210c, 0x210e, b'H', false),
    (0x2110, 0x2111, b'I', false),
    (0x2112, 0x2113, b'L', false),
    (0x2115, 0x2115, b'N', false),
    (0x2118, 0x2119, b'P', false),
    (0x211a, 0x211b, b'Q', true),
    (0x211c, 0x211d, b'R', false),
    (0x2124, 0x2124, b'Z', false),
    (0x2128, 0x2128, b'Z', false),
    (0x212a, 0x212a, b'K', false),
    (0x212b, 0x212d, b'A', true),
    (0x212e, 0x2130, b'E', false),
    (0x2131, 0x2131, b'F', false),
    (0x2133, 0x2133, b'M', false),
    (0x2134, 0x2134, b'O', false),
    (0x2139, 0x2139, b'I', false),
    (0x2145, 0x2146, b'D', false),
    (0x2147, 0x2147, b'E', false),
    (0x2148, 0x2149, b'I', true),
    (0x2160, 0x2160, b'I', false),
    (0x2164, 0x2164, b'V', false),
    (0x2169, 0x2169, b'X', false),
    (0x216c, 0x216c, b'L', false),
    (0x216d, 0x216e, b'C', true),
    (0x216f, 0x216f, b'M', false),
    (0x2170, 0x2170, b'I', false),
    (0x2174, 0x2174, b'V', false),
    (0x2179, 0x2179, b'X', false),
    (0x217c, 0x217c, b'L', false),
    (0x217d, 0x217e, b'C', true),
    (0x217f, 0x217f, b'M', false),
    (0x221a, 0x221a, b'V', false),
    (0x221e, 0x221e, b'8', false),
    (0x2229, 0x2229, b'N', false),
    (0x2460, 0x2468, b'1', true),
    (0x24b6, 0x24cf, b'A', true),
    (0x24d0, 0x24e9, b'A', true),
    (0x24ea, 0x24ea, b'0', false),
    (0x2c7c, 0x2c7c, b'J', false),
    (0x2c7d, 0x2c7d, b'V', false),
    (0xa7f2, 0xa7f2, b'C', false),
    (0xa7f3, 0xa7f3, b'F', false),
    (0xa7f4, 0xa7f4, b'Q', false),
    (0xfe69, 0xfe69, b'$', false),
    (0xff04, 0xff04, b'$', false),
    (0xff10, 0xff19, b'0', true),
    (0xff21, 0xff3a, b'A', true),
    (0xff41, 0xff5a, b'A', true),
    (0x107a5, 0x107a5, b'Q', false),
    (0x1d400, 0x1d419, b'A', true),
    (0x1d41a, 0x1d433, b'A', true),
    (0x1d434, 0x1d44d, b'A', true),
    (0x1d44e, 0x1d454, b'A', true),
    (0x1d456, 0x1d467, b'I', true),
    (0x1d468, 0x1d481, b'A', true),
    (0x1d482, 0x1d49b, b'A', true),
    (0x1d49c, 0x1d49c, b'A', false),
    (0x1d49e, 0x1d49f, b'C', true),
    (0x1d4a2, 0x1d4a2, b'G', false),
    (0x1d4a5, 0x1d4a6, b'J', true),
    (0x1d4a9, 0x1d4ac, b'N', true),
    (0x1d4ae, 0x1d4b5, b'S', true),
    (0x1d4b6, 0x1d4b9, b'A', true),
    (0x1d4bb, 0x1d4bb, b'F', false),
    (0x1d4bd, 0x1d4c3, b'H', true),
    (0x1d4c5, 0x1d4cf, b'P', true),
    (0x1d4d0, 0x1d4e9, b'A', true),
    (0x1d4ea, 0x1d503, b'A', true),
    (0x1d504, 0x1d505, b'A', true),
    (0x1d507, 0x1d50a, b'D', true),
    (0x1d50d, 0x1d514, b'J', true),
    (0x1d516, 0x1d51c, b'S', true),
    (0x1d51e, 0x1d537, b'A', true),
    (0x1d538, 0x1d539, b'A', true),
    (0x1d53b, 0x1d53e, b'D', true),
    (0x1d540, 0x1d544, b'I', true),
    (0x1d546, 0x1d546, b'O', false),
    (0x1d54a, 0x1d550, b'S', true),
    (0x1d552, 0x1d56b, b'A', true),
    (0x1d56c, 0x1d585, b'A', true),
    (0x1d586, 0x1d59f, b'A', true),
    (0x1d5a0, 0x1d5b9, b'A', true),
    (0x1d5ba, 0x1d5d3, b'A', true),
    (0x1d5d4, 0x1d5ed, b'A', true),
    (0x1d5ee, 0x1d607, b'A', true),
    (0x1d608, 0x1d621, b'A', true),
    (0x1d622, 0x1d63b, b'A', true),
    (0x1d63c, 0x1d655, b'A', true),
    (0x1d656, 0x1d66f, b'A', true),
    (0x1d670, 0x1d689, b'A', true),
    (0x1d68a, 0x1d6a3, b'A', true),
    (0x1d7ce, 0x1d7d7, b'0', true),
    (0x1d7d8, 0x1d7e1, b'0', true),
    (0x1d7e2, 0x1d7eb, b'0', true),
    (0x1d7ec, 0x1d7f5, b'0', true),
    (0x1d7f6, 0x1d7ff, b'0', true),
    (0x1f12b, 0x1f12b, b'C', false),
    (0x1f12c, 0x1f12c, b'R', false),
    (0x1f130, 0x1f149, b'A', true),
    (0x1fbf0, 0x1fbf9, b'0', true),
];
